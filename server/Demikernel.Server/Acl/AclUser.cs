using System.Security.Cryptography;
using System.Text;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Acl;

[Flags]
internal enum AclUserFlags
{
    None = 0,
    Enabled = 1,
    Disabled = 2,
    NoPass = 4,
    SkipSanitizePayload = 8,
    SanitizePayload = 16,
}

/// <summary>
/// A user (redis's struct user): flags, password hashes (SHA-256, lower-case hex), and selectors (the root one first).
/// Clients hold the user object itself, so a change made by ACL SETUSER applies to them at once; the object is changed
/// in place by <see cref="CopyFrom"/>, never replaced. <see cref="Unrestricted"/> is what the dispatcher tests.
/// </summary>
internal sealed class AclUser
{
    public AclUser(string name, bool allChannelsByDefault)
    {
        Name = name;
        Flags = AclUserFlags.Disabled;
        Selectors.Add(new AclSelector(root: true, allChannels: allChannelsByDefault));
    }

    public string Name { get; }

    /// <summary>
    /// The user of the server's own clients (scripts' calls are checked against their caller's user instead; the
    /// AOF loader; handler tests without a server's users): may run anything, as redis's NULL user. CLIENT LIST
    /// names it "(superuser)" as redis does.
    /// </summary>
    public static readonly AclUser Superuser = CreateSuperuser();

    private static AclUser CreateSuperuser()
    {
        var u = new AclUser("(superuser)", true);
        u.Set("+@all", true);
        u.Set("~*", true);
        u.Set("on", true);
        u.Set("nopass", true);
        return u;
    }
    public AclUserFlags Flags { get; private set; }
    public List<string> Passwords { get; } = [];
    public List<AclSelector> Selectors { get; } = [];

    /// <summary>One selector that may run every command on every key and channel: the dispatcher's one branch.</summary>
    public bool Unrestricted { get; private set; }

    public bool Enabled => (Flags & AclUserFlags.Disabled) == 0 && (Flags & AclUserFlags.Enabled) != 0;
    public bool NoPass => (Flags & AclUserFlags.NoPass) != 0;

    /// <summary>Set when the user is deleted (or replaced by ACL LOAD): its clients are being disconnected.</summary>
    public bool Removed { get; set; }

    private string? _description;

    public AclSelector Root => Selectors[0];

    /// <summary>Recomputes what depends on the rules (call after every change).</summary>
    public void Changed()
    {
        _description = null;
        var r = Root;
        Unrestricted = Selectors.Count == 1 && r.AllCommands && r.AllKeys && r.AllChannels;
    }

    /// <summary>ACLCopyUser: takes <paramref name="src"/>'s rules (the name stays).</summary>
    public void CopyFrom(AclUser src)
    {
        Flags = src.Flags;
        Passwords.Clear();
        Passwords.AddRange(src.Passwords);
        Selectors.Clear();
        foreach (var s in src.Selectors) Selectors.Add(s.Copy());
        Changed();
    }

    public static string Hash(ReadOnlySpan<byte> password) => Convert.ToHexStringLower(SHA256.HashData(password));

    private static bool ValidHash(string hash)
    {
        if (hash.Length != 64) return false;
        foreach (char c in hash)
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return true;
    }

    /// <summary>redis's ACLSetUser: one rule (flags, passwords, selectors, or a rule for the root selector).</summary>
    public AclError Set(string op, bool allChannelsByDefault)
    {
        try
        {
            return SetCore(op, allChannelsByDefault);
        }
        finally
        {
            Changed();
        }
    }

