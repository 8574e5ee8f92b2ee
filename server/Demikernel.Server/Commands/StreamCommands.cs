using System.Runtime.CompilerServices;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Stream commands (XADD, XRANGE, XREAD, consumer groups, XINFO, ...) with redis-server 7.0's options, reply shapes
/// and error texts (t_stream.c). Streams are not deleted when they become empty, as in Redis.
/// </summary>
/// <remarks>
/// Blocking XREAD: the session re-runs the same request bytes when a key is signalled, so "$" must keep meaning
/// "after the last ID when the command was first run". The IDs resolved at that time are kept in the client's
/// <see cref="ClientState.BlockState"/> (cleared when the client is unparked) and used instead of re-resolving "$" when
/// the session re-runs the request (<see cref="CommandContext.IsRetry"/>).
/// </remarks>
public static class StreamCommands
{
    internal const string InvalidId = "ERR Invalid stream ID specified as stream command argument";
    internal const string IdTooSmall = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    internal const string IdZero = "ERR The ID specified in XADD must be greater than 0-0";
    internal const string IdExhausted = "ERR The stream has exhausted the last possible ID, unable to add more items";
    internal const string MaxLenAndMinId = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    internal const string MaxLenNegative = "ERR The MAXLEN argument must be >= 0.";
    internal const string LimitNegative = "ERR The LIMIT argument must be >= 0.";
    internal const string LimitWithoutStrategy = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
    internal const string XTrimWithoutStrategy = "ERR syntax error, XTRIM must be called with a trimming strategy";
    internal const string LimitWithoutApprox = "ERR syntax error, LIMIT cannot be used without the special ~ option";
    internal const string InvalidStart = "ERR invalid start ID for the interval";
    internal const string InvalidEnd = "ERR invalid end ID for the interval";
    internal const string TimeoutNotInteger = "ERR timeout is not an integer or out of range";
    internal const string TimeoutNegative = "ERR timeout is negative";
    internal const string Unbalanced = "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
    internal const string GroupOnlyXReadGroup = "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
    internal const string NoAckOnlyXReadGroup = "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
    internal const string MissingGroup = "ERR Missing GROUP option for XREADGROUP";
    internal const string DollarInGroup = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
    internal const string GreaterOutsideGroup = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
    internal const string BusyGroup = "BUSYGROUP Consumer Group name already exists";
    internal const string XGroupNeedsKey = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
    internal const string EntriesReadRange = "ERR value for ENTRIESREAD must be positive or -1";
    internal const string EntriesAddedNegative = "ERR entries_added must be positive";
    internal const string SetIdBelowMaxDeleted = "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
    internal const string SetIdBelowTop = "ERR The ID specified in XSETID is smaller than the target stream top item";
    internal const string SetIdEntriesAdded = "ERR The entries_added specified in XSETID is smaller than the target stream length";
    internal const string AutoClaimCount = "ERR COUNT must be > 0";

    /// <summary>Redis's XREAD_BLOCKED_DEFAULT_COUNT: a blocked XREAD without COUNT is served at most this many entries.</summary>
    private const int BlockedDefaultCount = 1000;

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const CommandFlags Write = CommandFlags.Write;
    private const string G = "stream";

