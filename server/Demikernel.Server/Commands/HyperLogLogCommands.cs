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
    internal static bool CheckHll(ref CommandContext c, RedisEntry e) => CheckHll(ref c, e.Type, e.StringValue);

    /// <summary><see cref="CheckHll(ref CommandContext, RedisEntry)"/> of a key read in place.</summary>
    private static bool CheckHll(ref CommandContext c, RedisType type, scoped ReadOnlySpan<byte> value)
    {
        if (type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return false;
        }
        if (!HyperLogLog.IsValid(value))
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
                // (the sources are read in place: only a single key's PFCOUNT may write its cached count)
                if (!KeyCommands.LookupView(ref c, db, c.Arg(j), out var src)) continue;
                if (!CheckHll(ref c, src.Type, src.StringValue)) return;
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
            if (!KeyCommands.LookupView(ref c, db, c.Arg(j), out var src)) continue; // sources read in place
            if (!CheckHll(ref c, src.Type, src.StringValue)) return;
            if (HyperLogLog.IsDense(src.StringValue)) dense = true;
            if (!HyperLogLog.MergeInto(src.StringValue, registers))
            {
                c.Reply.Error(HyperLogLog.InvalidError);
                return;
            }
        }
        bool exists = db.TryLookup(c.Arg(1), LookupFlags.None, out var dest);
        ReadOnlySpan<byte> header = exists ? dest.StringValue : HyperLogLog.CreateEmpty();
        var scratch = HyperLogLog.Scratch;
        int n = HyperLogLog.Encode(registers, header, scratch, forceDense: dense || (exists && HyperLogLog.IsDense(header)));
        HyperLogLog.InvalidateCache(scratch);
        db.SetRawString(c.Arg(1), scratch.AsSpan(0, n), keepTtl: true, KeyEvent.PfAdd); // PFMERGE notifies "pfadd", as redis
        c.Reply.Ok();
    }
}
