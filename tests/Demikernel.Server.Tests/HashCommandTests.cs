using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>Hash commands through the real dispatcher; expected replies checked against redis-server 7.0.15.</summary>
public sealed class HashCommandTests : IDisposable
{
    private const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void SetGetDelete()
    {
        Assert.Equal(Int(2), Run("HSET", "h", "a", "1", "b", "2"));
        Assert.Equal(Int(1), Run("HSET", "h", "a", "one", "c", "3"));
        Assert.Equal(Bulk("one"), Run("HGET", "h", "a"));
        Assert.Equal(Nil, Run("HGET", "h", "zz"));
        Assert.Equal(Nil, Run("HGET", "nokey", "a"));
        Assert.Equal("+hash\r\n", Run("TYPE", "h"));
        Assert.Equal(Array(Bulk("one"), Nil, Bulk("3")), Run("HMGET", "h", "a", "x", "c"));
        Assert.Equal(Array(Nil, Nil), Run("HMGET", "nokey", "a", "b"));
        Assert.Equal(Int(3), Run("HLEN", "h"));
        Assert.Equal(Int(0), Run("HLEN", "nokey"));
        Assert.Equal(Int(3), Run("HSTRLEN", "h", "a"));
        Assert.Equal(Int(0), Run("HSTRLEN", "h", "zz"));
        Assert.Equal(Int(1), Run("HEXISTS", "h", "b"));
        Assert.Equal(Int(0), Run("HEXISTS", "h", "zz"));
        Assert.Equal(Int(0), Run("HEXISTS", "nokey", "a"));
        Assert.Equal(Int(0), Run("HSETNX", "h", "a", "x"));
        Assert.Equal(Int(1), Run("HSETNX", "h", "d", "4"));
        Assert.Equal(Ok, Run("HMSET", "h", "e", "5", "a", "1"));
        Assert.Equal(Bulk("1"), Run("HGET", "h", "a"));
        Assert.Equal(Int(2), Run("HDEL", "h", "a", "zz", "b", "a"));
        Assert.Equal(Int(0), Run("HDEL", "nokey", "a"));
        Assert.Equal(Int(3), Run("HDEL", "h", "c", "d", "e"));
        Assert.Equal(Int(0), Run("EXISTS", "h")); // emptied hashes are deleted
        Assert.Equal(Err("ERR wrong number of arguments for 'hset' command"), Run("HSET", "h", "a"));
        Assert.Equal(Err("ERR wrong number of arguments for 'hset' command"), Run("HSET", "h", "a", "1", "b"));
        Assert.Equal(Err("ERR wrong number of arguments for 'hmset' command"), Run("HMSET", "h", "a", "1", "b"));
        Assert.Equal(Int(0), Run("EXISTS", "h"));
    }

    [Fact]
    public void GetAllKeysValuesKeepListpackOrder()
    {
        Run("HSET", "h", "a", "1", "b", "2", "c", "3");
        Run("HDEL", "h", "a");
        Run("HSET", "h", "a", "5");
        Assert.Equal(BulkArray("b", "2", "c", "3", "a", "5"), Run("HGETALL", "h"));
        Assert.Equal(BulkArray("b", "c", "a"), Run("HKEYS", "h"));
        Assert.Equal(BulkArray("2", "3", "5"), Run("HVALS", "h"));
        Assert.Equal("*0\r\n", Run("HGETALL", "nokey"));
        _h.Protocol = RespVersion.Resp3;
        Assert.Equal("%3\r\n" + Bulk("b") + Bulk("2") + Bulk("c") + Bulk("3") + Bulk("a") + Bulk("5"), Run("HGETALL", "h"));
        Assert.Equal("%0\r\n", Run("HGETALL", "nokey"));
        Assert.Equal(BulkArray("b", "c", "a"), Run("HKEYS", "h")); // arrays, not sets, in RESP3 too
    }

