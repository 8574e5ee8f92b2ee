using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// COMMAND, COMMAND INFO/DOCS/COUNT/LIST/GETKEYS/GETKEYSANDFLAGS, written from the command table's data in
/// redis-server 7.0.15's shapes (server.c addReplyCommandInfo/addReplyCommandDocs, db.c getKeysUsingKeySpecs).
/// redis-server lists commands and subcommands in its hash order; we list them by name.
/// </summary>
internal static class CommandIntrospection
{
    private static IEnumerable<CommandSpec> Sorted(IEnumerable<CommandSpec> specs) =>
        specs.Where(s => s.HasMetadata).OrderBy(s => s.WireName, StringComparer.Ordinal);

    public static void All(ref CommandContext c)
    {
        var all = Sorted(c.Server.Commands.All).ToArray();
        c.Reply.ArrayHeader(all.Length);
        foreach (var spec in all) WriteInfo(c.Reply, spec);
    }

    public static void Count(ref CommandContext c) => c.Reply.Integer(c.Server.Commands.All.Count(s => s.HasMetadata));

    public static void Info(ref CommandContext c)
    {
        if (c.Count == 2)
        {
            All(ref c);
            return;
        }
        c.Reply.ArrayHeader(c.Count - 2);
        for (int i = 2; i < c.Count; i++)
        {
            if (FindByFullName(c.Server.Commands, c.Arg(i)) is { } spec) WriteInfo(c.Reply, spec);
            else c.Reply.Null();
        }
    }

    public static void Docs(ref CommandContext c)
    {
        List<CommandSpec> specs = [];
        if (c.Count == 2) specs.AddRange(Sorted(c.Server.Commands.All));
        else
            for (int i = 2; i < c.Count; i++)
                if (FindByFullName(c.Server.Commands, c.Arg(i)) is { } s) specs.Add(s);
        c.Reply.MapHeader(specs.Count);
        foreach (var spec in specs)
        {
            c.Reply.Bulk(spec.WireName);
            WriteDocs(c.Reply, spec);
        }
    }

