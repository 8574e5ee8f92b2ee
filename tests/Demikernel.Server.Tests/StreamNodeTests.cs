using System.Globalization;

namespace Demikernel.Server.Tests;

/// <summary>
/// stream-node-max-bytes and stream-node-max-entries against redis-server 7.0.15: streams of many entry shapes (same
/// and other field names, integers that listpacks store as integers, strings around the 64 and 4096-byte encoding
/// steps, ID deltas of every integer width) cut into nodes under several settings; then approximate and exact
/// trimming, with and without LIMIT, XDEL and appends to nodes with deletions; XLEN, XINFO STREAM (radix-tree keys and
/// nodes, first and last entry), XINFO STREAM FULL, DUMP and the errors, byte for byte in RESP2 and RESP3.
/// </summary>
public sealed class StreamNodeTests
{
    private static readonly (string Bytes, string Entries)[] Settings =
    [
        ("4096", "100"), ("0", "5"), ("300", "0"), ("1kb", "3"), ("1", "100"), ("2000", "7"), ("100", "2"),
    ];

    private static List<string[]> Script(int seed)
    {
        var rng = new Random(seed);
        var script = new List<string[]>
        {
            new[] { "CONFIG", "GET", "stream-node-max-bytes" }, new[] { "CONFIG", "GET", "stream-node-max-entries" },
            new[] { "CONFIG", "SET", "stream-node-max-bytes", "-1" }, new[] { "CONFIG", "SET", "stream-node-max-bytes", "x" },
            new[] { "CONFIG", "SET", "stream-node-max-entries", "-1" }, new[] { "CONFIG", "SET", "stream-node-max-entries", "1k" },
            new[] { "XADD", "e", "LIMIT", "10", "1-1", "f", "v" }, new[] { "XADD", "e", "MAXLEN", "5", "LIMIT", "10", "1-1", "f", "v" },
            new[] { "XTRIM", "e", "MAXLEN", "~", "5", "LIMIT", "-1" }, new[] { "XTRIM", "e", "MINID", "=", "5", "LIMIT", "3" },
        };
        for (int k = 0; k < Settings.Length; k++)
        {
            var (bytes, entries) = Settings[k];
            script.Add(["CONFIG", "SET", "stream-node-max-bytes", bytes, "stream-node-max-entries", entries]);
            script.Add(["CONFIG", "GET", "stream-node-max-bytes"]);
            script.Add(["CONFIG", "GET", "stream-node-max-entries"]);
            string key = "s" + k.ToString(CultureInfo.InvariantCulture);
            ulong ms = 1, seq = 0;
            var ids = new List<string>();
            int count = rng.Next(40, 260);
            for (int i = 0; i < count; i++)
            {
                (ms, seq) = NextId(rng, ms, seq);
                string id = $"{ms}-{seq}";
                ids.Add(id);
                script.Add(["XADD", key, id, .. Fields(rng)]);
            }
            script.Add(["XLEN", key]);
            script.Add(["XINFO", "STREAM", key]);
            script.Add(["XDEL", key, ids[rng.Next(ids.Count)], ids[rng.Next(ids.Count)], ids[^1]]);
            script.Add(["XTRIM", key, "MAXLEN", "~", (count * 3 / 4).ToString(CultureInfo.InvariantCulture)]);
            script.Add(["XINFO", "STREAM", key]);
            script.Add(["XTRIM", key, "MAXLEN", "~", "0", "LIMIT", rng.Next(1, 30).ToString(CultureInfo.InvariantCulture)]);
            script.Add(["XINFO", "STREAM", key]);
            script.Add(["XTRIM", key, "MINID", "~", ids[count / 2]]);
            script.Add(["XINFO", "STREAM", key]);
            for (int i = 0; i < 15; i++)
            {
                (ms, seq) = NextId(rng, ms, seq);
                string id = $"{ms}-{seq}";
                ids.Add(id);
                script.Add(i % 5 == 0
                    ? ["XADD", key, "MAXLEN", "~", rng.Next(0, 60).ToString(CultureInfo.InvariantCulture), "LIMIT", rng.Next(0, 40).ToString(CultureInfo.InvariantCulture), id, .. Fields(rng)]
                    : i % 5 == 1 ? ["XADD", key, "MINID", "~", ids[rng.Next(ids.Count)], id, .. Fields(rng)]
                    : ["XADD", key, id, .. Fields(rng)]);
            }
            script.Add(["XINFO", "STREAM", key]);
            script.Add(["XTRIM", key, "MAXLEN", "=", "17"]);
            script.Add(["XINFO", "STREAM", key]);
            script.Add(["XTRIM", key, "MINID", ids[^8]]);
            script.Add(["XADD", key, "99999999999-1", "f", "v"]);
            script.Add(["XINFO", "STREAM", key, "FULL", "COUNT", "3"]);
            script.Add(["XLEN", key]);
        }
        // a big default limit (100 × max entries, at most 1000000) and none at all with max entries 0 (10000)
        script.Add(["CONFIG", "SET", "stream-node-max-bytes", "0", "stream-node-max-entries", "1"]);
        for (int i = 1; i <= 120; i++) script.Add(["XADD", "big", $"{i}-0", "f", "v"]);
        script.Add(["XTRIM", "big", "MAXLEN", "~", "0"]);
        script.Add(["XINFO", "STREAM", "big"]);
        return script;
    }

