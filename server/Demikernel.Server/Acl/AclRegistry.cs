using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Acl;

/// <summary>
/// The server's users (redis's Users rax and DefaultUser), the ACL log, and what the rest of the server asks of ACL:
/// whether AUTH is required, authenticating, the dispatcher's denial path, requirepass, the ACL file and the `user`
/// lines of redis.conf. Runs on the libOS thread only.
/// </summary>
internal sealed class AclRegistry
{
    private readonly RedisServer _server;
    private readonly SortedDictionary<string, AclUser> _users = new(StringComparer.Ordinal);

    /// <summary>Key positions found for a check, reused (one check at a time: a script's calls are checked before
    /// their own handler runs).</summary>
    internal readonly List<(int Position, KeyFlags Flags)> KeyScratch = new(8);

    public AclRegistry(RedisServer server)
    {
        _server = server;
        Default = CreateDefaultUser();
        _users["default"] = Default;
        SetDefaultPassword(server.Config.RequirePass);
    }

    /// <summary>The user every new connection starts as (never replaced: ACL LOAD copies rules into it).</summary>
    public AclUser Default { get; }

    public AclLog Log { get; } = new();

    public IEnumerable<AclUser> Users => _users.Values;

    /// <summary>acl-pubsub-default: new users and selectors start with allchannels (7.0's default is resetchannels).</summary>
    public bool AllChannelsByDefault => _server.Config.Get("acl-pubsub-default") == "allchannels";

    /// <summary>authRequired: the default user has a password or is off, so a new connection must AUTH.</summary>
    public bool RequiresAuth => !Default.NoPass || !Default.Enabled;

    public AclUser? Get(string name) => _users.TryGetValue(name, out var u) ? u : null;

    private AclUser CreateDefaultUser()
    {
        var u = new AclUser("default", AllChannelsByDefault);
        u.Set("+@all", false);
        u.Set("~*", false);
        u.Set("&*", false);
        u.Set("on", false);
        u.Set("nopass", false);
        return u;
    }

    /// <summary>ACLUpdateDefaultUserPassword: requirepass (CONFIG SET too) sets the default user's only password.</summary>
    public void SetDefaultPassword(string? password)
    {
        Default.Set("resetpass", AllChannelsByDefault);
        if (password is not null) Default.Set(">" + password, AllChannelsByDefault);
        else Default.Set("nopass", AllChannelsByDefault);
    }

    // ---- ACL SETUSER ----

    /// <summary>ACLMergeSelectorArguments: a selector spread over several arguments ("(" "+get" ")") becomes one;
    /// null with the index of the opening argument when a parenthesis is not closed.</summary>
    public static List<string>? MergeSelectors(IReadOnlyList<string> args, out int invalid)
    {
        invalid = -1;
        var merged = new List<string>(args.Count);
        StringBuilder? selector = null;
        int open = -1;
        for (int j = 0; j < args.Count; j++)
        {
            string op = args[j];
            if (op.Length > 0 && op[0] == '(' && op[^1] != ')')
            {
                selector = new StringBuilder(op);
                open = j;
                continue;
            }
            if (open != -1)
            {
                selector!.Append(' ').Append(op);
                if (op.Length > 0 && op[^1] == ')')
                {
                    open = -1;
                    merged.Add(selector.ToString());
                }
                continue;
            }
            merged.Add(op);
        }
        if (open != -1)
        {
            invalid = open;
            return null;
        }
        return merged;
    }

    /// <summary>ACLStringSetUser: all rules applied to a copy, then to the user at once; redis's error text or null.</summary>
    /// <param name="shown">How a rule the caller rewrote (a password hashed from its bytes) is quoted in errors.</param>
    public string? SetUser(string name, IReadOnlyList<string> rules, ClientState? current, IReadOnlyDictionary<string, string>? shown = null)
    {
        var merged = MergeSelectors(rules, out int invalid);
        if (merged is null) return $"Unmatched parenthesis in acl selector starting at '{rules[invalid]}'.";
        bool allChannels = AllChannelsByDefault;
        var existing = Get(name);
        var temp = new AclUser(name, allChannels);
        if (existing is not null) temp.CopyFrom(existing);
        foreach (var op in merged)
            if (temp.Set(op, allChannels) is not AclError.None and var error)
                return $"Error in ACL SETUSER modifier '{shown?.GetValueOrDefault(op) ?? op}': {AclUser.ErrorText(error)}";
        if (existing is not null) KillPubSubClientsIfNeeded(temp, existing, current);
        if (existing is null) _users[name] = existing = new AclUser(name, allChannels);
        existing.CopyFrom(temp);
        return null;
    }