    /// <summary>COMMAND LIST [FILTERBY (MODULE name|ACLCAT category|PATTERN pattern)]: every name, subcommands too.</summary>
    public static void List(ref CommandContext c)
    {
        Func<CommandSpec, bool> keep = _ => true;
        for (int i = 2; i < c.Count; i++)
        {
            if (c.ArgIs(i, "FILTERBY"u8) && c.Count - 1 - i == 2)
            {
                string arg = c.ArgString(i + 2);
                if (c.ArgIs(i + 1, "ACLCAT"u8))
                {
                    keep = s => s.AclCategories.Any(a => a.AsSpan(1).Equals(arg, StringComparison.OrdinalIgnoreCase));
                    i += 2;
                    continue;
                }
                if (c.ArgIs(i + 1, "MODULE"u8)) keep = _ => false; // no modules
                else if (c.ArgIs(i + 1, "PATTERN"u8)) keep = s => Glob.IsMatch(arg, s.WireName, ignoreCase: true);
                else
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                i += 2;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var names = new List<string>();
        foreach (var spec in Sorted(c.Server.Commands.All))
        {
            if (keep(spec)) names.Add(spec.WireName);
            foreach (var sub in Sorted(spec.Subcommands))
                if (keep(sub)) names.Add(sub.WireName);
        }
        c.Reply.ArrayHeader(names.Count);
        foreach (var n in names) c.Reply.Bulk(n);
    }

    public static void GetKeys(ref CommandContext c) => GetKeysGeneric(ref c, withFlags: false);

    public static void GetKeysAndFlags(ref CommandContext c) => GetKeysGeneric(ref c, withFlags: true);

    private static void GetKeysGeneric(ref CommandContext c, bool withFlags)
    {
        var table = c.Server.Commands;
        CommandSpec? spec = null;
        if (table.TryGet(c.Arg(2), out var parent))
        {
            spec = parent;
            if (parent.Subcommands.Length > 0 && c.Count >= 4) spec = parent.Subcommand(c.Arg(3));
        }
        if (spec is null)
        {
            c.Reply.Error("ERR Invalid command specified");
            return;
        }
        if (!HasKeys(spec))
        {
            c.Reply.Error("ERR The command has no key arguments");
            return;
        }
        int argc = c.Count - 2;
        if ((spec.Arity > 0 && spec.Arity != argc) || argc < -spec.Arity)
        {
            c.Reply.Error("ERR Invalid number of arguments specified for command");
            return;
        }
        var keys = new List<(int Position, KeyFlags Flags)>();
        var args = new byte[argc][];
        for (int i = 0; i < argc; i++) args[i] = c.Arg(i + 2).ToArray();
        if (KeyFinder.Find(spec, args, keys) == 0)
        {
            if ((spec.Flags & CommandFlags.NoMandatoryKeys) != 0) c.Reply.ArrayHeader(0);
            else c.Reply.Error("ERR Invalid arguments specified for command");
            return;
        }
        c.Reply.ArrayHeader(keys.Count);
        foreach (var (position, flags) in keys)
        {
            if (!withFlags)
            {
                c.Reply.Bulk(args[position]);
                continue;
            }
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk(args[position]);
            WriteKeyFlags(c.Reply, flags);
        }
    }

    /// <summary>redis-server's doesCommandHaveKeys: a key spec that is not "not_key", or keys found by code.</summary>
    private static bool HasKeys(CommandSpec spec) =>
        KeyFinder.HasNativeFinder(spec) || spec.KeySpecs.Any(k => (k.Flags & KeyFlags.NotKey) == 0);

    /// <summary>"get", "config|get" (one level only, as lookupCommandBySds), case-insensitive.</summary>
    private static CommandSpec? FindByFullName(CommandTable table, ReadOnlySpan<byte> name)
    {
        int bar = name.IndexOf((byte)'|');
        if (bar < 0) return table.TryGet(name, out var spec) && spec.HasMetadata ? spec : null;
        var rest = name[(bar + 1)..];
        if (rest.IndexOf((byte)'|') >= 0 || !table.TryGet(name[..bar], out var parent)) return null;
        foreach (var sub in parent.Subcommands)
            if (sub.HasMetadata && Ascii.EqualsIgnoreCase(rest, sub.Name)) return sub;
        return null;
    }

    // ---------------------------------------------------------------- COMMAND INFO

    private static void WriteInfo(ReplyBuffer reply, CommandSpec spec)
    {
        reply.ArrayHeader(10);
        reply.Bulk(spec.WireName);
        reply.Integer(spec.Arity);
        var flags = spec.FlagNames().ToArray();
        reply.SetHeader(flags.Length);
        foreach (var f in flags) reply.SimpleString(f);
        reply.Integer(spec.FirstKey);
        reply.Integer(spec.LastKey);
        reply.Integer(spec.Step);
        reply.SetHeader(spec.AclCategories.Count);
        foreach (var cat in spec.AclCategories) reply.SimpleString(cat);
        reply.SetHeader(spec.Tips.Count);
        foreach (var tip in spec.Tips) reply.Bulk(tip);
        reply.SetHeader(spec.KeySpecs.Count);
        foreach (var k in spec.KeySpecs) WriteKeySpec(reply, k);
        var subs = Sorted(spec.Subcommands).ToArray();
        if (subs.Length == 0) reply.SetHeader(0); // addReplyCommandSubCommands: an empty set without subcommands
        else
        {
            reply.ArrayHeader(subs.Length);
            foreach (var sub in subs) WriteInfo(reply, sub);
        }
    }

    private static void WriteKeySpec(ReplyBuffer reply, KeySpec k)
    {
        reply.MapHeader(k.Notes is null ? 3 : 4);
        if (k.Notes is not null)
        {
            reply.Bulk("notes"u8);
            reply.Bulk(k.Notes);
        }
        reply.Bulk("flags"u8);
        WriteKeyFlags(reply, k.Flags);
        reply.Bulk("begin_search"u8);
        reply.MapHeader(2);
        reply.Bulk("type"u8);
        switch (k.BeginSearch)
        {
            case BeginSearchType.Index:
                reply.Bulk("index"u8);
                reply.Bulk("spec"u8);
                reply.MapHeader(1);
                reply.Bulk("index"u8);
                reply.Integer(k.Index);
                break;
            case BeginSearchType.Keyword:
                reply.Bulk("keyword"u8);
                reply.Bulk("spec"u8);
                reply.MapHeader(2);
                reply.Bulk("keyword"u8);
                reply.Bulk(k.Keyword);
                reply.Bulk("startfrom"u8);
                reply.Integer(k.StartFrom);
                break;
            default:
                reply.Bulk("unknown"u8);
                reply.Bulk("spec"u8);
                reply.MapHeader(0);
                break;
        }
        reply.Bulk("find_keys"u8);
        reply.MapHeader(2);
        reply.Bulk("type"u8);
        switch (k.FindKeys)
        {
            case FindKeysType.Range:
                reply.Bulk("range"u8);
                reply.Bulk("spec"u8);
                reply.MapHeader(3);
                reply.Bulk("lastkey"u8);
                reply.Integer(k.LastKey);
                reply.Bulk("keystep"u8);
                reply.Integer(k.KeyStep);
                reply.Bulk("limit"u8);
                reply.Integer(k.Limit);
                break;
            case FindKeysType.Keynum:
                reply.Bulk("keynum"u8);
                reply.Bulk("spec"u8);
                reply.MapHeader(3);
                reply.Bulk("keynumidx"u8);
                reply.Integer(k.KeyNumIndex);
                reply.Bulk("firstkey"u8);
                reply.Integer(k.FirstKey);
                reply.Bulk("keystep"u8);
                reply.Integer(k.KeyStep);
                break;
            default:
                reply.Bulk("unknown"u8);
                reply.Bulk("spec"u8);
                reply.MapHeader(0);
                break;
        }
    }

    private static void WriteKeyFlags(ReplyBuffer reply, KeyFlags flags)
    {
        int n = 0;
        foreach (var (flag, _) in KeyFlagNames.All)
            if ((flags & flag) != 0) n++;
        reply.SetHeader(n);
        foreach (var (flag, name) in KeyFlagNames.All)
            if ((flags & flag) != 0) reply.SimpleString(name);
    }

    // ---------------------------------------------------------------- COMMAND DOCS

    private static void WriteDocs(ReplyBuffer reply, CommandSpec spec)
    {
        int pairs = 1 + (spec.Summary is null ? 0 : 1) + (spec.Since is null ? 0 : 1) + (spec.Complexity is null ? 0 : 1)
            + (spec.DocFlags is null ? 0 : 1) + (spec.DeprecatedSince is null ? 0 : 1) + (spec.ReplacedBy is null ? 0 : 1)
            + (spec.History is null ? 0 : 1) + (spec.Arguments is null ? 0 : 1) + (spec.Subcommands.Length == 0 ? 0 : 1);
        reply.MapHeader(pairs);
        if (spec.Summary is not null)
        {
            reply.Bulk("summary"u8);
            reply.Bulk(spec.Summary);
        }
        if (spec.Since is not null)
        {
            reply.Bulk("since"u8);
            reply.Bulk(spec.Since);
        }
        reply.Bulk("group"u8);
        reply.Bulk(spec.Group);
        if (spec.Complexity is not null)
        {
            reply.Bulk("complexity"u8);
            reply.Bulk(spec.Complexity);
        }
        if (spec.DocFlags is not null)
        {
            reply.Bulk("doc_flags"u8);
            reply.SetHeader(spec.DocFlags.Count);
            foreach (var f in spec.DocFlags) reply.SimpleString(f);
        }
        if (spec.DeprecatedSince is not null)
        {
            reply.Bulk("deprecated_since"u8);
            reply.Bulk(spec.DeprecatedSince);
        }
        if (spec.ReplacedBy is not null)
        {
            reply.Bulk("replaced_by"u8);
            reply.Bulk(spec.ReplacedBy);
        }
        if (spec.History is not null)
        {
            reply.Bulk("history"u8);
            reply.SetHeader(spec.History.Count);
            foreach (var (since, changes) in spec.History)
            {
                reply.ArrayHeader(2);
                reply.Bulk(since);
                reply.Bulk(changes);
            }
        }
        if (spec.Arguments is not null)
        {
            reply.Bulk("arguments"u8);
            WriteArguments(reply, spec.Arguments);
        }
        if (spec.Subcommands.Length > 0)
        {
            var subs = Sorted(spec.Subcommands).ToArray();
            reply.Bulk("subcommands"u8);
            reply.MapHeader(subs.Length);
            foreach (var sub in subs)
            {
                reply.Bulk(sub.WireName);
                WriteDocs(reply, sub);
            }
        }
    }

    private static void WriteArguments(ReplyBuffer reply, IReadOnlyList<CommandArgument> args)
    {
        reply.ArrayHeader(args.Count);
        foreach (var a in args)
        {
            int pairs = 2 + (a.KeySpecIndex >= 0 ? 1 : 0) + (a.Token is null ? 0 : 1) + (a.Summary is null ? 0 : 1)
                + (a.Since is null ? 0 : 1) + (a.DeprecatedSince is null ? 0 : 1) + (a.Flags.Count == 0 ? 0 : 1)
                + (a.Arguments is null ? 0 : 1);
            reply.MapHeader(pairs);
            reply.Bulk("name"u8);
            reply.Bulk(a.Name);
            reply.Bulk("type"u8);
            reply.Bulk(a.Type);
            if (a.KeySpecIndex >= 0)
            {
                reply.Bulk("key_spec_index"u8);
                reply.Integer(a.KeySpecIndex);
            }
            if (a.Token is not null)
            {
                reply.Bulk("token"u8);
                reply.Bulk(a.Token);
            }
            if (a.Summary is not null)
            {
                reply.Bulk("summary"u8);
                reply.Bulk(a.Summary);
            }
            if (a.Since is not null)
            {
                reply.Bulk("since"u8);
                reply.Bulk(a.Since);
            }
            if (a.DeprecatedSince is not null)
            {
                reply.Bulk("deprecated_since"u8);
                reply.Bulk(a.DeprecatedSince);
            }
            if (a.Flags.Count > 0)
            {
                reply.Bulk("flags"u8);
                reply.SetHeader(a.Flags.Count);
                foreach (var f in a.Flags) reply.SimpleString(f);
            }
            if (a.Arguments is not null)
            {
                reply.Bulk("arguments"u8);
                WriteArguments(reply, a.Arguments);
            }
        }
    }
}

/// <summary>
/// The keys of a request from its command's key specs, as redis-server 7.0's getKeysFromCommandWithSpecs: key specs
/// first; code (SET, BITFIELD, SORT, SORT_RO) where the specs are incomplete or their flags depend on the arguments.
/// </summary>
public static class KeyFinder
{
    /// <summary>Commands whose keys code finds when the specs cannot (redis-server's getkeys_proc we implement).</summary>
    public static bool HasNativeFinder(CommandSpec spec) => spec.WireName is "set" or "bitfield" or "sort" or "sort_ro";

    /// <summary>Adds (argument index, flags) of every key of <paramref name="args"/> (the command name at 0) to
    /// <paramref name="keys"/>; the number found, 0 when the arguments do not parse.</summary>
    public static int Find(CommandSpec spec, byte[][] args, List<(int Position, KeyFlags Flags)> keys)
    {
        var list = new ArrayArguments(args);
        return Find(spec, ref list, keys);
    }

    /// <summary>The same over any argument list (the live request for ACL checks: no copy, no allocation once
    /// <paramref name="keys"/> has grown).</summary>
    public static int Find<TArgs>(CommandSpec spec, scoped ref TArgs args, List<(int Position, KeyFlags Flags)> keys)
        where TArgs : IArgumentList, allows ref struct
    {
        // index loops, no LINQ or interface enumerators: ACL checks run this for every request of a restricted user
        var specs = spec.KeySpecs;
        bool hasSpecs = false, variableFlags = false;
        for (int i = 0; i < specs.Count; i++)
        {
            hasSpecs |= (specs[i].Flags & KeyFlags.NotKey) == 0;
            variableFlags |= (specs[i].Flags & KeyFlags.VariableFlags) != 0;
        }
        if (hasSpecs && !variableFlags)
        {
            int n = FromSpecs(spec, ref args, keys);
            if (n >= 0) return n;
        }
        keys.Clear();
        return spec.WireName switch
        {
            "set" => SetKeys(ref args, keys),
            "bitfield" => BitfieldKeys(ref args, keys),
            "sort" => SortKeys(ref args, keys),
            "sort_ro" => Add(keys, 1, KeyFlags.RO | KeyFlags.Access),
            _ => 0,
        };
    }

    /// <summary>getKeysUsingKeySpecs: -1 when a spec cannot be followed (unknown, incomplete, out of range).</summary>
    private static int FromSpecs<TArgs>(CommandSpec spec, scoped ref TArgs args, List<(int, KeyFlags)> keys)
        where TArgs : IArgumentList, allows ref struct
    {
        int argc = args.Count;
        var specs = spec.KeySpecs;
        for (int s = 0; s < specs.Count; s++)
        {
            var k = specs[s];
            if ((k.Flags & KeyFlags.NotKey) != 0) continue;
            int first = 0;
            if (k.BeginSearch == BeginSearchType.Index) first = k.Index;
            else if (k.BeginSearch == BeginSearchType.Keyword)
            {
                int start = k.StartFrom > 0 ? k.StartFrom : argc + k.StartFrom;
                int end = k.StartFrom > 0 ? argc - 1 : 1;
                for (int i = start; i != end; i = start <= end ? i + 1 : i - 1)
                {
                    if (i >= argc || i < 1) break;
                    if (Ascii.EqualsIgnoreCase(args.Arg(i), k.Keyword))
                    {
                        first = i + 1;
                        break;
                    }
                }
                if (first == 0) continue;
            }
            else return -1;
            int last, step;
            if (k.FindKeys == FindKeysType.Range)
            {
                step = k.KeyStep;
                if (k.LastKey >= 0) last = first + k.LastKey;
                else if (k.Limit == 0) last = argc + k.LastKey;
                else last = first + ((argc - first) / k.Limit + k.LastKey);
            }
            else if (k.FindKeys == FindKeysType.Keynum)
            {
                step = k.KeyStep;
                if (k.KeyNumIndex >= argc || first + k.KeyNumIndex >= argc) return -1;
                if (!Demikernel.Resp.RedisNumbers.TryParseInt64(args.Arg(first + k.KeyNumIndex), out long numKeys) || numKeys < 0) return -1;
                first += k.FirstKey;
                last = first + (int)numKeys - 1;
            }
            else return -1;
            if (last >= argc || last < first || first >= argc) return -1;
            for (int i = first; i <= last; i += step)
            {
                if (i >= argc || i < first) continue;
                keys.Add((i, k.Flags));
            }
            if ((k.Flags & KeyFlags.Incomplete) != 0) return -1;
        }
        return keys.Count;
    }

    private static int Add(List<(int, KeyFlags)> keys, int position, KeyFlags flags)
    {
        keys.Add((position, flags));
        return keys.Count;
    }

    /// <summary>setGetKeys: the key is read too when GET is given.</summary>
    private static int SetKeys<TArgs>(scoped ref TArgs args, List<(int, KeyFlags)> keys) where TArgs : IArgumentList, allows ref struct
    {
        for (int i = 3; i < args.Count; i++)
            if (Ascii.EqualsIgnoreCase(args.Arg(i), "GET"u8)) return Add(keys, 1, KeyFlags.RW | KeyFlags.Access | KeyFlags.Update);
        return Add(keys, 1, KeyFlags.OW | KeyFlags.Update);
    }

    /// <summary>bitfieldGetKeys: read-only when only GET (and OVERFLOW) subcommands are given.</summary>
    private static int BitfieldKeys<TArgs>(scoped ref TArgs args, List<(int, KeyFlags)> keys) where TArgs : IArgumentList, allows ref struct
    {
        bool readOnly = true;
        for (int i = 2; i < args.Count; i++)
        {
            int more = args.Count - i - 1;
            if (Ascii.EqualsIgnoreCase(args.Arg(i), "GET"u8) && more >= 2) i += 2;
            else if ((Ascii.EqualsIgnoreCase(args.Arg(i), "SET"u8) || Ascii.EqualsIgnoreCase(args.Arg(i), "INCRBY"u8)) && more >= 3)
            {
                readOnly = false;
                break;
            }
            else if (Ascii.EqualsIgnoreCase(args.Arg(i), "OVERFLOW"u8) && more >= 1) i += 1;
            else
            {
                readOnly = false;
                break;
            }
        }
        return Add(keys, 1, readOnly ? KeyFlags.RO | KeyFlags.Access : KeyFlags.RW | KeyFlags.Access | KeyFlags.Update);
    }

    /// <summary>sortGetKeys: the sorted key, and the last STORE destination (LIMIT, GET and BY skip their arguments).</summary>
    private static int SortKeys<TArgs>(scoped ref TArgs args, List<(int, KeyFlags)> keys) where TArgs : IArgumentList, allows ref struct
    {
        keys.Add((1, KeyFlags.RO | KeyFlags.Access));
        int store = -1;
        for (int i = 2; i < args.Count; i++)
        {
            if (Ascii.EqualsIgnoreCase(args.Arg(i), "LIMIT"u8)) i += 2;
            else if (Ascii.EqualsIgnoreCase(args.Arg(i), "GET"u8) || Ascii.EqualsIgnoreCase(args.Arg(i), "BY"u8)) i += 1;
            else if (Ascii.EqualsIgnoreCase(args.Arg(i), "STORE"u8) && i + 1 < args.Count) store = i + 1;
        }
        if (store > 0) keys.Add((store, KeyFlags.OW | KeyFlags.Update));
        return keys.Count;
    }
}
