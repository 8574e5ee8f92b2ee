using System.Text;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>DUMP/RESTORE: payload format, options, errors, and payloads exchanged with redis-server 7.0 both ways.</summary>
public sealed class DumpRestoreTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>The payload of a bulk-string reply.</summary>
    private static byte[] BulkPayload(byte[] reply)
    {
        Assert.Equal((byte)'$', reply[0]);
        int crlf = System.Array.IndexOf(reply, (byte)'\r');
        int n = int.Parse(Encoding.ASCII.GetString(reply, 1, crlf - 1));
        Assert.True(n >= 0, Encoding.Latin1.GetString(reply));
        return reply.AsSpan(crlf + 2, n).ToArray();
    }

    private byte[] Dump(string key) => BulkPayload(_h.Execute(B("DUMP"), B(key)));

    private string Restore(string key, byte[] payload, params string[] options) =>
        Encoding.Latin1.GetString(_h.Execute([B("RESTORE"), B(key), B("0"), payload, .. options.Select(B)]));

    [Fact]
    public void Crc64JonesCheckValue()
    {
        Assert.Equal(0xe9c6d914c4b8d9caUL, RdbCrc64.Compute(0, "123456789"u8));
    }

    [Fact]
    public void LzfRoundTrip()
    {
        var input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("hello world, ", 50)) + "tail");
        var compressed = new byte[input.Length];
        int n = RdbLzf.Compress(input, compressed);
        Assert.InRange(n, 1, input.Length / 4);
        var output = new byte[input.Length];
        Assert.True(RdbLzf.TryDecompress(compressed.AsSpan(0, n), output));
        Assert.Equal(input, output);
    }

    [Fact]
    public void StringPayloadsAreRedisBytes()
    {
        Run("SET", "k", "hello");
        // type 0, length 5, "hello", RDB version 10, CRC64
        var payload = Dump("k");
        Assert.Equal([0, 5, .. "hello"u8, 10, 0], payload[..^8]);
        Run("SET", "n", "-129");
        Assert.Equal([0, 0xC1, 0x7F, 0xFF, 10, 0], Dump("n")[..^8]);
        Run("SET", "n", "007");
        Assert.Equal([0, 3, .. "007"u8, 10, 0], Dump("n")[..^8]);
        Assert.Equal(Nil, Run("DUMP", "missing"));
    }

    [Fact]
    public void RestoreOptionsAndErrors()
    {
        Run("SET", "k", "value");
        var payload = Dump("k");
        Assert.Equal(Err("BUSYKEY Target key name already exists."), Restore("k", payload));
        Assert.Equal(Ok, Restore("k2", payload));
        Assert.Equal(Bulk("value"), Run("GET", "k2"));
        Assert.Equal(Int(-1), Run("TTL", "k2"));
        Assert.Equal(Ok, Restore("k", payload, "REPLACE", "IDLETIME", "100"));
        Assert.Equal(Int(100), Run("OBJECT", "IDLETIME", "k"));
        Assert.Equal(Ok, Encoding.ASCII.GetString(_h.Execute(B("RESTORE"), B("t"), B("5000"), payload)));
        Assert.Equal(Int(5), Run("TTL", "t"));
        Assert.Equal(Ok, Encoding.ASCII.GetString(_h.Execute(B("RESTORE"), B("t2"), B((_h.NowMs + 9000).ToString()), payload, B("ABSTTL"))));
        Assert.Equal(Int(9), Run("TTL", "t2"));
        // an absolute TTL in the past creates nothing; with REPLACE the old key is gone
        Assert.Equal(Ok, Encoding.ASCII.GetString(_h.Execute(B("RESTORE"), B("k"), B("1"), payload, B("ABSTTL"), B("REPLACE"))));
        Assert.Equal(Int(0), Run("EXISTS", "k"));

        var bad = (byte[])payload.Clone();
        bad[^1] ^= 1;
        Assert.Equal(Err("ERR DUMP payload version or checksum are wrong"), Restore("x", bad));
        Assert.Equal(Err("ERR DUMP payload version or checksum are wrong"), Restore("x", [1, 2, 3]));
        var newer = (byte[])payload.Clone();
        newer[^10] = 11;
        Assert.Equal(Err("ERR DUMP payload version or checksum are wrong"), Restore("x", newer));
        Assert.Equal(Err("ERR Bad data format"), Restore("x", Payload([0, 9, (byte)'a'])));
        Assert.Equal(Err("ERR Bad data format"), Restore("x", Payload([42, 1, (byte)'a'])));
        Assert.Equal(Err("ERR syntax error"), Restore("x", payload, "BOGUS"));
        Assert.Equal(Err("ERR syntax error"), Restore("x", payload, "IDLETIME", "1", "FREQ", "1"));
        Assert.Equal(Err("ERR Invalid IDLETIME value, must be >= 0"), Restore("x", payload, "IDLETIME", "-1"));
        Assert.Equal(Err("ERR Invalid FREQ value, must be >= 0 and <= 255"), Restore("x", payload, "FREQ", "256"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Restore("x", payload, "FREQ", "x"));
        Assert.Equal(Err("ERR Invalid TTL value, must be >= 0"), Encoding.ASCII.GetString(_h.Execute(B("RESTORE"), B("x"), B("-1"), payload)));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Encoding.ASCII.GetString(_h.Execute(B("RESTORE"), B("x"), B("x"), payload)));
        Assert.Equal(Int(0), Run("EXISTS", "x"));
    }

    /// <summary>A payload with a valid footer around <paramref name="body"/>.</summary>
    private static byte[] Payload(byte[] body)
    {
        byte[] withVersion = [.. body, 10, 0];
        ulong crc = RdbCrc64.Compute(0, withVersion);
        return [.. withVersion, .. BitConverter.GetBytes(crc)];
    }

    private static readonly string[] Strings =
    [
        "", "hello", "0", "-1", "127", "128", "-32768", "32768", "2147483647", "2147483648", "-2147483649", "12345678901234567890",
        "007", "+5", "1.5", new string('a', 100), string.Concat(Enumerable.Range(0, 300).Select(i => (i % 17).ToString())),
        "binary\0\r\n\u00ff", new string('x', 20), new string('x', 21), "abcdefghijklmnopqrstuvwxyz",
    ];

    [Fact]
    public void StringsCrossRestoreWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        for (int i = 0; i < Strings.Length; i++)
        {
            string key = "s" + i;
            // Redis -> us
            redis.Run("SET", key, Strings[i]);
            var payload = BulkPayload(redis.Execute(B("DUMP"), B(key)));
            Assert.Equal(Ok, Restore(key, payload));
            Assert.Equal(redis.Run("GET", key), Encoding.Latin1.GetString(_h.Execute(B("GET"), B(key))));
            Assert.Equal(redis.Run("OBJECT", "ENCODING", key), Run("OBJECT", "ENCODING", key));
            // us -> Redis
            var ours = Dump(key);
            if (Strings[i].Length <= 20) Assert.Equal(payload, ours); // longer ones may be LZF-compressed differently
            Assert.Equal("+OK\r\n", ReferenceRedis.Latin1(redis.Execute(B("RESTORE"), B(key + "b"), B("0"), ours)));
            Assert.Equal(redis.Run("GET", key), redis.Run("GET", key + "b"));
        }
        // An HLL dumped by Redis restores and counts the same here.
        redis.Run(["PFADD", "hll", .. Enumerable.Range(0, 500).Select(i => "e" + i)]);
        redis.Run(["PFADD", "hlld", .. Enumerable.Range(0, 5000).Select(i => "e" + i)]);
        foreach (var key in new[] { "hll", "hlld" })
        {
            Assert.Equal(Ok, Restore(key, BulkPayload(redis.Execute(B("DUMP"), B(key)))));
            Assert.Equal(redis.Run("PFCOUNT", key), Run("PFCOUNT", key));
            Run("PFADD", key, "new-one");
            redis.Run("PFADD", key, "new-one");
            Assert.Equal(redis.Run("GET", key), Encoding.Latin1.GetString(_h.Execute(B("GET"), B(key))));
        }
    }

    /// <summary>Builds the same key on both servers, restores each side's DUMP on the other and compares the values
    /// with <paramref name="read"/> (a read command whose reply must be identical).</summary>
    private void CrossCheck(ReferenceRedis redis, string[] create, string key, string[] read, bool sameBytes = false)
    {
        redis.Run(create);
        Run(create);
        var theirs = BulkPayload(redis.Execute(B("DUMP"), B(key)));
        var ours = Dump(key);
        if (sameBytes) Assert.Equal(ReferenceRedis.Escape(ReferenceRedis.Latin1(theirs)), ReferenceRedis.Escape(ReferenceRedis.Latin1(ours)));
        string[] readCopy = [.. read];
        readCopy[1] = key + ":fromredis";
        Assert.Equal(Ok, Restore(readCopy[1], theirs));
        Assert.Equal(redis.Run(read), Encoding.Latin1.GetString(_h.Execute(readCopy.Select(B).ToArray())));
        Assert.Equal(redis.Run("OBJECT", "ENCODING", key), Run("OBJECT", "ENCODING", readCopy[1]));
        Assert.Equal(redis.Run("TYPE", key), Run("TYPE", readCopy[1]));
        Assert.Equal("+OK\r\n", ReferenceRedis.Latin1(redis.Execute(B("RESTORE"), B(readCopy[1]), B("0"), ours)));
        Assert.Equal(redis.Run(read), redis.Run(readCopy));
    }

    private static string[] Cmd(string name, string key, IEnumerable<string> args) => [name, key, .. args];

    [Fact]
    public void ListsCrossRestoreWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        CrossCheck(redis, ["RPUSH", "l1", "a", "1", "-5"], "l1", ["LRANGE", "l1", "0", "-1"], sameBytes: true);
        CrossCheck(redis, Cmd("RPUSH", "l2", ["0", "127", "128", "-4096", "4095", "4096", "-32769", "8388607", "8388608", "2147483648",
            "-9223372036854775808", "9223372036854775807", "007", "+1", "-0", "", new string('v', 70), new string('w', 5000)]),
            "l2", ["LRANGE", "l2", "0", "-1"]);
        CrossCheck(redis, Cmd("RPUSH", "l3", Enumerable.Range(0, 3000).Select(i => i % 3 == 0 ? "element-" + i : (i * 7919).ToString())),
            "l3", ["LRANGE", "l3", "0", "-1"]);
    }

    [Fact]
    public void HashesCrossRestoreWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        CrossCheck(redis, ["HSET", "h1", "f", "1", "g", "x"], "h1", ["HGETALL", "h1"], sameBytes: true);
        CrossCheck(redis, ["HSET", "h2", "f", "1", "g", "-70000", "name", "value with spaces"], "h2", ["HGETALL", "h2"]);
        // hashtable encodings: the order differs between servers, so compare single fields
        CrossCheck(redis, ["HSET", "h3", "long", new string('z', 100), "a", "b"], "h3", ["HMGET", "h3", "long", "a", "zz"]);
        CrossCheck(redis, Cmd("HSET", "h4", Enumerable.Range(0, 600).SelectMany(i => new[] { "f" + i, "v" + i })),
            "h4", ["HMGET", "h4", "f0", "f150", "f599", "nope"]);
        Assert.Equal(Int(600), Run("HLEN", "h4:fromredis"));
    }

    [Fact]
    public void SetsCrossRestoreWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        CrossCheck(redis, ["SADD", "s1", "3", "1", "2"], "s1", ["SMEMBERS", "s1"], sameBytes: true);
        CrossCheck(redis, ["SADD", "s2", "-70000", "5", "40000"], "s2", ["SMEMBERS", "s2"], sameBytes: true);
        CrossCheck(redis, ["SADD", "s3", "-9223372036854775808", "5"], "s3", ["SMEMBERS", "s3"]); // LZF-compressed by Redis
        CrossCheck(redis, ["SADD", "s4", "a", "b", "1"], "s4", ["SORT", "s4", "ALPHA"]);
        CrossCheck(redis, Cmd("SADD", "s5", Enumerable.Range(0, 600).Select(i => i.ToString())), "s5", ["SORT", "s5"]);
    }

    [Fact]
    public void SortedSetsCrossRestoreWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        CrossCheck(redis, ["ZADD", "z1", "1", "a", "2", "b"], "z1", ["ZRANGE", "z1", "0", "-1", "WITHSCORES"], sameBytes: true);
        CrossCheck(redis, ["ZADD", "z2", "1.5", "a", "-inf", "b", "inf", "c", "0.1", "d", "1e20", "e", "0", "f"], "z2",
            ["ZRANGE", "z2", "0", "-1", "WITHSCORES"]);
        CrossCheck(redis, ["ZADD", "z3", "1", new string('m', 100), "2", "x"], "z3", ["ZRANGE", "z3", "0", "-1", "WITHSCORES"]);
        CrossCheck(redis, Cmd("ZADD", "z4", Enumerable.Range(0, 300).SelectMany(i => new[] { (i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture), "m" + i })),
            "z4", ["ZRANGE", "z4", "0", "-1", "WITHSCORES"]);
    }

    [Fact]
    public void TypeAndObjectMatchRedisServerForEveryType()
    {
        using var redis = ReferenceRedis.TryStart();
        List<string[]> script =
        [
            ["SET", "str", "abc"], ["SET", "int", "42"], ["SETBIT", "bits", "3", "1"], ["PFADD", "hll", "a"], ["RPUSH", "list", "a", "1"],
            ["SADD", "iset", "1", "2"], ["SADD", "sset", "a"], ["ZADD", "zset", "1", "a"], ["ZADD", "bigz", "1", new string('m', 65)],
            ["HSET", "hash", "f", "v"], ["HSET", "bigh", "f", new string('v', 65)], ["XADD", "stream", "1-1", "f", "v"],
        ];
        foreach (var key in new[] { "str", "int", "bits", "hll", "list", "iset", "sset", "zset", "bigz", "hash", "bigh", "stream", "none" })
        {
            script.Add(["TYPE", key]);
            script.Add(["OBJECT", "ENCODING", key]);
            script.Add(["OBJECT", "REFCOUNT", key]);
            script.Add(["OBJECT", "IDLETIME", key]);
            script.Add(["OBJECT", "FREQ", key]);
        }
        var mismatches = redis.Compare(_h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
