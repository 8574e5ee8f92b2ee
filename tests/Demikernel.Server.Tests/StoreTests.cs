using Demikernel.Resp;
using System.Text;
using Demikernel.Runtime;
using Demikernel.Server.Store;

namespace Demikernel.Server.Tests;

public class StoreTests
{
    private readonly VirtualTimeProvider _clock = new();
    private readonly ServerStats _stats = new();
    private readonly RedisDatabase _db;

    public StoreTests() => _db = new RedisDatabase(0, _clock) { Stats = _stats };

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private string? Get(string key) =>
        _db.TryGetString(B(key), out var value) == StoreStatus.Ok ? Encoding.UTF8.GetString(value) : null;

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    [Fact]
    public void SetGetDeleteAndCount()
    {
        Assert.Null(Get("a"));
        _db.SetString(B("a"), B("1"));
        _db.SetString(B("b"), B("2"));
        Assert.Equal("1", Get("a"));
        Assert.Equal(2, _db.Count);
        Assert.True(_db.Delete(B("a")));
        Assert.False(_db.Delete(B("a")));
        Assert.Null(Get("a"));
        Assert.Equal(1, _db.Count);
        _db.Clear();
        Assert.Equal(0, _db.Count);
        Assert.Null(Get("b"));
    }

    [Fact]
    public void ManyKeysSurviveGrowAndShrink()
    {
        for (int i = 0; i < 10_000; i++) _db.SetString(B($"key:{i}"), B($"v{i}"));
        Assert.Equal(10_000, _db.Count);
        for (int i = 0; i < 10_000; i++) Assert.Equal($"v{i}", Get($"key:{i}"));
        for (int i = 0; i < 9_990; i++) Assert.True(_db.Delete(B($"key:{i}")));
        Assert.Equal(10, _db.Count);
        for (int i = 9_990; i < 10_000; i++) Assert.Equal($"v{i}", Get($"key:{i}"));
        int seen = 0;
        foreach (var e in _db.Entries) seen++;
        Assert.Equal(10, seen);
    }

    [Fact]
    public void OverwriteWithSameLengthReusesTheBytes()
    {
        // a compact key: the same slab block
        _db.SetString(B("k"), B("abc"));
        int slot = SlotOf("k");
        long block = _db.Table.At(slot).Addr;
        _db.SetString(B("k"), B("xyz"));
        Assert.Equal(block, _db.Table.At(slot).Addr);
        Assert.Equal("xyz", Get("k"));
        // an object key (a command looked it up): the same array
        var e = _db.Find(B("k"))!;
        var before = e.Bytes;
        _db.SetString(B("k"), B("uvw"));
        Assert.Same(before, _db.Find(B("k"))!.Bytes);
        Assert.Equal("uvw", Get("k"));
        // much shorter values get a right-sized array back
        _db.SetString(B("k"), new byte[1000]);
        _db.SetString(B("k"), B("a"));
        Assert.True(_db.Find(B("k"))!.Bytes.Length < 100);
    }

    private int SlotOf(string key)
    {
        foreach (var e in _db.Entries)
            if (e.Key.SequenceEqual(B(key))) return e.Slot;
        return -1;
    }

    [Fact]
    public void GetAndSetOfExistingKeyAllocateNothing()
    {
        var key = B("key:000000000001");
        var v1 = B("xxx");
        var v2 = B("yyy");
        _db.SetString(key, v1);
        int i = 0;
        Assert.Equal(0, AllocationGate.SteadyStateBytes(() =>
        {
            _db.SetString(key, (i++ & 1) == 0 ? v1 : v2);
            _db.TryGetString(key, out _);
            _db.Find(key);
        }));
    }

    [Fact]
    public void IncrementInPlaceAllocatesNothingInSteadyState()
    {
        var key = B("counter");
        long calls = 0;
        Assert.Equal(0, AllocationGate.SteadyStateBytes(() => { _db.IncrementBy(key, 7, out _); calls++; }));
        Assert.Equal(StoreStatus.Ok, _db.IncrementBy(key, 0, out long value));
        Assert.Equal(7L * calls, value);
    }

