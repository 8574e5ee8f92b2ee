using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Generic commands of the data model: DUMP and RESTORE in Redis 7.0's payload format (see <see cref="RdbSerializer"/>),
/// with redis-server 7.0's option parsing and error texts (cluster.c).
/// </summary>
public static class GenericCommands
{
    internal const string BusyKey = "BUSYKEY Target key name already exists.";
    internal const string InvalidTtl = "ERR Invalid TTL value, must be >= 0";
    internal const string InvalidIdleTime = "ERR Invalid IDLETIME value, must be >= 0";
    internal const string InvalidFreq = "ERR Invalid FREQ value, must be >= 0 and <= 255";

    private const string G = "generic";

    public static void Register(CommandTable table)
    {
        table.Add(new("SORT", Sort)
        );
        table.Add(new("SORT_RO", SortRo)
        );
        table.Add(new("DUMP", Dump)
        );
        table.Add(new("RESTORE", Restore)
        );
    }

    // ---------------------------------------------------------------- SORT

    private static void Sort(ref CommandContext c) => SortGeneric(ref c, readOnly: false);

    private static void SortRo(ref CommandContext c) => SortGeneric(ref c, readOnly: true);

    private struct SortItem
    {
        public byte[] Member;
        public double Score;
        public byte[]? CompareBy;
    }

