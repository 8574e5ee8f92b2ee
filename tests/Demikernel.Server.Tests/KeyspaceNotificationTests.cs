using System.Text;

namespace Demikernel.Server.Tests;

/// <summary>
/// Keyspace notifications against redis-server 7.0.15: the same corpus of writes runs on both servers while a second
/// connection is pattern-subscribed to <c>__key*__:*</c>; after each command a PUBLISH on a marker channel ends what that
/// command caused, so the messages are compared command by command, in order. No sleeps except the two that let a
/// TTL pass (the expiries are then forced deterministically: a lookup, or a wait for the database to empty).
/// </summary>
public sealed class KeyspaceNotificationTests
{
    /// <summary>A step: a command ("&amp;CMD": its messages join the next step's, for expiries whose moment is the
    /// cron's), or "~sleep ms", "~dbsize n" (wait until DBSIZE is n: active expiry), "~restore src
    /// dst ttl args..." (DUMP src, then RESTORE dst ttl payload args).</summary>
    private static readonly string[][] Corpus =
    [
        // strings
        ["SET", "s1", "v"], ["SET", "s1", "v2"], ["SET", "s1", "v", "XX", "EX", "100"], ["SET", "s1", "v", "KEEPTTL"], ["SET", "s1", "v", "NX"],
        ["SET", "s2", "v", "NX", "PX", "100000"], ["SET", "s2", "w", "GET"], ["SETNX", "s3", "1"], ["SETNX", "s3", "2"], ["SETEX", "s4", "100", "v"],
        ["PSETEX", "s5", "100000", "v"], ["GETSET", "s1", "new"], ["GETDEL", "s1"], ["GETDEL", "s1"], ["GETEX", "s4", "EX", "100"],
        ["GETEX", "s4", "PERSIST"], ["GETEX", "s4", "PERSIST"], ["GETEX", "s4"], ["GETEX", "s4", "PXAT", "1"], ["MSET", "a", "1", "b", "2"],
        ["MSETNX", "c", "1", "d", "2"], ["MSETNX", "c", "1", "e", "2"], ["APPEND", "a", "x"], ["APPEND", "nn", "x"], ["INCR", "i"],
        ["INCRBY", "i", "5"], ["DECR", "i"], ["DECRBY", "i", "2"], ["INCRBYFLOAT", "f", "1.5"], ["INCRBYFLOAT", "f", "1"], ["SETRANGE", "s3", "1", "xx"],
        ["SETRANGE", "s3", "1", ""], ["SETRANGE", "sr", "0", ""], ["SETRANGE", "sr2", "2", "a"], ["SETBIT", "bits", "7", "1"], ["SETBIT", "bits", "7", "1"],
        ["BITFIELD", "bf", "SET", "u8", "0", "255"], ["BITFIELD", "bf", "GET", "u8", "0"], ["BITFIELD", "bf2", "GET", "u8", "0"],
        ["BITOP", "AND", "dest", "a", "b"], ["BITOP", "AND", "dest", "nope1", "nope2"], ["BITOP", "AND", "dest", "nope1", "nope2"],
        ["PFADD", "hll", "a", "b"], ["PFADD", "hll", "a"], ["PFADD", "hll0"], ["PFMERGE", "hll2", "hll"], ["PFMERGE", "hll2"], ["SET", "a", "v"],
        ["&SET", "a", "v", "XX", "EXAT", "1"], ["GET", "a"],
        // lists
        ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "d"], ["LPUSHX", "l", "e"], ["RPUSHX", "nol", "x"], ["LINSERT", "l", "BEFORE", "a", "z"],
        ["LINSERT", "l", "BEFORE", "nope", "z"], ["LSET", "l", "0", "q"], ["LREM", "l", "1", "q"], ["LREM", "l", "1", "nope"], ["LTRIM", "l", "0", "2"],
        ["LTRIM", "l", "0", "10"], ["LTRIM", "l", "5", "10"], ["LPOP", "nol"], ["RPUSH", "l2", "a", "b", "c", "d"], ["LPOP", "l2"], ["RPOP", "l2", "2"],
        ["RPOP", "l2"], ["RPUSH", "src", "a", "b", "c"], ["RPOPLPUSH", "src", "dst"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        ["LMOVE", "src", "src", "LEFT", "RIGHT"], ["LMOVE", "src", "dst", "LEFT", "LEFT"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "5"],
        ["RPUSH", "bl", "x", "y"], ["BLPOP", "bl", "0"], ["BRPOP", "bl", "0"], ["RPUSH", "bl", "x"], ["BLMOVE", "bl", "bl2", "RIGHT", "LEFT", "0"],
        ["BLMPOP", "0", "1", "bl2", "RIGHT"], ["LPUSHX", "nol", "x"],
        // hashes
        ["HSET", "h", "f", "v", "g", "w"], ["HSET", "h", "f", "v"], ["HSETNX", "h", "f", "x"], ["HSETNX", "h", "n", "1"], ["HMSET", "h", "a", "1"],
        ["HINCRBY", "h", "c", "1"], ["HINCRBYFLOAT", "h", "d", "1.5"], ["HDEL", "h", "f", "nope"], ["HDEL", "h", "nope"],
        ["HDEL", "h", "g", "a", "c", "d", "n"], ["HDEL", "h", "x"],
        // sets
        ["SADD", "st", "a", "b", "c"], ["SADD", "st", "a"], ["SREM", "st", "a"], ["SREM", "st", "nope"], ["SMOVE", "st", "st2", "b"],
        ["SMOVE", "st", "st2", "nope"], ["SADD", "st2", "c"], ["SMOVE", "st", "st2", "c"], ["SADD", "one", "x"], ["SPOP", "one"], ["SADD", "sp", "a"],
        ["SPOP", "sp", "5"], ["SPOP", "sp"], ["SADD", "sp", "a"], ["SPOP", "sp", "0"], ["SINTERSTORE", "si", "st2", "st2"], ["SUNIONSTORE", "su", "st2", "nope"],
        ["SDIFFSTORE", "sd", "st2", "st2"], ["SDIFFSTORE", "su", "st2", "st2"], ["SINTERSTORE", "si", "nope", "st2"], ["SMOVE", "st2", "st2", "b"],
        // sorted sets
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "5", "a"], ["ZADD", "z", "INCR", "5", "a"],
        ["ZADD", "z", "NX", "9", "a"], ["ZINCRBY", "z", "1", "b"], ["ZREM", "z", "a"], ["ZREM", "z", "nope"], ["ZREMRANGEBYSCORE", "z", "0", "2"],
        ["ZREMRANGEBYSCORE", "z", "100", "200"], ["ZREMRANGEBYRANK", "z", "0", "0"], ["ZADD", "z", "0", "a", "0", "b", "0", "c"],
        ["ZREMRANGEBYLEX", "z", "[a", "[a"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "5"], ["ZPOPMAX", "z"], ["ZADD", "z1", "1", "a"], ["ZADD", "z2", "2", "b"],
        ["ZUNIONSTORE", "zu", "2", "z1", "z2"], ["ZINTERSTORE", "zi", "2", "z1", "z2"], ["ZINTERSTORE", "zu", "2", "z1", "z2"], ["ZDIFFSTORE", "zd", "1", "z1"],
        ["ZRANGESTORE", "zr", "z1", "0", "-1"], ["ZRANGESTORE", "zr", "z1", "5", "6"], ["ZMPOP", "1", "zd", "MIN"], ["ZADD", "bz", "1", "a", "2", "b"],
        ["BZPOPMIN", "bz", "0"], ["BZMPOP", "0", "1", "bz", "MAX"],
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"], ["GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"],
        ["GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"], ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gr"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "gr"], ["GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        // streams
        ["XADD", "x", "1-1", "f", "v"], ["XADD", "x", "MAXLEN", "1", "2-1", "f", "v"], ["XADD", "x", "3-1", "f", "v"], ["XADD", "x", "MAXLEN", "5", "4-1", "f", "v"],
        ["XTRIM", "x", "MAXLEN", "5"], ["XTRIM", "x", "MAXLEN", "2"], ["XDEL", "x", "3-1", "99-1"], ["XDEL", "x", "99-1"], ["XADD", "x", "NOMKSTREAM", "5-1", "f", "v"],
        ["XADD", "nox", "NOMKSTREAM", "5-1", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"], ["XGROUP", "CREATE", "x", "g", "0"],
        ["XGROUP", "CREATE", "nx", "g", "$", "MKSTREAM"], ["XGROUP", "CREATECONSUMER", "x", "g", "c1"], ["XGROUP", "CREATECONSUMER", "x", "g", "c1"],
        ["XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "x", ">"], ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "x", ">"],
        ["XACK", "x", "g", "4-1"], ["XCLAIM", "x", "g", "c3", "0", "5-1"], ["XAUTOCLAIM", "x", "g", "c4", "0", "0"], ["XGROUP", "SETID", "x", "g", "0"],
        ["XGROUP", "DELCONSUMER", "x", "g", "c1"], ["XGROUP", "DELCONSUMER", "x", "g", "zz"], ["XGROUP", "DESTROY", "x", "g"], ["XGROUP", "DESTROY", "x", "g"],
        ["XSETID", "x", "10-1"],
        // generic
        ["DEL", "a", "b", "nope"], ["UNLINK", "c"], ["EXPIRE", "d", "100"], ["EXPIRE", "d", "100", "NX"], ["PEXPIRE", "d", "1000000"], ["EXPIRE", "d", "10", "GT"],
        ["EXPIREAT", "d", "1"], ["EXPIRE", "nope", "1"], ["SET", "e", "v", "EX", "100"], ["PERSIST", "e"], ["PERSIST", "e"], ["PEXPIREAT", "e", "1"],
        ["SET", "r1", "a", "EX", "100"], ["SET", "r2", "b"], ["RENAME", "r1", "r2"], ["RENAME", "nope", "x"], ["RENAME", "r2", "r2"], ["RENAME", "r2", "r1"],
        ["RENAMENX", "r1", "r3"], ["SET", "r4", "x"], ["RENAMENX", "r3", "r4"], ["COPY", "r3", "r4"], ["COPY", "r3", "r4", "REPLACE"], ["COPY", "r3", "r5"],
        ["COPY", "r3", "r5", "DB", "1"], ["MOVE", "r4", "1"], ["MOVE", "r5", "1"], ["LPUSH", "r3", "x"],
        ["~restore", "r3", "rs", "0"], ["~restore", "r3", "rs", "0"], ["~restore", "r3", "rs", "0", "REPLACE"], ["~restore", "r3", "rs", "1", "REPLACE", "ABSTTL"],
        ["~restore", "r3", "rs2", "1", "ABSTTL"], ["~restore", "z1", "rs3", "100000"],
        ["RPUSH", "nums", "3", "1", "2"], ["SORT", "nums", "STORE", "sorted"], ["SORT", "nums", "LIMIT", "5", "5", "STORE", "sorted"],
        ["SORT", "nums", "LIMIT", "5", "5", "STORE", "sorted"], ["SORT", "nums", "STORE", "nums"], ["TOUCH", "nums"],
        ["SELECT", "1"], ["SET", "db1", "v"], ["DEL", "db1", "r4", "r5"], ["SELECT", "0"],
        // expiry: lazy (a lookup after the TTL passed) and active (nothing touches the key)
        ["&SET", "ex1", "v", "PX", "1"], ["~sleep", "20"], ["GET", "ex1"], ["&SET", "ex2", "v", "PX", "1"], ["~sleep", "20"], ["SET", "ex2", "w"],
        // PEXPIRE's deadline must not have passed when redis-server checks it (checkAlreadyExpired reads the clock
        // again: with 1 ms, a millisecond boundary between the two readings made it a DEL now and then)
        ["HSET", "ex3", "f", "v"], ["&PEXPIRE", "ex3", "50"], ["~sleep", "80"], ["HSET", "ex3", "f", "v"],
        ["SELECT", "3"], ["&SET", "ex4", "v", "PX", "1"], ["~dbsize", "0"], ["SELECT", "0"],
        // more option paths
        ["ZADD", "z3", "GT", "CH", "1", "a"], ["ZADD", "z3", "GT", "CH", "0", "a"], ["ZADD", "z3", "LT", "0", "a"], ["ZADD", "z3", "XX", "5", "nope"],
        ["ZINCRBY", "z4", "2", "m"], ["ZADD", "z5", "1", "a"], ["ZINTERSTORE", "zw", "2", "z4", "z5", "WEIGHTS", "1", "2"], ["ZUNIONSTORE", "zw", "1", "z4", "AGGREGATE", "MAX"],
        ["GEOADD", "g2", "13.361389", "38.115556", "Palermo"], ["GEOADD", "g2", "XX", "CH", "13.4", "38.1", "Palermo"], ["GEOADD", "g2", "XX", "13.4", "38.1", "Nope"],
        ["GEORADIUSBYMEMBER", "g2", "Palermo", "300", "km", "STORE", "gm"], ["GEOSEARCHSTORE", "gm", "g2", "FROMMEMBER", "Palermo", "BYBOX", "10", "10", "km", "STOREDIST"],
        ["HSETNX", "h2", "f", "v"], ["HINCRBY", "h2", "n", "5"], ["HINCRBYFLOAT", "h3", "n", "0.5"], ["SADD", "s9", "1", "2", "3"], ["SREM", "s9", "1", "2", "3"],
        ["INCRBYFLOAT", "fl", "2"], ["DECRBY", "dn", "3"], ["APPEND", "ap", ""], ["SETRANGE", "sr3", "0", "abc"], ["GETEX", "sr3", "EXAT", "99999999999"],
        ["GETEX", "sr3", "PX", "100000"], ["PERSIST", "nope"], ["SET", "e0", "v"], ["EXPIRE", "e0", "0"], ["SET", "e1", "v"], ["PEXPIRE", "e1", "-5"],
        ["SET", "rt", "v", "EX", "500"], ["RENAME", "rt", "rt2"], ["RENAMENX", "rt2", "rt3"], ["COPY", "rt3", "rt4", "DB", "2"], ["MOVE", "rt3", "2"],
        ["RPUSH", "nums2", "10", "9"], ["SORT", "nums2", "BY", "nosort", "STORE", "srt"], ["SORT", "nums2", "ALPHA", "STORE", "srt"], ["SORT_RO", "nums2"],
        ["XADD", "xs", "5-1", "f", "v"], ["XADD", "xs", "MINID", "6", "6-1", "f", "v"], ["XTRIM", "xs", "MINID", "7"], ["XTRIM", "xs", "MINID", "0"],
        ["XGROUP", "CREATE", "nx2", "g", "$", "MKSTREAM"], ["XGROUP", "CREATECONSUMER", "nx2", "g", "alice"], ["XGROUP", "DESTROY", "nx2", "g"], ["DEL", "nx2"],
        ["LPUSH", "lp", "a", "b", "a"], ["LREM", "lp", "0", "a"], ["LINSERT", "lp", "AFTER", "b", "c"], ["LPOP", "lp", "5"], ["LPOP", "lp", "0"],
        ["BITOP", "OR", "bo", "bits", "bf"], ["BITOP", "NOT", "bo", "bits"], ["BITFIELD", "bf", "INCRBY", "u2", "0", "1", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"],
        ["SET", "ty", "v"], ["LPUSH", "ty", "x"], ["SET", "ty", "w", "GET"], ["HSET", "ty2", "f", "v"], ["SET", "ty2", "v"],
        // transactions and scripts
        ["MULTI"], ["SET", "m1", "1"], ["LPUSH", "m2", "a"], ["INCR", "m1"], ["DEL", "m2"], ["EXEC"],
        ["EVAL", "redis.call('set', KEYS[1], 'x'); redis.call('rpush', KEYS[2], 'a'); redis.call('del', KEYS[1]); return 1", "2", "sk", "sl"],
        ["EVAL", "return redis.call('incr', KEYS[1])", "1", "sk"],
        // whole-database commands notify nothing
        ["SWAPDB", "0", "1"], ["FLUSHDB"], ["FLUSHALL"],
    ];

    [Fact]
    public void AllClassesMatchRedisServer()
    {
        var log = Compare("KEA", Corpus);
        Assert.Contains(log, l => l.StartsWith("HSET ex3 f v -> :1 |", StringComparison.Ordinal) && l.Contains("__keyevent@0__:expired $3 ex3", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Kl")]
    [InlineData("Egxn")]
    [InlineData("KE$hzt")]
    [InlineData("Es")]
    public void NarrowerSettingsMatchRedisServer(string flags) => Compare(flags, Corpus);

    [Fact]
    public void KeyspaceAndNewOnlyFromARawResp3Client()
    {
        // One connection both subscribes (RESP3 allows commands while subscribed) and writes: its own pushes come
        // before the reply of the command that caused them, as redis-server sends them.
        string[] Scenario(int port)
        {
            using var c = ListHashConnection.Open(port);
            c.Call("HELLO", "3");
            c.Call("CONFIG", "SET", "notify-keyspace-events", "Kn$");
            c.Call("SUBSCRIBE", "__keyspace@0__:k");
            c.Send("SET", "k", "v");
            var got = new List<string>();
            for (int i = 0; i < 3; i++) got.Add(c.ReadReply().Replace("\r\n", " ").Trim());
            return [.. got];
        }
        string[] ours;
        using (var server = new ServerThread("notify", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })))
            ours = Scenario(server.Port);
        using (var redis = ReferenceRedis.TryStart())
            Assert.Equal(Scenario(redis.Port), ours);
        Assert.Equal([">3 $7 message $16 __keyspace@0__:k $3 new", ">3 $7 message $16 __keyspace@0__:k $3 set", "+OK"], ours);
    }

    [Fact]
    public void KeyMissMatchesRedisServer() => Compare("KEm", [
        ["GET", "nope"], ["SET", "k", "v"], ["GET", "k"], ["EXISTS", "nope"], ["TYPE", "nope"], ["TTL", "nope"], ["STRLEN", "nope"],
        ["LRANGE", "nope", "0", "-1"], ["HGET", "nope", "f"], ["HGETALL", "nope"], ["SMEMBERS", "nope"], ["ZRANGE", "nope", "0", "-1"],
        ["XRANGE", "nope", "-", "+"], ["MGET", "k", "nope", "nope2"], ["DUMP", "nope"], ["OBJECT", "ENCODING", "nope"], ["SET", "nope", "v", "GET"],
        ["GETDEL", "nope"], ["INCR", "n"], ["LPOP", "nope"], ["DEL", "nope"], ["COPY", "nope", "x"], ["SORT", "nope"], ["GETRANGE", "nope", "0", "1"],
        ["RPUSH", "ids", "1", "2"], ["SET", "w_1", "5"], ["SORT", "ids", "BY", "w_*", "GET", "v_*"], ["HSET", "h", "f", "v"], ["HGET", "h", "g"],
        ["MULTI"], ["GET", "nope"], ["EXEC"], ["EVAL", "return redis.call('get', KEYS[1])", "1", "nope"],
    ]);

    /// <summary>Eviction under maxmemory: volatile-ttl with one volatile key at a time, so which key goes is the same on
    /// both servers (the eviction after CONFIG SET maxmemory runs from a timer in redis, so its messages join the next
    /// step's).</summary>
    [Fact]
    public void EvictionMatchesRedisServer()
    {
        var log = Compare("KEA", [
        ["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"], ["CONFIG", "SET", "maxmemory-samples", "10"], ["SET", "plain", "v"],
        ["SET", "k1", "v", "EX", "100"], ["&CONFIG", "SET", "maxmemory", "1"], ["SET", "x", "y"], ["CONFIG", "SET", "maxmemory", "0"],
        ["RPUSH", "k3", "a"], ["EXPIRE", "k3", "300"], ["&CONFIG", "SET", "maxmemory", "1"], ["SET", "x", "y"], ["CONFIG", "SET", "maxmemory", "0"], ["DBSIZE"],
        ]);
        Assert.Contains(log, l => l.StartsWith("SET x y -> -OOM", StringComparison.Ordinal) && l.Contains("$22 __keyevent@0__:evicted $2 k1", StringComparison.Ordinal));
        Assert.Contains(log, l => l.StartsWith("SET x y -> -OOM", StringComparison.Ordinal) && l.Contains("$22 __keyevent@0__:evicted $2 k3", StringComparison.Ordinal));
    }

    /// <summary>CONFIG SET / GET of notify-keyspace-events: redis's normalised text and its error.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ConfigTextMatchesRedisServer(int protocol)
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        redis.Run("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
        h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
        var script = new List<string[]> { new[] { "CONFIG", "GET", "notify-keyspace-events" } };
        foreach (var flags in new[] { "KEA", "AKE", "Ex", "g$lshzxetdn", "g$lshzxetd", "Am", "nKm", "K", "E", "", "KEAmn", "$$", "Q", "KE A", "a", "KEA ",
                     "d", "x", "e" })
        {
            script.Add(["CONFIG", "SET", "notify-keyspace-events", flags]);
            script.Add(["CONFIG", "GET", "notify-keyspace-events"]);
        }
        script.Add(["CONFIG", "SET", "notify-keyspace-events", "K", "notify-keyspace-events", "E"]);
        script.Add(["CONFIG", "SET", "notify-keyspace-events", "KEA", "maxmemory", "x"]);
        script.Add(["CONFIG", "GET", "notify-keyspace-events"]);
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    /// <summary>A blocked pop served by a later push: the push's event, then the pop's (and "del" when it emptied the
    /// list), as redis's serveClientBlockedOnList; the same for sorted sets and BLMOVE.</summary>
    [Fact]
    public void ServedBlockedClientsMatchRedisServer()
    {
        List<string> Scenario(int port)
        {
            using var sub = ListHashConnection.Open(port);
            using var c = ListHashConnection.Open(port);
            using var w = ListHashConnection.Open(port);
            c.Call("CONFIG", "SET", "notify-keyspace-events", "KEA");
            sub.Call("PSUBSCRIBE", "__keyevent*");
            sub.Call("SUBSCRIBE", "~end");
            var log = new List<string>();
            void Blocked(string[] wait, string[] write)
            {
                w.Send(wait);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (!c.Call("INFO", "clients").Contains("blocked_clients:1\r\n", StringComparison.Ordinal))
                {
                    Assert.True(DateTime.UtcNow < deadline, "the client did not block");
                    Thread.Yield();
                }
                string reply = c.Call(write).Replace("\r\n", " ").Trim();
                string served = w.ReadReply().Replace("\r\n", " ").Trim();
                c.Call("PUBLISH", "~end", "x");
                var messages = new List<string>();
                while (true)
                {
                    string m = sub.ReadReply().Replace("\r\n", " ").Trim();
                    if (m.Contains("$4 ~end $1 x", StringComparison.Ordinal)) break;
                    messages.Add(m);
                }
                log.Add($"{string.Join(' ', write)} -> {reply} / {served} | {string.Join(" ; ", messages)}");
            }
            Blocked(["BLPOP", "l", "0"], ["RPUSH", "l", "a"]);
            Blocked(["BRPOP", "l", "0"], ["RPUSH", "l", "a", "b"]);
            Blocked(["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"], ["LPUSH", "src", "x"]);
            Blocked(["BZPOPMIN", "z", "0"], ["ZADD", "z", "1", "a"]);
            Blocked(["BLMPOP", "0", "1", "m", "LEFT", "COUNT", "2"], ["RPUSH", "m", "1", "2", "3"]);
            Blocked(["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], ["XADD", "s", "1-1", "f", "v"]);
            return log;
        }
        List<string> ours;
        using (var server = new ServerThread("notify", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })))
            ours = Scenario(server.Port);
        using (var redis = ReferenceRedis.TryStart())
            Assert.Equal(Scenario(redis.Port), ours);
    }

    /// <summary>The redis.conf / command-line path: the same parse, the same normalised text, redis's error.</summary>
    [Fact]
    public void ConfigFileDirective()
    {
        var config = new ServerConfig(new ServerOptions());
        Assert.Equal(DirectiveResult.Applied, config.LoadDirective("notify-keyspace-events", ["Elx"], out _));
        Assert.Equal("lxE", config.Match("notify-keyspace-events").Single().Value);
        Assert.Equal(Notifications.NotifyClass.Keyevent | Notifications.NotifyClass.List | Notifications.NotifyClass.Expired, config.NotifyKeyspaceEvents);
        Assert.Equal(DirectiveResult.Error, config.LoadDirective("notify-keyspace-events", ["KEQ"], out string? message));
        Assert.Equal("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.", message);
        Assert.Equal(DirectiveResult.Applied, config.LoadDirective("tracking-table-max-keys", ["10"], out _));
        Assert.Equal(10, config.TrackingTableMaxKeys);
    }

    /// <summary>Notifications switched on with nobody subscribed, or a tracking client that reads other keys, cost no
    /// allocation on the write path (the channel names are built in a reused buffer; PUBLISH to no one returns early).</summary>
    [Theory]
    [InlineData("")]
    [InlineData("KEA")]
    public void WritesAllocateNothingWithoutSubscribers(string flags)
    {
        using var h = new CommandHarness();
        Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "notify-keyspace-events", flags));
        h.Run("SET", "k", "v");
        h.Run("RPUSH", "l", "a");
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("SET", "k", "v")));
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("GET", "nokey")));
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("INCR", "n")));
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("LSET", "l", "0", "b")));
    }

    /// <summary>A RESP3 subscriber gets the messages as push frames.</summary>
    [Fact]
    public void Resp3SubscriberMatchesRedisServer() => Compare("KEA", [
        ["SET", "k", "v"], ["LPUSH", "l", "a"], ["LPOP", "l"], ["EXPIRE", "k", "100"], ["RENAME", "k", "k2"],
    ], resp3: true);

    private static List<string> Compare(string flags, string[][] corpus, bool resp3 = false)
    {
        List<string> ours, theirs;
        using (var server = new ServerThread("notify", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })))
            ours = Run(server.Port, flags, corpus, resp3);
        using (var redis = ReferenceRedis.TryStart())
            theirs = Run(redis.Port, flags, corpus, resp3);
        var diff = new List<string>();
        for (int i = 0; i < Math.Max(ours.Count, theirs.Count); i++)
        {
            string o = i < ours.Count ? ours[i] : "(missing)", t = i < theirs.Count ? theirs[i] : "(missing)";
            if (o != t) diff.Add($"redis: {t}\n  ours:  {o}");
        }
        Assert.True(diff.Count == 0, $"{diff.Count} differences with notify-keyspace-events {flags}:\n" + string.Join("\n", diff));
        return ours;
    }

    private static List<string> Run(int port, string flags, string[][] corpus, bool resp3)
    {
        using var sub = ListHashConnection.Open(port);
        using var c = ListHashConnection.Open(port);
        Assert.Equal("+OK\r\n", c.Call("CONFIG", "SET", "notify-keyspace-events", flags));
        if (resp3) sub.Call("HELLO", "3");
        sub.Call("PSUBSCRIBE", "__key*__:*");
        sub.Call("SUBSCRIBE", "~end");
        var log = new List<string>();
        bool queueing = false;
        foreach (var step in corpus)
        {
            try
            {
                // A sleep and the commands of a transaction add their messages to the step that follows (EXEC): when
                // an expiry happens in the sleep or at the next lookup is up to the cron.
                if (step[0] == "MULTI") queueing = true;
                else if (step[0] == "EXEC") queueing = false;
                if (step[0] == "~sleep") Thread.Sleep(int.Parse(step[1]));
                else if (step[0][0] == '&') log.Add($"{string.Join(' ', step)} -> {c.Call([step[0][1..], .. step[1..]]).Replace("\r\n", " ").Trim()}");
                else if (queueing) log.Add($"{string.Join(' ', step)} -> {c.Call(step).Replace("\r\n", " ").Trim()}");
                else log.Add(RunStep(sub, c, step));
            }
            catch (IOException e)
            {
                throw new IOException($"no answer to {string.Join(' ', step)} (after {string.Join('\n', log)})", e);
            }
        }
        return log;
    }

    private static string RunStep(ListHashConnection sub, ListHashConnection c, string[] step)
    {
        {
            string reply = step[0] switch
            {
                "~dbsize" => WaitDbSize(c, step[1]),
                "~restore" => c.CallRaw(CommandHarness.EncodeRequest([
                    Encoding.UTF8.GetBytes("RESTORE"), Encoding.UTF8.GetBytes(step[2]), Encoding.UTF8.GetBytes(step[3]), c.ReadDumpOf(step[1]),
                    .. step.Skip(4).Select(Encoding.UTF8.GetBytes)])),
                _ => c.Call(step),
            };
            c.Call("PUBLISH", "~end", "x");
            var messages = new List<string>();
            while (true)
            {
                string m = sub.ReadReply().Replace("\r\n", " ").Trim();
                if (m.Contains("$4 ~end $1 x", StringComparison.Ordinal)) break;
                messages.Add(m);
            }
            return $"{string.Join(' ', step)} -> {reply.Replace("\r\n", " ").Trim()} | {string.Join(" ; ", messages)}";
        }
    }

    private static string WaitDbSize(ListHashConnection c, string n)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (c.Call("DBSIZE") != $":{n}\r\n")
        {
            Assert.True(DateTime.UtcNow < deadline, $"DBSIZE did not reach {n} in 10 s");
            Thread.Sleep(5);
        }
        return "";
    }
}
