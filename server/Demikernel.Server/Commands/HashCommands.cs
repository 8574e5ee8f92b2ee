using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Hash commands (t_hash.c in Redis 7.0): HSET and friends, increments with Redis's number formatting and errors,
/// HRANDFIELD, HSCAN. A hash that loses its last field is deleted. HGETALL answers a map under RESP3.
/// </summary>
public static class HashCommands
{
    internal const string HashValueNotInteger = "ERR hash value is not an integer";
    internal const string HashValueNotFloat = "ERR hash value is not a float";
    internal const string IncrementNaN = "ERR value is NaN or Infinity";
    private const string OutOfRange = "ERR value is out of range";
    private const string RandomCountRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const CommandFlags WriteOomFast = CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast;
    private const string G = "hash";

    [ThreadStatic] private static List<int>? s_scratch;

    public static void Register(CommandTable table)
    {
        table.Add(new("HSET", HSet)
        );
        table.Add(new("HSETNX", HSetNx));
        table.Add(new("HMSET", HMSet));
        table.Add(new("HGET", HGet));
        table.Add(new("HMGET", HMGet)
        );
        table.Add(new("HDEL", HDel)
        );
        table.Add(new("HLEN", HLen));
        table.Add(new("HSTRLEN", HStrLen));
        table.Add(new("HEXISTS", HExists));
        table.Add(new("HKEYS", HKeys));
        table.Add(new("HVALS", HVals));
        table.Add(new("HGETALL", HGetAll));
        table.Add(new("HINCRBY", HIncrBy));
        table.Add(new("HINCRBYFLOAT", HIncrByFloat));
        table.Add(new("HRANDFIELD", HRandField)
        );
        table.Add(new("HSCAN", HScan)
        );
    }

    // ---------------------------------------------------------------- lookups

    /// <summary>The hash at <paramref name="key"/> for a read (counts hits/misses); false after a WRONGTYPE reply.</summary>
    private static bool TryGetForRead(ref CommandContext c, ReadOnlySpan<byte> key, out RedisHash? hash)
        => TypedLookup.TryRead(ref c, c.Db, key, out hash);

    /// <summary>Redis's hashTypeLookupWriteOrCreate: the hash at <paramref name="key"/>, created empty when missing;
    /// false after a WRONGTYPE reply.</summary>
    private static bool TryGetOrCreate(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisEntry entry, out RedisHash hash)
    {
        var e = db.FindObject(key, LookupFlags.None, out bool compactString);
        if (e is null && !compactString)
        {
            hash = new RedisHash();
            entry = db.SetObject(key, hash, KeyEvent.None); // created empty: the change that fills it follows
            return true;
        }
        entry = e!; // null only for a compact string, refused below
        if (e?.Obj is RedisHash h)
        {
            hash = h;
            return true;
        }
        hash = null!;
        c.Reply.Error(Errors.WrongType);
        return false;
    }

    /// <summary>hashTypeTryConversion over arguments [<paramref name="first"/>, Count).</summary>
    private static void ConvertForArgs(ref CommandContext c, RedisHash hash, int first, int last)
    {
        if (hash.IsHashTable) return;
        for (int j = first; j <= last; j++) hash.ConvertIfTooLong(c.Arg(j).Length);
    }

    // ---------------------------------------------------------------- set / get

    private static void HSet(ref CommandContext c)
    {
        if (!SetPairs(ref c, out long created)) return;
        c.Reply.Integer(created);
    }

    private static void HMSet(ref CommandContext c)
    {
        if (!SetPairs(ref c, out _)) return;
        c.Reply.Ok();
    }

    private static bool SetPairs(ref CommandContext c, out long created)
    {
        created = 0;
        if (c.Count % 2 == 1)
        {
            c.Reply.Error(Errors.WrongArgCount(c.Command.WireName));
            return false;
        }
        var db = c.Db;
        if (!TryGetOrCreate(ref c, db, c.Arg(1), out var entry, out var hash)) return false;
        ConvertForArgs(ref c, hash, 2, c.Count - 1);
        for (int j = 2; j < c.Count; j += 2)
            if (hash.Set(c.Arg(j), c.Arg(j + 1))) created++;
        db.NotifyModified(entry, KeyEvent.HSet);
        return true;
    }

    private static void HSetNx(ref CommandContext c)
    {
        var db = c.Db;
        if (!TryGetOrCreate(ref c, db, c.Arg(1), out var entry, out var hash)) return;
        if (hash.IndexOf(c.Arg(2)) >= 0)
        {
            c.Reply.Integer(0);
            return;
        }
        hash.Set(c.Arg(2), c.Arg(3));
        db.NotifyModified(entry, KeyEvent.HSet);
        c.Reply.Integer(1);
    }

