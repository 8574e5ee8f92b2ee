namespace Demikernel.Server.Tests;

/// <summary>
/// Runs the same deterministic command script against a real redis-server (when one is installed) and through our
/// dispatcher, and compares the raw RESP bytes of every reply.
/// </summary>
public sealed class DifferentialTests
{
    private static readonly string[][] Script =
    [
        ["SET", "k", "v"], ["GET", "k"], ["SET", "k", "v2", "GET"], ["SET", "k", "x", "NX"], ["SET", "k", "x", "XX", "GET"],
        ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "EX", "0"], ["SET", "k", "v", "EX", "abc"], ["SET", "k", "v", "KEEPTTL", "PX", "5"],
        ["SET", "k", "v", "PX", "9223372036854775807"], ["SET", "k", "v", "EX"], ["SET", "k"], ["GET"],
        ["SETNX", "k", "1"], ["SETNX", "n1", "1"], ["SETEX", "k", "0", "v"], ["SETEX", "k", "x", "v"], ["PSETEX", "k", "-1", "v"],
        ["SETEX", "sx", "100", "v"], ["TTL", "sx"], ["GETSET", "sx", "w"], ["TTL", "sx"], ["GETDEL", "sx"], ["GETDEL", "sx"],
        ["GETEX", "k"], ["GETEX", "k", "EX", "100"], ["TTL", "k"], ["GETEX", "k", "PERSIST"], ["TTL", "k"], ["GETEX", "k", "PXAT", "1"],
        ["EXISTS", "k"], ["GETEX", "nokey", "EX", "-1"], ["SET", "k", "v"], ["GETEX", "k", "EX", "-1"], ["GETEX", "k", "NX"],
        ["GETEX", "k", "PERSIST", "EX", "1"],
        ["MSET", "a", "1", "b", "2"], ["MSET", "a"], ["MGET", "a", "b", "zz"], ["MSETNX", "a", "1", "q", "2"], ["MSETNX", "q", "1", "r", "2"],
        ["MSETNX", "q"], ["APPEND", "a", "23"], ["APPEND", "new", "xyz"], ["STRLEN", "a"], ["STRLEN", "none"],
        ["INCR", "a"], ["INCRBY", "a", "-200"], ["DECR", "a"], ["DECRBY", "a", "7"], ["INCRBY", "a", "x"], ["INCR", "new"],
        ["SET", "m", "9223372036854775807"], ["INCR", "m"], ["DECRBY", "m", "-9223372036854775808"], ["DECRBY", "m", "9223372036854775807"],
        ["SET", "f", "10.50"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "abc"], ["INCRBYFLOAT", "f2", "3.0e3"], ["INCRBYFLOAT", "f2", "-0.5"],
        ["INCRBYFLOAT", "new", "1"], ["SET", "h", "1e308"], ["INCRBYFLOAT", "h", "inf"],
        ["SET", "s", "Hello World"], ["SETRANGE", "s", "6", "Redis"], ["GET", "s"], ["SETRANGE", "z", "3", "ab"], ["GET", "z"],
        ["SETRANGE", "s", "-1", "x"], ["SETRANGE", "s", "536870911", "xx"], ["SETRANGE", "none2", "536870912", ""], ["SETRANGE", "s", "0", ""],
        ["GETRANGE", "s", "0", "4"], ["GETRANGE", "s", "-5", "-1"], ["GETRANGE", "s", "-1", "-5"], ["GETRANGE", "s", "5", "1"],
        ["GETRANGE", "s", "0", "-100"], ["GETRANGE", "s", "x", "1"], ["GETRANGE", "none", "0", "1"], ["SUBSTR", "s", "0", "2"],
        ["SET", "s1", "ohmytext"], ["SET", "s2", "mynewtext"], ["LCS", "s1", "s2"], ["LCS", "s1", "s2", "LEN"], ["LCS", "s1", "s2", "IDX"],
        ["LCS", "s1", "s2", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"], ["LCS", "s1", "s2", "IDX", "LEN"], ["LCS", "s1", "s2", "BAD"],
        ["OBJECT", "ENCODING", "s"], ["OBJECT", "ENCODING", "a"], ["OBJECT", "ENCODING", "s1"], ["OBJECT", "ENCODING", "f"],
        ["OBJECT", "REFCOUNT", "a"], ["OBJECT", "REFCOUNT", "s1"], ["OBJECT", "FREQ", "s1"], ["OBJECT", "ENCODING", "nope"],
        ["OBJECT", "HELP"], ["OBJECT", "nosuch"], ["OBJECT", "ENCODING"],
        ["DEL", "a", "b", "nope"], ["UNLINK", "q", "r"], ["EXISTS", "s", "s", "nope"], ["TOUCH", "s", "nope"], ["TYPE", "s"], ["TYPE", "nope"],
        ["RENAME", "nope", "x"], ["RENAME", "s", "s"], ["RENAMENX", "s", "s"], ["RENAMENX", "s", "s1"], ["RENAME", "s", "s3"], ["GET", "s3"],
        ["EXPIRE", "s3", "100"], ["TTL", "s3"], ["PTTL", "nope"], ["TTL", "s1"], ["EXPIRE", "s3", "10", "NX", "XX"], ["EXPIRE", "s3", "10", "GT", "LT"],
        ["EXPIRE", "s3", "10", "BAD"], ["EXPIRE", "s3", "abc"], ["EXPIRE", "s3", "9223372036854775807"], ["PEXPIRE", "s3", "9223372036854775807"],
        ["EXPIREAT", "s3", "9223372036854775807"], ["EXPIRE", "s3", "200", "NX"], ["EXPIRE", "s3", "50", "GT"], ["EXPIRE", "s3", "500", "GT"],
        ["EXPIRE", "s3", "600", "LT"], ["EXPIRE", "s3", "5", "LT"], ["TTL", "s3"], ["EXPIRE", "s1", "5", "XX"], ["EXPIRE", "s1", "5", "GT"],
        ["PEXPIREAT", "s1", "9223372036854775807"], ["EXPIRETIME", "s1"], ["PEXPIRETIME", "s1"], ["PERSIST", "s1"], ["PERSIST", "s1"],
        ["EXPIRETIME", "s1"], ["EXPIRE", "s1", "-1"], ["EXISTS", "s1"], ["EXPIRE", "nope", "10"],
        ["COPY", "s3", "c1"], ["TTL", "c1"], ["COPY", "s3", "c1"], ["COPY", "s3", "c1", "REPLACE"], ["COPY", "s3", "s3"], ["COPY", "s3", "c2", "DB", "16"],
        ["COPY", "s3", "c2", "DB", "x"], ["COPY", "s3", "c2", "DB"], ["COPY", "s3", "c2", "BAD"], ["COPY", "s3", "s3", "DB", "2"],
        ["MOVE", "c1", "1"], ["MOVE", "c1", "1"], ["MOVE", "s3", "0"], ["MOVE", "s3", "16"], ["MOVE", "s3", "x"], ["MOVE", "s3", "99999999999"],
        ["SELECT", "1"], ["GET", "c1"], ["TTL", "c1"], ["SELECT", "2"], ["GET", "s3"], ["SELECT", "0"],
        ["KEYS", "s[3]"], ["KEYS", "nomatch*"], ["SCAN", "abc"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "BAD", "x"], ["SCAN", "0", "MATCH", "s3", "COUNT", "1000"],
        ["SCAN", "0", "TYPE", "hash", "COUNT", "1000"], ["SCAN", "0", "COUNT", "x"],
    ];

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RepliesMatchRedisServer(int protocol) => ReferenceRedis.AssertSameReplies(Script, protocol);

