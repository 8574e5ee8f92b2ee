using System.Globalization;
using System.Text.RegularExpressions;

namespace Demikernel.Compare;

/// <summary>What one redis-benchmark run reported, plus the server-side figures around it.</summary>
internal sealed record RunResult(
    double Rps, double AvgMs, double MinMs, double P50Ms, double P95Ms, double P99Ms, double MaxMs,
    double P999Ms, (double Percent, double Ms)[] Cdf, double CpuUsPerRequest, double? AllocBytesPerRequest);

internal static partial class Benchmark
{
    /// <summary>Runs redis-benchmark pinned to <paramref name="core"/> against <paramref name="server"/>; measures the
    /// server's CPU time (and, for ours, managed allocation from INFO's total_allocated_bytes) around it.</summary>
    public static RunResult Run(ServerProcess server, string core, string[] command, long requests, int clients, int pipeline, long keys)
    {
        long? allocBefore = server.Name == "ours" ? server.InfoField("memory", "total_allocated_bytes") : null;
        double cpuBefore = server.CpuSeconds();
        string[] args =
        [
            "-c", core, Tools.Paths.RedisBenchmark, "-p", server.Port.ToString(CultureInfo.InvariantCulture),
            "-n", requests.ToString(CultureInfo.InvariantCulture), "-c", clients.ToString(CultureInfo.InvariantCulture),
            "-P", pipeline.ToString(CultureInfo.InvariantCulture), "-r", keys.ToString(CultureInfo.InvariantCulture), .. command,
        ];
        string output = Tools.Run("taskset", args);
        double cpu = server.CpuSeconds() - cpuBefore;
        long? allocAfter = server.Name == "ours" ? server.InfoField("memory", "total_allocated_bytes") : null;
        return Parse(output, cpu * 1e6 / requests, allocAfter - allocBefore is long a ? a / (double)requests : null);
    }

    internal static RunResult Parse(string output, double cpuUs, double? alloc)
    {
        var lines = output.Split('\n', '\r');
        var rps = ThroughputRegex().Match(output);
        if (!rps.Success) throw new InvalidOperationException($"redis-benchmark printed no summary:\n{output}");
        double[] summary = [];
        var cdf = new List<(double, double)>();
        bool inPercentiles = false;
        for (int i = 0; i < lines.Length; i++)
        {
            var t = lines[i].Trim();
            if (t.StartsWith("Latency by percentile distribution", StringComparison.Ordinal)) { inPercentiles = true; continue; }
            if (t.StartsWith("Cumulative distribution", StringComparison.Ordinal)) inPercentiles = false;
            if (inPercentiles && PercentileRegex().Match(t) is { Success: true } m)
                cdf.Add((D(m.Groups[1].Value), D(m.Groups[2].Value)));
            if (t.StartsWith("avg", StringComparison.Ordinal) && t.Contains("p50", StringComparison.Ordinal))
            {
                int j = i + 1;
                while (j < lines.Length && lines[j].Trim().Length == 0) j++;
                summary = lines[j].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(D).ToArray();
            }
        }
        if (summary.Length < 6) throw new InvalidOperationException($"redis-benchmark printed no latency summary:\n{output}");
        // p99.9: the first percentile line at or above 99.9% (redis-benchmark prints halving steps towards 100%).
        double p999 = cdf.Where(c => c.Item1 >= 99.9).Select(c => c.Item2).DefaultIfEmpty(summary[5]).First();
        return new RunResult(D(rps.Groups[1].Value), summary[0], summary[1], summary[2], summary[3], summary[4], summary[5],
            p999, [.. cdf], cpuUs, alloc);
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"throughput summary: ([0-9.]+) requests per second")]
    private static partial Regex ThroughputRegex();

    [GeneratedRegex(@"^([0-9.]+)% <= ([0-9.]+) milliseconds")]
    private static partial Regex PercentileRegex();
}
