using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>Command flags as Redis names them in COMMAND INFO.</summary>
[Flags]
public enum CommandFlags
{
    None = 0,
    Write = 1 << 0,
    ReadOnly = 1 << 1,
    DenyOom = 1 << 2,
    Admin = 1 << 3,
    PubSub = 1 << 4,
    NoScript = 1 << 5,
    Blocking = 1 << 6,
    Loading = 1 << 7,
    Stale = 1 << 8,
    SkipMonitor = 1 << 9,
    SkipSlowlog = 1 << 10,
    Fast = 1 << 11,
    NoAuth = 1 << 12,
    MayReplicate = 1 << 13,
    NoMulti = 1 << 14,
    AllowBusy = 1 << 15,
    Sentinel = 1 << 16,
    /// <summary>Key positions depend on the arguments (LMPOP, ZUNIONSTORE, ...): COMMAND shows "movablekeys".</summary>
    MovableKeys = 1 << 17,
}

/// <summary>A command's handler: reads its arguments from the context and writes exactly one reply.</summary>
public delegate void CommandHandler(ref CommandContext context);

/// <summary>
/// One command as data, like an entry of Redis's command table (src/commands/*.json): the dispatcher checks arity from
/// it, COMMAND/COMMAND INFO/COMMAND DOCS are produced from it, and it names the handler.
/// </summary>
/// <param name="Arity">Redis's rule: n means exactly n arguments (name included), -n means at least n.</param>
/// <param name="FirstKey">Position of the first key (0 = no keys).</param>
/// <param name="LastKey">Position of the last key; -1 means the last argument.</param>
/// <param name="Step">Distance between keys.</param>
public sealed record CommandSpec(
    string Name,
    int Arity,
    CommandFlags Flags,
    int FirstKey,
    int LastKey,
    int Step,
    string Group,
    string Summary,
    string Since,
    CommandHandler Handler)
{
    /// <summary>Subcommands (CONFIG GET, CLIENT LIST, ...), looked up by the second argument.</summary>
    public IReadOnlyList<CommandSpec> Subcommands { get; init; } = [];

    /// <summary>Arguments for COMMAND DOCS, as Redis lists them (name and type), for the commonly introspected commands.</summary>
    public string Complexity { get; init; } = "O(1)";

    /// <summary>Lower-case name as the wire shows it ("get", "config|get" for subcommands).</summary>
    public string WireName { get; init; } = "";

    public bool ArityOk(int argc) => Arity >= 0 ? argc == Arity : argc >= -Arity;

    public IEnumerable<string> FlagNames()
    {
        foreach (CommandFlags flag in Enum.GetValues<CommandFlags>())
        {
            if (flag == CommandFlags.None || !Flags.HasFlag(flag)) continue;
            yield return flag switch
            {
                CommandFlags.Write => "write",
                CommandFlags.ReadOnly => "readonly",
                CommandFlags.DenyOom => "denyoom",
                CommandFlags.Admin => "admin",
                CommandFlags.PubSub => "pubsub",
                CommandFlags.NoScript => "noscript",
                CommandFlags.Blocking => "blocking",
                CommandFlags.Loading => "loading",
                CommandFlags.Stale => "stale",
                CommandFlags.SkipMonitor => "skip_monitor",
                CommandFlags.SkipSlowlog => "skip_slowlog",
                CommandFlags.Fast => "fast",
                CommandFlags.NoAuth => "no_auth",
                CommandFlags.MayReplicate => "may_replicate",
                CommandFlags.NoMulti => "no_multi",
                CommandFlags.AllowBusy => "allow_busy",
                CommandFlags.Sentinel => "sentinel",
                CommandFlags.MovableKeys => "movablekeys",
                _ => flag.ToString().ToLowerInvariant(),
            };
        }
    }
}
