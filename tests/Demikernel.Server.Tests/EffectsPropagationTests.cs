using System.Text;
using static Demikernel.Server.Tests.EffectsScript;

namespace Demikernel.Server.Tests;

/// <summary>
/// What our server propagates (through <see cref="Propagation.EffectsStream"/>) against what redis-server 7.0 writes
/// to its AOF for the same script, byte for byte after normalising absolute times (13-digit unix milliseconds, compared
/// relative to each script's start within a tolerance).
/// </summary>
public sealed class EffectsPropagationTests
{
    [Fact]
    public void PlainWritesPropagateTheirArguments() => Check([
        Cmd("SET", "k", "v"), Cmd("GET", "k"), Cmd("INCR", "n"), Cmd("LPUSH", "l", "a", "b"), Cmd("DEL", "missing"),
        Cmd("SADD", "s", "x"), Cmd("SADD", "s", "x"), Cmd("APPEND", "k", "w"), Cmd("HSET", "h", "f", "1"),
        Cmd("set", "lower", "case"), Cmd("SETNX", "k", "no"), Cmd("PERSIST", "k"), Cmd("LREM", "l", "0", "zz"),
        Cmd("SETRANGE", "k", "0", ""), Cmd("MSET", "a", "1", "b", "2"), Cmd("DEL", "a", "b", "c"),
    ]);

    [Fact]
    public void SetWithExpiryBecomesPxat() => Check([
        Cmd("SET", "k", "v", "EX", "100"), Cmd("SET", "k", "v", "PX", "100000", "NX"), Cmd("SET", "k", "w", "XX", "PX", "5000"),
        Cmd("SET", "k2", "v", "EXAT", "4102444800"), Cmd("SET", "k3", "v", "PXAT", "4102444800000"),
        Cmd("SET", "k", "v2", "GET"), Cmd("SET", "k", "v3", "GET", "EX", "10"), Cmd("SET", "k", "v4", "KEEPTTL"),
        Cmd("SETEX", "s", "10", "v"), Cmd("PSETEX", "p", "10000", "v"), Cmd("SET", "k", "v", "NX", "EX", "5"),
        Cmd("GETSET", "k", "new"),
    ]);

    [Fact]
    public void ExpireFamilyBecomesPexpireatOrDel() => Check([
        Cmd("SET", "k", "v"), Cmd("EXPIRE", "k", "100"), Cmd("PEXPIRE", "k", "200000"), Cmd("EXPIREAT", "k", "4102444800"),
        Cmd("PEXPIREAT", "k", "4102444800123"), Cmd("EXPIRE", "k", "50", "GT"), Cmd("EXPIRE", "k", "500", "LT"),
        Cmd("EXPIRE", "missing", "10"), Cmd("PERSIST", "k"), Cmd("PERSIST", "k"),
        Cmd("SET", "d1", "v"), Cmd("EXPIRE", "d1", "-1"), Cmd("SET", "d2", "v"), Cmd("EXPIREAT", "d2", "1000"),
        Cmd("SET", "d3", "v"), Cmd("PEXPIRE", "d3", "0"),
    ]);

    [Fact]
    public void GetExGetDelAndFloatIncrements() => Check([
        Cmd("SET", "k", "v"), Cmd("GETEX", "k"), Cmd("GETEX", "k", "EX", "100"), Cmd("GETEX", "k", "PX", "100000"),
        Cmd("GETEX", "k", "EXAT", "4102444800"), Cmd("GETEX", "k", "PXAT", "4102444800000"), Cmd("GETEX", "k", "PERSIST"),
        Cmd("GETEX", "k", "PERSIST"), Cmd("GETEX", "k", "PXAT", "1000"), Cmd("GETEX", "missing", "EX", "5"),
        Cmd("SET", "g", "v"), Cmd("GETDEL", "g"), Cmd("GETDEL", "g"),
        Cmd("INCRBYFLOAT", "f", "1.5"), Cmd("SET", "f2", "10", "EX", "100"), Cmd("INCRBYFLOAT", "f2", "0.1"),
        Cmd("HINCRBYFLOAT", "h", "x", "2.5"), Cmd("HINCRBYFLOAT", "h", "x", "1e2"),
    ]);

