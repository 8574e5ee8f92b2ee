namespace Demikernel.Server;

/// <summary>What a blocked client gets when its timeout passes.</summary>
public enum BlockTimeoutReply : byte
{
    /// <summary>BLPOP, BRPOP, BLMPOP, BZPOPMIN/MAX, BZMPOP, XREAD, XREADGROUP: a null array.</summary>
    NullArray,
    /// <summary>BLMOVE, BRPOPLPUSH: a null bulk string.</summary>
    NullBulk,
}

/// <summary>
/// Clients blocked on keys (BLPOP and friends), in FIFO order per key, as Redis serves them:
/// <code>
///   BLPOP k 5 ─▶ handler finds nothing ─▶ CommandContext.Block(k) ─▶ session parks (no reply, rest of pipeline waits)
///   LPUSH k v ─▶ handler calls SignalReady(db, k) ─▶ after that command, ServeReady() re-runs the oldest blocked
///               request on k in its own session; if it now succeeds, that client is woken with its reply
///   timeout   ─▶ the parked session wakes, Unblock(), timeout reply
/// </code>
/// Nothing here blocks the libOS thread: a blocked client is a parked coroutine.
/// </summary>
public sealed class BlockingRegistry
{
    // Per database: key → sessions waiting on it, oldest first. Probed with request spans (no allocation).
    private readonly Dictionary<int, Dictionary<byte[], List<ClientSession>>> _waiting = [];
    private readonly List<(int Db, byte[] Key)> _ready = [];
    private int _waitingKeys;
    private bool _serving;

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

    /// <summary>A key that clients may be waiting on got data (called by LPUSH, ZADD, XADD, ...).</summary>
    public void SignalReady(int db, ReadOnlySpan<byte> key)
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
                foreach (var session in list.ToArray())
                {
                    // Each retry may consume the data; the ones that still find nothing stay blocked in place.
                    // A handler's failure is answered inside the retry; anything else is the blocked client's
                    // problem, never that of the client whose write woke it.
                    try
                    {
                        session.RetryBlocked();
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
