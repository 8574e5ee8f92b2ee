using System.Globalization;
using System.Text.RegularExpressions;

namespace Demikernel.Server.Tests;

/// <summary>
/// lazyfree-lazy-user-del, -server-del, -expire, -user-flush, replica-lazy-flush and UNLINK / FLUSHALL ASYNC against
/// redis-server 7.0.15: after every step INFO's lazyfreed_objects must be redis-server's (read there once its
/// lazyfree_pending_objects is back to 0), replies and CONFIG GET byte for byte.
/// </summary>
public sealed class LazyFreeTests
{
    private static readonly string[][] Setup = BuildSetup();

    private static string[][] BuildSetup()
    {
        var s = new List<string[]>();
        string[] Many(string cmd, string key, int n, Func<int, string[]> item)
        {
            var args = new List<string> { cmd, key };
            for (int i = 0; i < n; i++) args.AddRange(item(i));
            return [.. args];
        }
        foreach (string k in new[] { "h1", "h2", "h3", "h4" }) s.Add(Many("HSET", k, 600, i => [$"f{i}", "v"]));
        s.Add(Many("HSET", "hsmall", 10, i => [$"f{i}", "v"]));
        s.Add(Many("HSET", "h64", 64, i => [$"f{i}", new string('v', 70)])); // a hash table of exactly 64: not lazy
        s.Add(Many("SADD", "set1", 100, i => [$"m{i}"]));
        s.Add(Many("SADD", "ints", 100, i => [i.ToString(CultureInfo.InvariantCulture)])); // an intset: one allocation
        s.Add(Many("ZADD", "z1", 200, i => [i.ToString(CultureInfo.InvariantCulture), $"m{i}"]));
        s.Add(Many("RPUSH", "l1", 70, i => [new string('x', 5000)])); // 70 quicklist nodes of one element
        s.Add(Many("RPUSH", "l2", 60, i => [new string('x', 5000)]));
        s.Add(["CONFIG", "SET", "stream-node-max-entries", "1"]);
        for (int i = 1; i <= 80; i++) s.Add(["XADD", "st", $"{i}-0", "f", "v"]);
        return [.. s];
    }

    private static readonly (string[] Command, bool Check)[] Steps =
    [
        (["CONFIG", "GET", "lazyfree-lazy-user-flush"], false), (["CONFIG", "GET", "replica-lazy-flush"], false),
        (["CONFIG", "GET", "slave-lazy-flush"], false), (["CONFIG", "GET", "lazyfree-lazy-server-del"], false),
        (["CONFIG", "SET", "lazyfree-lazy-user-flush", "maybe"], false), (["CONFIG", "SET", "replica-lazy-flush", "x"], false),
        (["DEL", "h1"], true), (["UNLINK", "h2"], true), (["UNLINK", "hsmall", "h64", "ints", "nokey"], true),
        (["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"], false), (["DEL", "set1"], true),
        (["CONFIG", "SET", "lazyfree-lazy-user-del", "no"], false),
        (["CONFIG", "SET", "lazyfree-lazy-server-del", "yes"], false), (["SET", "z1", "x"], true),
        (["RENAME", "z1", "l1"], true), (["UNLINK", "l2"], true), (["UNLINK", "st"], true),
        (["CONFIG", "SET", "lazyfree-lazy-expire", "yes"], false), (["EXPIRE", "h3", "0"], true),
        (["CONFIG", "SET", "lazyfree-lazy-expire", "no", "lazyfree-lazy-server-del", "no"], false), (["EXPIRE", "h4", "0"], true),
        (["DEBUG", "POPULATE", "30"], false), (["FLUSHDB", "ASYNC"], true),
        (["DEBUG", "POPULATE", "20"], false), (["FLUSHALL", "SYNC"], true), (["DEBUG", "POPULATE", "25"], false), (["FLUSHALL"], true),
        (["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes", "slave-lazy-flush", "yes"], false),
        (["DEBUG", "POPULATE", "7"], false), (["SELECT", "3"], false), (["DEBUG", "POPULATE", "5"], false),
        (["FLUSHALL"], true), (["SELECT", "0"], false),
        (["CONFIG", "GET", "replica-lazy-flush"], false), (["CONFIG", "GET", "lazyfree-lazy-user-flush"], false),
        (["CONFIG", "RESETSTAT"], true),
    ];

    [Fact]
    public void LazyfreedObjectsAsRedisServer()
    {
        using var redis = ReferenceRedis.TryStart("--enable-debug-command yes");
        using var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        var mismatches = redis.Compare(h, Setup);
        var seen = new HashSet<long>();
        var trace = new List<string>();
        foreach (var (command, check) in Steps)
        {
            mismatches.AddRange(redis.Compare(h, [command]));
            if (!check) continue;
            long expected = RedisFreed(redis), actual = Freed(h.Run("INFO", "memory"));
            seen.Add(actual);
            trace.Add($"{string.Join(' ', command)}={actual}");
            if (expected != actual) mismatches.Add($"after {string.Join(' ', command)}: lazyfreed_objects redis {expected}, ours {actual}");
        }
        Assert.Contains("lazyfree_pending_objects:0\r\n", h.Run("INFO", "memory"));
        Assert.True(seen.Count >= 8, "the steps should move the counter: " + string.Join(", ", trace));
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    /// <summary>SCRIPT FLUSH of more than 64 scripts, ASYNC or by lazyfree-lazy-user-flush, counts each script.</summary>
    [Fact]
    public void ScriptFlushCountsAsRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        var script = new List<string[]>();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 70; i++) script.Add(["SCRIPT", "LOAD", $"return {i + round * 100}"]);
            script.Add(round switch
            {
                0 => ["SCRIPT", "FLUSH", "ASYNC"],
                1 => ["SCRIPT", "FLUSH"],
                _ => ["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"],
            });
        }
        script.Add(["SCRIPT", "FLUSH"]);
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.Equal(RedisFreed(redis), Freed(h.Run("INFO", "memory")));
        Assert.Equal(140, Freed(h.Run("INFO", "memory")));
    }

    private static long RedisFreed(ReferenceRedis redis)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            string info = redis.Run("INFO", "memory");
            if (info.Contains("lazyfree_pending_objects:0\r\n", StringComparison.Ordinal) || DateTime.UtcNow > deadline) return Freed(info);
            Thread.Sleep(2); // redis-server's lazy-free thread, a real process: nothing to inject
        }
    }

    private static long Freed(string info) =>
        long.Parse(Regex.Match(info, @"lazyfreed_objects:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
}
