using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>
/// Command flags: redis-server 7.0's (src/commands/*.json "command_flags"; COMMAND INFO shows the ones it does not
/// hide) and two of our own that replace hard-coded lists of names in the dispatcher.
/// </summary>
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
    /// <summary>Hidden by COMMAND INFO, as in redis-server.</summary>
    MayReplicate = 1 << 13,
    NoMulti = 1 << 14,
    AllowBusy = 1 << 15,
    /// <summary>Hidden by COMMAND INFO.</summary>
    Sentinel = 1 << 16,
    /// <summary>Key positions depend on the arguments (LMPOP, ZUNIONSTORE, ...): COMMAND shows "movablekeys".</summary>
    MovableKeys = 1 << 17,
    Module = 1 << 18,
    Asking = 1 << 19,
    /// <summary>Hidden by COMMAND INFO.</summary>
    OnlySentinel = 1 << 20,
    NoMandatoryKeys = 1 << 21,
    /// <summary>Hidden by COMMAND INFO.</summary>
    Protected = 1 << 22,
    NoAsyncLoading = 1 << 23,

    /// <summary>Ours: runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, UNWATCH, QUIT,
    /// RESET: the list redis-server's processCommand names).</summary>
    RunsInMulti = 1 << 29,
    /// <summary>Ours: allowed in a RESP2 connection that is subscribed ((P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT,
    /// RESET).</summary>
    AllowedWhileSubscribed = 1 << 30,
}

/// <summary>Redis's names of <see cref="CommandFlags"/>, in COMMAND INFO's order.</summary>
public static class CommandFlagNames
{
    /// <summary>(flag, name, shown by COMMAND INFO) in redis-server's addReplyFlagsForCommand order.</summary>
    public static readonly (CommandFlags Flag, string Name, bool Shown)[] All =
    [
        (CommandFlags.Write, "write", true), (CommandFlags.ReadOnly, "readonly", true), (CommandFlags.DenyOom, "denyoom", true),
        (CommandFlags.Module, "module", true), (CommandFlags.Admin, "admin", true), (CommandFlags.PubSub, "pubsub", true),
        (CommandFlags.NoScript, "noscript", true), (CommandFlags.Blocking, "blocking", true), (CommandFlags.Loading, "loading", true),
        (CommandFlags.Stale, "stale", true), (CommandFlags.SkipMonitor, "skip_monitor", true), (CommandFlags.SkipSlowlog, "skip_slowlog", true),
        (CommandFlags.Asking, "asking", true), (CommandFlags.Fast, "fast", true), (CommandFlags.NoAuth, "no_auth", true),
        (CommandFlags.MayReplicate, "may_replicate", false), (CommandFlags.Sentinel, "sentinel", false),
        (CommandFlags.OnlySentinel, "only_sentinel", false), (CommandFlags.NoMandatoryKeys, "no_mandatory_keys", true),
        (CommandFlags.Protected, "protected", false), (CommandFlags.NoAsyncLoading, "no_async_loading", true),
        (CommandFlags.NoMulti, "no_multi", true), (CommandFlags.MovableKeys, "movablekeys", true), (CommandFlags.AllowBusy, "allow_busy", true),
    ];

    /// <summary>The flag named <paramref name="name"/> as redis writes it, or None.</summary>
    public static CommandFlags Parse(string name)
    {
        foreach (var (flag, n, _) in All)
            if (n == name) return flag;
        return CommandFlags.None;
    }

    /// <summary>Our flags, kept when a spec takes redis's metadata.</summary>
    public const CommandFlags Internal = CommandFlags.RunsInMulti | CommandFlags.AllowedWhileSubscribed;
}

/// <summary>A key spec's flags (redis's CMD_KEY_*), in COMMAND INFO's order.</summary>
[Flags]
public enum KeyFlags
{
    None = 0,
    RO = 1 << 0, RW = 1 << 1, OW = 1 << 2, RM = 1 << 3,
    Access = 1 << 4, Update = 1 << 5, Insert = 1 << 6, Delete = 1 << 7,
    NotKey = 1 << 8, Incomplete = 1 << 9, VariableFlags = 1 << 10,
}

/// <summary>Redis's names of <see cref="KeyFlags"/>.</summary>
public static class KeyFlagNames
{
    public static readonly (KeyFlags Flag, string Name)[] All =
    [
        (KeyFlags.RO, "RO"), (KeyFlags.RW, "RW"), (KeyFlags.OW, "OW"), (KeyFlags.RM, "RM"), (KeyFlags.Access, "access"),
        (KeyFlags.Update, "update"), (KeyFlags.Insert, "insert"), (KeyFlags.Delete, "delete"), (KeyFlags.NotKey, "not_key"),
        (KeyFlags.Incomplete, "incomplete"), (KeyFlags.VariableFlags, "variable_flags"),
    ];

    public static KeyFlags Parse(string name)
    {
        foreach (var (flag, n) in All)
            if (n == name) return flag;
        throw new FormatException($"unknown key spec flag '{name}'");
    }
}

public enum BeginSearchType : byte { Unknown, Index, Keyword }

public enum FindKeysType : byte { Unknown, Range, Keynum }