    private static void HGet(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        int i = hash is null ? -1 : hash.IndexOf(c.Arg(2));
        if (i < 0) c.Reply.Null();
        else c.Reply.Bulk(hash!.ValueAt(i));
    }

    private static void HMGet(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        c.Reply.ArrayHeader(c.Count - 2);
        for (int j = 2; j < c.Count; j++)
        {
            int i = hash is null ? -1 : hash.IndexOf(c.Arg(j));
            if (i < 0) c.Reply.Null();
            else c.Reply.Bulk(hash!.ValueAt(i));
        }
    }

    private static void HDel(ref CommandContext c)
    {
        var db = c.Db;
        var e = db.FindObject(c.Arg(1), LookupFlags.None, out bool compactString);
        if (e is null && !compactString)
        {
            c.Reply.Integer(0);
            return;
        }
        if (e?.Obj is not RedisHash hash)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        long deleted = 0;
        for (int j = 2; j < c.Count; j++)
        {
            if (!hash.Remove(c.Arg(j))) continue;
            deleted++;
            if (hash.Count == 0) break;
        }
        if (deleted > 0)
        {
            if (hash.Count == 0) db.Delete(e, KeyEvent.HDel);
            else db.NotifyModified(e, KeyEvent.HDel);
        }
        c.Reply.Integer(deleted);
    }

    private static void HLen(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        c.Reply.Integer(hash?.Count ?? 0);
    }

    private static void HStrLen(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        int i = hash is null ? -1 : hash.IndexOf(c.Arg(2));
        c.Reply.Integer(i < 0 ? 0 : hash!.ValueAt(i).Length);
    }