    [Fact]
    public void SpopAsSremOrDel() => Check([
        Cmd("SADD", "one", "m"), Cmd("SPOP", "one"), Cmd("SPOP", "one"),
        Cmd("SADD", "all", "a", "b", "c"), Cmd("SPOP", "all", "5"), Cmd("SPOP", "all", "1"),
        Cmd("SADD", "z", "a"), Cmd("SPOP", "z", "0"), Cmd("SPOP", "z", "1"),
        Cmd("SADD", "ints", "7"), Cmd("SPOP", "ints", "1"),
    ]);

    [Fact]
    public void SpopWithCountBelowTheSizeIsOneSremPerMember()
    {
        // Which members go is random on both servers: compare the shape, and that ours removed what it propagated.
        var script = new[] { Cmd("SADD", "s", "a", "b", "c", "d", "e", "f"), Cmd("SPOP", "s", "2"), Cmd("SPOP", "s", "3") };
        var (redis, ours) = Run(script);
        string Shape(List<string[]> s) => string.Join("\n", s.Select(c => c[0] == "SREM" ? $"SREM {c[1]} ?" : string.Join(' ', c)));
        Assert.Equal(Shape(redis), Shape(ours));
        var removed = ours.Where(c => c[0] == "SREM").Select(c => c[2]).ToList();
        Assert.Equal(5, removed.Distinct().Count());
    }

