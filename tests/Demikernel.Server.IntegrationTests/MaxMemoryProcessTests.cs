using System.Globalization;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// maxmemory on the server process (so that its RSS is its own): <c>--maxmemory 50mb</c>, then about 500 MB written by
/// redis-benchmark and by a StackExchange.Redis client. used_memory stays within a few percent of the limit, the RSS
/// stops growing, and allkeys-lru keeps the key the client keeps reading.
/// </summary>
public sealed class MaxMemoryProcessTests(ITestOutputHelper output)
{
    private const long Limit = 50L << 20;
    private const int ValueSize = 32 * 1024;

    private static Dictionary<string, string> Info(IServer server, string section) =>
        server.Info(section).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private static long RssKb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidOperationException("no VmRSS");
    }

    [Fact]
    public async Task FiftyMegabytesHoldUnderFiveHundredMegabytesOfWrites()
    {
        // the limit from the command line, the policy from the environment (as from the YAML's server: section)
        using var server = ServerProcess.Start(["--port", "0", "--save", "", "--maxmemory", "50mb"],
            new Dictionary<string, string> { ["DEMIKERNEL_MAXMEMORY_POLICY"] = "allkeys-lru" });
        int port = server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true,syncTimeout=20000,asyncTimeout=20000");
        var admin = muxer.GetServer("127.0.0.1", port);
        var db = muxer.GetDatabase();
        Assert.Equal("52428800", Info(admin, "memory")["maxmemory"]);
        Assert.Equal("allkeys-lru", Info(admin, "memory")["maxmemory_policy"]);

        // 1: redis-benchmark, 10,000 SETs of 32 kB on random keys (328 MB)
        var bench = await ExternalProcess.RunAsync("/usr/bin/redis-benchmark",
            ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "set", "-n", "10000", "-d", ValueSize.ToString(CultureInfo.InvariantCulture),
             "-r", "100000000", "-c", "20", "-P", "8", "--csv"], TimeSpan.FromSeconds(60));
        output.WriteLine(bench.ToString());
        Assert.True(bench.ExitCode == 0, bench.ToString());
        Assert.DoesNotContain("ERR", bench.Stdout + bench.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("OOM", bench.Stdout + bench.Stderr, StringComparison.Ordinal);
        long rssAfterBenchmark = RssKb(server.Pid);
        await db.StringSetAsync("hot", "kept because it is read");

        // 2: our client, 5,000 SETs of 32 kB (164 MB) in batches, reading "hot" between them
        var value = new byte[ValueSize];
        Random.Shared.NextBytes(value);
        for (int batch = 0; batch < 50; batch++)
        {
            var writes = new Task[100];
            for (int i = 0; i < writes.Length; i++) writes[i] = db.StringSetAsync($"ours:{batch}:{i}", value);
            await Task.WhenAll(writes);
            Assert.False((await db.StringGetAsync("hot")).IsNull, $"the key read between batches was evicted in batch {batch}");
        }

        var memory = Info(admin, "memory");
        var stats = Info(admin, "stats");
        long used = long.Parse(memory["used_memory"], CultureInfo.InvariantCulture);
        long rss = RssKb(server.Pid);
        output.WriteLine($"used_memory {used} ({used * 100.0 / Limit:F1}% of maxmemory), evicted_keys {stats["evicted_keys"]}, " +
                         $"keys {admin.DatabaseSize()}, RSS {rssAfterBenchmark / 1024} MB after the benchmark, {rss / 1024} MB at the end, " +
                         $"mem_fragmentation_ratio {memory["mem_fragmentation_ratio"]}");
        // within a few percent under the limit (each write may go over by one value before the next command evicts)
        Assert.InRange(used, Limit * 97 / 100, Limit + ValueSize + 4096);
        Assert.True(long.Parse(stats["evicted_keys"], CultureInfo.InvariantCulture) > 10_000, stats["evicted_keys"]);
        // bounded: the second half of the writes did not make the process grow (GC slack aside), nor is it near 500 MB
        Assert.True(rss < rssAfterBenchmark * 5 / 4 + 16 * 1024, $"RSS grew from {rssAfterBenchmark / 1024} MB to {rss / 1024} MB");
        Assert.True(rss < 400 * 1024, $"RSS {rss / 1024} MB");
        Assert.Equal("kept because it is read", (string?)await db.StringGetAsync("hot"));
    }
}
