using System.Security.Cryptography;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Acl;

/// <summary>The ACL command (redis 7.0's aclCommand): SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS,
/// LOG, LOAD, SAVE, DRYRUN, HELP. Arity, flags and categories come from the command metadata.</summary>
internal static class AclCommandHandlers
{
    public static void Register(CommandTable table)
    {
        table.Add(new("ACL", Help)
        {
            Subcommands =
            [
                new("SETUSER", SetUser), new("GETUSER", GetUser), new("DELUSER", DelUser), new("LIST", List),
                new("USERS", Users), new("WHOAMI", WhoAmI), new("CAT", Cat), new("GENPASS", GenPass), new("LOG", Log),
                new("LOAD", Load), new("SAVE", Save), new("DRYRUN", DryRun), new("HELP", Help),
            ],
        });
    }

    private static bool HasSpaces(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
            if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r' or 0) return true;
        return false;
    }

    private static void SetUser(ref CommandContext c)
    {
        if (HasSpaces(c.Arg(2)))
        {
            c.Reply.Error("ERR Usernames can't contain spaces or null characters");
            return;
        }
        var rules = new string[c.Count - 3];
        Dictionary<string, string>? shown = null;
        for (int i = 3; i < c.Count; i++)
        {
            var raw = c.Arg(i);
            if (raw.Length > 0 && raw[0] is (byte)'>' or (byte)'<')
            {
                // hashed from the argument's bytes (a password need not be UTF-8); errors still quote the rule as given
                string hashed = (raw[0] == (byte)'>' ? "#" : "!") + AclUser.Hash(raw[1..]);
                (shown ??= [])[hashed] = c.ArgString(i);
                rules[i - 3] = hashed;
            }
            else rules[i - 3] = c.ArgString(i);
        }
        if (c.Server.Acl.SetUser(c.ArgString(2), rules, c.Client, shown) is { } error) c.Reply.Error("ERR " + error);
        else c.Reply.Ok();
    }

    private static void DelUser(ref CommandContext c)
    {
        for (int i = 2; i < c.Count; i++)
        {
            if (c.Arg(i).SequenceEqual("default"u8))
            {
                c.Reply.Error("ERR The 'default' user cannot be removed");
                return;
            }
        }
        int deleted = 0;
        for (int i = 2; i < c.Count; i++)
            if (c.Server.Acl.Delete(c.ArgString(i), c.Client)) deleted++;
        c.Reply.Integer(deleted);
    }

    private static void GetUser(ref CommandContext c)
    {
        if (c.Server.Acl.Get(c.ArgString(2)) is not { } u)
        {
            c.Reply.Null();
            return;
        }
        var reply = c.Reply;
        reply.MapHeader(6);
        reply.Bulk("flags"u8);
        int flags = AclUser.FlagNames.Count(f => (u.Flags & f.Flag) != 0);
        reply.SetHeader(flags);
        foreach (var (flag, name) in AclUser.FlagNames)
            if ((u.Flags & flag) != 0) reply.Bulk(name);
        reply.Bulk("passwords"u8);
        reply.ArrayHeader(u.Passwords.Count);
        foreach (var p in u.Passwords) reply.Bulk(p);
        Selector(reply, u.Root);
        reply.Bulk("selectors"u8);
        reply.ArrayHeader(u.Selectors.Count - 1);
        for (int i = 1; i < u.Selectors.Count; i++)
        {
            reply.MapHeader(3);
            Selector(reply, u.Selectors[i]);
        }
    }

    /// <summary>aclAddReplySelectorDescription: commands, keys, channels.</summary>
    private static void Selector(ReplyBuffer reply, AclSelector s)
    {
        reply.Bulk("commands"u8);
        reply.Bulk(s.DescribeCommands());
        reply.Bulk("keys"u8);
        reply.Bulk(s.DescribeKeys());
        reply.Bulk("channels"u8);
        reply.Bulk(s.DescribeChannels());
    }

    private static void List(ref CommandContext c)
    {
        var users = c.Server.Acl.Users.ToArray();
        c.Reply.ArrayHeader(users.Length);
        foreach (var u in users) c.Reply.Bulk("user " + u.Name + " " + u.Describe());
    }

    private static void Users(ref CommandContext c)
    {
        var users = c.Server.Acl.Users.ToArray();
        c.Reply.ArrayHeader(users.Length);
        foreach (var u in users) c.Reply.Bulk(u.Name);
    }

    private static void WhoAmI(ref CommandContext c) => c.Reply.Bulk(c.Client.User.Name);

    private static void Cat(ref CommandContext c)
    {
        if (c.Count == 2)
        {
            c.Reply.ArrayHeader(AclCommands.Categories.Length);
            foreach (var name in AclCommands.Categories) c.Reply.Bulk(name);
            return;
        }
        ulong flag = AclCommands.CategoryFlag(c.ArgString(2));
        if (flag == 0)
        {
            var arg = c.Arg(2);
            c.Reply.Error("ERR Unknown category '" + Encoding.UTF8.GetString(arg[..Math.Min(arg.Length, 128)]) + "'");
            return;
        }
        // the commands this server has (a container's subcommands after it), as aclCatWithFlags lists redis's own
        var names = new List<string>();
        foreach (var spec in c.Server.Commands.All)
        {
            if ((AclCommands.All[spec.AclId].Categories & flag) != 0) names.Add(spec.WireName);
            foreach (var sub in spec.Subcommands)
                if ((AclCommands.All[sub.AclId].Categories & flag) != 0) names.Add(sub.WireName);
        }
        c.Reply.ArrayHeader(names.Count);
        foreach (var n in names) c.Reply.Bulk(n);
    }

