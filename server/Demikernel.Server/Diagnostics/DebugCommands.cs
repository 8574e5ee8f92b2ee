using System.Globalization;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Logging;
using Demikernel.Server.Store;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// DEBUG behind enable-debug-command (no, yes, local; set at start only), as redis-server 7.0: SLEEP, SET-ACTIVE-EXPIRE,
/// OBJECT, POPULATE, DIGEST, DIGEST-VALUE, PROTOCOL, LOG, ERROR, CHANGE-REPL-ID, RELOAD, HELP, and
/// QUICKLIST-PACKED-THRESHOLD, LISTPACK, STRINGMATCH-TEST (DebugEncodingCommands.cs). The other
/// subcommands of redis's DEBUG (internals of redis's encodings, allocator and crash tools) are answered with its
/// unknown-subcommand error.
/// </summary>
internal static class DebugCommands
{
    public static void Register(CommandTable table) => table.Add(new("DEBUG", Debug));

    private static void Debug(ref CommandContext c)
    {
        if (!Allowed(ref c))
        {
            c.Reply.Error("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
            return;
        }
        if (c.Count == 2 && c.ArgIs(1, "HELP"u8)) Help(ref c);
        else if (c.Count == 3 && c.ArgIs(1, "SLEEP"u8)) Sleep(ref c);
        else if (c.Count == 3 && c.ArgIs(1, "SET-ACTIVE-EXPIRE"u8))
        {
            // atoi: anything that does not start with a non-zero number turns active expiry off
            c.Server.Diagnostics.ActiveExpire = Atoi(c.Arg(2)) != 0;
            c.Reply.Ok();
        }
        else if (c.Count == 3 && c.ArgIs(1, "OBJECT"u8)) Object(ref c);
        else if (c.Count is >= 3 and <= 5 && c.ArgIs(1, "POPULATE"u8)) Populate(ref c);
        else if (c.Count == 2 && c.ArgIs(1, "DIGEST"u8)) c.Reply.SimpleString(Convert.ToHexStringLower(DatasetDigest.Compute(c.Server.Databases)));
        else if (c.Count >= 2 && c.ArgIs(1, "DIGEST-VALUE"u8))
        {
            c.Reply.ArrayHeader(c.Count - 2);
            for (int j = 2; j < c.Count; j++)
            {
                // as redis: the entry as stored, even when logically expired
                var digest = new byte[20];
                if (c.Db.FindStoredSlot(c.Arg(j)) is >= 0 and var slot) DatasetDigest.MixValue(digest, c.Db.ViewAt(slot));
                c.Reply.SimpleString(Convert.ToHexStringLower(digest));
            }
        }
        else if (c.Count == 3 && c.ArgIs(1, "PROTOCOL"u8)) Protocol(ref c);
        else if (c.Count == 3 && c.ArgIs(1, "LOG"u8))
        {
            c.Server.Log.DebugLog(c.ArgString(2));
            c.Reply.Ok();
        }
        else if (c.Count == 3 && c.ArgIs(1, "ERROR"u8)) c.Reply.Error(c.ArgString(2)); // the error writer maps CR/LF to spaces
        else if (c.Count == 2 && c.ArgIs(1, "CHANGE-REPL-ID"u8))
        {
            c.Server.Replication.ChangeReplicationId();
            c.Reply.Ok();
        }
        else if (c.Count >= 2 && c.ArgIs(1, "RELOAD"u8)) Reload(ref c);
        else if (DebugEncodingCommands.TryRun(ref c)) { }
        else
        {
            string sub = c.ArgString(1);
            if (sub.Length > 128) sub = sub[..128];
            c.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP.");
        }
    }

    private static bool Allowed(ref CommandContext c)
    {
        string mode = c.Server.Config.Match("enable-debug-command").First().Value;
        if (mode == "yes") return true;
        if (mode != "local" || c.Client.IsScript) return false;
        // redis: a loopback address or a unix socket is local
        return c.Client.UnixSocketPath is not null || c.Client.Peer.IsLoopbackAddress;
    }

    /// <summary>DEBUG SLEEP seconds (a double, strtod's leniency): the whole server sleeps, as redis-server's does.</summary>
    private static void Sleep(ref CommandContext c)
    {
        double seconds = Strtod(c.ArgString(2));
        long micros = (long)(seconds * 1_000_000);
        if (micros > 0) Thread.Sleep(TimeSpan.FromTicks(micros * 10));
        c.Reply.Ok();
    }

    /// <summary>
    /// DEBUG OBJECT key: redis's line. "Value at" is the value's identity in this process (a .NET object has no fixed
    /// address); serializedlength is the RDB encoding's length, as redis's rdbSavedObjectLen; lru is the access time
    /// in the LRU clock's seconds (24 bits). Quicklist details (ql_*) are not shown: lists here are not quicklists.
    /// </summary>
    private static void Object(ref CommandContext c)
    {
        // Read in place, as redis's DEBUG OBJECT allocates nothing: a compact key stays compact.
        if (!c.Db.TryLookup(c.Arg(2), LookupFlags.NoTouch, out var v))
        {
            c.Reply.Error("ERR no such key");
            return;
        }
        long serialized = RdbFormat.Dump(v, c.Server.Config.RdbCompression).Length - 11; // type byte, version and CRC
        long accessSeconds = v.LastAccessMs / 1000;
        long idle = Math.Max(0, c.Server.NowMs - v.LastAccessMs) / 1000;
        // a compact key has no object of its own: its slot stands for it
        long identity = v.Object is { } value ? System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(value) : v.Slot;
        c.Reply.SimpleString(string.Create(CultureInfo.InvariantCulture,
            $"Value at:0x{identity:x} refcount:{v.RefCount} encoding:{v.Encoding} serializedlength:{serialized} lru:{accessSeconds & 0xFFFFFF} lru_seconds_idle:{idle}"));
    }

    /// <summary>DEBUG POPULATE count [prefix] [size]: keys prefix:0.. with values "value:N" (or that text in a
    /// zero-filled value of size bytes); existing keys are kept. Like redis's dbAdd: WATCH sees the keys, no keyspace
    /// event fires, and nothing propagates.</summary>
    private static void Populate(ref CommandContext c)
    {
        if (!TryPositive(ref c, 2, out long keys)) return;
        long size = 0;
        if (c.Count == 5 && !TryPositive(ref c, 4, out size)) return;
        string prefix = c.Count == 3 ? "key" : c.ArgString(3);
        Span<byte> text = stackalloc byte[32];
        byte[] value = size == 0 ? [] : new byte[size];
        for (long j = 0; j < keys; j++)
        {
            byte[] key = System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{prefix}:{j}"));
            if (c.Db.Exists(key)) continue; // as lookupKeyWrite: an expired key is deleted and replaced
            "value:"u8.CopyTo(text);
            j.TryFormat(text[6..], out int digits, default, CultureInfo.InvariantCulture);
            var valueText = text[..(6 + digits)];
            if (size == 0)
            {
                c.Db.SetString(key, valueText, keepTtl: false, KeyEvent.None);
                continue;
            }
            value.AsSpan().Clear();
            valueText[..(int)Math.Min(size, valueText.Length)].CopyTo(value);
            c.Db.SetString(key, value, keepTtl: false, KeyEvent.None);
        }
        c.PreventPropagation();
        c.Reply.Ok();
    }

    /// <summary>getPositiveLongFromObjectOrReply with redis's default message (for a non-number too).</summary>
    private static bool TryPositive(ref CommandContext c, int index, out long value)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(index), out value) || value < 0)
        {
            c.Reply.Error(Errors.NotPositive);
            return false;
        }
        return true;
    }

    /// <summary>DEBUG PROTOCOL type: one reply of each RESP type, as redis writes them (RESP2 falls back as usual).</summary>
    private static void Protocol(ref CommandContext c)
    {
        var r = c.Reply;
        switch (c.ArgString(2).ToLowerInvariant())
        {
            case "string": r.Bulk("Hello World"u8); break;
            case "integer": r.Integer(12345); break;
            case "double": r.Double(3.141); break;
            case "bignum": r.BigNumber("1234567999999999999999999999999999999"u8); break;
            case "null": r.Null(); break;
            case "array":
                r.ArrayHeader(3);
                for (int j = 0; j < 3; j++) r.Integer(j);
                break;
            case "set":
                r.SetHeader(3);
                for (int j = 0; j < 3; j++) r.Integer(j);
                break;
            case "map":
                r.MapHeader(3);
                for (int j = 0; j < 3; j++)
                {
                    r.Integer(j);
                    r.Boolean(j == 1);
                }
                break;
            case "attrib":
                r.AttributeHeader(1); // nothing under RESP2
                if (c.Client.Protocol == RespVersion.Resp3)
                {
                    r.Bulk("key-popularity"u8);
                    r.ArrayHeader(2);
                    r.Bulk("key:123"u8);
                    r.Integer(90);
                }
                r.Bulk("Some real reply following the attribute"u8);
                break;
            case "push":
                if (c.Client.Protocol != RespVersion.Resp3)
                {
                    r.Error("ERR RESP2 is not supported by this command");
                    return;
                }
                r.PushHeader(2);
                r.Bulk("server-cpu-usage"u8);
                r.Integer(42);
                r.Bulk("Some real reply following the push reply"u8);
                break;
            case "true": r.Boolean(true); break;
            case "false": r.Boolean(false); break;
            case "verbatim": r.Verbatim("txt"u8, "This is a verbatim\nstring"u8); break;
            default:
                r.Error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
                break;
        }
    }

    /// <summary>
    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: SAVE (unless NOSAVE), empty the data (unless NOFLUSH), load the RDB
    /// (MERGE: a key or library already present is replaced). Where redis-server panics on a duplicate key (NOFLUSH
    /// without MERGE), this server answers the error and logs why; a failed load leaves the databases empty, as any
    /// failed RDB load does here. Nothing propagates (the dataset did not change as far as replicas know).
    /// </summary>
    private static void Reload(ref CommandContext c)
    {
        bool flush = true, save = true, merge = false;
        for (int j = 2; j < c.Count; j++)
        {
            if (c.ArgIs(j, "MERGE"u8)) merge = true;
            else if (c.ArgIs(j, "NOFLUSH"u8)) flush = false;
            else if (c.ArgIs(j, "NOSAVE"u8)) save = false;
            else
            {
                c.Reply.Error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
                return;
            }
        }
        var server = c.Server;
        c.PreventPropagation();
        if (save && server.Persistence.Save() is not null)
        {
            c.Reply.Error("ERR");
            return;
        }
        if (flush)
        {
            server.Persistence.KillBackgroundSave(); // its image is of the data about to go
            foreach (var db in server.Databases) db.Clear();
            server.Functions.Flush();
            server.Tracking.Flushed();
        }
        string path = server.Persistence.RdbPath;
        string? problem = File.Exists(path) ? null : $"no RDB file at '{path}'";
        if (problem is null) server.Persistence.LoadRdbFile(path, out problem, replaceDuplicates: merge);
        if (problem is not null)
        {
            server.Log.DebugReloadFailed(problem);
            c.Reply.Error("ERR Error trying to load the RDB dump");
            return;
        }
        server.Log.DbReloaded();
        c.Reply.Ok();
    }

    // redis-server 7.0's lines for the subcommands this server has, in redis's order
    private static void Help(ref CommandContext c) => DiagnosticsCommands.ReplyHelp(ref c, "DEBUG",
    [
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "LISTPACK <key>",
        "    Show low level info about the listpack encoding of <key>.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from RDB.",
        "    * NOFLUSH: the existing database will not be removed before load, but",
        "      conflicting keys will generate an exception and kill the server.",
        "    * NOSAVE: the database will be loaded from an existing RDB file.",
        "    Examples:",
        "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
        "      the database.",
        "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
        "      existing RDB file.",
        "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
        "      file to the database.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
        "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "STRINGMATCH-TEST",
        "    Run a fuzz tester against the stringmatchlen() function.",
    ]);

    internal static long Atoi(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && s[i] is (byte)' ' or (byte)'\t') i++;
        bool negative = i < s.Length && s[i] == '-';
        if (i < s.Length && s[i] is (byte)'-' or (byte)'+') i++;
        long n = 0;
        for (; i < s.Length && s[i] >= '0' && s[i] <= '9' && n < int.MaxValue; i++) n = n * 10 + (s[i] - '0');
        return negative ? -n : n;
    }

    /// <summary>strtod's leading number (0 when there is none).</summary>
    private static double Strtod(string s)
    {
        s = s.TrimStart();
        for (int len = s.Length; len > 0; len--)
            if (double.TryParse(s.AsSpan(0, len), NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        return 0;
    }
}
