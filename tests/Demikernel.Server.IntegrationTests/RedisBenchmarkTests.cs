using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>redis-benchmark against the in-process server: every test completes, with a figure, and no error.</summary>
public sealed partial class RedisBenchmarkTests(ServerFixture server, ITestOutputHelper output) : ServerTestBase(server)
{
    private const string Path = "/usr/bin/redis-benchmark";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Expected = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"];

    private async Task<ProcessResult> Benchmark(params string[] extra)
    {
        string[] args =
        [
            "-h", Server.Host, "-p", Server.Port.ToString(CultureInfo.InvariantCulture),
            "-t", "ping_inline,ping_mbulk,set,get,incr,mset", "-n", "20000", "-c", "50", "-q", .. extra,
        ];
        var result = await ExternalProcess.RunAsync(Path, args, Timeout);
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var text in new[] { result.Stdout, result.Stderr })
        {
            Assert.DoesNotContain("ERR", text, StringComparison.Ordinal);
            Assert.DoesNotContain("error", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Could not", text, StringComparison.OrdinalIgnoreCase); // "WARNING: Could not fetch server CONFIG"
        }
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(30), $"took {result.Elapsed.TotalSeconds:F1} s");
        return result;
    }

    [Fact]
    public async Task Csv()
    {
        var result = await Benchmark("--csv");
        var lines = result.Stdout.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("\"test\",\"rps\"", lines[0], StringComparison.Ordinal);
        var rps = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',').Select(f => f.Trim('"')).ToArray();
            rps[fields[0]] = double.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        Assert.Equal(Expected, rps.Keys);
        Assert.All(rps, kv => Assert.True(kv.Value > 0, $"{kv.Key}: {kv.Value} rps"));
    }

    [Fact]
    public async Task Pipelined16()
    {
        var result = await Benchmark("-P", "16");
        // -q prints progress lines ending in CR; the final figure of each test ends in LF.
        var lines = result.Stdout.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var rps = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var m = Figure().Match(line.Trim());
            if (m.Success) rps[m.Groups[1].Value] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        Assert.Equal(Expected, rps.Keys);
        Assert.All(rps, kv => Assert.True(kv.Value > 0, $"{kv.Key}: {kv.Value} rps"));
    }

    [GeneratedRegex(@"^([A-Z_]+(?: \(10 keys\))?): ([0-9.]+) requests per second")]
    private static partial Regex Figure();

    [Fact]
    public async Task KeysWrittenByTheBenchmarkAreReadable()
    {
        await Benchmark("-t", "set", "-n", "1000", "-d", "100");
        var value = (await RedisCli.RunAsync(Server, "GET", "key:__rand_int__")).Single();
        Assert.Equal(100, value.Length);
    }
}
