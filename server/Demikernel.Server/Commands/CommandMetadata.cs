using System.Text.Json;

namespace Demikernel.Server.Commands;

/// <summary>
/// redis-server 7.0.15's command metadata (Data/commands.json, generated from its COMMAND INFO and COMMAND DOCS answers
/// by Data/generate_commands.py, the flags COMMAND INFO hides taken from src/commands/*.json), loaded once per process.
/// The table gives each registered command its entry (<see cref="Apply"/>), so only commands we implement appear.
/// </summary>
public static class CommandMetadata
{
    private static readonly Lazy<Dictionary<string, CommandSpec>> Entries = new(Load);

    /// <summary>Every redis-server 7.0 command by full lower-case name ("get", "config|get"), without handlers.</summary>
    public static IReadOnlyDictionary<string, CommandSpec> All => Entries.Value;

    /// <summary>
    /// <paramref name="spec"/> with redis's metadata for <paramref name="fullName"/> (arity, flags with ours kept,
    /// key specs, categories, tips, docs), or unchanged when redis-server has no such command (test-only commands).
    /// </summary>
    public static CommandSpec Apply(CommandSpec spec, string fullName)
    {
        if (!Entries.Value.TryGetValue(fullName, out var m)) return spec with { WireName = fullName };
        return spec with
        {
            WireName = fullName,
            Arity = m.Arity,
            Flags = m.Flags | (spec.Flags & CommandFlagNames.Internal),
            FirstKey = m.FirstKey,
            LastKey = m.LastKey,
            Step = m.Step,
            AclCategories = m.AclCategories,
            Tips = m.Tips,
            KeySpecs = m.KeySpecs,
            Group = m.Group,
            Summary = m.Summary,
            Since = m.Since,
            Complexity = m.Complexity,
            DocFlags = m.DocFlags,
            DeprecatedSince = m.DeprecatedSince,
            ReplacedBy = m.ReplacedBy,
            History = m.History,
            Arguments = m.Arguments,
            HasMetadata = true,
        };
    }

    private static Dictionary<string, CommandSpec> Load()
    {
        using var stream = typeof(CommandMetadata).Assembly.GetManifestResourceStream("Demikernel.Server.Commands.Data.commands.json")
            ?? throw new InvalidOperationException("the embedded command metadata (Commands/Data/commands.json) is missing");
        using var doc = JsonDocument.Parse(stream);
        var entries = new Dictionary<string, CommandSpec>(StringComparer.Ordinal);
        foreach (var c in doc.RootElement.GetProperty("commands").EnumerateArray()) Add(entries, c);
        return entries;
    }

    private static void Add(Dictionary<string, CommandSpec> entries, JsonElement c)
    {
        string name = c.GetProperty("name").GetString()!;
        var flags = CommandFlags.None;
        foreach (var f in c.GetProperty("flags").EnumerateArray()) flags |= CommandFlagNames.Parse(f.GetString()!);
        var spec = new CommandSpec(name.Contains('|', StringComparison.Ordinal) ? name[(name.IndexOf('|', StringComparison.Ordinal) + 1)..] : name, NoHandler)
        {
            WireName = name,
            Arity = c.GetProperty("arity").GetInt32(),
            Flags = flags,
            FirstKey = c.GetProperty("first_key").GetInt32(),
            LastKey = c.GetProperty("last_key").GetInt32(),
            Step = c.GetProperty("step").GetInt32(),
            AclCategories = Strings(c.GetProperty("acl_categories")),
            Tips = Strings(c.GetProperty("tips")),
            KeySpecs = c.GetProperty("key_specs").EnumerateArray().Select(ParseKeySpec).ToArray(),
            Group = c.TryGetProperty("group", out var g) ? g.GetString()! : "",
            Summary = OptionalString(c, "summary"),
            Since = OptionalString(c, "since"),
            Complexity = OptionalString(c, "complexity"),
            DocFlags = c.TryGetProperty("doc_flags", out var df) ? Strings(df) : null,
            DeprecatedSince = OptionalString(c, "deprecated_since"),
            ReplacedBy = OptionalString(c, "replaced_by"),
            History = c.TryGetProperty("history", out var h)
                ? h.EnumerateArray().Select(e => (e[0].GetString()!, e[1].GetString()!)).ToArray()
                : null,
            Arguments = c.TryGetProperty("arguments", out var a) ? ParseArguments(a) : null,
            HasMetadata = true,
        };
        entries[name] = spec;
        if (c.TryGetProperty("subcommands", out var subs))
            foreach (var s in subs.EnumerateArray()) Add(entries, s);
    }

    private static KeySpec ParseKeySpec(JsonElement k)
    {
        var flags = KeyFlags.None;
        foreach (var f in k.GetProperty("flags").EnumerateArray()) flags |= KeyFlagNames.Parse(f.GetString()!);
        var bs = k.GetProperty("begin_search");
        var fk = k.GetProperty("find_keys");
        return new KeySpec
        {
            Notes = OptionalString(k, "notes"),
            Flags = flags,
            BeginSearch = bs.GetProperty("type").GetString() switch
            {
                "index" => BeginSearchType.Index,
                "keyword" => BeginSearchType.Keyword,
                _ => BeginSearchType.Unknown,
            },
            Index = OptionalInt(bs, "index"),
            Keyword = OptionalString(bs, "keyword") ?? "",
            StartFrom = OptionalInt(bs, "startfrom"),
            FindKeys = fk.GetProperty("type").GetString() switch
            {
                "range" => FindKeysType.Range,
                "keynum" => FindKeysType.Keynum,
                _ => FindKeysType.Unknown,
            },
            LastKey = OptionalInt(fk, "lastkey"),
            KeyStep = OptionalInt(fk, "keystep"),
            Limit = OptionalInt(fk, "limit"),
            KeyNumIndex = OptionalInt(fk, "keynumidx"),
            FirstKey = OptionalInt(fk, "firstkey"),
        };
    }

    private static CommandArgument[] ParseArguments(JsonElement list) => list.EnumerateArray().Select(a => new CommandArgument
    {
        Name = a.GetProperty("name").GetString()!,
        Type = a.GetProperty("type").GetString()!,
        KeySpecIndex = a.TryGetProperty("key_spec_index", out var i) ? i.GetInt32() : -1,
        Token = OptionalString(a, "token"),
        Summary = OptionalString(a, "summary"),
        Since = OptionalString(a, "since"),
        DeprecatedSince = OptionalString(a, "deprecated_since"),
        Flags = a.TryGetProperty("flags", out var f) ? Strings(f) : [],
        Arguments = a.TryGetProperty("arguments", out var sub) ? ParseArguments(sub) : null,
    }).ToArray();

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static string? OptionalString(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;

    private static int OptionalInt(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetInt32() : 0;

    private static void NoHandler(ref CommandContext context) =>
        throw new InvalidOperationException("metadata entry without a handler");
}
