using Demikernel.Resp;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>Sorted-set commands through the real dispatcher; expected replies checked against redis-server 7.0.</summary>
public sealed class SortedSetCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void AddOptionsAndErrors()
    {
        Assert.Equal(Int(3), Run("ZADD", "z", "1", "a", "2", "b", "3", "c"));
        Assert.Equal(Int(0), Run("ZADD", "z", "NX", "5", "a"));
        Assert.Equal(Bulk("1"), Run("ZSCORE", "z", "a"));
        Assert.Equal(Int(1), Run("ZADD", "z", "XX", "CH", "5", "a", "7", "new"));
        Assert.Equal(Nil, Run("ZSCORE", "z", "new"));
        Assert.Equal(Int(0), Run("ZADD", "z", "GT", "CH", "1", "a"));
        Assert.Equal(Int(1), Run("ZADD", "z", "LT", "CH", "1", "a"));
        Assert.Equal(Bulk("3.5"), Run("ZADD", "z", "INCR", "2.5", "a"));
        Assert.Equal(Nil, Run("ZADD", "z", "GT", "INCR", "-1", "a"));
        Assert.Equal(Nil, Run("ZADD", "z", "XX", "INCR", "1", "nope"));
        Assert.Equal(Err("ERR XX and NX options at the same time are not compatible"), Run("ZADD", "z", "NX", "XX", "1", "a"));
        Assert.Equal(Err("ERR GT, LT, and/or NX options at the same time are not compatible"), Run("ZADD", "z", "GT", "LT", "1", "a"));
        Assert.Equal(Err("ERR INCR option supports a single increment-element pair"), Run("ZADD", "z", "INCR", "1", "a", "2", "b"));
        Assert.Equal(Err("ERR syntax error"), Run("ZADD", "z", "1", "a", "2"));
        Assert.Equal(Err("ERR value is not a valid float"), Run("ZADD", "z", "x", "a"));
        Assert.Equal(Err("ERR value is not a valid float"), Run("ZADD", "z", "nan", "a"));
        Assert.Equal(Int(1), Run("ZADD", "z", "-inf", "m"));
        Assert.Equal(Err("ERR resulting score is not a number (NaN)"), Run("ZINCRBY", "z", "+inf", "m"));
        Assert.Equal(Bulk("-inf"), Run("ZSCORE", "z", "m"));
        Assert.Equal(Bulk("0.10000000000000001"), Run("ZINCRBY", "z2", "0.1", "x"));
        Assert.Equal(Int(0), Run("ZADD", "none", "XX", "1", "a"));
        Assert.Equal(Int(0), Run("EXISTS", "none"));
    }

    [Fact]
    public void RanksAndRanges()
    {
        Run("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d");
        Assert.Equal(Int(2), Run("ZRANK", "z", "c"));
        Assert.Equal(Int(1), Run("ZREVRANK", "z", "c"));
        Assert.Equal(Nil, Run("ZRANK", "z", "x"));
        Assert.Equal(BulkArray("b", "c"), Run("ZRANGE", "z", "1", "2"));
        Assert.Equal(BulkArray("d", "c"), Run("ZRANGE", "z", "0", "1", "REV"));
        Assert.Equal(BulkArray("a", "1", "b", "2"), Run("ZRANGE", "z", "0", "1", "WITHSCORES"));
        Assert.Equal(BulkArray("b", "c"), Run("ZRANGE", "z", "(1", "3", "BYSCORE"));
        Assert.Equal(BulkArray("c", "b"), Run("ZRANGE", "z", "3", "(1", "BYSCORE", "REV"));
        Assert.Equal(BulkArray("c"), Run("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "1"));
        Assert.Equal(BulkArray("b", "c"), Run("ZRANGE", "z", "[b", "(d", "BYLEX"));
        Assert.Equal(BulkArray("d", "c"), Run("ZREVRANGEBYLEX", "z", "+", "[c"));
        Assert.Equal(BulkArray("d", "4"), Run("ZREVRANGEBYSCORE", "z", "+inf", "4", "WITHSCORES"));
        Assert.Equal(BulkArray("d", "c", "b", "a"), Run("ZREVRANGE", "z", "0", "-1"));
        Assert.Equal(Int(2), Run("ZCOUNT", "z", "2", "3"));
        Assert.Equal(Int(3), Run("ZLEXCOUNT", "z", "-", "(d"));
        Assert.Equal(Err("ERR min or max is not a float"), Run("ZCOUNT", "z", "x", "1"));
        Assert.Equal(Err("ERR min or max not valid string range item"), Run("ZLEXCOUNT", "z", "a", "+"));
        Assert.Equal(Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"), Run("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"));
        Assert.Equal(Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"), Run("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"));
        Assert.Equal(Err("ERR syntax error"), Run("ZRANGEBYSCORE", "z", "0", "1", "REV"));
        Assert.Equal(Int(2), Run("ZRANGESTORE", "d", "z", "0", "1"));
        Assert.Equal(BulkArray("a", "b"), Run("ZRANGE", "d", "0", "-1"));
        Assert.Equal(Int(0), Run("ZRANGESTORE", "d", "z", "5", "9"));
        Assert.Equal(Int(0), Run("EXISTS", "d"));
    }

    [Fact]
    public void Resp3Shapes()
    {
        _h.Protocol = RespVersion.Resp3;
        Run("ZADD", "z", "1", "a", "2.5", "b");
        Assert.Equal(",2.5\r\n", Run("ZSCORE", "z", "b"));
        Assert.Equal("*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n", Run("ZRANGE", "z", "0", "-1", "WITHSCORES"));
        Assert.Equal("*2\r\n$1\r\na\r\n,1\r\n", Run("ZPOPMIN", "z"));
        Assert.Equal("*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n", Run("ZPOPMIN", "z", "1"));
        Assert.Equal("_\r\n", Run("ZMPOP", "1", "z", "MIN"));
        Assert.Equal("*2\r\n_\r\n_\r\n", Run("ZMSCORE", "z", "a", "b"));
    }

    [Fact]
    public void RemoveAndEncodings()
    {
        Run("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
        Assert.Equal(Bulk("listpack"), Run("OBJECT", "ENCODING", "z"));
        Assert.Equal(Int(2), Run("ZREM", "z", "a", "b", "x"));
        Assert.Equal(Int(1), Run("ZREMRANGEBYRANK", "z", "0", "0"));
        Assert.Equal(Int(1), Run("ZREMRANGEBYSCORE", "z", "(4", "+inf"));
        Assert.Equal(Int(1), Run("ZREMRANGEBYLEX", "z", "-", "+"));
        Assert.Equal(Int(0), Run("EXISTS", "z"));
        var args = new List<string> { "ZADD", "big" };
        for (int i = 0; i < 129; i++) { args.Add(i.ToString()); args.Add("m" + i); }
        Run([.. args]);
        Assert.Equal(Bulk("skiplist"), Run("OBJECT", "ENCODING", "big"));
        Run("ZADD", "long", "1", new string('x', 65));
        Assert.Equal(Bulk("skiplist"), Run("OBJECT", "ENCODING", "long"));
    }

    [Fact]
    public void SkipListRanksStayConsistent()
    {
        var z = new RedisSortedSet();
        var rng = new Random(42);
        var model = new Dictionary<string, double>();
        for (int i = 0; i < 3000; i++)
        {
            string m = "m" + rng.Next(500);
            if (rng.Next(4) == 0)
            {
                Assert.Equal(model.Remove(m), z.Remove(System.Text.Encoding.UTF8.GetBytes(m)));
            }
            else
            {
                double s = rng.Next(100);
                model[m] = s;
                z.Set(System.Text.Encoding.UTF8.GetBytes(m), s);
            }
        }
        var sorted = model.OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(sorted.Count, z.Count);
        for (int r = 0; r < sorted.Count; r++)
        {
            var node = z.ByRank(r)!;
            Assert.Equal(sorted[r].Key, System.Text.Encoding.UTF8.GetString(node.Member));
            Assert.Equal(r, z.RankOf(node.Member));
        }
    }

    [Fact]
    public void BlockingPopInsideExecAndImmediate()
    {
        Run("ZADD", "z", "1", "a");
        Assert.Equal(Array(Bulk("z"), Bulk("a"), Bulk("1")), Run("BZPOPMIN", "none", "z", "0"));
        Assert.Equal(Int(0), Run("EXISTS", "z"));
        Assert.Equal(Err("ERR timeout is not a float or out of range"), Run("BZPOPMAX", "z", "x"));
        Assert.Equal(Err("ERR timeout is negative"), Run("BZPOPMAX", "z", "-1"));
        // without a session (harness) the timeout reply is written at once, like inside EXEC
        Assert.Equal(NilArray, Run("BZPOPMIN", "z", "1"));
        Run("ZADD", "z", "1", "a", "2", "b");
        Assert.Equal(Array(Bulk("z"), Array(Array(Bulk("b"), Bulk("2")), Array(Bulk("a"), Bulk("1")))), Run("BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"));
    }

    [Fact]
    public void AlgebraWithSetsAndWeights()
    {
        Run("ZADD", "z1", "1", "a", "2", "b");
        Run("ZADD", "z2", "10", "b", "20", "c");
        Run("SADD", "s", "a", "c");
        Assert.Equal(BulkArray("a", "2", "b", "22", "c", "41"), Run("ZUNION", "3", "z1", "z2", "s", "WEIGHTS", "1", "2", "1", "WITHSCORES"));
        Assert.Equal(BulkArray("b", "10"), Run("ZINTER", "2", "z1", "z2", "AGGREGATE", "MAX", "WITHSCORES"));
        Assert.Equal(BulkArray("b", "2"), Run("ZDIFF", "2", "z1", "s", "WITHSCORES"));
        Assert.Equal(Int(1), Run("ZINTERSTORE", "d", "2", "z2", "s"));
        Assert.Equal(BulkArray("c", "21"), Run("ZRANGE", "d", "0", "0", "WITHSCORES"));
        Assert.Equal(Int(1), Run("ZINTERCARD", "2", "z1", "z2"));
        Assert.Equal(Err("ERR at least 1 input key is needed for 'zunionstore' command"), Run("ZUNIONSTORE", "d", "0", "z1"));
        Assert.Equal(Err("ERR weight value is not a float"), Run("ZUNION", "1", "z1", "WEIGHTS", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("ZDIFF", "1", "z1", "WEIGHTS", "1"));
        Assert.Equal(Int(0), Run("ZDIFFSTORE", "d", "2", "z1", "z1"));
        Assert.Equal(Int(0), Run("EXISTS", "d"));
    }

    private static readonly string[][] DiffScript =
    [
        ["ZADD", "z", "1", "a", "2", "b", "3.5", "c", "0.1", "d"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZSCORE", "z", "d"],
        ["ZMSCORE", "z", "a", "x"], ["ZCARD", "z"], ["ZRANK", "z", "c"], ["ZREVRANK", "z", "c"], ["ZRANK", "z", "a", "WITHSCORE"],
        ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "INCR", "1", "a", "2", "b"],
        ["ZADD", "z"], ["ZADD", "z", "1"], ["ZADD", "z", "INCR", "1", "nn"], ["ZADD", "z", "XX", "INCR", "1", "qq"], ["ZADD", "z", "a", "b"],
        ["ZADD", "z", "CH", "GT", "5", "a", "0", "b", "9", "new"], ["ZINCRBY", "z", "1e400", "a"], ["ZINCRBY", "z", "-2.5", "a"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZRANGE", "z", "-3", "-2"], ["ZRANGE", "z", "5", "1"], ["ZRANGE", "z", "x", "1"],
        ["ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "1", "2", "WITHSCORES"], ["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "2"],
        ["ZRANGE", "z", "[b", "+", "BYLEX"], ["ZRANGE", "z", "+", "[b", "BYLEX", "REV", "LIMIT", "1", "1"], ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "-1"],
        ["ZRANGEBYSCORE", "z", "", ""], ["ZRANGEBYSCORE", "z", "(", "1"], ["ZRANGEBYSCORE", "z", "a", "b"], ["ZRANGEBYLEX", "z", "a", "b"],
        ["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"], ["ZREVRANGEBYSCORE", "z", "5", "0", "WITHSCORES"], ["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "z", "0", "1", "REV"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZCOUNT", "z", "(0.1", "3.5"], ["ZLEXCOUNT", "z", "[a", "(c"], ["ZLEXCOUNT", "z", "", "+"],
        ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"], ["ZRANGEBYLEX", "l", "(a", "[c"], ["ZREVRANGEBYLEX", "l", "[c", "-"],
        ["ZREMRANGEBYLEX", "l", "(a", "(d"], ["ZRANGE", "l", "0", "-1"], ["ZREMRANGEBYRANK", "l", "0", "-1"], ["EXISTS", "l"],
        ["ZREMRANGEBYSCORE", "z", "x", "1"], ["ZREMRANGEBYSCORE", "z", "(100", "200"], ["ZREM", "z", "nope", "nn"],
        ["ZUNION", "1", "z", "WITHSCORES"], ["ZINTERCARD", "0", "z"], ["ZINTERCARD", "3", "z"], ["ZINTERCARD", "1", "z", "LIMIT", "-1"],
        ["ZINTERCARD", "1", "z", "LIMIT", "2"], ["ZUNIONSTORE", "d", "0", "z"], ["ZUNIONSTORE", "d", "3", "z"], ["ZUNION", "1", "z", "AGGREGATE", "foo"],
        ["ZDIFF", "1", "z", "WEIGHTS", "1"], ["ZUNIONSTORE", "d", "1", "z", "WITHSCORES"], ["SADD", "s", "a", "zz"],
        ["ZUNIONSTORE", "d", "2", "z", "s", "WEIGHTS", "2", "3", "AGGREGATE", "MIN"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZINTER", "2", "s", "z", "WITHSCORES"], ["ZDIFF", "2", "z", "s"], ["ZDIFFSTORE", "d2", "2", "z", "s"], ["OBJECT", "ENCODING", "d2"],
        ["ZADD", "i", "inf", "x", "-inf", "y"], ["ZUNION", "2", "i", "i", "WEIGHTS", "1", "-1", "WITHSCORES"],
        ["ZUNION", "1", "i", "WEIGHTS", "0", "WITHSCORES"],
        ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "2"], ["ZPOPMIN", "z", "0"], ["ZPOPMIN", "nope", "3"], ["ZPOPMIN", "z", "-1"], ["ZPOPMIN", "z", "1", "2"],
        ["ZMPOP", "1", "z", "MIN"], ["ZMPOP", "1", "nope", "MIN"], ["ZMPOP", "0", "z", "MIN"], ["ZMPOP", "2", "z", "MIN"], ["ZMPOP", "1", "z", "foo"],
        ["ZMPOP", "1", "z", "MIN", "COUNT", "0"], ["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"], ["ZMPOP", "2", "nope", "z", "MAX", "COUNT", "10"],
        ["EXISTS", "z"], ["ZRANDMEMBER", "nope"], ["ZRANDMEMBER", "nope", "5"], ["ZRANDMEMBER", "d", "1", "WITHSCORES", "x"],
        ["ZRANDMEMBER", "d", "10", "WITHSCORES"], ["ZRANDMEMBER", "d", "0"], ["BZPOPMIN", "d", "abc"], ["BZPOPMIN", "d", "-1"],
        ["BZPOPMIN", "nope", "d", "0"], ["BZMPOP", "0", "1", "d", "MAX", "COUNT", "2"],
        ["ZSCAN", "d2", "0"], ["ZSCAN", "d2", "x"], ["ZSCAN", "nope", "0"], ["ZSCAN", "d2", "0", "COUNT", "0"], ["ZSCAN", "d2", "0", "MATCH", "c*"],
        ["SET", "str", "v"], ["ZADD", "str", "1", "a"], ["ZRANGE", "str", "0", "-1"], ["ZUNION", "2", "d2", "str"], ["ZPOPMIN", "str"],
        ["ZMPOP", "2", "nope", "str", "MIN"], ["ZSCORE", "str", "a"], ["ZRANGESTORE", "str", "nope", "0", "-1"], ["EXISTS", "str"],
    ];

    [Fact]
    public void RepliesMatchRedisServer()
    {
        var mismatches = RedisDiff.Compare(DiffScript);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
