using System.Globalization;
using System.Text;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>
/// The memory bound: the store's own accounting of used memory, maxmemory's policies (each one's choice visible),
/// -OOM under noeviction, CONFIG SET of the maxmemory parameters, OBJECT FREQ / IDLETIME under LRU and LFU.
/// </summary>
public sealed class MaxMemoryTests
{
    private static long Used(CommandHarness h) => h.Server.UsedMemory;

    private static long Info(CommandHarness h, string section, string field)
    {
        string text = h.Run("INFO", section);
        foreach (var line in text.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..], CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"INFO {section} has no {field}:\n{text}");
    }

    /// <summary>The database's figure recomputed from scratch over every entry (what the incremental count must equal).</summary>
    private static long Recount(RedisDatabase db)
    {
        long bytes = 0;
        foreach (var e in db.Entries)
            bytes += RedisDatabase.CostOf(e, db.ObjectAt(e.Slot));
        return bytes;
    }

    private static string Key(int i) => "key:" + i.ToString("D6", CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------ accounting

    [Fact]
    public void AccountingFollowsEveryChangeAndReturnsToItsBaseline()
    {
        using var h = new CommandHarness();
        long empty = Used(h);
        Assert.Equal(empty, Info(h, "memory", "used_memory"));
        h.Run("SET", "s", new string('x', 1000));
        long oneString = Used(h) - empty;
        // longer than a slab block: the value array, its slot, entry and key array, and the object index's first 16 slots
        Assert.InRange(oneString, 1000 + 150, 1000 + 350);
        h.Run("APPEND", "s", new string('y', 5000));
        h.Run("SETRANGE", "r", "100", "z");
        h.Run("INCR", "n");
        h.Run("INCRBYFLOAT", "f", "1.5");
        h.Run("SETBIT", "b", "10000", "1");
        h.Run("PFADD", "p", "a", "b", "c");
        for (int i = 0; i < 300; i++)
        {
            string m = "member-" + i.ToString(CultureInfo.InvariantCulture);
            h.Run("RPUSH", "l", m);
            h.Run("SADD", "set", m);
            h.Run("SADD", "ints", i.ToString(CultureInfo.InvariantCulture));
            h.Run("HSET", "h", m, new string('v', i % 70));
            h.Run("ZADD", "z", i.ToString(CultureInfo.InvariantCulture), m);
            h.Run("XADD", "x", "*", "f", m);
        }
        h.Run("XGROUP", "CREATE", "x", "g", "0");
        h.Run("XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "STREAMS", "x", ">");
        h.Run("SET", "t", "v", "EX", "100");
        Assert.Equal(Recount(h.Db), h.Db.DataBytes);
        long full = Used(h);
        Assert.True(full - empty > 300 * 5 * 20, $"{full - empty} bytes for 1500 members");

        // changes in place, renames, moves and copies keep the count exact
        for (int i = 0; i < 100; i++)
        {
            string m = "member-" + i.ToString(CultureInfo.InvariantCulture);
            h.Run("LPOP", "l");
            h.Run("SREM", "set", m);
            h.Run("HDEL", "h", m);
            h.Run("HSET", "h", "member-200", new string('w', i));
            h.Run("ZREM", "z", m);
        }
        h.Run("XTRIM", "x", "MAXLEN", "50");
        h.Run("XDEL", "x", "0-1");
        h.Run("LTRIM", "l", "0", "9");
        h.Run("RENAME", "s", "s2");
        h.Run("COPY", "h", "h2");
        h.Run("MOVE", "z", "1");
        h.Run("SET", "l", "now a string");
        h.Run("SET", "s2", "shorter");
        Assert.Equal(Recount(h.Db), h.Db.DataBytes);
        Assert.Equal(Recount(h.Server.Databases[1]), h.Server.Databases[1].DataBytes);

        h.Run("FLUSHALL");
        Assert.Equal(empty, Used(h));
    }

    [Fact]
    public void DeletingEveryKeyOneByOneGivesBackEverything()
    {
        using var h = new CommandHarness();
        long empty = Used(h);
        for (int i = 0; i < 2000; i++) h.Run("SET", Key(i), new string('v', i % 100), "PX", "100000000");
        for (int i = 0; i < 50; i++) h.Run("LPUSH", "list" + i, "a", "b", "c");
        Assert.True(Used(h) > empty + 2000 * 100);
        for (int i = 0; i < 2000; i++) h.Run("DEL", Key(i));
        for (int i = 0; i < 50; i++)
        {
            h.Run("LPOP", "list" + i, "2");
            h.Run("LPOP", "list" + i);
        }
        Assert.Equal(0, h.Db.DataBytes);
        // the bucket array shrank back; the TTL array keeps its last 64 slots (as the database shrinks it), the object
        // index its capacity (the lists were objects)
        Assert.Equal(empty + MemoryCost.Array(64, MemoryCost.TtlSlot) + MemoryCost.Array(h.Db.Table.Objects.Length, MemoryCost.Reference), Used(h));
    }

    // ------------------------------------------------------------------ configuration

    [Fact]
    public void ConfigSetTakesRedisUnitsAndChecksRanges()
    {
        using var h = new CommandHarness();
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "maxmemory", "50mb"));
        Assert.Equal(BulkArray("maxmemory", "52428800"), h.Run("CONFIG", "GET", "maxmemory"));
        Assert.Equal(52428800, Info(h, "memory", "maxmemory"));
        Assert.Contains("maxmemory_human:50.00M\r\n", h.Run("INFO", "memory"), StringComparison.Ordinal);
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "maxmemory", "1gb"));
        Assert.Equal(BulkArray("maxmemory", "1073741824"), h.Run("CONFIG", "GET", "maxmemory"));
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
            h.Run("CONFIG", "SET", "maxmemory", "-1"));
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LFU"));
        Assert.Equal(BulkArray("maxmemory-policy", "allkeys-lfu"), h.Run("CONFIG", "GET", "maxmemory-policy"));
        Assert.Contains("maxmemory_policy:allkeys-lfu\r\n", h.Run("INFO", "memory"), StringComparison.Ordinal);
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
            h.Run("CONFIG", "SET", "maxmemory-policy", "lru"));
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"),
            h.Run("CONFIG", "SET", "maxmemory-samples", "0"));
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "maxmemory-samples", "10"));
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-eviction-tenacity') - argument must be between 0 and 100 inclusive"),
            h.Run("CONFIG", "SET", "maxmemory-eviction-tenacity", "101"));
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "maxmemory-eviction-tenacity", "100"));
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument must be between 0 and 2147483647 inclusive"),
            h.Run("CONFIG", "SET", "lfu-log-factor", "-1"));
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "lfu-log-factor", "0"));
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "lfu-decay-time", "0"));
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "lazyfree-lazy-eviction", "yes"));
        Assert.Equal(Ok, h.Run("CLIENT", "NO-EVICT", "on"));
        Assert.Contains(" flags=e ", h.Run("CLIENT", "INFO"), StringComparison.Ordinal);
        Assert.Equal(Ok, h.Run("CLIENT", "NO-EVICT", "off"));
        Assert.Contains(" flags=N ", h.Run("CLIENT", "INFO"), StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ noeviction, OOM

    [Fact]
    public void NoEvictionRefusesDenyOomCommandsAndKeepsServingReadsAndDeletes()
    {
        using var h = new CommandHarness();
        for (int i = 0; i < 100; i++) h.Run("SET", Key(i), new string('v', 100));
        h.Run("CONFIG", "SET", "maxmemory", (Used(h) - 1000).ToString(CultureInfo.InvariantCulture));
        const string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        Assert.Equal(oom, h.Run("SET", "new", "v"));
        Assert.Equal(oom, h.Run("LPUSH", "l", "v"));
        Assert.Equal(oom, h.Run("APPEND", Key(1), "more"));
        Assert.Equal(Bulk(new string('v', 100)), h.Run("GET", Key(1)));
        Assert.Equal(Int(100), h.Run("DBSIZE"));
        Assert.Equal(0, Info(h, "stats", "evicted_keys"));
        // in MULTI every command but EXEC/DISCARD is refused, and EXEC then aborts
        Assert.Equal(Ok, h.Run("MULTI"));
        Assert.Equal(oom, h.Run("GET", Key(1)));
        Assert.Equal(Err("EXECABORT Transaction discarded because of previous errors."), h.Run("EXEC"));
        // a DEL (not denyoom) frees memory; then writes are accepted again
        for (int i = 0; i < 20; i++) Assert.Equal(Int(1), h.Run("DEL", Key(i)));
        Assert.Equal(Ok, h.Run("SET", "new", "v"));
    }

    [Fact]
    public void ExecOfQueuedDenyOomCommandsIsAbortedWhenMemoryRanOutMeanwhile()
    {
        using var h = new CommandHarness();
        for (int i = 0; i < 100; i++) h.Run("SET", Key(i), new string('v', 100));
        Assert.Equal(Ok, h.Run("MULTI"));
        Assert.Equal("+QUEUED\r\n", h.Run("SET", "x", "y"));
        // another client lowers the limit while this one is in MULTI (the harness's client: run it outside MULTI)
        h.Client.InMulti = false;
        h.Run("CONFIG", "SET", "maxmemory", "1000");
        h.Client.InMulti = true;
        Assert.Equal(Err("EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."), h.Run("EXEC"));
    }

    [Fact]
    public void ExecCountsAQueuedScriptByItsDeclaredFlags()
    {
        using var h = new CommandHarness();
        for (int i = 0; i < 100; i++) h.Run("SET", Key(i), new string('v', 100));
        const string aborted = "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n";
        // a shebang script without allow-oom is denyoom (getCommandFlags), so EXEC is refused as a whole
        Assert.Equal(Ok, h.Run("MULTI"));
        Assert.Equal("+QUEUED\r\n", h.Run("EVAL", "#!lua\nreturn redis.call('set', 'x', 'y')", "0"));
        h.Client.InMulti = false;
        h.Run("CONFIG", "SET", "maxmemory", "1000");
        h.Client.InMulti = true;
        Assert.Equal(aborted, h.Run("EXEC"));
        // a script without shebang is not: EXEC runs it, and its first denyoom call fails (scriptVerifyOOM)
        h.Run("CONFIG", "SET", "maxmemory", "0");
        Assert.Equal(Ok, h.Run("MULTI"));
        Assert.Equal("+QUEUED\r\n", h.Run("EVAL", "return redis.call('set', 'x', 'y')", "0"));
        Assert.Equal("+QUEUED\r\n", h.Run("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'x', 'z')", "0"));
        h.Client.InMulti = false;
        h.Run("CONFIG", "SET", "maxmemory", "1000");
        h.Client.InMulti = true;
        string reply = h.Run("EXEC");
        Assert.StartsWith("*2\r\n-OOM command not allowed when used memory > 'maxmemory'. script: ", reply);
        Assert.EndsWith("+OK\r\n", reply);
        Assert.Equal(Bulk("z"), h.Run("GET", "x"));
    }

    // ------------------------------------------------------------------ the policies' choices

    /// <summary>Fills <paramref name="count"/> keys, then sets the limit to the memory used now.</summary>
    private static void FillAndCap(CommandHarness h, int count, Func<int, string[]>? command = null)
    {
        for (int i = 0; i < count; i++) h.Run(command?.Invoke(i) ?? ["SET", Key(i), new string('v', 100)]);
        h.Run("CONFIG", "SET", "maxmemory", Used(h).ToString(CultureInfo.InvariantCulture));
    }

    private static int Surviving(CommandHarness h, IEnumerable<int> keys) => keys.Count(i => h.Db.Exists(Encoding.ASCII.GetBytes(Key(i))));

    [Theory]
    [InlineData("allkeys-lru")]
    [InlineData("volatile-lru")]
    public void LruKeepsRecentlyReadKeys(string policy)
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", policy);
        FillAndCap(h, 1000, i => ["SET", Key(i), new string('v', 100), "EX", "100000"]);
        h.AdvanceMs(10_000);
        _ = h.Db.NowMs; // the LRU clock moves with the cron; here by hand
        for (int i = 0; i < 100; i++) h.Run("GET", Key(i));
        h.AdvanceMs(10_000);
        _ = h.Db.NowMs;
        for (int i = 1000; i < 1300; i++) h.Run("SET", Key(i), new string('v', 100), "EX", "100000");
        long evicted = Info(h, "stats", "evicted_keys");
        Assert.InRange(evicted, 280, 320);
        Assert.True(Used(h) <= h.Server.Memory.Limit);
        // LRU: the 100 keys read are (almost all) kept; a random choice would lose about evicted / 1300 of them (~23%)
        Assert.True(Surviving(h, Enumerable.Range(0, 100)) >= 98, $"{Surviving(h, Enumerable.Range(0, 100))} of the 100 read keys survived");
        Assert.True(Surviving(h, Enumerable.Range(1000, 300)) >= 290);
    }

    [Fact]
    public void LfuKeepsFrequentlyHitKeys()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
        // frequency alone: with decay on, a minute boundary of the clock passing mid-test takes one off every hit
        // key's counter, and those at 6 then tie with the new keys at LFU_INIT_VAL (decay has its own test)
        h.Run("CONFIG", "SET", "lfu-decay-time", "0");
        FillAndCap(h, 1000);
        Assert.Equal(Int(5), h.Run("OBJECT", "FREQ", Key(500))); // LFU_INIT_VAL
        for (int round = 0; round < 30; round++)
            for (int i = 0; i < 100; i++) h.Run("GET", Key(i));
        Assert.True(long.Parse(h.Run("OBJECT", "FREQ", Key(0)).Trim(':', '\r', '\n'), CultureInfo.InvariantCulture) > 5);
        for (int i = 1000; i < 1300; i++) h.Run("SET", Key(i), new string('v', 100));
        Assert.InRange(Info(h, "stats", "evicted_keys"), 280, 320);
        Assert.True(Surviving(h, Enumerable.Range(0, 100)) >= 98, $"{Surviving(h, Enumerable.Range(0, 100))} of the 100 hit keys survived");
    }

    [Theory]
    [InlineData("allkeys-lfu", "FREQ")]
    [InlineData("allkeys-lru", "IDLETIME")]
    [InlineData("allkeys-lru", "ENCODING")]
    [InlineData("allkeys-lru", "REFCOUNT")]
    public void ObjectLeavesACompactKeyCompactAndEvictsNothing(string policy, string subcommand)
    {
        // OBJECT used to see a compact key as an entry (272 more bytes): at maxmemory, the next command evicted for it,
        // random keys of equal rank (a one-in-a-few-hundred failure of LfuKeepsFrequentlyHitKeys in CI).
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", policy);
        FillAndCap(h, 1000);
        long used = Used(h);
        for (int i = 0; i < 100; i++) Assert.False(h.Run("OBJECT", subcommand, Key(i)).StartsWith('-'), subcommand);
        Assert.Equal(used, Used(h));
        h.Run("GET", Key(0));
        Assert.Equal(0, Info(h, "stats", "evicted_keys"));
    }

    [Fact]
    public void LfuCounterDecaysByTheMinute()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
        h.Run("CONFIG", "SET", "lfu-log-factor", "0"); // every hit counts
        h.Run("SET", "k", "v");
        for (int i = 0; i < 20; i++) h.Run("GET", "k");
        Assert.Equal(Int(25), h.Run("OBJECT", "FREQ", "k"));
        h.AdvanceMs(5 * 60_000);
        Assert.Equal(Int(20), h.Run("OBJECT", "FREQ", "k")); // lfu-decay-time 1: one per minute
        h.Run("CONFIG", "SET", "lfu-decay-time", "5");
        Assert.Equal(Int(24), h.Run("OBJECT", "FREQ", "k"));
        Assert.Equal(Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
            h.Run("OBJECT", "IDLETIME", "k"));
        h.Run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
        Assert.Equal(Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
            h.Run("OBJECT", "FREQ", "k"));
        h.Run("SET", "k", "w");
        h.AdvanceMs(7000);
        Assert.Equal(Int(7), h.Run("OBJECT", "IDLETIME", "k"));
    }

    [Fact]
    public void RestoreSetsTheFieldThePolicyTracks()
    {
        using var h = new CommandHarness();
        h.Run("SET", "k", "v");
        byte[] payload = h.Execute(Encoding.ASCII.GetBytes("DUMP"), Encoding.ASCII.GetBytes("k"));
        int header = System.Array.IndexOf(payload, (byte)'\n') + 1;
        byte[] dump = payload[header..^2];
        byte[] B(string s) => Encoding.ASCII.GetBytes(s);
        Assert.Equal(Ok, Encoding.ASCII.GetString(h.Execute(B("RESTORE"), B("lru"), B("0"), dump, B("IDLETIME"), B("1000"))));
        Assert.Equal(Int(1000), h.Run("OBJECT", "IDLETIME", "lru"));
        h.Run("CONFIG", "SET", "maxmemory-policy", "volatile-lfu");
        Assert.Equal(Ok, Encoding.ASCII.GetString(h.Execute(B("RESTORE"), B("lfu"), B("0"), dump, B("FREQ"), B("100"))));
        Assert.Equal(Int(100), h.Run("OBJECT", "FREQ", "lfu"));
        Assert.Equal(Ok, Encoding.ASCII.GetString(h.Execute(B("RESTORE"), B("plain"), B("0"), dump, B("IDLETIME"), B("1000"))));
        Assert.Equal(Int(5), h.Run("OBJECT", "FREQ", "plain")); // IDLETIME means nothing under LFU
    }

    [Theory]
    [InlineData("volatile-lru")]
    [InlineData("volatile-lfu")]
    [InlineData("volatile-random")]
    [InlineData("volatile-ttl")]
    public void VolatilePoliciesNeverEvictKeysWithoutTtl(string policy)
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", policy);
        FillAndCap(h, 1000, i => i % 2 == 0 ? ["SET", Key(i), new string('v', 100)] : ["SET", Key(i), new string('v', 100), "EX", "100000"]);
        for (int i = 1000; i < 1300; i++) h.Run("SET", Key(i), new string('v', 100), "EX", "100000");
        Assert.Equal(500, Surviving(h, Enumerable.Range(0, 500).Select(i => i * 2)));
        Assert.InRange(Info(h, "stats", "evicted_keys"), 280, 320);
        // writes without TTL push every key with one out, then nothing is evictable: -OOM
        string reply = "";
        for (int i = 2000; i < 4000 && !reply.StartsWith("-OOM", StringComparison.Ordinal); i++) reply = h.Run("SET", Key(i), new string('v', 100));
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.\r\n", reply);
        Assert.Equal(0, h.Db.ExpiresCount);
        Assert.Equal(500, Surviving(h, Enumerable.Range(0, 500).Select(i => i * 2)));
    }

    [Fact]
    public void VolatileTtlEvictsTheSoonestExpiriesFirst()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", "volatile-ttl");
        h.Run("CONFIG", "SET", "maxmemory-samples", "10");
        // TTLs in shuffled order, so that neither insertion order nor bucket order lines up with them
        var ttls = Enumerable.Range(0, 1000).OrderBy(i => (i * 7919) % 1000).ToArray();
        FillAndCap(h, 1000, i => ["SET", Key(i), new string('v', 100), "EX", (10_000 + ttls[i]).ToString(CultureInfo.InvariantCulture)]);
        for (int i = 1000; i < 1200; i++) h.Run("SET", Key(i), new string('v', 100), "EX", "50000");
        var evicted = Enumerable.Range(0, 1000).Where(i => !h.Db.Exists(Encoding.ASCII.GetBytes(Key(i)))).ToArray();
        Assert.InRange(evicted.Length, 180, 220);
        // almost all of them among the 300 soonest expiries (a random choice would put 70% of them elsewhere)
        int early = evicted.Count(i => ttls[i] < 300);
        Assert.True(early >= evicted.Length * 9 / 10, $"{early} of {evicted.Length} evicted keys were among the 300 soonest");
        Assert.Equal(200, Surviving(h, Enumerable.Range(1000, 200)));
    }

    [Fact]
    public void AllKeysRandomEvictsAcrossDatabases()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", "allkeys-random");
        for (int i = 0; i < 500; i++) h.Run("SET", Key(i), new string('v', 100));
        h.Run("SELECT", "3");
        FillAndCap(h, 500);
        for (int i = 500; i < 700; i++) h.Run("SET", Key(i), new string('v', 100));
        Assert.InRange(Info(h, "stats", "evicted_keys"), 180, 220);
        Assert.True(h.Server.Databases[0].Count < 500, "database 0 lost keys too");
        Assert.True(Used(h) <= h.Server.Memory.Limit);
    }

    [Fact]
    public void LoweringMaxmemoryEvictsAtOnceAndPropagatesADelPerKey()
    {
        using var h = new CommandHarness();
        var effects = new StreamConsumer { RecordUnits = true };
        h.Server.Effects.Add(effects);
        h.Run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
        h.Run("CONFIG", "SET", "maxmemory-eviction-tenacity", "100"); // no time limit: all of it now
        for (int i = 0; i < 1000; i++) h.Run("SET", Key(i), new string('v', 100));
        long before = Used(h);
        effects.Units.Clear();
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "maxmemory", (before / 2).ToString(CultureInfo.InvariantCulture)));
        Assert.Equal("+PONG\r\n", h.Run("PING"));
        Assert.True(Used(h) <= before / 2);
        long evicted = Info(h, "stats", "evicted_keys");
        Assert.InRange(evicted, 450, 550);
        Assert.Equal(1000 - evicted, h.Db.Count);
        // one unit per evicted key (a DEL of its own); CONFIG SET itself is not propagated
        string log = Encoding.ASCII.GetString(effects.Output.WrittenSpan);
        Assert.Equal(evicted, effects.Units.Count);
        Assert.Equal(evicted, log.Split("*2\r\n$3\r\nDEL\r\n").Length - 1);
        h.Run("CONFIG", "SET", "lazyfree-lazy-eviction", "yes");
        h.Run("CONFIG", "SET", "maxmemory", (before / 4).ToString(CultureInfo.InvariantCulture));
        h.Run("PING");
        Assert.Contains("*2\r\n$6\r\nUNLINK\r\n", Encoding.ASCII.GetString(effects.Output.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void AnEvictedKeyBreaksTheWatchOnIt()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "maxmemory-policy", "allkeys-random");
        h.Run("CONFIG", "SET", "maxmemory-eviction-tenacity", "100");
        long empty = Used(h);
        for (int i = 0; i < 10; i++) h.Run("SET", Key(i), "v");
        Assert.Equal(Ok, h.Run("WATCH", Key(0), Key(1), Key(2), Key(3), Key(4), Key(5), Key(6), Key(7), Key(8), Key(9)));
        h.Run("CONFIG", "SET", "maxmemory", (empty + 1).ToString(CultureInfo.InvariantCulture));
        Assert.Equal(Int(0), h.Run("DBSIZE"));
        Assert.Equal(Ok, h.Run("MULTI"));
        Assert.Equal("+QUEUED\r\n", h.Run("PING"));
        Assert.Equal(NilArray, h.Run("EXEC"));
    }
}
