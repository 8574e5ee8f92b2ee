using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Demikernel.Runtime;
using Demikernel.Server.Store;

namespace Demikernel.Server.Tests;

/// <summary>
/// The compact keyspace (Store README): slab blocks and their free lists, keys moving between size classes and
/// between the compact and the object form, the accounting staying exact through all of it, SCAN's guarantee and the
/// snapshot's point in time across those moves, and what a key costs.
/// </summary>
public sealed class CompactKeyspaceTests
{
    private readonly VirtualTimeProvider _clock = new();
    private readonly RedisDatabase _db;

    public CompactKeyspaceTests() => _db = new RedisDatabase(0, _clock);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private string? Get(string key) =>
        _db.TryGetString(B(key), out var value) == StoreStatus.Ok ? Encoding.UTF8.GetString(value) : null;

    /// <summary>The running figure against a recount over every key.</summary>
    private static void AssertExact(RedisDatabase db)
    {
        long bytes = 0;
        foreach (var e in db.Entries) bytes += RedisDatabase.CostOf(e, db.ObjectAt(e.Slot));
        Assert.Equal(bytes, db.DataBytes);
    }

    private int SlotOf(string key)
    {
        foreach (var e in _db.Entries)
            if (e.Key.SequenceEqual(B(key))) return e.Slot;
        throw new InvalidOperationException(key + " not found");
    }

    [Fact]
    public void SlabHandsFreedBlocksBackToTheirClassFirst()
    {
        var slab = new Slab();
        long a = slab.Allocate(3), b = slab.Allocate(3), c = slab.Allocate(5);
        Assert.Equal(Slab.BlockBytes(3), (int)(b - a)); // carved one after the other
        slab.Free(a, 3);
        slab.Free(b, 3);
        Assert.Equal(2, slab.FreeCount(3));
        Assert.Equal(0, slab.FreeCount(5));
        Assert.Equal(b, slab.Allocate(3)); // last freed, first reused
        Assert.Equal(a, slab.Allocate(3));
        Assert.Equal(0, slab.FreeCount(3));
        Assert.NotEqual(c, slab.Allocate(5)); // another class never takes them
        Assert.Equal(1, slab.SlabCount);
    }

    [Fact]
    public void SlabGrowsByWholeArraysAndBlocksNeverOverlap()
    {
        var slab = new Slab();
        var blocks = new List<(long Address, int Class)>();
        var random = new Random(7);
        long carved = 0;
        while (carved < 3L << 20)
        {
            int cls = random.Next(Slab.Classes);
            long address = slab.Allocate(cls);
            blocks.Add((address, cls));
            carved += Slab.BlockBytes(cls);
            slab.Span(address, Slab.BlockBytes(cls)).Fill((byte)blocks.Count);
        }
        Assert.InRange(slab.SlabCount, 3, 4);
        Assert.Equal(slab.SlabCount * (1L << 20), slab.ReservedBytes);
        for (int i = 0; i < blocks.Count; i++)
        {
            var (address, cls) = blocks[i];
            Assert.True(slab.Span(address, Slab.BlockBytes(cls)).IndexOfAnyExcept((byte)(i + 1)) < 0, $"block {i} was overwritten");
        }
    }

    [Fact]
    public void ValuesMoveBetweenClassesAndFormsWithExactAccounting()
    {
        var key = B("key:000000000001");
        bool long_ = false;
        for (int n = 0; n <= 700; n += 7)
        {
            var value = Encoding.ASCII.GetBytes(new string((char)('a' + n % 26), n));
            _db.SetString(key, value);
            Assert.Equal(Encoding.ASCII.GetString(value), Get("key:000000000001"));
            long_ |= key.Length + n > Slab.MaxBlock; // from then on an object key
            Assert.Equal(long_, _db.ObjectAt(SlotOf("key:000000000001")) is not null);
            AssertExact(_db);
        }
        // a long value made it an object key; a short SET keeps it one until the cron turns it back
        _db.SetString(key, B("short"));
        Assert.Equal(1, _db.ObjectKeys);
        _db.ActiveExpireCycle(1);
        Assert.Equal(0, _db.ObjectKeys);
        Assert.Equal("short", Get("key:000000000001"));
        Assert.Equal("embstr", _db.ViewAt(SlotOf("key:000000000001")).Encoding);
        AssertExact(_db);
        _db.Delete(key);
        Assert.Equal(0, _db.DataBytes);
    }

