using System.Globalization;
using System.Text;
using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT.</summary>
public static class ConnectionCommands
{
    private const CommandFlags Conn = CommandFlags.NoScript | CommandFlags.Loading | CommandFlags.Stale | CommandFlags.Fast;

    public static void Register(CommandTable table)
    {
        table.Add(new("PING", Ping) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("ECHO", Echo));
        table.Add(new("QUIT", Quit) { Flags = CommandFlags.RunsInMulti | CommandFlags.AllowedWhileSubscribed });
        table.Add(new("SELECT", Select));
        table.Add(new("AUTH", Auth));
        table.Add(new("HELLO", Hello));
        table.Add(new("RESET", Reset) { Flags = CommandFlags.RunsInMulti | CommandFlags.AllowedWhileSubscribed });
        table.Add(new("CLIENT", Help)
        {
            Subcommands =
            [
                new("SETNAME", SetName),
                new("GETNAME", GetName),
                new("ID", Id),
                new("LIST", List),
                new("INFO", Info),
                new("KILL", Kill),
                new("NO-EVICT", NoEvict),
                new("TRACKING", Notifications.ClientTracking.TrackingCommand),
                new("CACHING", Notifications.ClientTracking.CachingCommand),
                new("GETREDIR", Notifications.ClientTracking.GetRedirCommand),
                new("TRACKINGINFO", Notifications.ClientTracking.TrackingInfoCommand),
                new("REPLY", Diagnostics.DiagnosticsCommands.ClientReply),
                new("PAUSE", Diagnostics.DiagnosticsCommands.ClientPause),
                new("UNPAUSE", Diagnostics.DiagnosticsCommands.ClientUnpause),
                new("UNBLOCK", Diagnostics.DiagnosticsCommands.ClientUnblock),
                new("HELP", Help),
            ],
        });
    }

    private static void Ping(ref CommandContext c)
    {
        if (c.Count > 2) c.Reply.Error(Errors.WrongArgCount("ping"));
        else if (c.Client.SubscriptionCount > 0 && c.Client.Protocol == RespVersion.Resp2)
        {
            // In RESP2 subscriber context PING answers like a message: ["pong", argument or ""].
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk("pong"u8);
            c.Reply.Bulk(c.Count == 2 ? c.Arg(1) : ""u8);
        }
        else if (c.Count == 2) c.Reply.Bulk(c.Arg(1));
        else c.Reply.Raw("+PONG\r\n"u8);
    }

    private static void Echo(ref CommandContext c) => c.Reply.Bulk(c.Arg(1));

    private static void Quit(ref CommandContext c)
    {
        c.Reply.Ok();
        c.Client.CloseRequested = true;
    }

