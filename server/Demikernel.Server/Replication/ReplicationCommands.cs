using Demikernel.Server.Commands;

namespace Demikernel.Server.Replication;

/// <summary>REPLCONF, PSYNC, SYNC, REPLICAOF, SLAVEOF, WAIT, FAILOVER (ROLE and INFO replication are ServerCommands' and ask
/// <see cref="ReplicationManager"/>). Flags and arity come from redis-server 7.0.15's metadata.</summary>
internal static class ReplicationCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("REPLCONF", static (ref CommandContext c) => c.Server.Replication.ReplConf(ref c)));
        table.Add(new("PSYNC", static (ref CommandContext c) => c.Server.Replication.Sync(ref c, psync: true)));
        table.Add(new("SYNC", static (ref CommandContext c) => c.Server.Replication.Sync(ref c, psync: false)));
        table.Add(new("REPLICAOF", static (ref CommandContext c) => c.Server.Replication.ReplicaOf(ref c)));
        table.Add(new("SLAVEOF", static (ref CommandContext c) => c.Server.Replication.ReplicaOf(ref c)));
        table.Add(new("WAIT", static (ref CommandContext c) => c.Server.Replication.Wait(ref c)));
        table.Add(new("FAILOVER", static (ref CommandContext c) => c.Server.Replication.Failover(ref c)));
    }
}
