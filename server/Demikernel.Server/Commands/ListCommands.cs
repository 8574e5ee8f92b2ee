using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// List commands (t_list.c in Redis 7.0): pushes, pops (with COUNT), ranges, LPOS, LMOVE/LMPOP and the blocking
/// variants. A list that becomes empty is deleted. The store announces every change of a key (its change hook), so clients
/// blocked on it (BLPOP, BLMOVE, ...) are served in FIFO order after the command, whichever command wrote it.
/// </summary>
/// <remarks>
/// Argument-checking order follows Redis exactly (which errors win over "no such key" or WRONGTYPE). Read commands
/// count keyspace hits and misses as lookupKeyRead does; write lookups do not.
/// </remarks>
public static class ListCommands
{
    internal const string TimeoutNotFloat = "ERR timeout is not a float or out of range";
    internal const string TimeoutNegative = "ERR timeout is negative";
    internal const string IndexOutOfRange = "ERR index out of range";
    internal const string NumKeysNotPositive = "ERR numkeys should be greater than 0";
    internal const string CountNotPositive = "ERR count should be greater than 0";
    private const string RankZero = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
    private const string CountNegative = "ERR COUNT can't be negative";
    private const string MaxLenNegative = "ERR MAXLEN can't be negative";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags Write = CommandFlags.Write;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const CommandFlags WriteOom = CommandFlags.Write | CommandFlags.DenyOom;
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const CommandFlags Blocking = CommandFlags.Write | CommandFlags.NoScript | CommandFlags.Blocking;
    private const string G = "list";

    public static void Register(CommandTable table)
    {
        table.Add(new("LPUSH", LPush));
        table.Add(new("RPUSH", RPush));
        table.Add(new("LPUSHX", LPushX));
        table.Add(new("RPUSHX", RPushX));
        table.Add(new("LPOP", LPop)
        );
        table.Add(new("RPOP", RPop)
        );
        table.Add(new("LLEN", LLen));
        table.Add(new("LRANGE", LRange)
        );
        table.Add(new("LINDEX", LIndex)
        );
        table.Add(new("LSET", LSet)
        );
        table.Add(new("LINSERT", LInsert)
        );
        table.Add(new("LREM", LRem)
        );
        table.Add(new("LTRIM", LTrim)
        );
        table.Add(new("LPOS", LPos)
        );
        table.Add(new("LMOVE", LMove));
        table.Add(new("RPOPLPUSH", RPopLPush));
        table.Add(new("LMPOP", LMPop)
        );
        table.Add(new("BLPOP", BLPop)
        );
        table.Add(new("BRPOP", BRPop)
        );
        table.Add(new("BLMOVE", BLMove));
        table.Add(new("BRPOPLPUSH", BRPopLPush));
        table.Add(new("BLMPOP", BLMPop)
        );
    }

    // ---------------------------------------------------------------- shared helpers

    /// <summary>
    /// Redis's getTimeoutFromObjectOrReply in seconds: a float (strtold rules, no NaN), times 1000, truncated to an
    /// integer the way a C cast on x86 does (anything out of range, including inf, becomes negative). 0 = forever.
    /// </summary>
    internal static bool TryParseTimeout(ref CommandContext c, int index, out long timeoutMs)
    {
        timeoutMs = 0;
        if (!RedisNumbers.TryParseDouble(c.Arg(index), out double seconds))
        {
            c.Reply.Error(TimeoutNotFloat);
            return false;
        }
        double ms = seconds * 1000.0;
        long value = ms is >= -9.2233720368547758e18 and < 9.2233720368547758e18 ? (long)ms : long.MinValue;
        if (value < 0)
        {
            c.Reply.Error(TimeoutNegative);
            return false;
        }
        timeoutMs = value;
        return true;
    }

    /// <summary>The list at <paramref name="key"/> for a write: null (and <paramref name="entry"/> null) when the key
    /// does not exist; false after a WRONGTYPE reply.</summary>
    private static bool TryGetForWrite(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisEntry? entry, out RedisList? list)
        => TypedLookup.TryWrite(ref c, db, key, out entry, out list);

