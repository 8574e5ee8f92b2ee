using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// String commands (GET, SET, INCR, ...), with redis-server 7's options, reply shapes and error texts
/// (t_string.c). Reads count keyspace hits and misses as Redis's lookupKeyRead does; write lookups do not.
/// </summary>
public static class StringCommands
{
    internal const string DecrementOverflow = "ERR decrement would overflow";
    internal const string OffsetOutOfRange = "ERR offset is out of range";
    internal const string LcsNotStrings = "ERR The specified keys must contain string values";
    internal const string LcsLenAndIdx = "ERR If you want both the length and indexes, please just use IDX.";
    internal const string LcsExceedsLimit = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
    internal const string LcsAllocFailed = "ERR Insufficient memory, failed allocating transient memory for LCS";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags WriteOom = CommandFlags.Write | CommandFlags.DenyOom;
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const string G = "string";

    public static void Register(CommandTable table)
    {
        table.Add(new("GET", Get));
        table.Add(new("SET", Set));
        table.Add(new("SETNX", SetNx));
        table.Add(new("SETEX", SetEx));
        table.Add(new("PSETEX", PSetEx));
        table.Add(new("GETSET", GetSet));
        table.Add(new("GETDEL", GetDel));
        table.Add(new("GETEX", GetEx));
        table.Add(new("MGET", MGet)
        );
        table.Add(new("MSET", MSet)
        );
        table.Add(new("MSETNX", MSetNx)
        );
        table.Add(new("APPEND", Append));
        table.Add(new("STRLEN", StrLen));
        table.Add(new("INCR", Incr));
        table.Add(new("DECR", Decr));
        table.Add(new("INCRBY", IncrBy));
        table.Add(new("DECRBY", DecrBy));
        table.Add(new("INCRBYFLOAT", IncrByFloat));
        table.Add(new("GETRANGE", GetRange)
        );
        table.Add(new("SUBSTR", GetRange)
        );
        table.Add(new("SETRANGE", SetRange)
        );
        table.Add(new("LCS", Lcs)
        );
    }

    // ---------------------------------------------------------------- GET / SET

