using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Sorted-set commands (ZADD, ZRANGE, ZUNIONSTORE, BZPOPMIN, ...) with redis-server 7.0's options, reply shapes and
/// error texts (t_zset.c): scores parsed like Redis (inf, "(" exclusive bounds), replied as RESP3 doubles or RESP2
/// "%.17g" bulk strings, WITHSCORES as nested pairs under RESP3, emptied keys deleted, blocked clients woken.
/// </summary>
public static class SortedSetCommands
{
    internal const string ScoreRangeError = "ERR min or max is not a float";
    internal const string LexRangeError = "ERR min or max not valid string range item";
    internal const string NaNScore = "ERR resulting score is not a number (NaN)";
    internal const string NxXx = "ERR XX and NX options at the same time are not compatible";
    internal const string GtLtNx = "ERR GT, LT, and/or NX options at the same time are not compatible";
    internal const string IncrPair = "ERR INCR option supports a single increment-element pair";
    internal const string LimitWithRank = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
    internal const string WithScoresLex = "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
    internal const string WeightNotFloat = "ERR weight value is not a float";
    internal const string CountNotPositive = "ERR count should be greater than 0";
    internal const string TimeoutNotFloat = "ERR timeout is not a float or out of range";
    internal const string TimeoutNegative = "ERR timeout is negative";
    internal const string TimeoutOutOfRange = "ERR timeout is out of range";
    internal const string OutOfRange = "ERR value is out of range";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags WriteOom = CommandFlags.Write | CommandFlags.DenyOom;
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const CommandFlags Write = CommandFlags.Write;
    private const CommandFlags WriteBlocking = CommandFlags.Write | CommandFlags.Fast | CommandFlags.Blocking;
    private const string G = "sorted_set";

    [ThreadStatic] private static List<SkipListNode>? s_nodes;

    public static void Register(CommandTable table)
    {
        table.Add(new("ZADD", ZAdd));
        table.Add(new("ZINCRBY", ZIncrBy));
        table.Add(new("ZSCORE", ZScore));
        table.Add(new("ZMSCORE", ZMScore));
        table.Add(new("ZCARD", ZCard));
        table.Add(new("ZCOUNT", ZCount));
        table.Add(new("ZLEXCOUNT", ZLexCount));
        table.Add(new("ZRANK", ZRank));
        table.Add(new("ZREVRANK", ZRevRank));
        table.Add(new("ZRANGE", ZRange));
        table.Add(new("ZRANGESTORE", ZRangeStore));
        table.Add(new("ZREVRANGE", ZRevRange));
        table.Add(new("ZRANGEBYSCORE", ZRangeByScore));
        table.Add(new("ZREVRANGEBYSCORE", ZRevRangeByScore));
        table.Add(new("ZRANGEBYLEX", ZRangeByLex));
        table.Add(new("ZREVRANGEBYLEX", ZRevRangeByLex));
        table.Add(new("ZREM", ZRem));
        table.Add(new("ZREMRANGEBYRANK", ZRemRangeByRank));
        table.Add(new("ZREMRANGEBYSCORE", ZRemRangeByScore));
        table.Add(new("ZREMRANGEBYLEX", ZRemRangeByLex));
        table.Add(new("ZUNION", ZUnion));
        table.Add(new("ZINTER", ZInter));
        table.Add(new("ZDIFF", ZDiff));
        table.Add(new("ZUNIONSTORE", ZUnionStore));
        table.Add(new("ZINTERSTORE", ZInterStore));
        table.Add(new("ZDIFFSTORE", ZDiffStore));
        table.Add(new("ZINTERCARD", ZInterCard));
        table.Add(new("ZPOPMIN", ZPopMin));
        table.Add(new("ZPOPMAX", ZPopMax));
        table.Add(new("ZMPOP", ZMPop));
        table.Add(new("BZPOPMIN", BZPopMin));
        table.Add(new("BZPOPMAX", BZPopMax));
        table.Add(new("BZMPOP", BZMPop));
        table.Add(new("ZRANDMEMBER", ZRandMember));
        table.Add(new("ZSCAN", ZScan));
    }

    // ---------------------------------------------------------------- lookups and parsing

    private static bool TryRead(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisSortedSet? zset)
        => TypedLookup.TryRead(ref c, db, key, out zset);

    private static bool TryWrite(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisEntry? entry, out RedisSortedSet? zset)
        => TypedLookup.TryWrite(ref c, db, key, out entry, out zset);

    /// <summary>After an in-place removal: deletes the key if it became empty, else signals the change.</summary>
    private static void Modified(RedisDatabase db, RedisEntry e, RedisSortedSet z, KeyEvent evt)
    {
        if (z.Count == 0) db.Delete(e, evt);
        else db.NotifyModified(e, evt);
    }