    /// <summary>Lookup for a read command (counts hits/misses); false after a WRONGTYPE reply.</summary>
    private static bool TryGetForRead(ref CommandContext c, ReadOnlySpan<byte> key, out RedisList? list)
        => TypedLookup.TryRead(ref c, c.Db, key, out list);

    /// <summary>After elements were removed: deletes the key when the list is empty, else signals the change.</summary>
    private static void AfterRemove(RedisDatabase db, RedisEntry entry, RedisList list, KeyEvent evt)
    {
        if (list.Count == 0) db.Delete(entry, evt);
        else db.NotifyModified(entry, evt);
    }

    /// <summary>LEFT or RIGHT (Redis getListPositionFromObjectOrReply); false after a syntax error reply.</summary>
    private static bool TryParseSide(ref CommandContext c, int index, out bool left)
    {
        left = c.ArgIs(index, "LEFT"u8);
        if (left || c.ArgIs(index, "RIGHT"u8)) return true;
        c.Reply.Error(Errors.Syntax);
        return false;
    }

    private static bool TryParseLong(ref CommandContext c, int index, out long value)
    {
        if (RedisNumbers.TryParseInt64(c.Arg(index), out value)) return true;
        c.Reply.Error(Errors.NotInteger);
        return false;
    }

    private static byte[][] KeysOf(ref CommandContext c, int first, int count)
    {
        var keys = new byte[count][];
        for (int i = 0; i < count; i++) keys[i] = c.Arg(first + i).ToArray();
        return keys;
    }

    // ---------------------------------------------------------------- push

    private static void LPush(ref CommandContext c) => Push(ref c, left: true, onlyIfExists: false);

    private static void RPush(ref CommandContext c) => Push(ref c, left: false, onlyIfExists: false);

    private static void LPushX(ref CommandContext c) => Push(ref c, left: true, onlyIfExists: true);

    private static void RPushX(ref CommandContext c) => Push(ref c, left: false, onlyIfExists: true);

    private static void Push(ref CommandContext c, bool left, bool onlyIfExists)
    {
        var db = c.Db;
        var key = c.Arg(1);
        if (!TryGetForWrite(ref c, db, key, out var entry, out var list)) return;
        if (list is null)
        {
            if (onlyIfExists)
            {
                c.Reply.Integer(0);
                return;
            }
            list = new RedisList();
            for (int j = 2; j < c.Count; j++) list.Push(ElementPool.Copy(c.Arg(j)), left);
            db.SetObject(key, list, left ? KeyEvent.LPush : KeyEvent.RPush);
        }
        else
        {
            for (int j = 2; j < c.Count; j++) list.Push(ElementPool.Copy(c.Arg(j)), left);
            db.NotifyModified(entry!, left ? KeyEvent.LPush : KeyEvent.RPush);
        }
        c.Reply.Integer(list.Count);
    }

    /// <summary>Pushes onto the list at <paramref name="key"/>, creating it; the caller checked the type.</summary>
    private static void PushTo(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, RedisEntry? entry, byte[] item, bool left)
    {
        if (entry?.Obj is RedisList list)
        {
            list.Push(item, left);
            db.NotifyModified(entry, left ? KeyEvent.LPush : KeyEvent.RPush);
        }
        else
        {
            list = new RedisList();
            list.Push(item, left);
            db.SetObject(key, list, left ? KeyEvent.LPush : KeyEvent.RPush);
        }
    }

    // ---------------------------------------------------------------- pop

    private static void LPop(ref CommandContext c) => Pop(ref c, left: true);

    private static void RPop(ref CommandContext c) => Pop(ref c, left: false);

