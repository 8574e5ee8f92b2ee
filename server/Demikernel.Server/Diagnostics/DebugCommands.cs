using System.Globalization;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// DEBUG behind enable-debug-command (no, yes, local; set at start only), as redis-server 7.0: SLEEP, SET-ACTIVE-EXPIRE,
/// OBJECT and HELP. The other subcommands of redis's DEBUG are answered with its unknown-subcommand error.
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
        // redis: a loopback address or a unix socket is local (unix clients show as 0.0.0.0:0 here)
        var peer = c.Client.Peer.ToString();
        return peer.StartsWith("127.", StringComparison.Ordinal) || peer == "0.0.0.0:0";
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
        var e = c.Db.Find(c.Arg(2), LookupFlags.NoTouch);
        if (e is null)
        {
            c.Reply.Error("ERR no such key");
            return;
        }
        long serialized = RdbFormat.Dump(e, c.Server.Config.RdbCompression).Length - 11; // type byte, version and CRC
        long accessSeconds = e.LastAccessMs / 1000;
        long idle = Math.Max(0, c.Server.NowMs - e.LastAccessMs) / 1000;
        object identity = (object?)e.Object ?? e;
        c.Reply.SimpleString(string.Create(CultureInfo.InvariantCulture,
            $"Value at:0x{System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(identity):x} refcount:{e.RefCount} encoding:{e.Encoding} serializedlength:{serialized} lru:{accessSeconds & 0xFFFFFF} lru_seconds_idle:{idle}"));
    }

    private static void Help(ref CommandContext c) => DiagnosticsCommands.ReplyHelp(ref c, "DEBUG",
    [
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    ]);

    private static long Atoi(ReadOnlySpan<byte> s)
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