    private static void HExists(ref CommandContext c)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        c.Reply.Integer(hash is not null && hash.IndexOf(c.Arg(2)) >= 0 ? 1 : 0);
    }

    private static void HKeys(ref CommandContext c) => GetAll(ref c, fields: true, values: false);

    private static void HVals(ref CommandContext c) => GetAll(ref c, fields: false, values: true);

    private static void HGetAll(ref CommandContext c) => GetAll(ref c, fields: true, values: true);

    private static void GetAll(ref CommandContext c, bool fields, bool values)
    {
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        int n = hash?.Count ?? 0;
        if (fields && values) c.Reply.MapHeader(n);
        else c.Reply.ArrayHeader(n);
        for (int i = 0; i < n; i++)
        {
            if (fields) c.Reply.Bulk(hash!.FieldAt(i));
            if (values) c.Reply.Bulk(hash!.ValueAt(i));
        }
    }

    // ---------------------------------------------------------------- increments

    private static void HIncrBy(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(3), out long increment))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        var db = c.Db;
        if (!TryGetOrCreate(ref c, db, c.Arg(1), out var entry, out var hash)) return;
        long current = 0;
        int i = hash.IndexOf(c.Arg(2));
        if (i >= 0 && !RedisNumbers.TryParseInt64(hash.ValueAt(i), out current))
        {
            c.Reply.Error(HashValueNotInteger);
            return;
        }
        if ((increment < 0 && current < 0 && increment < long.MinValue - current) ||
            (increment > 0 && current > 0 && increment > long.MaxValue - current))
        {
            DeleteIfEmpty(db, entry, hash);
            c.Reply.Error(Errors.Overflow);
            return;
        }
        long result = current + increment;
        Span<byte> digits = stackalloc byte[RedisNumbers.MaxInt64Length];
        RedisNumbers.TryFormatInt64(result, digits, out int written);
        if (i >= 0) hash.SetValueAt(i, digits[..written]);
        else hash.Set(c.Arg(2), digits[..written]);
        db.NotifyModified(entry, KeyEvent.HIncrBy);
        c.Reply.Integer(result);
    }

    private static void HIncrByFloat(ref CommandContext c)
    {
        if (!LongDouble.TryParse(c.Arg(3), out var increment))
        {
            c.Reply.Error(Errors.NotFloat);
            return;
        }
        if (!increment.IsFinite)
        {
            c.Reply.Error(IncrementNaN);
            return;
        }
        var db = c.Db;
        if (!TryGetOrCreate(ref c, db, c.Arg(1), out var entry, out var hash)) return;
        var current = LongDouble.Zero;
        int i = hash.IndexOf(c.Arg(2));
        if (i >= 0 && !LongDouble.TryParse(hash.ValueAt(i), out current))
        {
            c.Reply.Error(HashValueNotFloat);
            return;
        }
        var result = current + increment;
        if (!result.IsFinite)
        {
            DeleteIfEmpty(db, entry, hash);
            c.Reply.Error(Errors.IncrFloatNaN);
            return;
        }
        byte[] text = System.Text.Encoding.ASCII.GetBytes(result.ToHumanString());
        if (i >= 0) hash.SetValueAt(i, text);
        else hash.Set(c.Arg(2), text);
        db.NotifyModified(entry, KeyEvent.HIncrByFloat);
        c.Reply.Bulk(text);
        // Always HSET key field <result>, so that float formatting never differs on replay.
        c.RewritePropagation().Arg("HSET"u8).Arg(c.Arg(1)).Arg(c.Arg(2)).Arg(text).End();
    }

    /// <summary>An increment that failed on a hash created for it leaves no empty key behind.</summary>
    private static void DeleteIfEmpty(RedisDatabase db, RedisEntry entry, RedisHash hash)
    {
        if (hash.Count == 0) db.Delete(entry);
    }

    // ---------------------------------------------------------------- HRANDFIELD

    private static void HRandField(ref CommandContext c)
    {
        if (c.Count >= 3)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(2), out long l))
            {
                c.Reply.Error(Errors.NotInteger);
                return;
            }
            if (l == long.MinValue)
            {
                c.Reply.Error(RandomCountRange);
                return;
            }
            if (c.Count > 4 || (c.Count == 4 && !c.ArgIs(3, "WITHVALUES"u8)))
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
            bool withValues = c.Count == 4;
            if (withValues && (l < -long.MaxValue / 2 || l > long.MaxValue / 2))
            {
                c.Reply.Error(OutOfRange);
                return;
            }
            RandomWithCount(ref c, l, withValues);
            return;
        }
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        if (hash is null) c.Reply.Null();
        else c.Reply.Bulk(hash.FieldAt(Random.Shared.Next(hash.Count)));
    }

    private static void RandomWithCount(ref CommandContext c, long l, bool withValues)
    {
        bool unique = l >= 0;
        long count = unique ? l : -l;
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        if (hash is null || count == 0)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        bool resp3 = c.Client.Protocol != RespVersion.Resp2;
        int size = hash.Count;
        if (!unique || count == 1)
        {
            // Repeats allowed: sample the whole hash every time.
            int n = (int)Math.Min(count, int.MaxValue / 2);
            c.Reply.ArrayHeader(withValues && !resp3 ? n * 2 : n);
            for (int k = 0; k < n; k++) WritePick(ref c, hash, Random.Shared.Next(size), withValues, resp3);
            return;
        }
        if (count >= size)
        {
            c.Reply.ArrayHeader(withValues && !resp3 ? size * 2 : size);
            for (int i = 0; i < size; i++) WritePick(ref c, hash, i, withValues, resp3);
            return;
        }
        // Distinct picks: a partial Fisher-Yates shuffle of the indexes.
        int m = (int)count;
        var order = new int[size];
        for (int i = 0; i < size; i++) order[i] = i;
        c.Reply.ArrayHeader(withValues && !resp3 ? m * 2 : m);
        for (int k = 0; k < m; k++)
        {
            int r = Random.Shared.Next(k, size);
            (order[k], order[r]) = (order[r], order[k]);
            WritePick(ref c, hash, order[k], withValues, resp3);
        }
    }

    private static void WritePick(ref CommandContext c, RedisHash hash, int index, bool withValues, bool resp3)
    {
        if (withValues && resp3) c.Reply.ArrayHeader(2);
        c.Reply.Bulk(hash.FieldAt(index));
        if (withValues) c.Reply.Bulk(hash.ValueAt(index));
    }

    // ---------------------------------------------------------------- HSCAN

    private static void HScan(ref CommandContext c)
    {
        if (!KeyCommands.TryParseCursor(c.Arg(2), out ulong cursor))
        {
            c.Reply.Error(KeyCommands.InvalidCursor);
            return;
        }
        if (!TryGetForRead(ref c, c.Arg(1), out var hash)) return;
        if (hash is null)
        {
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk("0"u8);
            c.Reply.ArrayHeader(0);
            return;
        }
        if (!ScanOptions.TryParse(ref c, 3, out long count, out int patternArg)) return;
        var found = s_scratch ??= [];
        try
        {
            if (hash.IsHashTable)
            {
                cursor = hash.Scan(cursor, (int)Math.Min(count, int.MaxValue / 16), found);
            }
            else
            {
                // A listpack is returned whole in one call, whatever the cursor and COUNT, as Redis does.
                for (int i = 0; i < hash.Count; i++) found.Add(i);
                cursor = 0;
            }
            int kept = 0;
            for (int k = 0; k < found.Count; k++)
            {
                if (patternArg != 0 && !Glob.IsMatch(c.Arg(patternArg), hash.FieldAt(found[k]))) continue;
                found[kept++] = found[k];
            }
            Span<byte> digits = stackalloc byte[20];
            cursor.TryFormat(digits, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk(digits[..written]);
            c.Reply.ArrayHeader(kept * 2);
            for (int k = 0; k < kept; k++)
            {
                c.Reply.Bulk(hash.FieldAt(found[k]));
                c.Reply.Bulk(hash.ValueAt(found[k]));
            }
        }
        finally
        {
            found.Clear();
        }
    }
}
