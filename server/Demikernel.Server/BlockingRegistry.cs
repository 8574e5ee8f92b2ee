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
    private readonly Dictionary<(int Db, string Key), List<ClientSession>> _waiting = [];
    private readonly List<(int Db, string Key)> _ready = [];
    private bool _serving;

    public int BlockedClients { get; private set; }

    /// <summary>True if any client waits on the key (writers can skip signalling otherwise).</summary>
    public bool HasWaiters => _waiting.Count > 0;

    internal void Block(ClientSession session, int db, IEnumerable<byte[]> keys)
    {
        foreach (var key in keys)
        {
            var id = (db, Convert.ToBase64String(key));
            if (!_waiting.TryGetValue(id, out var list)) _waiting[id] = list = [];
            list.Add(session);
        }
        BlockedClients++;
    }

    internal void Unblock(ClientSession session, int db, IEnumerable<byte[]> keys)
    {
        foreach (var key in keys)
        {
            var id = (db, Convert.ToBase64String(key));
            if (_waiting.TryGetValue(id, out var list) && list.Remove(session) && list.Count == 0) _waiting.Remove(id);
        }
        BlockedClients--;
    }

    /// <summary>A key that clients may be waiting on got data (called by LPUSH, ZADD, XADD, ...).</summary>
    public void SignalReady(int db, ReadOnlySpan<byte> key)
    {
        if (_waiting.Count == 0) return;
        var id = (db, Convert.ToBase64String(key));
        if (_waiting.ContainsKey(id) && !_ready.Contains(id)) _ready.Add(id);
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
                var id = _ready[0];
                _ready.RemoveAt(0);
                if (!_waiting.TryGetValue(id, out var list)) continue;
                foreach (var session in list.ToArray())
                {
                    // Each retry may consume the data; the ones that still find nothing stay blocked in place.
                    session.RetryBlocked();
                }
            }
        }
        finally
        {
            _serving = false;
        }
    }
}
