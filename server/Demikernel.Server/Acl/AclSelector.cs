using System.Text;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Acl;

/// <summary>Why a rule was refused (redis's errno values of ACLSetUser, each with its text).</summary>
internal enum AclError { None, Syntax, NoSuchCommand, KeyAfterAll, ChannelAfterAll, NoSuchPassword, BadHash, FirstArgOfSubcommand }

/// <summary>What a check found (redis's ACL_OK, ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_AUTH, ACL_DENIED_CHANNEL).</summary>
internal enum AclResult { Ok = 0, DeniedCommand = 1, DeniedKey = 2, DeniedAuth = 3, DeniedChannel = 4 }

/// <summary>A key pattern with the access it grants (%R~, %W~, or ~ for both).</summary>
internal sealed class AclKeyPattern(string pattern, int flags)
{
    public const int Read = 1, Write = 2, All = 3;
    public string Pattern { get; } = pattern;
    public byte[] Bytes { get; } = Encoding.UTF8.GetBytes(pattern);
    public int Flags { get; set; } = flags;

    public string Describe() => (Flags switch { All => "~", Read => "%R~", _ => "%W~" }) + Pattern;
}

/// <summary>
/// One set of permissions (redis's aclSelector): a command bitmap by <see cref="AclCommand.Id"/>, allowed first
/// arguments of otherwise blocked commands, key patterns with read/write flags and channel patterns. A user has a root
/// selector and any number of others; a command runs when one selector allows all of it.
/// </summary>
internal sealed class AclSelector
{
    public readonly ulong[] Allowed = new ulong[AclCommands.Words];
    public bool Root;
    public bool AllKeys;
    public bool AllChannels;
    public bool AllCommands;
    public Dictionary<int, List<string>>? FirstArgs;
    public readonly List<AclKeyPattern> Keys = [];
    public readonly List<string> Channels = [];
    private byte[][] _channelBytes = [];

    public AclSelector(bool root, bool allChannels)
    {
        Root = root;
        AllChannels = allChannels;
    }

    public AclSelector Copy()
    {
        var s = new AclSelector(Root, AllChannels) { AllKeys = AllKeys, AllCommands = AllCommands };
        Allowed.CopyTo(s.Allowed, 0);
        if (FirstArgs is not null)
        {
            s.FirstArgs = [];
            foreach (var (id, list) in FirstArgs) s.FirstArgs[id] = [.. list];
        }
        foreach (var k in Keys) s.Keys.Add(new AclKeyPattern(k.Pattern, k.Flags));
        s.Channels.AddRange(Channels);
        s._channelBytes = _channelBytes;
        return s;
    }

    public bool GetBit(int id) => (Allowed[id >> 6] & (1UL << (id & 63))) != 0;

    private void SetBit(int id, bool value)
    {
        if (value) Allowed[id >> 6] |= 1UL << (id & 63);
        else
        {
            Allowed[id >> 6] &= ~(1UL << (id & 63));
            AllCommands = false;
        }
    }

    /// <summary>ACLChangeSelectorPerm: the command and all its subcommands.</summary>
    public void ChangePerm(AclCommand cmd, bool allow)
    {
        SetBit(cmd.Id, allow);
        FirstArgs?.Remove(cmd.Id);
        foreach (var sub in cmd.Children) SetBit(sub.Id, allow);
    }

    private void ChangeCategory(AclCommand[] commands, ulong flag, bool allow)
    {
        foreach (var cmd in commands)
        {
            if ((cmd.Categories & flag) != 0) ChangePerm(cmd, allow);
            if (cmd.Children.Length > 0) ChangeCategory(cmd.Children, flag, allow);
        }
    }

    private void CountCategory(AclCommand[] commands, ulong flag, ref int on, ref int off)
    {
        foreach (var cmd in commands)
        {
            if ((cmd.Categories & flag) != 0)
            {
                if (GetBit(cmd.Id)) on++;
                else off++;
            }
            if (cmd.Children.Length > 0) CountCategory(cmd.Children, flag, ref on, ref off);
        }
    }