/// <summary>
/// Where a command's keys are (redis 7.0 key specs): begin_search finds the first (an index, or the argument after a
/// keyword searched from <see cref="StartFrom"/>), find_keys the rest (a range up to <see cref="LastKey"/> with
/// <see cref="KeyStep"/> and <see cref="Limit"/>, or a count at <see cref="KeyNumIndex"/>, the keys from
/// <see cref="FirstKey"/>). <see cref="Flags"/> say what the command does with those keys.
/// </summary>
public sealed record KeySpec
{
    public string? Notes { get; init; }
    public KeyFlags Flags { get; init; }
    public BeginSearchType BeginSearch { get; init; }
    public int Index { get; init; }
    public string Keyword { get; init; } = "";
    public int StartFrom { get; init; }
    public FindKeysType FindKeys { get; init; }
    public int LastKey { get; init; }
    public int KeyStep { get; init; }
    public int Limit { get; init; }
    public int KeyNumIndex { get; init; }
    public int FirstKey { get; init; }
}

/// <summary>One argument of COMMAND DOCS (nested for "oneof" and "block").</summary>
public sealed record CommandArgument
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public int KeySpecIndex { get; init; } = -1;
    public string? Token { get; init; }
    public string? Summary { get; init; }
    public string? Since { get; init; }
    public string? DeprecatedSince { get; init; }
    public IReadOnlyList<string> Flags { get; init; } = [];
    public IReadOnlyList<CommandArgument>? Arguments { get; init; }
}

/// <summary>A command's handler: reads its arguments from the context and writes exactly one reply.</summary>
public delegate void CommandHandler(ref CommandContext context);

/// <summary>The flags of one call of a command whose flags depend on its arguments.</summary>
public delegate CommandFlags CommandFlagsResolver(ref CommandContext context, CommandFlags declared);

/// <summary>
/// One command as data, like an entry of redis-server's command table: a name and a handler, given where the handler
/// lives; the rest (arity, flags, key specs, ACL categories, tips, documentation) comes from redis 7.0's own metadata
/// (<see cref="CommandMetadata"/>, Data/commands.json) when the table takes the spec. The dispatcher checks arity and
/// flags from it; COMMAND INFO/DOCS/LIST/GETKEYS answer from it; scripts and ACL read the flags and key specs.
/// </summary>
public sealed record CommandSpec
{
    public CommandSpec(string name, CommandHandler handler)
    {
        Name = name;
        Handler = handler;
    }

    /// <summary>The name as registered (upper case; a subcommand's own name, e.g. "GET" of CONFIG GET).</summary>
    public string Name { get; }

    public CommandHandler Handler { get; init; }

    /// <summary>Redis's rule: n means exactly n arguments (name included), -n means at least n.</summary>
    public int Arity { get; init; }

    public CommandFlags Flags { get; init; }

    /// <summary>
    /// The flags of this call when they depend on its arguments (EVAL and FCALL: a script's declared flags replace
    /// write, denyoom and stale, as getCommandFlags does); null when <see cref="Flags"/> always holds.
    /// </summary>
    public CommandFlagsResolver? FlagsFor { get; init; }

    /// <summary>Legacy key range of COMMAND INFO (0 = no keys; last -1 = the last argument).</summary>
    public int FirstKey { get; init; }
    public int LastKey { get; init; }
    public int Step { get; init; }

    /// <summary>ACL categories, "@read" style, as COMMAND INFO lists them (implicit ones included).</summary>
    public IReadOnlyList<string> AclCategories { get; init; } = [];

    /// <summary>Command tips ("nondeterministic_output", "request_policy:all_shards", ...).</summary>
    public IReadOnlyList<string> Tips { get; init; } = [];

    public IReadOnlyList<KeySpec> KeySpecs { get; init; } = [];

    public string Group { get; init; } = "";
    public string? Summary { get; init; }
    public string? Since { get; init; }
    public string? Complexity { get; init; }
    public IReadOnlyList<string>? DocFlags { get; init; }
    public string? DeprecatedSince { get; init; }
    public string? ReplacedBy { get; init; }
    public IReadOnlyList<(string Since, string Changes)>? History { get; init; }
    public IReadOnlyList<CommandArgument>? Arguments { get; init; }

    /// <summary>Subcommands (CONFIG GET, CLIENT LIST, ...), looked up by the second argument. An array, not an
    /// interface: the dispatcher reads its length for every command, and an array's IReadOnlyList.Count goes through
    /// the runtime's interface stub resolver.</summary>
    public CommandSpec[] Subcommands { get; init; } = [];

    /// <summary>Lower-case name as the wire shows it ("get", "config|get" for subcommands).</summary>
    public string WireName { get; init; } = "";

    /// <summary>The command's bit in ACL users' command bitmaps (Acl/AclCommands), given when the table takes it.</summary>
    public int AclId { get; init; }

    /// <summary>Index of the command's counters (INFO commandstats), given by the table as it takes the command.</summary>
    public int Id { get; init; } = -1;

    /// <summary>True once the table gave it redis's metadata (false for a command redis-server does not have).</summary>
    public bool HasMetadata { get; init; }

    public bool ArityOk(int argc) => Arity >= 0 ? argc == Arity : argc >= -Arity;

    /// <summary>The subcommand named <paramref name="name"/> (ASCII case-insensitive), or null.</summary>
    public CommandSpec? Subcommand(ReadOnlySpan<byte> name)
    {
        foreach (var sub in Subcommands)
            if (System.Text.Ascii.EqualsIgnoreCase(name, sub.Name)) return sub;
        return null;
    }

    /// <summary>The flag names COMMAND INFO shows, in its order.</summary>
    public IEnumerable<string> FlagNames()
    {
        foreach (var (flag, name, shown) in CommandFlagNames.All)
            if (shown && (Flags & flag) != 0) yield return name;
    }
}
