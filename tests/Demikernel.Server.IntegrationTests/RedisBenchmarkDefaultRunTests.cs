using System.Globalization;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// redis-benchmark's full default run (no -t: every test it runs by default, lists, sets, hashes, sorted sets, streams,
/// LRANGE and MSET included) against the in-process server: it completes, every test reports a rate, nothing errs.
/// </summary>
public sealed class RedisBenchmarkDefaultRunTests(ServerFixture server, ITestOutputHelper output) : ServerTestBase(server)
{
    private static readonly string[] DefaultTests =
    [
        "PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET", "SPOP",
        "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)",
        "LRANGE_300 (first 300 elements)", "LRANGE_500 (first 500 elements)", "LRANGE_600 (first 600 elements)",
        "MSET (10 keys)", // redis-benchmark 7.0 (Debian 12); 7.2 adds XADD
    ];

    [Fact]
    public async Task EveryDefaultTestCompletesWithoutErrors()
    {
        string[] args = ["-h", Server.Host, "-p", Server.Port.ToString(CultureInfo.InvariantCulture), "-n", "3000", "-c", "20", "--csv"];
        var result = await ExternalProcess.RunAsync("/usr/bin/redis-benchmark", args, TimeSpan.FromSeconds(120));
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var text in new[] { result.Stdout, result.Stderr })
        {
            Assert.DoesNotContain("ERR", text, StringComparison.Ordinal);
            Assert.DoesNotContain("WRONGTYPE", text, StringComparison.Ordinal);
            Assert.DoesNotContain("error", text, StringComparison.OrdinalIgnoreCase);
        }
        var rps = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in result.Stdout.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            // "LRANGE_100 (first 100 elements)","12345.67",...
            int comma = line.IndexOf("\",\"", StringComparison.Ordinal);
            string name = line[1..comma];
            string value = line[(comma + 3)..line.IndexOf('"', comma + 3)];
            rps[name] = double.Parse(value, CultureInfo.InvariantCulture);
        }
        Assert.Equal(DefaultTests, rps.Keys);
        Assert.All(rps, kv => Assert.True(kv.Value > 0, $"{kv.Key}: {kv.Value} rps"));
    }
}