    private static void Select(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(1), out long db) || db is < int.MinValue or > int.MaxValue)
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (c.Server.Cluster is not null && db != 0)
        {
            c.Reply.Error("ERR SELECT is not allowed in cluster mode");
            return;
        }
        if (db < 0 || db >= c.Server.Databases.Length)
        {
            c.Reply.Error(Errors.DbIndexOutOfRange);
            return;
        }
        c.Client.Database = (int)db;
        c.Reply.Ok();
    }

    private static void Auth(ref CommandContext c)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (c.Count == 2 && c.Server.Acl.Default.NoPass)
        {
            c.Reply.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        string user = c.Count == 3 ? c.ArgString(1) : "default";
        // ACL users (Acl/): the password's SHA-256 compared in constant time; a failure is logged in ACL LOG
        if (c.Server.Acl.Authenticate(ref c, user, c.Arg(c.Count - 1))) c.Reply.Ok();
        else c.Reply.Error(Errors.WrongPass);
    }

    private static void Hello(ref CommandContext c)
    {
        var protocol = c.Client.Protocol;
        int i = 1;
        if (c.Count >= 2)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(1), out long version))
            {
                c.Reply.Error("ERR Protocol version is not an integer or out of range");
                return;
            }
            if (version is < 2 or > 3)
            {
                c.Reply.Error("NOPROTO unsupported protocol version");
                return;
            }
            protocol = (RespVersion)version;
            i = 2;
        }
        string? setName = null;
        for (; i < c.Count; i++)
        {
            int left = c.Count - i - 1;
            if (c.ArgIs(i, "AUTH"u8) && left >= 2)
            {
                if (!c.Server.Acl.Authenticate(ref c, c.ArgString(i + 1), c.Arg(i + 2)))
                {
                    c.Reply.Error(Errors.WrongPass);
                    return;
                }
                i += 2;
            }
            else if (c.ArgIs(i, "SETNAME"u8) && left >= 1)
            {
                setName = c.ArgString(i + 1);
                if (!ValidName(setName))
                {
                    c.Reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
                    return;
                }
                i += 1;
            }
            else
            {
                c.Reply.Error($"ERR Syntax error in HELLO option '{c.ArgString(i)}'");
                return;
            }
        }
        if (!c.Client.Authenticated)
        {
            c.Reply.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
            return;
        }
        if (setName is not null) c.Client.Name = setName.Length == 0 ? null : setName;
        c.Client.Protocol = protocol;
        c.Reply.Version = protocol;
        c.Reply.MapHeader(7);
        c.Reply.Bulk("server"u8);
        c.Reply.Bulk("redis"u8);
        c.Reply.Bulk("version"u8);
        c.Reply.Bulk(ServerInfo.RedisVersion);
        c.Reply.Bulk("proto"u8);
        c.Reply.Integer((int)protocol);
        c.Reply.Bulk("id"u8);
        c.Reply.Integer(c.Client.Id);
        c.Reply.Bulk("mode"u8);
        c.Reply.Bulk("standalone"u8);
        c.Reply.Bulk("role"u8);
        c.Reply.Bulk("master"u8);
        c.Reply.Bulk("modules"u8);
        c.Reply.ArrayHeader(0);
    }

    private static void Reset(ref CommandContext c)
    {
        c.Client.InMulti = false;
        c.Client.MultiAborted = false;
        c.Client.MultiQueue.Clear();
        c.Server.Watches.UnwatchAll(c.Client);
        if (c.Client.Session is { } session) c.Server.PubSub.RemoveAll(session);
        c.Server.Tracking.Disable(c.Client);
        c.Client.Database = 0;
        c.Client.Protocol = RespVersion.Resp2;
        c.Reply.Version = RespVersion.Resp2;
        c.Client.Name = null;
        c.Client.User = c.Server.Acl.Default; // clientSetDefaultAuth
        c.Client.Authenticated = !c.Server.RequiresAuth;
        Diagnostics.DiagnosticsCommands.OnReset(c.Client, c.Server);
        c.Reply.SimpleString("RESET"u8);
    }

    private static bool ValidName(string name)
    {
        foreach (char ch in name)
            if (ch < '!' || ch > '~') return false;
        return true;
    }

    private static void SetName(ref CommandContext c)
    {
        string name = c.ArgString(2);
        if (!ValidName(name))
        {
            c.Reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        c.Client.Name = name.Length == 0 ? null : name;
        c.Reply.Ok();
    }

    private static void GetName(ref CommandContext c)
    {
        if (c.Client.Name is null) c.Reply.Null();
        else c.Reply.Bulk(c.Client.Name);
    }

    private static void Id(ref CommandContext c) => c.Reply.Integer(c.Client.Id);

    private static void NoEvict(ref CommandContext c)
    {
        if (c.ArgIs(2, "ON"u8)) c.Client.NoEvict = true;
        else if (c.ArgIs(2, "OFF"u8)) c.Client.NoEvict = false;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        c.Reply.Ok();
    }

    private static void List(ref CommandContext c)
    {
        IEnumerable<ClientSession> sessions = c.Server.Clients;
        if (c.Count >= 4 && c.ArgIs(2, "ID"u8))
        {
            var ids = new HashSet<long>();
            for (int i = 3; i < c.Count; i++)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(i), out long id) || id <= 0)
                {
                    c.Reply.Error("ERR Invalid client ID");
                    return;
                }
                ids.Add(id);
            }
            sessions = sessions.Where(s => ids.Contains(s.Client.Id));
        }
        else if (c.Count == 4 && c.ArgIs(2, "TYPE"u8))
        {
            if (!TryParseClientType(ref c, 3, out var type)) return;
            sessions = sessions.Where(s => TypeOf(s.Client) == type);
        }
        else if (c.Count != 2)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var sb = new StringBuilder();
        long now = c.Server.NowMs;
        long argvMem = ArgvMem(ref c);
        foreach (var s in sessions.OrderBy(s => s.Client.Id)) sb.Append(ClientInfo.Describe(s.Client, now, s.Client == c.Client ? argvMem : 0)).Append('\n');
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private static void Info(ref CommandContext c) =>
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(ClientInfo.Describe(c.Client, c.Server.NowMs, ArgvMem(ref c)) + "\n"));

    /// <summary>argv-mem of the client running CLIENT LIST/INFO: its own request's arguments, as redis counts them.</summary>
    private static long ArgvMem(ref CommandContext c)
    {
        long total = 0;
        for (int i = 0; i < c.Count; i++) total += c.Arg(i).Length;
        return total;
    }

    private static void Kill(ref CommandContext c)
    {
        if (c.Count == 3)
        {
            // Old form: CLIENT KILL addr:port
            string addr = c.ArgString(2);
            var target = c.Server.Clients.FirstOrDefault(s => s.Client.Address == addr);
            if (target is null)
            {
                c.Reply.Error("ERR No such client");
                return;
            }
            KillOne(ref c, target);
            c.Reply.Ok();
            return;
        }
        if ((c.Count - 2) % 2 != 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        long? id = null;
        ClientType? type = null;
        string? addrFilter = null, laddrFilter = null;
        Acl.AclUser? userFilter = null;
        bool skipMe = true;
        for (int i = 2; i < c.Count; i += 2)
        {
            if (c.ArgIs(i, "ID"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(i + 1), out long v) || v <= 0)
                {
                    c.Reply.Error("ERR client-id should be greater than 0");
                    return;
                }
                id = v;
            }
            else if (c.ArgIs(i, "ADDR"u8)) addrFilter = c.ArgString(i + 1);
            else if (c.ArgIs(i, "LADDR"u8)) laddrFilter = c.ArgString(i + 1);
            else if (c.ArgIs(i, "SKIPME"u8))
            {
                if (c.ArgIs(i + 1, "YES"u8)) skipMe = true;
                else if (c.ArgIs(i + 1, "NO"u8)) skipMe = false;
                else
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
            }
            else if (c.ArgIs(i, "TYPE"u8))
            {
                if (!TryParseClientType(ref c, i + 1, out var t)) return;
                type = t;
            }
            else if (c.ArgIs(i, "USER"u8))
            {
                userFilter = c.Server.Acl.Get(c.ArgString(i + 1));
                if (userFilter is null)
                {
                    c.Reply.Error($"ERR No such user '{c.ArgString(i + 1)}'");
                    return;
                }
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var me = c.Client;
        var victims = c.Server.Clients.Where(s => !s.IsKilled && // killed earlier, not yet gone: redis freed it at once
            (id is null || s.Client.Id == id) &&
            (type is null || TypeOf(s.Client) == type) &&
            (addrFilter is null || s.Client.Address == addrFilter) &&
            (laddrFilter is null || s.Client.LocalAddress == laddrFilter) &&
            (userFilter is null || ReferenceEquals(s.Client.User, userFilter)) &&
            !(skipMe && s.Client == me)).ToArray();
        foreach (var v in victims) KillOne(ref c, v);
        // The master's link is no session of ours (Replication/MasterLink): TYPE master drops it.
        int master = type == ClientType.Master && id is null && addrFilter is null && laddrFilter is null ? c.Server.Replication.KillMasterClient() : 0;
        c.Reply.Integer(victims.Length + master);
    }

    private enum ClientType { Normal, Replica, PubSub, Master }

    /// <summary>redis-server's getClientTypeByName; false after its error reply.</summary>
    private static bool TryParseClientType(ref CommandContext c, int index, out ClientType type)
    {
        var name = c.Arg(index);
        if (Ascii.EqualsIgnoreCase(name, "normal"u8)) type = ClientType.Normal;
        else if (Ascii.EqualsIgnoreCase(name, "slave"u8) || Ascii.EqualsIgnoreCase(name, "replica"u8)) type = ClientType.Replica;
        else if (Ascii.EqualsIgnoreCase(name, "pubsub"u8)) type = ClientType.PubSub;
        else if (Ascii.EqualsIgnoreCase(name, "master"u8)) type = ClientType.Master;
        else
        {
            type = default;
            c.Reply.Error($"ERR Unknown client type '{c.ArgString(index)}'");
            return false;
        }
        return true;
    }

    /// <summary>redis-server's getClientType: a subscribed client is "pubsub", every other one "normal" (no replication yet).</summary>
    private static ClientType TypeOf(ClientState client) =>
        client.IsMaster ? ClientType.Master : client.IsReplica ? ClientType.Replica : client.SubscriptionCount > 0 ? ClientType.PubSub : ClientType.Normal;

    private static void KillOne(ref CommandContext c, ClientSession target)
    {
        // Killing ourselves: reply first, then close once the reply is out.
        if (target.Client == c.Client) c.Client.CloseRequested = true;
        else target.Kill();
    }

    private static void Help(ref CommandContext c)
    {
        if (c.Count == 2 && !c.ArgIs(1, "HELP"u8))
        {
            c.Reply.Error(Errors.UnknownSubcommand(c.ArgString(1), c.Command.Name));
            return;
        }
        string[] lines =
        [
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME", "    Return the name of the current connection.",
            "ID", "    Return the ID of the current connection.",
            "INFO", "    Return information about the current client connection.",
            "KILL <ip:port>", "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME.",
            "LIST [options ...]", "    Return information about client connections. Options: TYPE, ID.",
            "UNPAUSE", "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
            "SETNAME <name>", "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
            "HELP", "    Print this help.",
        ];
        c.Reply.ArrayHeader(lines.Length);
        foreach (var line in lines) c.Reply.SimpleString(line);
    }
}