    [Fact]
    public void LazyExpiryDeletesOnAccessAndCounts()
    {
        _db.SetString(B("k"), B("v"), SetFlags.None, Now + 1000);
        Assert.Equal(1, _db.ExpiresCount);
        _clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.Equal("v", Get("k")); // expires when now > deadline, as Redis
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _db.Count); // still stored until touched
        Assert.Null(Get("k"));
        Assert.Equal(0, _db.Count);
        Assert.Equal(0, _db.ExpiresCount);
        Assert.Equal(1, _stats.ExpiredKeys);
    }

    [Fact]
    public void WritesOverExpiredKeysStartFresh()
    {
        _db.SetString(B("k"), B("v"), SetFlags.None, Now + 10);
        _clock.Advance(TimeSpan.FromMilliseconds(20));
        // KEEPTTL on an expired key must not resurrect the old deadline
        Assert.Equal(StoreStatus.Ok, _db.SetString(B("k"), B("w"), SetFlags.IfNotExists | SetFlags.KeepTtl));
        Assert.Equal(-1, _db.Find(B("k"))!.ExpireAtMs);
        Assert.Equal(1, _stats.ExpiredKeys);
    }

    [Fact]
    public void ActiveExpiryReclaimsUntouchedKeys()
    {
        for (int i = 0; i < 1000; i++) _db.SetString(B($"t:{i}"), B("v"), SetFlags.None, Now + 100);
        for (int i = 0; i < 1000; i++) _db.SetString(B($"p:{i}"), B("v"));
        for (int i = 0; i < 10; i++) _db.SetString(B($"long:{i}"), B("v"), SetFlags.None, Now + 1_000_000);
        Assert.Equal(1010, _db.ExpiresCount);
        Assert.Equal(0, _db.ActiveExpireCycle(10)); // nothing expired yet
        Assert.True(_db.AverageTtlMs > 0);
        _clock.Advance(TimeSpan.FromMilliseconds(200));
        // one round samples 20 keys; a bounded cycle cannot reclaim everything at once
        int first = _db.ActiveExpireCycle(1);
        Assert.InRange(first, 1, 20);
        int total = first;
        for (int cycle = 0; cycle < 100 && _db.ExpiresCount > 10; cycle++) total += _db.ActiveExpireCycle(20);
        Assert.Equal(1000, total);
        Assert.Equal(10, _db.ExpiresCount);
        Assert.Equal(1010, _db.Count);
        Assert.Equal(0, _stats.ExpiredKeys); // active expiry is counted by the caller (the cron)
        Assert.Equal("v", Get("long:3"));
    }

    [Fact]
    public void ActiveExpiryStopsWhenFewKeysAreStale()
    {
        for (int i = 0; i < 1000; i++) _db.SetString(B($"t:{i}"), B("v"), SetFlags.None, Now + (i < 5 ? 10 : 1_000_000));
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        int expired = _db.ActiveExpireCycle(1000);
        Assert.InRange(expired, 0, 5);
        // the rounds stop early: far fewer than 1000 keys are examined when almost none are stale
        Assert.True(_db.ExpiresCount >= 995);
    }

    [Fact]
    public void ScanReturnsEveryKeyPresentThroughoutDespiteResizes()
    {
        var stable = new HashSet<string>();
        for (int i = 0; i < 500; i++)
        {
            _db.SetString(B($"stable:{i}"), B("v"));
            stable.Add($"stable:{i}");
        }
        var seen = new HashSet<string>();
        var batch = new List<int>();
        ulong cursor = 0;
        int step = 0, churn = 0;
        do
        {
            batch.Clear();
            cursor = _db.Scan(cursor, 10, batch);
            foreach (int slot in batch) seen.Add(Encoding.UTF8.GetString(_db.KeyAt(slot)));
            // Between calls: grow the table a lot, then shrink it a lot, repeatedly.
            if (step % 6 < 3)
            {
                for (int i = 0; i < 700; i++) _db.SetString(B($"churn:{churn++}"), B("x"));
            }
            else
            {
                var doomed = new List<byte[]>();
                foreach (var e in _db.Entries)
                    if (e.Key.StartsWith("churn:"u8)) doomed.Add(e.Key.ToArray());
                foreach (var k in doomed) _db.Delete(k);
            }
            step++;
        }
        while (cursor != 0 && step < 100_000);
        Assert.Equal(0UL, cursor);
        Assert.Empty(stable.Except(seen));
    }

    [Fact]
    public void ScanOfAStableTableVisitsEachKeyOnce()
    {
        for (int i = 0; i < 1000; i++) _db.SetString(B($"k{i}"), B("v"));
        var seen = new List<string>();
        var batch = new List<int>();
        ulong cursor = 0;
        do
        {
            batch.Clear();
            cursor = _db.Scan(cursor, 7, batch);
            seen.AddRange(batch.Select(slot => Encoding.UTF8.GetString(_db.KeyAt(slot))));
        }
        while (cursor != 0);
        Assert.Equal(1000, seen.Count);
        Assert.Equal(1000, seen.Distinct().Count());
    }

    [Fact]
    public void RandomEntrySkipsExpiredKeys()
    {
        Assert.Equal(-1, _db.RandomSlot());
        for (int i = 0; i < 50; i++) _db.SetString(B($"gone:{i}"), B("v"), SetFlags.None, Now + 1);
        _db.SetString(B("stays"), B("v"));
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        for (int i = 0; i < 20; i++) Assert.Equal("stays", Encoding.UTF8.GetString(_db.KeyAt(_db.RandomSlot())));
        var seen = new HashSet<string>();
        for (int i = 0; i < 10; i++) _db.SetString(B($"r{i}"), B("v"));
        for (int i = 0; i < 2000; i++) seen.Add(Encoding.UTF8.GetString(_db.KeyAt(_db.RandomSlot())));
        Assert.Equal(11, seen.Count);
    }

    [Fact]
    public void RenameCopyMoveKeepTtl()
    {
        var other = new RedisDatabase(1, _clock);
        long deadline = Now + 5000;
        _db.SetString(B("a"), B("va"), SetFlags.None, deadline);
        Assert.Equal(StoreStatus.Ok, _db.Rename(B("a"), B("b"), onlyIfAbsent: false));
        Assert.Null(Get("a"));
        Assert.Equal(deadline, _db.Find(B("b"))!.ExpireAtMs);
        Assert.Equal(StoreStatus.NotFound, _db.Rename(B("a"), B("c"), onlyIfAbsent: false));
        _db.SetString(B("c"), B("vc"));
        Assert.Equal(StoreStatus.NotDone, _db.Rename(B("b"), B("c"), onlyIfAbsent: true));
        Assert.Equal(StoreStatus.NotDone, _db.Rename(B("b"), B("b"), onlyIfAbsent: true));
        Assert.Equal(StoreStatus.Ok, _db.Rename(B("b"), B("b"), onlyIfAbsent: false));

        Assert.Equal(StoreStatus.SameObject, _db.Copy(B("b"), _db, B("b"), replace: false));
        Assert.Equal(StoreStatus.NotDone, _db.Copy(B("b"), _db, B("c"), replace: false));
        Assert.Equal(StoreStatus.Ok, _db.Copy(B("b"), _db, B("c"), replace: true));
        Assert.Equal("va", Get("c"));
        Assert.Equal(deadline, _db.Find(B("c"))!.ExpireAtMs);
        Assert.NotSame(_db.Find(B("b"))!.Bytes, _db.Find(B("c"))!.Bytes);
        Assert.Equal(StoreStatus.Ok, _db.Copy(B("b"), other, B("b"), replace: false));
        Assert.Equal(1, other.ExpiresCount);

        Assert.Equal(StoreStatus.SameObject, _db.Move(B("c"), _db));
        Assert.Equal(StoreStatus.NotDone, _db.Move(B("b"), other));
        Assert.Equal(StoreStatus.Ok, _db.Move(B("c"), other));
        Assert.Null(Get("c"));
        Assert.Equal(deadline, other.Find(B("c"))!.ExpireAtMs);
        Assert.Equal(2, other.ExpiresCount);
        Assert.Equal(StoreStatus.NotFound, _db.Move(B("zz"), other));
    }

    /// <summary>Records what the change hook announces, as "db:key:change:event".</summary>
    private sealed class Recorder : IKeyspaceObserver
    {
        public List<string> Log { get; } = [];

        public void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type) =>
            Log.Add($"{db.Index}:{Encoding.UTF8.GetString(key)}:{change}:{KeyEvents.Name(evt)}");

        public void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming) =>
            Log.Add($"{db.Index}:replacing:{incoming?.Index.ToString() ?? "-"}");
    }

    [Fact]
    public void TheHookAnnouncesEveryKindOfChangeOnceWithRedisEventNames()
    {
        var other = new RedisDatabase(1, _clock);
        var rec = new Recorder();
        _db.Subscribe(rec);
        other.Subscribe(rec);

        _db.SetString(B("a"), B("1"));
        _db.IncrementBy(B("a"), 1, out _);
        _db.Append(B("a"), B("x"), long.MaxValue, out _);
        _db.SetExpire(_db.Find(B("a"))!, Now + 10_000);
        _db.Persist(_db.Find(B("a"))!);
        _db.Rename(B("a"), B("b"), false);
        _db.Copy(B("b"), _db, B("c"), false);
        _db.Move(B("c"), other);
        _db.SetObject(B("b"), new FakeList(), KeyEvent.LPush);    // a string becomes a list
        _db.Delete(B("b"));
        _db.SetString(B("t"), B("v"), SetFlags.None, Now + 1);
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Null(_db.Find(B("t")));                           // lazy expiry
        _db.SetString(B("e"), B("v"));
        Assert.True(_db.Evict(B("e")));
        Assert.False(_db.Evict(B("e")));
        Assert.Equal(StoreStatus.NotDone, _db.SetString(B("e"), B("2"), SetFlags.IfExists)); // no change, no event
        Assert.False(_db.Delete(B("nothing")));
        Assert.Equal(
        [
            "0:a:Added:set", "0:a:Modified:incrby", "0:a:Modified:append", "0:a:Modified:expire", "0:a:Modified:persist",
            "0:a:Deleted:rename_from", "0:b:Added:rename_to", "0:c:Added:copy_to", "0:c:Deleted:move_from", "1:c:Added:move_to",
            "0:b:TypeChanged:lpush", "0:b:Deleted:del", "0:t:Added:set", "0:t:Expired:expired", "0:e:Added:set", "0:e:Evicted:evicted",
        ], rec.Log);

        rec.Log.Clear();
        _db.SetString(B("f1"), B("v"));
        long before = _db.Changes;
        _db.Clear();
        Assert.Equal(before + 1, _db.Changes);
        _db.Clear(); // empty: nothing to announce
        other.SwapContents(_db);
        Assert.Equal(["0:f1:Added:set", "0:replacing:-", "1:replacing:0", "0:replacing:1"], rec.Log);
    }

    [Fact]
    public void RenameOntoAnExistingKeyOfAnotherTypeIsATypeChange()
    {
        var rec = new Recorder();
        _db.SetString(B("s"), B("1"));
        _db.SetObject(B("l"), new FakeList(), KeyEvent.None);
        _db.Subscribe(rec);
        _db.Rename(B("s"), B("l"), false);
        _db.SetString(B("x"), B("1"));
        _db.Copy(B("l"), _db, B("x"), replace: true);
        Assert.Equal(["0:s:Deleted:rename_from", "0:l:TypeChanged:rename_to", "0:x:Added:set", "0:x:Modified:copy_to"], rec.Log);
    }

    [Fact]
    public void StringEncodings()
    {
        string Enc(string k) => _db.Find(B(k))!.Encoding;
        _db.SetString(B("i"), B("12345"));
        _db.SetString(B("lz"), B("012"));
        _db.SetString(B("s"), B("hello"));
        _db.SetString(B("r"), new byte[45]);
        _db.SetString(B("e44"), new byte[44]);
        Assert.Equal("int", Enc("i"));
        Assert.Equal("embstr", Enc("lz"));
        Assert.Equal("embstr", Enc("s"));
        Assert.Equal("raw", Enc("r"));
        Assert.Equal("embstr", Enc("e44"));
        _db.Append(B("s"), B("!"), long.MaxValue, out _);
        Assert.Equal("raw", Enc("s"));
        _db.IncrementByFloat(B("f"), Ld("3"), out var text);
        Assert.Equal("3", Encoding.UTF8.GetString(text));
        Assert.Equal("embstr", Enc("f"));
        _db.SetRange(B("sr"), 1, B("x"), long.MaxValue, out _);
        Assert.Equal("raw", Enc("sr"));
        _db.IncrementBy(B("sr2"), 5, out _);
        Assert.Equal("int", Enc("sr2"));
        Assert.Equal(int.MaxValue, _db.Find(B("sr2"))!.RefCount);
        _db.SetString(B("big"), B("123456"));
        Assert.Equal(1, _db.Find(B("big"))!.RefCount);
    }

    [Fact]
    public void AppendAndSetRangeGrowAndZeroFill()
    {
        Assert.Equal(StoreStatus.Ok, _db.Append(B("k"), B("ab"), 100, out long n));
        Assert.Equal(2, n);
        for (int i = 0; i < 20; i++) _db.Append(B("k"), B("cd"), 100, out n);
        Assert.Equal(42, n);
        Assert.Equal(StoreStatus.TooLarge, _db.Append(B("k"), new byte[59], 100, out _));
        Assert.Equal(StoreStatus.Ok, _db.Append(B("k"), new byte[58], 100, out n));
        Assert.Equal(100, n);

        _db.SetString(B("s"), new byte[10]);
        _db.SetString(B("s"), B("hello")); // reuses the 10-byte array: stale bytes beyond the length
        Assert.Equal(StoreStatus.Ok, _db.SetRange(B("s"), 8, B("X"), 100, out n));
        Assert.Equal(9, n);
        Assert.Equal("hello\0\0\0X", Get("s"));
        Assert.Equal(StoreStatus.Ok, _db.SetRange(B("new"), 0, ReadOnlySpan<byte>.Empty, 100, out n));
        Assert.Equal(0, n);
        Assert.False(_db.Exists(B("new")));
        Assert.Equal(StoreStatus.TooLarge, _db.SetRange(B("new"), 100, B("x"), 100, out _));
        Assert.Equal(StoreStatus.TooLarge, _db.SetRange(B("new"), long.MaxValue, B("x"), long.MaxValue, out _));
    }

    private static LongDouble Ld(string text) =>
        LongDouble.TryParse(Encoding.ASCII.GetBytes(text), out var value) ? value : throw new ArgumentException(text);

    [Fact]
    public void CountersReportStoreStatuses()
    {
        _db.SetString(B("s"), B("abc"));
        Assert.Equal(StoreStatus.NotInteger, _db.IncrementBy(B("s"), 1, out _));
        Assert.Equal(StoreStatus.NotFloat, _db.IncrementByFloat(B("s"), Ld("1"), out _));
        _db.SetString(B("max"), B("9223372036854775807"));
        Assert.Equal(StoreStatus.Overflow, _db.IncrementBy(B("max"), 1, out _));
        Assert.Equal(StoreStatus.Ok, _db.IncrementBy(B("max"), -1, out long v));
        Assert.Equal(long.MaxValue - 1, v);
        _db.SetString(B("f"), B("1e4932")); // long double's range, not double's
        Assert.Equal(StoreStatus.NaNOrInfinity, _db.IncrementByFloat(B("f"), Ld("1e4932"), out _));
        Assert.Equal("1e4932", Get("f"));
    }

    [Fact]
    public void ObjectsAndWrongType()
    {
        _db.SetObject(B("l"), new FakeList(), Demikernel.Server.Store.KeyEvent.None);
        Assert.Equal(StoreStatus.WrongType, _db.TryGetString(B("l"), out _));
        Assert.Equal(StoreStatus.WrongType, _db.IncrementBy(B("l"), 1, out _));
        Assert.Equal(StoreStatus.WrongType, _db.Append(B("l"), B("x"), 100, out _));
        Assert.Equal(StoreStatus.WrongType, _db.SetRange(B("l"), 0, B("x"), 100, out _));
        Assert.Equal(StoreStatus.Ok, _db.TryGetObject<FakeList>(B("l"), out var list));
        Assert.NotNull(list);
        Assert.Equal(StoreStatus.Ok, _db.Copy(B("l"), _db, B("l2"), false));
        Assert.NotSame(list, _db.Find(B("l2"))!.Object);
        Assert.Equal("fake", _db.Find(B("l2"))!.Encoding);
        _db.SetString(B("l"), B("now a string"));
        Assert.Equal(RedisType.String, _db.Find(B("l"))!.Type);
        Assert.Null(_db.Find(B("l"))!.Object);
    }

    private sealed class FakeList : RedisObject
    {
        public override RedisType Type => RedisType.List;
        public override string Encoding => "fake";
        public override RedisObject Clone() => new FakeList();
    }
}

public class StoreSwapTests
{
    [Fact]
    public void SwapContentsExchangesKeysAndTtls()
    {
        var clock = new VirtualTimeProvider();
        var a = new RedisDatabase(0, clock);
        var b = new RedisDatabase(1, clock);
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        a.SetString("x"u8, "1"u8, SetFlags.None, now + 1000);
        b.SetString("y"u8, "2"u8);
        a.SwapContents(b);
        Assert.Null(a.Find("x"u8));
        Assert.NotNull(a.Find("y"u8));
        Assert.Equal(now + 1000, b.Find("x"u8)!.ExpireAtMs);
        Assert.Equal((1, 0, 1, 1), (a.Count, a.ExpiresCount, b.Count, b.ExpiresCount));
    }
}