    private AclError SetCore(string op, bool allChannelsByDefault)
    {
        if (op.Length == 0) return AclError.None;
        if (Is(op, "on")) Flags = (Flags | AclUserFlags.Enabled) & ~AclUserFlags.Disabled;
        else if (Is(op, "off")) Flags = (Flags | AclUserFlags.Disabled) & ~AclUserFlags.Enabled;
        else if (Is(op, "skip-sanitize-payload")) Flags = (Flags | AclUserFlags.SkipSanitizePayload) & ~AclUserFlags.SanitizePayload;
        else if (Is(op, "sanitize-payload")) Flags = (Flags | AclUserFlags.SanitizePayload) & ~AclUserFlags.SkipSanitizePayload;
        else if (Is(op, "nopass"))
        {
            Flags |= AclUserFlags.NoPass;
            Passwords.Clear();
        }
        else if (Is(op, "resetpass"))
        {
            Flags &= ~AclUserFlags.NoPass;
            Passwords.Clear();
        }
        else if (op[0] is '>' or '#')
        {
            string hash;
            if (op[0] == '>') hash = Hash(Encoding.UTF8.GetBytes(op[1..]));
            else
            {
                hash = op[1..];
                if (!ValidHash(hash)) return AclError.BadHash;
            }
            if (!Passwords.Contains(hash)) Passwords.Add(hash);
            Flags &= ~AclUserFlags.NoPass;
        }
        else if (op[0] is '<' or '!')
        {
            string hash;
            if (op[0] == '<') hash = Hash(Encoding.UTF8.GetBytes(op[1..]));
            else
            {
                hash = op[1..];
                if (!ValidHash(hash)) return AclError.BadHash;
            }
            if (!Passwords.Remove(hash)) return AclError.NoSuchPassword;
        }
        else if (op[0] == '(' && op[^1] == ')')
        {
            var selector = new AclSelector(root: false, allChannels: allChannelsByDefault);
            var words = RedisConfFile.SplitArgs(op[1..^1]) ?? [];
            foreach (var w in words)
                if (selector.Set(w) is not AclError.None and var error) return error;
            Selectors.Add(selector);
        }
        else if (Is(op, "clearselectors")) Selectors.RemoveRange(1, Selectors.Count - 1);
        else if (Is(op, "reset"))
        {
            SetCore("resetpass", allChannelsByDefault);
            SetCore("resetkeys", allChannelsByDefault);
            SetCore("resetchannels", allChannelsByDefault);
            if (allChannelsByDefault) SetCore("allchannels", allChannelsByDefault);
            SetCore("off", allChannelsByDefault);
            SetCore("sanitize-payload", allChannelsByDefault);
            SetCore("clearselectors", allChannelsByDefault);
            SetCore("-@all", allChannelsByDefault);
        }
        else return Root.Set(op);
        return AclError.None;
    }

    private static bool Is(string op, string word) => string.Equals(op, word, StringComparison.OrdinalIgnoreCase);

    /// <summary>ACLSetUserStringError's texts.</summary>
    public static string ErrorText(AclError error) => error switch
    {
        AclError.NoSuchCommand => "Unknown command or category name in ACL",
        AclError.Syntax => "Syntax error",
        AclError.KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
        AclError.ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
        AclError.NoSuchPassword => "The password you are trying to remove from the user does not exist",
        AclError.BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
        AclError.FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        _ => "Wrong format",
    };

    /// <summary>
    /// ACLCheckUserCredentials' password part: the SHA-256 of <paramref name="password"/> against each stored hash,
    /// compared in constant time (every stored hash is compared, whichever matches).
    /// </summary>
    public bool PasswordMatches(ReadOnlySpan<byte> password)
    {
        if (NoPass) return true;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(password, hash);
        Span<byte> hex = stackalloc byte[64];
        for (int i = 0; i < 32; i++)
        {
            hex[2 * i] = (byte)"0123456789abcdef"[hash[i] >> 4];
            hex[2 * i + 1] = (byte)"0123456789abcdef"[hash[i] & 15];
        }
        Span<byte> stored = stackalloc byte[64];
        bool match = false;
        foreach (var p in Passwords)
        {
            Encoding.ASCII.GetBytes(p, stored);
            match |= CryptographicOperations.FixedTimeEquals(hex, stored);
        }
        return match;
    }

    // ---- checks ----

