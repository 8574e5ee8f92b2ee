namespace Demikernel.Server.Commands;

/// <summary>Every command group adds its specs here; the table is data, the groups are where handlers live.</summary>
public static class CommandRegistry
{
    public static void RegisterAll(CommandTable table)
    {
        ConnectionCommands.Register(table);
        ServerCommands.Register(table);
        StringCommands.Register(table);
        KeyCommands.Register(table);
        TransactionCommands.Register(table);
        PubSubCommands.Register(table);
        Notifications.ShardedPubSubCommands.Register(table);
        ListCommands.Register(table);
        HashCommands.Register(table);
        SetCommands.Register(table);
        SortedSetCommands.Register(table);
        GeoCommands.Register(table);
        StreamCommands.Register(table);
        BitmapCommands.Register(table);
        HyperLogLogCommands.Register(table);
        GenericCommands.Register(table);
        PersistenceCommands.Register(table);
        ScriptingCommands.Register(table);
        FunctionCommands.Register(table);
        Acl.AclCommandHandlers.Register(table);
        Replication.ReplicationCommands.Register(table);
        Diagnostics.DiagnosticsCommands.Register(table);
        Modules.ModuleCommands.Register(table);
        HyperLogLogDebugCommands.Register(table);
    }
}