    private static void Get(ref CommandContext c)
    {
        var stats = c.Server.Stats;
        if (!c.Db.TryLookup(c.Arg(1), LookupFlags.None, out var e))
        {
            stats.KeyspaceMisses++;
            c.Server.Notifications.KeyMiss(c.Db.Index, c.Arg(1));
            c.Reply.Null();
            return;
        }
        stats.KeyspaceHits++;
        if (e.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        c.Reply.Bulk(e.StringValue);
    }

    /// <summary>Redis's getGenericCommand: replies with the value or nil; false (after a WRONGTYPE reply) when the
    /// key holds another type.</summary>
    private static bool GetGeneric(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key)
    {
        if (!KeyCommands.LookupView(ref c, db, key, out var e))
        {
            c.Reply.Null();
            return true;
        }
        if (e.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return false;
        }
        c.Reply.Bulk(e.StringValue);
        return true;
    }

    private static void Set(ref CommandContext c)
    {
        var db = c.Db;
        if (c.Count == 3)
        {
            db.SetString(c.Arg(1), c.Arg(2));
            c.Reply.Ok();
            return;
        }
        if (!ParseExtended(ref c, forSet: true, out var options, out int expireArg)) return;
        long when = RedisDatabase.NoExpire;
        if (expireArg > 0 && !TryGetExpireAt(ref c, expireArg, options, out when)) return;
        bool get = (options & Options.Get) != 0;
        if (get && !GetGeneric(ref c, db, c.Arg(1))) return;
        var flags = SetFlags.None;
        if ((options & Options.Nx) != 0) flags |= SetFlags.IfNotExists;
        if ((options & Options.Xx) != 0) flags |= SetFlags.IfExists;
        if ((options & Options.KeepTtl) != 0) flags |= SetFlags.KeepTtl;
        var status = db.SetString(c.Arg(1), c.Arg(2), flags, when);
        // redis notifies "expire" after "set" when SET carried an expiry
        if (expireArg > 0 && status == StoreStatus.Ok) c.Server.Notifications.Fire(db.Index, c.Arg(1), KeyEvent.Expire);
        // With any expiry, redis-server propagates SET key value PXAT <deadline> (other options dropped).
        if (expireArg > 0 && status == StoreStatus.Ok) PropagateSetPxat(ref c, c.Arg(2), when);
        else if (get && status == StoreStatus.Ok)
        {
            // Without an expiry, SET ... GET propagates without its GET (however often repeated).
            var rewrite = c.RewritePropagation();
            for (int j = 0; j < c.Count; j++)
                if (j < 3 || !c.ArgIs(j, "GET"u8)) rewrite.Arg(c.Arg(j));
            rewrite.End();
        }
        if (get) return;
        if (status == StoreStatus.Ok) c.Reply.Ok();
        else c.Reply.Null();
    }

    private static void SetNx(ref CommandContext c) =>
        c.Reply.Integer(c.Db.SetString(c.Arg(1), c.Arg(2), SetFlags.IfNotExists) == StoreStatus.Ok ? 1 : 0);

    private static void SetEx(ref CommandContext c) => SetWithExpire(ref c, Options.Ex);

    private static void PSetEx(ref CommandContext c) => SetWithExpire(ref c, Options.Px);

    private static void SetWithExpire(ref CommandContext c, Options unit)
    {
        if (!TryGetExpireAt(ref c, 2, unit, out long when)) return;
        c.Db.SetString(c.Arg(1), c.Arg(3), SetFlags.None, when);
        c.Server.Notifications.Fire(c.Db.Index, c.Arg(1), KeyEvent.Expire);
        PropagateSetPxat(ref c, c.Arg(3), when);
        c.Reply.Ok();
    }

    private static void PropagateSetPxat(ref CommandContext c, ReadOnlySpan<byte> value, long when) =>
        c.RewritePropagation().Arg("SET"u8).Arg(c.Arg(1)).Arg(value).Arg("PXAT"u8).Arg(when).End();

    private static void GetSet(ref CommandContext c)
    {
        var db = c.Db;
        if (!GetGeneric(ref c, db, c.Arg(1))) return;
        db.SetString(c.Arg(1), c.Arg(2));
        c.RewritePropagation().Arg("SET"u8).Arg(c.Arg(1)).Arg(c.Arg(2)).End();
    }

    private static void GetDel(ref CommandContext c)
    {
        var db = c.Db;
        if (!GetGeneric(ref c, db, c.Arg(1))) return;
        if (db.Delete(c.Arg(1), lazy: c.Server.Config.LazyFreeLazyUserDel))
            c.RewritePropagation().Arg(c.Server.Config.LazyFreeLazyUserDel ? "UNLINK"u8 : "DEL"u8).Arg(c.Arg(1)).End();
    }

    private static void GetEx(ref CommandContext c)
    {
        if (!ParseExtended(ref c, forSet: false, out var options, out int expireArg)) return;
        var db = c.Db;
        // The TTL lives beside the key: a compact key stays compact.
        if (!KeyCommands.LookupView(ref c, db, c.Arg(1), out var v))
        {
            c.Reply.Null();
            return;
        }
        if (v.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        long when = 0;
        if (expireArg > 0 && !TryGetExpireAt(ref c, expireArg, options, out when)) return;
        c.Reply.Bulk(v.StringValue);
        // Never propagated as is: DEL/UNLINK, PEXPIREAT <deadline> or PERSIST.
        if ((options & (Options.Exat | Options.Pxat)) != 0 && when <= c.Server.NowMs)
        {
            db.Delete(v.Slot, lazy: c.Server.Config.LazyFreeLazyExpire);
            c.RewritePropagation().Arg(c.Server.Config.LazyFreeLazyExpire ? "UNLINK"u8 : "DEL"u8).Arg(c.Arg(1)).End();
        }
        else if (expireArg > 0)
        {
            db.SetExpire(v.Slot, when);
            c.RewritePropagation().Arg("PEXPIREAT"u8).Arg(c.Arg(1)).Arg(when).End();
        }
        else if ((options & Options.Persist) != 0 && db.Persist(v.Slot))
        {
            c.RewritePropagation().Arg("PERSIST"u8).Arg(c.Arg(1)).End();
        }
    }

    [Flags]
    private enum Options
    {
        None = 0,
        Nx = 1 << 0,
        Xx = 1 << 1,
        Ex = 1 << 2,
        Px = 1 << 3,
        KeepTtl = 1 << 4,
        Get = 1 << 5,
        Exat = 1 << 6,
        Pxat = 1 << 7,
        Persist = 1 << 8,
        AnyExpire = Ex | Px | Exat | Pxat,
    }

    /// <summary>
    /// Redis's parseExtendedStringArgumentsOrReply: SET's NX XX GET KEEPTTL and GETEX's PERSIST, plus EX PX EXAT PXAT
    /// for both; any repeated-incompatible or unknown option is a syntax error. <paramref name="expireArg"/> is the
    /// index of the expire value (0 when none).
    /// </summary>
    private static bool ParseExtended(ref CommandContext c, bool forSet, out Options options, out int expireArg)
    {
        options = Options.None;
        expireArg = 0;
        for (int j = forSet ? 3 : 2; j < c.Count; j++)
        {
            bool hasNext = j < c.Count - 1;
            if (forSet && c.ArgIs(j, "NX"u8) && (options & Options.Xx) == 0)
            {
                options |= Options.Nx;
            }
            else if (forSet && c.ArgIs(j, "XX"u8) && (options & Options.Nx) == 0)
            {
                options |= Options.Xx;
            }
            else if (forSet && c.ArgIs(j, "GET"u8))
            {
                options |= Options.Get;
            }
            else if (forSet && c.ArgIs(j, "KEEPTTL"u8) && (options & (Options.Persist | Options.AnyExpire)) == 0)
            {
                options |= Options.KeepTtl;
            }
            else if (!forSet && c.ArgIs(j, "PERSIST"u8) && (options & (Options.AnyExpire | Options.KeepTtl)) == 0)
            {
                options |= Options.Persist;
            }
            else if (hasNext && (options & (Options.KeepTtl | Options.Persist)) == 0 &&
                     TryExpireOption(ref c, j, options, out var unit))
            {
                options |= unit;
                expireArg = ++j;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }

    /// <summary>EX/PX/EXAT/PXAT at <paramref name="j"/>, allowed only when no other expire option was given
    /// (the same one repeated is accepted, as in Redis).</summary>
    private static bool TryExpireOption(ref CommandContext c, int j, Options options, out Options unit)
    {
        unit = c.ArgIs(j, "EX"u8) ? Options.Ex
            : c.ArgIs(j, "PX"u8) ? Options.Px
            : c.ArgIs(j, "EXAT"u8) ? Options.Exat
            : c.ArgIs(j, "PXAT"u8) ? Options.Pxat
            : Options.None;
        return unit != Options.None && (options & Options.AnyExpire & ~unit) == 0;
    }

    /// <summary>Redis's getExpireMillisecondsOrReply: the absolute unix-ms deadline of an EX/PX/EXAT/PXAT value, or
    /// false after replying with the error (not an integer; not positive; overflow).</summary>
    private static bool TryGetExpireAt(ref CommandContext c, int arg, Options options, out long when)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(arg), out when))
        {
            c.Reply.Error(Errors.NotInteger);
            return false;
        }
        bool seconds = (options & (Options.Ex | Options.Exat)) != 0;
        if (when <= 0 || (seconds && when > long.MaxValue / 1000))
        {
            c.Reply.Error(Errors.InvalidExpireTime(c.Command.WireName));
            return false;
        }
        if (seconds) when *= 1000;
        if ((options & (Options.Ex | Options.Px)) != 0) when = unchecked(when + c.Server.NowMs);
        if (when <= 0)
        {
            c.Reply.Error(Errors.InvalidExpireTime(c.Command.WireName));
            return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- multi-key

    private static void MGet(ref CommandContext c)
    {
        var db = c.Db;
        c.Reply.ArrayHeader(c.Count - 1);
        for (int j = 1; j < c.Count; j++)
        {
            if (!KeyCommands.LookupView(ref c, db, c.Arg(j), out var e) || e.Type != RedisType.String) c.Reply.Null();
            else c.Reply.Bulk(e.StringValue);
        }
    }

    private static void MSet(ref CommandContext c)
    {
        if (c.Count % 2 == 0)
        {
            c.Reply.Error(Errors.WrongArgCount(c.Command.WireName));
            return;
        }
        var db = c.Db;
        for (int j = 1; j < c.Count; j += 2) db.SetString(c.Arg(j), c.Arg(j + 1));
        c.Reply.Ok();
    }

    private static void MSetNx(ref CommandContext c)
    {
        if (c.Count % 2 == 0)
        {
            c.Reply.Error(Errors.WrongArgCount(c.Command.WireName));
            return;
        }
        var db = c.Db;
        for (int j = 1; j < c.Count; j += 2)
        {
            if (db.Exists(c.Arg(j)))
            {
                c.Reply.Integer(0);
                return;
            }
        }
        for (int j = 1; j < c.Count; j += 2) db.SetString(c.Arg(j), c.Arg(j + 1));
        c.Reply.Integer(1);
    }

    // ---------------------------------------------------------------- APPEND / STRLEN / ranges

    private static void Append(ref CommandContext c)
    {
        switch (c.Db.Append(c.Arg(1), c.Arg(2), c.Server.Config.ProtoMaxBulkLen, out long length))
        {
            case StoreStatus.Ok: c.Reply.Integer(length); break;
            case StoreStatus.WrongType: c.Reply.Error(Errors.WrongType); break;
            default: c.Reply.Error(Errors.StringTooLong); break;
        }
    }

    private static void StrLen(ref CommandContext c)
    {
        if (!KeyCommands.LookupView(ref c, c.Db, c.Arg(1), out var e)) c.Reply.Integer(0);
        else if (e.Type != RedisType.String) c.Reply.Error(Errors.WrongType);
        else c.Reply.Integer(e.StringValue.Length);
    }

    private static void GetRange(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long start) || !RedisNumbers.TryParseInt64(c.Arg(3), out long end))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (!KeyCommands.LookupView(ref c, c.Db, c.Arg(1), out var e))
        {
            c.Reply.Bulk(ReadOnlySpan<byte>.Empty);
            return;
        }
        if (e.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        var value = e.StringValue;
        long length = value.Length;
        if (start < 0 && end < 0 && start > end)
        {
            c.Reply.Bulk(ReadOnlySpan<byte>.Empty);
            return;
        }
        if (start < 0) start += length;
        if (end < 0) end += length;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= length) end = length - 1;
        if (start > end || length == 0) c.Reply.Bulk(ReadOnlySpan<byte>.Empty);
        else c.Reply.Bulk(value.Slice((int)start, (int)(end - start + 1)));
    }

    private static void SetRange(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long offset))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (offset < 0)
        {
            c.Reply.Error(OffsetOutOfRange);
            return;
        }
        switch (c.Db.SetRange(c.Arg(1), offset, c.Arg(3), c.Server.Config.ProtoMaxBulkLen, out long length))
        {
            case StoreStatus.Ok: c.Reply.Integer(length); break;
            case StoreStatus.WrongType: c.Reply.Error(Errors.WrongType); break;
            default: c.Reply.Error(Errors.StringTooLong); break;
        }
    }

    // ---------------------------------------------------------------- counters

    private static void Incr(ref CommandContext c) => IncrDecr(ref c, 1);

    private static void Decr(ref CommandContext c) => IncrDecr(ref c, -1);

    private static void IncrBy(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long delta))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        IncrDecr(ref c, delta);
    }

    private static void DecrBy(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long delta))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (delta == long.MinValue)
        {
            c.Reply.Error(DecrementOverflow);
            return;
        }
        IncrDecr(ref c, -delta);
    }

    private static void IncrDecr(ref CommandContext c, long delta)
    {
        switch (c.Db.IncrementBy(c.Arg(1), delta, out long value))
        {
            case StoreStatus.Ok: c.Reply.Integer(value); break;
            case StoreStatus.WrongType: c.Reply.Error(Errors.WrongType); break;
            case StoreStatus.NotInteger: c.Reply.Error(Errors.NotInteger); break;
            default: c.Reply.Error(Errors.Overflow); break;
        }
    }

    private static void IncrByFloat(ref CommandContext c)
    {
        var db = c.Db;
        if (!LongDouble.TryParse(c.Arg(2), out var delta))
        {
            // Redis checks the key's type before parsing the increment.
            bool wrongType = db.TryLookup(c.Arg(1), LookupFlags.NoTouch, out var v) && v.Type != RedisType.String;
            c.Reply.Error(wrongType ? Errors.WrongType : Errors.NotFloat);
            return;
        }
        switch (db.IncrementByFloat(c.Arg(1), delta, out var text))
        {
            case StoreStatus.Ok:
                c.Reply.Bulk(text);
                // Always SET key <result> KEEPTTL, so that float formatting never differs on replay.
                c.RewritePropagation().Arg("SET"u8).Arg(c.Arg(1)).Arg(text).Arg("KEEPTTL"u8).End();
                break;
            case StoreStatus.WrongType: c.Reply.Error(Errors.WrongType); break;
            case StoreStatus.NotFloat: c.Reply.Error(Errors.NotFloat); break;
            default: c.Reply.Error(Errors.IncrFloatNaN); break;
        }
    }

    // ---------------------------------------------------------------- LCS

    private static void Lcs(ref CommandContext c)
    {
        var db = c.Db;
        // Read in place: a lookup that expires the other key frees only that key's block, so both views stay valid.
        bool hasA = KeyCommands.LookupView(ref c, db, c.Arg(1), out var va);
        bool hasB = KeyCommands.LookupView(ref c, db, c.Arg(2), out var vb);
        if ((hasA && va.Type != RedisType.String) || (hasB && vb.Type != RedisType.String))
        {
            c.Reply.Error(LcsNotStrings);
            return;
        }
        bool getLen = false, getIdx = false, withMatchLen = false;
        long minMatchLen = 0;
        for (int j = 3; j < c.Count; j++)
        {
            bool more = j < c.Count - 1;
            if (c.ArgIs(j, "IDX"u8)) getIdx = true;
            else if (c.ArgIs(j, "LEN"u8)) getLen = true;
            else if (c.ArgIs(j, "WITHMATCHLEN"u8)) withMatchLen = true;
            else if (c.ArgIs(j, "MINMATCHLEN"u8) && more)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out minMatchLen))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (minMatchLen < 0) minMatchLen = 0;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (getLen && getIdx)
        {
            c.Reply.Error(LcsLenAndIdx);
            return;
        }
        var a = hasA ? va.StringValue : ReadOnlySpan<byte>.Empty;
        var b = hasB ? vb.StringValue : ReadOnlySpan<byte>.Empty;
        long cells = (long)(a.Length + 1) * (b.Length + 1);
        if (cells * sizeof(uint) > c.Server.Config.ProtoMaxBulkLen)
        {
            c.Reply.Error(LcsExceedsLimit);
            return;
        }
        if (cells > Array.MaxLength)
        {
            c.Reply.Error(LcsAllocFailed);
            return;
        }
        int stride = b.Length + 1;
        var table = new uint[cells];
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                table[(i * stride) + j] = a[i - 1] == b[j - 1]
                    ? table[((i - 1) * stride) + j - 1] + 1
                    : Math.Max(table[((i - 1) * stride) + j], table[(i * stride) + j - 1]);
            }
        }
        uint total = table[(a.Length * stride) + b.Length];
        if (getLen)
        {
            c.Reply.Integer(total);
            return;
        }

        // Walk back from the end, collecting the LCS bytes and the matching ranges (Redis emits them end first).
        var result = new byte[total];
        var ranges = getIdx ? new List<(int AStart, int AEnd, int BStart, int BEnd)>() : null;
        int idx = (int)total, ai = a.Length, bi = b.Length;
        int aStart = -1, aEnd = 0, bStart = 0, bEnd = 0;
        while (ai > 0 && bi > 0)
        {
            bool emit = false;
            if (a[ai - 1] == b[bi - 1])
            {
                result[idx - 1] = a[ai - 1];
                if (aStart < 0)
                {
                    aStart = aEnd = ai - 1;
                    bStart = bEnd = bi - 1;
                }
                else if (aStart == ai && bStart == bi)
                {
                    aStart--;
                    bStart--;
                }
                else
                {
                    emit = true;
                }
                if (aStart == 0 || bStart == 0) emit = true;
                idx--;
                ai--;
                bi--;
            }
            else
            {
                if (table[((ai - 1) * stride) + bi] > table[(ai * stride) + bi - 1]) ai--;
                else bi--;
                if (aStart >= 0) emit = true;
            }
            if (emit)
            {
                if (ranges is not null && (minMatchLen == 0 || aEnd - aStart + 1 >= minMatchLen))
                    ranges.Add((aStart, aEnd, bStart, bEnd));
                aStart = -1;
            }
        }
        if (ranges is null)
        {
            c.Reply.Bulk(result);
            return;
        }
        c.Reply.MapHeader(2);
        c.Reply.Bulk("matches"u8);
        c.Reply.ArrayHeader(ranges.Count);
        foreach (var (s1, e1, s2, e2) in ranges)
        {
            c.Reply.ArrayHeader(withMatchLen ? 3 : 2);
            c.Reply.ArrayHeader(2);
            c.Reply.Integer(s1);
            c.Reply.Integer(e1);
            c.Reply.ArrayHeader(2);
            c.Reply.Integer(s2);
            c.Reply.Integer(e2);
            if (withMatchLen) c.Reply.Integer(e1 - s1 + 1);
        }
        c.Reply.Bulk("len"u8);
        c.Reply.Integer(total);
    }
}
