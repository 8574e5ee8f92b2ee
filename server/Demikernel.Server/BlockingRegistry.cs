using Demikernel.Server.Store;

namespace Demikernel.Server;

/// <summary>What a blocked client gets when its timeout passes.</summary>
public enum BlockTimeoutReply : byte
{
    /// <summary>BLPOP, BRPOP, BLMPOP, BZPOPMIN/MAX, BZMPOP, XREAD, XREADGROUP: a null array.</summary>
    NullArray,
    /// <summary>BLMOVE, BRPOPLPUSH: a null bulk string.</summary>
    NullBulk,
    /// <summary>WAIT: the number of replicas that acknowledged (Replication/).</summary>
    ReplicaAcks,
}

/// <summary>What a blocked command waits for: the key type that can serve it (redis-server's BLOCKED_LIST/ZSET/STREAM).</summary>
public enum BlockedOn : byte
{
    /// <summary>BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH.</summary>
    List,
    /// <summary>BZPOPMIN, BZPOPMAX, BZMPOP.</summary>
    SortedSet,
    /// <summary>XREAD.</summary>
    Stream,
    /// <summary>XREADGROUP: also answered "-UNBLOCKED the stream key no longer exists" when the key goes away or stops
    /// being a stream (its group went with it).</summary>
    StreamGroup,
    /// <summary>WAIT: no key; woken by replicas' acknowledgements.</summary>
    ReplicaAcks,
    /// <summary>MIGRATE: no key; woken when the target answered (Cluster/Migration.cs).</summary>
    Migration,
}

/// <summary>
/// Clients blocked on keys (BLPOP and friends), in FIFO order per key, as Redis serves them. A subscriber of the
/// keyspace's change hook, so every write wakes them, whichever command made it (RENAME, MOVE, COPY, RESTORE,
/// SORT ... STORE, a script):
/// <code>
///   BLPOP k 5 ─▶ handler finds nothing ─▶ CommandContext.Block(k, List) ─▶ session parks (no reply, pipeline waits)
///   LPUSH k v ─▶ the store announces k ─▶ KeyChanged: k has waiters ─▶ ready list (once per key)
///             ─▶ after that command (or after EXEC), ServeReady(): if k now holds the type a waiter needs, its blocked
///               request is re-run in its own session, oldest first; served clients are woken with their reply
///   timeout   ─▶ the parked session wakes, Unblock(), timeout reply
/// </code>
/// Nothing here blocks the libOS thread: a blocked client is a parked coroutine.
/// </summary>
public sealed class BlockingRegistry : IKeyspaceObserver
{
    /// <summary>redis-server 7.0's reply to an XREADGROUP whose stream key was deleted or replaced while it waited.</summary>
    internal const string StreamDeleted = "UNBLOCKED the stream key no longer exists";

    private readonly RedisDatabase[] _databases;

    // Per database: key → sessions waiting on it, oldest first. Probed with request spans (no allocation).
    private readonly Dictionary<int, Dictionary<byte[], List<ClientSession>>> _waiting = [];
    private readonly List<(int Db, byte[] Key)> _ready = [];
    private int _waitingKeys;
    private bool _serving;

    public BlockingRegistry(RedisDatabase[] databases) => _databases = databases;

    public int BlockedClients { get; private set; }

    /// <summary>True if any client waits on any key (writers can skip signalling otherwise).</summary>
    public bool HasWaiters => _waitingKeys > 0;

    internal void Block(ClientSession session, int db, IEnumerable<byte[]> keys)
    {
        if (!_waiting.TryGetValue(db, out var byKey)) _waiting[db] = byKey = new(ByteKeyComparer.Instance);
        foreach (var key in keys)
        {
            if (!byKey.TryGetValue(key, out var list))
            {
                byKey[key] = list = [];
                _waitingKeys++;
            }
            list.Add(session);
        }
        BlockedClients++;
    }

    internal void Unblock(ClientSession session, int db, IEnumerable<byte[]> keys)
    {
        if (!_waiting.TryGetValue(db, out var byKey)) return;
        foreach (var key in keys)
        {
            if (byKey.TryGetValue(key, out var list) && list.Remove(session) && list.Count == 0)
            {
                byKey.Remove(key);
                _waitingKeys--;
            }
        }
        BlockedClients--;
    }

    /// <summary>The change hook: any change of a key somebody waits on makes it ready (served after the command).</summary>
    public void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type)
    {
        if (_waitingKeys != 0) SignalReady(db.Index, key);
    }

    /// <summary>FLUSHDB/SWAPDB: every waited key of the database may now hold something else (or nothing).</summary>
    public void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming)
    {
        if (_waitingKeys == 0 || !_waiting.TryGetValue(db.Index, out var byKey)) return;
        foreach (var key in byKey.Keys) SignalReady(db.Index, key);
    }

    /// <summary>A key that clients may be waiting on changed.</summary>
    private void SignalReady(int db, ReadOnlySpan<byte> key)
    {
        if (_waitingKeys == 0 || !_waiting.TryGetValue(db, out var byKey)) return;
        if (!byKey.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var registered, out _)) return;
        foreach (var (d, k) in _ready)
            if (d == db && ReferenceEquals(k, registered)) return;
        _ready.Add((db, registered));
    }

    public bool HasReady => _ready.Count > 0;

    /// <summary>Serves clients blocked on keys that became ready, oldest first. Runs after each command.</summary>
    public void ServeReady()
    {
        if (_serving) return;
        _serving = true;
        try
        {
            while (_ready.Count > 0)
            {
                var (db, key) = _ready[0];
                _ready.RemoveAt(0);
                if (!_waiting.TryGetValue(db, out var byKey) || !byKey.TryGetValue(key, out var list)) continue;
                var database = _databases[db];
                foreach (var session in list.ToArray())
                {
                    // Each retry may consume the data; the ones that still find nothing stay blocked in place.
                    // A handler's failure is answered inside the retry; anything else is the blocked client's
                    // problem, never that of the client whose write woke it.
                    try
                    {
                        // As redis-server 7.0's handleClientsBlockedOnKeys: only a key of the type a client waits for
                        // serves it (LPUSH, DEL, SET in one transaction leaves BLPOP blocked); XREADGROUP clients of a
                        // key that is gone or no longer a stream get an error.
                        RedisType? type = database.TryLookup(key, LookupFlags.NoTouch, out var view) ? view.Type : null;
                        var needed = session.BlockedOn;
                        if (type == (needed switch { BlockedOn.List => RedisType.List, BlockedOn.SortedSet => RedisType.ZSet, _ => RedisType.Stream }))
                            session.RetryBlocked();
                        else if (needed == BlockedOn.StreamGroup)
                            session.UnblockWithError(StreamDeleted);
                    }
                    catch (Exception e)
                    {
                        session.RetryFailed(e);
                    }
                }
            }
        }
        finally
        {
            _serving = false;
        }
    }
}
