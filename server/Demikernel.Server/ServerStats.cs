namespace Demikernel.Server;

/// <summary>Counters behind INFO stats.</summary>
public sealed class ServerStats
{
    public long CommandsProcessed;
    public long ConnectionsReceived;
    public long RejectedConnections;
    public long KeyspaceHits;
    public long KeyspaceMisses;
    public long ExpiredKeys;
    /// <summary>Keys removed by maxmemory's eviction (INFO evicted_keys).</summary>
    public long EvictedKeys;
    public long NetInputBytes;
    public long NetOutputBytes;

    /// <summary>Changes made to the dataset by commands (Redis's server.dirty): every write, delete, flush; not
    /// expiries, which are propagated on their own.</summary>
    public long Dirty;
}
