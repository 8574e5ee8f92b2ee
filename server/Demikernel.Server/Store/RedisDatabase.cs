using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Demikernel.Resp;

namespace Demikernel.Server.Store;

/// <summary>Options of a lookup.</summary>
[Flags]
public enum LookupFlags
{
    None = 0,
    /// <summary>Do not update the key's access time (Redis LOOKUP_NOTOUCH: TYPE, TTL, EXISTS, OBJECT).</summary>
    NoTouch = 1,
}

/// <summary>Conditions and TTL handling of <see cref="RedisDatabase.SetString(ReadOnlySpan{byte}, ReadOnlySpan{byte}, SetFlags, long)"/>.</summary>
[Flags]
public enum SetFlags
{
    None = 0,
    /// <summary>NX: only when the key does not exist.</summary>
    IfNotExists = 1,
    /// <summary>XX: only when the key exists.</summary>
    IfExists = 2,
    /// <summary>KEEPTTL: keep the key's current TTL (otherwise a SET removes it).</summary>
    KeepTtl = 4,
}

/// <summary>
/// A point-in-time snapshot in progress (BGSAVE, AOF rewrite). The store tells it about a key it has not written
/// yet (its slot's mark differs from <see cref="RedisDatabase.SnapshotEpoch"/>) before anything can change or remove
/// that key, and hands it a table that FLUSHDB takes away.
/// </summary>
internal interface ISnapshotObserver
{
    /// <summary>Writes the key in <paramref name="slot"/> of the database's current table to the snapshot as it is now
    /// (it is about to be read, changed or removed) and marks it.</summary>
    void Preserve(RedisDatabase db, int slot);

    /// <summary>The database dropped <paramref name="table"/> wholesale (FLUSHDB): nothing will change it any more, so the
    /// snapshot reads its pending keys from there.</summary>
    void Detach(RedisDatabase db, KeyTable table);
}

/// <summary>
/// One numbered keyspace (SELECT n): keys, their values and TTLs, lazy and active expiry, SCAN, the change hook.
/// <code>
///   KeyTable
///   Buckets: int[] (power of two) ─▶ slot ─▶ slot ─▶ -1      chained hashing on a per-process randomised hash
///   pages of KeySlot (40 B, no references): hash, next, addr, lengths, access clock, TTL index, type, form, mark
///      compact string ── addr ─▶ Slab block [key bytes][value bytes]  (size classes of 8 B, up to 512 B)
///      object key     ── addr ─▶ Objects[i]: RedisEntry (collections, long strings, strings a command asked for)
///   Expires: (slot, deadline)[] dense, swap-remove   ◀─ active expiry walks a cursor over it
/// </code>
/// Lookups take the key as a span and allocate nothing; SCAN walks buckets with Redis's reverse-binary cursor, so a
/// key present for the whole scan is returned even when the table grows or shrinks between calls. GET, SET and INCR
/// work on compact keys in place; <see cref="Find"/> hands out a <see cref="RedisEntry"/>, turning a compact key into
/// an object key for the command's use, and the cron turns such string keys back (<see cref="ActiveExpireCycle"/>).
/// Every operation returns a status or null; nothing throws for a client's mistake. Time comes from
/// <see cref="Clock"/> (the libOS clock), read only when a key with a TTL is touched.
/// </summary>
/// <remarks>
/// The change hook: the database itself announces every change of a key to its <see cref="IKeyspaceObserver"/>s,
/// once, right after it (added, modified, type changed, deleted, expired, evicted; with redis's event name), as
/// redis-server does from dbAdd/signalModifiedKey/notifyKeyspaceEvent: both keys of RENAME, both databases of MOVE,
/// COPY's destination, lazy and active expiry. Collections changed in place call
/// <see cref="NotifyModified(RedisEntry, KeyEvent)"/>. FLUSHDB and SWAPDB are announced as a whole
/// (<see cref="IKeyspaceObserver.ContentsReplacing"/>). <see cref="Changes"/> counts changes.
/// </remarks>
public sealed class RedisDatabase
{
    /// <summary>Passed as an expiry to mean "no TTL".</summary>
    public const long NoExpire = -1;

    private const int ExpireKeysPerLoop = 20;           // Redis ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
    private const int AcceptableStalePercent = 10;      // Redis 7 ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE
    private const int MaxPrealloc = 1024 * 1024;        // Redis SDS_MAX_PREALLOC
    private const int DemotePerCycle = 200;             // object string keys the cron turns back per call

    private KeyTable _t = new();
    private long _avgTtl;
    private long _lruClock;
    private readonly Random _random = new();
    private uint _lfuRandom = 2463534242;