    [Fact]
    public void ListAndSortedSetPops() => Check([
        Cmd("RPUSH", "l", "a", "b", "c", "d"), Cmd("LMPOP", "2", "none", "l", "LEFT", "COUNT", "3"), Cmd("LMPOP", "1", "l", "RIGHT"),
        Cmd("LMPOP", "1", "l", "RIGHT"),
        Cmd("RPUSH", "l", "a", "b", "c"), Cmd("BLPOP", "none", "l", "1"), Cmd("BRPOP", "l", "1"),
        Cmd("BLMOVE", "l", "dst", "left", "RIGHT", "1"), Cmd("RPUSH", "l", "x"), Cmd("BRPOPLPUSH", "l", "dst", "1"),
        Cmd("BLMPOP", "1", "2", "none", "dst", "RIGHT", "COUNT", "10"),
        Cmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), Cmd("ZMPOP", "1", "z", "MIN", "COUNT", "2"),
        Cmd("BZPOPMIN", "z", "1"), Cmd("BZPOPMAX", "none", "z", "1"), Cmd("ZADD", "z", "1", "a", "2", "b"),
        Cmd("BZMPOP", "1", "1", "z", "MAX", "COUNT", "5"), Cmd("ZMPOP", "1", "z", "MIN"),
        Cmd("RPUSH", "l", "q"), Cmd("LMOVE", "l", "l2", "LEFT", "LEFT"), Cmd("RPOPLPUSH", "l2", "l3"),
    ]);

    [Fact]
    public void BlockedListPopsServedLaterAreTheirNonBlockingForm() => Check([
        Cmd("@b", "BLPOP", "q", "0"), Cmd("RPUSH", "q", "a", "b"), Cmd("@breply"), Cmd("DEL", "q"),
        Cmd("@b", "BRPOP", "q2", "q", "0"), Cmd("LPUSH", "q2", "x"), Cmd("@breply"),
        Cmd("@b", "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"), Cmd("RPUSH", "src", "m1"), Cmd("@breply"),
        Cmd("@b", "BRPOPLPUSH", "src2", "dst", "0"), Cmd("RPUSH", "src2", "n"), Cmd("@breply"),
        Cmd("@b", "BLMPOP", "0", "1", "mq", "LEFT", "COUNT", "5"), Cmd("RPUSH", "mq", "1", "2", "3"), Cmd("@breply"),
        Cmd("DEL", "q", "q2", "src", "src2", "dst", "mq"),
    ]);

    [Fact]
    public void BlockedSortedSetPopsServedLater() => Check([
        Cmd("@b", "BZPOPMIN", "z", "0"), Cmd("ZADD", "z", "1", "a", "2", "b"), Cmd("@breply"),
        Cmd("@b", "BZPOPMAX", "z2", "0"), Cmd("ZADD", "z2", "1", "a", "2", "b"), Cmd("@breply"),
        Cmd("@b", "BZMPOP", "0", "1", "z3", "MIN", "COUNT", "10"), Cmd("ZADD", "z3", "1", "a", "2", "b"), Cmd("@breply"),
    ]);

    [Fact]
    public void BlockedPopServedInsideTheWritersTransaction() => Check([
        Cmd("@b", "BLPOP", "q", "0"), Cmd("MULTI"), Cmd("RPUSH", "q", "a"), Cmd("SET", "k", "v"), Cmd("EXEC"), Cmd("@breply"),
    ]);

    [Fact]
    public void MultiExec() => Check([
        Cmd("MULTI"), Cmd("SET", "a", "1"), Cmd("INCR", "a"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("GET", "a"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("SET", "b", "1"), Cmd("GET", "b"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("LPUSH", "a", "x"), Cmd("SET", "c", "1"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("LPUSH", "a", "x"), Cmd("SET", "d", "1", "EX", "100"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("SET", "e", "1"), Cmd("DISCARD"),
        Cmd("MULTI"), Cmd("SELECT", "2"), Cmd("SET", "in2", "v"), Cmd("SELECT", "0"), Cmd("SET", "in0", "v"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("SET", "a", "z"), Cmd("SELECT", "3"), Cmd("EXEC"), Cmd("SET", "in3", "v"), Cmd("SELECT", "0"),
        Cmd("WATCH", "w"), Cmd("SET", "w", "1"), Cmd("MULTI"), Cmd("SET", "x", "1"), Cmd("SET", "y", "1"), Cmd("EXEC"),
        Cmd("SELECT", "12"), Cmd("MULTI"), Cmd("SET", "t", "1"), Cmd("SELECT", "11"), Cmd("SET", "t", "2"), Cmd("EXEC"), Cmd("SELECT", "0"),
    ]);

    [Fact]
    public void ExecPropagatesOneUnitWrappedOnlyWhenItHoldsMoreThanOneCommand()
    {
        using var h = new CommandHarness();
        var consumer = new StreamConsumer();
        h.Server.Effects.Add(consumer);
        foreach (var c in new[] { "MULTI", "SET a 1", "INCR a", "EXEC", "MULTI", "SET b 1", "GET b", "EXEC", "MULTI", "GET a", "EXEC" })
            h.Run(c.Split(' '));
        Assert.Equal([(2, true), (1, false)], consumer.Units);
    }

    [Fact]
    public void SelectChangesAndKeyMovement() => Check([
        Cmd("SET", "k", "v"), Cmd("SELECT", "1"), Cmd("SET", "k", "v1"), Cmd("SELECT", "0"), Cmd("SET", "k2", "v"),
        Cmd("MOVE", "k2", "5"), Cmd("MOVE", "k2", "5"), Cmd("COPY", "k", "k3"), Cmd("COPY", "k", "k4", "DB", "7"),
        Cmd("COPY", "k", "k4", "DB", "7"), Cmd("RENAME", "k", "r"), Cmd("RENAMENX", "r", "k3"),
        Cmd("SET", "after", "swap"), Cmd("FLUSHDB"), Cmd("FLUSHDB"), Cmd("SELECT", "1"), Cmd("FLUSHALL"), Cmd("FLUSHALL"),
        Cmd("RPUSH", "sl", "3", "1", "2"), Cmd("SORT", "sl", "STORE", "sorted"), Cmd("SORT", "none", "STORE", "sorted"),
        Cmd("SORT", "none", "STORE", "sorted"),
    ]);

    [Fact]
    public void LazyExpiryInsideReadsAndWrites() => Check([
        Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
        Cmd("SET", "r", "v", "PX", "50"), Cmd("SET", "w", "v", "PX", "50"), Cmd("SET", "l", "v", "PX", "50"),
        Cmd("SET", "x", "v", "PX", "50"), Cmd("RPUSH", "m", "a"), Cmd("PEXPIRE", "m", "50"),
        Cmd("@sleep", "200"),
        Cmd("GET", "r"), Cmd("GET", "r"), Cmd("SET", "w", "new"), Cmd("LPUSH", "l", "a"), Cmd("EXISTS", "x"),
        Cmd("MULTI"), Cmd("GET", "m"), Cmd("EXEC"),
    ]);

    [Fact]
    public void LargeValuesAndBinaryArguments()
    {
        var big = new string('x', 3 << 20);
        Check([
            Cmd("SET", "big", big), Cmd("SET", "small", "v"), Cmd("APPEND", "big", "y"),
            Cmd("SET", "bin", "a\r\nb\0c\u00ff"), Cmd("HSET", "h", "", ""), Cmd("SET", "big", big, "EX", "100"),
            Cmd("MULTI"), Cmd("SET", "k", big), Cmd("INCRBYFLOAT", "f", "2.5e10"), Cmd("EXEC"),
        ]);
    }

    [Fact]
    public void ConsumersComeAndGo()
    {
        using var h = new CommandHarness();
        var first = new StreamConsumer();
        var second = new StreamConsumer();
        Assert.False(h.Server.Effects.HasConsumers);
        h.Run("SET", "before", "v");
        h.Server.Effects.Add(first);
        h.Server.Effects.Add(second);
        Assert.True(h.Server.Effects.HasConsumers);
        h.Run("SET", "a", "1");
        h.Server.Effects.Remove(first);
        h.Run("SET", "b", "2");
        h.Server.Effects.Remove(second);
        Assert.False(h.Server.Effects.HasConsumers);
        h.Run("SET", "c", "3");
        Assert.Equal("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
            Encoding.ASCII.GetString(first.Output.WrittenSpan));
        Assert.Equal([(1, false), (1, false)], second.Units);
    }

    [Fact]
    public void LazyExpiryInsideAWriteIsWrappedWithIt()
    {
        // redis-server 7.0.15: GET of an expired key -> DEL alone; SET of one -> MULTI, DEL, SET, EXEC.
        var (redis, ours) = Run([
            Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), Cmd("SET", "r", "v", "PX", "50"), Cmd("SET", "w", "v", "PX", "50"),
            Cmd("@sleep", "200"), Cmd("GET", "r"), Cmd("SET", "w", "new"),
        ]);
        Assert.Equal(["DEL r", "MULTI", "DEL w", "SET w new", "EXEC"], redis.Skip(3).Select(c => string.Join(' ', c)));
        AssertSame(redis, ours);
    }

    [Fact]
    public void ReadsThatMeetExpiredKeys() => Check([
        Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), Cmd("SET", "k1", "v", "PX", "50"), Cmd("SET", "k2", "v", "PX", "50"),
        Cmd("SET", "k3", "v", "PX", "50"), Cmd("SET", "k4", "v", "PX", "50"), Cmd("SET", "live", "v"), Cmd("@sleep", "200"),
        Cmd("KEYS", "*"), Cmd("DBSIZE"), Cmd("TTL", "k1"), Cmd("TYPE", "k2"), Cmd("MGET", "k3", "live", "k4"), Cmd("GET", "k3"),
    ]);

    [Fact]
    public void LazyExpiryInAnotherDatabaseSelectsBeforeTheTransaction() => Check([
        Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), Cmd("SELECT", "1"), Cmd("SET", "k", "old", "PX", "50"), Cmd("SELECT", "0"),
        Cmd("SET", "k", "v"), Cmd("SET", "c", "v"), Cmd("SELECT", "2"), Cmd("SET", "c", "x", "PX", "50"), Cmd("SELECT", "0"),
        Cmd("@sleep", "200"), Cmd("MOVE", "k", "1"), Cmd("COPY", "c", "c", "DB", "2"), Cmd("SET", "z", "v"),
    ]);

    [Fact]
    public void WatchAndExecDoNotExpireKeys() => Check([
        // "gone" expires before WATCH, "w" after it (margins for a slow machine): EXEC fails, nothing is deleted
        // until the GETs.
        Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), Cmd("SET", "w", "v", "PX", "600"), Cmd("SET", "gone", "v", "PX", "50"),
        Cmd("@sleep", "200"), Cmd("WATCH", "w", "gone"), Cmd("@sleep", "700"), Cmd("MULTI"), Cmd("SET", "x", "1"), Cmd("EXEC"),
        Cmd("SET", "after", "v"), Cmd("GET", "w"), Cmd("GET", "gone"),
    ]);

    [Fact]
    public void LazyExpiryAsUnlinkWithLazyfree()
    {
        Check([
            Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), Cmd("SET", "r", "v", "PX", "50"), Cmd("SET", "e", "v"),
            Cmd("@sleep", "200"), Cmd("GET", "r"), Cmd("PEXPIRE", "e", "-5"), Cmd("SET", "g", "v"), Cmd("GETEX", "g", "PXAT", "1"),
        ], ["--lazyfree-lazy-expire", "yes"], h => h.Run("CONFIG", "SET", "lazyfree-lazy-expire", "yes"));
    }

    [Fact]
    public void ActiveExpiryIsOneDelPerKey() => Check([
        // One key per database: the order in which a cycle meets the keys of one database is not specified. The TTL
        // leaves room for a slow machine: no key may expire before the script reaches @active-expire.
        Cmd("SET", "a", "v", "PX", "400"), Cmd("SELECT", "2"), Cmd("SET", "c", "v", "PX", "400"), Cmd("SET", "p", "v", "EX", "1000"),
        Cmd("SELECT", "0"), Cmd("@active-expire"), Cmd("SET", "after", "v"),
    ]);

    [Fact]
    public void RandomKeyAndScanNeverWrapTheirDeletions()
    {
        var (redis, ours) = Run([
            Cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), Cmd("SET", "a", "v", "PX", "50"), Cmd("SET", "b", "v", "PX", "50"),
            Cmd("@sleep", "200"), Cmd("SCAN", "0", "COUNT", "100"), Cmd("SET", "c", "v", "PX", "50"), Cmd("SET", "d", "v", "PX", "50"),
            Cmd("@sleep", "200"), Cmd("RANDOMKEY"),
        ]);
        // The order in which keys are met follows each server's hash table: compare the deletions as a set, in place.
        List<string[]> Sorted(List<string[]> s)
        {
            var copy = s.ToList();
            for (int i = 0; i < copy.Count; i++)
            {
                int j = i;
                while (j < copy.Count && copy[j][0] == "DEL") j++;
                copy.Sort(i, j - i, Comparer<string[]>.Create((x, y) => string.CompareOrdinal(string.Join(' ', x), string.Join(' ', y))));
                i = j;
            }
            return copy;
        }
        Assert.DoesNotContain(redis, c => c[0] == "MULTI");
        AssertSame(Sorted(redis), Sorted(ours));
    }

    [Fact]
    public void Restore()
    {
        using var source = new CommandHarness();
        source.Run("RPUSH", "l", "a", "b");
        string dump = Encoding.Latin1.GetString(source.Execute("DUMP"u8.ToArray(), "l"u8.ToArray()));
        string payload = dump[(dump.IndexOf('\n') + 1)..^2]; // Latin-1: one char per byte, as the script sends it
        Check([
            Cmd("RESTORE", "k", "0", payload), Cmd("RESTORE", "k2", "100000", payload), Cmd("RESTORE", "k", "5000", payload, "REPLACE"),
            Cmd("RESTORE", "k3", "4102444800000", payload, "ABSTTL"), Cmd("RESTORE", "k", "1", payload, "REPLACE", "ABSTTL"),
            Cmd("RESTORE", "k9", "1", payload, "ABSTTL"),
        ]);
    }

    [Fact]
    public void StreamsWithExplicitIdsAndTrimming() => Check([
        Cmd("XADD", "s", "1-1", "f", "v"), Cmd("XADD", "s", "2-*", "f", "v"), Cmd("XADD", "s", "MAXLEN", "~", "1", "3-1", "f", "v"),
        Cmd("XADD", "s", "MAXLEN", "=", "2", "4-1", "f", "v"), Cmd("XADD", "s", "MINID", "3", "5-1", "f", "v"),
        Cmd("XTRIM", "s", "MAXLEN", "~", "0"), Cmd("XTRIM", "s", "MAXLEN", "1"), Cmd("XTRIM", "s", "MAXLEN", "5"),
        Cmd("XADD", "s", "MINID", "~", "0", "LIMIT", "10", "6-1", "f", "v"), Cmd("XDEL", "s", "5-1"), Cmd("XSETID", "s", "9-9"),
        Cmd("XADD", "n", "NOMKSTREAM", "1-1", "f", "v"),
        Cmd("XADD", "t", "1-1", "f", "v"), Cmd("XADD", "t", "2-1", "f", "v"), Cmd("XDEL", "t", "1-1"),
        Cmd("XADD", "t", "MINID", "~", "0", "3-1", "f", "v"), Cmd("XADD", "e", "MAXLEN", "~", "0", "1-1", "f", "v"),
        Cmd("XADD", "e", "MINID", "~", "5", "2-1", "f", "v"),
    ]);

    [Fact]
    public void StreamIdsGeneratedFromTheClock() => Check([
        Cmd("XADD", "s", "*", "f", "v"), Cmd("@sleep", "5"), Cmd("XADD", "s", "*", "g", "w"), Cmd("@sleep", "5"),
        Cmd("XADD", "s", "MAXLEN", "~", "5", "*", "h", "x"), Cmd("XADD", "t", "5-*", "i", "y"), Cmd("XADD", "t", "5-*", "j", "z"),
    ]);

    [Fact]
    public void StreamConsumerGroups() => Check([
        Cmd("XADD", "s", "1-1", "f", "v"), Cmd("XADD", "s", "2-1", "f", "v"), Cmd("XADD", "s", "3-1", "f", "v"),
        Cmd("XGROUP", "CREATE", "s", "g", "0"), Cmd("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"),
        Cmd("XGROUP", "CREATECONSUMER", "s", "g", "c0"), Cmd("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", ">"),
        Cmd("XREADGROUP", "GROUP", "g", "c2", "NOACK", "COUNT", "1", "STREAMS", "s", ">"),
        Cmd("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"), Cmd("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"),
        Cmd("XCLAIM", "s", "g", "c3", "0", "1-1"), Cmd("XCLAIM", "s", "g", "c3", "0", "3-1", "JUSTID"),
        Cmd("XAUTOCLAIM", "s", "g", "c4", "0", "0"), Cmd("XACK", "s", "g", "1-1"), Cmd("XDEL", "s", "3-1"),
        Cmd("XAUTOCLAIM", "s", "g", "c5", "0", "0"), Cmd("XGROUP", "SETID", "s", "g", "1-1"),
        Cmd("XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "2"), Cmd("XGROUP", "DELCONSUMER", "s", "g", "c0"),
        Cmd("XGROUP", "DESTROY", "s", "g2"), Cmd("XGROUP", "DESTROY", "s", "nope"),
    ]);

    [Fact]
    public void BlockedXReadGroupServedLater() => Check([
        Cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), Cmd("@b", "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"),
        Cmd("XADD", "s", "1-1", "f", "v"), Cmd("@breply"),
    ]);

    [Fact]
    public void WriteFailingInsideExecPropagatesNothingForItself() => Check([
        Cmd("SET", "str", "v"), Cmd("MULTI"), Cmd("LPUSH", "str", "x"), Cmd("SET", "ok", "1"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("LPUSH", "str", "x"), Cmd("INCR", "str"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("INCR", "n"), Cmd("LPUSH", "str", "y"), Cmd("EXEC"),
    ]);

    [Fact]
    public void LongPipeline()
    {
        var script = new List<string[]>();
        for (int i = 0; i < 500; i++)
        {
            script.Add(Cmd("SET", $"k{i % 37}", $"v{i}"));
            script.Add(Cmd("INCR", $"n{i % 11}"));
            if (i % 50 == 0) script.Add(Cmd("SELECT", (i / 50 % 3).ToString()));
            if (i % 7 == 0) script.Add(Cmd("LPUSH", "list", $"{i}"));
            if (i % 13 == 0) script.Add(Cmd("GET", $"k{i % 37}"));
        }
        script.Add(Cmd("SELECT", "0"));
        script.Add(Cmd("MULTI"));
        script.Add(Cmd("SET", "in", "tx"));
        script.Add(Cmd("INCRBYFLOAT", "f", "0.5"));
        script.Add(Cmd("EXEC"));
        var (redis, ours) = RunPipelined(script);
        Assert.True(redis.Count > 1000);
        AssertSame(redis, ours);
    }

    [Fact]
    public void MoreWritesByTheDefaultRule() => Check([
        Cmd("PFADD", "p", "a", "b"), Cmd("PFCOUNT", "p"), Cmd("PFCOUNT", "p"), Cmd("PFADD", "p2", "c"), Cmd("PFMERGE", "pm", "p", "p2"),
        Cmd("BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0"), Cmd("BITFIELD", "bf", "GET", "u8", "0"),
        Cmd("BITFIELD_RO", "bf", "GET", "u4", "0"), Cmd("SET", "s1", "ab"), Cmd("BITOP", "NOT", "dest", "s1"),
        Cmd("BITOP", "AND", "dest2", "none"), Cmd("ZADD", "z", "INCR", "1", "m"), Cmd("ZADD", "z", "NX", "INCR", "1", "m"),
        Cmd("RPUSH", "l", "a", "b"), Cmd("LMOVE", "l", "l", "LEFT", "RIGHT"), Cmd("ZRANGESTORE", "zr", "z", "0", "-1"),
        Cmd("SUNIONSTORE", "su", "nope"), Cmd("HSETNX", "h", "f", "1"), Cmd("HSETNX", "h", "f", "2"), Cmd("DECRBY", "n", "5"),
        Cmd("MULTI"), Cmd("RPUSH", "q", "x"), Cmd("BLPOP", "q", "0"), Cmd("BLPOP", "empty", "0"), Cmd("EXEC"),
        Cmd("MULTI"), Cmd("BRPOP", "empty", "0"), Cmd("EXEC"),
    ]);

    [Fact]
    public void ReadsPropagateNothing() => Check([
        Cmd("SET", "s", "hello"), Cmd("RPUSH", "l", "a", "b"), Cmd("HSET", "h", "f", "v"), Cmd("SADD", "st", "m", "n"),
        Cmd("ZADD", "z", "1", "a"), Cmd("XADD", "x", "1-1", "f", "v"), Cmd("XGROUP", "CREATE", "x", "g", "0"),
        Cmd("TOUCH", "s", "l"), Cmd("OBJECT", "ENCODING", "s"), Cmd("GETRANGE", "s", "0", "1"), Cmd("LRANGE", "l", "0", "-1"),
        Cmd("ZRANGE", "z", "0", "-1"), Cmd("XRANGE", "x", "-", "+"), Cmd("XINFO", "STREAM", "x"), Cmd("XPENDING", "x", "g"),
        Cmd("HRANDFIELD", "h"), Cmd("SRANDMEMBER", "st", "2"), Cmd("LPOS", "l", "b"), Cmd("SORT_RO", "l", "ALPHA"), Cmd("DUMP", "s"),
        Cmd("TTL", "s"), Cmd("EXISTS", "s"), Cmd("STRLEN", "s"), Cmd("MGET", "s", "l"), Cmd("SMEMBERS", "st"), Cmd("HGETALL", "h"),
        Cmd("ZSCORE", "z", "a"), Cmd("GETBIT", "s", "1"), Cmd("BITCOUNT", "s"), Cmd("BITPOS", "s", "1"), Cmd("LCS", "s", "s"),
        Cmd("XREAD", "STREAMS", "x", "0"), Cmd("SINTERCARD", "1", "st"), Cmd("ZRANDMEMBER", "z"), Cmd("RANDOMKEY"),
        Cmd("SCAN", "0"), Cmd("KEYS", "*"), Cmd("DBSIZE"), Cmd("TYPE", "h"), Cmd("SELECT", "3"), Cmd("PING"), Cmd("ECHO", "x"),
        Cmd("SET", "end", "v"),
    ]);

    [Fact]
    public void WritesThatChangeNothingPropagateNothing() => Check([
        Cmd("SETBIT", "b", "3", "1"), Cmd("SETBIT", "b", "3", "1"), Cmd("HSET", "h", "f", "v"), Cmd("HSET", "h", "f", "v"),
        Cmd("ZADD", "z", "1", "m"), Cmd("ZADD", "z", "1", "m"), Cmd("ZADD", "z", "XX", "2", "nope"), Cmd("ZINCRBY", "z", "0", "m"),
        Cmd("RPUSH", "l", "a", "b"), Cmd("LTRIM", "l", "0", "-1"), Cmd("LSET", "l", "0", "a"), Cmd("LINSERT", "l", "BEFORE", "zz", "x"),
        Cmd("SREM", "s", "x"), Cmd("HDEL", "h", "nope"), Cmd("ZREM", "z", "nope"), Cmd("PFADD", "p", "a"), Cmd("PFADD", "p", "a"),
        Cmd("SET", "k", "v"), Cmd("RENAME", "k", "k"), Cmd("EXPIRE", "k", "100", "NX"), Cmd("EXPIRE", "k", "100", "NX"),
        Cmd("MSETNX", "k", "1", "q", "2"), Cmd("APPEND", "k", ""), Cmd("SETRANGE", "k", "1", ""), Cmd("INCRBY", "n", "0"),
        Cmd("SINTERSTORE", "dst", "none1", "none2"), Cmd("SADD", "s1", "a"), Cmd("SINTERSTORE", "dst", "s1", "none"),
        Cmd("SMOVE", "s1", "s2", "nope"), Cmd("SMOVE", "s1", "s2", "a"), Cmd("LREM", "l", "0", "a"), Cmd("HINCRBY", "h", "c", "0"),
        Cmd("ZUNIONSTORE", "zu", "1", "none"), Cmd("GETRANGE", "k", "0", "1"), Cmd("PERSIST", "k"), Cmd("PERSIST", "k"),
        Cmd("UNLINK", "q"), Cmd("XADD", "x", "1-1", "f", "v"), Cmd("XDEL", "x", "9-9"), Cmd("XTRIM", "x", "MAXLEN", "5"),
        Cmd("SETEX", "t", "100", "v"), Cmd("EXPIRE", "t", "50", "GT"), Cmd("COPY", "none", "c"), Cmd("MOVE", "none", "1"),
    ]);
}
