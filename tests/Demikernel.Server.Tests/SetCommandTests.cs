using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Demikernel.Resp;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>Set commands through the real dispatcher; expected replies checked against redis-server 7.0.</summary>
public sealed class SetCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    private const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    [Fact]
    public void AddRemoveMembersCard()
    {
        Assert.Equal(Int(3), Run("SADD", "s", "3", "1", "2"));
        Assert.Equal(Int(0), Run("SADD", "s", "1"));
        Assert.Equal(Bulk("intset"), Run("OBJECT", "ENCODING", "s"));
        Assert.Equal(BulkArray("1", "2", "3"), Run("SMEMBERS", "s"));
        Assert.Equal(Int(1), Run("SISMEMBER", "s", "2"));
        Assert.Equal(Int(0), Run("SISMEMBER", "s", "02"));
        Assert.Equal(Array(Int(1), Int(0)), Run("SMISMEMBER", "s", "1", "x"));
        Assert.Equal(Int(3), Run("SCARD", "s"));
        Assert.Equal(Int(1), Run("SADD", "s", "a"));
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "s"));
        Assert.Equal(Int(2), Run("SREM", "s", "a", "1", "zz"));
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "s")); // never converts back
        Assert.Equal(Int(2), Run("SREM", "s", "2", "3"));
        Assert.Equal(Int(0), Run("EXISTS", "s"));
        Assert.Equal(Int(0), Run("SCARD", "s"));
        Assert.Equal("*0\r\n", Run("SMEMBERS", "s"));
    }

    [Fact]
    public void IntsetConvertsAboveLimit()
    {
        var args = new List<string> { "SADD", "big" };
        for (int i = 0; i < 512; i++) args.Add(i.ToString());
        Assert.Equal(Int(512), Run([.. args]));
        Assert.Equal(Bulk("intset"), Run("OBJECT", "ENCODING", "big"));
        Assert.Equal(Int(1), Run("SADD", "big", "512"));
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "big"));
        Assert.Equal(Int(1), Run("SISMEMBER", "big", "100"));
        Assert.Equal(Int(513), Run("SCARD", "big"));
    }

    [Fact]
    public void Resp3SetReplies()
    {
        _h.Protocol = RespVersion.Resp3;
        Run("SADD", "s", "2", "1");
        Assert.Equal("~2\r\n$1\r\n1\r\n$1\r\n2\r\n", Run("SMEMBERS", "s"));
        Assert.Equal("~2\r\n$1\r\n1\r\n$1\r\n2\r\n", Run("SUNION", "s", "none"));
        Assert.Equal("~0\r\n", Run("SINTER", "s", "none"));
        Assert.Equal("~0\r\n", Run("SPOP", "none", "3"));
        Assert.Equal("_\r\n", Run("SPOP", "none"));
        Assert.Equal("*0\r\n", Run("SRANDMEMBER", "none", "3"));
    }

    [Fact]
    public void PopAndRandom()
    {
        Run("SADD", "s", "a", "b", "c", "d");
        Assert.Equal(Err("ERR value is out of range, must be positive"), Run("SPOP", "s", "-1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SPOP", "s", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("SPOP", "s", "1", "2"));
        Assert.Equal("*0\r\n", Run("SPOP", "s", "0"));
        string one = Run("SPOP", "s");
        Assert.Matches(@"^\$1\r\n[abcd]\r\n$", one);
        Assert.Equal(Int(3), Run("SCARD", "s"));
        Assert.StartsWith("*2\r\n", Run("SPOP", "s", "2"));
        Assert.Equal(Int(1), Run("SCARD", "s"));
        Assert.StartsWith("*1\r\n", Run("SPOP", "s", "5"));
        Assert.Equal(Int(0), Run("EXISTS", "s"));

        Run("SADD", "r", "1", "2", "3");
        Assert.Equal(BulkArray("1", "2", "3"), Run("SRANDMEMBER", "r", "10"));
        var two = Run("SRANDMEMBER", "r", "2");
        Assert.StartsWith("*2\r\n", two);
        var parts = two.Split("\r\n");
        Assert.NotEqual(parts[2], parts[4]);
        Assert.StartsWith("*7\r\n", Run("SRANDMEMBER", "r", "-7"));
        Assert.Equal("*0\r\n", Run("SRANDMEMBER", "r", "0"));
        Assert.Matches(@"^\$1\r\n[123]\r\n$", Run("SRANDMEMBER", "r"));
        Assert.Equal(Nil, Run("SRANDMEMBER", "none"));
        Assert.Equal(Int(3), Run("SCARD", "r"));
    }

    [Fact]
    public void MoveAndWrongType()
    {
        Run("SADD", "a", "x", "y");
        Run("SET", "str", "v");
        Assert.Equal(Int(0), Run("SMOVE", "none", "str", "x"));
        Assert.Equal(WrongType, Run("SMOVE", "a", "str", "x"));
        Assert.Equal(Int(1), Run("SMOVE", "a", "a", "x"));
        Assert.Equal(Int(1), Run("SMOVE", "a", "b", "x"));
        Assert.Equal(Int(0), Run("SMOVE", "a", "b", "x"));
        Assert.Equal(Int(1), Run("SMOVE", "a", "b", "y"));
        Assert.Equal(Int(0), Run("EXISTS", "a"));
        Assert.Equal(Int(2), Run("SCARD", "b"));
        Assert.Equal(WrongType, Run("SADD", "str", "x"));
        Assert.Equal(WrongType, Run("SMEMBERS", "str"));
        Assert.Equal(WrongType, Run("SINTER", "none", "str"));
        Assert.Equal(WrongType, Run("SUNIONSTORE", "d", "b", "str"));
        Assert.Equal(WrongType, Run("SSCAN", "str", "0"));
    }

    [Fact]
    public void AlgebraAndStore()
    {
        Run("SADD", "a", "1", "2", "3", "4");
        Run("SADD", "b", "3", "4", "5");
        Run("SADD", "c", "4", "9");
        Assert.Equal(BulkArray("4"), Run("SINTER", "a", "b", "c"));
        Assert.Equal(BulkArray("1", "2", "3", "4", "5", "9"), Run("SUNION", "a", "b", "c"));
        Assert.Equal(BulkArray("1", "2"), Run("SDIFF", "a", "b", "c"));
        Assert.Equal("*0\r\n", Run("SDIFF", "a", "a"));
        Assert.Equal(Int(2), Run("SINTERSTORE", "d", "a", "b"));
        Assert.Equal(BulkArray("3", "4"), Run("SMEMBERS", "d"));
        Assert.Equal(Int(0), Run("SINTERSTORE", "d", "a", "none"));
        Assert.Equal(Int(0), Run("EXISTS", "d"));
        Assert.Equal(Int(6), Run("SUNIONSTORE", "d", "a", "b", "c"));
        Assert.Equal(Int(2), Run("SDIFFSTORE", "d", "a", "b"));
        Assert.Equal(BulkArray("1", "2"), Run("SMEMBERS", "d"));
        Assert.Equal(Int(2), Run("SINTERCARD", "2", "a", "b"));
        Assert.Equal(Int(1), Run("SINTERCARD", "2", "a", "b", "LIMIT", "1"));
        Assert.Equal(Err("ERR numkeys should be greater than 0"), Run("SINTERCARD", "0", "a"));
        Assert.Equal(Err("ERR Number of keys can't be greater than number of args"), Run("SINTERCARD", "3", "a"));
        Assert.Equal(Err("ERR LIMIT can't be negative"), Run("SINTERCARD", "1", "a", "LIMIT", "-1"));
        Assert.Equal(Err("ERR syntax error"), Run("SINTERCARD", "1", "a", "BAD"));
    }

    [Fact]
    public void Scan()
    {
        Run("SADD", "s", "1", "2", "3");
        Assert.Equal(Array(Bulk("0"), BulkArray("1", "2", "3")), Run("SSCAN", "s", "0"));
        Assert.Equal(Array(Bulk("0"), BulkArray("2")), Run("SSCAN", "s", "0", "MATCH", "2"));
        Assert.Equal(Err("ERR invalid cursor"), Run("SSCAN", "s", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("SSCAN", "s", "0", "COUNT", "0"));
        Assert.Equal(Array(Bulk("0"), "*0\r\n"), Run("SSCAN", "none", "0"));

        var args = new List<string> { "SADD", "h" };
        for (int i = 0; i < 100; i++) args.Add("m" + i);
        Run([.. args]);
        var seen = new HashSet<string>();
        string cursor = "0";
        do
        {
            var parts = Run("SSCAN", "h", cursor, "COUNT", "7").Split("\r\n");
            cursor = parts[2];
            for (int i = 5; i < parts.Length; i += 2) if (parts[i].Length > 0) seen.Add(parts[i]);
        }
        while (cursor != "0");
        Assert.Equal(100, seen.Count);
    }

    private static readonly string[][] DiffScript =
    [
        ["SADD", "s", "3", "1", "2"], ["SADD", "s", "2"], ["SMEMBERS", "s"], ["SISMEMBER", "s", "1"], ["SMISMEMBER", "s", "1", "9"],
        ["OBJECT", "ENCODING", "s"], ["SADD", "t", "2", "3", "4"], ["SINTER", "s", "t"], ["SUNION", "s", "t"], ["SDIFF", "s", "t"],
        ["SINTERSTORE", "d", "s", "t"], ["SMEMBERS", "d"], ["SUNIONSTORE", "d", "s", "t", "nope"], ["SDIFFSTORE", "d", "t", "s"],
        ["SMEMBERS", "d"], ["SINTERCARD", "2", "s", "t"], ["SINTERCARD", "2", "s", "t", "LIMIT", "0"], ["SINTERCARD", "x", "s"],
        ["SPOP", "nope"], ["SPOP", "nope", "2"], ["SPOP", "s", "-2"], ["SRANDMEMBER", "nope"], ["SRANDMEMBER", "s", "9"],
        ["SRANDMEMBER", "s", "0"], ["SMOVE", "s", "t", "1"], ["SMEMBERS", "t"], ["SREM", "s", "2", "3"], ["EXISTS", "s"],
        ["SSCAN", "t", "0"], ["SSCAN", "t", "0", "MATCH", "*1*", "COUNT", "5"], ["SSCAN", "t", "0", "TYPE", "set"], ["SSCAN", "t", "-"],
        ["SET", "str", "x"], ["SADD", "str", "a"], ["SCARD", "str"], ["SINTER", "t", "str"], ["SADD", "only"], ["SCARD", "nope"],
        ["SADD", "h", "a"], ["OBJECT", "ENCODING", "h"], ["SMEMBERS", "h"], ["SPOP", "h", "0"], ["SPOP", "h", "5"], ["EXISTS", "h"],
    ];

    [Fact]
    public void RepliesMatchRedisServer()
    {
        var mismatches = RedisDiff.Compare(DiffScript);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}

/// <summary>Runs a command script against a private redis-server (when installed) and through the harness, in
/// RESP2 and RESP3, and returns the differences.</summary>
internal static class RedisDiff
{
    public static List<string> Compare(string[][] script)
    {
        var mismatches = new List<string>();
        using var redis = ReferenceRedis.TryStart();
        if (redis is null) return mismatches; // redis-server is not installed (tests/run.sh installs it)
        foreach (bool resp3 in new[] { false, true })
        {
            using var h = new CommandHarness();
            redis.Run("FLUSHALL");
            redis.Run("HELLO", resp3 ? "3" : "2");
            h.Protocol = resp3 ? RespVersion.Resp3 : RespVersion.Resp2;
            foreach (var difference in redis.Compare(h, script)) mismatches.Add($"[{(resp3 ? "RESP3" : "RESP2")}] {difference}");
        }
        return mismatches;
    }
}
