using System.Runtime.CompilerServices;
using Demikernel.Server.Store;

namespace Demikernel.Server.Notifications;

/// <summary>redis-server's NOTIFY_* classes (the bits of <c>notify-keyspace-events</c>).</summary>
[Flags]
public enum NotifyClass
{
    None = 0,
    Keyspace = 1 << 0,   // K
    Keyevent = 1 << 1,   // E
    Generic = 1 << 2,    // g
    String = 1 << 3,     // $
    List = 1 << 4,       // l
    Set = 1 << 5,        // s
    Hash = 1 << 6,       // h
    Zset = 1 << 7,       // z
    Expired = 1 << 8,    // x
    Evicted = 1 << 9,    // e
    Stream = 1 << 10,    // t
    KeyMiss = 1 << 11,   // m (not part of A)
    Module = 1 << 13,    // d (events modules raise; none here, accepted as redis accepts it without modules)
    New = 1 << 14,       // n (not part of A)
    All = Generic | String | List | Set | Hash | Zset | Expired | Evicted | Stream | Module,
}

/// <summary>The <c>notify-keyspace-events</c> text both ways, as redis's keyspaceEventsStringToFlags / FlagsToString.</summary>
public static class NotifyFlags
{
    /// <summary>The classes of <paramref name="text"/>, or null when it holds a character that names none.</summary>
    public static NotifyClass? Parse(string text)
    {
        var flags = NotifyClass.None;
        foreach (char ch in text)
        {
            flags |= ch switch
            {
                'A' => NotifyClass.All,
                'g' => NotifyClass.Generic,
                '$' => NotifyClass.String,
                'l' => NotifyClass.List,
                's' => NotifyClass.Set,
                'h' => NotifyClass.Hash,
                'z' => NotifyClass.Zset,
                'x' => NotifyClass.Expired,
                'e' => NotifyClass.Evicted,
                'K' => NotifyClass.Keyspace,
                'E' => NotifyClass.Keyevent,
                't' => NotifyClass.Stream,
                'm' => NotifyClass.KeyMiss,
                'd' => NotifyClass.Module,
                'n' => NotifyClass.New,
                _ => (NotifyClass)(-1),
            };
            if (flags == (NotifyClass)(-1) || (int)flags < 0) return null;
        }
        return flags;
    }

    /// <summary>The normalised text CONFIG GET shows: A (or the classes in redis's order), then K, E, m.</summary>
    public static string Format(NotifyClass flags)
    {
        var s = new System.Text.StringBuilder();
        if ((flags & NotifyClass.All) == NotifyClass.All) s.Append('A');
        else
        {
            if ((flags & NotifyClass.Generic) != 0) s.Append('g');
            if ((flags & NotifyClass.String) != 0) s.Append('$');
            if ((flags & NotifyClass.List) != 0) s.Append('l');
            if ((flags & NotifyClass.Set) != 0) s.Append('s');
            if ((flags & NotifyClass.Hash) != 0) s.Append('h');
            if ((flags & NotifyClass.Zset) != 0) s.Append('z');
            if ((flags & NotifyClass.Expired) != 0) s.Append('x');
            if ((flags & NotifyClass.Evicted) != 0) s.Append('e');
            if ((flags & NotifyClass.Stream) != 0) s.Append('t');
            if ((flags & NotifyClass.Module) != 0) s.Append('d');
            if ((flags & NotifyClass.New) != 0) s.Append('n');
        }
        if ((flags & NotifyClass.Keyspace) != 0) s.Append('K');
        if ((flags & NotifyClass.Keyevent) != 0) s.Append('E');
        if ((flags & NotifyClass.KeyMiss) != 0) s.Append('m');
        return s.ToString();
    }
}

