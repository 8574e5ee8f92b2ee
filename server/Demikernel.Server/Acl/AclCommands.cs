using Demikernel.Server.Commands;

namespace Demikernel.Server.Acl;

/// <summary>
/// The commands ACL rules talk about, with the ids the per-user bitmaps are indexed by: every command and subcommand
/// of redis-server 7.0.15's metadata (<see cref="CommandMetadata.All"/>, so a rule naming a command redis has is
/// accepted, and ACL GETUSER counts categories over the same set as redis), plus any command a table registers
/// without metadata. Categories come from the same data (the "acl_categories" of each entry).
/// </summary>
internal static class AclCommands
{
    /// <summary>Bits per bitmap (redis's USER_COMMAND_BITS_COUNT); the last bit means "future commands" (+@all).</summary>
    public const int Bits = 1024;
    public const int Words = Bits / 64;
    public const int FutureBit = Bits - 1;

    /// <summary>redis 7.0's categories, in ACL CAT's order (the bit of category i is 1 &lt;&lt; i).</summary>
    public static readonly string[] Categories =
    [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
        "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
    ];

    private static readonly object Gate = new();
    private static volatile AclCommand[] _all = [];
    private static volatile AclCommand[] _topLevel = [];
    private static readonly Dictionary<string, AclCommand> ByName = new(StringComparer.OrdinalIgnoreCase);

    static AclCommands()
    {
        lock (Gate)
        {
            foreach (var spec in CommandMetadata.All.Values) AddLocked(spec.WireName, spec.AclCategories);
        }
    }

    /// <summary>All commands, parents before their subcommands.</summary>
    public static AclCommand[] All => _all;

    /// <summary>Top-level commands (redis's server.orig_commands), each with its subcommands.</summary>
    public static AclCommand[] TopLevel => _topLevel;

    /// <summary>The category's bit, or 0 for a name that is not a category (case-insensitive, as redis).</summary>
    public static ulong CategoryFlag(string name)
    {
        for (int i = 0; i < Categories.Length; i++)
            if (string.Equals(Categories[i], name, StringComparison.OrdinalIgnoreCase)) return 1UL << i;
        return 0;
    }

    /// <summary>redis's ACLLookupCommand: "name" or "container|sub" (case-insensitive); null when unknown.</summary>
    public static AclCommand? Lookup(string name)
    {
        lock (Gate) return ByName.TryGetValue(name, out var c) ? c : null;
    }

    /// <summary>The id of a registered command (by its wire name); a command redis has no metadata for gets a new one.</summary>
    public static int IdFor(CommandSpec spec)
    {
        lock (Gate)
        {
            if (ByName.TryGetValue(spec.WireName, out var c)) return c.Id;
            return AddLocked(spec.WireName, spec.AclCategories).Id;
        }
    }

    private static AclCommand AddLocked(string fullName, IReadOnlyList<string> categories)
    {
        ulong flags = 0;
        foreach (var cat in categories) flags |= CategoryFlag(cat.TrimStart('@'));
        int bar = fullName.IndexOf('|', StringComparison.Ordinal);
        AclCommand? parent = null;
        if (bar >= 0 && !ByName.TryGetValue(fullName[..bar], out parent))
            throw new InvalidOperationException($"subcommand {fullName} without its container command");
        var all = _all;
        if (all.Length >= FutureBit) throw new InvalidOperationException("more commands than ACL bitmap bits");
        var command = new AclCommand(all.Length, fullName, flags, parent);
        ByName[fullName] = command;
        if (parent is null) _topLevel = [.. _topLevel, command];
        else parent.Children = [.. parent.Children, command];
        _all = [.. all, command];
        return command;
    }
}

/// <summary>One command as ACL sees it: id (bit), full name ("config|get"), categories, container and subcommands.</summary>
internal sealed class AclCommand(int id, string fullName, ulong categories, AclCommand? parent)
{
    public int Id { get; } = id;
    public string FullName { get; } = fullName;
    public ulong Categories { get; } = categories;
    public AclCommand? Parent { get; } = parent;
    public AclCommand[] Children { get; internal set; } = [];
}