    /// <summary>
    /// ACLKillPubsubClientsIfNeeded: when the new rules no longer grant every channel the old ones did, subscribers
    /// authenticated as the user whose subscriptions the new channel list does not cover are disconnected.
    /// </summary>
    private void KillPubSubClientsIfNeeded(AclUser updated, AclUser original, ClientState? current)
    {
        foreach (var s in updated.Selectors)
            if (s.AllChannels) return;
        var upcoming = updated.Selectors.SelectMany(s => s.ChannelBytes).ToArray();
        var upcomingText = updated.Selectors.SelectMany(s => s.Channels).ToHashSet(StringComparer.Ordinal);
        bool superset = true;
        foreach (var s in original.Selectors)
        {
            if (s.AllChannels || s.Channels.Any(c => !upcomingText.Contains(c)))
            {
                superset = false;
                break;
            }
        }
        if (superset) return;
        foreach (var session in _server.Clients.ToArray())
        {
            var c = session.Client;
            if (!ReferenceEquals(c.User, original) || c.SubscriptionCount == 0) continue;
            bool kill = c.Patterns.Any(p => !AclSelector.ChannelInList(upcoming, Encoding.UTF8.GetBytes(p), true))
                || c.Channels.Any(ch => !AclSelector.ChannelInList(upcoming, Encoding.UTF8.GetBytes(ch), false));
            if (kill) Disconnect(session, current);
        }
    }

    private static void Disconnect(ClientSession session, ClientState? current)
    {
        if (ReferenceEquals(session.Client, current)) session.Client.CloseRequested = true; // after this reply
        else session.Kill();
    }

    /// <summary>ACL DELUSER of one user (not "default"): its clients go back to the default user, unauthenticated,
    /// and are disconnected (the caller after its reply), as ACLFreeUserAndKillClients.</summary>
    public bool Delete(string name, ClientState? current)
    {
        if (!_users.Remove(name, out var u)) return false;
        RemoveAndKillClients(u, current);
        return true;
    }

    private void RemoveAndKillClients(AclUser u, ClientState? current)
    {
        u.Removed = true;
        foreach (var session in _server.Clients.ToArray())
        {
            var c = session.Client;
            if (!ReferenceEquals(c.User, u)) continue;
            c.User = Default;
            c.Authenticated = false;
            Disconnect(session, current);
        }
    }

    // ---- authentication ----

    /// <summary>
    /// ACLAuthenticateUser: an existing, enabled user whose password matches (or nopass) becomes the client's user;
    /// otherwise an "auth" entry is logged (object: the command's name as sent) and false returned.
    /// </summary>
    public bool Authenticate(ref CommandContext c, string username, ReadOnlySpan<byte> password)
    {
        if (Get(username) is { } u && u.Enabled && u.PasswordMatches(password))
        {
            c.Client.Authenticated = true;
            c.Client.User = u;
            return true;
        }
        AddLog(c.Client, AclResult.DeniedAuth, c.Client.InMulti ? AclLogContext.Multi : AclLogContext.TopLevel,
            c.ArgString(0), username);
        return false;
    }

    public void AddLog(ClientState client, AclResult reason, AclLogContext context, string obj, string? username = null)
    {
        long max = long.Parse(_server.Config.Get("acllog-max-len") ?? "128", CultureInfo.InvariantCulture);
        string info = ClientInfo.Describe(client, _server.NowMs, 0);
        Log.Add(reason, context, obj, username ?? client.User.Name, info, _server.NowMs, max);
    }

    // ---- the dispatcher's check ----

