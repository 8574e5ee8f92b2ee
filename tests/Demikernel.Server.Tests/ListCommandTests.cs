using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>List commands through the real dispatcher; expected replies checked against redis-server 7.0.15.</summary>
public sealed class ListCommandTests : IDisposable
{
    private const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void PushRangeAndPop()
    {
        Assert.Equal(Int(3), Run("RPUSH", "l", "a", "b", "c"));
        Assert.Equal(Int(5), Run("LPUSH", "l", "x", "y"));
        Assert.Equal(BulkArray("y", "x", "a", "b", "c"), Run("LRANGE", "l", "0", "-1"));
        Assert.Equal(Int(5), Run("LLEN", "l"));
        Assert.Equal(Bulk("y"), Run("LPOP", "l"));
        Assert.Equal(Bulk("c"), Run("RPOP", "l"));
        Assert.Equal("+list\r\n", Run("TYPE", "l"));
        Assert.Equal(BulkArray("x", "a"), Run("LPOP", "l", "2"));
        Assert.Equal(BulkArray("b"), Run("RPOP", "l", "5"));
        Assert.Equal(Int(0), Run("EXISTS", "l")); // emptied lists are deleted
        Assert.Equal(Int(0), Run("LLEN", "l"));
        Assert.Equal(Int(0), Run("LPUSHX", "l", "a"));
        Assert.Equal(Int(0), Run("RPUSHX", "l", "a"));
        Assert.Equal(Int(0), Run("EXISTS", "l"));
        Run("RPUSH", "l", "m");
        Assert.Equal(Int(3), Run("LPUSHX", "l", "b", "a"));
        Assert.Equal(Int(4), Run("RPUSHX", "l", "z"));
        Assert.Equal(BulkArray("a", "b", "m", "z"), Run("LRANGE", "l", "0", "-1"));
        Assert.Equal(Err("ERR wrong number of arguments for 'lpush' command"), Run("LPUSH", "l"));
        Assert.Equal(Err("ERR wrong number of arguments for 'lpop' command"), Run("LPOP", "l", "1", "2"));
    }

    [Fact]
    public void PopCountNullRules()
    {
        Run("RPUSH", "l", "a", "b");
        Assert.Equal("*0\r\n", Run("LPOP", "l", "0"));
        Assert.Equal(Int(2), Run("LLEN", "l"));
        Assert.Equal(Nil, Run("LPOP", "nokey"));
        Assert.Equal(NilArray, Run("LPOP", "nokey", "0"));
        Assert.Equal(NilArray, Run("RPOP", "nokey", "3"));
        Assert.Equal(Err("ERR value is out of range, must be positive"), Run("LPOP", "l", "-1"));
        Assert.Equal(Err("ERR value is out of range, must be positive"), Run("LPOP", "l", "abc"));
        _h.Protocol = RespVersion.Resp3;
        Assert.Equal("_\r\n", Run("LPOP", "nokey"));
        Assert.Equal("_\r\n", Run("LPOP", "nokey", "2"));
        Assert.Equal("*0\r\n", Run("RPOP", "l", "0"));
        Assert.Equal(BulkArray("b", "a"), Run("RPOP", "l", "2"));
    }