    private static (ulong, ulong) NextId(Random rng, ulong ms, ulong seq) => rng.Next(6) switch
    {
        0 or 1 => (ms, seq + 1),
        2 => (ms + 1, 0),
        3 => (ms + (ulong)rng.Next(100, 70000), (ulong)rng.Next(0, 3)),
        4 => (ms, seq + (ulong)rng.Next(100, 40000)),
        _ => (ms + (1UL << rng.Next(20, 34)), seq + 5),
    };

    private static string[] Fields(Random rng)
    {
        int shape = rng.Next(8);
        return shape switch
        {
            0 or 1 or 2 => ["name", Value(rng), "n", Value(rng)],
            3 => ["name", Value(rng)],
            4 => ["other", Value(rng), "12", Value(rng), "-7", Value(rng)],
            5 => ["name", Value(rng), "n", Value(rng), "extra", Value(rng)],
            6 => [new string('f', rng.Next(60, 70)), Value(rng)],
            _ => ["n", Value(rng), "name", Value(rng)],
        };
    }

    private static string Value(Random rng) => rng.Next(12) switch
    {
        0 => rng.Next(0, 128).ToString(CultureInfo.InvariantCulture),
        1 => (-rng.Next(0, 5000)).ToString(CultureInfo.InvariantCulture),
        2 => rng.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
        3 => "007",
        4 => new string('x', rng.Next(60, 70)),
        5 => new string('y', rng.Next(4090, 4100)),
        6 => rng.Next(100000, 9000000).ToString(CultureInfo.InvariantCulture),
        _ => new string((char)('a' + rng.Next(26)), rng.Next(1, 20)),
    };

    private static byte[] B(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void NodesAndTrimmingAsRedisServer(int protocol)
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        redis.Run("HELLO", protocol.ToString(CultureInfo.InvariantCulture));
        h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
        var mismatches = redis.Compare(h, Script(12 + protocol));
        // Nodes redis-server wrote (tombstones and all) keep filling as redis's after a RESTORE here.
        var restore = new List<string[]>();
        for (int k = 0; k < Settings.Length; k++)
        {
            string key = "s" + k.ToString(CultureInfo.InvariantCulture), copy = "c" + key;
            byte[] dump = redis.Execute(B("DUMP"), B(key));
            byte[] payload = dump[(Array.IndexOf(dump, (byte)'\n') + 1)..^2];
            Assert.Equal(redis.Execute(B("RESTORE"), B(copy), B("0"), payload), h.Execute(B("RESTORE"), B(copy), B("0"), payload));
            restore.Add(["XINFO", "STREAM", copy]);
            for (int i = 1; i <= 30; i++) restore.Add(["XADD", copy, $"99999999999-{i + 1}", "name", i.ToString(CultureInfo.InvariantCulture), "n", new string('z', i * 7)]);
            restore.Add(["XINFO", "STREAM", copy]);
            restore.Add(["XTRIM", copy, "MAXLEN", "~", "5"]);
            restore.Add(["XINFO", "STREAM", copy, "FULL", "COUNT", "2"]);
        }
        mismatches.AddRange(redis.Compare(h, restore));
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} differences:\n" + string.Join("\n", mismatches.Take(10).Select(m => m.Length > 3000 ? m[..3000] : m)));
    }

    /// <summary>Set at start, as in redis.conf (a memory value with a unit).</summary>
    [Fact]
    public void StartUpValuesApply()
    {
        using var h = new CommandHarness();
        Assert.Equal(DirectiveResult.Applied, h.Server.Config.LoadDirective("stream-node-max-entries", ["2"], out _));
        Assert.Equal(DirectiveResult.Applied, h.Server.Config.LoadDirective("stream-node-max-bytes", ["1kb"], out _));
        Assert.Equal(DirectiveResult.Error, h.Server.Config.LoadDirective("stream-node-max-bytes", ["-5"], out _));
        for (int i = 1; i <= 5; i++) h.Run("XADD", "s", $"{i}-0", "f", "v");
        string info = h.Run("XINFO", "STREAM", "s");
        Assert.Contains("radix-tree-keys\r\n:3\r\n", info);
        Assert.Equal(CommandHarness.BulkArray("stream-node-max-bytes", "1024"), h.Run("CONFIG", "GET", "stream-node-max-bytes"));
    }
}