/// <summary>
/// Keyspace notifications: a subscriber of the store's change hook that turns each change into the
/// <c>__keyspace@db__:key</c> / <c>__keyevent@db__:event</c> messages redis-server 7.0 publishes for it, in its order.
/// Handlers call <see cref="Fire"/> for the few events that are not a change of the stored value as the hook sees
/// it (SET's "expire", XREADGROUP's "xgroup-createconsumer", "keymiss"). With <c>notify-keyspace-events</c> empty
/// every entry point is one test of <see cref="Enabled"/>.
/// </summary>
public sealed class KeyspaceNotifier : IKeyspaceObserver
{
    private readonly PubSubHub _hub;
    private NotifyClass _flags;
    private byte[] _channel = new byte[128];

    // RENAME and MOVE announce the source's removal first; redis notifies "new" for the destination before both.
    private byte[] _pendingKey = new byte[64];
    private int _pendingLength = -1;
    private int _pendingDb;

    public KeyspaceNotifier(PubSubHub hub) => _hub = hub;

    /// <summary>The classes notify-keyspace-events selects.</summary>
    public NotifyClass Flags
    {
        get => _flags;
        set => _flags = value;
    }

    /// <summary>True when some class is selected (the one test on the command path).</summary>
    public bool Enabled
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _flags != 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type)
    {
        if (_flags != 0) Dispatch(db.Index, key, change, evt);
    }

    public void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming)
    {
        // FLUSHDB/FLUSHALL and SWAPDB notify nothing in redis-server 7.0.
    }

    /// <summary>An event redis fires that the change hook does not carry (see the class comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Fire(int db, ReadOnlySpan<byte> key, KeyEvent evt)
    {
        if (_flags != 0) Publish(ClassOf(evt), KeyEvents.Name(evt), key, db);
    }

    /// <summary>A read lookup missed ("keymiss", class m).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void KeyMiss(int db, ReadOnlySpan<byte> key)
    {
        if ((_flags & NotifyClass.KeyMiss) != 0) Publish(NotifyClass.KeyMiss, "keymiss", key, db);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Dispatch(int db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt)
    {
        switch (change)
        {
            case KeyChange.Expired:
                Publish(NotifyClass.Expired, "expired", key, db);
                return;
            case KeyChange.Evicted:
                Publish(NotifyClass.Evicted, "evicted", key, db);
                return;
            case KeyChange.Deleted:
                if (evt is KeyEvent.RenameFrom or KeyEvent.MoveFrom)
                {
                    // Held until the destination's announcement: "new" (dst), "rename_from" (src), "rename_to" (dst).
                    if (_pendingKey.Length < key.Length) _pendingKey = new byte[key.Length * 2];
                    key.CopyTo(_pendingKey);
                    _pendingLength = key.Length;
                    _pendingDb = db;
                    return;
                }
                // None: a key removed to be replaced at once (RESTORE REPLACE), which redis does not notify as "del".
                if (evt == KeyEvent.None) return;
                if (evt != KeyEvent.Del) Publish(ClassOf(evt), KeyEvents.Name(evt), key, db);
                Publish(NotifyClass.Generic, "del", key, db);
                return;
        }
        // Added, Modified, TypeChanged. RENAME, MOVE, COPY and RESTORE replace a destination by deleting it and adding
        // the new value (dbAdd), so "new" comes even when the key existed.
        if (change == KeyChange.Added || evt is KeyEvent.RenameTo or KeyEvent.CopyTo or KeyEvent.Restore)
            Publish(NotifyClass.New, "new", key, db);
        if (evt is KeyEvent.RenameTo or KeyEvent.MoveTo && _pendingLength >= 0)
        {
            int length = _pendingLength;
            _pendingLength = -1;
            Publish(NotifyClass.Generic, evt == KeyEvent.RenameTo ? "rename_from" : "move_from", _pendingKey.AsSpan(0, length), _pendingDb);
        }
        var cls = ClassOf(evt);
        if (cls != NotifyClass.None) Publish(cls, KeyEvents.Name(evt), key, db);
    }

    /// <summary>The class redis notifies <paramref name="evt"/> under; None for the hook's events redis does not notify
    /// (XACK, XCLAIM, XAUTOCLAIM, XREADGROUP change a stream's groups silently).</summary>
    private static NotifyClass ClassOf(KeyEvent evt) => evt switch
    {
        KeyEvent.None or KeyEvent.XAck or KeyEvent.XClaim or KeyEvent.XAutoClaim or KeyEvent.XReadGroup => NotifyClass.None,
        KeyEvent.Set or KeyEvent.SetRange or KeyEvent.Append or KeyEvent.IncrBy or KeyEvent.IncrByFloat or KeyEvent.SetBit
            or KeyEvent.PfAdd or KeyEvent.PfMerge => NotifyClass.String,
        KeyEvent.Del or KeyEvent.Expire or KeyEvent.Persist or KeyEvent.RenameFrom or KeyEvent.RenameTo or KeyEvent.MoveFrom
            or KeyEvent.MoveTo or KeyEvent.CopyTo or KeyEvent.Restore => NotifyClass.Generic,
        KeyEvent.Expired => NotifyClass.Expired,
        KeyEvent.Evicted => NotifyClass.Evicted,
        KeyEvent.SortStore or KeyEvent.LPush or KeyEvent.RPush or KeyEvent.LPop or KeyEvent.RPop or KeyEvent.LInsert
            or KeyEvent.LSet or KeyEvent.LTrim or KeyEvent.LRem => NotifyClass.List,
        KeyEvent.HSet or KeyEvent.HIncrBy or KeyEvent.HIncrByFloat or KeyEvent.HDel => NotifyClass.Hash,
        KeyEvent.SAdd or KeyEvent.SRem or KeyEvent.SPop or KeyEvent.SMove or KeyEvent.SInterStore or KeyEvent.SUnionStore
            or KeyEvent.SDiffStore => NotifyClass.Set,
        KeyEvent.ZAdd or KeyEvent.ZIncr or KeyEvent.ZRem or KeyEvent.ZRemRangeByScore or KeyEvent.ZRemRangeByRank
            or KeyEvent.ZRemRangeByLex or KeyEvent.ZPopMin or KeyEvent.ZPopMax or KeyEvent.ZInterStore or KeyEvent.ZUnionStore
            or KeyEvent.ZDiffStore or KeyEvent.ZRangeStore or KeyEvent.GeoRadiusStore or KeyEvent.GeoSearchStore => NotifyClass.Zset,
        _ => NotifyClass.Stream,
    };

    /// <summary>redis's notifyKeyspaceEvent: the keyspace message, then the keyevent message.</summary>
    private void Publish(NotifyClass cls, string evt, ReadOnlySpan<byte> key, int db)
    {
        if ((_flags & cls) == 0) return;
        if ((_flags & NotifyClass.Keyspace) != 0)
        {
            int n = Channel("__keyspace@"u8, db, key.Length);
            key.CopyTo(_channel.AsSpan(n));
            Span<byte> evtBytes = stackalloc byte[evt.Length];
            for (int i = 0; i < evt.Length; i++) evtBytes[i] = (byte)evt[i];
            _hub.Publish(_channel.AsSpan(0, n + key.Length), evtBytes);
        }
        if ((_flags & NotifyClass.Keyevent) != 0)
        {
            int n = Channel("__keyevent@"u8, db, evt.Length);
            for (int i = 0; i < evt.Length; i++) _channel[n + i] = (byte)evt[i];
            // The key may live in _pendingKey or a store array, never in _channel: safe to pass while publishing.
            _hub.Publish(_channel.AsSpan(0, n + evt.Length), key);
        }
    }

    /// <summary>Writes "prefix" + db + "__:" into the channel buffer (grown for <paramref name="tail"/> more bytes).</summary>
    private int Channel(ReadOnlySpan<byte> prefix, int db, int tail)
    {
        int need = prefix.Length + 11 + 3 + tail;
        if (_channel.Length < need) _channel = new byte[need * 2];
        prefix.CopyTo(_channel);
        int n = prefix.Length;
        db.TryFormat(_channel.AsSpan(n), out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        n += written;
        "__:"u8.CopyTo(_channel.AsSpan(n));
        return n + 3;
    }
}
