using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>SORT and SORT_RO through the real dispatcher; scripts compared byte for byte with redis-server 7.0.</summary>
public sealed class SortCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void NumericAlphaLimitStore()
    {
        Run("RPUSH", "l", "3", "1", "2", "10");
        Assert.Equal(BulkArray("1", "2", "3", "10"), Run("SORT", "l"));
        Assert.Equal(BulkArray("10", "3", "2", "1"), Run("SORT", "l", "DESC"));
        Assert.Equal(BulkArray("1", "10", "2", "3"), Run("SORT", "l", "ALPHA"));
        Assert.Equal(BulkArray("2", "3"), Run("SORT", "l", "LIMIT", "1", "2"));
        Assert.Equal("*0\r\n", Run("SORT", "l", "LIMIT", "10", "2"));
        Assert.Equal(Int(4), Run("SORT", "l", "DESC", "STORE", "dst"));
        Assert.Equal(BulkArray("10", "3", "2", "1"), Run("LRANGE", "dst", "0", "-1"));
        Assert.Equal(Int(0), Run("SORT", "missing", "STORE", "dst"));
        Assert.Equal(Int(0), Run("EXISTS", "dst"));
        Assert.Equal("*0\r\n", Run("SORT", "missing"));
        Run("RPUSH", "words", "b", "a");
        Assert.Equal(Err("ERR One or more scores can't be converted into double"), Run("SORT", "words"));
        // strtod's ERANGE (not checked in the differential script: redis-server 7.0 keeps a stale errno afterwards)
        Run("RPUSH", "big", "1", "1e400");
        Assert.Equal(Err("ERR One or more scores can't be converted into double"), Run("SORT", "big"));
        Assert.Equal(Err("ERR syntax error"), Run("SORT_RO", "l", "STORE", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("SORT", "l", "LIMIT", "1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SORT", "l", "LIMIT", "a", "1"));
        Run("SET", "s", "x");
        Assert.Equal(Err("WRONGTYPE Operation against a key holding the wrong kind of value"), Run("SORT", "s"));
    }

    [Fact]
    public void ByAndGetPatterns()
    {
        Run("RPUSH", "ids", "1", "2", "3");
        Run("MSET", "w_1", "30", "w_2", "10", "w_3", "20", "name_1", "one", "name_2", "two");
        Run("HSET", "obj_1", "age", "5");
        Run("HSET", "obj_3", "age", "1");
        Assert.Equal(BulkArray("2", "3", "1"), Run("SORT", "ids", "BY", "w_*"));
        Assert.Equal(BulkArray("2", "3", "1"), Run("SORT", "ids", "BY", "obj_*->age"));
        Assert.Equal(BulkArray("1", "2", "3"), Run("SORT", "ids", "BY", "nosort"));
        Assert.Equal(BulkArray("3", "2", "1"), Run("SORT", "ids", "BY", "nosort", "DESC"));
        Assert.Equal(Array(Bulk("1"), Bulk("one"), Bulk("5"), Bulk("2"), Bulk("two"), Nil, Bulk("3"), Nil, Bulk("1")),
            Run("SORT", "ids", "GET", "#", "GET", "name_*", "GET", "obj_*->age"));
        Assert.Equal(Int(3), Run("SORT", "ids", "GET", "name_*", "STORE", "names"));
        Assert.Equal(Array(Bulk("one"), Bulk("two"), "$0\r\n\r\n"), Run("LRANGE", "names", "0", "-1"));
    }

    [Fact]
    public void RepliesMatchRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        string[][] script =
        [
            ["RPUSH", "l", "5", "-1", "3.5", "1e2", "0", "  7", "", "0x10", "10"], ["SORT", "l"], ["SORT", "l", "DESC"], ["SORT", "l", "ALPHA"],
            ["SORT", "l", "ALPHA", "DESC", "LIMIT", "2", "3"], ["SORT", "l", "LIMIT", "-5", "3"], ["SORT", "l", "LIMIT", "2", "-1"],
            ["SORT", "l", "LIMIT", "9", "1"], ["SORT", "l", "LIMIT", "8", "100"], ["SORT", "l", "LIMIT", "0", "0"],
            ["RPUSH", "m", "b", "a", "c", "a"], ["SORT", "m"], ["SORT", "m", "ALPHA"], ["SORT_RO", "m", "ALPHA", "DESC"],
            ["RPUSH", "n", "1", "nan"], ["SORT", "n"], ["RPUSH", "p", "inf", "-inf", "1"], ["SORT", "p"],
            ["MSET", "w_a", "3", "w_b", "1", "w_c", "2", "name_a", "Alice", "name_c", "Carol"],
            ["HSET", "h_a", "f", "9", "g", "zz"], ["HSET", "h_b", "f", "8"],
            ["SORT", "m", "BY", "w_*"], ["SORT", "m", "BY", "w_*", "DESC"], ["SORT", "m", "BY", "w_*", "LIMIT", "1", "2"],
            ["SORT", "m", "BY", "h_*->f"], ["SORT", "m", "BY", "h_*->g", "ALPHA"], ["SORT", "m", "BY", "name_*", "ALPHA"],
            ["SORT", "m", "BY", "name_*"], ["SORT", "m", "BY", "nosort"], ["SORT", "m", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
            ["SORT", "m", "BY", "nosort", "LIMIT", "1", "2"], ["SORT", "m", "BY", "w_*->", "ALPHA"],
            ["SORT", "m", "ALPHA", "GET", "#", "GET", "name_*", "GET", "h_*->f", "GET", "nostar", "GET", "w_*"],
            ["SORT", "m", "ALPHA", "GET", "name_*", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"], ["TYPE", "dst"],
            ["SORT", "m", "BY", "w_*", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"], ["SORT", "nokey", "STORE", "dst"], ["EXISTS", "dst"],
            ["SORT", "m", "LIMIT", "1"], ["SORT", "m", "LIMIT", "x", "1"], ["SORT", "m", "FOO"], ["SORT", "m", "GET"], ["SORT_RO", "m", "STORE", "x"],
            ["SET", "str", "v"], ["SORT", "str"], ["HSET", "hh", "a", "1"], ["SORT", "hh"], ["SORT"],
            ["SORT", "m", "ALPHA", "STORE"], ["SORT", "m", "STORE", "dst", "ALPHA"], ["LRANGE", "dst", "0", "-1"],
            ["SADD", "set", "5", "3", "9", "1"], ["SORT", "set"], ["SORT", "set", "DESC", "LIMIT", "1", "2"], ["SORT", "set", "BY", "nosort"],
            ["SADD", "aset", "b", "c", "a"], ["SORT", "aset", "ALPHA"], ["SORT", "aset", "BY", "nosort", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
            ["SORT", "aset", "BY", "w_*", "GET", "#", "GET", "name_*"], ["SORT", "aset"],
            ["ZADD", "zs", "3", "a", "1", "b", "2", "c"], ["SORT", "zs", "ALPHA"], ["SORT", "zs", "BY", "nosort"], ["SORT", "zs", "BY", "nosort", "DESC"],
            ["SORT", "zs", "BY", "nosort", "DESC", "LIMIT", "1", "1"], ["SORT", "zs", "BY", "w_*", "GET", "name_*"], ["SORT", "zs"],
            ["ZADD", "zn", "1", "10", "2", "9"], ["SORT", "zn"], ["SORT", "zn", "BY", "nosort", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
        ];
        var mismatches = redis.Compare(_h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
