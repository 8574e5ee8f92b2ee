using System.Text;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>
/// DUMP/RESTORE payloads of streams (RDB_TYPE_STREAM_LISTPACKS_2 as Redis 7.0 writes it): round trips here, and
/// payloads exchanged with redis-server 7.0 both ways, compared with XRANGE, XINFO STREAM FULL, XINFO GROUPS /
/// CONSUMERS and XPENDING. Payloads go through <see cref="RdbSerializer"/> directly (DumpHere / RestoreHere), the
/// same calls the DUMP and RESTORE handlers make.
/// </summary>
public sealed class StreamDumpRestoreTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => Encoding.Latin1.GetString(_h.Execute(args.Select(Encoding.UTF8.GetBytes).ToArray()));

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private byte[] DumpHere(string key)
    {
        Assert.Equal(StoreStatus.Ok, _h.Db.TryGetObject<RedisStream>(B(key), out var s));
        return RdbSerializer.DumpStream(s!);
    }

    /// <summary>Verifies and decodes a payload and stores the stream; false when the payload is rejected.</summary>
    private bool RestoreHere(string key, byte[] payload)
    {
        if (!RdbSerializer.Verify(payload)) return false;
        var v = RdbSerializer.Load(payload);
        if (v is null || v.Type != RedisType.Stream || v.Object is null) return false;
        _h.Db.SetObject(B(key), v.Object, Demikernel.Server.Store.KeyEvent.None);
        return true;
    }

    private static byte[] BulkPayload(byte[] reply)
    {
        Assert.Equal((byte)'$', reply[0]);
        int crlf = System.Array.IndexOf(reply, (byte)'\r');
        int n = int.Parse(Encoding.ASCII.GetString(reply, 1, crlf - 1));
        Assert.True(n >= 0, Encoding.Latin1.GetString(reply));
        return reply.AsSpan(crlf + 2, n).ToArray();
    }

    /// <summary>A payload with a valid footer around <paramref name="body"/>.</summary>
    private static byte[] Payload(byte[] body)
    {
        byte[] withVersion = [.. body, 10, 0];
        ulong crc = RdbCrc64.Compute(0, withVersion);
        return [.. withVersion, .. BitConverter.GetBytes(crc)];
    }

    /// <summary>Read commands whose replies must be identical for the original and the restored copy.</summary>
    private static List<string[]> Reads(string key, string[] groups)
    {
        List<string[]> reads =
        [
            ["XRANGE", key, "-", "+"], ["XREVRANGE", key, "+", "-", "COUNT", "3"], ["XLEN", key], ["XINFO", "STREAM", key, "FULL"],
            ["XINFO", "STREAM", key], ["XINFO", "GROUPS", key], ["TYPE", key],
        ];
        foreach (var g in groups)
        {
            reads.Add(["XPENDING", key, g]);
            reads.Add(["XPENDING", key, g, "-", "+", "100"]);
            reads.Add(["XINFO", "CONSUMERS", key, g]);
        }
        return reads;
    }

    /// <summary>Hides what depends on the reading server's clock: the idle times of XPENDING's extended form and
    /// XINFO CONSUMERS, and XINFO STREAM FULL's radix-tree-nodes (an internal of Redis's rax we only estimate).</summary>
    private static string Normalize(string[] command, string reply)
    {
        var lines = reply.Split("\r\n");
        if (command[0] == "XPENDING" && command.Length > 3)
        {
            for (int i = 0; i + 5 < lines.Length; i++)
                if (lines[i] == "*4" && lines[i + 5].StartsWith(':')) lines[i + 5] = ":<idle>";
        }
        for (int i = 0; i + 2 < lines.Length; i++)
        {
            if (lines[i] is "idle" or "radix-tree-nodes" && lines[i + 1].StartsWith(':')) lines[i + 1] = ":<masked>";
        }
        return string.Join("\r\n", lines);
    }

    private static string Escape(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n");

    private List<string> CompareWith(Func<string[], string> expected, string expectedKey, Func<string[], string> actual, string actualKey, string[] groups)
    {
        var mismatches = new List<string>();
        var left = Reads(expectedKey, groups);
        var right = Reads(actualKey, groups);
        for (int i = 0; i < left.Count; i++)
        {
            string e = Normalize(left[i], expected(left[i]));
            string a = Normalize(right[i], actual(right[i]));
            if (e != a) mismatches.Add($"{string.Join(' ', right[i])}\n  expected: {Escape(e)}\n  actual:   {Escape(a)}");
        }
        return mismatches;
    }

    // ------------------------------------------------------------------ scripts

    private static string[] XAdd(string key, string id, params string[] fields) => ["XADD", key, id, .. fields];

    /// <summary>Entries with the master's fields, other fields, integers, binary and long values; deletions;
    /// a group with pending entries owned by two consumers, one claimed.</summary>
    private static List<string[]> Mixed(string key)
    {
        List<string[]> script =
        [
            XAdd(key, "1-1", "name", "alice", "age", "7"),
            XAdd(key, "1-2", "name", "bob", "age", "-70000"),
            XAdd(key, "1-5", "other", "x"),
            XAdd(key, "2-0", "name", new string('v', 100), "age", "9223372036854775807"),
            XAdd(key, "2-1", "age", "1", "name", "swapped"),
            XAdd(key, "3-0", "bin\0ary", "\r\n\u00ff", "", "empty field"),
            XAdd(key, "5-0", "name", "carol", "age", "3.5"),
            ["XDEL", key, "1-2"],
            ["XGROUP", "CREATE", key, "g1", "0"],
            ["XGROUP", "CREATE", key, "g0", "$"],
            ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", key, ">"],
            ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", key, ">"],
            ["XACK", key, "g1", "1-5"],
            ["XCLAIM", key, "g1", "carol", "0", "2-0", "JUSTID"],
            ["XGROUP", "CREATECONSUMER", key, "g1", "dave"],
            ["XADD", key, "6-0", "name", "erin", "age", "1"],
        ];
        return script;
    }

    /// <summary>Hundreds of entries over several nodes (100 entries per node), trimmed exactly and approximately,
    /// with deletions in the middle of nodes and a group reading some of them.</summary>
    private static List<string[]> Large(string key)
    {
        var script = new List<string[]>();
        for (int i = 1; i <= 450; i++)
        {
            script.Add(i % 7 == 0
                ? XAdd(key, $"{1000 + i / 3}-{i}", "kind", "odd", "n", i.ToString(), "extra", "yes")
                : XAdd(key, $"{1000 + i / 3}-{i}", "n", i.ToString(), "payload", "value-" + i));
        }
        script.Add(["XTRIM", key, "MAXLEN", "~", "400"]);
        script.Add(["XTRIM", key, "MAXLEN", "330"]);
        for (int i = 200; i < 260; i += 3) script.Add(["XDEL", key, $"{1000 + i / 3}-{i}"]);
        script.Add(["XGROUP", "CREATE", key, "readers", "0", "ENTRIESREAD", "0"]);
        script.Add(["XREADGROUP", "GROUP", "readers", "c1", "COUNT", "40", "STREAMS", key, ">"]);
        script.Add(["XREADGROUP", "GROUP", "readers", "c2", "COUNT", "5", "STREAMS", key, ">"]);
        script.Add(["XGROUP", "CREATE", key, "late", "1100-300"]);
        return script;
    }

    private static List<string[]> Empty(string key) =>
    [
        XAdd(key, "7-7", "f", "v"),
        ["XDEL", key, "7-7"],
        ["XGROUP", "CREATE", key, "g", "$"],
        ["XSETID", key, "9-9", "ENTRIESADDED", "4", "MAXDELETEDID", "8-0"],
    ];

    // ------------------------------------------------------------------ tests

    [Fact]
    public void RoundTripHere()
    {
        foreach (var (key, script, groups) in new[]
        {
            ("mixed", Mixed("mixed"), new[] { "g0", "g1" }),
            ("large", Large("large"), new[] { "readers", "late" }),
            ("empty", Empty("empty"), new[] { "g" }),
        })
        {
            foreach (var cmd in script) Assert.DoesNotContain("-ERR", Run(cmd));
            var payload = DumpHere(key);
            Assert.Equal(RdbStream.TypeListpacks2, payload[0]);
            Assert.True(RestoreHere(key + ":copy", payload));
            var mismatches = CompareWith(Run, key, Run, key + ":copy", groups);
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
            // the copy dumps to the same bytes and keeps working: new entries and group reads
            Assert.Equal(key + Convert.ToHexString(payload), key + Convert.ToHexString(DumpHere(key + ":copy")));
            Assert.Equal(Run("XADD", key, "*", "new", "entry")[..5], Run("XADD", key + ":copy", "*", "new", "entry")[..5]);
            Assert.Equal(Run("XADD", key, "99999999999999-0", "new", "entry"), Run("XADD", key + ":copy", "99999999999999-0", "new", "entry"));
            Run("XREADGROUP", "GROUP", groups[0], "zed", "STREAMS", key, ">");
            Run("XREADGROUP", "GROUP", groups[0], "zed", "STREAMS", key + ":copy", ">");
            Assert.Equal(Run("XPENDING", key, groups[0]), Run("XPENDING", key + ":copy", groups[0]));
            Assert.Equal(Run("XTRIM", key, "MAXLEN", "1"), Run("XTRIM", key + ":copy", "MAXLEN", "1"));
            Assert.Equal(Run("XRANGE", key, "-", "+"), Run("XRANGE", key + ":copy", "-", "+"));
        }
    }

    [Fact]
    public void PayloadBytesMatchRedisForPlainStreams()
    {
        // type 19, one node keyed 1-1; master fields a b; entries with SAME_FIELDS, then one with its own fields
        // (seq delta -1); length 3, last 2-0, first 1-1, max deleted 0-0, entries added 3, no groups.
        foreach (var cmd in new[] { XAdd("s", "1-1", "a", "1", "b", "2"), XAdd("s", "1-2", "a", "3", "b", "4"), XAdd("s", "2-0", "c", "x") })
            Run(cmd);
        byte[] lp =
        [
            0x3e, 0, 0, 0, 0x19, 0,
            3, 1, 0, 1, 2, 1, 0x81, (byte)'a', 2, 0x81, (byte)'b', 2, 0, 1,
            2, 1, 0, 1, 0, 1, 1, 1, 2, 1, 5, 1,
            2, 1, 0, 1, 1, 1, 3, 1, 4, 1, 5, 1,
            0, 1, 1, 1, 0xdf, 0xff, 2, 1, 1, 0x81, (byte)'c', 2, 0x81, (byte)'x', 2, 6, 1,
            0xff,
        ];
        byte[] expected = [0x13, 1, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x3e, .. lp, 3, 2, 0, 1, 1, 0, 0, 3, 0];
        Assert.Equal(Payload(expected), DumpHere("s"));
    }

    [Fact]
    public void MalformedStreamPayloadsAreRejected()
    {
        Run("XADD", "s", "1-1", "a", "1");
        Run("XADD", "s", "1-2", "a", "2");
        Run("XGROUP", "CREATE", "s", "g", "0");
        Run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">");
        var good = DumpHere("s");
        var body = good[..^10];
        Assert.True(RestoreHere("ok", Payload(body)));
        // every truncation is rejected, never throws
        for (int cut = 1; cut < body.Length; cut++) Assert.False(RestoreHere("bad", Payload(body[..cut])), $"cut at {cut}");
        // a trailing byte, a wrong length, a node key that is not 16 bytes
        Assert.False(RestoreHere("bad", Payload([.. body, 0])));
        // type 19 with zero nodes but length 1
        Assert.False(RestoreHere("bad", Payload([0x13, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0])));
        Assert.False(RestoreHere("bad", Payload([0x13, 1, 3, (byte)'a', (byte)'b', (byte)'c', 0])));
        // a consumer owning an entry that is not in the group PEL: corrupt
        var flipped = (byte[])body.Clone();
        flipped[^1] ^= 0x40; // last byte of the consumer's PEL ID
        Assert.False(RestoreHere("bad", Payload(flipped)));
        Assert.Equal(Int(0), Run("EXISTS", "bad"));
        // an empty stream without groups is valid
        Assert.True(RestoreHere("e", Payload([0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
        Assert.Equal(Int(0), Run("XLEN", "e"));
    }

    [Fact]
    public void RdbNineStreamsDeriveTheNewCounters()
    {
        // type 15 (Redis 5/6): no first ID, max deleted ID, entries added or entries read. One node keyed 1-1 with
        // fields [a]: 1-1 deleted, 1-2 and 1-3 live; last ID 1-3; group g at 1-2 without pending entries.
        Run("XADD", "s", "1-2", "a", "2");
        Run("XADD", "s", "1-3", "a", "3");
        var lp = new ListpackWriter();
        foreach (var item in new[] { "2", "1", "1", "a", "0", "3", "0", "0", "1", "4", "2", "0", "1", "2", "4", "2", "0", "2", "3", "4" })
            lp.Add(B(item));
        var w = new RdbWriter();
        w.Byte(RdbStream.TypeListpacks);
        w.Length(1);
        w.String([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        w.String(lp.ToArray());
        foreach (ulong n in new ulong[] { 2, 1, 3, 1 }) w.Length(n); // length, last ID, one group
        w.String("g"u8);
        foreach (ulong n in new ulong[] { 1, 2, 0, 0 }) w.Length(n); // group last ID, empty PEL, no consumers
        var v15 = w.FinishDump();
        Assert.True(RestoreHere("old", v15));
        Assert.Equal(Run("XRANGE", "s", "-", "+"), Run("XRANGE", "old", "-", "+"));
        // entries-added = length (2), max deleted 0-0, first ID 1-2; the group's counter is estimated as 1
        var info = Run("XINFO", "STREAM", "old");
        Assert.Contains("entries-added\r\n:2\r\n", info);
        Assert.Contains("max-deleted-entry-id\r\n$3\r\n0-0\r\n", info);
        Assert.Contains("recorded-first-entry-id\r\n$3\r\n1-2\r\n", info);
        Assert.Contains("entries-read\r\n:1\r\n", Run("XINFO", "GROUPS", "old"));
    }

    [Fact]
    public void CrossRestoreWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        foreach (var (key, script, groups) in new[]
        {
            ("mixed", Mixed("mixed"), new[] { "g0", "g1" }),
            ("large", Large("large"), new[] { "readers", "late" }),
            ("empty", Empty("empty"), new[] { "g" }),
            ("plain", new List<string[]> { XAdd("plain", "1-1", "a", "1", "b", "2"), XAdd("plain", "1-2", "a", "3", "b", "4"), XAdd("plain", "2-0", "c", "x") }, System.Array.Empty<string>()),
        })
        {
            foreach (var cmd in script)
            {
                string theirs = redis.Run(cmd), ours = Run(cmd);
                Assert.False(theirs.StartsWith('-'), $"{string.Join(' ', cmd)}: {theirs}");
                Assert.False(ours.StartsWith('-'), $"{string.Join(' ', cmd)}: {ours}");
            }
            var fromRedis = BulkPayload(redis.Execute(B("DUMP"), B(key)));
            var fromUs = DumpHere(key);

            // Redis -> us: the restored copy answers like Redis's original
            Assert.True(RestoreHere(key + ":fromredis", fromRedis));
            var mismatches = CompareWith(redis.Run, key, Run, key + ":fromredis", groups);
            Assert.True(mismatches.Count == 0, "redis -> us\n" + string.Join("\n", mismatches));

            // us -> Redis: Redis's restored copy answers like our original
            Assert.Equal(Ok, Encoding.Latin1.GetString(redis.Execute(B("RESTORE"), B(key + ":fromus"), B("0"), fromUs)));
            mismatches = CompareWith(Run, key, redis.Run, key + ":fromus", groups);
            Assert.True(mismatches.Count == 0, "us -> redis\n" + string.Join("\n", mismatches));

            // Redis re-dumps our payload to the bytes it dumps for its own copy, as long as no deleted entry is kept
            // in a node (we keep no data for those)
            if (key == "plain") Assert.Equal(fromRedis, fromUs);
        }
    }
}