    private static bool HasSpaces(string s)
    {
        foreach (char c in s)
            if (c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r' or '\0') return true;
        return false;
    }

    /// <summary>redis's ACLSetSelector: one rule about commands, keys or channels.</summary>
    public AclError Set(string op)
    {
        char At(int i) => i < op.Length ? op[i] : '\0';
        if (Is(op, "allkeys") || op == "~*")
        {
            AllKeys = true;
            Keys.Clear();
        }
        else if (Is(op, "resetkeys"))
        {
            AllKeys = false;
            Keys.Clear();
        }
        else if (Is(op, "allchannels") || op == "&*")
        {
            AllChannels = true;
            Channels.Clear();
            _channelBytes = [];
        }
        else if (Is(op, "resetchannels"))
        {
            AllChannels = false;
            Channels.Clear();
            _channelBytes = [];
        }
        else if (Is(op, "allcommands") || Is(op, "+@all"))
        {
            Array.Fill(Allowed, ulong.MaxValue);
            AllCommands = true;
            FirstArgs = null;
        }
        else if (Is(op, "nocommands") || Is(op, "-@all"))
        {
            Array.Clear(Allowed);
            AllCommands = false;
            FirstArgs = null;
        }
        else if (At(0) is '~' or '%')
        {
            if (AllKeys) return AclError.KeyAfterAll;
            int flags = 0, offset = 1;
            if (op[0] == '%')
            {
                for (; offset < op.Length; offset++)
                {
                    char c = char.ToUpperInvariant(op[offset]);
                    if (c == 'R' && (flags & AclKeyPattern.Read) == 0) flags |= AclKeyPattern.Read;
                    else if (c == 'W' && (flags & AclKeyPattern.Write) == 0) flags |= AclKeyPattern.Write;
                    else if (op[offset] == '~')
                    {
                        offset++;
                        break;
                    }
                    else return AclError.Syntax;
                }
            }
            else flags = AclKeyPattern.All;
            string pattern = offset <= op.Length ? op[offset..] : "";
            if (HasSpaces(pattern)) return AclError.Syntax;
            var existing = Keys.Find(k => k.Pattern == pattern);
            if (existing is null) Keys.Add(new AclKeyPattern(pattern, flags));
            else existing.Flags |= flags;
            AllKeys = false;
        }
        else if (At(0) == '&')
        {
            if (AllChannels) return AclError.ChannelAfterAll;
            string pattern = op[1..];
            if (HasSpaces(pattern)) return AclError.Syntax;
            if (!Channels.Contains(pattern))
            {
                Channels.Add(pattern);
                _channelBytes = [.. _channelBytes, Encoding.UTF8.GetBytes(pattern)];
            }
            AllChannels = false;
        }
        else if (At(0) == '+' && At(1) != '@')
        {
            string name = op[1..];
            int bar = name.LastIndexOf('|');
            if (bar < 0)
            {
                if (AclCommands.Lookup(name) is not { } cmd) return AclError.NoSuchCommand;
                ChangePerm(cmd, true);
            }
            else
            {
                if (AclCommands.Lookup(name[..bar]) is not { } cmd) return AclError.NoSuchCommand;
                if (cmd.Parent is not null) return AclError.FirstArgOfSubcommand;
                string sub = name[(bar + 1)..];
                if (sub.Length == 0) return AclError.Syntax;
                if (cmd.Children.Length > 0)
                {
                    if (AclCommands.Lookup(name) is not { } subcommand) return AclError.NoSuchCommand;
                    ChangePerm(subcommand, true);
                }
                else
                {
                    // "+select|0": a first argument of an otherwise blocked command (deprecated in redis, still accepted)
                    FirstArgs ??= [];
                    if (!FirstArgs.TryGetValue(cmd.Id, out var list)) FirstArgs[cmd.Id] = list = [];
                    if (!list.Exists(s => string.Equals(s, sub, StringComparison.OrdinalIgnoreCase))) list.Add(sub);
                }
            }
        }
        else if (At(0) == '-' && At(1) != '@')
        {
            if (AclCommands.Lookup(op[1..]) is not { } cmd) return AclError.NoSuchCommand;
            ChangePerm(cmd, false);
        }
        else if (At(0) is '+' or '-' && At(1) == '@')
        {
            ulong flag = AclCommands.CategoryFlag(op[2..]);
            if (flag == 0) return AclError.NoSuchCommand;
            ChangeCategory(AclCommands.TopLevel, flag, op[0] == '+');
        }
        else return AclError.Syntax;
        return AclError.None;
    }

    private static bool Is(string op, string word) => string.Equals(op, word, StringComparison.OrdinalIgnoreCase);

    // ---- checks ----

    /// <summary>May this selector run <paramref name="cmd"/> at all (its bit, or an allowed first argument)?</summary>
    public bool CommandAllowed<TArgs>(CommandSpec spec, scoped ref TArgs args) where TArgs : IArgumentList, allows ref struct
    {
        if (AllCommands || (spec.Flags & CommandFlags.NoAuth) != 0) return true;
        int id = spec.AclId;
        if (GetBit(id)) return true;
        if (args.Count < 2 || FirstArgs is null || !FirstArgs.TryGetValue(id, out var list)) return false;
        var arg = args.Arg(spec.WireName.Contains('|') ? 2 : 1);
        foreach (var allowed in list)
            if (Ascii.EqualsIgnoreCase(arg, allowed)) return true;
        return false;
    }

    /// <summary>ACLSelectorCheckKey: a key with the flags its key spec gives it.</summary>
    public bool KeyAllowed(ReadOnlySpan<byte> key, KeyFlags keyFlags)
    {
        if (AllKeys) return true;
        int need = 0;
        if ((keyFlags & KeyFlags.Access) != 0) need |= AclKeyPattern.Read;
        if ((keyFlags & (KeyFlags.Insert | KeyFlags.Delete | KeyFlags.Update)) != 0) need |= AclKeyPattern.Write;
        foreach (var p in Keys)
        {
            if ((p.Flags & need) != need) continue;
            if (Glob.IsMatch(p.Bytes, key)) return true;
        }
        return false;
    }

    /// <summary>ACLCheckChannelAgainstList: a pattern subscription must equal an allowed pattern; a channel matches one.</summary>
    public bool ChannelAllowed(ReadOnlySpan<byte> channel, bool isPattern)
    {
        if (AllChannels) return true;
        return ChannelInList(_channelBytes, channel, isPattern);
    }

    public static bool ChannelInList(byte[][] list, ReadOnlySpan<byte> channel, bool isPattern)
    {
        foreach (var p in list)
            if (isPattern ? p.AsSpan().SequenceEqual(channel) : Glob.IsMatch(p, channel)) return true;
        return false;
    }

    public byte[][] ChannelBytes => _channelBytes;

    // ---- description (ACL LIST, GETUSER) ----

    /// <summary>
    /// ACLDescribeSelectorCommandRules: "+@all" or "-@all", then the categories that best explain the bitmap (the same
    /// greedy choice as redis), then single commands for what is left; a fake selector follows the rules as they are
    /// written so each difference is named once.
    /// </summary>
    public string DescribeCommands()
    {
        var rules = new StringBuilder();
        var fake = new AclSelector(false, false);
        bool additive;
        if (GetBit(AclCommands.FutureBit))
        {
            additive = false;
            rules.Append("+@all ");
            fake.Set("+@all");
        }
        else
        {
            additive = true;
            rules.Append("-@all ");
            fake.Set("-@all");
        }
        var temp = new AclSelector(false, false);
        Allowed.CopyTo(temp.Allowed, 0);
        var applied = new bool[AclCommands.Categories.Length];
        while (true)
        {
            int best = -1, minDiff = int.MaxValue, maxSame = 0;
            for (int j = 0; j < AclCommands.Categories.Length; j++)
            {
                if (applied[j]) continue;
                int on = 0, off = 0;
                temp.CountCategory(AclCommands.TopLevel, 1UL << j, ref on, ref off);
                int diff = additive ? off : on, same = additive ? on : off;
                if (same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)))
                {
                    best = j;
                    minDiff = diff;
                    maxSame = same;
                }
            }
            if (best == -1) break;
            string name = AclCommands.Categories[best];
            fake.Set((additive ? "+@" : "-@") + name);
            temp.Set((additive ? "-@" : "+@") + name);
            rules.Append(additive ? "+@" : "-@").Append(name).Append(' ');
            applied[best] = true;
        }
        DescribeSingleCommands(fake, rules, AclCommands.TopLevel);
        rules.Length--;
        if (!fake.Allowed.AsSpan().SequenceEqual(Allowed))
            throw new InvalidOperationException($"ACL rules do not reproduce the user's bitmap: '{rules}'");
        return rules.ToString();
    }

    private void DescribeSingleCommands(AclSelector fake, StringBuilder rules, AclCommand[] commands)
    {
        foreach (var cmd in commands)
        {
            bool mine = GetBit(cmd.Id);
            if (mine != fake.GetBit(cmd.Id))
            {
                rules.Append(mine ? '+' : '-').Append(cmd.FullName).Append(' ');
                fake.ChangePerm(cmd, mine);
            }
            if (cmd.Children.Length > 0) DescribeSingleCommands(fake, rules, cmd.Children);
            if (!mine && FirstArgs is not null && FirstArgs.TryGetValue(cmd.Id, out var list))
                foreach (var arg in list) rules.Append('+').Append(cmd.FullName).Append('|').Append(arg).Append(' ');
        }
    }

    /// <summary>GETUSER's "keys": the patterns with their prefixes, or "~*".</summary>
    public string DescribeKeys() => AllKeys ? "~*" : string.Join(' ', Keys.Select(k => k.Describe()));

    /// <summary>GETUSER's "channels": "&amp;pattern ..." or "&amp;*".</summary>
    public string DescribeChannels() => AllChannels ? "&*" : string.Join(' ', Channels.Select(c => "&" + c));

    /// <summary>ACLDescribeSelector: keys, channels (with resetchannels), commands, as ACL LIST writes them.</summary>
    public string Describe()
    {
        var res = new StringBuilder();
        if (AllKeys) res.Append("~* ");
        else foreach (var k in Keys) res.Append(k.Describe()).Append(' ');
        if (AllChannels) res.Append("&* ");
        else
        {
            res.Append("resetchannels ");
            foreach (var c in Channels) res.Append('&').Append(c).Append(' ');
        }
        res.Append(DescribeCommands());
        return res.ToString();
    }
}
