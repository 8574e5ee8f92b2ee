using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Set commands (SADD, SINTER, SPOP, ...) with redis-server 7.0's replies and error texts (t_set.c): RESP3 set
/// replies for SMEMBERS/SINTER/SUNION/SDIFF/SPOP with a count, intset/hashtable encodings, emptied keys deleted.
/// </summary>
public static class SetCommands
{
    internal const string NumKeysNotPositive = "ERR numkeys should be greater than 0";
    internal const string TooManyKeys = "ERR Number of keys can't be greater than number of args";
    internal const string LimitNegative = "ERR LIMIT can't be negative";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags WriteOom = CommandFlags.Write | CommandFlags.DenyOom;
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const CommandFlags Write = CommandFlags.Write;
    private const string G = "set";

    public static void Register(CommandTable table)
    {
        table.Add(new("SADD", SAdd)
        );
        table.Add(new("SREM", SRem)
        );
        table.Add(new("SMEMBERS", SMembers));
        table.Add(new("SISMEMBER", SIsMember));
        table.Add(new("SMISMEMBER", SMIsMember)
        );
        table.Add(new("SCARD", SCard));
        table.Add(new("SPOP", SPop)
        );
        table.Add(new("SRANDMEMBER", SRandMember)
        );
        table.Add(new("SMOVE", SMove));
        table.Add(new("SINTER", SInter)
        );
        table.Add(new("SINTERCARD", SInterCard)
        );
        table.Add(new("SINTERSTORE", SInterStore)
        );
        table.Add(new("SUNION", SUnion)
        );
        table.Add(new("SUNIONSTORE", SUnionStore)
        );
        table.Add(new("SDIFF", SDiff)
        );
        table.Add(new("SDIFFSTORE", SDiffStore)
        );
        table.Add(new("SSCAN", SScan)
        );
    }

    // ---------------------------------------------------------------- lookups

    /// <summary>Read lookup (counts hits/misses): true with the set or null; false after a WRONGTYPE reply.</summary>
    private static bool TryRead(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisSet? set)
        => TypedLookup.TryRead(ref c, db, key, out set);

    /// <summary>Write lookup: true with the entry/set or nulls; false after a WRONGTYPE reply.</summary>
    private static bool TryWrite(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisEntry? entry, out RedisSet? set)
        => TypedLookup.TryWrite(ref c, db, key, out entry, out set);

    private static void WriteMembers(ReplyBuffer reply, RedisSet set)
    {
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        reply.SetHeader(set.Count);
        for (int i = 0; i < set.Count; i++) reply.Bulk(set.MemberAt(i, scratch));
    }

    // ---------------------------------------------------------------- single-set commands

    private static void SAdd(ref CommandContext c)
    {
        var db = c.Db;
        if (!TryWrite(ref c, db, c.Arg(1), out var e, out var set)) return;
        if (set is null)
        {
            set = new RedisSet();
            e = db.SetObject(c.Arg(1), set, KeyEvent.None); // created empty: SADD's change follows
        }
        long added = 0;
        for (int i = 2; i < c.Count; i++)
            if (set.Add(c.Arg(i))) added++;
        if (added > 0) db.NotifyModified(e!, KeyEvent.SAdd);
        c.Reply.Integer(added);
    }

    private static void SRem(ref CommandContext c)
    {
        var db = c.Db;
        if (!TryWrite(ref c, db, c.Arg(1), out var e, out var set)) return;
        long removed = 0;
        if (set is not null)
        {
            for (int i = 2; i < c.Count && set.Count > 0; i++)
                if (set.Remove(c.Arg(i))) removed++;
            if (removed > 0) Modified(db, e!, set, KeyEvent.SRem);
        }
        c.Reply.Integer(removed);
    }

    /// <summary>After an in-place removal: deletes the key if the set became empty, else signals the change.</summary>
    private static void Modified(RedisDatabase db, RedisEntry e, RedisSet set, KeyEvent evt)
    {
        if (set.Count == 0) db.Delete(e, evt);
        else db.NotifyModified(e, evt);
    }