    [Fact]
    public void IndexSetInsert()
    {
        Run("RPUSH", "l", "a", "b", "c");
        Assert.Equal(Bulk("a"), Run("LINDEX", "l", "0"));
        Assert.Equal(Bulk("c"), Run("LINDEX", "l", "-1"));
        Assert.Equal(Nil, Run("LINDEX", "l", "3"));
        Assert.Equal(Nil, Run("LINDEX", "l", "-4"));
        Assert.Equal(Nil, Run("LINDEX", "nokey", "abc")); // the key is looked up before the index is parsed
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("LINDEX", "l", "abc"));
        Assert.Equal(Ok, Run("LSET", "l", "1", "B"));
        Assert.Equal(Ok, Run("LSET", "l", "-1", "longer value"));
        Assert.Equal(Err("ERR index out of range"), Run("LSET", "l", "3", "x"));
        Assert.Equal(Err("ERR no such key"), Run("LSET", "nokey", "abc", "x"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("LSET", "l", "abc", "x"));
        Assert.Equal(Int(4), Run("LINSERT", "l", "BEFORE", "a", "0"));
        Assert.Equal(Int(5), Run("linsert", "l", "after", "B", "b2"));
        Assert.Equal(Int(6), Run("LINSERT", "l", "AFTER", "longer value", "end"));
        Assert.Equal(Int(-1), Run("LINSERT", "l", "BEFORE", "zz", "x"));
        Assert.Equal(Int(0), Run("LINSERT", "nokey", "BEFORE", "a", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("LINSERT", "nokey", "MIDDLE", "a", "x"));
        Assert.Equal(BulkArray("0", "a", "B", "b2", "longer value", "end"), Run("LRANGE", "l", "0", "-1"));
    }

    [Fact]
    public void RangeTrimRemove()
    {
        Run("RPUSH", "l", "0", "1", "2", "3", "4", "5");
        Assert.Equal(BulkArray("1", "2"), Run("LRANGE", "l", "1", "2"));
        Assert.Equal(BulkArray("4", "5"), Run("LRANGE", "l", "-2", "100"));
        Assert.Equal("*0\r\n", Run("LRANGE", "l", "4", "2"));
        Assert.Equal("*0\r\n", Run("LRANGE", "l", "6", "10"));
        Assert.Equal(BulkArray("0"), Run("LRANGE", "l", "-100", "0"));
        Assert.Equal("*0\r\n", Run("LRANGE", "nokey", "0", "-1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("LRANGE", "nokey", "a", "b"));
        Assert.Equal(Ok, Run("LTRIM", "l", "1", "-2"));
        Assert.Equal(BulkArray("1", "2", "3", "4"), Run("LRANGE", "l", "0", "-1"));
        Assert.Equal(Ok, Run("LTRIM", "l", "0", "100"));
        Assert.Equal(Int(4), Run("LLEN", "l"));
        Assert.Equal(Ok, Run("LTRIM", "l", "3", "1"));
        Assert.Equal(Int(0), Run("EXISTS", "l"));
        Assert.Equal(Ok, Run("LTRIM", "nokey", "0", "1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("LTRIM", "l", "0", "abc"));

        Run("RPUSH", "r", "a", "b", "a", "c", "a", "b", "a");
        Assert.Equal(Int(2), Run("LREM", "r", "2", "a"));
        Assert.Equal(BulkArray("b", "c", "a", "b", "a"), Run("LRANGE", "r", "0", "-1"));
        Assert.Equal(Int(1), Run("LREM", "r", "-1", "b"));
        Assert.Equal(BulkArray("b", "c", "a", "a"), Run("LRANGE", "r", "0", "-1"));
        Assert.Equal(Int(2), Run("LREM", "r", "0", "a"));
        Assert.Equal(Int(0), Run("LREM", "r", "0", "zz"));
        Assert.Equal(Int(1), Run("LREM", "r", "-5", "c"));
        Assert.Equal(Int(1), Run("LREM", "r", "0", "b"));
        Assert.Equal(Int(0), Run("EXISTS", "r"));
        Assert.Equal(Int(0), Run("LREM", "nokey", "0", "a"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("LREM", "nokey", "x", "a"));
    }

    [Fact]
    public void Pos()
    {
        Run("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a");
        Assert.Equal(Int(0), Run("LPOS", "l", "a"));
        Assert.Equal(Int(3), Run("LPOS", "l", "a", "RANK", "2"));
        Assert.Equal(Int(6), Run("LPOS", "l", "a", "RANK", "-1"));
        Assert.Equal(Int(3), Run("LPOS", "l", "a", "RANK", "-2"));
        Assert.Equal(Int(6), Run("LPOS", "l", "a", "RANK", "-9223372036854775808"));
        Assert.Equal(Nil, Run("LPOS", "l", "a", "RANK", "4"));
        Assert.Equal(Array(Int(0), Int(3), Int(6)), Run("LPOS", "l", "a", "COUNT", "0"));
        Assert.Equal(Array(Int(6), Int(3)), Run("LPOS", "l", "a", "RANK", "-1", "COUNT", "2"));
        Assert.Equal(Array(Int(0)), Run("LPOS", "l", "a", "COUNT", "0", "MAXLEN", "3"));
        Assert.Equal(Nil, Run("LPOS", "l", "c", "MAXLEN", "2"));
        Assert.Equal(Nil, Run("LPOS", "l", "z"));
        Assert.Equal("*0\r\n", Run("LPOS", "l", "z", "COUNT", "0"));
        Assert.Equal(Nil, Run("LPOS", "nokey", "z"));
        Assert.Equal("*0\r\n", Run("LPOS", "nokey", "z", "COUNT", "1"));
        Assert.Equal(Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
            Run("LPOS", "nokey", "a", "RANK", "0"));
        Assert.Equal(Err("ERR COUNT can't be negative"), Run("LPOS", "l", "a", "COUNT", "-1"));
        Assert.Equal(Err("ERR COUNT can't be negative"), Run("LPOS", "l", "a", "COUNT", "abc"));
        Assert.Equal(Err("ERR MAXLEN can't be negative"), Run("LPOS", "l", "a", "MAXLEN", "-1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("LPOS", "l", "a", "RANK", "abc"));
        Assert.Equal(Err("ERR syntax error"), Run("LPOS", "l", "a", "RANK"));
        Assert.Equal(Err("ERR syntax error"), Run("LPOS", "l", "a", "FOO", "1"));
    }

    [Fact]
    public void MoveAndRotate()
    {
        Run("RPUSH", "src", "a", "b", "c");
        Assert.Equal(Bulk("c"), Run("RPOPLPUSH", "src", "dst"));
        Assert.Equal(Bulk("a"), Run("LMOVE", "src", "dst", "LEFT", "RIGHT"));
        Assert.Equal(BulkArray("c", "a"), Run("LRANGE", "dst", "0", "-1"));
        Assert.Equal(Bulk("c"), Run("LMOVE", "dst", "dst", "LEFT", "RIGHT")); // rotation
        Assert.Equal(BulkArray("a", "c"), Run("LRANGE", "dst", "0", "-1"));
        Assert.Equal(Bulk("b"), Run("LMOVE", "src", "src", "RIGHT", "LEFT")); // single element onto itself
        Assert.Equal(BulkArray("b"), Run("LRANGE", "src", "0", "-1"));
        Assert.Equal(Bulk("b"), Run("LMOVE", "src", "dst", "right", "left"));
        Assert.Equal(Int(0), Run("EXISTS", "src"));
        Assert.Equal(Nil, Run("LMOVE", "src", "dst", "LEFT", "LEFT"));
        Assert.Equal(Nil, Run("RPOPLPUSH", "src", "dst"));
        Assert.Equal(Err("ERR syntax error"), Run("LMOVE", "nokey", "dst", "UP", "LEFT"));
        Run("SET", "s", "v");
        Assert.Equal(WrongType, Run("LMOVE", "dst", "s", "LEFT", "LEFT"));
        Assert.Equal(Int(3), Run("LLEN", "dst")); // nothing was popped
        Assert.Equal(WrongType, Run("LMOVE", "s", "dst", "LEFT", "LEFT"));
        Assert.Equal(WrongType, Run("RPOPLPUSH", "s", "nokey"));
    }

    [Fact]
    public void MPop()
    {
        Run("RPUSH", "b", "1", "2", "3");
        Assert.Equal(NilArray, Run("LMPOP", "1", "a", "LEFT"));
        Assert.Equal(Array(Bulk("b"), BulkArray("1")), Run("LMPOP", "2", "a", "b", "LEFT"));
        Assert.Equal(Array(Bulk("b"), BulkArray("3", "2")), Run("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"));
        Assert.Equal(Int(0), Run("EXISTS", "b"));
        Assert.Equal(Err("ERR numkeys should be greater than 0"), Run("LMPOP", "0", "a", "LEFT"));
        Assert.Equal(Err("ERR numkeys should be greater than 0"), Run("LMPOP", "abc", "a", "LEFT"));
        Assert.Equal(Err("ERR syntax error"), Run("LMPOP", "2", "a", "LEFT"));
        Assert.Equal(Err("ERR syntax error"), Run("LMPOP", "1", "a", "MIDDLE"));
        Assert.Equal(Err("ERR syntax error"), Run("LMPOP", "1", "a", "LEFT", "FOO"));
        Assert.Equal(Err("ERR syntax error"), Run("LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"));
        Assert.Equal(Err("ERR count should be greater than 0"), Run("LMPOP", "1", "a", "LEFT", "COUNT", "0"));
        Assert.Equal(Err("ERR wrong number of arguments for 'lmpop' command"), Run("LMPOP", "1", "a"));
        Run("SET", "s", "v");
        Assert.Equal(WrongType, Run("LMPOP", "2", "a", "s", "LEFT"));
        _h.Protocol = RespVersion.Resp3;
        Assert.Equal("_\r\n", Run("LMPOP", "1", "a", "LEFT"));
    }

    [Fact]
    public void BlockingCommandsWithoutASessionAnswerAtOnce()
    {
        // The harness has no connection, so a command that would block answers its timeout reply immediately, as a
        // blocking command inside MULTI does.
        Run("RPUSH", "l", "a", "b");
        Assert.Equal(BulkArray("l", "a"), Run("BLPOP", "nokey", "l", "0"));
        Assert.Equal(BulkArray("l", "b"), Run("BRPOP", "l", "0"));
        Assert.Equal(Int(0), Run("EXISTS", "l"));
        Assert.Equal(NilArray, Run("BLPOP", "l", "1"));
        Assert.Equal(Nil, Run("BLMOVE", "l", "d", "LEFT", "LEFT", "0"));
        Assert.Equal(Nil, Run("BRPOPLPUSH", "l", "d", "0"));
        Assert.Equal(NilArray, Run("BLMPOP", "0", "1", "l", "LEFT"));
        Run("RPUSH", "l", "x", "y", "z");
        Assert.Equal(Bulk("z"), Run("BRPOPLPUSH", "l", "d", "0"));
        Assert.Equal(Bulk("x"), Run("BLMOVE", "l", "d", "LEFT", "RIGHT", "0.5"));
        Assert.Equal(Array(Bulk("l"), BulkArray("y")), Run("BLMPOP", "0", "2", "nokey", "l", "LEFT", "COUNT", "9"));
        Assert.Equal(BulkArray("z", "x"), Run("LRANGE", "d", "0", "-1"));
        Run("SET", "s", "v");
        Assert.Equal(WrongType, Run("BLPOP", "nokey", "s", "0"));
        Assert.Equal(WrongType, Run("BLMOVE", "s", "d", "LEFT", "LEFT", "0"));
        Assert.Equal(WrongType, Run("BLMPOP", "0", "1", "s", "LEFT"));
        _h.Protocol = RespVersion.Resp3;
        Assert.Equal("_\r\n", Run("BLPOP", "l", "1"));
        Assert.Equal("_\r\n", Run("BLMOVE", "l", "d", "LEFT", "LEFT", "1"));
    }

    [Fact]
    public void TimeoutParsing()
    {
        const string notFloat = "-ERR timeout is not a float or out of range\r\n";
        const string negative = "-ERR timeout is negative\r\n";
        Assert.Equal(notFloat, Run("BLPOP", "l", "abc"));
        Assert.Equal(notFloat, Run("BLPOP", "l", "nan"));
        Assert.Equal(notFloat, Run("BLPOP", "l", " 1"));
        Assert.Equal(negative, Run("BLPOP", "l", "-1"));
        Assert.Equal(negative, Run("BLPOP", "l", "inf"));
        Assert.Equal(negative, Run("BLPOP", "l", "1e300"));
        Assert.Equal(NilArray, Run("BLPOP", "l", "0x1"));
        Assert.Equal(NilArray, Run("BLPOP", "l", "0.0001"));
        Assert.Equal(notFloat, Run("BLMOVE", "l", "d", "LEFT", "LEFT", "abc"));
        Assert.Equal(Err("ERR syntax error"), Run("BLMOVE", "l", "d", "UP", "LEFT", "abc")); // directions first
        Assert.Equal(notFloat, Run("BRPOPLPUSH", "l", "d", "x"));
        Assert.Equal(notFloat, Run("BLMPOP", "x", "1", "l", "LEFT"));
        Assert.Equal(Err("ERR numkeys should be greater than 0"), Run("BLMPOP", "0", "0", "l", "LEFT"));
        Assert.Equal(Err("ERR count should be greater than 0"), Run("BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"));
    }

    [Fact]
    public void WrongTypeEverywhere()
    {
        Run("SET", "s", "v");
        foreach (var cmd in new[]
                 {
                     new[] { "LPUSH", "s", "a" }, ["RPUSH", "s", "a"], ["LPUSHX", "s", "a"], ["RPUSHX", "s", "a"], ["LPOP", "s"],
                     ["RPOP", "s", "2"], ["LLEN", "s"], ["LRANGE", "s", "0", "1"], ["LINDEX", "s", "0"], ["LSET", "s", "0", "a"],
                     ["LINSERT", "s", "BEFORE", "a", "b"], ["LREM", "s", "0", "a"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "a"],
                 })
        {
            Assert.Equal(WrongType, Run(cmd));
        }
        Assert.Equal(Bulk("v"), Run("GET", "s"));
    }

    [Fact]
    public void EncodingAndCopy()
    {
        Run("RPUSH", "l", "a", "b");
        Assert.Equal(Bulk("quicklist"), Run("OBJECT", "ENCODING", "l")); // Redis 7.0 has no listpack lists
        Assert.Equal(Int(1), Run("COPY", "l", "l2"));
        Run("RPUSH", "l", "c");
        Assert.Equal(BulkArray("a", "b"), Run("LRANGE", "l2", "0", "-1"));
        Assert.Equal(Ok, Run("RENAME", "l2", "l3"));
        Assert.Equal(BulkArray("a", "b"), Run("LRANGE", "l3", "0", "-1"));
    }

    [Fact]
    public void InPlaceChangesNotifyWatchers()
    {
        Run("RPUSH", "l", "a", "b", "c");
        var db = _h.Db;
        foreach (var cmd in new[]
                 {
                     new[] { "LPUSH", "l", "z" }, ["RPOP", "l"], ["LSET", "l", "0", "y"], ["LINSERT", "l", "AFTER", "y", "q"],
                     ["LREM", "l", "1", "q"], ["LTRIM", "l", "0", "0"], ["RPUSHX", "l", "k"],
                 })
        {
            long before = db.Changes;
            Run(cmd);
            Assert.True(db.Changes > before, string.Join(' ', cmd));
        }
        long unchanged = db.Changes;
        Run("LRANGE", "l", "0", "-1");
        Run("LREM", "l", "0", "nothing");
        Run("LINSERT", "l", "BEFORE", "nothing", "x");
        Assert.Equal(unchanged, db.Changes);
    }

    [Fact]
    public void ReadsCountKeyspaceHitsAndMisses()
    {
        Run("RPUSH", "l", "a");
        var stats = _h.Server.Stats;
        long hits = stats.KeyspaceHits, misses = stats.KeyspaceMisses;
        Run("LRANGE", "l", "0", "-1");
        Run("LLEN", "nokey");
        Run("LPUSH", "l", "b"); // writes do not count
        Assert.Equal(hits + 1, stats.KeyspaceHits);
        Assert.Equal(misses + 1, stats.KeyspaceMisses);
    }

    [Fact]
    public void DequeMatchesAModelUnderRandomOperations()
    {
        var rng = new Random(12345);
        var list = new RedisList();
        var model = new List<byte[]>();
        for (int step = 0; step < 20000; step++)
        {
            int op = rng.Next(10);
            var item = new[] { (byte)rng.Next(8) };
            switch (op)
            {
                case 0 or 1:
                    list.PushLeft(item);
                    model.Insert(0, item);
                    break;
                case 2 or 3:
                    list.PushRight(item);
                    model.Add(item);
                    break;
                case 4 when model.Count > 0:
                    Assert.Same(model[0], list.PopLeft());
                    model.RemoveAt(0);
                    break;
                case 5 when model.Count > 0:
                    Assert.Same(model[^1], list.PopRight());
                    model.RemoveAt(model.Count - 1);
                    break;
                case 6:
                {
                    int at = rng.Next(model.Count + 1);
                    list.Insert(at, item);
                    model.Insert(at, item);
                    break;
                }
                case 7 when model.Count > 0:
                {
                    int limit = rng.Next(3);
                    bool tail = rng.Next(2) == 0;
                    int removed = list.Remove(item, limit, tail);
                    int expected = 0;
                    if (!tail)
                    {
                        for (int i = 0; i < model.Count && (limit == 0 || expected < limit);)
                        {
                            if (model[i][0] == item[0]) { model.RemoveAt(i); expected++; }
                            else i++;
                        }
                    }
                    else
                    {
                        for (int i = model.Count - 1; i >= 0 && (limit == 0 || expected < limit); i--)
                        {
                            if (model[i][0] == item[0]) { model.RemoveAt(i); expected++; }
                        }
                    }
                    Assert.Equal(expected, removed);
                    break;
                }
                case 8 when model.Count > 4 && rng.Next(20) == 0:
                {
                    int start = rng.Next(model.Count / 2);
                    int length = rng.Next(model.Count - start);
                    list.Keep(start, length);
                    model = model.GetRange(start, length);
                    break;
                }
                case 9 when model.Count > 0:
                {
                    int at = rng.Next(model.Count);
                    list[at] = item;
                    model[at] = item;
                    break;
                }
            }
            Assert.Equal(model.Count, list.Count);
        }
        for (int i = 0; i < model.Count; i++) Assert.Same(model[i], list[i]);
        Assert.Equal(model.Sum(m => (long)m.Length), list.ByteSize);
    }

    [Fact]
    public void PushAndPopAllocateOnlyTheElement()
    {
        var list = new RedisList();
        var items = Enumerable.Range(0, 64).Select(i => new byte[] { (byte)i }).ToArray();
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var item in items) list.PushLeft(item);
            while (list.Count > 0) list.PopRight();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round > 0) Assert.Equal(0, allocated); // the ring buffer is reused once grown
        }
    }

    [Fact]
    public void RepliesMatchRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        string[][] script =
        [
            ["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"], ["LPUSH", "l", "z"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "-3", "-2"],
            ["LPOS", "l", "a", "RANK", "-2", "COUNT", "0", "MAXLEN", "5"], ["LPOS", "l", "c", "COUNT", "1"], ["LPOS", "l", "q"],
            ["LINDEX", "l", "-2"], ["LSET", "l", "-1", "last"], ["LINSERT", "l", "AFTER", "c", "c2"], ["LREM", "l", "-1", "b"],
            ["LTRIM", "l", "1", "-1"], ["LRANGE", "l", "0", "-1"], ["LPOP", "l", "2"], ["RPOP", "l", "0"], ["RPOP", "l"],
            ["LMOVE", "l", "m", "LEFT", "RIGHT"], ["RPOPLPUSH", "l", "m"], ["LRANGE", "m", "0", "-1"], ["LMPOP", "3", "x", "l", "m", "RIGHT", "COUNT", "2"],
            ["LMPOP", "1", "x", "LEFT"], ["BLPOP", "l", "m", "0.01"], ["BLMPOP", "0.01", "1", "l", "LEFT", "COUNT", "3"],
            ["LLEN", "l"], ["LLEN", "m"], ["OBJECT", "ENCODING", "l"], ["LPOP", "nokey", "2"], ["LPOP", "l", "-2"], ["LPOS", "l", "a", "RANK", "0"],
            ["LINSERT", "l", "NEAR", "a", "b"], ["LSET", "nokey", "0", "a"], ["LSET", "l", "99", "a"], ["LMPOP", "0", "l", "LEFT"],
            ["BLPOP", "l", "-1"], ["BLPOP", "l", "x"], ["LPUSHX", "nokey", "a"], ["SET", "s", "v"], ["LPUSH", "s", "a"], ["BLPOP", "s", "0"],
        ];
        foreach (var resp3 in new[] { false, true })
        {
            using var h = new CommandHarness();
            h.Protocol = resp3 ? RespVersion.Resp3 : RespVersion.Resp2;
            redis.Run("FLUSHALL");
            redis.Run("HELLO", resp3 ? "3" : "2");
            foreach (var cmd in script)
            {
                string expected = Encoding.UTF8.GetString(redis.Execute(cmd.Select(Encoding.UTF8.GetBytes).ToArray())), ours = h.Run(cmd);
                Assert.True(expected == ours, $"{string.Join(' ', cmd)} (RESP{(resp3 ? 3 : 2)}): redis {expected} ours {ours}");
            }
        }
    }

    // ---------------------------------------------------------------- over TCP: parked clients

    [Fact]
    public void BlockedPopIsServedByAnotherClientsPush()
    {
        using var server = ListHashTcpServer.Start();
        using var waiter = server.Connect();
        using var pusher = server.Connect();
        waiter.Send("BLPOP", "queue", "5");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(150)); // parked
        Assert.Equal(Int(1), pusher.Call("LPUSH", "queue", "job"));
        Assert.Equal(BulkArray("queue", "job"), waiter.ReadReply());
        Assert.Equal(Int(0), pusher.Call("EXISTS", "queue"));
        Assert.Equal("+PONG\r\n", waiter.Call("PING")); // the session carries on normally
    }

    [Fact]
    public void BlockedClientsAreServedInArrivalOrder()
    {
        using var server = ListHashTcpServer.Start();
        using var first = server.Connect();
        using var second = server.Connect();
        using var pusher = server.Connect();
        first.Send("BRPOP", "q", "0");
        first.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        second.Send("BLPOP", "other", "q", "0");
        second.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Int(1), pusher.Call("RPUSH", "q", "one"));
        Assert.Equal(BulkArray("q", "one"), first.ReadReply());
        second.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Int(2), pusher.Call("RPUSH", "q", "two", "three"));
        Assert.Equal(BulkArray("q", "two"), second.ReadReply());
        Assert.Equal(BulkArray("three"), pusher.Call("LRANGE", "q", "0", "-1"));
    }

    [Fact]
    public void BlockingMoveServesAndTimesOut()
    {
        using var server = ListHashTcpServer.Start();
        using var mover = server.Connect();
        using var popper = server.Connect();
        using var pusher = server.Connect();
        // BLMOVE feeds "dst", on which a BLPOP waits: one push serves both in a chain.
        popper.Send("BLPOP", "dst", "5");
        popper.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        mover.Send("BLMOVE", "src", "dst", "RIGHT", "LEFT", "5");
        mover.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Int(1), pusher.Call("RPUSH", "src", "v"));
        Assert.Equal(Bulk("v"), mover.ReadReply());
        Assert.Equal(BulkArray("dst", "v"), popper.ReadReply());
        Assert.Equal(Int(0), pusher.Call("EXISTS", "src", "dst"));
        // Timeouts: BRPOPLPUSH answers a null bulk, BLMPOP a null array.
        var started = Stopwatch.StartNew();
        Assert.Equal(Nil, mover.Call("BRPOPLPUSH", "src", "dst", "0.2"));
        Assert.True(started.ElapsedMilliseconds >= 150, $"timed out after {started.ElapsedMilliseconds} ms");
        Assert.Equal(NilArray, popper.Call("BLMPOP", "0.1", "2", "a", "b", "LEFT"));
        mover.Call("HELLO", "3");
        Assert.Equal("_\r\n", mover.Call("BLMOVE", "src", "dst", "LEFT", "LEFT", "0.05"));
    }