    [Fact]
    public void FindMakesAnObjectKeyAndTheCronTurnsItBack()
    {
        _db.SetString(B("s"), B("12345"));
        _db.SetString(B("t"), B("text"), SetFlags.None, _clock.GetUtcNow().ToUnixTimeMilliseconds() + 100_000);
        Assert.True(_db.TryLookup(B("s"), LookupFlags.None, out var view));
        Assert.True(view.IsCompact);
        Assert.Equal(0, _db.ObjectKeys); // reading in place keeps it compact
        var e = _db.Find(B("s"))!;
        Assert.Equal(1, _db.ObjectKeys);
        Assert.Equal("int", e.Encoding);
        Assert.Same(e, _db.Find(B("s"))); // the same entry for the rest of the command
        var t = _db.Find(B("t"))!;
        Assert.True(t.HasExpire);
        AssertExact(_db);
        _db.Append(B("a"), B("x"), long.MaxValue, out _);
        _db.Append(B("a"), B("y"), long.MaxValue, out _); // an appended string grows in place: stays an object
        Assert.Equal(3, _db.ObjectKeys);
        Assert.Equal(2, _db.DemoteSome(100));
        Assert.Equal(1, _db.ObjectKeys);
        Assert.Null(e.Table); // the old entry is no longer the key's
        Assert.Equal("12345", Get("s"));
        Assert.Equal("int", _db.ViewAt(SlotOf("s")).Encoding);
        Assert.True(_db.ViewAt(SlotOf("t")).HasExpire);
        Assert.Equal("raw", _db.ViewAt(SlotOf("a")).Encoding);
        AssertExact(_db);
    }

    [Fact]
    public void DeletedKeysGiveTheirSlotsAndBlocksToNewKeys()
    {
        for (int i = 0; i < 5000; i++) _db.SetString(B($"key:{i:D12}"), B("vvvvvvvvvvvvvvvv"));
        long reserved = _db.SlabReservedBytes;
        long slots = _db.Table.SlotCapacity;
        for (int round = 0; round < 10; round++)
        {
            for (int i = 0; i < 5000; i += 2) Assert.True(_db.Delete(B($"key:{i:D12}")));
            for (int i = 0; i < 5000; i += 2) _db.SetString(B($"key:{i:D12}"), B("wwwwwwwwwwwwwwww"));
        }
        Assert.Equal(reserved, _db.SlabReservedBytes);
        Assert.Equal(slots, _db.Table.SlotCapacity);
        for (int i = 0; i < 5000; i++) Assert.Equal(i % 2 == 0 ? "wwwwwwwwwwwwwwww" : "vvvvvvvvvvvvvvvv", Get($"key:{i:D12}"));
        AssertExact(_db);
    }

    [Fact]
    public void SmallKeysCostASlotAndABlock()
    {
        Assert.Equal(40, Unsafe.SizeOf<KeySlot>());
        const int keys = 100_000;
        long empty = _db.UsedMemory;
        for (int i = 0; i < keys; i++) _db.SetString(B($"key:{i:D12}"), B("vvvvvvvvvvvvvvvv"));
        Assert.Equal(0, _db.ObjectKeys);
        Assert.Equal(keys * (40L + 32), _db.DataBytes);           // 40 B slot + 32 B block (16 B key + 16 B value)
        double perKey = (_db.UsedMemory - empty) / (double)keys; // + the bucket array: 4 B a bucket, ≥ 1 bucket a key
        Assert.InRange(perKey, 72 + 4, 72 + 8.1);
    }

    [Fact]
    public void EntrySizeMatchesTheAccounting()
    {
        var key = new byte[8];
        var entries = new RedisEntry[100];
        NewEntry(key); // JIT first
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < entries.Length; i++) entries[i] = NewEntry(key);
        long perEntry = (GC.GetAllocatedBytesForCurrentThread() - before) / entries.Length;
        Assert.Equal(MemoryCost.Entry, perEntry);
        GC.KeepAlive(entries);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RedisEntry NewEntry(byte[] key) => new(key);