    public RedisDatabase(int index, TimeProvider clock)
    {
        Index = index;
        Clock = clock;
        _lruClock = clock.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public int Index { get; }
    public TimeProvider Clock { get; }

    /// <summary>Keys stored, including keys that have expired but were not reclaimed yet (like DBSIZE).</summary>
    public int Count => _t.Count;

    /// <summary>Keys with a TTL.</summary>
    public int ExpiresCount => _t.ExpiresCount;

    /// <summary>
    /// Bytes this database holds by the store's own accounting: its keys' slots, slab blocks and objects (collections
    /// estimate themselves, see <see cref="RedisObject.MemoryBytes"/>) and its bucket, object and TTL arrays. Updated
    /// as keys change, in O(1); INFO's used_memory and maxmemory's eviction add these up.
    /// </summary>
    public long UsedMemory => _t.UsedBytes + MainTableBytes + ExpiresTableBytes;

    /// <summary>The keys' share of <see cref="UsedMemory"/> (tests compare it with a recount).</summary>
    internal long DataBytes => _t.UsedBytes;

    /// <summary>The bucket and object index arrays' and the TTL array's bytes (MEMORY STATS' overhead.hashtable.main/expires).</summary>
    internal long MainTableBytes => MemoryCost.Array(_t.Buckets.Length, sizeof(int)) + MemoryCost.Array(_t.Objects.Length, MemoryCost.Reference);
    internal long ExpiresTableBytes => MemoryCost.Array(_t.Expires.Length, MemoryCost.TtlSlot);

    /// <summary>Object keys (entries) at the moment, and slab figures (INFO keyspace_* fields, tests).</summary>
    internal int ObjectKeys => _t.ObjectCount;
    internal long SlabReservedBytes => _t.Slab.ReservedBytes;
    internal KeyTable Table => _t;

    /// <summary>What a key costs by the accounting, recomputed from what it holds (MEMORY USAGE; tests recount with
    /// this). <paramref name="entry"/> is the object key's entry, null for a compact key.</summary>
    internal static long CostOf(in KeyView v, RedisEntry? entry) => v.IsCompact
        ? KeyTable.SlotBytes + Slab.BlockBytes(Slab.ClassOf(v.Key.Length + v.StringValue.Length))
        : KeyTable.SlotBytes + EntryBytes(entry!) + (entry!.Obj?.MemoryBytes ?? 0);

    /// <summary>The entry of an object key (null for a compact key); tests.</summary>
    internal RedisEntry? ObjectAt(int slot)
    {
        ref var k = ref _t.At(slot);
        return k.IsObject ? _t.Objects[(int)k.Addr] : null;
    }

    /// <summary>LFU parameters when an LFU maxmemory policy is selected: a slot's access field then holds
    /// Redis's 16-bit decrement time in minutes and 8-bit logarithmic counter instead of the LRU clock. Null = LRU.</summary>
    internal LfuSettings? Lfu { get; set; }

    /// <summary>An LRU maxmemory policy is selected: RDB files record each key's idle time (redis's savelru).</summary>
    internal bool LruPolicy { get; set; }

    /// <summary>Running estimate of the TTL of keys with one (INFO keyspace avg_ttl), from active expiry samples.</summary>
    public long AverageTtlMs => _avgTtl;

    /// <summary>When set, keys expired lazily (on access) are counted in <see cref="ServerStats.ExpiredKeys"/>;
    /// keys expired by <see cref="ActiveExpireCycle"/> are returned to its caller instead.</summary>
    public ServerStats? Stats { get; set; }

    /// <summary>Lazy freeing's parameters and counter (see LazyFree.cs); null counts nothing.</summary>
    public LazyFree? LazyFree { get; set; }

    /// <summary>A value removed by the server itself (overwrite, a destination replaced, a key deleted by a command
    /// other than DEL/UNLINK): lazily when lazyfree-lazy-server-del.</summary>
    private void ServerReleased(RedisObject? value)
    {
        if (LazyFree is { } lf) lf.Released(value, lf.LazyServerDel);
    }

    private RedisObject? ObjectOfSlot(int s)
    {
        ref var k = ref _t.At(s);
        return k.IsObject ? _t.Objects[(int)k.Addr]!.Obj : null;
    }

    private IKeyspaceObserver[] _observers = [];

    /// <summary>The observers' KeyChanged, called for every write: a delegate call each, where the interface call
    /// (one site, four observer types) went through the runtime's stub resolver, 3% of a pipelined SET's CPU.</summary>
    private KeyChangedHandler[] _keyChanged = [];

    /// <summary>Adds a subscriber of the change hook (see the class remarks); they are called in the order added.</summary>
    public void Subscribe(IKeyspaceObserver observer)
    {
        _observers = [.. _observers, observer];
        _keyChanged = [.. _keyChanged, observer.KeyChanged];
    }

    /// <summary>The snapshot being taken, if any (see <see cref="ISnapshotObserver"/>).</summary>
    internal ISnapshotObserver? Snapshot { get; set; }

    /// <summary>The mark keys get when they join the running snapshot or are created while it runs (and so are not
    /// part of it). Every key carries the current epoch once a snapshot completes, so the next epoch differs from all.</summary>
    internal byte SnapshotEpoch { get; set; }

    /// <summary>Number of key changes since creation (every write, delete, expiry).</summary>
    public long Changes { get; private set; }

    /// <summary>Unix milliseconds from <see cref="Clock"/>.</summary>
    public long NowMs
    {
        get
        {
            long now = Clock.GetUtcNow().ToUnixTimeMilliseconds();
            _lruClock = now;
            return now;
        }
    }

    // ------------------------------------------------------------------ lookups

    /// <summary>
    /// The live entry of <paramref name="key"/>, or null. An expired key is deleted here and reported absent (lazy
    /// expiry). Updates the access time unless <see cref="LookupFlags.NoTouch"/>. A compact key becomes an object key.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RedisEntry? Find(ReadOnlySpan<byte> key, LookupFlags flags = LookupFlags.None)
    {
        int s = FindLive(key, HashOf(key));
        if (s < 0) return null;
        if ((flags & LookupFlags.NoTouch) == 0) Touch(s);
        return EntryOf(s);
    }

    /// <summary>
    /// <see cref="Find"/> for commands that only read the key, its type, string value or TTL (GET, MGET, EXISTS, TYPE,
    /// TTL, STRLEN, GETRANGE, EXPIRE's conditions, OBJECT): the key seen in place, a compact key staying compact. The
    /// view is valid until the database next changes; its slot while the key lives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(scoped ReadOnlySpan<byte> key, LookupFlags flags, out KeyView view)
    {
        int s = FindLive(key, HashOf(key));
        if (s < 0)
        {
            view = default;
            return false;
        }
        if ((flags & LookupFlags.NoTouch) == 0) Touch(s);
        view = _t.View(s);
        return true;
    }

    /// <summary>
    /// <see cref="Find"/> for commands that need a collection (or fail with WRONGTYPE): the entry of an object key, or
    /// null. A compact key, always a string, is reported by <paramref name="compactString"/> and left compact, so
    /// answering WRONGTYPE for it costs no memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RedisEntry? FindObject(ReadOnlySpan<byte> key, LookupFlags flags, out bool compactString)
    {
        int s = FindLive(key, HashOf(key));
        if (s < 0)
        {
            compactString = false;
            return null;
        }
        if ((flags & LookupFlags.NoTouch) == 0) Touch(s);
        ref var k = ref _t.At(s);
        compactString = !k.IsObject;
        return k.IsObject ? _t.Objects[(int)k.Addr] : null;
    }

    public bool Exists(ReadOnlySpan<byte> key) => FindLive(key, HashOf(key)) >= 0;

    /// <summary>
    /// True when <paramref name="key"/> holds a value whose TTL has not passed. Unlike <see cref="Find"/> an expired
    /// key is left in place (no deletion, nothing propagated), as Redis's keyIsExpired checks WATCHed keys.
    /// </summary>
    public bool IsLive(ReadOnlySpan<byte> key)
    {
        int s = FindSlot(key, HashOf(key));
        return s >= 0 && !IsExpired(s);
    }

    /// <summary>True when the table holds <paramref name="key"/>, expired or not (no lazy expiry, no access-time update).</summary>
    public bool Contains(ReadOnlySpan<byte> key) => FindSlot(key, HashOf(key)) >= 0;

    /// <summary>The slot of <paramref name="key"/> as stored, expired or not (no lazy expiry, no access-time update),
    /// or -1; read it with <see cref="ViewAt"/>.</summary>
    public int FindStoredSlot(ReadOnlySpan<byte> key) => FindSlot(key, HashOf(key));

    /// <summary>The string value of <paramref name="key"/>: Ok, NotFound or WrongType. The span is valid until the
    /// key is next written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StoreStatus TryGetString(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        int s = FindLive(key, HashOf(key));
        if (s < 0)
        {
            value = default;
            return StoreStatus.NotFound;
        }
        Touch(s);
        ref var k = ref _t.At(s);
        if (k.Type != RedisType.String)
        {
            value = default;
            return StoreStatus.WrongType;
        }
        value = StringOf(ref k);
        return StoreStatus.Ok;
    }

    /// <summary>The object of a non-string key: Ok, NotFound, or WrongType when the key holds something else.</summary>
    public StoreStatus TryGetObject<T>(ReadOnlySpan<byte> key, out T? value, LookupFlags flags = LookupFlags.None)
        where T : RedisObject
    {
        value = null;
        int s = FindLive(key, HashOf(key));
        if (s < 0) return StoreStatus.NotFound;
        if ((flags & LookupFlags.NoTouch) == 0) Touch(s);
        ref var k = ref _t.At(s);
        if (!k.IsObject || _t.Objects[(int)k.Addr]!.Obj is not T typed) return StoreStatus.WrongType;
        value = typed;
        return StoreStatus.Ok;
    }

    /// <summary>True when <paramref name="entry"/>'s TTL has passed (it is logically absent). Does not delete.</summary>
    public bool IsExpired(RedisEntry entry) => entry.Table == _t && IsExpired(entry.Slot);

    /// <summary>True when the key in <paramref name="slot"/> has a TTL that has passed. Does not delete.</summary>
    public bool IsExpired(int slot)
    {
        int i = _t.At(slot).ExpiresSlot;
        return i >= 0 && NowMs > _t.Expires[i].ExpireAt;
    }

    /// <summary>The key in <paramref name="slot"/> (a slot from <see cref="Scan"/>, <see cref="Entries"/> or
    /// <see cref="RandomSlot"/>, valid while the key lives; the span until the database next changes).</summary>
    public ReadOnlySpan<byte> KeyAt(int slot) => _t.KeyOf(ref _t.At(slot));

    /// <summary>The key in <paramref name="slot"/> seen in place.</summary>
    public KeyView ViewAt(int slot) => _t.View(slot);

    /// <summary>A random live key's slot, or -1 when the database is empty (expired keys met on the way are deleted).</summary>
    public int RandomSlot()
    {
        while (_t.Count > 0)
        {
            var buckets = _t.Buckets;
            int mask = buckets.Length - 1;
            int head;
            do head = buckets[_random.Next() & mask];
            while (head < 0);
            int length = 0;
            for (int s = head; s >= 0; s = _t.At(s).Next) length++;
            int pick = head;
            for (int i = _random.Next(length); i > 0; i--) pick = _t.At(pick).Next;
            if (IsExpired(pick))
            {
                ExpireSlot(pick, active: false);
                continue;
            }
            return pick;
        }
        return -1;
    }

    /// <summary>
    /// One SCAN step: adds the slots of the keys of the visited buckets to <paramref name="found"/> (including
    /// logically expired ones; the caller filters) and returns the next cursor, 0 when the iteration is complete.
    /// Visits buckets until at least <paramref name="count"/> keys were found or 10×count buckets were visited, like
    /// Redis. A key present from the first to the last call is returned at least once, whatever inserts and deletes
    /// (and so table resizes) happen between calls; a key may be returned more than once.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<int> found)
    {
        if (_t.Count == 0) return 0;
        long maxIterations = (long)Math.Max(count, 1) * 10;
        int before = found.Count;
        do
        {
            var buckets = _t.Buckets;
            ulong mask = (ulong)buckets.Length - 1;
            for (int s = buckets[cursor & mask]; s >= 0; s = _t.At(s).Next) found.Add(s);
            cursor = ScanCursor.Next(cursor, mask); // Redis dictScan's reverse-binary increment
        }
        while (cursor != 0 && maxIterations-- > 0 && found.Count - before < count);
        return cursor;
    }