    [Fact]
    public void BlockedMPopGetsUpToCount()
    {
        using var server = ListHashTcpServer.Start();
        using var waiter = server.Connect();
        using var pusher = server.Connect();
        waiter.Send("BLMPOP", "5", "2", "a", "b", "RIGHT", "COUNT", "2");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Int(3), pusher.Call("RPUSH", "b", "1", "2", "3"));
        Assert.Equal(Array(Bulk("b"), BulkArray("3", "2")), waiter.ReadReply());
        // Inside MULTI a blocking command answers at once.
        Assert.Equal(Ok, waiter.Call("MULTI"));
        Assert.Equal("+QUEUED\r\n", waiter.Call("BLPOP", "empty", "0"));
        Assert.Equal(Array(NilArray), waiter.Call("EXEC"));
    }
}

/// <summary>The server the list, hash and blocking tests connect to (blocked clients are parked sessions).</summary>
internal static class ListHashTcpServer
{
    public static ServerThread Start() => new("list-tests redis-server",
        libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" }));
}

/// <summary>A raw RESP connection whose every read is bounded by a timeout.</summary>
internal sealed class ListHashConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private ListHashConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _stream.ReadTimeout = 5000;
        _stream.WriteTimeout = 5000;
    }

    public static ListHashConnection Open(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var client = new TcpClient { NoDelay = true };
            try
            {
                client.Connect("127.0.0.1", port);
                return new ListHashConnection(client);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                Thread.Sleep(20);
            }
        }
    }

    public void Send(params string[] args) => _stream.Write(CommandHarness.EncodeRequest(args));

    /// <summary>Writes raw bytes (a pipeline of requests) in one write.</summary>
    public void SendRaw(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    public string Call(params string[] args)
    {
        Send(args);
        return ReadReply();
    }

    public byte[] CallBytes(params string[] args)
    {
        Send(args);
        return ReadReplyBytes();
    }

    public string ReadReply() => Encoding.UTF8.GetString(ReadReplyBytes());

    public byte[] ReadReplyBytes()
    {
        var reply = new MemoryStream();
        ReadValue(reply);
        return reply.ToArray();
    }

    /// <summary>Asserts that no byte arrives for <paramref name="time"/> (the client is parked).</summary>
    public void AssertNothingFor(TimeSpan time)
    {
        Thread.Sleep(time);
        Assert.Equal(0, _client.Available);
    }

    private void ReadValue(MemoryStream into)
    {
        string line = ReadLine(into);
        char kind = line[0];
        switch (kind)
        {
            case '$' or '=' or '!':
            {
                int length = int.Parse(line.AsSpan(1));
                if (length < 0) return;
                var data = new byte[length + 2];
                _stream.ReadExactly(data);
                into.Write(data);
                return;
            }
            case '*' or '~' or '>' or '%' or '|':
            {
                int count = int.Parse(line.AsSpan(1));
                if (kind is '%' or '|') count *= 2;
                if (kind == '|') ReadValue(into); // attribute precedes a value
                for (int i = 0; i < count; i++) ReadValue(into);
                return;
            }
            default:
                return; // + - : _ # , ( : the line is the value
        }
    }

    private string ReadLine(MemoryStream into)
    {
        var line = new StringBuilder();
        while (true)
        {
            int b = _stream.ReadByte();
            if (b < 0) throw new EndOfStreamException("the connection closed");
            into.WriteByte((byte)b);
            if (b == '\n' && line.Length > 0 && line[^1] == '\r') return line.ToString(0, line.Length - 1);
            line.Append((char)b);
        }
    }

    public void Dispose() => _client.Dispose();
}