    [Fact]
    public void ScanReturnsStableKeysWhileOthersMoveBetweenFormsAndSlots()
    {
        var stable = new HashSet<string>();
        for (int i = 0; i < 300; i++)
        {
            string k = $"stable:{i}";
            if (i % 3 == 0) _db.SetString(B(k), B(new string('s', 600))); // an object key
            else _db.SetString(B(k), B("v"));
            stable.Add(k);
        }
        var seen = new HashSet<string>();
        var batch = new List<int>();
        var random = new Random(3);
        ulong cursor = 0;
        int step = 0, churn = 0;
        do
        {
            batch.Clear();
            cursor = _db.Scan(cursor, 5, batch);
            foreach (int slot in batch) seen.Add(Encoding.UTF8.GetString(_db.KeyAt(slot)));
            // between calls: grow or shrink the table, reuse freed slots, promote and demote stable keys
            if (step % 4 < 2) for (int i = 0; i < 500; i++) _db.SetString(B($"churn:{churn++}"), B("x"));
            else for (int i = churn - 1; i >= 0; i--) _db.Delete(B($"churn:{i}"));
            _db.Find(B($"stable:{random.Next(300)}"));
            if (step % 3 == 0) _db.DemoteSome(50);
            step++;
        }
        while (cursor != 0 && step < 100_000);
        Assert.Equal(0UL, cursor);
        Assert.Empty(stable.Except(seen));
        AssertExact(_db);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void SnapshotKeepsItsInstantWhileKeysChangeBlockAndForm(int seed)
    {
        using var h = new CommandHarness();
        var random = new Random(seed);
        for (int i = 0; i < 400; i++)
        {
            h.Run("SET", $"k{i}", new string('v', random.Next(0, 80)));
            if (i % 5 == 0) h.Run("PEXPIRE", $"k{i}", "100000");
        }
        var expected = SnapshotTests.Capture(h.Server.Databases, h.Server.NowMs);
        int fresh = 0;
        var image = SnapshotTests.Take(h, random, () =>
        {
            string key = $"k{random.Next(400)}";
            switch (random.Next(9))
            {
                case 0: h.Run("SET", key, new string('w', random.Next(0, 120))); break;  // another class
                case 1: h.Run("SET", key, new string('l', 600)); break;                    // an object key
                case 2: h.Run("APPEND", key, "more"); break;                               // an object key, raw
                case 3: h.Run("OBJECT", "ENCODING", key); break;                           // Find: an object key
                case 4: h.Db.DemoteSome(50); break;                                        // back to compact
                case 5: h.Run("DEL", key); break;
                case 6: h.Run("SET", $"new{fresh++}", "born after"); break;                // reuses freed slots and blocks
                case 7: h.Run("INCR", key); break;
                default: h.Run("RENAME", key, $"k{random.Next(400)}"); break;
            }
        });
        Assert.Equal(expected, SnapshotTests.Load(image, h.Server.Databases.Length, h.Clock, h.Server.NowMs));
        AssertExact(h.Db);
    }

    [Fact]
    public void ReadCommandsLeaveKeysCompact()
    {
        using var h = new CommandHarness();
        h.Run("SET", "k", "value");
        h.Run("SET", "n", "10");
        h.Run("EXPIRE", "k", "1000");
        foreach (var command in new[]
                 {
                     new[] { "GET", "k" }, ["MGET", "k", "n"], ["EXISTS", "k"], ["TYPE", "k"], ["TTL", "k"], ["PTTL", "k"],
                     ["STRLEN", "k"], ["GETRANGE", "k", "0", "2"], ["INCR", "n"], ["SET", "k", "other"], ["EXPIRE", "k", "50"],
                     ["PERSIST", "k"], ["TOUCH", "k"], ["SCAN", "0"], ["KEYS", "*"], ["RANDOMKEY"],
                 })
        {
            h.Run(command);
            Assert.Equal(0, h.Db.ObjectKeys);
        }
        Assert.Equal(":-1\r\n", h.Run("TTL", "k"));
        Assert.Equal("$2\r\n11\r\n", h.Run("GET", "n"));
    }

    /// <summary>Commands that only read a string, and commands that refuse one with WRONGTYPE, see a compact key in
    /// place: turning it into an object key costs 272 bytes, enough to make the next command evict at maxmemory.</summary>
    [Theory]
    [InlineData(":1", "GETBIT", "k", "1")]
    [InlineData(":40", "BITCOUNT", "k")]
    [InlineData(":1", "BITPOS", "k", "1")]
    [InlineData("*1", "BITFIELD_RO", "k", "GET", "u8", "0")]
    [InlineData("*1", "BITFIELD", "k", "GET", "u8", "0")]
    [InlineData(":9", "BITOP", "AND", "dest", "k", "n")]
    [InlineData("$5", "LCS", "k", "n")]
    [InlineData("$9", "GETEX", "k")]
    [InlineData("$9", "GETEX", "k", "PERSIST")]
    [InlineData("$", "DUMP", "k")]
    [InlineData("*2", "SCAN", "0", "TYPE", "string")]
    [InlineData("*3", "SORT", "l", "BY", "w_*", "GET", "w_*")]
    [InlineData("-WRONGTYPE", "SORT", "k")]
    [InlineData("-WRONGTYPE", "LRANGE", "k", "0", "-1")]
    [InlineData("-WRONGTYPE", "LPUSH", "k", "x")]
    [InlineData("-WRONGTYPE", "HGET", "k", "f")]
    [InlineData("-WRONGTYPE", "HSET", "k", "f", "v")]
    [InlineData("-WRONGTYPE", "HDEL", "k", "f")]
    [InlineData("-WRONGTYPE", "SMEMBERS", "k")]
    [InlineData("-WRONGTYPE", "SPOP", "k", "1")]
    [InlineData("-WRONGTYPE", "SMOVE", "k", "set", "m")]
    [InlineData("-WRONGTYPE", "SMOVE", "set", "k", "m")]
    [InlineData("-WRONGTYPE", "ZPOPMIN", "k")]
    [InlineData("-WRONGTYPE", "BZPOPMIN", "k", "0")]
    [InlineData("-WRONGTYPE", "ZUNION", "1", "k")]
    [InlineData("-WRONGTYPE", "ZUNIONSTORE", "dest", "1", "k")]
    [InlineData("-WRONGTYPE", "XRANGE", "k", "-", "+")]
    [InlineData("-WRONGTYPE", "XADD", "k", "*", "f", "v")]
    [InlineData("+Value at:", "DEBUG", "OBJECT", "k")]
    [InlineData("-ERR Not a listpack", "DEBUG", "LISTPACK", "k")]
    [InlineData("-ERR value is not a valid float", "INCRBYFLOAT", "k", "x")]
    [InlineData(":4", "PFCOUNT", "h1", "h2")]
    [InlineData("+OK", "PFMERGE", "h3", "h1", "h2")]
    public void ReadsAndRefusalsOfACompactStringLeaveItCompact(string reply, params string[] command)
    {
        using var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        h.Run("SET", "k", "value:one");
        h.Run("SET", "n", "value"); // BITOP AND k n: 5 bytes; LCS k n: "value"
        h.Run("RPUSH", "l", "1", "2", "3");
        h.Run("SADD", "set", "m");
        for (int i = 1; i <= 3; i++) h.Run("SET", $"w_{i}", (4 - i).ToString(CultureInfo.InvariantCulture));
        // HyperLogLogs as SET would store their bytes (PFADD's own are raw-form object keys, which the cron keeps)
        foreach (var (key, elements) in new[] { ("h1", new[] { "a", "b", "c" }), ("h2", ["d"]) })
        {
            h.Run(["PFADD", "hll", .. elements]);
            Assert.Equal(StoreStatus.Ok, h.Db.TryGetString(B("hll"), out var hll));
            h.Db.SetString(B(key), hll.ToArray());
            h.Run("DEL", "hll");
        }
        if (command[0] == "SCAN") command = [.. command, "COUNT", "100"];
        string[] compact = ["k", "n", "w_1", "w_2", "w_3", "h1", "h2"];
        bool IsCompact(string key) => h.Db.ObjectAt(h.Db.FindStoredSlot(B(key))) is null;
        Assert.All(compact, key => Assert.True(IsCompact(key), key));
        long used = h.Server.UsedMemory;

        string answer = h.Run(command);

        Assert.StartsWith(reply, answer, StringComparison.Ordinal);
        foreach (var key in compact) Assert.True(IsCompact(key), key + " became an object key");
        if (command[0] is not ("BITOP" or "PFMERGE")) Assert.Equal(used, h.Server.UsedMemory); // (those store a result)
    }

    [Fact]
    public void SetGetIncrAcrossSizeClassesAllocateNothing()
    {
        var key = B("key:000000000001");
        var counter = B("counter");
        var small = B("vvvvvvvvvvvvvvvv");
        var large = B(new string('w', 100)); // another size class: the key moves between two blocks
        _db.SetString(key, small);
        _db.SetString(key, large);
        _db.SetString(key, small);
        _db.IncrementBy(counter, 1, out _);
        int i = 0;
        Assert.Equal(0, AllocationGate.SteadyStateBytes(() =>
        {
            _db.SetString(key, (i++ & 1) == 0 ? small : large);
            _db.TryGetString(key, out _);
            _db.TryLookup(key, LookupFlags.None, out _);
            _db.IncrementBy(counter, 1, out _);
        }));
        Assert.Equal(0, _db.ObjectKeys);
        AssertExact(_db);
    }

    [Fact]
    public void CountersKeepTheirValue()
    {
        string? last = null;
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(StoreStatus.Ok, _db.IncrementBy(B("c"), i % 2 == 0 ? 1_000_000_007 : -3, out long result));
            last = result.ToString(CultureInfo.InvariantCulture);
        }
        Assert.Equal(last, Get("c"));
        AssertExact(_db);
    }
}