    /// <summary>Redis's sortCommandGeneric (sort.c).</summary>
    private static void SortGeneric(ref CommandContext c, bool readOnly)
    {
        bool desc = false, alpha = false, dontSort = false;
        long limitStart = 0, limitCount = -1;
        int byArg = -1, storeArg = -1;
        List<int>? gets = null;
        for (int j = 2; j < c.Count; j++)
        {
            int left = c.Count - j - 1;
            if (c.ArgIs(j, "ASC"u8)) desc = false;
            else if (c.ArgIs(j, "DESC"u8)) desc = true;
            else if (c.ArgIs(j, "ALPHA"u8)) alpha = true;
            else if (c.ArgIs(j, "LIMIT"u8) && left >= 2)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out limitStart) || !RedisNumbers.TryParseInt64(c.Arg(j + 2), out limitCount))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                j += 2;
            }
            else if (!readOnly && c.ArgIs(j, "STORE"u8) && left >= 1)
            {
                storeArg = ++j;
            }
            else if (c.ArgIs(j, "BY"u8) && left >= 1)
            {
                byArg = ++j;
                if (c.Arg(j).IndexOf((byte)'*') < 0) dontSort = true;
            }
            else if (c.ArgIs(j, "GET"u8) && left >= 1)
            {
                (gets ??= []).Add(++j);
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var db = c.Db;
        var members = new List<byte[]>();
        bool isSet = false;
        if (KeyCommands.LookupView(ref c, db, c.Arg(1), out var source)) // a string (no object) is WRONGTYPE
        {
            switch (source.Object)
            {
                case RedisList list:
                    for (int i = 0; i < list.Count; i++) members.Add(list[i]);
                    break;
                default:
                    if (!TryGetSortMembers(source.Object, members, out isSet))
                    {
                        c.Reply.Error(Errors.WrongType);
                        return;
                    }
                    break;
            }
        }
        // A set has no order of its own: with STORE it is sorted (ALPHA) so the result is deterministic.
        if (dontSort && isSet && storeArg > 0)
        {
            dontSort = false;
            alpha = true;
            byArg = -1;
        }

        long count = members.Count;
        long start = Math.Min(Math.Max(limitStart, 0), count);
        limitCount = Math.Min(Math.Max(limitCount, -1), count);
        long end = limitCount < 0 ? count - 1 : start + limitCount - 1;
        if (start >= count)
        {
            start = count - 1;
            end = count - 2;
        }
        if (end >= count) end = count - 1;

        var items = new SortItem[members.Count];
        for (int i = 0; i < items.Length; i++) items[i].Member = members[i];
        if (dontSort)
        {
            // native order (lists, sorted sets), reversed by DESC
            if (desc && !isSet) System.Array.Reverse(items);
        }
        else
        {
            bool conversionError = false;
            var byPattern = byArg > 0 ? c.Arg(byArg) : default;
            for (int i = 0; i < items.Length; i++)
            {
                byte[]? by;
                if (byArg > 0)
                {
                    by = LookupByPattern(c.Server, db, byPattern, items[i].Member);
                    if (by is null) continue;
                }
                else
                {
                    by = items[i].Member;
                }
                if (alpha)
                {
                    if (byArg > 0) items[i].CompareBy = by;
                }
                else if (!TryParseSortScore(by, out items[i].Score))
                {
                    conversionError = true;
                }
            }
            if (conversionError)
            {
                c.Reply.Error("ERR One or more scores can't be converted into double");
                return;
            }
            bool byPatternSort = byArg > 0;
            Comparison<SortItem> compare = (a, b) =>
            {
                int cmp;
                if (!alpha)
                {
                    cmp = a.Score > b.Score ? 1 : a.Score < b.Score ? -1 : a.Member.AsSpan().SequenceCompareTo(b.Member);
                }
                else if (byPatternSort)
                {
                    if (a.CompareBy is null || b.CompareBy is null)
                        cmp = a.CompareBy == b.CompareBy ? 0 : a.CompareBy is null ? -1 : 1;
                    else
                        cmp = a.CompareBy.AsSpan().SequenceCompareTo(b.CompareBy);
                }
                else
                {
                    cmp = a.Member.AsSpan().SequenceCompareTo(b.Member);
                }
                return desc ? -cmp : cmp;
            };
            System.Array.Sort(items, compare);
        }

        int getCount = gets?.Count ?? 0;
        long outputLength = getCount > 0 ? getCount * (end - start + 1) : end - start + 1;
        if (storeArg < 0)
        {
            c.Reply.ArrayHeader((int)outputLength);
            for (long i = start; i <= end; i++)
            {
                var member = items[i].Member;
                if (getCount == 0)
                {
                    c.Reply.Bulk(member);
                    continue;
                }
                foreach (int g in gets!)
                {
                    var value = LookupByPattern(c.Server, db, c.Arg(g), member);
                    if (value is null) c.Reply.Null();
                    else c.Reply.Bulk(value);
                }
            }
            return;
        }

        var stored = new RedisList();
        for (long i = start; i <= end; i++)
        {
            var member = items[i].Member;
            if (getCount == 0)
            {
                stored.PushRight(member.AsSpan().ToArray());
                continue;
            }
            foreach (int g in gets!)
            {
                var value = LookupByPattern(c.Server, db, c.Arg(g), member);
                stored.PushRight(value is null ? [] : value.AsSpan().ToArray());
            }
        }
        if (outputLength > 0) db.SetObject(c.Arg(storeArg), stored, KeyEvent.SortStore);
        else db.Delete(c.Arg(storeArg));
        c.Reply.Integer(outputLength);
    }

    /// <summary>Members of a set or sorted set for SORT (in native order), false for a type SORT does not accept.</summary>
    private static bool TryGetSortMembers(RedisObject? obj, List<byte[]> into, out bool isSet)
    {
        isSet = false;
        switch (obj)
        {
            case RedisSet set:
                isSet = true;
                Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
                for (int i = 0; i < set.Count; i++) into.Add(set.MemberAt(i, scratch).ToArray());
                return true;
            case RedisSortedSet zset:
                for (var n = zset.List.First; n is not null; n = n.Next) into.Add(n.Member);
                return true;
            default:
                return false;
        }
    }

    /// <summary>strtod over the whole value, as SORT scores elements: "" is 0, leading whitespace and hexadecimal
    /// ("0x10") and "inf" are accepted; trailing junk, NaN and overflow fail.</summary>
    private static bool TryParseSortScore(ReadOnlySpan<byte> text, out double score)
    {
        score = 0;
        if (text.IsEmpty) return true;
        int i = 0;
        while (i < text.Length && text[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f') i++;
        var s = System.Text.Encoding.ASCII.GetString(text[i..]);
        if (s.Length == 0) return false;
        string unsigned = s.TrimStart('+', '-');
        if (s.Length - unsigned.Length <= 1 &&
            (unsigned.Equals("inf", StringComparison.OrdinalIgnoreCase) || unsigned.Equals("infinity", StringComparison.OrdinalIgnoreCase)))
        {
            score = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        bool ok = double.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowDecimalPoint |
                System.Globalization.NumberStyles.AllowExponent, System.Globalization.CultureInfo.InvariantCulture, out score) ||
            TryParseHexFloat(s, out score);
        return ok && double.IsFinite(score); // NaN, and overflow (strtod's ERANGE), fail
    }

    /// <summary>C99 hexadecimal floating point: [sign]0x hex-digits [. hex-digits] [p [sign] digits].</summary>
    private static bool TryParseHexFloat(string s, out double value)
    {
        value = 0;
        int i = 0;
        bool negative = false;
        if (i < s.Length && s[i] is '+' or '-') negative = s[i++] == '-';
        if (i + 2 > s.Length || s[i] != '0' || s[i + 1] is not ('x' or 'X')) return false;
        i += 2;
        double mantissa = 0;
        int digits = 0, exponent = 0;
        bool fraction = false;
        for (; i < s.Length; i++)
        {
            char ch = s[i];
            if (ch == '.' && !fraction)
            {
                fraction = true;
                continue;
            }
            int d = ch is >= '0' and <= '9' ? ch - '0' : ch is >= 'a' and <= 'f' ? ch - 'a' + 10 : ch is >= 'A' and <= 'F' ? ch - 'A' + 10 : -1;
            if (d < 0) break;
            mantissa = mantissa * 16 + d;
            if (fraction) exponent -= 4;
            digits++;
        }
        if (digits == 0) return false;
        if (i < s.Length && s[i] is 'p' or 'P')
        {
            if (!int.TryParse(s.AsSpan(i + 1), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int p))
                return false;
            exponent += p;
            i = s.Length;
        }
        if (i != s.Length) return false;
        value = mantissa * Math.Pow(2, exponent);
        if (negative) value = -value;
        return true;
    }

    /// <summary>Redis's lookupKeyByPattern: "#" is the member itself; the first '*' is replaced by the member; a
    /// "->field" suffix reads a hash field; otherwise a string key. Null when absent, of another type, or the pattern
    /// has no '*'.</summary>
    private static byte[]? LookupByPattern(RedisServer server, RedisDatabase db, ReadOnlySpan<byte> pattern, byte[] member)
    {
        if (pattern.Length == 1 && pattern[0] == (byte)'#') return member;
        int star = pattern.IndexOf((byte)'*');
        if (star < 0) return null;
        int arrow = pattern[(star + 1)..].IndexOf("->"u8);
        ReadOnlySpan<byte> field = default;
        bool hasField = false;
        var keyPattern = pattern;
        if (arrow >= 0 && star + 1 + arrow + 2 < pattern.Length)
        {
            hasField = true;
            field = pattern[(star + 1 + arrow + 2)..];
            keyPattern = pattern[..(star + 1 + arrow)];
        }
        int keyLength = keyPattern.Length - 1 + member.Length;
        Span<byte> key = keyLength <= 256 ? stackalloc byte[keyLength] : new byte[keyLength];
        keyPattern[..star].CopyTo(key);
        member.CopyTo(key[star..]);
        keyPattern[(star + 1)..].CopyTo(key[(star + member.Length)..]);
        // Read in place: SORT BY weight_* must not turn every weight key into an object key.
        if (!db.TryLookup(key, LookupFlags.None, out var v))
        {
            server.Stats.KeyspaceMisses++;
            server.Notifications.KeyMiss(db.Index, key);
            return null;
        }
        server.Stats.KeyspaceHits++;
        if (hasField)
        {
            if (v.Object is not RedisHash hash) return null;
            return hash.TryGetValue(field, out var value) ? value : null;
        }
        return v.Type == RedisType.String ? v.StringValue.ToArray() : null;
    }

    // ---------------------------------------------------------------- DUMP / RESTORE

    private static void Dump(ref CommandContext c)
    {
        if (!KeyCommands.LookupView(ref c, c.Db, c.Arg(1), out var v))
        {
            c.Reply.Null();
            return;
        }
        c.Reply.Bulk(RdbFormat.Dump(v, c.Server.Config.RdbCompression));
    }

    internal static void Restore(ref CommandContext c)
    {
        bool replace = false, absTtl = false;
        long idle = -1, freq = -1;
        for (int j = 4; j < c.Count; j++)
        {
            int additional = c.Count - j - 1;
            if (c.ArgIs(j, "REPLACE"u8))
            {
                replace = true;
            }
            else if (c.ArgIs(j, "ABSTTL"u8))
            {
                absTtl = true;
            }
            else if (c.ArgIs(j, "IDLETIME"u8) && additional >= 1 && freq == -1)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out idle))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (idle < 0)
                {
                    c.Reply.Error(InvalidIdleTime);
                    return;
                }
                j++;
            }
            else if (c.ArgIs(j, "FREQ"u8) && additional >= 1 && idle == -1)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out freq))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (freq is < 0 or > 255)
                {
                    c.Reply.Error(InvalidFreq);
                    return;
                }
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var db = c.Db;
        var key = c.Arg(1);
        if (!replace && db.Exists(key))
        {
            c.Reply.Error(BusyKey);
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long ttl))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (ttl < 0)
        {
            c.Reply.Error(InvalidTtl);
            return;
        }
        var payload = c.Arg(3);
        if (!RdbSerializer.Verify(payload, c.Server.Diagnostics.SkipChecksumValidation))
        {
            c.Reply.Error(RdbSerializer.VersionOrChecksumError);
            return;
        }
        var value = RdbSerializer.Load(payload);
        RedisObject? obj = null;
        if (value is null || (value.Type != RedisType.String && (obj = value.CreateObject()) is null))
        {
            c.Reply.Error(RdbSerializer.BadFormatError);
            return;
        }

        // The replaced key goes silently (redis's dbDelete + dbAdd notify "new" and "restore" only), unless nothing follows.
        bool deleted = replace && db.Delete(key, KeyEvent.None);
        long now = c.Server.NowMs;
        if (ttl > 0 && !absTtl) ttl += now;
        if (ttl > 0 && ttl <= now)
        {
            // Already expired: nothing is created; a replaced key stays deleted and propagates as DEL.
            if (deleted)
            {
                c.RewritePropagation().Arg("DEL"u8).Arg(key).End();
                c.Server.Notifications.Fire(db.Index, key, KeyEvent.Del);
            }
            c.Reply.Ok();
            return;
        }
        if (ttl > 0 && !absTtl)
        {
            // A relative TTL propagates as the absolute deadline, with ABSTTL appended.
            var rewrite = c.RewritePropagation().Arg(c.Arg(0)).Arg(key).Arg(ttl);
            for (int j = 3; j < c.Count; j++) rewrite.Arg(c.Arg(j));
            rewrite.Arg("ABSTTL"u8).End();
        }
        RedisEntry e;
        if (obj is null)
        {
            db.SetString(key, value.String, SetFlags.None, ttl > 0 ? ttl : RedisDatabase.NoExpire, KeyEvent.Restore);
            e = db.Find(key, LookupFlags.NoTouch)!;
        }
        else
        {
            e = db.SetObject(key, obj, KeyEvent.Restore);
            if (ttl > 0) db.SetExpire(e, ttl, KeyEvent.None); // part of "restore", no "expire" of its own
        }
        db.SetAccess(e, idle, (int)freq, now);
        c.Reply.Ok();
    }
}