    public static void Register(CommandTable table)
    {
        table.Add(new("XADD", XAdd)
        );
        table.Add(new("XLEN", XLen));
        table.Add(new("XRANGE", XRange)
        );
        table.Add(new("XREVRANGE", XRevRange)
        );
        table.Add(new("XREAD", XRead)
        );
        table.Add(new("XREADGROUP", XReadGroup)
        );
        table.Add(new("XDEL", XDel)
        );
        table.Add(new("XTRIM", XTrim)
        );
        table.Add(new("XSETID", XSetId));
        table.Add(new("XACK", XAck)
        );
        table.Add(new("XPENDING", XPending)
        );
        table.Add(new("XCLAIM", XClaim)
        );
        table.Add(new("XAUTOCLAIM", XAutoClaim)
        );
        table.Add(new("XGROUP", XGroupHelp)
        {
            Subcommands =
            [
                new("CREATE", XGroupCreate),
                new("SETID", XGroupSetId),
                new("DESTROY", XGroupDestroy)
                {
                },
                new("CREATECONSUMER", XGroupCreateConsumer),
                new("DELCONSUMER", XGroupDelConsumer),
                new("HELP", XGroupHelp),
            ],
        });
        table.Add(new("XINFO", XInfoHelp)
        {
            Subcommands =
            [
                new("CONSUMERS", XInfoConsumers),
                new("GROUPS", XInfoGroups),
                new("STREAM", XInfoStream),
                new("HELP", XInfoHelp),
            ],
        });
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Writes an ID as a bulk string without allocating.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteId(ReplyBuffer reply, StreamId id)
    {
        Span<byte> text = stackalloc byte[StreamId.MaxTextLength];
        reply.Bulk(text[..id.Format(text)]);
    }

    /// <summary>[id, [field, value, ...]].</summary>
    private static void WriteEntry(ReplyBuffer reply, StreamId id, byte[] data)
    {
        reply.ArrayHeader(2);
        WriteId(reply, id);
        int pairs = StreamEntry.Pairs(data);
        reply.ArrayHeader(pairs * 2);
        int offset = 4;
        for (int i = 0; i < pairs * 2; i++) reply.Bulk(StreamEntry.Next(data, ref offset));
    }

    private static bool ParseId(ref CommandContext c, int index, ulong missingSeq, bool strict, out StreamId id)
    {
        if (StreamId.TryParse(c.Arg(index), missingSeq, strict, allowSeqStar: false, out id, out _)) return true;
        c.Reply.Error(InvalidId);
        return false;
    }

    /// <summary>A range bound: "-", "+", "ms", "ms-seq", or "(" + a strict ID for an exclusive bound.</summary>
    private static bool ParseIntervalId(ref CommandContext c, int index, ulong missingSeq, out StreamId id, out bool exclusive)
    {
        var text = c.Arg(index);
        exclusive = text.Length > 1 && text[0] == '(';
        bool ok = exclusive
            ? StreamId.TryParse(text[1..], missingSeq, strict: true, allowSeqStar: false, out id, out _)
            : StreamId.TryParse(text, missingSeq, strict: false, allowSeqStar: false, out id, out _);
        if (!ok) c.Reply.Error(InvalidId);
        return ok;
    }

    /// <summary>Start (inclusive after "(" handling) of an interval; false after an error reply.</summary>
    private static bool ParseStart(ref CommandContext c, int index, out StreamId start)
    {
        if (!ParseIntervalId(ref c, index, 0, out start, out bool ex)) return false;
        if (ex && !start.TryIncrement(out start))
        {
            c.Reply.Error(InvalidStart);
            return false;
        }
        return true;
    }

    private static bool ParseEnd(ref CommandContext c, int index, out StreamId end)
    {
        if (!ParseIntervalId(ref c, index, ulong.MaxValue, out end, out bool ex)) return false;
        if (ex && !end.TryDecrement(out end))
        {
            c.Reply.Error(InvalidEnd);
            return false;
        }
        return true;
    }

    /// <summary>Looks up a stream for reading (counts hits/misses); false after a WRONGTYPE reply.</summary>
    private static bool LookupRead(ref CommandContext c, ReadOnlySpan<byte> key, out RedisStream? stream, out RedisEntry? entry) =>
        TypedLookup.TryRead(ref c, c.Db, key, out entry, out stream);

    /// <summary>Looks up a stream for writing (no stats); false after a WRONGTYPE reply.</summary>
    private static bool LookupWrite(ref CommandContext c, ReadOnlySpan<byte> key, out RedisStream? stream, out RedisEntry? entry) =>
        TypedLookup.TryWrite(ref c, c.Db, key, out entry, out stream);

    private static bool ParseLong(ref CommandContext c, int index, out long value, string error = Errors.NotInteger)
    {
        if (RedisNumbers.TryParseInt64(c.Arg(index), out value)) return true;
        c.Reply.Error(error);
        return false;
    }

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static string NoGroupError(ReadOnlySpan<byte> key, ReadOnlySpan<byte> group) =>
        $"NOGROUP No such key '{Text(key)}' or consumer group '{Text(group)}'";

    private static string NoSuchGroupForKey(ReadOnlySpan<byte> group, ReadOnlySpan<byte> key) =>
        $"NOGROUP No such consumer group '{Text(group)}' for key name '{Text(key)}'";

    private static string SubcommandSyntax(ref CommandContext c) =>
        $"ERR unknown subcommand or wrong number of arguments for '{Text(c.Arg(1))}'. Try {Text(c.Arg(0)).ToUpperInvariant()} HELP.";

    // ---------------------------------------------------------------- XADD / XTRIM

    private struct TrimArgs
    {
        public StreamTrimStrategy Strategy;
        public bool Approx;
        public long MaxLen;
        public StreamId MinId;
        public long Limit;
        public bool NoMkStream;
        public bool IdGiven;
        public bool SeqGiven;
        public StreamId Id;
        /// <summary>Index of the MAXLEN/MINID value (the "~" is right before it when <see cref="Approx"/>).</summary>
        public int ValueArg;
    }

    /// <summary>Options of XADD/XTRIM; returns the ID's position (XADD) or 0, or -1 after an error reply.</summary>
    private static int ParseTrimArgs(ref CommandContext c, bool xadd, out TrimArgs a)
    {
        a = default;
        bool limitGiven = false;
        int i = 2;
        for (; i < c.Count; i++)
        {
            int more = c.Count - 1 - i;
            var opt = c.Arg(i);
            if (xadd && opt.Length == 1 && opt[0] == '*') break;
            if (more > 0 && (c.ArgIs(i, "MAXLEN"u8) || c.ArgIs(i, "MINID"u8)))
            {
                bool maxLen = c.ArgIs(i, "MAXLEN"u8);
                if (a.Strategy != StreamTrimStrategy.None)
                {
                    c.Reply.Error(MaxLenAndMinId);
                    return -1;
                }
                a.Approx = false;
                var next = c.Arg(i + 1);
                if (more >= 2 && next.Length == 1 && next[0] == '~')
                {
                    a.Approx = true;
                    i++;
                }
                else if (more >= 2 && next.Length == 1 && next[0] == '=') i++;
                a.ValueArg = i + 1;
                if (maxLen)
                {
                    if (!ParseLong(ref c, i + 1, out a.MaxLen)) return -1;
                    if (a.MaxLen < 0)
                    {
                        c.Reply.Error(MaxLenNegative);
                        return -1;
                    }
                    a.Strategy = StreamTrimStrategy.MaxLen;
                }
                else
                {
                    if (!ParseId(ref c, i + 1, 0, strict: true, out a.MinId)) return -1;
                    a.Strategy = StreamTrimStrategy.MinId;
                }
                i++;
            }
            else if (more > 0 && c.ArgIs(i, "LIMIT"u8))
            {
                if (!ParseLong(ref c, i + 1, out a.Limit)) return -1;
                if (a.Limit < 0)
                {
                    c.Reply.Error(LimitNegative);
                    return -1;
                }
                limitGiven = true;
                i++;
            }
            else if (xadd && c.ArgIs(i, "NOMKSTREAM"u8)) a.NoMkStream = true;
            else if (xadd)
            {
                if (!StreamId.TryParse(opt, 0, strict: true, allowSeqStar: true, out a.Id, out a.SeqGiven))
                {
                    c.Reply.Error(InvalidId);
                    return -1;
                }
                a.IdGiven = true;
                break;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return -1;
            }
        }
        if (a.Limit != 0 && a.Strategy == StreamTrimStrategy.None)
        {
            c.Reply.Error(LimitWithoutStrategy);
            return -1;
        }
        if (!xadd && a.Strategy == StreamTrimStrategy.None)
        {
            c.Reply.Error(XTrimWithoutStrategy);
            return -1;
        }
        if (c.Client.MustObey) a.Limit = 0; // replayed (AOF, master): the trim was rewritten to be exact
        else if (limitGiven)
        {
            if (!a.Approx)
            {
                c.Reply.Error(LimitWithoutApprox);
                return -1;
            }
        }
        else if (a.Approx) a.Limit = RedisStream.DefaultApproxTrimLimit();
        else a.Limit = 0;
        return i;
    }

    private static void XAdd(ref CommandContext c)
    {
        int idPos = ParseTrimArgs(ref c, xadd: true, out var a);
        if (idPos < 0) return;
        int fieldPos = idPos + 1;
        int fields = c.Count - fieldPos;
        if (fields < 2 || (fields & 1) == 1)
        {
            c.Reply.Error(Errors.WrongArgCount("xadd"));
            return;
        }
        if (a.IdGiven && a.SeqGiven && a.Id.IsZero)
        {
            c.Reply.Error(IdZero);
            return;
        }
        var db = c.Db;
        var key = c.Arg(1);
        if (!LookupWrite(ref c, key, out var s, out var entry)) return;
        if (s is null)
        {
            if (a.NoMkStream)
            {
                c.Reply.Null();
                return;
            }
            s = new RedisStream();
            entry = db.SetObject(key, s, KeyEvent.None);
        }
        if (s.LastId == StreamId.Max)
        {
            c.Reply.Error(IdExhausted);
            return;
        }
        StreamId id;
        if (!a.IdGiven)
        {
            if (!s.TryNextId(c.Server.NowMs, out id))
            {
                c.Reply.Error(IdTooSmall);
                return;
            }
        }
        else if (a.SeqGiven) id = a.Id;
        else if (s.LastId.Ms == a.Id.Ms)
        {
            if (!s.LastId.TryIncrement(out id) || id.Ms != a.Id.Ms)
            {
                c.Reply.Error(IdTooSmall);
                return;
            }
        }
        else id = a.Id;
        if (id <= s.LastId)
        {
            c.Reply.Error(IdTooSmall);
            return;
        }

        // The entry is the only allocation: one array with every field and value.
        int pairs = fields / 2;
        long payload = 0;
        for (int j = fieldPos; j < c.Count; j++) payload += c.Arg(j).Length;
        var data = new byte[StreamEntry.SizeFor(pairs, payload)];
        int offset = StreamEntry.Begin(data, pairs);
        for (int j = fieldPos; j < c.Count; j++) offset = StreamEntry.Put(data, offset, c.Arg(j));
        s.Append(id, data);
        WriteId(c.Reply, id);
        long trimmed = a.Strategy != StreamTrimStrategy.None ? s.Trim(a.Strategy, a.MaxLen, a.MinId, a.Approx, a.Limit) : 0;
        // Replayed deterministically: the generated ID instead of * or ms-*, and "~ n" as "= <what the trim left>".
        if (a.Approx || !a.IdGiven || !a.SeqGiven) PropagateAddOrTrim(ref c, s, a, (!a.IdGiven || !a.SeqGiven) ? idPos : -1, id);
        db.NotifyModified(entry!, KeyEvent.XAdd);
        if (trimmed > 0) c.Server.Notifications.Fire(db.Index, c.Arg(1), KeyEvent.XTrim); // "xtrim" after "xadd", as redis
    }

    private static void XTrim(ref CommandContext c)
    {
        if (ParseTrimArgs(ref c, xadd: false, out var a) < 0) return;
        if (!LookupWrite(ref c, c.Arg(1), out var s, out var entry)) return;
        if (s is null)
        {
            c.Reply.Integer(0);
            return;
        }
        long deleted = s.Trim(a.Strategy, a.MaxLen, a.MinId, a.Approx, a.Limit);
        if (deleted > 0 && a.Approx) PropagateAddOrTrim(ref c, s, a, -1, default);
        if (deleted > 0) c.Db.NotifyModified(entry!, KeyEvent.XTrim);
        c.Reply.Integer(deleted);
    }

    /// <summary>XADD/XTRIM as redis-server propagates them: an approximate trim becomes exact ("=" and the length
    /// left, or the first ID left), and the ID at <paramref name="idArg"/> (when not -1) becomes <paramref name="id"/>.</summary>
    private static void PropagateAddOrTrim(ref CommandContext c, RedisStream s, in TrimArgs a, int idArg, StreamId id)
    {
        if (!c.Propagating) return;
        Span<byte> text = stackalloc byte[StreamId.MaxTextLength];
        var rewrite = c.RewritePropagation();
        for (int j = 0; j < c.Count; j++)
        {
            if (a.Approx && j == a.ValueArg - 1) rewrite.Arg("="u8);
            else if (a.Approx && j == a.ValueArg)
            {
                if (a.Strategy == StreamTrimStrategy.MaxLen) rewrite.Arg(s.Length);
                else rewrite.Arg(text[..s.FirstIdWithTombstones().Format(text)]);
            }
            else if (j == idArg) rewrite.Arg(text[..id.Format(text)]);
            else rewrite.Arg(c.Arg(j));
        }
        rewrite.End();
    }

    private static void XLen(ref CommandContext c)
    {
        if (!LookupRead(ref c, c.Arg(1), out var s, out _)) return;
        c.Reply.Integer(s?.Length ?? 0);
    }

    private static void XDel(ref CommandContext c)
    {
        if (!LookupWrite(ref c, c.Arg(1), out var s, out var entry)) return;
        if (s is null)
        {
            c.Reply.Integer(0);
            return;
        }
        for (int j = 2; j < c.Count; j++)
            if (!ParseId(ref c, j, 0, strict: true, out _)) return;
        long deleted = 0;
        for (int j = 2; j < c.Count; j++)
        {
            ParseId(ref c, j, 0, strict: true, out var id);
            if (s.Delete(id)) deleted++;
        }
        if (deleted > 0) c.Db.NotifyModified(entry!, KeyEvent.XDel);
        c.Reply.Integer(deleted);
    }

    private static void XSetId(ref CommandContext c)
    {
        if (!ParseId(ref c, 2, 0, strict: true, out var id)) return;
        long entriesAdded = -1;
        StreamId maxDeleted = default;
        for (int i = 3; i < c.Count; i += 2)
        {
            int more = c.Count - 1 - i;
            if (more > 0 && c.ArgIs(i, "ENTRIESADDED"u8))
            {
                if (!ParseLong(ref c, i + 1, out entriesAdded)) return;
                if (entriesAdded < 0)
                {
                    c.Reply.Error(EntriesAddedNegative);
                    return;
                }
            }
            else if (more > 0 && c.ArgIs(i, "MAXDELETEDID"u8))
            {
                if (!ParseId(ref c, i + 1, 0, strict: true, out maxDeleted)) return;
                if (id < maxDeleted)
                {
                    c.Reply.Error(SetIdBelowMaxDeleted);
                    return;
                }
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!LookupWrite(ref c, c.Arg(1), out var s, out var entry)) return;
        if (s is null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (s.Length > 0)
        {
            if (id < s.LastLiveId())
            {
                c.Reply.Error(SetIdBelowTop);
                return;
            }
            if (entriesAdded != -1 && s.Length > entriesAdded)
            {
                c.Reply.Error(SetIdEntriesAdded);
                return;
            }
        }
        s.LastId = id;
        if (entriesAdded != -1) s.EntriesAdded = entriesAdded;
        if (!maxDeleted.IsZero) s.MaxDeletedId = maxDeleted;
        c.Db.NotifyModified(entry!, KeyEvent.XSetId);
        c.Reply.Ok();
    }

    // ---------------------------------------------------------------- XRANGE / XREVRANGE

    private static void XRange(ref CommandContext c) => RangeGeneric(ref c, reverse: false);

    private static void XRevRange(ref CommandContext c) => RangeGeneric(ref c, reverse: true);

    private static void RangeGeneric(ref CommandContext c, bool reverse)
    {
        int startArg = reverse ? 3 : 2, endArg = reverse ? 2 : 3;
        if (!ParseStart(ref c, startArg, out var start)) return;
        if (!ParseEnd(ref c, endArg, out var end)) return;
        long count = -1;
        for (int j = 4; j < c.Count; j++)
        {
            if (c.ArgIs(j, "COUNT"u8) && j + 1 < c.Count)
            {
                if (!ParseLong(ref c, j + 1, out count)) return;
                if (count < 0) count = 0;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!LookupRead(ref c, c.Arg(1), out var s, out _)) return;
        if (s is null)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        if (count == 0)
        {
            c.Reply.NullArray();
            return;
        }
        WriteRange(c.Reply, s, start, end, count < 0 ? long.MaxValue : count, reverse);
    }

    /// <summary>An array of entries in [start, end], at most <paramref name="count"/>.</summary>
    private static void WriteRange(ReplyBuffer reply, RedisStream s, StreamId start, StreamId end, long count, bool reverse)
    {
        var e = s.Range(start, end, reverse);
        var counter = e;
        int n = 0;
        while (n < count && counter.MoveNext()) n++;
        reply.ArrayHeader(n);
        for (int i = 0; i < n && e.MoveNext(); i++) WriteEntry(reply, e.Id, e.Data);
    }

    // ---------------------------------------------------------------- XREAD / XREADGROUP

    /// <summary>The IDs a blocked XREAD resolved when it was first run (see the class remarks).</summary>
    private sealed class PendingRead
    {
        public required StreamId[] Ids;
    }

    /// <summary>The IDs resolved by the first run of the request the session is re-running, or null for a fresh run.</summary>
    private static PendingRead? FindRetry(ref CommandContext c) => c.IsRetry ? c.Client.BlockState as PendingRead : null;

    private static void XRead(ref CommandContext c) => ReadGeneric(ref c, group: false);

    private static void XReadGroup(ref CommandContext c) => ReadGeneric(ref c, group: true);

    private static void ReadGeneric(ref CommandContext c, bool group)
    {
        long timeout = -1, count = 0;
        int streamsArg = 0, streams = 0, groupArg = 0;
        bool noAck = false;
        for (int i = 1; i < c.Count; i++)
        {
            int more = c.Count - i - 1;
            if (more > 0 && c.ArgIs(i, "BLOCK"u8))
            {
                i++;
                if (!ParseLong(ref c, i, out timeout, TimeoutNotInteger)) return;
                if (timeout < 0)
                {
                    c.Reply.Error(TimeoutNegative);
                    return;
                }
            }
            else if (more > 0 && c.ArgIs(i, "COUNT"u8))
            {
                i++;
                if (!ParseLong(ref c, i, out count)) return;
                if (count < 0) count = 0;
            }
            else if (more > 0 && c.ArgIs(i, "STREAMS"u8))
            {
                streamsArg = i + 1;
                streams = c.Count - streamsArg;
                if ((streams & 1) != 0)
                {
                    c.Reply.Error(Unbalanced);
                    return;
                }
                streams /= 2;
                break;
            }
            else if (more >= 2 && c.ArgIs(i, "GROUP"u8))
            {
                if (!group)
                {
                    c.Reply.Error(GroupOnlyXReadGroup);
                    return;
                }
                groupArg = i + 1;
                i += 2;
            }
            else if (c.ArgIs(i, "NOACK"u8))
            {
                if (!group)
                {
                    c.Reply.Error(NoAckOnlyXReadGroup);
                    return;
                }
                noAck = true;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (streamsArg == 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (group && groupArg == 0)
        {
            c.Reply.Error(MissingGroup);
            return;
        }

        var retry = timeout >= 0 ? FindRetry(ref c) : null;
        Span<StreamId> ids = streams <= 32 ? stackalloc StreamId[streams] : new StreamId[streams];
        var groupName = group ? c.Arg(groupArg) : default;
        for (int k = 0; k < streams; k++)
        {
            int idArg = streamsArg + streams + k;
            var key = c.Arg(streamsArg + k);
            if (!LookupRead(ref c, key, out var s, out _))
            {
                if (retry is not null) c.Client.BlockState = null;
                return;
            }
            if (group && (s is null || s.FindGroup(groupName) is null))
            {
                // A client that was blocked gets redis-server's serveClientsBlockedOnStreamKey text.
                if (retry is not null) c.Client.BlockState = null;
                if (c.IsRetry) c.Reply.Error("NOGROUP the consumer group this client was blocked on no longer exists");
                else c.Reply.Error($"{NoGroupError(key, groupName)} in XREADGROUP with GROUP option");
                return;
            }
            var idText = c.Arg(idArg);
            if (idText.Length == 1 && idText[0] == '$')
            {
                if (group)
                {
                    c.Reply.Error(DollarInGroup);
                    return;
                }
                ids[k] = retry is not null ? retry.Ids[k] : s?.LastId ?? default;
            }
            else if (idText.Length == 1 && idText[0] == '>')
            {
                if (!group)
                {
                    c.Reply.Error(GreaterOutsideGroup);
                    return;
                }
                ids[k] = StreamId.Max;
            }
            else if (!ParseId(ref c, idArg, 0, strict: true, out ids[k])) return;
        }
        if (retry is not null && count == 0) count = BlockedDefaultCount;

        // Which streams can be served now (and after which ID).
        Span<StreamId> from = streams <= 32 ? stackalloc StreamId[streams] : new StreamId[streams];
        Span<bool> serve = streams <= 64 ? stackalloc bool[streams] : new bool[streams];
        int served = 0;
        var db = c.Db;
        for (int k = 0; k < streams; k++)
        {
            if (db.TryGetObject<RedisStream>(c.Arg(streamsArg + k), out var s, LookupFlags.NoTouch) != StoreStatus.Ok) continue;
            var gt = ids[k];
            bool now = false;
            if (group)
            {
                var g = s!.FindGroup(groupName)!;
                if (gt != StreamId.Max) now = true;
                else if (s.Length > 0 && s.LastLiveId() > g.LastId)
                {
                    now = true;
                    gt = g.LastId;
                }
            }
            else if (s!.Length > 0 && s.LastLiveId() > gt) now = true;
            if (!now) continue;
            served++;
            serve[k] = true;
            from[k] = gt;
        }

        if (served > 0)
        {
            if (retry is not null) c.Client.BlockState = null;
            bool resp3 = c.Client.Protocol == RespVersion.Resp3;
            if (resp3) c.Reply.MapHeader(served);
            else c.Reply.ArrayHeader(served);
            long nowMs = c.Server.NowMs;
            for (int k = 0; k < streams; k++)
            {
                if (!serve[k]) continue;
                var key = c.Arg(streamsArg + k);
                var entry = db.Find(key, LookupFlags.NoTouch)!;
                var s = (RedisStream)entry.Object!;
                if (!resp3) c.Reply.ArrayHeader(2);
                c.Reply.Bulk(key);
                if (!group)
                {
                    if (from[k].TryIncrement(out var start)) WriteRange(c.Reply, s, start, StreamId.Max, count == 0 ? long.MaxValue : count, reverse: false);
                    else c.Reply.ArrayHeader(0);
                    continue;
                }
                var g = s.FindGroup(groupName)!;
                var consumerName = c.Arg(groupArg + 1);
                var consumer = g.FindConsumer(consumerName);
                if (consumer is null)
                {
                    consumer = g.CreateConsumer(consumerName, nowMs)!;
                    c.Server.Notifications.Fire(db.Index, key, KeyEvent.XGroupCreateConsumer);
                    // With NOACK no XCLAIM will create the consumer on replay.
                    if (noAck) c.AlsoPropagate().Arg("XGROUP"u8).Arg("CREATECONSUMER"u8).Arg(key).Arg(groupName).Arg(consumerName).End();
                }
                else consumer.SeenTime = nowMs;
                from[k].TryIncrement(out var first);
                if (ids[k] != StreamId.Max) WriteHistory(c.Reply, s, consumer, first, count, nowMs);
                else DeliverNew(ref c, key, s, g, consumer, first, count, noAck, nowMs);
                db.NotifyModified(entry, KeyEvent.XReadGroup);
            }
            // Propagated only through the XCLAIM / XGROUP commands added above.
            if (group) c.PreventPropagation();
            return;
        }

        if (timeout >= 0)
        {
            if (c.Client.Session is not null && !c.Client.InExec && retry is null)
            {
                c.Client.BlockState = new PendingRead { Ids = ids.ToArray() };
            }
            var keys = new byte[streams][];
            for (int k = 0; k < streams; k++) keys[k] = c.Arg(streamsArg + k).ToArray();
            c.Block(keys, timeout, BlockTimeoutReply.NullArray, group ? BlockedOn.StreamGroup : BlockedOn.Stream);
            return;
        }
        c.Reply.NullArray();
    }

    /// <summary>New entries for a group ("&gt;"): delivered, moved into the PELs unless NOACK.</summary>
    private static void DeliverNew(ref CommandContext c, ReadOnlySpan<byte> key, RedisStream s, StreamGroup g, StreamConsumer consumer, StreamId start, long count, bool noAck, long now)
    {
        var reply = c.Reply;
        Span<byte> idText = stackalloc byte[StreamId.MaxTextLength];
        var e = s.Range(start, StreamId.Max, reverse: false);
        var counter = e;
        int n = 0;
        while ((count == 0 || n < count) && counter.MoveNext()) n++;
        reply.ArrayHeader(n);
        for (int i = 0; i < n && e.MoveNext(); i++)
        {
            var id = e.Id;
            s.Deliver(g, id);
            WriteEntry(reply, id, e.Data);
            if (noAck) continue;
            var nack = g.Pel.Find(id);
            if (nack is null)
            {
                nack = new StreamNack(id, now, 1, consumer);
                g.Pel.Add(nack);
                consumer.Pel.Add(nack);
            }
            else
            {
                // XGROUP SETID moved the group back: the entry changes owner.
                nack.Consumer?.Pel.Remove(id);
                nack.Consumer = consumer;
                nack.DeliveryTime = now;
                nack.DeliveryCount = 1;
                consumer.Pel.Add(nack);
            }
            if (c.Propagating) PropagateXClaim(ref c, key, g, idText[..id.Format(idText)], nack);
        }
        // Without PEL entries (NOACK) there is no XCLAIM LASTID to carry the group's new position.
        if (noAck && n > 0) PropagateGroupId(ref c, key, g);
    }

    /// <summary>
    /// How redis-server propagates a PEL change: an idempotent
    /// <c>XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID group-last-id</c>.
    /// </summary>
    private static void PropagateXClaim(ref CommandContext c, scoped ReadOnlySpan<byte> key, StreamGroup g, scoped ReadOnlySpan<byte> id, StreamNack nack)
    {
        if (!c.Propagating) return;
        Span<byte> lastId = stackalloc byte[StreamId.MaxTextLength];
        c.AlsoPropagate().Arg("XCLAIM"u8).Arg(key).Arg(g.Name).Arg(nack.Consumer?.Name ?? []).Arg("0"u8).Arg(id)
            .Arg("TIME"u8).Arg(nack.DeliveryTime).Arg("RETRYCOUNT"u8).Arg(nack.DeliveryCount)
            .Arg("FORCE"u8).Arg("JUSTID"u8).Arg("LASTID"u8).Arg(lastId[..g.LastId.Format(lastId)]).End();
    }

    /// <summary>A group's new last ID as redis-server propagates it: XGROUP SETID key group id ENTRIESREAD n.</summary>
    private static void PropagateGroupId(ref CommandContext c, scoped ReadOnlySpan<byte> key, StreamGroup g)
    {
        if (!c.Propagating) return;
        Span<byte> lastId = stackalloc byte[StreamId.MaxTextLength];
        c.AlsoPropagate().Arg("XGROUP"u8).Arg("SETID"u8).Arg(key).Arg(g.Name).Arg(lastId[..g.LastId.Format(lastId)])
            .Arg("ENTRIESREAD"u8).Arg(g.EntriesRead).End();
    }

    /// <summary>A consumer's own history: its pending entries from <paramref name="start"/> on; deleted entries
    /// show as [id, nil].</summary>
    private static void WriteHistory(ReplyBuffer reply, RedisStream s, StreamConsumer consumer, StreamId start, long count, long now)
    {
        var pel = consumer.Pel;
        int from = pel.LowerBound(start);
        int n = pel.Count - from;
        if (count > 0 && n > count) n = (int)count;
        reply.ArrayHeader(n);
        for (int i = 0; i < n; i++)
        {
            var nack = pel.Nacks[from + i];
            var data = s.Get(nack.Id);
            if (data is null)
            {
                reply.ArrayHeader(2);
                WriteId(reply, nack.Id);
                reply.NullArray();
                continue;
            }
            WriteEntry(reply, nack.Id, data);
            nack.DeliveryTime = now;
            nack.DeliveryCount++;
        }
    }

    // ---------------------------------------------------------------- XGROUP

    /// <summary>Options after XGROUP CREATE/SETID key group id: MKSTREAM (CREATE), ENTRIESREAD n.</summary>
    private static bool ParseGroupOptions(ref CommandContext c, bool create, out bool mkStream, out long entriesRead)
    {
        mkStream = false;
        entriesRead = StreamGroup.InvalidEntriesRead;
        int i = 5;
        while (i < c.Count)
        {
            if (create && c.ArgIs(i, "MKSTREAM"u8))
            {
                mkStream = true;
                i++;
            }
            else if (c.ArgIs(i, "ENTRIESREAD"u8) && i + 1 < c.Count)
            {
                if (!ParseLong(ref c, i + 1, out entriesRead)) return false;
                if (entriesRead < 0 && entriesRead != StreamGroup.InvalidEntriesRead)
                {
                    c.Reply.Error(EntriesReadRange);
                    return false;
                }
                i += 2;
            }
            else
            {
                c.Reply.Error(SubcommandSyntax(ref c));
                return false;
            }
        }
        return true;
    }

    /// <summary>The stream and group of an XGROUP subcommand; false after an error reply.</summary>
    private static bool GroupTarget(ref CommandContext c, bool mkStream, bool needGroup, out RedisStream? s, out RedisEntry? entry, out StreamGroup? g)
    {
        g = null;
        if (!LookupWrite(ref c, c.Arg(2), out s, out entry)) return false;
        if (mkStream) return true;
        if (s is null)
        {
            c.Reply.Error(XGroupNeedsKey);
            return false;
        }
        g = s.FindGroup(c.Arg(3));
        if (g is null && needGroup)
        {
            c.Reply.Error(NoSuchGroupForKey(c.Arg(3), c.Arg(2)));
            return false;
        }
        return true;
    }

    private static void XGroupCreate(ref CommandContext c)
    {
        if (!ParseGroupOptions(ref c, create: true, out bool mkStream, out long entriesRead)) return;
        if (!GroupTarget(ref c, mkStream, needGroup: false, out var s, out var entry, out _)) return;
        if (c.Count > 8)
        {
            c.Reply.Error(SubcommandSyntax(ref c));
            return;
        }
        StreamId id;
        var idText = c.Arg(4);
        if (idText.Length == 1 && idText[0] == '$') id = s?.LastId ?? default;
        else if (!ParseId(ref c, 4, 0, strict: true, out id)) return;
        var db = c.Db;
        if (s is null)
        {
            s = new RedisStream();
            entry = db.SetObject(c.Arg(2), s, KeyEvent.None);
        }
        if (s.CreateGroup(c.Arg(3), id, entriesRead) is null)
        {
            c.Reply.Error(BusyGroup);
            return;
        }
        db.NotifyModified(entry!, KeyEvent.XGroupCreate);
        c.Reply.Ok();
    }

    private static void XGroupSetId(ref CommandContext c)
    {
        if (!ParseGroupOptions(ref c, create: false, out _, out long entriesRead)) return;
        if (!GroupTarget(ref c, false, needGroup: true, out var s, out var entry, out var g)) return;
        if (c.Count != 5 && c.Count != 7)
        {
            c.Reply.Error(SubcommandSyntax(ref c));
            return;
        }
        StreamId id;
        var idText = c.Arg(4);
        if (idText.Length == 1 && idText[0] == '$') id = s!.LastId;
        else if (!ParseId(ref c, 4, 0, strict: false, out id)) return;
        g!.LastId = id;
        g.EntriesRead = entriesRead;
        c.Db.NotifyModified(entry!, KeyEvent.XGroupSetId);
        c.Reply.Ok();
    }

    private static void XGroupDestroy(ref CommandContext c)
    {
        if (!GroupTarget(ref c, false, needGroup: false, out var s, out var entry, out var g)) return;
        if (g is null)
        {
            c.Reply.Integer(0);
            return;
        }
        s!.DestroyGroup(c.Arg(3));
        // Announced like any change: clients blocked in XREADGROUP on this group are then woken with NOGROUP, as in Redis.
        c.Db.NotifyModified(entry!, KeyEvent.XGroupDestroy);
        c.Reply.Integer(1);
    }

    private static void XGroupCreateConsumer(ref CommandContext c)
    {
        if (!GroupTarget(ref c, false, needGroup: true, out _, out var entry, out var g)) return;
        bool created = g!.CreateConsumer(c.Arg(4), c.Server.NowMs) is not null;
        if (created) c.Db.NotifyModified(entry!, KeyEvent.XGroupCreateConsumer);
        c.Reply.Integer(created ? 1 : 0);
    }

    private static void XGroupDelConsumer(ref CommandContext c)
    {
        if (!GroupTarget(ref c, false, needGroup: true, out _, out var entry, out var g)) return;
        long pending = 0;
        if (g!.FindConsumer(c.Arg(4)) is { } consumer)
        {
            pending = g.DeleteConsumer(consumer);
            c.Db.NotifyModified(entry!, KeyEvent.XGroupDelConsumer);
        }
        c.Reply.Integer(pending);
    }

    private static readonly string[] XGroupHelpLines =
    [
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ];

    private static void XGroupHelp(ref CommandContext c)
    {
        c.Reply.ArrayHeader(XGroupHelpLines.Length);
        foreach (var line in XGroupHelpLines) c.Reply.SimpleString(line);
    }

    // ---------------------------------------------------------------- XACK / XPENDING / XCLAIM / XAUTOCLAIM

    private static void XAck(ref CommandContext c)
    {
        if (!LookupRead(ref c, c.Arg(1), out var s, out var entry)) return;
        var g = s?.FindGroup(c.Arg(2));
        if (g is null)
        {
            c.Reply.Integer(0);
            return;
        }
        for (int j = 3; j < c.Count; j++)
            if (!ParseId(ref c, j, 0, strict: true, out _)) return;
        long acked = 0;
        for (int j = 3; j < c.Count; j++)
        {
            ParseId(ref c, j, 0, strict: true, out var id);
            var nack = g.Pel.Find(id);
            if (nack is null) continue;
            g.Pel.Remove(id);
            nack.Consumer?.Pel.Remove(id);
            acked++;
        }
        if (acked > 0) c.Db.NotifyModified(entry!, KeyEvent.XAck);
        c.Reply.Integer(acked);
    }

    private static void XPending(ref CommandContext c)
    {
        bool summary = c.Count == 3;
        if (c.Count != 3 && (c.Count < 6 || c.Count > 9))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        long minIdle = 0, count = 0;
        StreamId start = default, end = default;
        int consumerArg = 0;
        if (!summary)
        {
            int startIdx = 3;
            if (c.ArgIs(3, "IDLE"u8))
            {
                if (!ParseLong(ref c, 4, out minIdle)) return;
                if (c.Count < 8)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                startIdx += 2;
            }
            if (!ParseLong(ref c, startIdx + 2, out count)) return;
            if (count < 0) count = 0;
            if (!ParseStart(ref c, startIdx, out start)) return;
            if (!ParseEnd(ref c, startIdx + 1, out end)) return;
            if (startIdx + 3 < c.Count) consumerArg = startIdx + 3;
        }
        if (!LookupRead(ref c, c.Arg(1), out var s, out _)) return;
        var g = s?.FindGroup(c.Arg(2));
        if (g is null)
        {
            c.Reply.Error(NoGroupError(c.Arg(1), c.Arg(2)));
            return;
        }
        var reply = c.Reply;
        if (summary)
        {
            reply.ArrayHeader(4);
            reply.Integer(g.Pel.Count);
            if (g.Pel.Count == 0)
            {
                reply.Null();
                reply.Null();
                reply.NullArray();
                return;
            }
            WriteId(reply, g.Pel.Ids[0]);
            WriteId(reply, g.Pel.Ids[g.Pel.Count - 1]);
            int owners = 0;
            foreach (var consumer in g.Consumers)
                if (consumer.Pel.Count > 0) owners++;
            reply.ArrayHeader(owners);
            foreach (var consumer in g.Consumers)
            {
                if (consumer.Pel.Count == 0) continue;
                reply.ArrayHeader(2);
                reply.Bulk(consumer.Name);
                reply.Bulk(consumer.Pel.Count);
            }
            return;
        }
        StreamPel pel = g.Pel;
        if (consumerArg != 0)
        {
            var consumer = g.FindConsumer(c.Arg(consumerArg));
            if (consumer is null)
            {
                reply.ArrayHeader(0);
                return;
            }
            pel = consumer.Pel;
        }
        long now = c.Server.NowMs;
        int first = pel.LowerBound(start);
        int n = 0;
        for (int i = first; i < pel.Count && n < count && pel.Ids[i] <= end; i++)
            if (minIdle == 0 || now - pel.Nacks[i].DeliveryTime >= minIdle) n++;
        reply.ArrayHeader(n);
        int written = 0;
        for (int i = first; i < pel.Count && written < n; i++)
        {
            var nack = pel.Nacks[i];
            if (minIdle != 0 && now - nack.DeliveryTime < minIdle) continue;
            written++;
            reply.ArrayHeader(4);
            WriteId(reply, nack.Id);
            reply.Bulk(nack.Consumer!.Name);
            reply.Integer(Math.Max(0, now - nack.DeliveryTime));
            reply.Integer(nack.DeliveryCount);
        }
    }

    private static void XClaim(ref CommandContext c)
    {
        if (!LookupRead(ref c, c.Arg(1), out var s, out var entry)) return;
        var g = s?.FindGroup(c.Arg(2));
        if (g is null)
        {
            c.Reply.Error(NoGroupError(c.Arg(1), c.Arg(2)));
            return;
        }
        if (!ParseLong(ref c, 4, out long minIdle, "ERR Invalid min-idle-time argument for XCLAIM")) return;
        if (minIdle < 0) minIdle = 0;
        int j = 5;
        while (j < c.Count && StreamId.TryParse(c.Arg(j), 0, strict: true, allowSeqStar: false, out _, out _)) j++;
        int lastIdArg = j - 1;
        long now = c.Server.NowMs;
        long retryCount = -1, deliveryTime = -1;
        bool force = false, justId = false;
        StreamId lastId = default;
        for (; j < c.Count; j++)
        {
            int more = c.Count - 1 - j;
            if (c.ArgIs(j, "FORCE"u8)) force = true;
            else if (c.ArgIs(j, "JUSTID"u8)) justId = true;
            else if (more > 0 && c.ArgIs(j, "IDLE"u8))
            {
                j++;
                if (!ParseLong(ref c, j, out deliveryTime, "ERR Invalid IDLE option argument for XCLAIM")) return;
                deliveryTime = now - deliveryTime;
            }
            else if (more > 0 && c.ArgIs(j, "TIME"u8))
            {
                j++;
                if (!ParseLong(ref c, j, out deliveryTime, "ERR Invalid TIME option argument for XCLAIM")) return;
            }
            else if (more > 0 && c.ArgIs(j, "RETRYCOUNT"u8))
            {
                j++;
                if (!ParseLong(ref c, j, out retryCount, "ERR Invalid RETRYCOUNT option argument for XCLAIM")) return;
            }
            else if (more > 0 && c.ArgIs(j, "LASTID"u8))
            {
                j++;
                if (!ParseId(ref c, j, 0, strict: true, out lastId)) return;
            }
            else
            {
                c.Reply.Error($"ERR Unrecognized XCLAIM option '{Text(c.Arg(j))}'");
                return;
            }
        }
        bool changed = false, propagateLastId = false;
        if (lastId > g.LastId)
        {
            g.LastId = lastId;
            changed = true;
            propagateLastId = true;
        }
        if (deliveryTime != -1)
        {
            if (deliveryTime < 0 || deliveryTime > now) deliveryTime = now;
        }
        else deliveryTime = now;

        // Two passes: the first decides (and applies) the claims, remembering which IDs were claimed by marking
        // them in a small list; the reply needs the count up front.
        var claimed = new List<StreamId>();
        StreamConsumer? consumer = null;
        for (int k = 5; k <= lastIdArg; k++)
        {
            StreamId.TryParse(c.Arg(k), 0, true, false, out var id, out _);
            var nack = g.Pel.Find(id);
            if (!s!.Contains(id))
            {
                if (nack is not null)
                {
                    PropagateXClaim(ref c, c.Arg(1), g, c.Arg(k), nack); // replayed, it drops the NACK too
                    propagateLastId = false;
                    g.Pel.Remove(id);
                    nack.Consumer?.Pel.Remove(id);
                    changed = true;
                }
                continue;
            }
            if (force && nack is null)
            {
                nack = new StreamNack(id, now, 0, null);
                g.Pel.Add(nack);
            }
            if (nack is null) continue;
            if (nack.Consumer is not null && minIdle > 0 && now - nack.DeliveryTime < minIdle) continue;
            consumer ??= FindOrCreateConsumer(ref c, g, c.Arg(3), now);
            if (nack.Consumer != consumer) nack.Consumer?.Pel.Remove(id);
            nack.DeliveryTime = deliveryTime;
            if (retryCount >= 0) nack.DeliveryCount = retryCount;
            else if (!justId) nack.DeliveryCount++;
            if (nack.Consumer != consumer)
            {
                consumer.Pel.Add(nack);
                nack.Consumer = consumer;
            }
            claimed.Add(id);
            PropagateXClaim(ref c, c.Arg(1), g, c.Arg(k), nack);
            propagateLastId = false;
            changed = true;
        }
        if (propagateLastId) PropagateGroupId(ref c, c.Arg(1), g);
        c.PreventPropagation();
        var reply = c.Reply;
        reply.ArrayHeader(claimed.Count);
        foreach (var id in claimed)
        {
            if (justId) WriteId(reply, id);
            else WriteEntry(reply, id, s!.Get(id)!);
        }
        if (changed) c.Db.NotifyModified(entry!, KeyEvent.XClaim);
    }

    private static StreamConsumer FindOrCreateConsumer(ref CommandContext c, StreamGroup g, ReadOnlySpan<byte> name, long now)
    {
        var consumer = g.FindConsumer(name);
        if (consumer is not null)
        {
            consumer.SeenTime = now;
            return consumer;
        }
        c.Server.Notifications.Fire(c.Db.Index, c.Arg(1), KeyEvent.XGroupCreateConsumer);
        return g.CreateConsumer(name, now)!;
    }

    private static void XAutoClaim(ref CommandContext c)
    {
        if (!ParseLong(ref c, 4, out long minIdle, "ERR Invalid min-idle-time argument for XAUTOCLAIM")) return;
        if (minIdle < 0) minIdle = 0;
        if (!ParseStart(ref c, 5, out var start)) return;
        long count = 100;
        bool justId = false;
        for (int j = 6; j < c.Count; j++)
        {
            int more = c.Count - 1 - j;
            if (more > 0 && c.ArgIs(j, "COUNT"u8))
            {
                const long maxCount = long.MaxValue / 16;
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out count) || count < 1 || count > maxCount)
                {
                    c.Reply.Error(AutoClaimCount);
                    return;
                }
                j++;
            }
            else if (c.ArgIs(j, "JUSTID"u8)) justId = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!LookupRead(ref c, c.Arg(1), out var s, out var entry)) return;
        var g = s?.FindGroup(c.Arg(2));
        if (g is null)
        {
            c.Reply.Error(NoGroupError(c.Arg(1), c.Arg(2)));
            return;
        }
        long now = c.Server.NowMs;
        long attempts = count * 10;
        var claimed = new List<StreamId>();
        var deleted = new List<StreamId>();
        StreamConsumer? consumer = null;
        var pel = g.Pel;
        Span<byte> idText = stackalloc byte[StreamId.MaxTextLength];
        int i = pel.LowerBound(start);
        while (attempts-- > 0 && count > 0 && i < pel.Count)
        {
            var nack = pel.Nacks[i];
            var id = nack.Id;
            if (!s!.Contains(id))
            {
                if (c.Propagating) PropagateXClaim(ref c, c.Arg(1), g, idText[..id.Format(idText)], nack); // drops the NACK too
                pel.Remove(id);
                nack.Consumer?.Pel.Remove(id);
                deleted.Add(id);
                count--;
                continue; // i now points at the next NACK
            }
            i++;
            if (minIdle > 0 && now - nack.DeliveryTime < minIdle) continue;
            consumer ??= FindOrCreateConsumer(ref c, g, c.Arg(3), now);
            if (nack.Consumer != consumer)
            {
                nack.Consumer?.Pel.Remove(id);
                consumer.Pel.Add(nack);
                nack.Consumer = consumer;
            }
            nack.DeliveryTime = now;
            if (!justId) nack.DeliveryCount++;
            claimed.Add(id);
            if (c.Propagating) PropagateXClaim(ref c, c.Arg(1), g, idText[..id.Format(idText)], nack);
            count--;
        }
        c.PreventPropagation();
        var next = i < pel.Count ? pel.Ids[i] : default;
        var reply = c.Reply;
        reply.ArrayHeader(3);
        WriteId(reply, next);
        reply.ArrayHeader(claimed.Count);
        foreach (var id in claimed)
        {
            if (justId) WriteId(reply, id);
            else WriteEntry(reply, id, s!.Get(id)!);
        }
        reply.ArrayHeader(deleted.Count);
        foreach (var id in deleted) WriteId(reply, id);
        if (claimed.Count > 0 || deleted.Count > 0) c.Db.NotifyModified(entry!, KeyEvent.XAutoClaim);
    }

    // ---------------------------------------------------------------- XINFO

    private static readonly string[] XInfoHelpLines =
    [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    ];

    private static void XInfoHelp(ref CommandContext c)
    {
        c.Reply.ArrayHeader(XInfoHelpLines.Length);
        foreach (var line in XInfoHelpLines) c.Reply.SimpleString(line);
    }

    /// <summary>The stream of an XINFO subcommand; null after an error reply (no such key, WRONGTYPE).</summary>
    private static RedisStream? InfoTarget(ref CommandContext c)
    {
        if (!LookupRead(ref c, c.Arg(2), out var s, out _)) return null;
        if (s is null) c.Reply.Error(Errors.NoSuchKey);
        return s;
    }

    private static void XInfoConsumers(ref CommandContext c)
    {
        if (InfoTarget(ref c) is not { } s) return;
        var g = s.FindGroup(c.Arg(3));
        if (g is null)
        {
            c.Reply.Error(NoSuchGroupForKey(c.Arg(3), c.Arg(2)));
            return;
        }
        long now = c.Server.NowMs;
        var reply = c.Reply;
        reply.ArrayHeader(g.Consumers.Count);
        foreach (var consumer in g.Consumers)
        {
            reply.MapHeader(3);
            reply.Bulk("name"u8);
            reply.Bulk(consumer.Name);
            reply.Bulk("pending"u8);
            reply.Integer(consumer.Pel.Count);
            reply.Bulk("idle"u8);
            reply.Integer(Math.Max(0, now - consumer.SeenTime));
        }
    }

    private static void XInfoGroups(ref CommandContext c)
    {
        if (InfoTarget(ref c) is not { } s) return;
        var reply = c.Reply;
        reply.ArrayHeader(s.Groups.Count);
        foreach (var g in s.Groups)
        {
            reply.MapHeader(6);
            reply.Bulk("name"u8);
            reply.Bulk(g.Name);
            reply.Bulk("consumers"u8);
            reply.Integer(g.Consumers.Count);
            reply.Bulk("pending"u8);
            reply.Integer(g.Pel.Count);
            reply.Bulk("last-delivered-id"u8);
            WriteId(reply, g.LastId);
            WriteGroupCounters(reply, s, g);
        }
    }

    private static void WriteGroupCounters(ReplyBuffer reply, RedisStream s, StreamGroup g)
    {
        reply.Bulk("entries-read"u8);
        if (g.EntriesRead != StreamGroup.InvalidEntriesRead) reply.Integer(g.EntriesRead);
        else reply.Null();
        reply.Bulk("lag"u8);
        if (s.Lag(g) is { } lag) reply.Integer(lag);
        else reply.Null();
    }

    private static void XInfoStream(ref CommandContext c)
    {
        bool full = false;
        long count = 10;
        int options = c.Count - 3;
        if (options > 0)
        {
            if ((options != 1 && options != 3) || !c.ArgIs(3, "FULL"u8) || (options == 3 && !c.ArgIs(4, "COUNT"u8)))
            {
                c.Reply.Error(SubcommandSyntax(ref c));
                return;
            }
            full = true;
            if (options == 3)
            {
                if (!ParseLong(ref c, 5, out count)) return;
                if (count < 0) count = 10;
            }
        }
        if (InfoTarget(ref c) is not { } s) return;
        var reply = c.Reply;
        reply.MapHeader(full ? 9 : 10);
        reply.Bulk("length"u8);
        reply.Integer(s.Length);
        reply.Bulk("radix-tree-keys"u8);
        reply.Integer(s.ChunkCount);
        reply.Bulk("radix-tree-nodes"u8);
        reply.Integer(s.RadixTreeNodes());
        reply.Bulk("last-generated-id"u8);
        WriteId(reply, s.LastId);
        reply.Bulk("max-deleted-entry-id"u8);
        WriteId(reply, s.MaxDeletedId);
        reply.Bulk("entries-added"u8);
        reply.Integer(s.EntriesAdded);
        reply.Bulk("recorded-first-entry-id"u8);
        WriteId(reply, s.FirstId);
        if (!full)
        {
            reply.Bulk("groups"u8);
            reply.Integer(s.Groups.Count);
            reply.Bulk("first-entry"u8);
            var e = s.Range(StreamId.Min, StreamId.Max, reverse: false);
            if (e.MoveNext()) WriteEntry(reply, e.Id, e.Data);
            else reply.Null();
            reply.Bulk("last-entry"u8);
            e = s.Range(StreamId.Min, StreamId.Max, reverse: true);
            if (e.MoveNext()) WriteEntry(reply, e.Id, e.Data);
            else reply.Null();
            return;
        }
        long limit = count == 0 ? long.MaxValue : count;
        reply.Bulk("entries"u8);
        WriteRange(reply, s, StreamId.Min, StreamId.Max, limit, reverse: false);
        reply.Bulk("groups"u8);
        reply.ArrayHeader(s.Groups.Count);
        foreach (var g in s.Groups)
        {
            reply.MapHeader(7);
            reply.Bulk("name"u8);
            reply.Bulk(g.Name);
            reply.Bulk("last-delivered-id"u8);
            WriteId(reply, g.LastId);
            WriteGroupCounters(reply, s, g);
            reply.Bulk("pel-count"u8);
            reply.Integer(g.Pel.Count);
            reply.Bulk("pending"u8);
            int n = (int)Math.Min(g.Pel.Count, limit);
            reply.ArrayHeader(n);
            for (int i = 0; i < n; i++)
            {
                var nack = g.Pel.Nacks[i];
                reply.ArrayHeader(4);
                WriteId(reply, nack.Id);
                reply.Bulk(nack.Consumer!.Name);
                reply.Integer(nack.DeliveryTime);
                reply.Integer(nack.DeliveryCount);
            }
            reply.Bulk("consumers"u8);
            reply.ArrayHeader(g.Consumers.Count);
            foreach (var consumer in g.Consumers)
            {
                reply.MapHeader(4);
                reply.Bulk("name"u8);
                reply.Bulk(consumer.Name);
                reply.Bulk("seen-time"u8);
                reply.Integer(consumer.SeenTime);
                reply.Bulk("pel-count"u8);
                reply.Integer(consumer.Pel.Count);
                reply.Bulk("pending"u8);
                int m = (int)Math.Min(consumer.Pel.Count, limit);
                reply.ArrayHeader(m);
                for (int i = 0; i < m; i++)
                {
                    var nack = consumer.Pel.Nacks[i];
                    reply.ArrayHeader(3);
                    WriteId(reply, nack.Id);
                    reply.Integer(nack.DeliveryTime);
                    reply.Integer(nack.DeliveryCount);
                }
            }
        }
    }
}
