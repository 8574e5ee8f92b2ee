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
/// A point-in-time snapshot in progress (BGSAVE, AOF rewrite). The store tells it about an entry it has not written
/// yet (<see cref="RedisEntry.SnapshotMark"/> differs from <see cref="RedisDatabase.SnapshotEpoch"/>) before anything
/// can change or remove that entry, and hands it a table that FLUSHDB takes away.
/// </summary>
internal interface ISnapshotObserver
{
    /// <summary>Writes the entry's current value to the snapshot (it is about to be read, changed or removed) and marks it.</summary>
    void Preserve(RedisDatabase db, RedisEntry entry);

    /// <summary>The database dropped <paramref name="table"/> wholesale (FLUSHDB): nothing will change it any more, so the
    /// snapshot reads its pending entries from there.</summary>
    void Detach(RedisDatabase db, RedisEntry?[] table);
}

/// <summary>
/// One numbered keyspace (SELECT n): keys → <see cref="RedisEntry"/>, their TTLs, lazy and active expiry, SCAN.
/// <code>
///   _buckets (power of two)           _expires (dense, unordered)
///   [0] ─▶ entry ─▶ entry              [0] ─▶ entry with TTL   ◀─ active expiry walks a cursor over this
///   [1] ─▶ ·                           [1] ─▶ entry with TTL      (swap-remove; entry.ExpiresSlot = its index)
///   [2] ─▶ entry                       ...
///   chained hashing on a per-process randomised hash; lookups take the key as a span (no allocation);
///   SCAN walks buckets with Redis's reverse-binary cursor, so a key present for the whole scan is returned
///   even when the table grows or shrinks between calls.
/// </code>
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

    private const int MinBuckets = 4;
    private const int ExpireKeysPerLoop = 20;           // Redis ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
    private const int AcceptableStalePercent = 10;      // Redis 7 ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE
    private const int MaxPrealloc = 1024 * 1024;        // Redis SDS_MAX_PREALLOC

    private RedisEntry?[] _buckets = new RedisEntry?[MinBuckets];
    private int _count;
    private RedisEntry[] _expires = [];
    private int _expiresCount;
    private int _expireCursor;
    private long _avgTtl;
    private long _lruClock;
    private readonly Random _random = new();
    private long _usedBytes;   // Σ over linked entries: entry, key and string arrays, value object (see MemoryCost)
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
    public int Count => _count;

    /// <summary>Keys with a TTL.</summary>
    public int ExpiresCount => _expiresCount;

    /// <summary>
    /// Bytes this database holds by the store's own accounting: its entries, their keys and values (collections
    /// estimate themselves, see <see cref="RedisObject.MemoryBytes"/>) and its bucket and TTL arrays. Updated as keys
    /// change, in O(1); INFO's used_memory and maxmemory's eviction add these up.
    /// </summary>
    public long UsedMemory => _usedBytes + MemoryCost.Array(_buckets.Length, MemoryCost.Reference) +
                              MemoryCost.Array(_expires.Length, MemoryCost.Reference);

    /// <summary>The entries' share of <see cref="UsedMemory"/> (tests compare it with a recount).</summary>
    internal long DataBytes => _usedBytes;

    /// <summary>The bucket array's and the TTL array's bytes (MEMORY STATS' overhead.hashtable.main/expires).</summary>
    internal long MainTableBytes => MemoryCost.Array(_buckets.Length, MemoryCost.Reference);
    internal long ExpiresTableBytes => MemoryCost.Array(_expires.Length, MemoryCost.Reference);

    /// <summary>What one key costs by the same accounting (MEMORY USAGE): entry, key, string bytes, value object.</summary>
    internal static long KeyBytes(RedisEntry e) => EntryBytes(e) + (e.Obj?.MemoryBytes ?? 0);

    /// <summary>LFU parameters when an LFU maxmemory policy is selected: <see cref="RedisEntry.AccessMs"/> then holds
    /// Redis's 16-bit decrement time in minutes and 8-bit logarithmic counter instead of the LRU clock. Null = LRU.</summary>
    internal LfuSettings? Lfu { get; set; }

    /// <summary>An LRU maxmemory policy is selected: RDB files record each key's idle time (redis's savelru).</summary>
    internal bool LruPolicy { get; set; }


    /// <summary>Running estimate of the TTL of keys with one (INFO keyspace avg_ttl), from active expiry samples.</summary>
    public long AverageTtlMs => _avgTtl;

    /// <summary>When set, keys expired lazily (on access) are counted in <see cref="ServerStats.ExpiredKeys"/>;
    /// keys expired by <see cref="ActiveExpireCycle"/> are returned to its caller instead.</summary>
    public ServerStats? Stats { get; set; }

    private IKeyspaceObserver[] _observers = [];

    /// <summary>Adds a subscriber of the change hook (see the class remarks); they are called in the order added.</summary>
    public void Subscribe(IKeyspaceObserver observer) => _observers = [.. _observers, observer];

    /// <summary>The snapshot being taken, if any (see <see cref="ISnapshotObserver"/>).</summary>
    internal ISnapshotObserver? Snapshot { get; set; }

    /// <summary>The mark entries get when they join the running snapshot or are created while it runs (and so are not
    /// part of it). Every entry carries the current epoch once a snapshot completes, so the next epoch differs from all.</summary>
    internal byte SnapshotEpoch { get; set; }

    /// <summary>The bucket table (for the snapshot's cursor walk; read only).</summary>
    internal RedisEntry?[] Table => _buckets;

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
    /// expiry). Updates the access time unless <see cref="LookupFlags.NoTouch"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RedisEntry? Find(ReadOnlySpan<byte> key, LookupFlags flags = LookupFlags.None)
    {
        var e = FindLive(key, HashOf(key));
        if (e is not null && (flags & LookupFlags.NoTouch) == 0) Touch(e);
        return e;
    }

    public bool Exists(ReadOnlySpan<byte> key) => FindLive(key, HashOf(key)) is not null;

    /// <summary>
    /// True when <paramref name="key"/> holds a value whose TTL has not passed. Unlike <see cref="Find"/> an expired
    /// key is left in place (no deletion, nothing propagated), as Redis's keyIsExpired checks WATCHed keys.
    /// </summary>
    public bool IsLive(ReadOnlySpan<byte> key)
    {
        uint hash = HashOf(key);
        for (var e = _buckets[hash & (uint)(_buckets.Length - 1)]; e is not null; e = e.Next)
            if (e.Hash == hash && e.Key.AsSpan().SequenceEqual(key)) return !IsExpired(e);
        return false;
    }

    /// <summary>True when the table holds <paramref name="key"/>, expired or not (no lazy expiry, no access-time update).</summary>
    public bool Contains(ReadOnlySpan<byte> key) => FindStored(key) is not null;

    /// <summary>The entry of <paramref name="key"/> as stored, expired or not (no lazy expiry, no access-time update).</summary>
    public RedisEntry? FindStored(ReadOnlySpan<byte> key)
    {
        uint hash = HashOf(key);
        for (var e = _buckets[hash & (uint)(_buckets.Length - 1)]; e is not null; e = e.Next)
            if (e.Hash == hash && e.Key.AsSpan().SequenceEqual(key)) return e;
        return null;
    }

    /// <summary>The string value of <paramref name="key"/>: Ok, NotFound or WrongType. The span is valid until the
    /// key is next written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StoreStatus TryGetString(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var e = Find(key);
        if (e is null)
        {
            value = default;
            return StoreStatus.NotFound;
        }
        if (e.Type != RedisType.String)
        {
            value = default;
            return StoreStatus.WrongType;
        }
        value = new ReadOnlySpan<byte>(e.Bytes, 0, e.Length);
        return StoreStatus.Ok;
    }

    /// <summary>The object of a non-string key: Ok, NotFound, or WrongType when the key holds something else.</summary>
    public StoreStatus TryGetObject<T>(ReadOnlySpan<byte> key, out T? value, LookupFlags flags = LookupFlags.None)
        where T : RedisObject
    {
        value = null;
        var e = Find(key, flags);
        if (e is null) return StoreStatus.NotFound;
        if (e.Obj is not T typed) return StoreStatus.WrongType;
        value = typed;
        return StoreStatus.Ok;
    }

    /// <summary>True when <paramref name="entry"/>'s TTL has passed (it is logically absent). Does not delete.</summary>
    public bool IsExpired(RedisEntry entry) => entry.ExpiresSlot >= 0 && NowMs > entry.ExpireAt;

    /// <summary>A random live key, or null when the database is empty (expired keys met on the way are deleted).</summary>
    public RedisEntry? RandomEntry()
    {
        while (_count > 0)
        {
            int mask = _buckets.Length - 1;
            RedisEntry? head;
            do head = _buckets[_random.Next() & mask];
            while (head is null);
            int length = 0;
            for (var e = head; e is not null; e = e.Next) length++;
            var pick = head;
            for (int i = _random.Next(length); i > 0; i--) pick = pick!.Next;
            if (pick!.ExpiresSlot >= 0 && NowMs > pick.ExpireAt)
            {
                ExpireEntry(pick, active: false);
                continue;
            }
            return pick;
        }
        return null;
    }

    /// <summary>
    /// One SCAN step: adds the entries of the visited buckets to <paramref name="found"/> (including logically
    /// expired ones; the caller filters) and returns the next cursor, 0 when the iteration is complete. Visits
    /// buckets until at least <paramref name="count"/> entries were found or 10×count buckets were visited, like
    /// Redis. A key present from the first to the last call is returned at least once, whatever inserts and deletes
    /// (and so table resizes) happen between calls; a key may be returned more than once.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<RedisEntry> found)
    {
        if (_count == 0) return 0;
        long maxIterations = (long)Math.Max(count, 1) * 10;
        int before = found.Count;
        do
        {
            ulong mask = (ulong)_buckets.Length - 1;
            for (var e = _buckets[cursor & mask]; e is not null; e = e.Next) found.Add(e);
            cursor = ScanCursor.Next(cursor, mask); // Redis dictScan's reverse-binary increment
        }
        while (cursor != 0 && maxIterations-- > 0 && found.Count - before < count);
        return cursor;
    }

    /// <summary>Every entry, including logically expired ones. Do not change the database while enumerating.</summary>
    public EntryEnumerable Entries => new(this);

    // ------------------------------------------------------------------ strings

    /// <summary>SET without options: creates or overwrites <paramref name="key"/> as a string (any previous type),
    /// removing its TTL unless <paramref name="keepTtl"/>. Copies into the existing bytes when the size allows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RedisEntry SetString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool keepTtl = false, KeyEvent evt = KeyEvent.Set)
    {
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        var change = KeyChange.Added;
        if (e is null) e = AddNew(key, hash);
        else
        {
            change = e.Type == RedisType.String ? KeyChange.Modified : KeyChange.TypeChanged;
            if (!keepTtl && e.ExpiresSlot >= 0) RemoveExpireSlot(e);
            Touch(e);
        }
        StoreString(e, value, StringForm.Auto);
        Announce(e, change, evt);
        return e;
    }

    /// <summary>SET with NX/XX/KEEPTTL and an absolute expiry (<see cref="NoExpire"/> for none): Ok, or NotDone when
    /// the condition failed.</summary>
    public StoreStatus SetString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetFlags flags, long expireAtMs = NoExpire, KeyEvent evt = KeyEvent.Set)
    {
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        var change = KeyChange.Added;
        if (e is null)
        {
            if ((flags & SetFlags.IfExists) != 0) return StoreStatus.NotDone;
            e = AddNew(key, hash);
        }
        else
        {
            if ((flags & SetFlags.IfNotExists) != 0) return StoreStatus.NotDone;
            if ((flags & SetFlags.KeepTtl) == 0 && e.ExpiresSlot >= 0) RemoveExpireSlot(e);
            change = e.Type == RedisType.String ? KeyChange.Modified : KeyChange.TypeChanged;
            Touch(e);
        }
        StoreString(e, value, StringForm.Auto);
        if (expireAtMs >= 0) SetExpireSlot(e, expireAtMs);
        Announce(e, change, evt);
        return StoreStatus.Ok;
    }

    /// <summary>APPEND: Ok (with the new length), WrongType, or TooLarge when the result would exceed
    /// <paramref name="maxLength"/>.</summary>
    public StoreStatus Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long maxLength, out long length)
    {
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        var change = e is null ? KeyChange.Added : KeyChange.Modified;
        if (e is null)
        {
            e = AddNew(key, hash);
            StoreString(e, value, StringForm.Auto);
        }
        else
        {
            if (e.Type != RedisType.String)
            {
                length = 0;
                return StoreStatus.WrongType;
            }
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
            Touch(e);
        }
        length = e.Length;
        Announce(e, change, KeyEvent.Append);
        return StoreStatus.Ok;
    }

    /// <summary>SETRANGE: Ok (with the new length), WrongType, or TooLarge. An empty <paramref name="value"/> changes
    /// nothing and reports the current length (0 for a missing key, which is not created).</summary>
    public StoreStatus SetRange(ReadOnlySpan<byte> key, long offset, ReadOnlySpan<byte> value, long maxLength, out long length, KeyEvent evt = KeyEvent.SetRange)
    {
        Debug.Assert(offset >= 0);
        length = 0;
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        if (e is not null && e.Type != RedisType.String) return StoreStatus.WrongType;
        if (value.IsEmpty)
        {
            length = e?.Length ?? 0;
            return StoreStatus.Ok;
        }
        if (offset > maxLength - value.Length || offset > Array.MaxLength - value.Length) return StoreStatus.TooLarge;
        int end = (int)offset + value.Length;
        var change = e is null ? KeyChange.Added : KeyChange.Modified;
        if (e is null)
        {
            e = AddNew(key, hash);
            ReplaceBytes(e, new byte[end]); // exact size for a new key, like createObject(sdsnewlen(...))
        }
        else
        {
            Touch(e);
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
        Announce(e, change, evt);
        return StoreStatus.Ok;
    }

    /// <summary>INCRBY: Ok (with the result), WrongType, NotInteger or Overflow. A missing key counts as 0. Keeps the
    /// TTL; steady-state increments write the digits in place.</summary>
    public StoreStatus IncrementBy(ReadOnlySpan<byte> key, long delta, out long result)
    {
        result = 0;
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        long current = 0;
        if (e is not null)
        {
            if (e.Type != RedisType.String) return StoreStatus.WrongType;
            if (!RedisNumbers.TryParseInt64(e.StringValue, out current)) return StoreStatus.NotInteger;
        }
        if ((delta < 0 && current < 0 && delta < long.MinValue - current) ||
            (delta > 0 && current > 0 && delta > long.MaxValue - current))
        {
            return StoreStatus.Overflow;
        }
        result = current + delta;
        var change = e is null ? KeyChange.Added : KeyChange.Modified;
        if (e is null) e = AddNew(key, hash);
        else Touch(e);
        if (e.Type != RedisType.String || e.Bytes.Length < RedisNumbers.MaxInt64Length - 1)
        {
            e.Type = RedisType.String;
            ReplaceBytes(e, new byte[RedisNumbers.MaxInt64Length - 1]);
        }
        RedisNumbers.TryFormatInt64(result, e.Bytes, out int written);
        e.Length = written;
        e.Form = StringForm.Auto;
        Announce(e, change, KeyEvent.IncrBy);
        return StoreStatus.Ok;
    }

    /// <summary>INCRBYFLOAT: Ok (with the stored text, valid until the key is next written), WrongType, NotFloat or
    /// NaNOrInfinity. A missing key counts as 0. Keeps the TTL.</summary>
    public StoreStatus IncrementByFloat(ReadOnlySpan<byte> key, LongDouble delta, out ReadOnlySpan<byte> result)
    {
        result = default;
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        var current = LongDouble.Zero;
        if (e is not null)
        {
            if (e.Type != RedisType.String) return StoreStatus.WrongType;
            if (!LongDouble.TryParse(e.StringValue, out current)) return StoreStatus.NotFloat;
        }
        var value = current + delta;
        if (!value.IsFinite) return StoreStatus.NaNOrInfinity;
        var change = e is null ? KeyChange.Added : KeyChange.Modified;
        if (e is null) e = AddNew(key, hash);
        else Touch(e);
        StoreString(e, System.Text.Encoding.ASCII.GetBytes(value.ToHumanString()), StringForm.NoInt);
        result = e.StringValue;
        Announce(e, change, KeyEvent.IncrByFloat);
        return StoreStatus.Ok;
    }

    // ------------------------------------------------------------------ other types

    /// <summary>Stores <paramref name="value"/> at <paramref name="key"/>, replacing whatever was there (and its TTL
    /// unless <paramref name="keepTtl"/>); announced with <paramref name="evt"/>.</summary>
    public RedisEntry SetObject(ReadOnlySpan<byte> key, RedisObject value, KeyEvent evt, bool keepTtl = false)
    {
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        var change = KeyChange.Added;
        if (e is null) e = AddNew(key, hash);
        else
        {
            change = e.Type == value.Type ? KeyChange.Modified : KeyChange.TypeChanged;
            if (!keepTtl && e.ExpiresSlot >= 0) RemoveExpireSlot(e);
            Touch(e);
        }
        e.Type = value.Type;
        ReplaceObject(e, value);
        ReplaceBytes(e, []);
        e.Length = 0;
        Announce(e, change, evt);
        return e;
    }

    /// <summary>
    /// Inserts a key read from an RDB file: a string (<paramref name="value"/> null, <paramref name="stringValue"/>
    /// its bytes) or a collection, with an absolute expiry (<see cref="NoExpire"/> for none). Returns null, changing
    /// nothing, when the key already exists (expired or not): the loader refuses duplicates. The key array is taken
    /// over. Not a write as far as WATCH and the dirty counter go (Redis does not count loading either).
    /// </summary>
    internal RedisEntry? TryAddLoaded(byte[] key, RedisObject? value, ReadOnlySpan<byte> stringValue, long expireAtMs) =>
        TryAddLoaded(key, value, stringValue, null, expireAtMs);

    /// <summary><see cref="TryAddLoaded(byte[], RedisObject?, ReadOnlySpan{byte}, long)"/> for a string the loader
    /// decoded into an array of its own: the array is taken over instead of copied.</summary>
    internal RedisEntry? TryAddLoaded(byte[] key, byte[] stringValue, long expireAtMs) =>
        TryAddLoaded(key, null, default, stringValue, expireAtMs);

    private RedisEntry? TryAddLoaded(byte[] key, RedisObject? value, ReadOnlySpan<byte> stringSpan, byte[]? stringArray, long expireAtMs)
    {
        uint hash = HashOf(key);
        for (var p = _buckets[hash & (uint)(_buckets.Length - 1)]; p is not null; p = p.Next)
            if (p.Hash == hash && p.Key.AsSpan().SequenceEqual(key)) return null;
        var e = new RedisEntry(key, hash) { AccessMs = InitialAccess() };
        Link(e);
        if (stringArray is not null)
        {
            e.Type = RedisType.String;
            ReplaceBytes(e, stringArray);
            e.Length = stringArray.Length;
            e.Form = StringForm.Auto;
        }
        else if (value is null)
        {
            StoreString(e, stringSpan, StringForm.Auto);
        }
        else
        {
            e.Type = value.Type;
            ReplaceObject(e, value);
        }
        if (expireAtMs >= 0) SetExpireSlot(e, expireAtMs);
        return e;
    }

    /// <summary>Announces that <paramref name="entry"/>'s value was changed in place (collections) by <paramref name="evt"/>.</summary>
    public void NotifyModified(RedisEntry entry, KeyEvent evt)
    {
        // The lookup that found the entry touched it already; LFU counts that one access only.
        if (Lfu is null) entry.AccessMs = _lruClock;
        if (entry.Obj is { } obj) Recharge(obj);
        Announce(entry, KeyChange.Modified, evt);
    }

    // ------------------------------------------------------------------ keys

    /// <summary>Deletes <paramref name="key"/>; false when it did not exist (an expired key is reclaimed and reported
    /// as not existing, like DEL in Redis).</summary>
    public bool Delete(ReadOnlySpan<byte> key, KeyEvent evt = KeyEvent.Del)
    {
        var e = FindLive(key, HashOf(key));
        if (e is null) return false;
        Unlink(e);
        Announce(e, KeyChange.Deleted, evt);
        return true;
    }

    /// <summary>Deletes an entry obtained from this database during the current command; <paramref name="evt"/> names
    /// the command's change (a pop that emptied a collection passes its own event, "del" follows from the kind).</summary>
    public void Delete(RedisEntry entry, KeyEvent evt = KeyEvent.Del)
    {
        Unlink(entry);
        Announce(entry, KeyChange.Deleted, evt);
    }

    /// <summary>
    /// Removes <paramref name="key"/> to free memory (maxmemory eviction): announced as <see cref="KeyChange.Evicted"/>
    /// ("evicted"), so blocked clients, WATCH and the effects log (a DEL) see it like any deletion. False when absent.
    /// </summary>
    public bool Evict(ReadOnlySpan<byte> key)
    {
        var e = FindLive(key, HashOf(key));
        if (e is null) return false;
        Evict(e);
        return true;
    }

    /// <summary>Sets the absolute expiry (unix ms) of a live entry; the caller deletes instead when it is already in
    /// the past (EXPIRE semantics).</summary>
    public void SetExpire(RedisEntry entry, long expireAtMs, KeyEvent evt = KeyEvent.Expire)
    {
        SetExpireSlot(entry, expireAtMs);
        Announce(entry, KeyChange.Modified, evt);
    }

    /// <summary>Removes the TTL of an entry; false when it had none.</summary>
    public bool Persist(RedisEntry entry)
    {
        if (entry.ExpiresSlot < 0) return false;
        RemoveExpireSlot(entry);
        Announce(entry, KeyChange.Modified, KeyEvent.Persist);
        return true;
    }

    /// <summary>
    /// RENAME / RENAMENX: Ok, NotFound (no source), or NotDone when <paramref name="onlyIfAbsent"/> and the
    /// destination exists. The value keeps its TTL; a destination is overwritten. Renaming a key to itself is Ok
    /// (NotDone for RENAMENX) and changes nothing.
    /// </summary>
    public StoreStatus Rename(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, bool onlyIfAbsent)
    {
        var src = FindLive(source, HashOf(source));
        if (src is null) return StoreStatus.NotFound;
        if (source.SequenceEqual(destination)) return onlyIfAbsent ? StoreStatus.NotDone : StoreStatus.Ok;
        uint hash = HashOf(destination);
        var old = FindLive(destination, hash);
        var change = KeyChange.Added;
        if (old is not null)
        {
            if (onlyIfAbsent) return StoreStatus.NotDone;
            change = old.Type == src.Type ? KeyChange.Modified : KeyChange.TypeChanged;
            Unlink(old);
        }
        long expireAt = src.ExpireAtMs;
        Unlink(src); // first, so that the value is counted once, under its new key
        var dst = AddNew(destination, hash);
        dst.Type = src.Type;
        ReplaceBytes(dst, src.Bytes);
        dst.Length = src.Length;
        dst.Form = src.Form;
        ReplaceObject(dst, src.Obj);
        dst.AccessMs = src.AccessMs;
        if (expireAt != NoExpire) SetExpireSlot(dst, expireAt);
        var type = src.Type;
        src.Bytes = [];
        src.Obj = null;
        Announce(src.Key, type, KeyChange.Deleted, KeyEvent.RenameFrom);
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
        var src = Find(source);
        if (src is null) return StoreStatus.NotFound;
        uint hash = HashOf(destination);
        var old = target.FindLive(destination, hash);
        var change = KeyChange.Added;
        if (old is not null)
        {
            if (!replace) return StoreStatus.NotDone;
            change = old.Type == src.Type ? KeyChange.Modified : KeyChange.TypeChanged;
            target.Unlink(old);
        }
        var dst = target.AddNew(destination, hash);
        dst.Type = src.Type;
        dst.Form = src.Form;
        if (src.Type == RedisType.String)
        {
            target.ReplaceBytes(dst, src.Length == 0 ? [] : src.StringValue.ToArray());
            dst.Length = src.Length;
        }
        else
        {
            target.ReplaceObject(dst, src.Obj!.Clone());
        }
        if (src.ExpiresSlot >= 0) target.SetExpireSlot(dst, src.ExpireAt);
        target.Announce(dst, change, KeyEvent.CopyTo);
        return StoreStatus.Ok;
    }

    /// <summary>MOVE: Ok, NotFound, NotDone (the key exists in <paramref name="target"/>), or SameObject. The entry
    /// itself moves, with its TTL.</summary>
    public StoreStatus Move(ReadOnlySpan<byte> key, RedisDatabase target)
    {
        if (target == this) return StoreStatus.SameObject;
        uint hash = HashOf(key);
        var e = FindLive(key, hash);
        if (e is null) return StoreStatus.NotFound;
        if (target.FindLive(key, hash) is not null) return StoreStatus.NotDone;
        long expireAt = e.ExpireAtMs;
        Unlink(e);
        target.Link(e);
        if (expireAt != NoExpire) target.SetExpireSlot(e, expireAt);
        Announce(e, KeyChange.Deleted, KeyEvent.MoveFrom);
        target.Announce(e, KeyChange.Added, KeyEvent.MoveTo);
        return StoreStatus.Ok;
    }

    /// <summary>FLUSHDB: removes every key (announced as a whole, before: <see cref="IKeyspaceObserver.ContentsReplacing"/>).</summary>
    public void Clear()
    {
        var old = _buckets;
        int had = _count;
        if (had > 0)
            foreach (var observer in _observers) observer.ContentsReplacing(this, null);
        Snapshot?.Detach(this, old);
        _buckets = new RedisEntry?[MinBuckets];
        _count = 0;
        _usedBytes = 0;
        _expires = [];
        _expiresCount = 0;
        _expireCursor = 0;
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
        (_buckets, other._buckets) = (other._buckets, _buckets);
        (_count, other._count) = (other._count, _count);
        (_usedBytes, other._usedBytes) = (other._usedBytes, _usedBytes);
        (_expires, other._expires) = (other._expires, _expires);
        (_expiresCount, other._expiresCount) = (other._expiresCount, _expiresCount);
        (_expireCursor, other._expireCursor) = (other._expireCursor, _expireCursor);
        (_avgTtl, other._avgTtl) = (other._avgTtl, _avgTtl);
        Changes += _count + other._count;
        other.Changes += _count + other._count;
        if (Stats is { } stats) stats.Dirty++;
    }

    // ------------------------------------------------------------------ active expiry

    /// <summary>
    /// Active expiry, as Redis's activeExpireCycle does for one database: walk a cursor over the keys with a TTL,
    /// 20 per round, deleting the expired ones, and repeat while more than 10% of a round had expired, for at most
    /// <paramref name="budget"/> rounds. Also refreshes the LRU clock and the average TTL estimate. Returns the
    /// number of keys deleted (not added to <see cref="Stats"/>; the caller counts them).
    /// </summary>
    public int ActiveExpireCycle(int budget)
    {
        long now = NowMs;
        int total = 0;
        for (int round = 0; round < budget && now >= ExpiryPausedUntilMs; round++)
        {
            if (_expiresCount == 0)
            {
                _avgTtl = 0;
                break;
            }
            int toSample = Math.Min(_expiresCount, ExpireKeysPerLoop);
            int sampled = 0, expired = 0, ttlSamples = 0;
            long ttlSum = 0;
            while (sampled < toSample && _expiresCount > 0)
            {
                if (_expireCursor >= _expiresCount) _expireCursor = 0;
                var e = _expires[_expireCursor];
                sampled++;
                long ttl = e.ExpireAt - now;
                if (ttl < 0)
                {
                    // swap-remove puts the last entry at the cursor: it is examined next
                    ExpireEntry(e, active: true);
                    expired++;
                }
                else
                {
                    _expireCursor++;
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
            if (expired * 100 / sampled <= AcceptableStalePercent) break;
        }
        return total;
    }

    // ------------------------------------------------------------------ internals

    /// <summary>Hands every entry the running snapshot has not written yet to it now.</summary>
    private void PreservePending()
    {
        if (Snapshot is not { } snapshot) return;
        foreach (var head in _buckets)
            for (var e = head; e is not null; e = e.Next)
                if (e.SnapshotMark != SnapshotEpoch) snapshot.Preserve(this, e);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RedisEntry? FindLive(ReadOnlySpan<byte> key, uint hash)
    {
        var buckets = _buckets;
        var e = buckets[hash & (uint)(buckets.Length - 1)];
        while (e is not null)
        {
            if (e.Hash == hash && e.Key.AsSpan().SequenceEqual(key))
            {
                // Whatever the caller does next (read, change in place, delete), a snapshot in progress keeps the value as it is now.
                if (Snapshot is not null && e.SnapshotMark != SnapshotEpoch) Snapshot.Preserve(this, e);
                if (e.ExpiresSlot >= 0 && ExpireIfNeeded(e)) return null;
                return e;
            }
            e = e.Next;
        }
        return null;
    }

    /// <summary>CLIENT PAUSE: until this time keys are not expired (an expired key reads as absent but stays, as
    /// redis's expireIfNeeded while paused); 0 = not paused.</summary>
    internal long ExpiryPausedUntilMs;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ExpireIfNeeded(RedisEntry e)
    {
        long now = NowMs;
        if (now <= e.ExpireAt) return false;
        // A replica: its master deletes expired keys (it sends DEL); meanwhile reads see them as missing and the
        // master's own commands see them as they are (redis's expireIfNeeded on a replica).
        if (ExpiryPolicy is { Mode: not ExpiryMode.Delete } policy) return policy.Mode == ExpiryMode.Hide;
        if (now < ExpiryPausedUntilMs) return true;
        ExpireEntry(e, active: false);
        return true;
    }

    private void ExpireEntry(RedisEntry e, bool active)
    {
        Unlink(e);
        if (!active && Stats is { } stats) stats.ExpiredKeys++;
        // An expiry is a change of the keyspace (WATCH sees it) but not a change made by the running command.
        Changes++;
        foreach (var observer in _observers) observer.KeyChanged(this, e.Key, KeyChange.Expired, KeyEvent.Expired, e.Type);
    }

    /// <summary>Counts a change made by the running command and tells the observers (the change hook).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Announce(RedisEntry e, KeyChange change, KeyEvent evt) => Announce(e.Key, e.Type, change, evt);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Announce(byte[] key, RedisType type, KeyChange change, KeyEvent evt)
    {
        Changes++;
        if (Stats is { } stats) stats.Dirty++;
        foreach (var observer in _observers) observer.KeyChanged(this, key, change, evt, type);
    }

    private RedisEntry AddNew(ReadOnlySpan<byte> key, uint hash)
    {
        var e = new RedisEntry(key.ToArray(), hash) { AccessMs = InitialAccess() };
        Link(e);
        return e;
    }

    private void Link(RedisEntry e)
    {
        e.SnapshotMark = SnapshotEpoch; // not part of a snapshot that is running: it was elsewhere, or nowhere, when it began
        if (_count >= _buckets.Length) Resize(_buckets.Length * 2);
        ref var head = ref _buckets[e.Hash & (uint)(_buckets.Length - 1)];
        e.Next = head;
        head = e;
        _count++;
        _usedBytes += EntryBytes(e);
        if (e.Obj is { } obj)
        {
            obj.Charged = obj.MemoryBytes;
            _usedBytes += obj.Charged;
        }
    }

    private void Unlink(RedisEntry e)
    {
        if (Snapshot is not null && e.SnapshotMark != SnapshotEpoch) Snapshot.Preserve(this, e); // active expiry, eviction
        ref var slot = ref _buckets[e.Hash & (uint)(_buckets.Length - 1)];
        if (ReferenceEquals(slot, e))
        {
            slot = e.Next;
        }
        else
        {
            var p = slot;
            while (p is not null && !ReferenceEquals(p.Next, e)) p = p.Next;
            Debug.Assert(p is not null, "entry not in this database");
            if (p is null) return;
            p.Next = e.Next;
        }
        e.Next = null;
        if (e.ExpiresSlot >= 0) RemoveExpireSlot(e);
        _count--;
        _usedBytes -= EntryBytes(e);
        if (e.Obj is { Charged: >= 0 } obj)
        {
            _usedBytes -= obj.Charged;
            obj.Charged = -1;
        }
        // Shrink when under 1/8 full (Redis resizes below 10%); the SCAN cursor survives this.
        if (_buckets.Length > MinBuckets && _count < _buckets.Length / 8)
            Resize(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(_count * 2, 1))));
    }

    private void Resize(int size)
    {
        var old = _buckets;
        var buckets = new RedisEntry?[size];
        uint mask = (uint)size - 1;
        foreach (var head in old)
        {
            var e = head;
            while (e is not null)
            {
                var next = e.Next;
                ref var slot = ref buckets[e.Hash & mask];
                e.Next = slot;
                slot = e;
                e = next;
            }
        }
        _buckets = buckets;
    }

    private void SetExpireSlot(RedisEntry e, long expireAt)
    {
        if (e.ExpiresSlot < 0)
        {
            if (_expiresCount == _expires.Length) Array.Resize(ref _expires, Math.Max(16, _expires.Length * 2));
            e.ExpiresSlot = _expiresCount;
            _expires[_expiresCount++] = e;
        }
        e.ExpireAt = expireAt;
    }

    private void RemoveExpireSlot(RedisEntry e)
    {
        int i = e.ExpiresSlot;
        int last = --_expiresCount;
        if (i != last)
        {
            var moved = _expires[last];
            _expires[i] = moved;
            moved.ExpiresSlot = i;
        }
        _expires[last] = null!;
        e.ExpiresSlot = -1;
        if (_expires.Length > 64 && _expiresCount < _expires.Length / 4) Array.Resize(ref _expires, _expires.Length / 2);
    }

    /// <summary>Copies a string value into the entry, reusing its array when the size is close enough.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreString(RedisEntry e, ReadOnlySpan<byte> value, StringForm form)
    {
        if (e.Type != RedisType.String)
        {
            e.Type = RedisType.String;
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

    /// <summary>An entry with its key and string array (its value object is counted apart, in its Charged).</summary>
    private static long EntryBytes(RedisEntry e) =>
        MemoryCost.Entry + MemoryCost.ByteArray(e.Key.Length) + MemoryCost.ByteArray(e.Bytes.Length);

    /// <summary>Every change of a linked entry's string array goes through here, so the count stays exact.</summary>
    private void ReplaceBytes(RedisEntry e, byte[] bytes)
    {
        _usedBytes += MemoryCost.ByteArray(bytes.Length) - MemoryCost.ByteArray(e.Bytes.Length);
        e.Bytes = bytes;
    }

    /// <summary>Every change of a linked entry's value object goes through here.</summary>
    private void ReplaceObject(RedisEntry e, RedisObject? obj)
    {
        if (e.Obj is { Charged: >= 0 } old)
        {
            _usedBytes -= old.Charged;
            old.Charged = -1;
        }
        e.Obj = obj;
        if (obj is not null)
        {
            obj.Charged = obj.MemoryBytes;
            _usedBytes += obj.Charged;
        }
    }

    /// <summary>A collection changed in place: count its new size (nothing when it is no longer stored).</summary>
    private void Recharge(RedisObject obj)
    {
        if (obj.Charged < 0) return;
        long bytes = obj.MemoryBytes;
        _usedBytes += bytes - obj.Charged;
        obj.Charged = bytes;
    }

    /// <summary>The access field of a new key: the LRU clock, or LFU's initial counter with the current minute.</summary>
    private long InitialAccess() => Lfu is null ? _lruClock : LfuSettings.Pack(LfuSettings.Minutes(_lruClock), LfuSettings.InitialCounter);

    /// <summary>An access (Redis's updateLFU / LRU_CLOCK on lookup).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(RedisEntry e)
    {
        if (Lfu is null) e.AccessMs = _lruClock;
        else TouchLfu(e, Lfu);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TouchLfu(RedisEntry e, LfuSettings lfu)
    {
        long minutes = LfuSettings.Minutes(_lruClock);
        int counter = lfu.Decayed(e.AccessMs, minutes);
        // xorshift32: a cheap uniform draw per access, no shared state
        uint x = _lfuRandom;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _lfuRandom = x;
        e.AccessMs = LfuSettings.Pack(minutes, lfu.Increment(counter, x));
    }

    /// <summary>RESTORE's and the RDB's IDLETIME / FREQ (Redis's objectSetLRUOrLFU): the one the policy tracks is set,
    /// the other ignored; -1 = not given.</summary>
    internal void SetAccess(RedisEntry e, long idleSeconds, int freq, long nowMs)
    {
        if (Lfu is not null)
        {
            if (freq >= 0) e.AccessMs = LfuSettings.Pack(LfuSettings.Minutes(nowMs), freq);
        }
        else if (idleSeconds >= 0)
        {
            e.AccessMs = nowMs - idleSeconds * 1000;
        }
    }

    /// <summary>OBJECT FREQ: the entry's LFU counter, decayed to now (Redis's LFUDecrAndReturn).</summary>
    internal int LfuCounter(RedisEntry e, LfuSettings lfu) => lfu.Decayed(e.AccessMs, LfuSettings.Minutes(NowMs));

    /// <summary>
    /// Up to <paramref name="into"/>.Length eviction candidates: with <paramref name="withTtl"/>, random keys that have
    /// a TTL; otherwise the keys of consecutive buckets from a random one (Redis's dictGetSomeKeys), visiting at most
    /// ten buckets per wanted key. Returns how many were written.
    /// </summary>
    internal int Sample(Span<RedisEntry?> into, bool withTtl)
    {
        int n = 0;
        if (withTtl)
        {
            if (_expiresCount == 0) return 0;
            for (; n < into.Length && n < _expiresCount; n++) into[n] = _expires[_random.Next(_expiresCount)];
            return n;
        }
        if (_count == 0) return 0;
        int mask = _buckets.Length - 1;
        int at = _random.Next() & mask;
        for (int steps = into.Length * 10; steps > 0 && n < into.Length; steps--, at = (at + 1) & mask)
            for (var e = _buckets[at]; e is not null && n < into.Length; e = e.Next) into[n++] = e;
        return n;
    }

    /// <summary>A random key with a TTL (volatile-random), or null.</summary>
    internal RedisEntry? RandomEntryWithTtl() => _expiresCount == 0 ? null : _expires[_random.Next(_expiresCount)];

    /// <summary>True while <paramref name="e"/> is stored here (a candidate kept in the eviction pool may be gone).</summary>
    internal bool Holds(RedisEntry e)
    {
        for (var p = _buckets[e.Hash & (uint)(_buckets.Length - 1)]; p is not null; p = p.Next)
            if (ReferenceEquals(p, e)) return true;
        return false;
    }

    /// <summary>
    /// Evicts <paramref name="e"/> (maxmemory), announced as <see cref="KeyChange.Evicted"/> ("evicted"), so WATCH,
    /// blocked clients' keys and the effects log (a DEL, or UNLINK with lazyfree-lazy-eviction, as redis-server
    /// propagates) all see it like any deletion. Returns the bytes freed by the store's accounting.
    /// </summary>
    internal long Evict(RedisEntry e)
    {
        long before = UsedMemory;
        Unlink(e);
        Announce(e, KeyChange.Evicted, KeyEvent.Evicted);
        return before - UsedMemory;
    }

    /// <summary>Enumerates every entry of a database (see <see cref="Entries"/>).</summary>
    public readonly struct EntryEnumerable(RedisDatabase db)
    {
        public Enumerator GetEnumerator() => new(db._buckets);
    }

    public struct Enumerator
    {
        private readonly RedisEntry?[] _buckets;
        private int _index;
        private RedisEntry? _current;

        internal Enumerator(RedisEntry?[] buckets)
        {
            _buckets = buckets;
            _index = -1;
            _current = null;
        }

        public readonly RedisEntry Current => _current!;

        public bool MoveNext()
        {
            if (_current?.Next is { } next)
            {
                _current = next;
                return true;
            }
            while (++_index < _buckets.Length)
            {
                if (_buckets[_index] is { } head)
                {
                    _current = head;
                    return true;
                }
            }
            _current = null;
            return false;
        }
    }
}