    [Fact]
    public void IncrementsFormatAndErrors()
    {
        Assert.Equal(Int(5), Run("HINCRBY", "h", "n", "5"));
        Assert.Equal(Int(-2), Run("HINCRBY", "h", "n", "-7"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("HINCRBY", "h", "n", "x"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("HINCRBY", "nokey", "n", "x"));
        Assert.Equal(Int(0), Run("EXISTS", "nokey"));
        Run("HSET", "h", "s", "xyz", "big", "9223372036854775807");
        Assert.Equal(Err("ERR hash value is not an integer"), Run("HINCRBY", "h", "s", "1"));
        Assert.Equal(Err("ERR increment or decrement would overflow"), Run("HINCRBY", "h", "big", "1"));
        Assert.Equal(Bulk("9223372036854775807"), Run("HGET", "h", "big"));
        Assert.Equal(Bulk("2.5"), Run("HINCRBYFLOAT", "h", "f", "2.5"));
        Assert.Equal(Bulk("1002.5"), Run("HINCRBYFLOAT", "h", "f", "1e3"));
        Assert.Equal(Bulk("3"), Run("HINCRBYFLOAT", "h", "g", "3.0"));
        Assert.Equal(Bulk("5003"), Run("HINCRBYFLOAT", "h", "g", "5.0e3"));
        Assert.Equal(Bulk("-2"), Run("HINCRBYFLOAT", "h", "n", "0"));
        Assert.Equal(Err("ERR hash value is not an integer"), Run("HINCRBY", "h", "f", "1"));
        Assert.Equal(Err("ERR hash value is not a float"), Run("HINCRBYFLOAT", "h", "s", "1"));
        Assert.Equal(Err("ERR value is not a valid float"), Run("HINCRBYFLOAT", "h", "f", "abc"));
        Assert.Equal(Err("ERR value is NaN or Infinity"), Run("HINCRBYFLOAT", "h", "f", "inf"));
        Run("HSET", "h", "huge", "1e4932"); // long double: 2e308 is finite
        Assert.Equal(Err("ERR increment would produce NaN or Infinity"), Run("HINCRBYFLOAT", "h", "huge", "1e4932"));
        Run("SET", "str", "v");
        Assert.Equal(WrongType, Run("HINCRBY", "str", "n", "1"));
        Assert.Equal(WrongType, Run("HINCRBYFLOAT", "str", "n", "1"));
    }

    [Fact]
    public void EncodingConversions()
    {
        string longText = new('f', 65);
        for (int i = 0; i < 512; i++) Run("HSET", "small", $"f{i}", "v"); // Redis 7.0's built-in hash-max-listpack-entries
        Assert.Equal(Bulk("listpack"), Run("OBJECT", "ENCODING", "small"));
        Run("HSET", "small", "one-more", "v");
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "small"));
        for (int i = 0; i < 512; i++) Run("HDEL", "small", $"f{i}");
        Assert.Equal(Int(1), Run("HLEN", "small"));
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "small")); // never converts back

        Run("HSET", "v", "a", new string('x', 64));
        Assert.Equal(Bulk("listpack"), Run("OBJECT", "ENCODING", "v"));
        Run("HSET", "v", "a", longText);
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "v"));

        Run("HSET", "nx", "a", "1");
        Assert.Equal(Int(0), Run("HSETNX", "nx", "a", longText)); // not set, so not converted (7.0)
        Assert.Equal(Bulk("listpack"), Run("OBJECT", "ENCODING", "nx"));
        Run("HINCRBY", "nx", longText, "1"); // a long field converts, whatever command sets it
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "nx"));

        Assert.Equal(Int(1), Run("COPY", "nx", "copy"));
        Run("HSET", "nx", "a", "changed");
        Assert.Equal(Bulk("1"), Run("HGET", "copy", "a"));
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "copy"));
    }

    [Fact]
    public void RandomField()
    {
        Run("HSET", "h", "a", "1", "b", "2", "c", "3");
        for (int i = 0; i < 20; i++) Assert.Contains(Run("HRANDFIELD", "h"), new[] { Bulk("a"), Bulk("b"), Bulk("c") });
        Assert.Equal(Nil, Run("HRANDFIELD", "nokey"));
        Assert.Equal("*0\r\n", Run("HRANDFIELD", "nokey", "3"));
        Assert.Equal("*0\r\n", Run("HRANDFIELD", "h", "0"));
        Assert.Equal(BulkArray("a", "1", "b", "2", "c", "3"), Run("HRANDFIELD", "h", "5", "WITHVALUES"));
        Assert.Equal(BulkArray("a", "b", "c"), Run("HRANDFIELD", "h", "3"));
        var two = Parse(Run("HRANDFIELD", "h", "2"));
        Assert.Equal(2, two.Distinct().Count());
        var many = Parse(Run("HRANDFIELD", "h", "-10"));
        Assert.Equal(10, many.Count);
        Assert.All(many, f => Assert.Contains(f, new[] { "a", "b", "c" }));
        var pairs = Parse(Run("HRANDFIELD", "h", "-4", "WITHVALUES"));
        Assert.Equal(8, pairs.Count);
        for (int i = 0; i < 8; i += 2) Assert.Equal(pairs[i] switch { "a" => "1", "b" => "2", _ => "3" }, pairs[i + 1]);
        Assert.Equal(Err("ERR syntax error"), Run("HRANDFIELD", "h", "1", "FOO"));
        Assert.Equal(Err("ERR syntax error"), Run("HRANDFIELD", "h", "1", "WITHVALUES", "x"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("HRANDFIELD", "h", "x"));
        Assert.Equal(Err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            Run("HRANDFIELD", "h", "-9223372036854775808"));
        Assert.Equal(Err("ERR value is out of range"), Run("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"));
        _h.Protocol = RespVersion.Resp3;
        Assert.Equal("_\r\n", Run("HRANDFIELD", "nokey"));
        string nested = Run("HRANDFIELD", "h", "-2", "WITHVALUES");
        Assert.StartsWith("*2\r\n*2\r\n", nested);
        Assert.Equal(Array(Array(Bulk("a"), Bulk("1")), Array(Bulk("b"), Bulk("2")), Array(Bulk("c"), Bulk("3"))),
            Run("HRANDFIELD", "h", "3", "WITHVALUES"));
    }

    [Fact]
    public void ScanListpackAndTable()
    {
        Run("HSET", "small", "a", "1", "b", "2", "ab", "3");
        Assert.Equal(Array(Bulk("0"), BulkArray("a", "1", "b", "2", "ab", "3")), Run("HSCAN", "small", "0"));
        Assert.Equal(Array(Bulk("0"), BulkArray("a", "1", "ab", "3")), Run("HSCAN", "small", "7", "MATCH", "a*", "COUNT", "1"));
        Assert.Equal(Array(Bulk("0"), "*0\r\n"), Run("HSCAN", "nokey", "0", "FOO"));
        Assert.Equal(Err("ERR invalid cursor"), Run("HSCAN", "small", "abc"));
        Assert.Equal(Err("ERR syntax error"), Run("HSCAN", "small", "0", "COUNT", "0"));
        Assert.Equal(Err("ERR syntax error"), Run("HSCAN", "small", "0", "TYPE", "string"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("HSCAN", "small", "0", "COUNT", "x"));

        const int n = 1000;
        var pairs = new List<string> { "HSET", "big" };
        for (int i = 0; i < n; i++) pairs.AddRange([$"field:{i}", $"{i}"]);
        Run([.. pairs]);
        Assert.Equal(Bulk("hashtable"), Run("OBJECT", "ENCODING", "big"));
        var seen = new Dictionary<string, string>();
        string cursor = "0";
        int calls = 0;
        do
        {
            var reply = ParseScan(Run("HSCAN", "big", cursor, "COUNT", "50"), out cursor);
            for (int i = 0; i < reply.Count; i += 2) seen[reply[i]] = reply[i + 1];
            if (calls++ == 5)
            {
                // Changes during the scan: fields present throughout must still be returned.
                for (int i = 0; i < 300; i++) Run("HDEL", "big", $"field:{n - 1 - i}");
            }
        }
        while (cursor != "0" && calls < 10000);
        for (int i = 0; i < n - 300; i++) Assert.Equal($"{i}", seen[$"field:{i}"]);
        var matched = ParseScan(Run("HSCAN", "big", "0", "MATCH", "field:1?", "COUNT", "100000"), out cursor);
        Assert.Equal("0", cursor);
        Assert.Equal(20, matched.Count);
    }

    [Fact]
    public void WrongTypeEverywhere()
    {
        Run("RPUSH", "l", "a");
        foreach (var cmd in new[]
                 {
                     new[] { "HSET", "l", "a", "1" }, ["HSETNX", "l", "a", "1"], ["HMSET", "l", "a", "1"], ["HGET", "l", "a"],
                     ["HMGET", "l", "a"], ["HDEL", "l", "a"], ["HLEN", "l"], ["HSTRLEN", "l", "a"], ["HEXISTS", "l", "a"], ["HKEYS", "l"],
                     ["HVALS", "l"], ["HGETALL", "l"], ["HRANDFIELD", "l"], ["HRANDFIELD", "l", "2"], ["HSCAN", "l", "0"],
                 })
        {
            Assert.Equal(WrongType, Run(cmd));
        }
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("HRANDFIELD", "l", "x")); // count first
    }

    [Fact]
    public void ChangesNotifyWatchersAndReadsCountHits()
    {
        Run("HSET", "h", "a", "1");
        var db = _h.Db;
        foreach (var cmd in new[]
                 {
                     new[] { "HSET", "h", "a", "2" }, ["HSETNX", "h", "b", "1"], ["HINCRBY", "h", "a", "1"], ["HINCRBYFLOAT", "h", "a", "1"],
                     ["HMSET", "h", "c", "3"], ["HDEL", "h", "c"],
                 })
        {
            long before = db.Changes;
            Run(cmd);
            Assert.True(db.Changes > before, string.Join(' ', cmd));
        }
        long unchanged = db.Changes;
        Run("HDEL", "h", "nothing");
        Run("HSETNX", "h", "a", "x");
        Assert.Equal(unchanged, db.Changes);
        var stats = _h.Server.Stats;
        long hits = stats.KeyspaceHits, misses = stats.KeyspaceMisses;
        Run("HGET", "h", "a");
        Run("HGETALL", "nokey");
        Assert.Equal(hits + 1, stats.KeyspaceHits);
        Assert.Equal(misses + 1, stats.KeyspaceMisses);
    }

    [Fact]
    public void TableMatchesAModelUnderRandomOperations()
    {
        var rng = new Random(4242);
        foreach (bool table in new[] { false, true })
        {
            var hash = new RedisHash();
            if (table) hash.ConvertToHashTable();
            var model = new Dictionary<string, string>();
            var order = new List<string>();
            int keySpace = table ? 3000 : 100;
            for (int step = 0; step < 30000; step++)
            {
                string field = $"k{rng.Next(keySpace)}";
                if (rng.Next(3) > 0)
                {
                    string value = rng.Next(1000).ToString();
                    bool created = hash.Set(Encoding.UTF8.GetBytes(field), Encoding.UTF8.GetBytes(value));
                    Assert.Equal(!model.ContainsKey(field), created);
                    if (created) order.Add(field);
                    model[field] = value;
                }
                else
                {
                    bool removed = hash.Remove(Encoding.UTF8.GetBytes(field));
                    Assert.Equal(model.Remove(field), removed);
                    if (removed) order.Remove(field);
                }
                Assert.Equal(model.Count, hash.Count);
            }
            foreach (var (field, value) in model)
                Assert.True(hash.TryGetValue(Encoding.UTF8.GetBytes(field), out var v) && Encoding.UTF8.GetString(v) == value);
            if (!hash.IsHashTable)
            {
                // Listpack order is insertion order, deletes included.
                for (int i = 0; i < order.Count; i++) Assert.Equal(order[i], Encoding.UTF8.GetString(hash.FieldAt(i)));
            }
        }
    }

    [Fact]
    public void OverwriteAndLookupAllocateNothing()
    {
        var hash = new RedisHash();
        var field = "field"u8.ToArray();
        hash.Set(field, "value-1"u8);
        hash.Set(field, "value-2"u8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            hash.Set(field, "value-3"u8);
            Assert.True(hash.IndexOf(field) >= 0);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void RepliesMatchRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        string longText = new('v', 70);
        string[][] script =
        [
            ["HSET", "h", "a", "1", "b", "2", "c", "3"], ["HSET", "h", "a", "x"], ["HSETNX", "h", "a", "y"], ["HSETNX", "h", "d", "4"],
            ["HMSET", "h", "e", "5"], ["HGET", "h", "a"], ["HMGET", "h", "a", "zz", "e"], ["HDEL", "h", "b", "zz"], ["HLEN", "h"],
            ["HSTRLEN", "h", "d"], ["HEXISTS", "h", "d"], ["HKEYS", "h"], ["HVALS", "h"], ["HGETALL", "h"], ["HGETALL", "none"],
            ["HINCRBY", "h", "n", "10"], ["HINCRBY", "h", "a", "1"], ["HINCRBY", "h", "n", "9223372036854775800"], ["HINCRBY", "h", "n", "x"],
            ["HINCRBYFLOAT", "h", "f", "10.50"], ["HINCRBYFLOAT", "h", "f", "0.1"], ["HINCRBYFLOAT", "h", "g", "2.5e2"],
            ["HINCRBYFLOAT", "h", "a", "1"], ["HINCRBYFLOAT", "h", "f", "nan"],
            ["HINCRBYFLOAT", "h", "f", "-inf"], ["HGET", "h", "f"], ["OBJECT", "ENCODING", "h"], ["HSET", "h", "long", longText],
            ["OBJECT", "ENCODING", "h"], ["HRANDFIELD", "none"], ["HRANDFIELD", "none", "-3", "WITHVALUES"], ["HRANDFIELD", "h", "0"],
            ["HRANDFIELD", "h", "1", "BAD"], ["HRANDFIELD", "h", "-9223372036854775808"], ["HSCAN", "none", "0"], ["HSCAN", "h", "x"],
            ["HSCAN", "h", "0", "COUNT", "-1"], ["HSET", "h"], ["HSET", "h", "x"], ["HMSET", "h", "x", "1", "y"], ["HGET", "h"],
            ["HSET", "p", "a", "1", "b", "2"], ["HDEL", "p", "a"], ["HSET", "p", "a", "3"], ["HGETALL", "p"], ["HSCAN", "p", "0", "MATCH", "a"],
            ["HRANDFIELD", "p", "2"], ["HRANDFIELD", "p", "2", "WITHVALUES"], ["HDEL", "p", "a", "b"], ["EXISTS", "p"],
            ["SET", "s", "v"], ["HGET", "s", "a"], ["HSET", "s", "a", "b"],
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

    /// <summary>The bulk strings of a flat RESP2 array reply.</summary>
    private static List<string> Parse(string reply)
    {
        var lines = reply.Split("\r\n");
        var items = new List<string>();
        for (int i = 1; i < lines.Length - 1; i++)
            if (lines[i].StartsWith('$')) items.Add(lines[++i]);
        return items;
    }

    private static List<string> ParseScan(string reply, out string cursor)
    {
        var all = Parse(reply);
        cursor = all[0];
        return all.GetRange(1, all.Count - 1);
    }
}