    /// <summary>Every key, seen in place, including logically expired ones. Do not change the database while enumerating.</summary>
    public EntryEnumerable Entries => new(_t);

    // ------------------------------------------------------------------ strings

    /// <summary>SET without options: creates or overwrites <paramref name="key"/> as a string (any previous type),
    /// removing its TTL unless <paramref name="keepTtl"/>. Copies into the existing bytes when the size allows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool keepTtl = false, KeyEvent evt = KeyEvent.Set) =>
        SetString(key, value, keepTtl, evt, StringForm.Auto);

    /// <summary><see cref="SetString(ReadOnlySpan{byte}, ReadOnlySpan{byte}, bool, KeyEvent)"/> for a value Redis makes
    /// with createObject, never int- or embstr-encoded (BITOP's result, PFADD's and PFMERGE's HyperLogLogs).</summary>
    internal void SetRawString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool keepTtl = false, KeyEvent evt = KeyEvent.Set) =>
        SetString(key, value, keepTtl, evt, StringForm.Raw);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool keepTtl, KeyEvent evt, StringForm form)
    {
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        var change = KeyChange.Added;
        if (s < 0) s = AddSlot(key, hash, value.Length);
        else
        {
            ref var k = ref _t.At(s);
            change = k.Type == RedisType.String ? KeyChange.Modified : KeyChange.TypeChanged;
            if (!keepTtl && k.ExpiresSlot >= 0) RemoveExpireSlot(s);
            Touch(s);
        }
        StoreString(s, value, form);
        Announce(s, change, evt);
    }

    /// <summary>SET with NX/XX/KEEPTTL and an absolute expiry (<see cref="NoExpire"/> for none): Ok, or NotDone when
    /// the condition failed.</summary>
    public StoreStatus SetString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetFlags flags, long expireAtMs = NoExpire, KeyEvent evt = KeyEvent.Set)
    {
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        var change = KeyChange.Added;
        if (s < 0)
        {
            if ((flags & SetFlags.IfExists) != 0) return StoreStatus.NotDone;
            s = AddSlot(key, hash, value.Length);
        }
        else
        {
            if ((flags & SetFlags.IfNotExists) != 0) return StoreStatus.NotDone;
            ref var k = ref _t.At(s);
            if ((flags & SetFlags.KeepTtl) == 0 && k.ExpiresSlot >= 0) RemoveExpireSlot(s);
            change = k.Type == RedisType.String ? KeyChange.Modified : KeyChange.TypeChanged;
            Touch(s);
        }
        StoreString(s, value, StringForm.Auto);
        if (expireAtMs >= 0) SetExpireSlot(s, expireAtMs);
        Announce(s, change, evt);
        return StoreStatus.Ok;
    }

    /// <summary>APPEND: Ok (with the new length), WrongType, or TooLarge when the result would exceed
    /// <paramref name="maxLength"/>.</summary>
    public StoreStatus Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long maxLength, out long length)
    {
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        var change = s < 0 ? KeyChange.Added : KeyChange.Modified;
        if (s < 0)
        {
            s = AddSlot(key, hash, value.Length);
            StoreString(s, value, StringForm.Auto);
            length = value.Length;
        }
        else
        {
            if (_t.At(s).Type != RedisType.String)
            {
                length = 0;
                return StoreStatus.WrongType;
            }
            var e = EntryOf(s); // appended strings grow like sds: an object key
            long total = (long)e.Length + value.Length;
            if (total > maxLength || total > Array.MaxLength)
            {
                length = 0;
                return StoreStatus.TooLarge;
            }
            EnsureCapacity(e, (int)total);
            value.CopyTo(e.Bytes.AsSpan(e.Length));
            e.Length = (int)total;
            e.Form = StringForm.Raw;
            Touch(s);
            length = e.Length;
        }
        Announce(s, change, KeyEvent.Append);
        return StoreStatus.Ok;
    }

    /// <summary>SETRANGE: Ok (with the new length), WrongType, or TooLarge. An empty <paramref name="value"/> changes
    /// nothing and reports the current length (0 for a missing key, which is not created).</summary>
    public StoreStatus SetRange(ReadOnlySpan<byte> key, long offset, ReadOnlySpan<byte> value, long maxLength, out long length, KeyEvent evt = KeyEvent.SetRange)
    {
        Debug.Assert(offset >= 0);
        length = 0;
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        if (s >= 0 && _t.At(s).Type != RedisType.String) return StoreStatus.WrongType;
        if (value.IsEmpty)
        {
            length = s < 0 ? 0 : StringOf(ref _t.At(s)).Length;
            return StoreStatus.Ok;
        }
        if (offset > maxLength - value.Length || offset > Array.MaxLength - value.Length) return StoreStatus.TooLarge;
        int end = (int)offset + value.Length;
        var change = s < 0 ? KeyChange.Added : KeyChange.Modified;
        RedisEntry e;
        if (s < 0)
        {
            e = AddEntry(key, hash);
            s = e.Slot;
            ReplaceBytes(e, new byte[end]); // exact size for a new key, like createObject(sdsnewlen(...))
        }
        else
        {
            e = EntryOf(s);
            Touch(s);
        }
        if (end > e.Length)
        {
            EnsureCapacity(e, end);
            e.Bytes.AsSpan(e.Length, end - e.Length).Clear(); // sdsgrowzero
            e.Length = end;
        }
        value.CopyTo(e.Bytes.AsSpan((int)offset));
        e.Form = StringForm.Raw;
        length = e.Length;
        Announce(s, change, evt);
        return StoreStatus.Ok;
    }

    /// <summary>INCRBY: Ok (with the result), WrongType, NotInteger or Overflow. A missing key counts as 0. Keeps the
    /// TTL; steady-state increments write the digits in place.</summary>
    public StoreStatus IncrementBy(ReadOnlySpan<byte> key, long delta, out long result)
    {
        result = 0;
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        long current = 0;
        if (s >= 0)
        {
            ref var k = ref _t.At(s);
            if (k.Type != RedisType.String) return StoreStatus.WrongType;
            if (!RedisNumbers.TryParseInt64(StringOf(ref k), out current)) return StoreStatus.NotInteger;
        }
        if ((delta < 0 && current < 0 && delta < long.MinValue - current) ||
            (delta > 0 && current > 0 && delta > long.MaxValue - current))
        {
            return StoreStatus.Overflow;
        }
        result = current + delta;
        Span<byte> digits = stackalloc byte[RedisNumbers.MaxInt64Length];
        RedisNumbers.TryFormatInt64(result, digits, out int written);
        var change = s < 0 ? KeyChange.Added : KeyChange.Modified;
        if (s < 0) s = AddSlot(key, hash, written);
        else Touch(s);
        StoreString(s, digits[..written], StringForm.Auto);
        Announce(s, change, KeyEvent.IncrBy);
        return StoreStatus.Ok;
    }

    /// <summary>INCRBYFLOAT: Ok (with the stored text, valid until the key is next written), WrongType, NotFloat or
    /// NaNOrInfinity. A missing key counts as 0. Keeps the TTL.</summary>
    public StoreStatus IncrementByFloat(ReadOnlySpan<byte> key, LongDouble delta, out ReadOnlySpan<byte> result)
    {
        result = default;
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        var current = LongDouble.Zero;
        if (s >= 0)
        {
            ref var k = ref _t.At(s);
            if (k.Type != RedisType.String) return StoreStatus.WrongType;
            if (!LongDouble.TryParse(StringOf(ref k), out current)) return StoreStatus.NotFloat;
        }
        var value = current + delta;
        if (!value.IsFinite) return StoreStatus.NaNOrInfinity;
        var text = System.Text.Encoding.ASCII.GetBytes(value.ToHumanString());
        var change = s < 0 ? KeyChange.Added : KeyChange.Modified;
        if (s < 0) s = AddSlot(key, hash, text.Length);
        else Touch(s);
        StoreString(s, text, StringForm.NoInt);
        result = StringOf(ref _t.At(s));
        Announce(s, change, KeyEvent.IncrByFloat);
        return StoreStatus.Ok;
    }

    // ------------------------------------------------------------------ other types

    /// <summary>Stores <paramref name="value"/> at <paramref name="key"/>, replacing whatever was there (and its TTL
    /// unless <paramref name="keepTtl"/>); announced with <paramref name="evt"/>.</summary>
    public RedisEntry SetObject(ReadOnlySpan<byte> key, RedisObject value, KeyEvent evt, bool keepTtl = false)
    {
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        var change = KeyChange.Added;
        RedisEntry e;
        if (s < 0) e = AddEntry(key, hash);
        else
        {
            ref var k = ref _t.At(s);
            change = k.Type == value.Type ? KeyChange.Modified : KeyChange.TypeChanged;
            if (!keepTtl && k.ExpiresSlot >= 0) RemoveExpireSlot(s);
            Touch(s);
            e = EntryOf(s);
            if (!ReferenceEquals(e.Obj, value)) ServerReleased(e.Obj);
        }
        SetType(e, value.Type);
        ReplaceObject(e, value);
        ReplaceBytes(e, []);
        e.Length = 0;
        Announce(e.Slot, change, evt);
        return e;
    }

    /// <summary>
    /// Inserts a key read from an RDB file: a string (<paramref name="value"/> null, <paramref name="stringValue"/>
    /// its bytes) or a collection, with an absolute expiry (<see cref="NoExpire"/> for none). Returns false, changing
    /// nothing, when the key already exists (expired or not): the loader refuses duplicates. The key array may be
    /// taken over. Not a write as far as WATCH and the dirty counter go (Redis does not count loading either).
    /// </summary>
    internal bool TryAddLoaded(byte[] key, RedisObject? value, ReadOnlySpan<byte> stringValue, long expireAtMs)
    {
        uint hash = HashOf(key);
        if (FindSlot(key, hash) >= 0) return false;
        int s;
        if (value is null)
        {
            s = AddSlot(key, hash, stringValue.Length);
            StoreString(s, stringValue, StringForm.Auto);
        }
        else
        {
            var e = AddEntry(key, hash, key);
            SetType(e, value.Type);
            ReplaceObject(e, value);
            s = e.Slot;
        }
        if (expireAtMs >= 0) SetExpireSlot(s, expireAtMs);
        return true;
    }

    /// <summary><see cref="TryAddLoaded(byte[], RedisObject?, ReadOnlySpan{byte}, long)"/> for a string the loader
    /// decoded into an array of its own: a long one is taken over instead of copied.</summary>
    internal bool TryAddLoaded(byte[] key, byte[] stringValue, long expireAtMs)
    {
        if (key.Length + stringValue.Length <= Slab.MaxBlock) return TryAddLoaded(key, null, stringValue, expireAtMs);
        uint hash = HashOf(key);
        if (FindSlot(key, hash) >= 0) return false;
        var e = AddEntry(key, hash, key);
        ReplaceBytes(e, stringValue);
        e.Length = stringValue.Length;
        e.Form = StringForm.Auto;
        if (expireAtMs >= 0) SetExpireSlot(e.Slot, expireAtMs);
        return true;
    }

    /// <summary>Sets the access clock of a key just loaded (RDB IDLE/FREQ, RESTORE's IDLETIME/FREQ); see
    /// <see cref="SetAccess(RedisEntry, long, int, long)"/>.</summary>
    internal void SetAccess(ReadOnlySpan<byte> key, long idleSeconds, int freq, long nowMs)
    {
        int s = FindSlot(key, HashOf(key));
        if (s >= 0) SetAccess(s, idleSeconds, freq, nowMs);
    }

    /// <summary>Announces that <paramref name="entry"/>'s value was changed in place (collections) by <paramref name="evt"/>.</summary>
    public void NotifyModified(RedisEntry entry, KeyEvent evt)
    {
        // The lookup that found the entry touched it already; LFU counts that one access only.
        if (entry.Table == _t)
        {
            if (Lfu is null) _t.At(entry.Slot).Access = _lruClock;
            if (entry.Obj is { } obj) Recharge(obj);
            Announce(entry.Slot, KeyChange.Modified, evt);
        }
        else
        {
            Announce(entry.Key, entry.Type, KeyChange.Modified, evt);
        }
    }

    // ------------------------------------------------------------------ keys

    /// <summary>Deletes <paramref name="key"/>; false when it did not exist (an expired key is reclaimed and reported
    /// as not existing, like DEL in Redis).</summary>
    /// <paramref name="lazy"/>: whether redis frees the value lazily (UNLINK; DEL, GETDEL with lazyfree-lazy-user-del;
    /// an EXPIRE in the past with lazyfree-lazy-expire); null for lazyfree-lazy-server-del (see LazyFree.cs).
    public bool Delete(ReadOnlySpan<byte> key, KeyEvent evt = KeyEvent.Del, bool? lazy = null)
    {
        int s = FindLive(key, HashOf(key));
        if (s < 0) return false;
        Remove(s, KeyChange.Deleted, evt, lazy);
        return true;
    }

    /// <summary>Deletes an entry obtained from this database during the current command; <paramref name="evt"/> names
    /// the command's change (a pop that emptied a collection passes its own event, "del" follows from the kind).</summary>
    public void Delete(RedisEntry entry, KeyEvent evt = KeyEvent.Del, bool? lazy = null)
    {
        Debug.Assert(entry.Table == _t, "entry not in this database");
        if (entry.Table != _t) return;
        Remove(entry.Slot, KeyChange.Deleted, evt, lazy);
    }

    /// <summary>
    /// Removes <paramref name="key"/> to free memory (maxmemory eviction): announced as <see cref="KeyChange.Evicted"/>
    /// ("evicted"), so blocked clients, WATCH and the effects log (a DEL) see it like any deletion. False when absent.
    /// </summary>
    public bool Evict(ReadOnlySpan<byte> key)
    {
        int s = FindLive(key, HashOf(key));
        if (s < 0) return false;
        Evict(s);
        return true;
    }

    /// <summary>Sets the absolute expiry (unix ms) of a live entry; the caller deletes instead when it is already in
    /// the past (EXPIRE semantics).</summary>
    public void SetExpire(RedisEntry entry, long expireAtMs, KeyEvent evt = KeyEvent.Expire)
    {
        Debug.Assert(entry.Table == _t);
        SetExpireSlot(entry.Slot, expireAtMs);
        Announce(entry.Slot, KeyChange.Modified, evt);
    }

    /// <summary><see cref="SetExpire(RedisEntry, long, KeyEvent)"/> of a key found with <see cref="TryLookup"/>.</summary>
    public void SetExpire(int slot, long expireAtMs, KeyEvent evt = KeyEvent.Expire)
    {
        SetExpireSlot(slot, expireAtMs);
        Announce(slot, KeyChange.Modified, evt);
    }

    /// <summary><see cref="Delete(RedisEntry, KeyEvent)"/> of a key found with <see cref="TryLookup"/> in this command.</summary>
    public void Delete(int slot, KeyEvent evt = KeyEvent.Del, bool? lazy = null) => Remove(slot, KeyChange.Deleted, evt, lazy);

    /// <summary><see cref="Persist(RedisEntry)"/> of a key found with <see cref="TryLookup"/>.</summary>
    public bool Persist(int slot)
    {
        if (_t.At(slot).ExpiresSlot < 0) return false;
        RemoveExpireSlot(slot);
        Announce(slot, KeyChange.Modified, KeyEvent.Persist);
        return true;
    }

    /// <summary>Removes the TTL of an entry; false when it had none.</summary>
    public bool Persist(RedisEntry entry)
    {
        if (entry.Table != _t || _t.At(entry.Slot).ExpiresSlot < 0) return false;
        RemoveExpireSlot(entry.Slot);
        Announce(entry.Slot, KeyChange.Modified, KeyEvent.Persist);
        return true;
    }

    /// <summary>
    /// RENAME / RENAMENX: Ok, NotFound (no source), or NotDone when <paramref name="onlyIfAbsent"/> and the
    /// destination exists. The value keeps its TTL; a destination is overwritten. Renaming a key to itself is Ok
    /// (NotDone for RENAMENX) and changes nothing.
    /// </summary>
    public StoreStatus Rename(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, bool onlyIfAbsent)
    {
        int src = FindLive(source, HashOf(source));
        if (src < 0) return StoreStatus.NotFound;
        if (source.SequenceEqual(destination)) return onlyIfAbsent ? StoreStatus.NotDone : StoreStatus.Ok;
        uint hash = HashOf(destination);
        int old = FindLive(destination, hash);
        var change = KeyChange.Added;
        var type = _t.At(src).Type;
        if (old >= 0)
        {
            if (onlyIfAbsent) return StoreStatus.NotDone;
            change = _t.At(old).Type == type ? KeyChange.Modified : KeyChange.TypeChanged;
            ServerReleased(ObjectOfSlot(old));
            Unlink(old);
            Release(old);
        }
        int dst = Transfer(this, src, destination, hash, sameKey: false);
        Announce(source, type, KeyChange.Deleted, KeyEvent.RenameFrom);
        Announce(dst, change, KeyEvent.RenameTo);
        return StoreStatus.Ok;
    }

    /// <summary>
    /// COPY: Ok, NotFound (no source), NotDone (destination exists and not <paramref name="replace"/>), or SameObject
    /// (same key in the same database). The copy gets the source's TTL. Reads the source like a read command
    /// (touches it).
    /// </summary>
    public StoreStatus Copy(ReadOnlySpan<byte> source, RedisDatabase target, ReadOnlySpan<byte> destination, bool replace)
    {
        if (target == this && source.SequenceEqual(destination)) return StoreStatus.SameObject;
        int src = FindLive(source, HashOf(source));
        if (src < 0) return StoreStatus.NotFound;
        Touch(src);
        uint hash = HashOf(destination);
        int old = target.FindLive(destination, hash);
        var change = KeyChange.Added;
        var type = _t.At(src).Type;
        if (old >= 0)
        {
            if (!replace) return StoreStatus.NotDone;
            change = target._t.At(old).Type == type ? KeyChange.Modified : KeyChange.TypeChanged;
            target.ServerReleased(target.ObjectOfSlot(old));
            target.Unlink(old);
            target.Release(old);
        }
        ref var k = ref _t.At(src);
        long expireAt = k.ExpiresSlot >= 0 ? _t.Expires[k.ExpiresSlot].ExpireAt : NoExpire;
        int dst;
        if (!k.IsObject)
        {
            var value = _t.CompactValue(ref k);
            dst = target.AddSlot(destination, hash, value.Length);
            target.StoreString(dst, value, (StringForm)k.Form);
        }
        else
        {
            var e = _t.Objects[(int)k.Addr]!;
            if (e.Type == RedisType.String && destination.Length + e.Length <= Slab.MaxBlock && e.Form != StringForm.Raw)
            {
                dst = target.AddSlot(destination, hash, e.Length);
                target.StoreString(dst, e.StringValue, e.Form);
            }
            else
            {
                var copy = target.AddEntry(destination, hash);
                target.SetType(copy, e.Type);
                copy.Form = e.Form;
                if (e.Type == RedisType.String)
                {
                    target.ReplaceBytes(copy, e.Length == 0 ? [] : e.StringValue.ToArray());
                    copy.Length = e.Length;
                }
                else
                {
                    target.ReplaceObject(copy, e.Obj!.Clone());
                }
                dst = copy.Slot;
            }
        }
        if (expireAt != NoExpire) target.SetExpireSlot(dst, expireAt);
        target.Announce(dst, change, KeyEvent.CopyTo);
        return StoreStatus.Ok;
    }

    /// <summary>MOVE: Ok, NotFound, NotDone (the key exists in <paramref name="target"/>), or SameObject. The value
    /// moves, with its TTL.</summary>
    public StoreStatus Move(ReadOnlySpan<byte> key, RedisDatabase target)
    {
        if (target == this) return StoreStatus.SameObject;
        uint hash = HashOf(key);
        int s = FindLive(key, hash);
        if (s < 0) return StoreStatus.NotFound;
        if (target.FindLive(key, hash) >= 0) return StoreStatus.NotDone;
        var type = _t.At(s).Type;
        int dst = target.Transfer(this, s, key, hash, sameKey: true);
        Announce(key, type, KeyChange.Deleted, KeyEvent.MoveFrom);
        target.Announce(dst, KeyChange.Added, KeyEvent.MoveTo);
        return StoreStatus.Ok;
    }

    /// <summary>
    /// Moves the value, TTL and access clock of slot <paramref name="s"/> of <paramref name="from"/> to a new key
    /// <paramref name="key"/> here (RENAME within a database, MOVE between two), removing the source silently (the
    /// caller announces). An object key's value object moves, not a copy.
    /// </summary>
    private int Transfer(RedisDatabase from, int s, ReadOnlySpan<byte> key, uint hash, bool sameKey)
    {
        var ft = from._t;
        ref var k = ref ft.At(s);
        long expireAt = k.ExpiresSlot >= 0 ? ft.Expires[k.ExpiresSlot].ExpireAt : NoExpire;
        long access = k.Access;
        int dst;
        if (!k.IsObject)
        {
            Span<byte> value = stackalloc byte[Slab.MaxBlock];
            int n = k.ValueLength;
            var form = (StringForm)k.Form;
            ft.CompactValue(ref k).CopyTo(value); // the block is freed below; the key is the caller's argument
            from.Unlink(s);
            from.Release(s);
            dst = AddSlot(key, hash, n);
            StoreString(dst, value[..n], form);
        }
        else
        {
            var e = ft.Objects[(int)k.Addr]!;
            var bytes = e.Bytes;
            var obj = e.Obj;
            from.Unlink(s); // first, so that the value is counted once, under its new key
            from.Release(s);
            var moved = sameKey ? e : new RedisEntry(key.ToArray());
            if (!sameKey)
            {
                moved.Bytes = bytes;
                moved.Length = e.Length;
                moved.Form = e.Form;
                moved.Obj = obj;
                moved.Type = e.Type;
                e.Bytes = [];
                e.Obj = null;
            }
            dst = LinkEntry(moved, hash);
        }
        _t.At(dst).Access = access;
        if (expireAt != NoExpire) SetExpireSlot(dst, expireAt);
        return dst;
    }

    /// <summary>FLUSHDB: removes every key (announced as a whole, before: <see cref="IKeyspaceObserver.ContentsReplacing"/>).</summary>
    public void Clear()
    {
        var old = _t;
        int had = old.Count;
        if (had > 0)
            foreach (var observer in _observers) observer.ContentsReplacing(this, null);
        Snapshot?.Detach(this, old);
        _t = new KeyTable();
        _avgTtl = 0;
        if (had == 0) return;
        Changes += had;
        if (Stats is { } stats) stats.Dirty += had;
    }

    /// <summary>SWAPDB: exchanges all keys (with their TTLs) with <paramref name="other"/>, announced to the observers of
    /// both databases before (<see cref="IKeyspaceObserver.ContentsReplacing"/>).</summary>
    public void SwapContents(RedisDatabase other)
    {
        if (other == this) return;
        foreach (var observer in _observers) observer.ContentsReplacing(this, other);
        foreach (var observer in other._observers) observer.ContentsReplacing(other, this);
        // A snapshot in progress takes what it still needs from both first (a pause proportional to their pending keys).
        PreservePending();
        other.PreservePending();
        (_t, other._t) = (other._t, _t);
        (_avgTtl, other._avgTtl) = (other._avgTtl, _avgTtl);
        Changes += _t.Count + other._t.Count;
        other.Changes += _t.Count + other._t.Count;
        if (Stats is { } stats) stats.Dirty++;
    }

    // ------------------------------------------------------------------ active expiry

    /// <summary>
    /// Active expiry, as Redis's activeExpireCycle does for one database: walk a cursor over the keys with a TTL,
    /// 20 per round, deleting the expired ones, and repeat while more than 10% of a round had expired, for at most
    /// <paramref name="budget"/> rounds. Also refreshes the LRU clock and the average TTL estimate, and turns up to
    /// 200 object string keys back into compact ones (<see cref="DemoteSome"/>). Returns the number of keys deleted
    /// (not added to <see cref="Stats"/>; the caller counts them).
    /// </summary>
    public int ActiveExpireCycle(int budget) => ActiveExpireCycle(budget, effort: 1, deadlineTicks: long.MaxValue);

    /// <summary>
    /// The same with active-expire-effort (1-10, redis's rescaling: 20 + 5 × (effort − 1) keys a round, a round
    /// repeated while more than 10 − (effort − 1) percent of it had expired) and a time limit: rounds stop once
    /// <paramref name="deadlineTicks"/> (a Stopwatch timestamp, checked every 16 rounds as redis does) has passed.
    /// </summary>
    public int ActiveExpireCycle(int budget, int effort, long deadlineTicks)
    {
        long now = NowMs;
        int total = 0;
        int keysPerLoop = ExpireKeysPerLoop + (ExpireKeysPerLoop / 4 * (effort - 1));
        int acceptableStale = AcceptableStalePercent - (effort - 1);
        for (int round = 0; round < budget && now >= ExpiryPausedUntilMs; round++)
        {
            if ((round & 15) == 15 && System.Diagnostics.Stopwatch.GetTimestamp() > deadlineTicks) break;
            if (_t.ExpiresCount == 0)
            {
                _avgTtl = 0;
                break;
            }
            int toSample = Math.Min(_t.ExpiresCount, keysPerLoop);
            int sampled = 0, expired = 0, ttlSamples = 0;
            long ttlSum = 0;
            while (sampled < toSample && _t.ExpiresCount > 0)
            {
                if (_t.ExpireCursor >= _t.ExpiresCount) _t.ExpireCursor = 0;
                var ttlSlot = _t.Expires[_t.ExpireCursor];
                sampled++;
                long ttl = ttlSlot.ExpireAt - now;
                if (ttl < 0)
                {
                    // swap-remove puts the last key at the cursor: it is examined next
                    ExpireSlot(ttlSlot.Slot, active: true);
                    expired++;
                }
                else
                {
                    _t.ExpireCursor++;
                    if (ttl > 0)
                    {
                        ttlSum += ttl;
                        ttlSamples++;
                    }
                }
            }
            total += expired;
            if (ttlSamples > 0)
            {
                long avg = ttlSum / ttlSamples;
                if (_avgTtl == 0) _avgTtl = avg;
                _avgTtl = (_avgTtl / 50 * 49) + (avg / 50);
            }
            if (expired * 100 / sampled <= acceptableStale) break;
        }
        DemoteSome(DemotePerCycle);
        return total;
    }

    /// <summary>
    /// Turns up to <paramref name="budget"/> object keys holding a short string (looked up by a command with
    /// <see cref="Find"/>, or overwritten by SET while a collection) back into compact keys. Runs between commands
    /// (the cron), when no handler holds an entry. APPENDed and bit-edited (raw) strings stay objects: they grow in
    /// place. Returns the number turned.
    /// </summary>
    internal int DemoteSome(int budget)
    {
        var t = _t;
        int top = t.ObjectTop;
        if (t.ObjectCount == 0 || top == 0) return 0;
        int turned = 0;
        for (int visited = 0; visited < budget && visited < top; visited++)
        {
            if (t.DemoteCursor >= top) t.DemoteCursor = 0;
            var e = t.Objects[t.DemoteCursor++];
            if (e is null || e.Type != RedisType.String || e.Form == StringForm.Raw) continue;
            if (e.Key.Length + e.Length > Slab.MaxBlock) continue;
            Demote(e);
            turned++;
        }
        return turned;
    }

    private void Demote(RedisEntry e)
    {
        int s = e.Slot;
        ref var k = ref _t.At(s);
        // a snapshot reads either form the same way; a key it has not written yet keeps its mark
        int cls = Slab.ClassOf(e.Key.Length + e.Length);
        long addr = _t.Slab.Allocate(cls);
        e.Key.CopyTo(_t.Slab.Span(addr, e.Key.Length));
        e.StringValue.CopyTo(_t.Slab.Span(addr + e.Key.Length, e.Length));
        _t.UsedBytes += Slab.BlockBytes(cls) - EntryBytes(e);
        _t.RemoveObject((int)k.Addr);
        k.Addr = addr;
        k.SizeClass = (byte)cls;
        k.ValueLength = e.Length;
        k.Form = (byte)e.Form;
        e.Table = null;
    }

    // ------------------------------------------------------------------ internals

    /// <summary>Hands every key the running snapshot has not written yet to it now.</summary>
    private void PreservePending()
    {
        if (Snapshot is not { } snapshot) return;
        foreach (int head in _t.Buckets)
            for (int s = head; s >= 0; s = _t.At(s).Next)
                if (_t.At(s).Mark != SnapshotEpoch) snapshot.Preserve(this, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint HashOf(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return (uint)hash.ToHashCode();
    }

    /// <summary>How a lookup treats an expired key (a replica's policy; null = delete it, as a master does).</summary>
    public ReplicaExpiryPolicy? ExpiryPolicy { get; set; }

    /// <summary>The slot of <paramref name="key"/>, expired or not, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindSlot(ReadOnlySpan<byte> key, uint hash)
    {
        var t = _t;
        var buckets = t.Buckets;
        int s = buckets[hash & (uint)(buckets.Length - 1)];
        while (s >= 0)
        {
            ref var k = ref t.At(s);
            if (k.Hash == hash && k.KeyLength == key.Length && t.KeyOf(ref k).SequenceEqual(key)) return s;
            s = k.Next;
        }
        return -1;
    }

    /// <summary>The slot of the live key <paramref name="key"/>, or -1; lazy expiry, and a running snapshot takes
    /// the key first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindLive(ReadOnlySpan<byte> key, uint hash)
    {
        int s = FindSlot(key, hash);
        if (s < 0) return -1;
        ref var k = ref _t.At(s);
        // Whatever the caller does next (read, change in place, delete), a snapshot in progress keeps the value as it is now.
        if (Snapshot is not null && k.Mark != SnapshotEpoch) Snapshot.Preserve(this, s);
        if (k.ExpiresSlot >= 0 && ExpireIfNeeded(s)) return -1;
        return s;
    }

    /// <summary>CLIENT PAUSE: until this time keys are not expired (an expired key reads as absent but stays, as
    /// redis's expireIfNeeded while paused); 0 = not paused.</summary>
    internal long ExpiryPausedUntilMs;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ExpireIfNeeded(int s)
    {
        long now = NowMs;
        if (now <= _t.Expires[_t.At(s).ExpiresSlot].ExpireAt) return false;
        // A replica: its master deletes expired keys (it sends DEL); meanwhile reads see them as missing and the
        // master's own commands see them as they are (redis's expireIfNeeded on a replica).
        if (ExpiryPolicy is { Mode: not ExpiryMode.Delete } policy) return policy.Mode == ExpiryMode.Hide;
        if (now < ExpiryPausedUntilMs) return true;
        ExpireSlot(s, active: false);
        return true;
    }

    private void ExpireSlot(int s, bool active)
    {
        var type = _t.At(s).Type;
        Unlink(s);
        if (!active && Stats is { } stats) stats.ExpiredKeys++;
        // An expiry is a change of the keyspace (WATCH sees it) but not a change made by the running command.
        Changes++;
        var key = KeyAt(s);
        foreach (var keyChanged in _keyChanged) keyChanged(this, key, KeyChange.Expired, KeyEvent.Expired, type);
        if (LazyFree is { } lf) lf.Released(ObjectOfSlot(s), lf.LazyExpire);
        Release(s);
    }

    /// <summary>Unlinks slot <paramref name="s"/>, announces the change with its key, then frees it.</summary>
    private void Remove(int s, KeyChange change, KeyEvent evt, bool? lazy = null)
    {
        var type = _t.At(s).Type;
        if (LazyFree is { } lf) lf.Released(ObjectOfSlot(s), lazy ?? (change == KeyChange.Evicted ? lf.LazyEviction : lf.LazyServerDel));
        Unlink(s);
        Announce(KeyAt(s), type, change, evt);
        Release(s);
    }

    /// <summary>Counts a change made by the running command and tells the observers (the change hook).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Announce(int s, KeyChange change, KeyEvent evt)
    {
        ref var k = ref _t.At(s);
        Announce(_t.KeyOf(ref k), k.Type, change, evt);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Announce(ReadOnlySpan<byte> key, RedisType type, KeyChange change, KeyEvent evt)
    {
        Changes++;
        if (Stats is { } stats) stats.Dirty++;
        foreach (var keyChanged in _keyChanged) keyChanged(this, key, change, evt, type);
    }

    /// <summary>A new key holding an empty string, compact when the key and a value of
    /// <paramref name="valueLength"/> bytes fit a slab block (an object key otherwise).</summary>
    private int AddSlot(ReadOnlySpan<byte> key, uint hash, int valueLength)
    {
        if ((long)key.Length + valueLength > Slab.MaxBlock) return AddEntry(key, hash).Slot;
        var t = _t;
        int cls = Slab.ClassOf(key.Length + valueLength);
        long addr = t.Slab.Allocate(cls);
        key.CopyTo(t.Slab.Span(addr, key.Length));
        int s = t.NewSlot();
        ref var k = ref t.At(s);
        k.Hash = hash;
        k.Addr = addr;
        k.KeyLength = key.Length;
        k.ValueLength = 0;
        k.SizeClass = (byte)cls;
        k.Type = RedisType.String;
        k.Form = (byte)StringForm.Auto;
        t.UsedBytes += KeyTable.SlotBytes + Slab.BlockBytes(cls);
        Link(s);
        return s;
    }

    /// <summary>A new object key (an empty string until the caller stores something).</summary>
    private RedisEntry AddEntry(ReadOnlySpan<byte> key, uint hash, byte[]? keyArray = null)
    {
        var e = new RedisEntry(keyArray ?? key.ToArray());
        LinkEntry(e, hash);
        return e;
    }

    /// <summary>Links <paramref name="e"/> (with whatever value it holds) as a new object key.</summary>
    private int LinkEntry(RedisEntry e, uint hash)
    {
        var t = _t;
        int s = t.NewSlot();
        ref var k = ref t.At(s);
        k.Hash = hash;
        k.KeyLength = e.Key.Length;
        k.Type = e.Type;
        k.Form = KeySlot.ObjectForm;
        k.Addr = t.AddObject(e);
        e.Table = t;
        e.Slot = s;
        t.UsedBytes += KeyTable.SlotBytes + EntryBytes(e);
        if (e.Obj is { } obj)
        {
            obj.Charged = obj.MemoryBytes;
            t.UsedBytes += obj.Charged;
        }
        Link(s);
        return s;
    }

    private void Link(int s)
    {
        var t = _t;
        ref var k = ref t.At(s);
        k.Mark = SnapshotEpoch; // not part of a snapshot that is running: it was elsewhere, or nowhere, when it began
        k.ExpiresSlot = -1;
        k.Access = InitialAccess();
        if (t.Count >= t.Buckets.Length) t.Resize(t.Buckets.Length * 2);
        ref int head = ref t.Buckets[k.Hash & (uint)(t.Buckets.Length - 1)];
        k.Next = head;
        head = s;
        t.Count++;
    }

    /// <summary>Takes slot <paramref name="s"/> out of the index, the TTL array and the accounting; its key and value
    /// stay readable until <see cref="Release"/>.</summary>
    private void Unlink(int s)
    {
        var t = _t;
        ref var k = ref t.At(s);
        if (Snapshot is not null && k.Mark != SnapshotEpoch) Snapshot.Preserve(this, s); // active expiry, eviction
        ref int at = ref t.Buckets[k.Hash & (uint)(t.Buckets.Length - 1)];
        while (at != s)
        {
            Debug.Assert(at >= 0, "key not in this database");
            if (at < 0) return;
            at = ref t.At(at).Next;
        }
        at = k.Next;
        k.Next = -1;
        if (k.ExpiresSlot >= 0) RemoveExpireSlot(s);
        t.Count--;
        if (k.IsObject)
        {
            var e = t.Objects[(int)k.Addr]!;
            t.UsedBytes -= KeyTable.SlotBytes + EntryBytes(e);
            if (e.Obj is { Charged: >= 0 } obj)
            {
                t.UsedBytes -= obj.Charged;
                obj.Charged = -1;
            }
        }
        else
        {
            t.UsedBytes -= KeyTable.SlotBytes + Slab.BlockBytes(k.SizeClass);
        }
        // Shrink when under 1/8 full (Redis resizes below 10%); the SCAN cursor survives this.
        if (t.Buckets.Length > KeyTable.MinBuckets && t.Count < t.Buckets.Length / 8) t.Resize(t.ShrinkTarget);
    }

    /// <summary>Frees an unlinked slot and its block (a compact key) or detaches its entry (an object key).</summary>
    private void Release(int s)
    {
        var t = _t;
        ref var k = ref t.At(s);
        if (k.IsObject)
        {
            var e = t.Objects[(int)k.Addr]!;
            t.RemoveObject((int)k.Addr);
            e.Table = null;
        }
        else
        {
            t.Slab.Free(k.Addr, k.SizeClass);
        }
        t.FreeSlot(s);
    }

    private void SetExpireSlot(int s, long expireAt)
    {
        var t = _t;
        ref var k = ref t.At(s);
        if (k.ExpiresSlot < 0)
        {
            if (t.ExpiresCount == t.Expires.Length) Array.Resize(ref t.Expires, Math.Max(16, t.Expires.Length * 2));
            k.ExpiresSlot = t.ExpiresCount;
            t.Expires[t.ExpiresCount++].Slot = s;
        }
        t.Expires[k.ExpiresSlot].ExpireAt = expireAt;
    }

    private void RemoveExpireSlot(int s)
    {
        var t = _t;
        ref var k = ref t.At(s);
        int i = k.ExpiresSlot;
        int last = --t.ExpiresCount;
        if (i != last)
        {
            var moved = t.Expires[last];
            t.Expires[i] = moved;
            t.At(moved.Slot).ExpiresSlot = i;
        }
        t.Expires[last] = default;
        k.ExpiresSlot = -1;
        if (t.Expires.Length > 64 && t.ExpiresCount < t.Expires.Length / 4) Array.Resize(ref t.Expires, t.Expires.Length / 2);
    }

    /// <summary>The string value of a slot (compact or object).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> StringOf(ref KeySlot k) =>
        k.IsObject ? _t.Objects[(int)k.Addr]!.StringValue : _t.CompactValue(ref k);

    /// <summary>The entry of slot <paramref name="s"/>: an object key's own, or a compact key made an object key now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RedisEntry EntryOf(int s)
    {
        ref var k = ref _t.At(s);
        return k.IsObject ? _t.Objects[(int)k.Addr]! : Promote(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private RedisEntry Promote(int s)
    {
        var t = _t;
        ref var k = ref t.At(s);
        var e = new RedisEntry(t.Slab.Span(k.Addr, k.KeyLength).ToArray())
        {
            Type = k.Type,
            Form = (StringForm)k.Form,
            Length = k.ValueLength,
            Table = t,
            Slot = s,
        };
        var value = t.CompactValue(ref k);
        if (value.Length > 0) e.Bytes = value.ToArray();
        t.Slab.Free(k.Addr, k.SizeClass);
        t.UsedBytes += EntryBytes(e) - Slab.BlockBytes(k.SizeClass);
        k.Addr = t.AddObject(e);
        k.Form = KeySlot.ObjectForm;
        return e;
    }

    private void SetType(RedisEntry e, RedisType type)
    {
        e.Type = type;
        _t.At(e.Slot).Type = type;
    }

    /// <summary>Stores a string value in slot <paramref name="s"/>: in its block when the class stays the same, in a
    /// new block of the right class otherwise, in an object when too long for a block (or already an object key).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreString(int s, ReadOnlySpan<byte> value, StringForm form)
    {
        var t = _t;
        ref var k = ref t.At(s);
        int need = k.KeyLength + value.Length;
        if (k.IsObject || need > Slab.MaxBlock)
        {
            StoreString(EntryOf(s), value, form);
            return;
        }
        int cls = Slab.ClassOf(need);
        if (cls != k.SizeClass) Reblock(ref k, cls);
        value.CopyTo(t.Slab.Span(k.Addr + k.KeyLength, value.Length));
        k.ValueLength = value.Length;
        k.Form = (byte)form;
        k.Type = RedisType.String;
    }

    /// <summary>Moves a compact key to a block of class <paramref name="cls"/> (its value is about to be rewritten).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Reblock(ref KeySlot k, int cls)
    {
        var slab = _t.Slab;
        long addr = slab.Allocate(cls);
        slab.Span(k.Addr, k.KeyLength).CopyTo(slab.Span(addr, k.KeyLength));
        slab.Free(k.Addr, k.SizeClass);
        _t.UsedBytes += Slab.BlockBytes(cls) - Slab.BlockBytes(k.SizeClass);
        k.Addr = addr;
        k.SizeClass = (byte)cls;
    }

    /// <summary>Copies a string value into an object key, reusing its array when the size is close enough.</summary>
    private void StoreString(RedisEntry e, ReadOnlySpan<byte> value, StringForm form)
    {
        if (e.Type != RedisType.String)
        {
            ServerReleased(e.Obj);
            SetType(e, RedisType.String);
            ReplaceObject(e, null);
            ReplaceBytes(e, []);
        }
        var bytes = e.Bytes;
        int n = value.Length;
        if (n > bytes.Length || bytes.Length - n > Math.Max(n, 32))
            ReplaceBytes(e, bytes = n == 0 ? [] : GC.AllocateUninitializedArray<byte>(n));
        value.CopyTo(bytes);
        e.Length = n;
        e.Form = form;
    }

    /// <summary>Grows the string array to hold <paramref name="needed"/> bytes, with sds's preallocation.</summary>
    private void EnsureCapacity(RedisEntry e, int needed)
    {
        if (e.Bytes.Length >= needed) return;
        long capacity = needed < MaxPrealloc ? (long)needed * 2 : (long)needed + MaxPrealloc;
        var bytes = GC.AllocateUninitializedArray<byte>((int)Math.Min(capacity, Array.MaxLength));
        e.Bytes.AsSpan(0, e.Length).CopyTo(bytes);
        ReplaceBytes(e, bytes);
    }

    // ------------------------------------------------------------------ memory accounting, access clock, eviction

    /// <summary>An entry object with its key and string array (its value object is counted apart, in its Charged).</summary>
    private static long EntryBytes(RedisEntry e) =>
        MemoryCost.Entry + MemoryCost.ByteArray(e.Key.Length) + MemoryCost.ByteArray(e.Bytes.Length);

    /// <summary>Every change of a linked entry's string array goes through here, so the count stays exact.</summary>
    private void ReplaceBytes(RedisEntry e, byte[] bytes)
    {
        if (e.Table == _t) _t.UsedBytes += MemoryCost.ByteArray(bytes.Length) - MemoryCost.ByteArray(e.Bytes.Length);
        e.Bytes = bytes;
    }

    /// <summary>Every change of a linked entry's value object goes through here.</summary>
    private void ReplaceObject(RedisEntry e, RedisObject? obj)
    {
        if (e.Obj is { Charged: >= 0 } old)
        {
            _t.UsedBytes -= old.Charged;
            old.Charged = -1;
        }
        e.Obj = obj;
        if (obj is not null)
        {
            obj.Charged = obj.MemoryBytes;
            _t.UsedBytes += obj.Charged;
        }
    }

    /// <summary>A collection changed in place: count its new size (nothing when it is no longer stored).</summary>
    private void Recharge(RedisObject obj)
    {
        if (obj.Charged < 0) return;
        long bytes = obj.MemoryBytes;
        _t.UsedBytes += bytes - obj.Charged;
        obj.Charged = bytes;
    }

    /// <summary>The access field of a new key: the LRU clock, or LFU's initial counter with the current minute.</summary>
    private long InitialAccess() => Lfu is null ? _lruClock : LfuSettings.Pack(LfuSettings.Minutes(_lruClock), LfuSettings.InitialCounter);

    /// <summary>An access (Redis's updateLFU / LRU_CLOCK on lookup).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(int s)
    {
        if (Lfu is null) _t.At(s).Access = _lruClock;
        else TouchLfu(s, Lfu);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TouchLfu(int s, LfuSettings lfu)
    {
        ref var k = ref _t.At(s);
        long minutes = LfuSettings.Minutes(_lruClock);
        int counter = lfu.Decayed(k.Access, minutes);
        // xorshift32: a cheap uniform draw per access, no shared state
        uint x = _lfuRandom;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _lfuRandom = x;
        k.Access = LfuSettings.Pack(minutes, lfu.Increment(counter, x));
    }

    /// <summary>RESTORE's and the RDB's IDLETIME / FREQ (Redis's objectSetLRUOrLFU): the one the policy tracks is set,
    /// the other ignored; -1 = not given.</summary>
    internal void SetAccess(RedisEntry e, long idleSeconds, int freq, long nowMs)
    {
        if (e.Table == _t) SetAccess(e.Slot, idleSeconds, freq, nowMs);
    }

    private void SetAccess(int s, long idleSeconds, int freq, long nowMs)
    {
        ref var k = ref _t.At(s);
        if (Lfu is not null)
        {
            if (freq >= 0) k.Access = LfuSettings.Pack(LfuSettings.Minutes(nowMs), freq);
        }
        else if (idleSeconds >= 0)
        {
            k.Access = nowMs - idleSeconds * 1000;
        }
    }

    /// <summary>OBJECT FREQ: the entry's LFU counter, decayed to now (Redis's LFUDecrAndReturn).</summary>
    internal int LfuCounter(long access, LfuSettings lfu) => lfu.Decayed(access, LfuSettings.Minutes(NowMs));

    /// <summary>The access field of a live slot (eviction's score).</summary>
    internal long AccessAt(int slot) => _t.At(slot).Access;

    /// <summary>The deadline of a live slot, -1 without a TTL.</summary>
    internal long ExpireAtOf(int slot)
    {
        int i = _t.At(slot).ExpiresSlot;
        return i >= 0 ? _t.Expires[i].ExpireAt : NoExpire;
    }

    /// <summary>The hash of a live slot (eviction's pool tells a key from a later one in the same slot by it).</summary>
    internal uint HashAt(int slot) => _t.At(slot).Hash;

    /// <summary>
    /// Up to <paramref name="into"/>.Length eviction candidates (slots): with <paramref name="withTtl"/>, random keys
    /// that have a TTL; otherwise the keys of consecutive buckets from a random one (Redis's dictGetSomeKeys),
    /// visiting at most ten buckets per wanted key. Returns how many were written.
    /// </summary>
    internal int Sample(Span<int> into, bool withTtl)
    {
        int n = 0;
        var t = _t;
        if (withTtl)
        {
            if (t.ExpiresCount == 0) return 0;
            for (; n < into.Length && n < t.ExpiresCount; n++) into[n] = t.Expires[_random.Next(t.ExpiresCount)].Slot;
            return n;
        }
        if (t.Count == 0) return 0;
        int mask = t.Buckets.Length - 1;
        int at = _random.Next() & mask;
        for (int steps = into.Length * 10; steps > 0 && n < into.Length; steps--, at = (at + 1) & mask)
            for (int s = t.Buckets[at]; s >= 0 && n < into.Length; s = t.At(s).Next) into[n++] = s;
        return n;
    }

    /// <summary>A random key with a TTL (volatile-random), or -1.</summary>
    internal int RandomSlotWithTtl() => _t.ExpiresCount == 0 ? -1 : _t.Expires[_random.Next(_t.ExpiresCount)].Slot;

    /// <summary>True while <paramref name="slot"/> holds a key with <paramref name="hash"/> (a candidate kept in the
    /// eviction pool may be gone, its slot reused).</summary>
    internal bool Holds(int slot, uint hash)
    {
        var t = _t;
        if (slot < 0 || slot >= t.SlotCapacity) return false;
        ref var k = ref t.At(slot);
        return k.Form != KeySlot.FreeForm && k.Hash == hash;
    }

    /// <summary>
    /// Evicts the key in <paramref name="slot"/> (maxmemory), announced as <see cref="KeyChange.Evicted"/> ("evicted"),
    /// so WATCH, blocked clients' keys and the effects log (a DEL, or UNLINK with lazyfree-lazy-eviction, as
    /// redis-server propagates) all see it like any deletion. Returns the bytes freed by the store's accounting.
    /// </summary>
    internal long Evict(int slot)
    {
        long before = UsedMemory;
        Remove(slot, KeyChange.Evicted, KeyEvent.Evicted);
        return before - UsedMemory;
    }

    /// <summary>Enumerates every key of a database (see <see cref="Entries"/>).</summary>
    public readonly struct EntryEnumerable
    {
        private readonly KeyTable _table;
        internal EntryEnumerable(KeyTable table) => _table = table;
        public Enumerator GetEnumerator() => new(_table);
    }

    public struct Enumerator
    {
        private readonly KeyTable _table;
        private int _index;
        private int _current;

        internal Enumerator(KeyTable table)
        {
            _table = table;
            _index = -1;
            _current = -1;
        }

        public readonly KeyView Current => _table.View(_current);

        public bool MoveNext()
        {
            if (_current >= 0 && _table.At(_current).Next is >= 0 and int next)
            {
                _current = next;
                return true;
            }
            var buckets = _table.Buckets;
            while (++_index < buckets.Length)
            {
                if (buckets[_index] >= 0)
                {
                    _current = buckets[_index];
                    return true;
                }
            }
            _current = -1;
            return false;
        }
    }
}