    /// <summary>INCRBYFLOAT and HINCRBYFLOAT compute in redis-server's 80-bit long double: a seeded chain of increments
    /// of every magnitude (and the extremes of the range) must print the same digits at every step.</summary>
    [Fact]
    public void FloatIncrementsAgreeDigitForDigit()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        var rng = new Random(20261202);
        var script = new List<string[]>
        {
            new[] { "INCRBYFLOAT", "x", "1e4000" }, new[] { "INCRBYFLOAT", "x", "1" }, new[] { "INCRBYFLOAT", "x", "-1e4000" },
            new[] { "SET", "m", "1.18973149535723176502e+4932" }, new[] { "INCRBYFLOAT", "m", "1e4932" }, new[] { "GET", "m" },
            new[] { "INCRBYFLOAT", "s", "1e-4940" }, new[] { "INCRBYFLOAT", "s", "1e-5000" }, new[] { "INCRBYFLOAT", "s", "0x1p-16445" },
            new[] { "HINCRBYFLOAT", "h", "f", "1e300" }, new[] { "HINCRBYFLOAT", "h", "f", "inf" }, new[] { "HINCRBYFLOAT", "h", "f", "0x1.8p3" },
        };
        for (int i = 0; i < 300; i++)
        {
            double mantissa = rng.NextDouble() * 20 - 10;
            int exponent = rng.Next(-25, 25);
            string increment = rng.Next(3) switch
            {
                0 => $"{mantissa:R}e{exponent}",
                1 => (rng.Next(-1000, 1000) / 10.0).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                _ => "0." + new string('0', rng.Next(0, 19)) + rng.Next(1, 10),
            };
            script.Add(rng.Next(2) == 0 ? ["INCRBYFLOAT", $"k{i % 4}", increment] : ["HINCRBYFLOAT", "hash", $"f{i % 4}", increment]);
        }
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void SwapDbMatchesRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        string[][] script =
        [
            ["SET", "a", "in0"], ["SET", "t", "v", "EX", "100"], ["SELECT", "1"], ["SET", "a", "in1"], ["RPUSH", "l", "x"], ["SELECT", "0"],
            ["SWAPDB", "0", "1"], ["GET", "a"], ["LRANGE", "l", "0", "-1"], ["EXISTS", "t"], ["SELECT", "1"], ["GET", "a"], ["TTL", "t"],
            ["DBSIZE"], ["SELECT", "0"], ["DBSIZE"], ["SWAPDB", "0", "0"], ["GET", "a"], ["SWAPDB", "1", "0"], ["GET", "a"],
            ["SWAPDB", "x", "0"], ["SWAPDB", "0", "y"], ["SWAPDB", "0", "16"], ["SWAPDB", "-1", "0"], ["SWAPDB", "99999999999", "0"],
            ["SWAPDB", "0"], ["SWAPDB", "0", "1", "2"],
        ];
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    /// <summary>As touchAllWatchedKeysInDb: a watched key that existed in either database breaks the transaction.</summary>
    [Fact]
    public void SwapDbBreaksWatch()
    {
        using var h = new CommandHarness();
        h.Run("SET", "k", "v");
        Assert.Equal(CommandHarness.Ok, h.Run("WATCH", "k"));
        Assert.Equal(CommandHarness.Ok, h.Run("SWAPDB", "0", "1"));
        Assert.Equal(CommandHarness.Ok, h.Run("MULTI"));
        h.Run("GET", "k");
        Assert.Equal(CommandHarness.NilArray, h.Run("EXEC"));
    }
}
