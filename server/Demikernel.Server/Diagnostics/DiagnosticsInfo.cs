using System.Globalization;
using System.Text;

namespace Demikernel.Server.Diagnostics;

/// <summary>INFO's commandstats, errorstats and latencystats sections, in redis-server 7.0's format.</summary>
internal static class DiagnosticsInfo
{
    public static void CommandStats(StringBuilder sb, RedisServer server)
    {
        sb.Append("# Commandstats\r\n");
        foreach (var (spec, calls, micros, rejected, failed, _) in server.Commands.Stats.Entries())
        {
            if (calls == 0 && rejected == 0 && failed == 0) continue;
            sb.Append(CultureInfo.InvariantCulture,
                $"cmdstat_{spec.WireName}:calls={calls},usec={micros},usec_per_call={(calls == 0 ? 0 : (double)micros / calls):F2},rejected_calls={rejected},failed_calls={failed}\r\n");
        }
    }

    public static void ErrorStats(StringBuilder sb, RedisServer server)
    {
        sb.Append("# Errorstats\r\n");
        foreach (var (code, count) in server.Diagnostics.Errors.ByCode)
            sb.Append(CultureInfo.InvariantCulture, $"errorstat_{code}:count={count}\r\n");
    }

    public static void LatencyStats(StringBuilder sb, RedisServer server)
    {
        sb.Append("# Latencystats\r\n");
        var percentiles = server.Diagnostics.InfoPercentiles;
        if (percentiles.Length == 0) return;
        foreach (var (spec, _, _, _, _, histogram) in server.Commands.Stats.Entries())
        {
            if (histogram is null) continue;
            sb.Append("latency_percentiles_usec_").Append(spec.WireName).Append(':');
            for (int j = 0; j < percentiles.Length; j++)
            {
                if (j > 0) sb.Append(',');
                sb.Append(CultureInfo.InvariantCulture, $"p{Percentiles.Format(percentiles[j])}={histogram.ValueAtPercentile(percentiles[j]) / 1000.0:F3}");
            }
            sb.Append("\r\n");
        }
    }

    /// <summary>CONFIG RESETSTAT's share of the diagnostics.</summary>
    public static void ResetStats(RedisServer server)
    {
        server.Commands.Stats.Reset();
        server.Diagnostics.ResetStats();
        server.Config.LazyFree.ResetStats(); // lazyfreed_objects, as redis's resetServerStats

    }
}