    private static void GenPass(ref CommandContext c)
    {
        long bits = 256;
        if (c.Count == 3 && !RedisNumbers.TryParseInt64(c.Arg(2), out bits))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (bits <= 0 || bits > 4096)
        {
            c.Reply.Error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
            return;
        }
        int chars = (int)((bits + 3) / 4);
        c.Reply.Bulk(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes((chars + 1) / 2))[..chars]);
    }

    private static void Log(ref CommandContext c)
    {
        var log = c.Server.Acl.Log;
        long count = 10;
        if (c.Count == 3)
        {
            if (c.ArgIs(2, "RESET"u8))
            {
                log.Reset();
                c.Reply.Ok();
                return;
            }
            if (!RedisNumbers.TryParseInt64(c.Arg(2), out count))
            {
                c.Reply.Error(Errors.NotInteger);
                return;
            }
            if (count < 0) count = 0;
        }
        if (count > log.Count) count = log.Count;
        long now = c.Server.NowMs;
        c.Reply.ArrayHeader((int)count);
        foreach (var e in log.Entries)
        {
            if (count-- == 0) break;
            c.Reply.MapHeader(7);
            c.Reply.Bulk("count"u8);
            c.Reply.Integer(e.Count);
            c.Reply.Bulk("reason"u8);
            c.Reply.Bulk(e.Reason switch
            {
                AclResult.DeniedCommand => "command",
                AclResult.DeniedKey => "key",
                AclResult.DeniedChannel => "channel",
                AclResult.DeniedAuth => "auth",
                _ => "unknown",
            });
            c.Reply.Bulk("context"u8);
            c.Reply.Bulk(e.Context switch { AclLogContext.TopLevel => "toplevel", AclLogContext.Multi => "multi", _ => "lua" });
            c.Reply.Bulk("object"u8);
            c.Reply.Bulk(e.Object);
            c.Reply.Bulk("username"u8);
            c.Reply.Bulk(e.Username);
            c.Reply.Bulk("age-seconds"u8);
            c.Reply.Double((now - e.CreatedMs) / 1000.0);
            c.Reply.Bulk("client-info"u8);
            c.Reply.Bulk(e.ClientInfo);
        }
    }

    private const string NoAclFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

    private static void Load(ref CommandContext c)
    {
        string file = c.Server.Config.AclFile;
        if (file.Length == 0)
        {
            c.Reply.Error(NoAclFile);
            return;
        }
        if (c.Server.Acl.LoadFromFile(file, c.Client) is { } errors) c.Reply.Error("ERR " + errors);
        else c.Reply.Ok();
    }

    private static void Save(ref CommandContext c)
    {
        string file = c.Server.Config.AclFile;
        if (file.Length == 0)
        {
            c.Reply.Error(NoAclFile);
            return;
        }
        if (c.Server.Acl.SaveToFile(file)) c.Reply.Ok();
        else c.Reply.Error("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
    }

    private static void DryRun(ref CommandContext c)
    {
        if (c.Server.Acl.Get(c.ArgString(2)) is not { } u)
        {
            c.Reply.Error($"ERR User '{c.ArgString(2)}' not found");
            return;
        }
        int argc = c.Count - 3;
        if (!c.Server.Commands.TryGet(c.Arg(3), out var spec))
        {
            c.Reply.Error($"ERR Command '{c.ArgString(3)}' not found");
            return;
        }
        if (spec.Subcommands.Length > 0 && argc >= 2)
        {
            var sub = spec.Subcommand(c.Arg(4));
            if (sub is null)
            {
                c.Reply.Error($"ERR Command '{c.ArgString(3)}' not found");
                return;
            }
            spec = sub;
        }
        if (!spec.ArityOk(argc))
        {
            c.Reply.Error(Errors.WrongArgCount(spec.WireName));
            return;
        }
        var args = new byte[argc][];
        for (int i = 0; i < argc; i++) args[i] = c.Arg(i + 3).ToArray();
        var list = new ArrayArguments(args);
        var result = u.Check(spec, ref list, c.Server.Acl.KeyScratch, out int pos);
        switch (result)
        {
            case AclResult.Ok:
                c.Reply.Ok();
                break;
            case AclResult.DeniedCommand:
                c.Reply.Bulk($"This user has no permissions to run the '{spec.WireName}' command");
                break;
            case AclResult.DeniedKey:
                c.Reply.Bulk("This user has no permissions to access the '"u8.ToArray().Concat(args[pos]).Concat("' key"u8.ToArray()).ToArray());
                break;
            default:
                c.Reply.Bulk("This user has no permissions to access the '"u8.ToArray().Concat(args[pos]).Concat("' channel"u8.ToArray()).ToArray());
                break;
        }
    }

    private static readonly string[] HelpLines =
    [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ];

    private static void Help(ref CommandContext c)
    {
        if (c.Count != 2 || !c.ArgIs(1, "HELP"u8))
        {
            c.Reply.Error(Errors.UnknownSubcommand(c.ArgString(1), "ACL"));
            return;
        }
        c.Reply.ArrayHeader(HelpLines.Length);
        foreach (var line in HelpLines) c.Reply.SimpleString(line);
    }
}