    /// <summary>A range bound parsed like strtod in zslParseRange: leading spaces skipped, "" is 0, NaN refused.</summary>
    private static bool TryParseBound(ReadOnlySpan<byte> text, out double value, out bool exclusive)
    {
        exclusive = text.Length > 0 && text[0] == (byte)'(';
        if (exclusive) text = text[1..];
        int i = 0;
        while (i < text.Length && text[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f') i++;
        text = text[i..];
        if (text.IsEmpty)
        {
            value = 0;
            return true;
        }
        return RedisNumbers.TryParseDouble(text, out value);
    }

    internal static bool TryParseScoreRange(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out ScoreRange range)
    {
        range = default;
        if (!TryParseBound(min, out double lo, out bool loEx) || !TryParseBound(max, out double hi, out bool hiEx)) return false;
        range = new ScoreRange(lo, hi, loEx, hiEx);
        return true;
    }

    private static bool TryParseLexItem(ReadOnlySpan<byte> text, out LexBound kind, out ReadOnlySpan<byte> value)
    {
        value = default;
        kind = LexBound.Inclusive;
        if (text.IsEmpty) return false;
        switch (text[0])
        {
            case (byte)'+':
                kind = LexBound.PositiveInfinity;
                return text.Length == 1;
            case (byte)'-':
                kind = LexBound.NegativeInfinity;
                return text.Length == 1;
            case (byte)'(':
                kind = LexBound.Exclusive;
                value = text[1..];
                return true;
            case (byte)'[':
                value = text[1..];
                return true;
            default:
                return false;
        }
    }

    internal static bool TryParseLexRange(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out LexRange range, out ReadOnlySpan<byte> minValue, out ReadOnlySpan<byte> maxValue)
    {
        range = default;
        maxValue = default;
        if (!TryParseLexItem(min, out var minKind, out minValue) || !TryParseLexItem(max, out var maxKind, out maxValue)) return false;
        range = new LexRange(minKind, maxKind);
        return true;
    }

    private static bool TryParseScore(ref CommandContext c, int index, out double score)
    {
        if (RedisNumbers.TryParseDouble(c.Arg(index), out score)) return true;
        c.Reply.Error(Errors.NotFloat);
        return false;
    }

    private static void WriteScoreText(ReplyBuffer reply, double score)
    {
        Span<byte> text = stackalloc byte[RedisNumbers.MaxDoubleLength];
        RedisNumbers.TryFormatDouble(score, text, out int n);
        reply.Bulk(text[..n]);
    }

    /// <summary>Writes members (and scores): RESP3 WITHSCORES as [member, score] pairs, RESP2 flat.</summary>
    private static void WriteNodes(ReplyBuffer reply, List<SkipListNode> nodes, bool withScores)
    {
        bool nested = withScores && reply.Version == RespVersion.Resp3;
        reply.ArrayHeader(withScores && !nested ? nodes.Count * 2 : nodes.Count);
        foreach (var n in nodes)
        {
            if (nested) reply.ArrayHeader(2);
            reply.Bulk(n.Member);
            if (withScores) reply.Double(n.Score);
        }
    }

    private static List<SkipListNode> Nodes()
    {
        var list = s_nodes ??= [];
        list.Clear();
        return list;
    }

    // ---------------------------------------------------------------- ZADD / ZINCRBY

    [Flags]
    private enum AddFlags
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Gt = 4,
        Lt = 8,
        Ch = 16,
        Incr = 32,
    }

    private static void ZAdd(ref CommandContext c)
    {
        int i = 2;
        var flags = AddFlags.None;
        for (; i < c.Count; i++)
        {
            if (c.ArgIs(i, "NX"u8)) flags |= AddFlags.Nx;
            else if (c.ArgIs(i, "XX"u8)) flags |= AddFlags.Xx;
            else if (c.ArgIs(i, "GT"u8)) flags |= AddFlags.Gt;
            else if (c.ArgIs(i, "LT"u8)) flags |= AddFlags.Lt;
            else if (c.ArgIs(i, "CH"u8)) flags |= AddFlags.Ch;
            else if (c.ArgIs(i, "INCR"u8)) flags |= AddFlags.Incr;
            else break;
        }
        int elements = c.Count - i;
        if (elements == 0 || elements % 2 != 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        bool nx = (flags & AddFlags.Nx) != 0, gt = (flags & AddFlags.Gt) != 0, lt = (flags & AddFlags.Lt) != 0;
        if (nx && (flags & AddFlags.Xx) != 0)
        {
            c.Reply.Error(NxXx);
            return;
        }
        if ((gt && nx) || (lt && nx) || (gt && lt))
        {
            c.Reply.Error(GtLtNx);
            return;
        }
        if ((flags & AddFlags.Incr) != 0 && elements > 2)
        {
            c.Reply.Error(IncrPair);
            return;
        }
        for (int j = i; j < c.Count; j += 2)
        {
            if (!RedisNumbers.TryParseDouble(c.Arg(j), out _))
            {
                c.Reply.Error(Errors.NotFloat);
                return;
            }
        }
        AddGeneric(ref c, i, flags);
    }

    private static void ZIncrBy(ref CommandContext c)
    {
        if (!TryParseScore(ref c, 2, out _)) return;
        AddGeneric(ref c, 2, AddFlags.Incr);
    }

    /// <summary>The ZADD loop over validated score/member pairs starting at <paramref name="first"/>.</summary>
    private static void AddGeneric(ref CommandContext c, int first, AddFlags flags)
    {
        var db = c.Db;
        if (!TryWrite(ref c, db, c.Arg(1), out var e, out var z)) return;
        bool incr = (flags & AddFlags.Incr) != 0;
        if (z is null)
        {
            if ((flags & AddFlags.Xx) != 0)
            {
                if (incr) c.Reply.Null();
                else c.Reply.Integer(0);
                return;
            }
            z = new RedisSortedSet();
            e = db.SetObject(c.Arg(1), z, KeyEvent.None); // created empty: ZADD's change follows
        }
        long added = 0, updated = 0, processed = 0;
        double result = 0;
        string? error = null;
        for (int j = first; j < c.Count; j += 2)
        {
            if (!RedisNumbers.TryParseDouble(c.Arg(j), out double score)) continue;
            if (score == 0) score = 0; // "-0" is stored as 0, as redis-server 7.0 replies
            var member = c.Arg(j + 1);
            var node = z.Find(member);
            if (node is not null)
            {
                if ((flags & AddFlags.Nx) != 0) continue;
                double current = node.Score;
                if (incr)
                {
                    score += current;
                    if (double.IsNaN(score))
                    {
                        error = NaNScore;
                        break;
                    }
                }
                if (((flags & AddFlags.Lt) != 0 && score >= current) || ((flags & AddFlags.Gt) != 0 && score <= current)) continue;
                result = score;
                processed++;
                if (score != current)
                {
                    z.UpdateScore(node, score);
                    updated++;
                }
            }
            else
            {
                if ((flags & AddFlags.Xx) != 0) continue;
                z.Set(member, score);
                result = score;
                added++;
                processed++;
            }
        }
        if (added > 0 || updated > 0) db.NotifyModified(e!, incr ? KeyEvent.ZIncr : KeyEvent.ZAdd);
        else if (z.Count == 0) db.Delete(e!);
        if (error is not null)
        {
            c.Reply.Error(error);
            return;
        }
        if (incr)
        {
            if (processed > 0) c.Reply.Double(result);
            else c.Reply.Null();
        }
        else
        {
            c.Reply.Integer((flags & AddFlags.Ch) != 0 ? added + updated : added);
        }
    }

    // ---------------------------------------------------------------- point reads

    private static void ZScore(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        if (z is not null && z.TryGetScore(c.Arg(2), out double score)) c.Reply.Double(score);
        else c.Reply.Null();
    }

    private static void ZMScore(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        c.Reply.ArrayHeader(c.Count - 2);
        for (int i = 2; i < c.Count; i++)
        {
            if (z is not null && z.TryGetScore(c.Arg(i), out double score)) c.Reply.Double(score);
            else c.Reply.Null();
        }
    }

    private static void ZCard(ref CommandContext c)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        c.Reply.Integer(z?.Count ?? 0);
    }

    private static void ZCount(ref CommandContext c)
    {
        if (!TryParseScoreRange(c.Arg(2), c.Arg(3), out var range))
        {
            c.Reply.Error(ScoreRangeError);
            return;
        }
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        long count = 0;
        if (z is not null && z.List.FirstInRange(range) is { } first)
        {
            var last = z.List.LastInRange(range)!;
            count = z.List.RankOf(last.Score, last.Member) - z.List.RankOf(first.Score, first.Member) + 1;
        }
        c.Reply.Integer(count);
    }

    private static void ZLexCount(ref CommandContext c)
    {
        if (!TryParseLexRange(c.Arg(2), c.Arg(3), out var range, out var min, out var max))
        {
            c.Reply.Error(LexRangeError);
            return;
        }
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        long count = 0;
        if (z is not null && z.FirstInLexRange(range, min, max) is { } first)
        {
            if (z.IsSkiplistEncoded)
            {
                var last = z.LastInLexRange(range, min, max)!;
                count = z.List.RankOf(last.Score, last.Member) - z.List.RankOf(first.Score, first.Member) + 1;
            }
            else
            {
                // Like Redis's listpack walk: count forward from the first member in range while below max.
                for (var n = first; n is not null && range.BelowMax(n.Member, max); n = n.Next) count++;
            }
        }
        c.Reply.Integer(count);
    }

    private static void ZRank(ref CommandContext c) => RankGeneric(ref c, reverse: false);

    private static void ZRevRank(ref CommandContext c) => RankGeneric(ref c, reverse: true);

    private static void RankGeneric(ref CommandContext c, bool reverse)
    {
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        long rank = z?.RankOf(c.Arg(2)) ?? -1;
        if (rank < 0) c.Reply.Null();
        else c.Reply.Integer(reverse ? z!.Count - 1 - rank : rank);
    }

    // ---------------------------------------------------------------- ZRANGE family

    private enum RangeType { Auto, Rank, Score, Lex }

    private static void ZRange(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Auto, reverse: null);
    private static void ZRangeStore(ref CommandContext c) => RangeGeneric(ref c, 2, store: true, RangeType.Auto, reverse: null);
    private static void ZRevRange(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Rank, reverse: true);
    private static void ZRangeByScore(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Score, reverse: false);
    private static void ZRevRangeByScore(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Score, reverse: true);
    private static void ZRangeByLex(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Lex, reverse: false);
    private static void ZRevRangeByLex(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Lex, reverse: true);

    /// <summary>Redis's zrangeGenericCommand: <paramref name="keyIndex"/> is the source key; the range follows it.
    /// A null <paramref name="reverse"/> (and <see cref="RangeType.Auto"/>) lets REV/BYSCORE/BYLEX be given.</summary>
    private static void RangeGeneric(ref CommandContext c, int keyIndex, bool store, RangeType type, bool? reverse)
    {
        bool directionFlag = reverse is null, typeFlag = type == RangeType.Auto;
        bool rev = reverse ?? false, withScores = false;
        long offset = 0, limit = -1;
        for (int j = keyIndex + 3; j < c.Count; j++)
        {
            int left = c.Count - j - 1;
            if (!store && c.ArgIs(j, "WITHSCORES"u8)) withScores = true;
            else if (c.ArgIs(j, "LIMIT"u8) && left >= 2)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out offset) || !RedisNumbers.TryParseInt64(c.Arg(j + 2), out limit))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                j += 2;
            }
            else if (directionFlag && c.ArgIs(j, "REV"u8)) rev = true;
            else if (typeFlag && c.ArgIs(j, "BYLEX"u8)) type = RangeType.Lex;
            else if (typeFlag && c.ArgIs(j, "BYSCORE"u8)) type = RangeType.Score;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (type == RangeType.Auto) type = RangeType.Rank;
        if (limit != -1 && type == RangeType.Rank)
        {
            c.Reply.Error(LimitWithRank);
            return;
        }
        if (withScores && type == RangeType.Lex)
        {
            c.Reply.Error(WithScoresLex);
            return;
        }
        int minIdx = keyIndex + 1, maxIdx = keyIndex + 2;
        if (rev && type != RangeType.Rank) (minIdx, maxIdx) = (maxIdx, minIdx);
        long start = 0, end = 0;
        ScoreRange score = default;
        LexRange lex = default;
        ReadOnlySpan<byte> lexMin = default, lexMax = default;
        switch (type)
        {
            case RangeType.Rank:
                if (!RedisNumbers.TryParseInt64(c.Arg(minIdx), out start) || !RedisNumbers.TryParseInt64(c.Arg(maxIdx), out end))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                break;
            case RangeType.Score:
                if (!TryParseScoreRange(c.Arg(minIdx), c.Arg(maxIdx), out score))
                {
                    c.Reply.Error(ScoreRangeError);
                    return;
                }
                break;
            default:
                if (!TryParseLexRange(c.Arg(minIdx), c.Arg(maxIdx), out lex, out lexMin, out lexMax))
                {
                    c.Reply.Error(LexRangeError);
                    return;
                }
                break;
        }
        var db = c.Db;
        if (!TryRead(ref c, db, c.Arg(keyIndex), out var z)) return;
        var nodes = Nodes();
        if (z is not null)
        {
            switch (type)
            {
                case RangeType.Rank:
                    CollectByRank(z, start, end, rev, nodes);
                    break;
                case RangeType.Score:
                    CollectByScore(z, score, rev, offset, limit, nodes);
                    break;
                default:
                    CollectByLex(z, lex, lexMin, lexMax, rev, offset, limit, nodes);
                    break;
            }
        }
        if (!store)
        {
            WriteNodes(c.Reply, nodes, withScores);
            nodes.Clear();
            return;
        }
        StoreNodes(ref c, db, c.Arg(1), nodes);
    }

    private static void StoreNodes(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, List<SkipListNode> nodes)
    {
        long count = nodes.Count;
        if (count == 0)
        {
            db.Delete(key);
        }
        else
        {
            var result = new RedisSortedSet();
            foreach (var n in nodes) result.Set(n.Member, n.Score);
            db.SetObject(key, result, KeyEvent.ZRangeStore);
        }
        nodes.Clear();
        c.Reply.Integer(count);
    }

    private static void CollectByRank(RedisSortedSet z, long start, long end, bool rev, List<SkipListNode> nodes)
    {
        long length = z.Count;
        if (start < 0) start += length;
        if (end < 0) end += length;
        if (start < 0) start = 0;
        if (start > end || start >= length) return;
        if (end >= length) end = length - 1;
        long count = end - start + 1;
        var n = rev ? z.ByRank(length - 1 - start) : z.ByRank(start);
        for (; count > 0 && n is not null; count--)
        {
            nodes.Add(n);
            n = rev ? n.Previous : n.Next;
        }
    }

    private static void CollectByScore(RedisSortedSet z, in ScoreRange range, bool rev, long offset, long limit, List<SkipListNode> nodes)
    {
        if (range.IsEmpty || offset < 0) return;
        var n = rev ? z.List.LastInRange(range) : z.List.FirstInRange(range);
        while (n is not null && offset-- > 0) n = rev ? n.Previous : n.Next;
        while (n is not null && limit-- != 0)
        {
            if (rev ? !range.AboveMin(n.Score) : !range.BelowMax(n.Score)) break;
            nodes.Add(n);
            n = rev ? n.Previous : n.Next;
        }
    }

    private static void CollectByLex(RedisSortedSet z, LexRange range, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, bool rev, long offset, long limit, List<SkipListNode> nodes)
    {
        if (range.IsEmpty(min, max) || offset < 0) return;
        var n = rev ? z.LastInLexRange(range, min, max) : z.FirstInLexRange(range, min, max);
        while (n is not null && offset-- > 0) n = rev ? n.Previous : n.Next;
        while (n is not null && limit-- != 0)
        {
            if (rev ? !range.AboveMin(n.Member, min) : !range.BelowMax(n.Member, max)) break;
            nodes.Add(n);
            n = rev ? n.Previous : n.Next;
        }
    }

    // ---------------------------------------------------------------- removal

    private static void ZRem(ref CommandContext c)
    {
        var db = c.Db;
        if (!TryWrite(ref c, db, c.Arg(1), out var e, out var z)) return;
        long removed = 0;
        if (z is not null)
        {
            for (int i = 2; i < c.Count && z.Count > 0; i++)
                if (z.Remove(c.Arg(i))) removed++;
            if (removed > 0) Modified(db, e!, z, KeyEvent.ZRem);
        }
        c.Reply.Integer(removed);
    }

    private static void ZRemRangeByRank(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long start) || !RedisNumbers.TryParseInt64(c.Arg(3), out long end))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        RemoveRange(ref c, RangeType.Rank, start, end, default, default, default, default);
    }

    private static void ZRemRangeByScore(ref CommandContext c)
    {
        if (!TryParseScoreRange(c.Arg(2), c.Arg(3), out var range))
        {
            c.Reply.Error(ScoreRangeError);
            return;
        }
        RemoveRange(ref c, RangeType.Score, 0, 0, range, default, default, default);
    }

    private static void ZRemRangeByLex(ref CommandContext c)
    {
        if (!TryParseLexRange(c.Arg(2), c.Arg(3), out var range, out var min, out var max))
        {
            c.Reply.Error(LexRangeError);
            return;
        }
        RemoveRange(ref c, RangeType.Lex, 0, 0, default, range, min, max);
    }

    private static void RemoveRange(ref CommandContext c, RangeType type, long start, long end, in ScoreRange score, LexRange lex, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        var db = c.Db;
        if (!TryWrite(ref c, db, c.Arg(1), out var e, out var z)) return;
        if (z is null)
        {
            c.Reply.Integer(0);
            return;
        }
        var nodes = Nodes();
        if (type == RangeType.Rank) CollectByRank(z, start, end, false, nodes);
        else if (type == RangeType.Score) CollectByScore(z, score, false, 0, -1, nodes);
        else CollectByLex(z, lex, min, max, false, 0, -1, nodes);
        foreach (var n in nodes) z.Remove(n);
        long removed = nodes.Count;
        nodes.Clear();
        if (removed > 0)
            Modified(db, e!, z, type switch
            {
                RangeType.Rank => KeyEvent.ZRemRangeByRank,
                RangeType.Score => KeyEvent.ZRemRangeByScore,
                _ => KeyEvent.ZRemRangeByLex,
            });
        c.Reply.Integer(removed);
    }

    // ---------------------------------------------------------------- ZUNION / ZINTER / ZDIFF

    private enum SetOp { Union, Inter, Diff }

    private enum Aggregate { Sum, Min, Max }

    /// <summary>One input of ZUNION & co: a sorted set, a plain set (every score 1), or nothing.</summary>
    private readonly struct Input(RedisSortedSet? zset, RedisSet? set)
    {
        public readonly RedisSortedSet? ZSet = zset;
        public readonly RedisSet? Set = set;
        public int Count => ZSet?.Count ?? Set?.Count ?? 0;

        public bool TryGetScore(ReadOnlySpan<byte> member, out double score)
        {
            score = 1.0;
            if (ZSet is not null) return ZSet.TryGetScore(member, out score);
            return Set is not null && Set.Contains(member);
        }
    }

    private static void ZUnion(ref CommandContext c) => SetOpGeneric(ref c, 1, store: false, SetOp.Union);
    private static void ZInter(ref CommandContext c) => SetOpGeneric(ref c, 1, store: false, SetOp.Inter);
    private static void ZDiff(ref CommandContext c) => SetOpGeneric(ref c, 1, store: false, SetOp.Diff);
    private static void ZUnionStore(ref CommandContext c) => SetOpGeneric(ref c, 2, store: true, SetOp.Union);
    private static void ZInterStore(ref CommandContext c) => SetOpGeneric(ref c, 2, store: true, SetOp.Inter);
    private static void ZDiffStore(ref CommandContext c) => SetOpGeneric(ref c, 2, store: true, SetOp.Diff);
    private static void ZInterCard(ref CommandContext c) => SetOpGeneric(ref c, 1, store: false, SetOp.Inter, cardinalityOnly: true);

    private static double Combine(double a, double b, Aggregate aggregate)
    {
        switch (aggregate)
        {
            case Aggregate.Sum:
                double sum = a + b;
                return double.IsNaN(sum) ? 0.0 : sum;
            case Aggregate.Min:
                return a < b ? a : b;
            default:
                return a > b ? a : b;
        }
    }

    private static void SetOpGeneric(ref CommandContext c, int numKeysIndex, bool store, SetOp op, bool cardinalityOnly = false)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(numKeysIndex), out long setCount))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (setCount < 1)
        {
            c.Reply.Error($"ERR at least 1 input key is needed for '{c.Command.Name.ToLowerInvariant()}' command");
            return;
        }
        if (setCount > c.Count - (numKeysIndex + 1))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        int n = (int)setCount;
        var db = c.Db;
        var inputs = new Input[n];
        var weights = new double[n];
        int j = numKeysIndex + 1;
        for (int i = 0; i < n; i++, j++)
        {
            bool compactString;
            var e = store ? db.FindObject(c.Arg(j), LookupFlags.None, out compactString) : KeyCommands.LookupObject(ref c, db, c.Arg(j), out compactString);
            if (e is not null || compactString)
            {
                if (e?.Obj is RedisSortedSet z) inputs[i] = new Input(z, null);
                else if (e?.Obj is RedisSet s) inputs[i] = new Input(null, s);
                else
                {
                    c.Reply.Error(Errors.WrongType);
                    return;
                }
            }
            weights[i] = 1.0;
        }
        var aggregate = Aggregate.Sum;
        bool withScores = false;
        long limit = 0;
        while (j < c.Count)
        {
            int remaining = c.Count - j;
            if (op != SetOp.Diff && !cardinalityOnly && remaining >= n + 1 && c.ArgIs(j, "WEIGHTS"u8))
            {
                j++;
                for (int i = 0; i < n; i++, j++)
                {
                    if (!RedisNumbers.TryParseDouble(c.Arg(j), out weights[i]))
                    {
                        c.Reply.Error(WeightNotFloat);
                        return;
                    }
                }
            }
            else if (op != SetOp.Diff && !cardinalityOnly && remaining >= 2 && c.ArgIs(j, "AGGREGATE"u8))
            {
                if (c.ArgIs(j + 1, "SUM"u8)) aggregate = Aggregate.Sum;
                else if (c.ArgIs(j + 1, "MIN"u8)) aggregate = Aggregate.Min;
                else if (c.ArgIs(j + 1, "MAX"u8)) aggregate = Aggregate.Max;
                else
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                j += 2;
            }
            else if (!store && !cardinalityOnly && c.ArgIs(j, "WITHSCORES"u8))
            {
                withScores = true;
                j++;
            }
            else if (cardinalityOnly && remaining >= 2 && c.ArgIs(j, "LIMIT"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out limit) || limit < 0)
                {
                    c.Reply.Error(SetCommands.LimitNegative);
                    return;
                }
                j += 2;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var result = Compute(inputs, weights, op, aggregate, cardinalityOnly ? limit : -1, out long cardinality);
        if (cardinalityOnly)
        {
            c.Reply.Integer(cardinality);
            return;
        }
        if (store)
        {
            if (result.Count == 0)
            {
                db.Delete(c.Arg(1));
            }
            else
            {
                db.SetObject(c.Arg(1), result, c.Command.Name switch
                {
                    "ZINTERSTORE" => KeyEvent.ZInterStore,
                    "ZUNIONSTORE" => KeyEvent.ZUnionStore,
                    _ => KeyEvent.ZDiffStore,
                });
            }
            c.Reply.Integer(result.Count);
            return;
        }
        var nodes = Nodes();
        for (var node = result.List.First; node is not null; node = node.Next) nodes.Add(node);
        WriteNodes(c.Reply, nodes, withScores);
        nodes.Clear();
    }

    private static RedisSortedSet Compute(Input[] inputs, double[] weights, SetOp op, Aggregate aggregate, long limit, out long cardinality)
    {
        var result = new RedisSortedSet();
        cardinality = 0;
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        switch (op)
        {
            case SetOp.Union:
                for (int i = 0; i < inputs.Length; i++)
                {
                    ForEach(inputs[i], scratch, (member, score) =>
                    {
                        double value = Weighted(weights[i], score);
                        if (result.TryGetScore(member, out double existing)) result.Set(member, Combine(existing, value, aggregate));
                        else result.Set(member, value);
                    });
                }
                break;
            case SetOp.Inter:
            {
                var order = Enumerable.Range(0, inputs.Length).OrderBy(i => inputs[i].Count).ToArray();
                if (inputs[order[0]].Count == 0) break;
                bool stop = false;
                long found = 0;
                ForEach(inputs[order[0]], scratch, (member, score) =>
                {
                    if (stop) return;
                    double value = Weighted(weights[order[0]], score);
                    for (int k = 1; k < order.Length; k++)
                    {
                        if (!inputs[order[k]].TryGetScore(member, out double other)) return;
                        value = Combine(value, Weighted(weights[order[k]], other), aggregate);
                    }
                    found++;
                    if (limit >= 0)
                    {
                        if (limit > 0 && found >= limit) stop = true;
                        return;
                    }
                    result.Set(member, value);
                });
                cardinality = found;
                break;
            }
            default:
                if (inputs[0].Count == 0) break;
                ForEach(inputs[0], scratch, (member, score) =>
                {
                    for (int k = 1; k < inputs.Length; k++)
                        if (inputs[k].TryGetScore(member, out _)) return;
                    result.Set(member, score);
                });
                break;
        }
        return result;
    }

    private static double Weighted(double weight, double score)
    {
        double v = weight * score;
        return double.IsNaN(v) ? 0.0 : v;
    }

    private delegate void MemberAction(ReadOnlySpan<byte> member, double score);

    private static void ForEach(in Input input, Span<byte> scratch, MemberAction action)
    {
        if (input.ZSet is { } z)
        {
            for (var n = z.List.First; n is not null; n = n.Next) action(n.Member, n.Score);
        }
        else if (input.Set is { } s)
        {
            for (int i = 0; i < s.Count; i++) action(s.MemberAt(i, scratch), 1.0);
        }
    }

    // ---------------------------------------------------------------- pops

    private static void ZPopMin(ref CommandContext c) => PopCommand(ref c, max: false);

    private static void ZPopMax(ref CommandContext c) => PopCommand(ref c, max: true);

    private static void PopCommand(ref CommandContext c, bool max)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        long count = -1;
        if (c.Count == 3)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(2), out count))
            {
                c.Reply.Error(Errors.NotInteger);
                return;
            }
            if (count < 0)
            {
                c.Reply.Error(Errors.NotPositive);
                return;
            }
        }
        bool nested = c.Client.Protocol == RespVersion.Resp3 && count != -1;
        PopGeneric(ref c, 1, 1, max, emitKey: false, count, nested, nilWhenEmpty: false);
    }

    /// <summary>Redis's genericZpopCommand over keys at argument indexes [first, first+keyCount).</summary>
    private static void PopGeneric(ref CommandContext c, int first, int keyCount, bool max, bool emitKey, long count, bool nested, bool nilWhenEmpty)
    {
        var db = c.Db;
        RedisEntry? e = null;
        RedisSortedSet? z = null;
        int keyIndex = 0;
        for (int i = 0; i < keyCount; i++)
        {
            e = db.FindObject(c.Arg(first + i), LookupFlags.None, out bool compactString);
            if (e is null && !compactString) continue;
            if (e?.Obj is not RedisSortedSet found)
            {
                c.Reply.Error(Errors.WrongType);
                return;
            }
            z = found;
            keyIndex = first + i;
            break;
        }
        if (z is null)
        {
            if (nilWhenEmpty) c.Reply.NullArray();
            else c.Reply.ArrayHeader(0);
            return;
        }
        if (count == 0)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        if (count == -1) count = 1;
        int n = (int)Math.Min(count, z.Count);
        if (!nested && !emitKey) c.Reply.ArrayHeader(n * 2);
        else if (nested && !emitKey) c.Reply.ArrayHeader(n);
        else if (!nested)
        {
            c.Reply.ArrayHeader(n * 2 + 1);
            c.Reply.Bulk(c.Arg(keyIndex));
        }
        else
        {
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk(c.Arg(keyIndex));
            c.Reply.ArrayHeader(n);
        }
        for (int i = 0; i < n; i++)
        {
            var node = max ? z.List.Last! : z.List.First!;
            if (nested) c.Reply.ArrayHeader(2);
            c.Reply.Bulk(node.Member);
            c.Reply.Double(node.Score);
            z.Remove(node);
        }
        // ZMPOP and BZMPOP propagate as ZPOPMIN/ZPOPMAX key <popped>.
        if (nested && emitKey) c.RewritePropagation().Arg(max ? "ZPOPMAX"u8 : "ZPOPMIN"u8).Arg(c.Arg(keyIndex)).Arg(n).End();
        Modified(db, e!, z, max ? KeyEvent.ZPopMax : KeyEvent.ZPopMin);
    }

    private static bool ParseMPop(ref CommandContext c, int numKeysIndex, out int numKeys, out bool max, out long count)
    {
        numKeys = 0;
        max = false;
        count = -1;
        if (!RedisNumbers.TryParseInt64(c.Arg(numKeysIndex), out long keys) || keys < 1)
        {
            c.Reply.Error(SetCommands.NumKeysNotPositive);
            return false;
        }
        long whereIdx = numKeysIndex + keys + 1;
        if (whereIdx >= c.Count)
        {
            c.Reply.Error(Errors.Syntax);
            return false;
        }
        numKeys = (int)keys;
        if (c.ArgIs((int)whereIdx, "MIN"u8)) max = false;
        else if (c.ArgIs((int)whereIdx, "MAX"u8)) max = true;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return false;
        }
        for (int j = (int)whereIdx + 1; j < c.Count; j++)
        {
            if (count == -1 && c.ArgIs(j, "COUNT"u8) && j + 1 < c.Count)
            {
                j++;
                if (!RedisNumbers.TryParseInt64(c.Arg(j), out count) || count < 1)
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

    private static void ZMPop(ref CommandContext c)
    {
        if (!ParseMPop(ref c, 1, out int numKeys, out bool max, out long count)) return;
        PopGeneric(ref c, 2, numKeys, max, emitKey: true, count, nested: true, nilWhenEmpty: true);
    }

    private static void BZPopMin(ref CommandContext c) => BlockingPop(ref c, 1, c.Count - 2, c.Count - 1, max: false, count: -1, nested: false);

    private static void BZPopMax(ref CommandContext c) => BlockingPop(ref c, 1, c.Count - 2, c.Count - 1, max: true, count: -1, nested: false);

    private static void BZMPop(ref CommandContext c)
    {
        if (!ParseMPop(ref c, 2, out int numKeys, out bool max, out long count)) return;
        BlockingPop(ref c, 3, numKeys, 1, max, count, nested: true);
    }

    private static void BlockingPop(ref CommandContext c, int first, int keyCount, int timeoutIndex, bool max, long count, bool nested)
    {
        if (!TryParseTimeout(ref c, timeoutIndex, out long timeoutMs)) return;
        var db = c.Db;
        for (int i = 0; i < keyCount; i++)
        {
            var e = db.FindObject(c.Arg(first + i), LookupFlags.None, out bool compactString);
            if (e is null && !compactString) continue;
            if (e?.Obj is not RedisSortedSet z)
            {
                c.Reply.Error(Errors.WrongType);
                return;
            }
            if (z.Count == 0) continue;
            PopGeneric(ref c, first + i, 1, max, emitKey: true, count, nested, nilWhenEmpty: true);
            if (count == -1) c.RewritePropagation().Arg(max ? "ZPOPMAX"u8 : "ZPOPMIN"u8).Arg(c.Arg(first + i)).End();
            return;
        }
        var keys = new byte[keyCount][];
        for (int i = 0; i < keyCount; i++) keys[i] = c.Arg(first + i).ToArray();
        c.Block(keys, timeoutMs, BlockTimeoutReply.NullArray, BlockedOn.SortedSet);
    }

    /// <summary>Redis's getTimeoutFromObjectOrReply in seconds: a float, not negative; milliseconds rounded up.</summary>
    internal static bool TryParseTimeout(ref CommandContext c, int index, out long timeoutMs)
    {
        timeoutMs = 0;
        if (!RedisNumbers.TryParseDouble(c.Arg(index), out double seconds) || double.IsInfinity(seconds))
        {
            c.Reply.Error(TimeoutNotFloat);
            return false;
        }
        if (seconds < 0)
        {
            c.Reply.Error(TimeoutNegative);
            return false;
        }
        double ms = Math.Ceiling(seconds * 1000.0);
        if (ms > long.MaxValue / 2)
        {
            c.Reply.Error(TimeoutOutOfRange);
            return false;
        }
        timeoutMs = (long)ms;
        return true;
    }

    // ---------------------------------------------------------------- ZRANDMEMBER / ZSCAN

    private static void ZRandMember(ref CommandContext c)
    {
        if (c.Count == 2)
        {
            if (!TryRead(ref c, c.Db, c.Arg(1), out var one)) return;
            if (one is null) c.Reply.Null();
            else c.Reply.Bulk(one.ByRank(Random.Shared.NextInt64(one.Count))!.Member);
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long count) || count == long.MinValue)
        {
            c.Reply.Error(count == long.MinValue ? OutOfRange : Errors.NotInteger);
            return;
        }
        bool withScores = false;
        if (c.Count > 4 || (c.Count == 4 && !c.ArgIs(3, "WITHSCORES"u8)))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (c.Count == 4)
        {
            withScores = true;
            if (count < -long.MaxValue / 2 || count > long.MaxValue / 2)
            {
                c.Reply.Error(OutOfRange);
                return;
            }
        }
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        if (z is null || count == 0)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        bool nested = withScores && c.Client.Protocol == RespVersion.Resp3;
        if (count < 0)
        {
            long n = -count;
            c.Reply.ArrayHeader((int)Math.Min(withScores && !nested ? n * 2 : n, int.MaxValue));
            for (long i = 0; i < n; i++)
            {
                var node = z.ByRank(Random.Shared.NextInt64(z.Count))!;
                if (nested) c.Reply.ArrayHeader(2);
                c.Reply.Bulk(node.Member);
                if (withScores) c.Reply.Double(node.Score);
            }
            return;
        }
        var nodes = Nodes();
        if (count >= z.Count)
        {
            // Redis 7.0 replies with the whole set from the highest score down.
            for (var node = z.List.Last; node is not null; node = node.Previous) nodes.Add(node);
        }
        else
        {
            var ranks = new HashSet<long>();
            while (ranks.Count < count)
            {
                long r = Random.Shared.NextInt64(z.Count);
                if (ranks.Add(r)) nodes.Add(z.ByRank(r)!);
            }
        }
        WriteNodes(c.Reply, nodes, withScores);
        nodes.Clear();
    }

    private static void ZScan(ref CommandContext c)
    {
        if (!KeyCommands.TryParseCursor(c.Arg(2), out ulong cursor))
        {
            c.Reply.Error(KeyCommands.InvalidCursor);
            return;
        }
        if (!TryRead(ref c, c.Db, c.Arg(1), out var z)) return;
        if (z is null)
        {
            SetCommands.WriteEmptyScan(c.Reply);
            return;
        }
        if (!ScanOptions.TryParse(ref c, 3, out long count, out int patternArg)) return;
        var nodes = Nodes();
        ulong next = 0;
        if (z.IsSkiplistEncoded)
        {
            var slots = SetCommands.ScanSlots();
            try
            {
                next = z.Scan(cursor, (int)Math.Min(count, int.MaxValue / 16), slots, nodes);
            }
            finally
            {
                slots.Clear();
            }
            if (patternArg != 0)
            {
                int kept = 0;
                for (int k = 0; k < nodes.Count; k++)
                    if (Glob.IsMatch(c.Arg(patternArg), nodes[k].Member)) nodes[kept++] = nodes[k];
                nodes.RemoveRange(kept, nodes.Count - kept);
            }
        }
        else
        {
            // A listpack is returned whole in one call, whatever the cursor and COUNT, as Redis does.
            for (var node = z.List.First; node is not null; node = node.Next)
                if (patternArg == 0 || Glob.IsMatch(c.Arg(patternArg), node.Member)) nodes.Add(node);
        }
        SetCommands.WriteCursor(c.Reply, next);
        c.Reply.ArrayHeader(nodes.Count * 2);
        foreach (var n in nodes)
        {
            c.Reply.Bulk(n.Member);
            WriteScoreText(c.Reply, n.Score);
        }
        nodes.Clear();
    }
}
