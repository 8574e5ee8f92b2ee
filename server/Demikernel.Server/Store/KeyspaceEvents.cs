namespace Demikernel.Server.Store;

/// <summary>What happened to a key (the generic part of a change, as redis-server's dbAdd/dbDelete/expiry/eviction).</summary>
public enum KeyChange : byte
{
    /// <summary>The key did not exist and now does (redis's dbAdd: the "new" keyspace event).</summary>
    Added,
    /// <summary>The value changed, keeping its type (in place, or overwritten by a value of the same type).</summary>
    Modified,
    /// <summary>The key was overwritten by a value of another type (SET on a list, SORT ... STORE on a string).</summary>
    TypeChanged,
    /// <summary>Removed by a command (DEL, a pop that emptied a collection, RENAME's source, MOVE's source...).</summary>
    Deleted,
    /// <summary>Its TTL passed: removed lazily by a lookup or by active expiry ("expired").</summary>
    Expired,
    /// <summary>Removed to free memory under maxmemory ("evicted").</summary>
    Evicted,
}

/// <summary>
/// The event name redis-server passes to notifyKeyspaceEvent for the change (what a keyspace notification would
/// carry): the command's own name for it ("set", "lpush", "hset", "rename_from", ...). The generic events follow
/// from <see cref="KeyChange"/>: an <see cref="KeyChange.Added"/> key is also "new", and a collection a command emptied
/// (<see cref="KeyChange.Deleted"/> with an event other than <see cref="Del"/>) is also "del".
/// </summary>
public enum KeyEvent : byte
{
    None, Set, SetRange, Append, IncrBy, IncrByFloat, SetBit, Del, Expire, Persist, Expired, Evicted,
    RenameFrom, RenameTo, MoveFrom, MoveTo, CopyTo, Restore, SortStore,
    LPush, RPush, LPop, RPop, LInsert, LSet, LTrim, LRem,
    HSet, HIncrBy, HIncrByFloat, HDel,
    SAdd, SRem, SPop, SMove, SInterStore, SUnionStore, SDiffStore,
    ZAdd, ZIncr, ZRem, ZRemRangeByScore, ZRemRangeByRank, ZRemRangeByLex, ZPopMin, ZPopMax,
    ZInterStore, ZUnionStore, ZDiffStore, ZRangeStore,
    XAdd, XDel, XTrim, XSetId, XGroupCreate, XGroupCreateConsumer, XGroupDelConsumer, XGroupDestroy, XGroupSetId,
    XAutoClaim, XClaim, XAck, XReadGroup,
    PfAdd, PfMerge,
    GeoRadiusStore, GeoSearchStore,
}

/// <summary>Redis's names of <see cref="KeyEvent"/> values.</summary>
public static class KeyEvents
{
    private static readonly string[] Names =
    [
        "", "set", "setrange", "append", "incrby", "incrbyfloat", "setbit", "del", "expire", "persist", "expired", "evicted",
        "rename_from", "rename_to", "move_from", "move_to", "copy_to", "restore", "sortstore",
        "lpush", "rpush", "lpop", "rpop", "linsert", "lset", "ltrim", "lrem",
        "hset", "hincrby", "hincrbyfloat", "hdel",
        "sadd", "srem", "spop", "smove", "sinterstore", "sunionstore", "sdiffstore",
        "zadd", "zincr", "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zpopmin", "zpopmax",
        "zinterstore", "zunionstore", "zdiffstore", "zrangestore",
        "xadd", "xdel", "xtrim", "xsetid", "xgroup-create", "xgroup-createconsumer", "xgroup-delconsumer", "xgroup-destroy", "xgroup-setid",
        "xautoclaim", "xclaim", "xack", "xreadgroup",
        "pfadd", "pfadd",
        "georadiusstore", "geosearchstore",
    ];

    /// <summary>The name redis-server notifies for <paramref name="e"/> ("" for <see cref="KeyEvent.None"/>).</summary>
    public static string Name(KeyEvent e) => Names[(int)e];

    internal static int Count => Names.Length;
}

/// <summary><see cref="IKeyspaceObserver.KeyChanged"/> as a delegate: what the database calls on every change.</summary>
public delegate void KeyChangedHandler(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type);

/// <summary>
/// A subscriber of the keyspace's change hook (blocking, WATCH, the effects log; later client tracking, keyspace
/// notifications, memory accounting). Called on the libOS thread right after the change, once per change, with no
/// allocation: implementations must be cheap when the key does not concern them.
/// </summary>
public interface IKeyspaceObserver
{
    /// <summary><paramref name="key"/> of <paramref name="db"/> changed. <paramref name="type"/> is the key's type after
    /// the change, or before it for a removal.</summary>
    void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type);

    /// <summary>
    /// Every key of <paramref name="db"/> is about to be dropped at once (FLUSHDB/FLUSHALL, <paramref name="incoming"/>
    /// null) or exchanged with the keys of <paramref name="incoming"/> (SWAPDB): called before, while both still hold
    /// their old keys. Not announced key by key, as redis-server does not (signalFlushedDb/touchAllWatchedKeysInDb).
    /// </summary>
    void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming);
}
