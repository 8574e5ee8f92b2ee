using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// HyperLogLog commands (PFADD, PFCOUNT, PFMERGE) on string values in Redis's exact HLL format (see
/// <see cref="HyperLogLog"/>), with redis-server 7.0's replies and errors (hyperloglog.c).
/// </summary>
public static class HyperLogLogCommands
{
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const CommandFlags WriteOom = CommandFlags.Write | CommandFlags.DenyOom;
    private const string G = "hyperloglog";

    public static void Register(CommandTable table)
    {
        table.Add(new("PFADD", PfAdd)
        );
        table.Add(new("PFCOUNT", PfCount)
        );
        table.Add(new("PFMERGE", PfMerge)
        );
    }

    /// <summary>Redis's isHLLObjectOrReply: true when the entry is a string holding a valid HLL; otherwise replies
    /// WRONGTYPE (the generic text for other types, the HLL text for other strings).</summary>
    internal static bool CheckHll(ref CommandContext c, RedisEntry e)
    {
        if (e.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return false;
        }
        if (!HyperLogLog.IsValid(e.StringValue))
        {
            c.Reply.Error(HyperLogLog.WrongTypeError);
            return false;
        }
        return true;
    }

    private static void PfAdd(ref CommandContext c)
    {
        var db = c.Db;
        var e = db.Find(c.Arg(1));
        bool updated = false, created = false;
        if (e is null)
        {
            created = true;
            var empty = HyperLogLog.CreateEmpty();
            HyperLogLog.InvalidateCache(empty); // created counts as an update, which invalidates the cache
            db.SetRawString(c.Arg(1), empty, evt: KeyEvent.None); // "new" now, "pfadd" once below
            e = db.Find(c.Arg(1), LookupFlags.NoTouch)!;
            updated = true;
        }
        else if (!CheckHll(ref c, e))
        {
            return;
        }

        var value = e.Bytes.AsSpan(0, e.Length);
        if (HyperLogLog.IsDense(value))
        {
            var body = value[HyperLogLog.HeaderSize..];
            bool changed = false;
            for (int j = 2; j < c.Count; j++)
            {
                int count = HyperLogLog.PatternLength(c.Arg(j), out int index);
                if (count > HyperLogLog.GetDense(body, index))
                {
                    HyperLogLog.SetDense(body, index, count);
                    changed = true;
                }
            }
            if (changed)
            {
                HyperLogLog.InvalidateCache(value);
                e.Form = StringForm.Raw;
                db.NotifyModified(e, KeyEvent.PfAdd);
                updated = true;
                created = false;
            }
        }
        else if (c.Count > 2)
        {
            var registers = HyperLogLog.RegisterBuffer;
            if (!HyperLogLog.Decode(value, registers))
            {
                c.Reply.Error(HyperLogLog.InvalidError);
                return;
            }
            bool changed = false;
            for (int j = 2; j < c.Count; j++)
            {
                int count = HyperLogLog.PatternLength(c.Arg(j), out int index);
                if (count > registers[index])
                {
                    registers[index] = (byte)count;
                    changed = true;
                }
            }
            if (changed)
            {
                var scratch = HyperLogLog.Scratch;
                int n = HyperLogLog.Encode(registers, value, scratch, forceDense: false);
                HyperLogLog.InvalidateCache(scratch);
                db.SetRawString(c.Arg(1), scratch.AsSpan(0, n), keepTtl: true, KeyEvent.PfAdd);
                updated = true;
                created = false;
            }
        }
        // A new HyperLogLog nothing changed further still notifies its one "pfadd" (as redis's pfaddCommand).
        if (created) c.Server.Notifications.Fire(db.Index, c.Arg(1), KeyEvent.PfAdd);
        c.Reply.Integer(updated ? 1 : 0);
    }

    private static void PfCount(ref CommandContext c)
    {
        var db = c.Db;
        if (c.Count > 2)
        {
            var registers = HyperLogLog.RegisterBuffer;
            Array.Clear(registers);
            for (int j = 1; j < c.Count; j++)
            {
                var src = KeyCommands.LookupRead(ref c, db, c.Arg(j));
                if (src is null) continue;
                if (!CheckHll(ref c, src)) return;
                if (!HyperLogLog.MergeInto(src.StringValue, registers))
                {
                    c.Reply.Error(HyperLogLog.InvalidError);
                    return;
                }
            }
            c.Reply.Integer(HyperLogLog.Count(registers));
            return;
        }

        var e = KeyCommands.LookupRead(ref c, db, c.Arg(1));
        if (e is null)
        {
            c.Reply.Integer(0);
            return;
        }
        if (!CheckHll(ref c, e)) return;
        var value = e.Bytes.AsSpan(0, e.Length);
        if (HyperLogLog.CacheValid(value))
        {
            c.Reply.Integer(HyperLogLog.CachedCount(value));
            return;
        }
        long card = HyperLogLog.CountValue(value);
        if (card < 0)
        {
            c.Reply.Error(HyperLogLog.InvalidError);
            return;
        }
        HyperLogLog.SetCache(value, card);
        e.Form = StringForm.Raw;
        db.NotifyModified(e, KeyEvent.None); // the cached cardinality: a change (WATCH sees it) with no keyspace event
        c.Reply.Integer(card);
    }

    private static void PfMerge(ref CommandContext c)
    {
        var db = c.Db;
        var registers = HyperLogLog.RegisterBuffer;
        Array.Clear(registers);
        bool dense = false;
        for (int j = 1; j < c.Count; j++)
        {
            var src = KeyCommands.LookupRead(ref c, db, c.Arg(j));
            if (src is null) continue;
            if (!CheckHll(ref c, src)) return;
            if (HyperLogLog.IsDense(src.StringValue)) dense = true;
            if (!HyperLogLog.MergeInto(src.StringValue, registers))
            {
                c.Reply.Error(HyperLogLog.InvalidError);
                return;
            }
        }
        var e = db.Find(c.Arg(1));
        ReadOnlySpan<byte> header = e is null ? HyperLogLog.CreateEmpty() : e.StringValue;
        var scratch = HyperLogLog.Scratch;
        int n = HyperLogLog.Encode(registers, header, scratch, forceDense: dense || (e is not null && HyperLogLog.IsDense(header)));
        HyperLogLog.InvalidateCache(scratch);
        db.SetRawString(c.Arg(1), scratch.AsSpan(0, n), keepTtl: true, KeyEvent.PfAdd); // PFMERGE notifies "pfadd", as redis
        c.Reply.Ok();
    }
}
