namespace Demikernel.Server.Store;

/// <summary>What a lookup does with a key whose TTL has passed.</summary>
public enum ExpiryMode : byte
{
    /// <summary>Delete it (and announce the expiry): a master, or a write on a writable replica.</summary>
    Delete,
    /// <summary>Report it missing but keep it: a read on a replica (its master will send the DEL).</summary>
    Hide,
    /// <summary>Treat it as live: the master's own commands on a replica.</summary>
    Keep,
}

/// <summary>One replica's expiry policy, shared by its databases and set per command by Replication/.</summary>
public sealed class ReplicaExpiryPolicy
{
    public ExpiryMode Mode { get; set; }
}