    private static void SMembers(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var set)) return;
        if (set is null) c.Reply.SetHeader(0);
        else WriteMembers(c.Reply, set);
    }

    private static void SIsMember(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var set)) return;
        c.Reply.Integer(set is not null && set.Contains(c.Arg(2)) ? 1 : 0);
    }

    private static void SMIsMember(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var set)) return;
        c.Reply.ArrayHeader(c.Count - 2);
        for (int i = 2; i < c.Count; i++) c.Reply.Integer(set is not null && set.Contains(c.Arg(i)) ? 1 : 0);
    }

    private static void SCard(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var set)) return;
        c.Reply.Integer(set?.Count ?? 0);
    }

    private static void SPop(ref CommandContext c)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var db = c.Db;
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        if (c.Count == 3)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(2), out long count))
            {
                c.Reply.Error(Errors.NotInteger);
                return;
            }
            if (count < 0)
            {
                c.Reply.Error(Errors.NotPositive);
                return;
            }
            var found = db.FindObject(c.Arg(1), LookupFlags.None, out bool compactString);
            if (found is null && !compactString)
            {
                c.Reply.SetHeader(0);
                return;
            }
            if (found?.Obj is not RedisSet popSet)
            {
                c.Reply.Error(Errors.WrongType);
                return;
            }
            if (count == 0)
            {
                c.Reply.SetHeader(0);
                return;
            }
            int n = (int)Math.Min(count, popSet.Count);
            c.Reply.SetHeader(n);
            if (n == popSet.Count)
            {
                for (int i = 0; i < n; i++) c.Reply.Bulk(popSet.MemberAt(i, scratch));
                db.Delete(found, KeyEvent.SPop);
                c.RewritePropagation().Arg("DEL"u8).Arg(c.Arg(1)).End(); // the whole set went
                return;
            }
            for (int i = 0; i < n; i++)
            {
                int slot = Random.Shared.Next(popSet.Count);
                var member = popSet.MemberAt(slot, scratch);
                c.Reply.Bulk(member);
                c.AlsoPropagate().Arg("SREM"u8).Arg(c.Arg(1)).Arg(member).End(); // one SREM per member popped
                popSet.RemoveAt(slot);
            }
            c.PreventPropagation();
            db.NotifyModified(found, KeyEvent.SPop);
            return;
        }
        if (!TryWrite(ref c, db, c.Arg(1), out var e, out var set)) return;
        if (set is null)
        {
            c.Reply.Null();
            return;
        }
        int at = Random.Shared.Next(set.Count);
        var popped = set.MemberAt(at, scratch);
        c.Reply.Bulk(popped);
        c.RewritePropagation().Arg("SREM"u8).Arg(c.Arg(1)).Arg(popped).End();
        set.RemoveAt(at);
        Modified(db, e!, set, KeyEvent.SPop);
    }

    private static void SRandMember(ref CommandContext c)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        if (c.Count == 2)
        {
            if (!TryRead(ref c, c.Db, c.Arg(1), out var one)) return;
            if (one is null) c.Reply.Null();
            else c.Reply.Bulk(one.MemberAt(Random.Shared.Next(one.Count), scratch));
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long count) || count == long.MinValue)
        {
            c.Reply.Error(count == long.MinValue ? "ERR value is out of range" : Errors.NotInteger);
            return;
        }
        if (!TryRead(ref c, c.Db, c.Arg(1), out var set)) return;
        if (set is null || count == 0)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        if (count < 0)
        {
            long n = -count;
            c.Reply.ArrayHeader((int)Math.Min(n, int.MaxValue));
            for (long i = 0; i < n; i++) c.Reply.Bulk(set.MemberAt(Random.Shared.Next(set.Count), scratch));
            return;
        }
        if (count >= set.Count)
        {
            WriteArray(c.Reply, set, scratch);
            return;
        }
        WriteSample(c.Reply, set.Count, (int)count, set, scratch);
    }

    private static void WriteArray(ReplyBuffer reply, RedisSet set, Span<byte> scratch)
    {
        reply.ArrayHeader(set.Count);
        for (int i = 0; i < set.Count; i++) reply.Bulk(set.MemberAt(i, scratch));
    }

    /// <summary>Writes <paramref name="count"/> distinct random slots of <paramref name="size"/> (partial Fisher-Yates).</summary>
    private static void WriteSample(ReplyBuffer reply, int size, int count, RedisSet set, Span<byte> scratch)
    {
        reply.ArrayHeader(count);
        if (count * 3L > size)
        {
            var slots = new int[size];
            for (int i = 0; i < size; i++) slots[i] = i;
            for (int i = 0; i < count; i++)
            {
                int j = Random.Shared.Next(i, size);
                (slots[i], slots[j]) = (slots[j], slots[i]);
                reply.Bulk(set.MemberAt(slots[i], scratch));
            }
            return;
        }
        var picked = new HashSet<int>();
        while (picked.Count < count)
        {
            int slot = Random.Shared.Next(size);
            if (picked.Add(slot)) reply.Bulk(set.MemberAt(slot, scratch));
        }
    }

    private static void SMove(ref CommandContext c)
    {
        var db = c.Db;
        var srcEntry = db.FindObject(c.Arg(1), LookupFlags.None, out bool srcString);
        var dstEntry = db.FindObject(c.Arg(2), LookupFlags.None, out bool dstString);
        if (srcEntry is null && !srcString)
        {
            c.Reply.Integer(0);
            return;
        }
        if (srcEntry?.Obj is not RedisSet src || dstString || (dstEntry is not null && dstEntry.Obj is not RedisSet))
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        var member = c.Arg(3);
        if (srcEntry == dstEntry)
        {
            c.Reply.Integer(src.Contains(member) ? 1 : 0);
            return;
        }
        if (!src.Remove(member))
        {
            c.Reply.Integer(0);
            return;
        }
        Modified(db, srcEntry, src, KeyEvent.SRem);
        if (dstEntry is null)
        {
            var created = new RedisSet();
            created.Add(member);
            db.SetObject(c.Arg(2), created, KeyEvent.SAdd);
        }
        else if (((RedisSet)dstEntry.Obj!).Add(member))
        {
            db.NotifyModified(dstEntry, KeyEvent.SAdd);
        }
        c.Reply.Integer(1);
    }

    // ---------------------------------------------------------------- multi-set commands

    /// <summary>Loads the sets named by arguments [first, first+count): missing keys give null; false after a
    /// WRONGTYPE reply (every key is checked before anything is computed, like Redis 7.0).</summary>
    private static bool LoadSets(ref CommandContext c, int first, int count, out RedisSet?[] sets)
    {
        var db = c.Db;
        sets = new RedisSet?[count];
        for (int i = 0; i < count; i++)
        {
            if (!TryRead(ref c, db, c.Arg(first + i), out sets[i])) return false;
        }
        return true;
    }

    /// <summary>The intersection as a new set (smallest input first), stopping at <paramref name="limit"/> members
    /// when positive.</summary>
    private static RedisSet Intersect(RedisSet?[] sets, long limit = 0)
    {
        var result = new RedisSet();
        foreach (var s in sets)
            if (s is null || s.Count == 0) return result;
        var ordered = (RedisSet[])sets.Clone();
        Array.Sort(ordered, static (a, b) => a.Count.CompareTo(b.Count));
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        var smallest = ordered[0];
        for (int i = 0; i < smallest.Count; i++)
        {
            var m = smallest.MemberAt(i, scratch);
            bool all = true;
            for (int j = 1; j < ordered.Length && all; j++)
                all = ordered[j] == smallest || ordered[j].Contains(m);
            if (!all) continue;
            result.Add(m);
            if (limit > 0 && result.Count >= limit) break;
        }
        return result;
    }

    private static RedisSet UnionOrDiff(RedisSet?[] sets, bool diff)
    {
        var result = new RedisSet();
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        if (diff)
        {
            if (sets[0] is not { } first) return result;
            for (int i = 0; i < first.Count; i++)
            {
                var m = first.MemberAt(i, scratch);
                bool keep = true;
                for (int j = 1; j < sets.Length && keep; j++)
                    keep = sets[j] is not { } other || (other != first ? !other.Contains(m) : false);
                if (keep) result.Add(m);
            }
            return result;
        }
        foreach (var s in sets)
        {
            if (s is null) continue;
            for (int i = 0; i < s.Count; i++) result.Add(s.MemberAt(i, scratch));
        }
        return result;
    }

    private static void Store(ref CommandContext c, RedisSet result)
    {
        var db = c.Db;
        if (result.Count == 0) db.Delete(c.Arg(1));
        else db.SetObject(c.Arg(1), result, c.Command.Name switch
        {
            "SINTERSTORE" => KeyEvent.SInterStore,
            "SUNIONSTORE" => KeyEvent.SUnionStore,
            _ => KeyEvent.SDiffStore,
        });
        c.Reply.Integer(result.Count);
    }

    private static void SInter(ref CommandContext c)
    {
        if (!LoadSets(ref c, 1, c.Count - 1, out var sets)) return;
        WriteMembers(c.Reply, Intersect(sets));
    }

    private static void SInterStore(ref CommandContext c)
    {
        if (!LoadSets(ref c, 2, c.Count - 2, out var sets)) return;
        Store(ref c, Intersect(sets));
    }

    private static void SInterCard(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(1), out long numKeys) || numKeys < 1)
        {
            c.Reply.Error(NumKeysNotPositive);
            return;
        }
        if (numKeys > c.Count - 2)
        {
            c.Reply.Error(TooManyKeys);
            return;
        }
        long limit = 0;
        for (int i = 2 + (int)numKeys; i < c.Count; i++)
        {
            if (c.ArgIs(i, "LIMIT"u8) && i + 1 < c.Count)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(i + 1), out limit) || limit < 0)
                {
                    c.Reply.Error(LimitNegative);
                    return;
                }
                i++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!LoadSets(ref c, 2, (int)numKeys, out var sets)) return;
        c.Reply.Integer(Intersect(sets, limit).Count);
    }

    private static void SUnion(ref CommandContext c)
    {
        if (!LoadSets(ref c, 1, c.Count - 1, out var sets)) return;
        WriteMembers(c.Reply, UnionOrDiff(sets, diff: false));
    }

    private static void SUnionStore(ref CommandContext c)
    {
        if (!LoadSets(ref c, 2, c.Count - 2, out var sets)) return;
        Store(ref c, UnionOrDiff(sets, diff: false));
    }

    private static void SDiff(ref CommandContext c)
    {
        if (!LoadSets(ref c, 1, c.Count - 1, out var sets)) return;
        WriteMembers(c.Reply, UnionOrDiff(sets, diff: true));
    }

    private static void SDiffStore(ref CommandContext c)
    {
        if (!LoadSets(ref c, 2, c.Count - 2, out var sets)) return;
        Store(ref c, UnionOrDiff(sets, diff: true));
    }

    // ---------------------------------------------------------------- SSCAN

    private static void SScan(ref CommandContext c)
    {
        if (!KeyCommands.TryParseCursor(c.Arg(2), out ulong cursor))
        {
            c.Reply.Error(KeyCommands.InvalidCursor);
            return;
        }
        if (!TryRead(ref c, c.Db, c.Arg(1), out var set)) return;
        if (set is null)
        {
            WriteEmptyScan(c.Reply);
            return;
        }
        if (!ScanOptions.TryParse(ref c, 3, out long count, out int patternArg)) return;
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        if (set.IsIntSet)
        {
            // An intset is returned whole in one call, whatever the cursor and COUNT, as Redis does.
            int kept = 0;
            for (int i = 0; i < set.Count; i++)
                if (patternArg == 0 || Glob.IsMatch(c.Arg(patternArg), set.MemberAt(i, scratch))) kept++;
            WriteCursor(c.Reply, 0);
            c.Reply.ArrayHeader(kept);
            for (int i = 0; i < set.Count; i++)
            {
                var m = set.MemberAt(i, scratch);
                if (patternArg == 0 || Glob.IsMatch(c.Arg(patternArg), m)) c.Reply.Bulk(m);
            }
            return;
        }
        var found = ScanSlots();
        try
        {
            ulong next = set.Scan(cursor, (int)Math.Min(count, int.MaxValue / 16), found);
            int matched = 0;
            for (int k = 0; k < found.Count; k++)
            {
                if (patternArg != 0 && !Glob.IsMatch(c.Arg(patternArg), set.MemberAt(found[k], scratch))) continue;
                found[matched++] = found[k];
            }
            WriteCursor(c.Reply, next);
            c.Reply.ArrayHeader(matched);
            for (int k = 0; k < matched; k++) c.Reply.Bulk(set.MemberAt(found[k], scratch));
        }
        finally
        {
            found.Clear();
        }
    }

    [ThreadStatic] private static List<int>? s_scanSlots;

    /// <summary>Scratch list of slots for SSCAN/ZSCAN steps (empty between uses).</summary>
    internal static List<int> ScanSlots() => s_scanSlots ??= [];

    internal static void WriteEmptyScan(ReplyBuffer reply)
    {
        reply.ArrayHeader(2);
        reply.Bulk("0"u8);
        reply.ArrayHeader(0);
    }

    internal static void WriteCursor(ReplyBuffer reply, ulong cursor)
    {
        Span<byte> digits = stackalloc byte[20];
        cursor.TryFormat(digits, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        reply.ArrayHeader(2);
        reply.Bulk(digits[..written]);
    }
}
