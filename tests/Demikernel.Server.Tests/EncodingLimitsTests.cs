namespace Demikernel.Server.Tests;

/// <summary>
/// hash-max-listpack-*, zset-max-listpack-*, set-max-intset-entries and list-max-listpack-size (and their ziplist
/// aliases) at start and through CONFIG SET: OBJECT ENCODING follows them as in redis-server 7.0.15, never converting
/// back, and a reload re-decides each key's encoding under the current limits; compared byte for byte.
/// </summary>
public sealed class EncodingLimitsTests
{
    private static readonly string[][] Script =
    [
        ["CONFIG", "GET", "hash-max-ziplist-entries"], ["CONFIG", "GET", "list-max-ziplist-size"],
        ["CONFIG", "SET", "hash-max-listpack-entries", "-1"], ["CONFIG", "SET", "hash-max-listpack-entries", "x"],
        ["CONFIG", "SET", "hash-max-listpack-value", "9223372036854775808"], ["CONFIG", "SET", "set-max-intset-entries", "1.5"],
        ["CONFIG", "SET", "list-max-listpack-size", "2147483648"], ["CONFIG", "SET", "list-max-listpack-size", "-2147483649"],
        ["CONFIG", "SET", "list-max-ziplist-size", "x"], ["CONFIG", "SET", "zset-max-ziplist-entries", "-5"],
        ["CONFIG", "SET", "hash-max-listpack-entries", "2", "hash-max-ziplist-value", "5"],
        ["HSET", "h", "a", "1", "b", "2"], ["OBJECT", "ENCODING", "h"], ["HSET", "h", "c", "3"], ["OBJECT", "ENCODING", "h"],
        ["HSET", "h2", "a", "123456"], ["OBJECT", "ENCODING", "h2"], ["HSET", "h3", "abcdef", "1"], ["OBJECT", "ENCODING", "h3"],
        ["HSET", "h4", "a", "1"], ["HINCRBY", "h4", "a", "99999"], ["OBJECT", "ENCODING", "h4"],
        ["HSET", "h5", "a", "1"], ["HSETNX", "h5", "b", "2"], ["HSETNX", "h5", "c", "3"], ["OBJECT", "ENCODING", "h5"],
        ["CONFIG", "SET", "zset-max-listpack-entries", "0"], ["ZADD", "z", "1", "a"], ["OBJECT", "ENCODING", "z"],
        ["CONFIG", "SET", "zset-max-listpack-entries", "3", "zset-max-listpack-value", "2"],
        ["ZADD", "z2", "1", "a", "2", "b", "3", "c"], ["OBJECT", "ENCODING", "z2"], ["ZADD", "z2", "4", "d"], ["OBJECT", "ENCODING", "z2"],
        ["ZADD", "z3", "1", "abc"], ["OBJECT", "ENCODING", "z3"], ["ZINCRBY", "z4", "1", "ab"], ["OBJECT", "ENCODING", "z4"],
        ["ZADD", "src", "1", "a", "2", "b"], ["ZUNIONSTORE", "z5", "2", "src", "z2"], ["OBJECT", "ENCODING", "z5"],
        ["ZRANGESTORE", "z6", "z2", "0", "1"], ["OBJECT", "ENCODING", "z6"],
        ["CONFIG", "SET", "set-max-intset-entries", "2"], ["SADD", "s", "1", "2"], ["OBJECT", "ENCODING", "s"],
        ["SADD", "s", "3"], ["OBJECT", "ENCODING", "s"], ["SADD", "t", "5", "6", "7"], ["OBJECT", "ENCODING", "t"],
        ["SADD", "u", "1"], ["SADD", "v", "1", "2"], ["SUNIONSTORE", "w", "u", "v"], ["OBJECT", "ENCODING", "w"],
        ["CONFIG", "SET", "set-max-intset-entries", "0"], ["SADD", "x", "1"], ["OBJECT", "ENCODING", "x"],
        ["CONFIG", "SET", "list-max-ziplist-size", "1"], ["RPUSH", "l", "a", "b", "c"], ["OBJECT", "ENCODING", "l"], ["LRANGE", "l", "0", "-1"],
        // raised again: nothing converts back, until a reload decides anew
        ["CONFIG", "SET", "hash-max-listpack-entries", "512", "hash-max-listpack-value", "64", "zset-max-listpack-entries", "128",
            "zset-max-listpack-value", "64", "set-max-intset-entries", "512", "list-max-listpack-size", "-2"],
        ["OBJECT", "ENCODING", "h"], ["OBJECT", "ENCODING", "z2"], ["OBJECT", "ENCODING", "s"], ["HSET", "h", "d", "4"], ["OBJECT", "ENCODING", "h"],
        ["DEBUG", "RELOAD"],
        ["OBJECT", "ENCODING", "h"], ["OBJECT", "ENCODING", "h2"], ["OBJECT", "ENCODING", "z"], ["OBJECT", "ENCODING", "z2"],
        ["OBJECT", "ENCODING", "s"], ["OBJECT", "ENCODING", "t"], ["OBJECT", "ENCODING", "x"], ["LRANGE", "l", "0", "-1"],
        ["HLEN", "h5"], ["HGET", "h5", "c"], ["ZRANGE", "z2", "0", "-1", "WITHSCORES"], ["SMEMBERS", "s"],
        ["CONFIG", "GET", "hash-max-listpack-entries"], ["CONFIG", "GET", "zset-max-ziplist-value"], ["CONFIG", "GET", "list-max-listpack-size"],
    ];

    [Fact]
    public void EncodingsFollowTheLimitsAsRedisServer() => ReferenceRedis.AssertSameRepliesWithDebug(Script);

    /// <summary>Set at start (redis.conf), under the old ziplist name too.</summary>
    [Fact]
    public void StartUpValuesApply()
    {
        using var h = new CommandHarness(); // installs its limits for this thread
        Assert.Equal(DirectiveResult.Applied, h.Server.Config.LoadDirective("hash-max-ziplist-entries", ["1"], out _));
        h.Run("HSET", "h", "a", "1", "b", "2");
        Assert.Equal("$9\r\nhashtable\r\n", h.Run("OBJECT", "ENCODING", "h"));
    }
}