    /// <summary>
    /// ACLCheckAllUserCommandPerm: OK when one selector allows the command with all its keys and channels; otherwise
    /// the most relevant denial (command &lt; key &lt; channel; the later argument on a tie) and its argument.
    /// </summary>
    public AclResult Check<TArgs>(CommandSpec spec, scoped ref TArgs args, List<(int Position, KeyFlags Flags)> keys, out int position)
        where TArgs : IArgumentList, allows ref struct
    {
        position = 0;
        var relevant = AclResult.DeniedCommand;
        int lastIndex = 0;
        bool keysFound = false;
        foreach (var s in Selectors)
        {
            var result = CheckSelector(s, spec, ref args, keys, ref keysFound, out int index);
            if (result == AclResult.Ok) return AclResult.Ok;
            if (result > relevant || (result == relevant && index > lastIndex))
            {
                relevant = result;
                lastIndex = index;
            }
        }
        position = lastIndex;
        return relevant;
    }

    private static AclResult CheckSelector<TArgs>(AclSelector s, CommandSpec spec, scoped ref TArgs args,
        List<(int Position, KeyFlags Flags)> keys, ref bool keysFound, out int index) where TArgs : IArgumentList, allows ref struct
    {
        index = 0;
        if (!s.CommandAllowed(spec, ref args)) return AclResult.DeniedCommand;
        if (!s.AllKeys && spec.KeySpecs.Count > 0)
        {
            if (!keysFound)
            {
                keys.Clear();
                KeyFinder.Find(spec, ref args, keys);
                keysFound = true;
            }
            foreach (var (pos, flags) in keys)
            {
                if (s.KeyAllowed(args.Arg(pos), flags)) continue;
                index = pos;
                return AclResult.DeniedKey;
            }
        }
        if (!s.AllChannels && AclChannels.Of(spec) is { } channels)
        {
            int last = channels.Last < 0 ? args.Count - 1 : Math.Min(channels.Last, args.Count - 1);
            for (int i = channels.First; i <= last; i++)
            {
                if (s.ChannelAllowed(args.Arg(i), channels.Pattern)) continue;
                index = i;
                return AclResult.DeniedChannel;
            }
        }
        return AclResult.Ok;
    }

    // ---- description ----

    /// <summary>ACLDescribeUser: flags, "#hash"es, the root selector, then "(...)" for each other selector.</summary>
    public string Describe()
    {
        if (_description is { } cached) return cached;
        var res = new StringBuilder();
        foreach (var (flag, name) in FlagNames)
            if ((Flags & flag) != 0) res.Append(name).Append(' ');
        foreach (var p in Passwords) res.Append('#').Append(p).Append(' ');
        foreach (var s in Selectors)
        {
            if (s.Root) res.Append(s.Describe());
            else res.Append(" (").Append(s.Describe()).Append(')');
        }
        return _description = res.ToString();
    }

    /// <summary>Flags in the order redis describes them.</summary>
    public static readonly (AclUserFlags Flag, string Name)[] FlagNames =
    [
        (AclUserFlags.Enabled, "on"), (AclUserFlags.Disabled, "off"), (AclUserFlags.NoPass, "nopass"),
        (AclUserFlags.SkipSanitizePayload, "skip-sanitize-payload"), (AclUserFlags.SanitizePayload, "sanitize-payload"),
    ];
}

/// <summary>
/// The arguments of the commands that name Pub/Sub channels ACL checks (redis 7.0's commands_with_channels table in
/// db.c: the publish and subscribe ones; unsubscribing is never refused). Resolved once per command spec.
/// </summary>
internal static class AclChannels
{
    public sealed record Spec(int First, int Last, bool Pattern);

    private static readonly Spec Subscribe = new(1, -1, false), PSubscribe = new(1, -1, true), Publish = new(1, 1, false);

    public static Spec? Of(CommandSpec spec) => spec.WireName switch
    {
        "subscribe" or "ssubscribe" => Subscribe,
        "psubscribe" => PSubscribe,
        "publish" or "spublish" => Publish,
        _ => null,
    };
}
