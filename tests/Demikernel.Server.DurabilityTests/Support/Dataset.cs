using System.Globalization;
using System.Text;

namespace Demikernel.Server.DurabilityTests;

/// <summary>How strictly two datasets must agree.</summary>
public enum Compare
{
    /// <summary>Everything, including stream consumers' seen-time (an RDB keeps it).</summary>
    Exact,
    /// <summary>
    /// Both sides replayed the same AOF: replaying XCLAIM (redis-server's effect of XREADGROUP) sets the consumer's
    /// seen-time to the time of loading, in redis-server 7.0 itself, so seen-time is not compared (nor stream DUMP
    /// payloads, which hold it).
    /// </summary>
    AofReplay,
    /// <summary>
    /// A live server against one that replayed its AOF: as <see cref="AofReplay"/>, and a group's entries-read,
    /// which XREADGROUP counts live but the propagated XCLAIM ... LASTID leaves unknown (redis-server 7.0 too).
    /// </summary>
    AofReplayVersusLive,
}

/// <summary>One key as a server shows it: type, encoding, contents in a canonical form, DUMP payload, PTTL.</summary>
public sealed record KeyState(string Type, string Encoding, string Contents, string Dump, long Pttl);

/// <summary>
/// Builds a dataset of every type and encoding through real commands (the same script on ours and on redis-server),
/// and reads a whole server back (every key of every database) to compare two servers.
/// </summary>
public static class Dataset
{
    /// <summary>A far-future absolute expiry (unix seconds) so keys with a TTL never expire during a test.</summary>
    private static readonly long FarFuture = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 50_000_000;

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Part one: every type and encoding, TTLs, several databases.</summary>
    public static void BuildPartOne(RespClient c)
    {
        var rnd = new Random(1234);
        var cmds = new List<string[]>
        {
            new[] { "SELECT", "0" },
            // strings: raw, embstr, int, negative int, long compressible, incompressible, bitmap, HyperLogLog
            new[] { "SET", "str:raw", "hello world, this is a raw string longer than forty-four bytes!" },
            new[] { "SET", "str:emb", "short" },
            new[] { "SET", "str:int", "12345" },
            new[] { "SET", "str:neg", "-9876543210" },
            new[] { "SET", "str:big-int", "9223372036854775807" },
            new[] { "SET", "str:compressible", string.Concat(Enumerable.Repeat("abcdefgh-", 3000)) },
            new[] { "SET", "str:random", RandomText(rnd, 5000) },
            new[] { "SET", "str:empty", "" },
            new[] { "SETBIT", "str:bitmap", "100000", "1" },
            new[] { "PFADD", "str:hll", "a", "b", "c", "d", "e" },
            new[] { "INCR", "str:counter" },
            new[] { "INCRBYFLOAT", "str:float", "3.25" },
            // lists: small, large (several quicklist nodes), with big elements
            new[] { "RPUSH", "list:small", "a", "b", "1", "22", "-3" },
        };
        for (int i = 0; i < 3000; i += 100)
            cmds.Add(["RPUSH", "list:large", .. Enumerable.Range(i, 100).Select(j => j % 7 == 0 ? S(j) : $"element-{j}-{new string('x', j % 50)}")]);
        cmds.Add(["LPUSH", "list:big-elements", string.Concat(Enumerable.Repeat("L", 10000)), "small", RandomText(rnd, 300)]);
        // sets: intset, hashtable (strings), hashtable (many ints)
        cmds.Add(["SADD", "set:intset", "1", "2", "3", "-100", "65536", "4294967296"]);
        cmds.Add(["SADD", "set:strings", .. Enumerable.Range(0, 50).Select(i => $"member-{i}")]);
        cmds.Add(["SADD", "set:many-ints", .. Enumerable.Range(0, 700).Select(i => S(i * 3))]);
        // sorted sets: listpack, skiplist (many), skiplist (long member)
        cmds.Add(["ZADD", "zset:small", "1", "one", "2.5", "two-and-a-half", "-3", "minus-three", "inf", "infinity"]);
        var large = new List<string> { "ZADD", "zset:large" };
        for (int i = 0; i < 300; i++) large.AddRange([S(i % 17) + "." + S(i), $"zmember-{i}"]);
        cmds.Add([.. large]);
        cmds.Add(["ZADD", "zset:long-member", "1", new string('z', 100), "2", "b"]);
        // hashes: listpack, hashtable (many), hashtable (long value)
        cmds.Add(["HSET", "hash:small", "f1", "v1", "f2", "22", "f3", "-7"]);
        var bigHash = new List<string> { "HSET", "hash:large" };
        for (int i = 0; i < 600; i++) bigHash.AddRange([$"field-{i}", i % 3 == 0 ? S(i) : $"value-{i}"]);
        cmds.Add([.. bigHash]);
        cmds.Add(["HSET", "hash:long-value", "f", new string('h', 200)]);
        // a stream with deleted entries, two groups, pending entries, a consumer without pending entries
        for (int i = 1; i <= 120; i++) cmds.Add(["XADD", "stream:s", $"1700000000000-{i}", "field", $"value-{i}", "n", S(i)]);
        cmds.Add(["XDEL", "stream:s", "1700000000000-50", "1700000000000-51"]);
        cmds.Add(["XGROUP", "CREATE", "stream:s", "g1", "0"]);
        cmds.Add(["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "10", "STREAMS", "stream:s", ">"]);
        cmds.Add(["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "5", "STREAMS", "stream:s", ">"]);
        cmds.Add(["XACK", "stream:s", "g1", "1700000000000-1", "1700000000000-2"]);
        cmds.Add(["XGROUP", "CREATE", "stream:s", "g2", "$"]);
        cmds.Add(["XGROUP", "CREATECONSUMER", "stream:s", "g2", "carol"]);
        cmds.Add(["XADD", "stream:empty-after-del", "5-1", "a", "b"]);
        cmds.Add(["XDEL", "stream:empty-after-del", "5-1"]);
        // TTLs on every kind of key
        cmds.Add(["SET", "ttl:str", "expiring", "EX", "40000000"]);
        cmds.Add(["RPUSH", "ttl:list", "a", "b"]);
        cmds.Add(["PEXPIRE", "ttl:list", "40000000000"]);
        cmds.Add(["HSET", "ttl:hash", "f", "v"]);
        cmds.Add(["EXPIREAT", "ttl:hash", S(FarFuture)]);
        cmds.Add(["ZADD", "ttl:zset", "1", "a"]);
        cmds.Add(["EXPIRE", "ttl:zset", "30000000"]);
        // other databases
        cmds.Add(["SELECT", "1"]);
        cmds.Add(["SET", "db1:key", "in database one"]);
        cmds.Add(["SADD", "db1:set", "x", "y"]);
        cmds.Add(["SET", "db1:ttl", "v", "PX", "45000000000"]);
        cmds.Add(["SELECT", "7"]);
        cmds.Add(["RPUSH", "db7:list", "only", "here"]);
        cmds.Add(["HSET", "str:raw", "f", "same name as a db0 string"]);
        cmds.Add(["SELECT", "15"]);
        cmds.Add(["ZADD", "db15:zset", "5", "five"]);
        cmds.Add(["SELECT", "0"]);
        c.Pipeline(cmds);
    }

    /// <summary>Part two (after a rewrite or save): overwrites, deletes, appends, renames, TTL changes.</summary>
    public static void BuildPartTwo(RespClient c)
    {
        var cmds = new List<string[]>
        {
            new[] { "SELECT", "0" },
            new[] { "SET", "str:raw", "overwritten after the rewrite" },
            new[] { "INCRBY", "str:int", "5" },
            new[] { "APPEND", "str:emb", "-appended" },
            new[] { "DEL", "str:random" },
            new[] { "RPUSH", "list:small", "after" },
            new[] { "LPOP", "list:large" },
            new[] { "SADD", "set:intset", "77" },
            new[] { "SREM", "set:strings", "member-3" },
            new[] { "ZINCRBY", "zset:small", "10", "one" },
            new[] { "ZREM", "zset:large", "zmember-10" },
            new[] { "HDEL", "hash:large", "field-5" },
            new[] { "HINCRBY", "hash:small", "f2", "100" },
            new[] { "XADD", "stream:s", "1700000000001-0", "after", "rewrite" },
            new[] { "XREADGROUP", "GROUP", "g2", "carol", "COUNT", "1", "STREAMS", "stream:s", ">" },
            new[] { "XACK", "stream:s", "g1", "1700000000000-3" },
            new[] { "RENAME", "list:big-elements", "list:renamed" },
            new[] { "PERSIST", "ttl:zset" },
            new[] { "SET", "new:after", "v", "PX", "50000000000" },
            new[] { "SELECT", "3" },
            new[] { "SET", "db3:new", "three" },
            new[] { "MULTI" },
            new[] { "INCR", "db3:counter" },
            new[] { "SADD", "db3:set", "1" },
            new[] { "EXEC" },
            new[] { "SELECT", "1" },
            new[] { "DEL", "db1:set" },
            new[] { "SELECT", "0" },
        };
        c.Pipeline(cmds);
    }

    private static string RandomText(Random rnd, int length)
    {
        var sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) sb.Append((char)rnd.Next(33, 127));
        return sb.ToString();
    }

    /// <summary>
    /// Every key of every database ("db:key") with its state. DUMP payloads are taken with rdbcompression off (DUMP
    /// follows it on redis-server too), so they compare the encoding byte for byte rather than two LZF compressors'
    /// choices; the setting is restored afterwards.
    /// </summary>
    public static SortedDictionary<string, KeyState> Read(RespClient c, int databases = 16)
    {
        var all = new SortedDictionary<string, KeyState>(StringComparer.Ordinal);
        string compression = c.Ok("CONFIG", "GET", "rdbcompression").Items![1].Text!;
        c.Ok("CONFIG", "SET", "rdbcompression", "no");
        try
        {
            for (int db = 0; db < databases; db++)
            {
                c.Ok("SELECT", S(db));
                var keys = (c.Ok("KEYS", "*").Items ?? []).Select(k => k.Text!).ToList();
                foreach (var key in keys) all[$"{db}:{key}"] = ReadKey(c, key);
            }
        }
        finally
        {
            c.Call("SELECT", "0");
            c.Call("CONFIG", "SET", "rdbcompression", compression);
        }
        return all;
    }

    public static KeyState ReadKey(RespClient c, string key)
    {
        string type = c.Ok("TYPE", key).Text!;
        // embstr and raw are one encoding in files and DUMP payloads; which one a string gets depends on how it was
        // made (a loaded string of 44 bytes or less is embstr, the same value built by APPEND is raw).
        string encoding = c.Ok("OBJECT", "ENCODING", key).ToString() is var e && e == "embstr" ? "raw" : e;
        string contents = type switch
        {
            "string" => c.Ok("GET", key).ToString(),
            "list" => c.Ok("LRANGE", key, "0", "-1").ToString(),
            "set" => string.Join(",", (c.Ok("SMEMBERS", key).Items ?? []).Select(i => i.Text!).Order(StringComparer.Ordinal)),
            "zset" => c.Ok("ZRANGE", key, "0", "-1", "WITHSCORES").ToString(),
            "hash" => string.Join(",", Pairs(c.Ok("HGETALL", key)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")),
            "stream" => c.Ok("XRANGE", key, "-", "+") + " | " + WithoutRaxNodes(c.Ok("XINFO", "STREAM", key, "FULL")),
            _ => "?",
        };
        string dump = Convert.ToHexString(Encoding.Latin1.GetBytes(c.Ok("DUMP", key).Text ?? ""));
        long pttl = c.Ok("PTTL", key).Integer;
        return new KeyState(type, encoding, contents, dump, pttl);
    }

    /// <summary>XINFO STREAM FULL without radix-tree-nodes: the number of nodes of redis-server's radix tree
    /// depends on its insertion history, not on the data (ours has no radix tree).</summary>
    private static string WithoutRaxNodes(RespValue info)
    {
        var items = info.Items ?? [];
        return string.Join(", ", items.Select((item, i) => i > 0 && items[i - 1].Text == "radix-tree-nodes" ? "*" : item.ToString()));
    }

    private static IEnumerable<KeyValuePair<string, string>> Pairs(RespValue reply)
    {
        var items = reply.Items ?? [];
        for (int i = 0; i + 1 < items.Length; i += 2) yield return new(items[i].Text!, items[i + 1].Text!);
    }

    /// <summary>
    /// Differences between two servers' datasets: missing or extra keys, type, encoding, contents, PTTL beyond
    /// <paramref name="ttlToleranceMs"/>, and the DUMP payload where it is deterministic.
    /// </summary>
    public static List<string> Differences(SortedDictionary<string, KeyState> expected, SortedDictionary<string, KeyState> actual,
        Compare how = Compare.Exact, long ttlToleranceMs = 20_000)
    {
        var diffs = new List<string>();
        foreach (var (key, e) in expected)
        {
            if (!actual.TryGetValue(key, out var a))
            {
                diffs.Add($"{key}: missing (expected {e.Type})");
                continue;
            }
            string ec = Normalize(e.Contents, how), ac = Normalize(a.Contents, how);
            if (e.Type != a.Type) diffs.Add($"{key}: type {a.Type}, expected {e.Type}");
            else if (ec != ac) diffs.Add($"{key}: contents differ{Where(ec, ac)}");
            if (e.Encoding != a.Encoding) diffs.Add($"{key}: encoding {a.Encoding}, expected {e.Encoding}");
            // Hashtable sets and hashes: payload order follows each process's random hash seed. Streams with deleted
            // entries: redis-server keeps the deleted entries flagged inside their listpack node until the node
            // empties, ours compacts them when it loads; the entries, IDs, counters, groups and PELs are compared
            // through XRANGE and XINFO STREAM FULL above. Streams replayed from an AOF: see Compare.AofReplay.
            bool dumpComparable = e.Encoding != "hashtable" && a.Encoding != "hashtable" &&
                !(e.Type == "stream" && (how != Compare.Exact || !e.Contents.Contains("max-deleted-entry-id, 0-0", StringComparison.Ordinal)));
            if (dumpComparable && e.Dump != a.Dump) diffs.Add($"{key}: DUMP differs{Where(e.Dump, a.Dump)}");
            bool ttlOk = e.Pttl < 0 ? a.Pttl == e.Pttl : a.Pttl > 0 && Math.Abs(a.Pttl - e.Pttl) <= ttlToleranceMs;
            if (!ttlOk) diffs.Add($"{key}: PTTL {a.Pttl}, expected {e.Pttl} (tolerance {ttlToleranceMs} ms)");
        }
        foreach (var key in actual.Keys)
            if (!expected.ContainsKey(key)) diffs.Add($"{key}: unexpected key ({actual[key].Type})");
        return diffs;
    }

    private static string Normalize(string contents, Compare how)
    {
        if (how == Compare.Exact) return contents;
        contents = System.Text.RegularExpressions.Regex.Replace(contents, @"seen-time, \d+", "seen-time, *");
        if (how == Compare.AofReplayVersusLive)
            contents = System.Text.RegularExpressions.Regex.Replace(contents, @"entries-read, [^,\]]+", "entries-read, *");
        return contents;
    }

    public static void AssertSame(SortedDictionary<string, KeyState> expected, SortedDictionary<string, KeyState> actual, string what,
        Compare how = Compare.Exact)
    {
        var diffs = Differences(expected, actual, how);
        Assert.True(expected.Count > 0, $"{what}: the expected dataset is empty");
        Assert.True(diffs.Count == 0, $"{what}: {diffs.Count} differences over {expected.Count} keys:\n{string.Join("\n", diffs.Take(30))}");
    }

    /// <summary>Where two texts first differ, with some context.</summary>
    private static string Where(string expected, string actual)
    {
        int i = 0;
        while (i < expected.Length && i < actual.Length && expected[i] == actual[i]) i++;
        int from = Math.Max(0, i - 60);
        string Part(string s) => s.Length <= from ? "" : s.Substring(from, Math.Min(200, s.Length - from));
        return $" at character {i} (lengths {expected.Length} and {actual.Length})\n   expected ...{Part(expected)}\n   actual   ...{Part(actual)}";
    }
}