    private static void Pop(ref CommandContext c, bool left)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(Errors.WrongArgCount(c.Command.WireName));
            return;
        }
        bool hasCount = c.Count == 3;
        long count = 1;
        if (hasCount && (!RedisNumbers.TryParseInt64(c.Arg(2), out count) || count < 0))
        {
            c.Reply.Error(Errors.NotPositive);
            return;
        }
        var db = c.Db;
        if (!TryGetForWrite(ref c, db, c.Arg(1), out var entry, out var list)) return;
        if (list is null)
        {
            if (hasCount) c.Reply.NullArray();
            else c.Reply.Null();
            return;
        }
        // A popped element, once written to the reply, is referenced by nothing: its array goes back to the pool.
        if (!hasCount)
        {
            var item = list.Pop(left);
            c.Reply.Bulk(item);
            ElementPool.Return(item);
        }
        else
        {
            int n = (int)Math.Min(count, list.Count);
            c.Reply.ArrayHeader(n);
            for (int i = 0; i < n; i++)
            {
                var item = list.Pop(left);
                c.Reply.Bulk(item);
                ElementPool.Return(item);
            }
            if (n == 0) return; // LPOP key 0: nothing changed
        }
        AfterRemove(db, entry!, list, left ? KeyEvent.LPop : KeyEvent.RPop);
    }

    // ---------------------------------------------------------------- read

    private static void LLen(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var list)) return;
        c.Reply.Integer(list?.Count ?? 0);
    }

    private static void LIndex(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var list)) return;
        if (list is null)
        {
            c.Reply.Null();
            return;
        }
        if (!TryParseLong(ref c, 2, out long index)) return;
        if (index < 0) index += list.Count;
        if (index < 0 || index >= list.Count) c.Reply.Null();
        else c.Reply.Bulk(list[(int)index]);
    }

    private static void LRange(ref CommandContext c)
    {
        if (!TryParseLong(ref c, 2, out long start) || !TryParseLong(ref c, 3, out long end)) return;
        if (!TryGetForRead(ref c, c.Arg(1), out var list)) return;
        if (list is null)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        if (!NormalizeRange(list.Count, ref start, ref end))
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        c.Reply.ArrayHeader((int)(end - start + 1));
        for (int i = (int)start; i <= end; i++) c.Reply.Bulk(list[i]);
    }

    /// <summary>Redis's start/end rules for LRANGE and LTRIM; false when the range is empty.</summary>
    private static bool NormalizeRange(long length, ref long start, ref long end)
    {
        if (start < 0) start += length;
        if (end < 0) end += length;
        if (start < 0) start = 0;
        if (start > end || start >= length) return false;
        if (end >= length) end = length - 1;
        return true;
    }

    private static void LPos(ref CommandContext c)
    {
        long rank = 1, count = -1, maxLen = 0;
        for (int j = 3; j < c.Count; j++)
        {
            bool hasNext = j < c.Count - 1;
            if (hasNext && c.ArgIs(j, "RANK"u8))
            {
                if (!TryParseLong(ref c, ++j, out rank)) return;
                if (rank == 0)
                {
                    c.Reply.Error(RankZero);
                    return;
                }
            }
            else if (hasNext && c.ArgIs(j, "COUNT"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(++j), out count) || count < 0)
                {
                    c.Reply.Error(CountNegative);
                    return;
                }
            }
            else if (hasNext && c.ArgIs(j, "MAXLEN"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(++j), out maxLen) || maxLen < 0)
                {
                    c.Reply.Error(MaxLenNegative);
                    return;
                }
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        bool withCount = count >= 0;
        if (!TryGetForRead(ref c, c.Arg(1), out var list)) return;
        if (list is null)
        {
            if (withCount) c.Reply.ArrayHeader(0);
            else c.Reply.Null();
            return;
        }
        bool fromTail = rank < 0;
        if (fromTail) rank = unchecked(-rank); // long.MinValue stays negative: any match qualifies, as in Redis
        var element = c.Arg(2);
        int n = list.Count;
        long limit = maxLen == 0 ? n : Math.Min(maxLen, n);
        if (!withCount)
        {
            long matches = 0;
            for (int k = 0; k < limit; k++)
            {
                int i = fromTail ? n - 1 - k : k;
                if (list[i].AsSpan().SequenceEqual(element) && ++matches >= rank)
                {
                    c.Reply.Integer(i);
                    return;
                }
            }
            c.Reply.Null();
            return;
        }
        // COUNT: the number of results is known only at the end; collect the indexes first.
        var found = new List<int>();
        long seen = 0;
        for (int k = 0; k < limit; k++)
        {
            int i = fromTail ? n - 1 - k : k;
            if (!list[i].AsSpan().SequenceEqual(element) || ++seen < rank) continue;
            found.Add(i);
            if (count != 0 && found.Count >= count) break;
        }
        c.Reply.ArrayHeader(found.Count);
        foreach (int i in found) c.Reply.Integer(i);
    }

    // ---------------------------------------------------------------- in-place changes

    private static void LSet(ref CommandContext c)
    {
        var db = c.Db;
        var key = c.Arg(1);
        if (!TryGetForWrite(ref c, db, key, out var entry, out var list)) return;
        if (list is null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (!TryParseLong(ref c, 2, out long index)) return;
        if (index < 0) index += list.Count;
        if (index < 0 || index >= list.Count)
        {
            c.Reply.Error(IndexOutOfRange);
            return;
        }
        var value = c.Arg(3);
        var old = list[(int)index];
        if (old.Length == value.Length) value.CopyTo(old); // same size: reuse the element's array
        else list[(int)index] = value.ToArray();
        db.NotifyModified(entry!, KeyEvent.LSet);
        c.Reply.Ok();
    }

    private static void LInsert(ref CommandContext c)
    {
        bool after;
        if (c.ArgIs(2, "AFTER"u8)) after = true;
        else if (c.ArgIs(2, "BEFORE"u8)) after = false;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var db = c.Db;
        if (!TryGetForWrite(ref c, db, c.Arg(1), out var entry, out var list)) return;
        if (list is null)
        {
            c.Reply.Integer(0);
            return;
        }
        int pivot = list.IndexOf(c.Arg(3));
        if (pivot < 0)
        {
            c.Reply.Integer(-1);
            return;
        }
        list.Insert(after ? pivot + 1 : pivot, c.Arg(4).ToArray());
        db.NotifyModified(entry!, KeyEvent.LInsert);
        c.Reply.Integer(list.Count);
    }

    private static void LRem(ref CommandContext c)
    {
        if (!TryParseLong(ref c, 2, out long count)) return;
        var db = c.Db;
        if (!TryGetForWrite(ref c, db, c.Arg(1), out var entry, out var list)) return;
        if (list is null)
        {
            c.Reply.Integer(0);
            return;
        }
        int limit = count == 0 ? 0 : (int)Math.Min(Math.Abs(count == long.MinValue ? long.MaxValue : count), int.MaxValue);
        int removed = list.Remove(c.Arg(3), limit, fromTail: count < 0);
        if (removed > 0) AfterRemove(db, entry!, list, KeyEvent.LRem);
        c.Reply.Integer(removed);
    }

    private static void LTrim(ref CommandContext c)
    {
        if (!TryParseLong(ref c, 2, out long start) || !TryParseLong(ref c, 3, out long end)) return;
        var db = c.Db;
        if (!TryGetForWrite(ref c, db, c.Arg(1), out var entry, out var list)) return;
        if (list is null)
        {
            c.Reply.Ok();
            return;
        }
        int n = list.Count;
        if (NormalizeRange(n, ref start, ref end))
        {
            if (start > 0 || end < n - 1)
            {
                list.Keep((int)start, (int)(end - start + 1));
                db.NotifyModified(entry!, KeyEvent.LTrim);
            }
            else c.Server.Notifications.Fire(db.Index, c.Arg(1), KeyEvent.LTrim); // redis notifies a trim of nothing too
        }
        else
        {
            list.Keep(0, 0);
            db.Delete(entry!, KeyEvent.LTrim);
        }
        c.Reply.Ok();
    }

    // ---------------------------------------------------------------- LMOVE / LMPOP

    private static void LMove(ref CommandContext c)
    {
        if (!TryParseSide(ref c, 3, out bool fromLeft) || !TryParseSide(ref c, 4, out bool toLeft)) return;
        MoveGeneric(ref c, fromLeft, toLeft);
    }

    private static void RPopLPush(ref CommandContext c) => MoveGeneric(ref c, fromLeft: false, toLeft: true);

    /// <summary>Redis's lmoveGenericCommand: source from argument 1, destination argument 2.</summary>
    private static void MoveGeneric(ref CommandContext c, bool fromLeft, bool toLeft)
    {
        var db = c.Db;
        if (!TryGetForWrite(ref c, db, c.Arg(1), out var srcEntry, out var src)) return;
        if (src is null)
        {
            c.Reply.Null();
            return;
        }
        var dstKey = c.Arg(2);
        if (!TryGetForWrite(ref c, db, dstKey, out var dstEntry, out _)) return;
        var item = src.Pop(fromLeft);
        PushTo(ref c, db, dstKey, dstEntry, item, toLeft);
        c.Reply.Bulk(item);
        if (!ReferenceEquals(srcEntry, dstEntry)) AfterRemove(db, srcEntry!, src, fromLeft ? KeyEvent.LPop : KeyEvent.RPop);
        else c.Server.Notifications.Fire(db.Index, c.Arg(1), fromLeft ? KeyEvent.LPop : KeyEvent.RPop); // a rotation: redis notifies the pop too
    }

    private static void LMPop(ref CommandContext c)
    {
        if (!TryParseMPop(ref c, 1, out int numKeys, out bool left, out long count)) return;
        MPopGeneric(ref c, 2, numKeys, left, count);
    }

    /// <summary>numkeys key... LEFT|RIGHT [COUNT n] starting at <paramref name="numKeysIndex"/>.</summary>
    private static bool TryParseMPop(ref CommandContext c, int numKeysIndex, out int numKeys, out bool left, out long count)
    {
        numKeys = 0;
        left = false;
        count = -1;
        if (!RedisNumbers.TryParseInt64(c.Arg(numKeysIndex), out long n) || n < 1)
        {
            c.Reply.Error(NumKeysNotPositive);
            return false;
        }
        long whereIndex = numKeysIndex + n + 1;
        if (whereIndex >= c.Count)
        {
            c.Reply.Error(Errors.Syntax);
            return false;
        }
        numKeys = (int)n;
        if (!TryParseSide(ref c, (int)whereIndex, out left)) return false;
        for (int j = (int)whereIndex + 1; j < c.Count; j++)
        {
            if (count == -1 && j < c.Count - 1 && c.ArgIs(j, "COUNT"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(++j), out count) || count < 1)
                {
                    c.Reply.Error(CountNotPositive);
                    return false;
                }
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        if (count == -1) count = 1;
        return true;
    }

    /// <summary>Pops from the first non-empty list of the keys; replies [key, [elements]]. False when every list was
    /// empty (nothing replied) or after a WRONGTYPE reply (<paramref name="replied"/>).</summary>
    private static bool TryMPop(ref CommandContext c, int firstKey, int numKeys, bool left, long count, out bool replied)
    {
        var db = c.Db;
        replied = false;
        for (int j = firstKey; j < firstKey + numKeys; j++)
        {
            var key = c.Arg(j);
            if (!TryGetForWrite(ref c, db, key, out var entry, out var list))
            {
                replied = true;
                return false;
            }
            if (list is null) continue;
            int n = (int)Math.Min(count, list.Count);
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk(key);
            c.Reply.ArrayHeader(n);
            for (int i = 0; i < n; i++) c.Reply.Bulk(list.Pop(left));
            // LMPOP and BLMPOP (at once or served later) propagate as [LR]POP key <popped>.
            c.RewritePropagation().Arg(left ? "LPOP"u8 : "RPOP"u8).Arg(key).Arg(n).End();
            AfterRemove(db, entry!, list, left ? KeyEvent.LPop : KeyEvent.RPop);
            replied = true;
            return true;
        }
        return false;
    }

    private static void MPopGeneric(ref CommandContext c, int firstKey, int numKeys, bool left, long count)
    {
        if (!TryMPop(ref c, firstKey, numKeys, left, count, out bool replied) && !replied) c.Reply.NullArray();
    }

    // ---------------------------------------------------------------- blocking

    private static void BLPop(ref CommandContext c) => BlockingPop(ref c, left: true);

    private static void BRPop(ref CommandContext c) => BlockingPop(ref c, left: false);

    private static void BlockingPop(ref CommandContext c, bool left)
    {
        int timeoutIndex = c.Count - 1;
        if (!TryParseTimeout(ref c, timeoutIndex, out long timeoutMs)) return;
        var db = c.Db;
        for (int j = 1; j < timeoutIndex; j++)
        {
            var key = c.Arg(j);
            if (!TryGetForWrite(ref c, db, key, out var entry, out var list)) return;
            if (list is null) continue;
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk(key);
            c.Reply.Bulk(list.Pop(left));
            c.RewritePropagation().Arg(left ? "LPOP"u8 : "RPOP"u8).Arg(key).End();
            AfterRemove(db, entry!, list, left ? KeyEvent.LPop : KeyEvent.RPop);
            return;
        }
        c.Block(KeysOf(ref c, 1, timeoutIndex - 1), timeoutMs, BlockTimeoutReply.NullArray, BlockedOn.List);
    }

    private static void BLMPop(ref CommandContext c)
    {
        if (!TryParseTimeout(ref c, 1, out long timeoutMs)) return;
        if (!TryParseMPop(ref c, 2, out int numKeys, out bool left, out long count)) return;
        if (TryMPop(ref c, 3, numKeys, left, count, out bool replied) || replied) return;
        c.Block(KeysOf(ref c, 3, numKeys), timeoutMs, BlockTimeoutReply.NullArray, BlockedOn.List);
    }

    private static void BLMove(ref CommandContext c)
    {
        if (!TryParseSide(ref c, 3, out bool fromLeft) || !TryParseSide(ref c, 4, out bool toLeft)) return;
        BlockingMove(ref c, 5, fromLeft, toLeft);
    }

    private static void BRPopLPush(ref CommandContext c) => BlockingMove(ref c, 3, fromLeft: false, toLeft: true);

    private static void BlockingMove(ref CommandContext c, int timeoutIndex, bool fromLeft, bool toLeft)
    {
        if (!TryParseTimeout(ref c, timeoutIndex, out long timeoutMs)) return;
        if (!TryGetForWrite(ref c, c.Db, c.Arg(1), out _, out var src)) return;
        if (src is not null)
        {
            MoveGeneric(ref c, fromLeft, toLeft);
            // As the non-blocking command; a client served later gets redis-server's lower-case side names.
            if (timeoutIndex == 3) c.RewritePropagation().Arg("RPOPLPUSH"u8).Arg(c.Arg(1)).Arg(c.Arg(2)).End();
            else if (c.IsRetry)
                c.RewritePropagation().Arg("LMOVE"u8).Arg(c.Arg(1)).Arg(c.Arg(2))
                    .Arg(fromLeft ? "left"u8 : "right"u8).Arg(toLeft ? "left"u8 : "right"u8).End();
            else c.RewritePropagation().Arg("LMOVE"u8).Arg(c.Arg(1)).Arg(c.Arg(2)).Arg(c.Arg(3)).Arg(c.Arg(4)).End();
            return;
        }
        c.Block([c.Arg(1).ToArray()], timeoutMs, BlockTimeoutReply.NullBulk, BlockedOn.List);
    }
}