    /// <summary>
    /// Called by the dispatcher for a client whose user is not <see cref="AclUser.Unrestricted"/>: false (with the
    /// NOPERM reply written and the denial logged) when the user may not run this request. At EXEC (the queued
    /// commands replayed) the error is the one redis-server's execCommand gives.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public bool Allow(ref CommandContext c, CommandSpec spec)
    {
        var client = c.Client;
        var result = client.User.Check(spec, ref c, KeyScratch, out int pos);
        if (result == AclResult.Ok) return true;
        client.LastCommand = spec.WireName;
        bool exec = client.InExec;
        var context = exec || client.InMulti ? AclLogContext.Multi : AclLogContext.TopLevel;
        AddLog(client, result, context, result == AclResult.DeniedCommand ? spec.WireName : c.ArgString(pos));
        if (exec)
        {
            string reason = result switch
            {
                AclResult.DeniedCommand => "no permission to execute the command or subcommand",
                AclResult.DeniedKey => "no permission to touch the specified keys",
                AclResult.DeniedChannel => "no permission to access one of the channels used as arguments",
                _ => "no permission",
            };
            c.Reply.Error("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + reason);
        }
        else c.Reply.Error(NoPermText(result, spec));
        return false;
    }

    public static string NoPermText(AclResult result, CommandSpec spec) => result switch
    {
        AclResult.DeniedCommand => $"NOPERM this user has no permissions to run the '{spec.WireName}' command",
        AclResult.DeniedKey => "NOPERM this user has no permissions to access one of the keys used as arguments",
        AclResult.DeniedChannel => "NOPERM this user has no permissions to access one of the channels used as arguments",
        _ => "no permission",
    };

    /// <summary>scriptVerifyACL: a script's call checked against the caller's user; the error text for the script,
    /// or null when allowed. Denials are logged with context "lua" and the caller's client info.</summary>
    public string? CheckScriptCall<TArgs>(ClientState caller, CommandSpec spec, scoped ref TArgs args) where TArgs : IArgumentList, allows ref struct
    {
        var user = caller.User;
        if (user.Unrestricted) return null;
        var result = user.Check(spec, ref args, KeyScratch, out int pos);
        if (result == AclResult.Ok) return null;
        AddLog(caller, result, AclLogContext.Lua,
            result == AclResult.DeniedCommand ? spec.WireName : Encoding.UTF8.GetString(args.Arg(pos)));
        return "The user executing the script " + result switch
        {
            AclResult.DeniedCommand => "can't run this command or subcommand",
            AclResult.DeniedKey => "can't access at least one of the keys mentioned in the command arguments",
            AclResult.DeniedChannel => "can't publish to the channel mentioned in the command",
            _ => "lacking the permissions for the command",
        };
    }

    // ---- ACL file, redis.conf users ----

    /// <summary>
    /// ACLAppendUserForLoading's check of a redis.conf `user` line (<paramref name="words"/>: name, rules); redis's
    /// error or null. Unknown commands are left for the load (modules could add them in redis). As redis, the word
    /// the message quotes is the line's word at the failing rule's index counted from "user" itself.
    /// </summary>
    public static string? ValidateUserLine(IReadOnlyList<string> words)
    {
        var argv = words.Prepend("user").ToArray();
        var merged = MergeSelectors(words.Skip(1).ToList(), out int invalid);
        if (merged is null) return $"Error in user declaration '{argv[invalid]}': Wrong format";
        var fake = new AclUser("__fakeuser__", false);
        for (int j = 0; j < merged.Count; j++)
            if (fake.Set(merged[j], false) is not (AclError.None or AclError.NoSuchCommand) and var error)
                return $"Error in user declaration '{argv[j]}': {AclUser.ErrorText(error)}";
        return null;
    }

    /// <summary>
    /// ACLLoadUsersAtStartup: the `user` lines of redis.conf (a "default" line resets the default user first), or the
    /// ACL file; both at once is refused. Returns the reason start-up must stop, or null.
    /// </summary>
    public string? LoadAtStartup(IReadOnlyList<IReadOnlyList<string>> userLines, string aclFile)
    {
        if (aclFile.Length > 0 && userLines.Count > 0)
            return "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.";
        bool allChannels = AllChannelsByDefault;
        foreach (var line in userLines)
        {
            string name = line[0];
            if (HasSpaces(name)) return "Spaces not allowed in ACL usernames";
            var u = Get(name);
            if (u is null) _users[name] = u = new AclUser(name, allChannels);
            else u.Set("reset", allChannels);
            foreach (var op in MergeSelectors(line.Skip(1).ToList(), out _)!)
                if (u.Set(op, allChannels) is not AclError.None and var error)
                    return $"Error loading ACL rule '{op}' for the user named '{name}': {AclUser.ErrorText(error)}";
        }
        if (aclFile.Length > 0 && LoadFromFile(aclFile, null) is { } errors)
            return "Aborting Redis startup because of ACL errors: " + errors;
        return null;
    }

    private static bool HasSpaces(string s) => s.Any(c => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r' or '\0');

    /// <summary>
    /// ACLLoadFromFile: every line validated into a fresh set of users; any error leaves the current users as they are
    /// and returns all errors on one line. On success the default user takes the file's rules (or the defaults) and
    /// every other user of before is dropped, its clients disconnected.
    /// </summary>
    public string? LoadFromFile(string path, ClientState? current)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Error loading ACLs, opening file '{path}': {(e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : e is UnauthorizedAccessException ? "Permission denied" : e.Message)}";
        }
        var errors = new StringBuilder();
        var users = new SortedDictionary<string, AclUser>(StringComparer.Ordinal);
        bool allChannels = AllChannelsByDefault;
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int linenum = i + 1;
            string line = lines[i].Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0) continue;
            var argv = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (argv.Length == 0) continue;
            if (argv[0] != "user" || argv.Length < 2)
            {
                errors.Append(CultureInfo.InvariantCulture, $"{path}:{linenum} should start with user keyword followed by the username. ");
                continue;
            }
            if (HasSpaces(argv[1]))
            {
                errors.Append(CultureInfo.InvariantCulture, $"'{path}:{linenum}: username '{argv[1]}' contains invalid characters. ");
                continue;
            }
            if (users.ContainsKey(argv[1]))
            {
                errors.Append(CultureInfo.InvariantCulture, $"WARNING: Duplicate user '{argv[1]}' found on line {linenum}. ");
                continue;
            }
            var u = users[argv[1]] = new AclUser(argv[1], allChannels);
            var merged = MergeSelectors(argv.Skip(2).ToList(), out _);
            if (merged is null)
            {
                errors.Append(CultureInfo.InvariantCulture, $"{path}:{linenum}: Unmatched parenthesis in selector definition.");
                continue;
            }
            bool syntaxError = false;
            foreach (var raw in merged)
            {
                string op = raw.Trim('\t', '\r', '\n');
                var error = u.Set(op, allChannels);
                if (error == AclError.None) continue;
                if (error == AclError.NoSuchCommand)
                    errors.Append(CultureInfo.InvariantCulture, $"{path}:{linenum}: Error in applying operation '{op}': {AclUser.ErrorText(error)}. ");
                else if (!syntaxError)
                {
                    errors.Append(CultureInfo.InvariantCulture, $"{path}:{linenum}: {AclUser.ErrorText(error)}. ");
                    syntaxError = true;
                }
            }
        }
        if (errors.Length > 0)
            return errors.Append("WARNING: ACL errors detected, no change to the previously active ACL rules was performed").ToString();
        var newDefault = users.GetValueOrDefault("default") ?? CreateDefaultUser();
        Default.CopyFrom(newDefault);
        users["default"] = Default;
        foreach (var (name, old) in _users.ToArray())
            if (!ReferenceEquals(old, Default)) RemoveAndKillClients(old, current);
        _users.Clear();
        foreach (var (name, u) in users) _users[name] = u;
        return null;
    }

    /// <summary>ACLSaveToFile: every user as ACL LIST shows it, written to a temporary file renamed over the file.</summary>
    public bool SaveToFile(string path)
    {
        var text = new StringBuilder();
        foreach (var u in _users.Values) text.Append("user ").Append(u.Name).Append(' ').Append(u.Describe()).Append('\n');
        string temp = $"{path}.tmp-{Environment.ProcessId}-{_server.NowMs}";
        try
        {
            File.WriteAllText(temp, text.ToString());
            File.Move(temp, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.AclSaveFailed(e.Message);
            try
            {
                File.Delete(temp); // no error when it was never created
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                _server.Log.AclSaveFailed(cleanup.Message);
            }
            return false;
        }
    }
}
