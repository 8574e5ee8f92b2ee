using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Bitmap commands on string values (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO), with
/// redis-server 7.0's argument order, replies and error texts (bitops.c). Writes grow the string with zero bytes and
/// leave it raw-encoded.
/// </summary>
public static class BitmapCommands
{
    internal const string BitOffsetError = "ERR bit offset is not an integer or out of range";
    internal const string BitValueError = "ERR bit is not an integer or out of range";
    internal const string BitArgError = "ERR The bit argument must be 1 or 0.";
    internal const string BitopNotError = "ERR BITOP NOT must be called with a single source key.";
    internal const string BitfieldTypeError = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    internal const string OverflowTypeError = "ERR Invalid OVERFLOW type specified";
    internal const string BitfieldRoError = "ERR BITFIELD_RO only supports the GET subcommand";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags WriteOom = CommandFlags.Write | CommandFlags.DenyOom;
    private const string G = "bitmap";

    public static void Register(CommandTable table)
    {
        table.Add(new("SETBIT", SetBit));
        table.Add(new("GETBIT", GetBit));
        table.Add(new("BITCOUNT", BitCount)
        );
        table.Add(new("BITPOS", BitPos)
        );
        table.Add(new("BITOP", BitOp)
        );
        table.Add(new("BITFIELD", BitField)
        );
        table.Add(new("BITFIELD_RO", BitFieldRo)
        );
    }

    /// <summary>Redis's getBitOffsetFromArgument: a bit offset, "#n" meaning n×<paramref name="bits"/> when
    /// <paramref name="bits"/> &gt; 0; false (after the error reply) when not an integer, negative or past
    /// proto-max-bulk-len.</summary>
    private static bool TryGetBitOffset(ref CommandContext c, int index, int bits, out long offset)
    {
        var text = c.Arg(index);
        bool hash = bits > 0 && text.Length > 0 && text[0] == (byte)'#';
        if (!RedisNumbers.TryParseInt64(hash ? text[1..] : text, out offset))
        {
            c.Reply.Error(BitOffsetError);
            return false;
        }
        if (hash) offset = unchecked(offset * bits);
        if (offset < 0 || (offset >> 3) >= c.Server.Config.ProtoMaxBulkLen)
        {
            c.Reply.Error(BitOffsetError);
            return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- SETBIT / GETBIT

    private static void SetBit(ref CommandContext c)
    {
        if (!TryGetBitOffset(ref c, 2, 0, out long offset)) return;
        if (!RedisNumbers.TryParseInt64(c.Arg(3), out long on) || (on & ~1L) != 0)
        {
            c.Reply.Error(BitValueError);
            return;
        }
        var db = c.Db;
        if (BitString.GetForWrite(db, c.Arg(1), offset, out var e, out bool grew) != StoreStatus.Ok)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        int old = BitString.SetBit(e!.Bytes.AsSpan(0, e.Length), offset, (int)on);
        // A bit set to what it was is no change (nothing to propagate, WATCH not broken), unless the string grew,
        // which GetForWrite already reported; the value is unshared (raw) either way, as in Redis.
        if (old != on) BitString.Touched(db, e);
        else
        {
            e.Form = StringForm.Raw;
            if (grew) c.Server.Notifications.Fire(db.Index, c.Arg(1), KeyEvent.SetBit);
        }
        c.Reply.Integer(old);
    }

    private static void GetBit(ref CommandContext c)
    {
        if (!TryGetBitOffset(ref c, 2, 0, out long offset)) return;
        if (!KeyCommands.LookupView(ref c, c.Db, c.Arg(1), out var v))
        {
            c.Reply.Integer(0);
            return;
        }
        if (v.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        c.Reply.Integer(BitString.GetBit(v.StringValue, offset));
    }

    // ---------------------------------------------------------------- BITCOUNT / BITPOS

    private static void BitCount(ref CommandContext c)
    {
        if (!KeyCommands.LookupView(ref c, c.Db, c.Arg(1), out var v))
        {
            c.Reply.Integer(0);
            return;
        }
        if (v.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        var s = v.StringValue;
        if (c.Count == 2)
        {
            c.Reply.Integer(BitString.PopCount(s));
            return;
        }
        if (c.Count is not (4 or 5))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long start) || !RedisNumbers.TryParseInt64(c.Arg(3), out long end))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        bool isBit = false;
        if (c.Count == 5)
        {
            if (c.ArgIs(4, "BIT"u8)) isBit = true;
            else if (!c.ArgIs(4, "BYTE"u8))
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        long total = isBit ? (long)s.Length << 3 : s.Length;
        if (start < 0 && end < 0 && start > end)
        {
            c.Reply.Integer(0);
            return;
        }
        if (!NormalizeRange(ref start, ref end, total))
        {
            c.Reply.Integer(0);
            return;
        }
        c.Reply.Integer(isBit
            ? BitString.PopCountBits(s, start, end)
            : BitString.PopCount(s.Slice((int)start, (int)(end - start + 1))));
    }

    /// <summary>Negative indexes count from the end; clamps to [0, total-1]; false when the range is empty.</summary>
    private static bool NormalizeRange(ref long start, ref long end, long total)
    {
        if (start < 0) start += total;
        if (end < 0) end += total;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= total) end = total - 1;
        return start <= end;
    }

    private static void BitPos(ref CommandContext c)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long bit))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (bit is not (0 or 1))
        {
            c.Reply.Error(BitArgError);
            return;
        }
        if (!KeyCommands.LookupView(ref c, c.Db, c.Arg(1), out var v))
        {
            c.Reply.Integer(bit == 1 ? -1 : 0);
            return;
        }
        if (v.Type != RedisType.String)
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        var s = v.StringValue;
        long start = 0, end = 0;
        bool endGiven = false, isBit = false;
        if (c.Count >= 4)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(3), out start))
            {
                c.Reply.Error(Errors.NotInteger);
                return;
            }
            if (c.Count >= 5)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(4), out end))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                endGiven = true;
            }
            if (c.Count == 6)
            {
                if (c.ArgIs(5, "BIT"u8)) isBit = true;
                else if (!c.ArgIs(5, "BYTE"u8))
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
            }
            if (c.Count > 6)
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        long total = isBit ? (long)s.Length << 3 : s.Length;
        if (!endGiven) end = total - 1;
        if (!NormalizeRange(ref start, ref end, total))
        {
            c.Reply.Integer(-1);
            return;
        }
        long first = isBit ? start : start << 3;
        long last = isBit ? end : (end << 3) + 7;
        long pos = BitString.FindBit(s, (int)bit, first, last);
        // Looking for a clear bit without an explicit end: the string is as if padded with zeros on the right.
        if (pos < 0 && bit == 0 && !endGiven) pos = last + 1;
        c.Reply.Integer(pos);
    }

    // ---------------------------------------------------------------- BITOP

    private static void BitOp(ref CommandContext c)
    {
        int op;
        if (c.ArgIs(1, "AND"u8)) op = 0;
        else if (c.ArgIs(1, "OR"u8)) op = 1;
        else if (c.ArgIs(1, "XOR"u8)) op = 2;
        else if (c.ArgIs(1, "NOT"u8)) op = 3;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        int sources = c.Count - 3;
        if (op == 3 && sources != 1)
        {
            c.Reply.Error(BitopNotError);
            return;
        }
        var db = c.Db;
        int maxLength = 0;
        for (int j = 3; j < c.Count; j++)
        {
            if (!KeyCommands.LookupView(ref c, db, c.Arg(j), out var v)) continue;
            if (v.Type != RedisType.String)
            {
                c.Reply.Error(Errors.WrongType);
                return;
            }
            maxLength = Math.Max(maxLength, v.StringValue.Length);
        }
        if (maxLength == 0)
        {
            db.Delete(c.Arg(2));
            c.Reply.Integer(0);
            return;
        }
        var result = new byte[maxLength];
        for (int j = 3; j < c.Count; j++)
        {
            var s = db.TryLookup(c.Arg(j), LookupFlags.NoTouch, out var v) ? v.StringValue : [];
            if (j == 3)
            {
                s.CopyTo(result); // the rest stays zero (missing bytes of shorter strings are zeros)
                if (op == 3) Not(result);
                continue;
            }
            switch (op)
            {
                case 0:
                    And(result.AsSpan(0, s.Length), s);
                    result.AsSpan(s.Length).Clear();
                    break;
                case 1: Or(result, s); break;
                case 2: Xor(result, s); break;
            }
        }
        db.SetRawString(c.Arg(2), result); // createObject(OBJ_STRING, ...) is never int- or embstr-encoded
        c.Reply.Integer(maxLength);
    }

    private static void Not(Span<byte> d)
    {
        var w = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(d);
        for (int i = 0; i < w.Length; i++) w[i] = ~w[i];
        for (int i = w.Length * 8; i < d.Length; i++) d[i] = (byte)~d[i];
    }

    private static void And(Span<byte> d, ReadOnlySpan<byte> s)
    {
        var dw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(d);
        var sw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(s);
        for (int i = 0; i < dw.Length; i++) dw[i] &= sw[i];
        for (int i = dw.Length * 8; i < d.Length; i++) d[i] &= s[i];
    }

    private static void Or(Span<byte> d, ReadOnlySpan<byte> s)
    {
        var dw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(d[..s.Length]);
        var sw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(s);
        for (int i = 0; i < dw.Length; i++) dw[i] |= sw[i];
        for (int i = dw.Length * 8; i < s.Length; i++) d[i] |= s[i];
    }

    private static void Xor(Span<byte> d, ReadOnlySpan<byte> s)
    {
        var dw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(d[..s.Length]);
        var sw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(s);
        for (int i = 0; i < dw.Length; i++) dw[i] ^= sw[i];
        for (int i = dw.Length * 8; i < s.Length; i++) d[i] ^= s[i];
    }

    // ---------------------------------------------------------------- BITFIELD

    private enum FieldOp : byte { Get, Set, IncrBy }

    private enum Overflow : byte { Wrap, Sat, Fail }

    private struct FieldCommand
    {
        public FieldOp Op;
        public Overflow Overflow;
        public bool Signed;
        public int Bits;
        public long Offset;
        public long Value;
    }

    private static void BitField(ref CommandContext c) => BitFieldGeneric(ref c, readOnlyCommand: false);

    private static void BitFieldRo(ref CommandContext c) => BitFieldGeneric(ref c, readOnlyCommand: true);

    private static void BitFieldGeneric(ref CommandContext c, bool readOnlyCommand)
    {
        int maxOps = (c.Count - 2) / 3 + 1;
        Span<FieldCommand> ops = maxOps <= 32 ? stackalloc FieldCommand[32] : new FieldCommand[maxOps];
        int count = 0;
        var overflow = Overflow.Wrap;
        bool readOnly = true;
        long highestWrite = 0;
        for (int j = 2; j < c.Count; j++)
        {
            int remaining = c.Count - j - 1;
            FieldOp op;
            if (c.ArgIs(j, "GET"u8) && remaining >= 2) op = FieldOp.Get;
            else if (c.ArgIs(j, "SET"u8) && remaining >= 3) op = FieldOp.Set;
            else if (c.ArgIs(j, "INCRBY"u8) && remaining >= 3) op = FieldOp.IncrBy;
            else if (c.ArgIs(j, "OVERFLOW"u8) && remaining >= 1)
            {
                j++;
                if (c.ArgIs(j, "WRAP"u8)) overflow = Overflow.Wrap;
                else if (c.ArgIs(j, "SAT"u8)) overflow = Overflow.Sat;
                else if (c.ArgIs(j, "FAIL"u8)) overflow = Overflow.Fail;
                else
                {
                    c.Reply.Error(OverflowTypeError);
                    return;
                }
                continue;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
            if (!TryGetFieldType(c.Arg(j + 1), out bool signed, out int bits))
            {
                c.Reply.Error(BitfieldTypeError);
                return;
            }
            if (!TryGetBitOffset(ref c, j + 2, bits, out long offset)) return;
            long value = 0;
            if (op != FieldOp.Get)
            {
                readOnly = false;
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 3), out value))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                highestWrite = Math.Max(highestWrite, offset + bits - 1);
            }
            ops[count++] = new FieldCommand { Op = op, Overflow = overflow, Signed = signed, Bits = bits, Offset = offset, Value = value };
            j += op == FieldOp.Get ? 2 : 3;
        }

        var db = c.Db;
        RedisEntry? e = null;
        scoped ReadOnlySpan<byte> readOnlyValue = default; // GETs alone read the key in place, a compact key staying compact
        if (readOnly)
        {
            if (KeyCommands.LookupView(ref c, db, c.Arg(1), out var v))
            {
                if (v.Type != RedisType.String)
                {
                    c.Reply.Error(Errors.WrongType);
                    return;
                }
                readOnlyValue = v.StringValue;
            }
        }
        else
        {
            if (readOnlyCommand)
            {
                c.Reply.Error(BitfieldRoError);
                return;
            }
            if (BitString.GetForWrite(db, c.Arg(1), highestWrite, out e) != StoreStatus.Ok)
            {
                c.Reply.Error(Errors.WrongType);
                return;
            }
        }

        c.Reply.ArrayHeader(count);
        bool changed = false;
        for (int i = 0; i < count; i++)
        {
            ref var f = ref ops[i];
            if (f.Op == FieldOp.Get)
            {
                var s = e is null ? readOnlyValue : e.StringValue;
                if (f.Signed) c.Reply.Integer(BitString.GetSigned(s, f.Offset, f.Bits));
                else c.Reply.Integer((long)BitString.GetUnsigned(s, f.Offset, f.Bits));
                continue;
            }
            var span = e!.Bytes.AsSpan(0, e.Length);
            changed = true;
            if (f.Signed)
            {
                long old = BitString.GetSigned(span, f.Offset, f.Bits);
                long newValue, reply;
                bool over;
                if (f.Op == FieldOp.IncrBy)
                {
                    over = SignedOverflow(old, f.Value, f.Bits, f.Overflow, out long limit);
                    newValue = over ? limit : unchecked(old + f.Value);
                    reply = newValue;
                }
                else
                {
                    over = SignedOverflow(f.Value, 0, f.Bits, f.Overflow, out long limit);
                    newValue = over ? limit : f.Value;
                    reply = old;
                }
                if (over && f.Overflow == Overflow.Fail)
                {
                    c.Reply.Null();
                    continue;
                }
                c.Reply.Integer(reply);
                BitString.SetUnsigned(span, f.Offset, f.Bits, (ulong)newValue);
            }
            else
            {
                ulong old = BitString.GetUnsigned(span, f.Offset, f.Bits);
                ulong newValue, reply;
                bool over;
                if (f.Op == FieldOp.IncrBy)
                {
                    over = UnsignedOverflow(old, f.Value, f.Bits, f.Overflow, out ulong limit);
                    newValue = over ? limit : unchecked(old + (ulong)f.Value);
                    reply = newValue;
                }
                else
                {
                    over = UnsignedOverflow((ulong)f.Value, 0, f.Bits, f.Overflow, out ulong limit);
                    newValue = over ? limit : (ulong)f.Value;
                    reply = old;
                }
                if (over && f.Overflow == Overflow.Fail)
                {
                    c.Reply.Null();
                    continue;
                }
                c.Reply.Integer((long)reply);
                BitString.SetUnsigned(span, f.Offset, f.Bits, newValue);
            }
        }
        if (changed) BitString.Touched(db, e!);
    }

    /// <summary>"i1".."i64" or "u1".."u63" (case-sensitive, as in Redis).</summary>
    private static bool TryGetFieldType(ReadOnlySpan<byte> text, out bool signed, out int bits)
    {
        signed = false;
        bits = 0;
        if (text.IsEmpty) return false;
        if (text[0] == (byte)'i') signed = true;
        else if (text[0] != (byte)'u') return false;
        if (!RedisNumbers.TryParseInt64(text[1..], out long n) || n < 1 || (signed && n > 64) || (!signed && n > 63)) return false;
        bits = (int)n;
        return true;
    }

    /// <summary>Redis's checkSignedBitfieldOverflow: true when value+incr does not fit in a signed field of
    /// <paramref name="bits"/> bits; <paramref name="limit"/> is then the wrapped or saturated result.</summary>
    private static bool SignedOverflow(long value, long incr, int bits, Overflow mode, out long limit)
    {
        long max = bits == 64 ? long.MaxValue : (1L << (bits - 1)) - 1;
        long min = -max - 1;
        long maxIncr = unchecked(max - value);
        long minIncr = unchecked(min - value);
        limit = 0;
        if (value > max || (bits != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr))
        {
            limit = mode == Overflow.Wrap ? Wrap(value, incr, bits) : max;
            return true;
        }
        if (value < min || (bits != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr))
        {
            limit = mode == Overflow.Wrap ? Wrap(value, incr, bits) : min;
            return true;
        }
        return false;

        static long Wrap(long value, long incr, int bits)
        {
            ulong r = unchecked((ulong)value + (ulong)incr);
            if (bits < 64)
            {
                ulong mask = ulong.MaxValue << bits;
                if ((r & (1UL << (bits - 1))) != 0) r |= mask;
                else r &= ~mask;
            }
            return (long)r;
        }
    }

    /// <summary>Redis's checkUnsignedBitfieldOverflow.</summary>
    private static bool UnsignedOverflow(ulong value, long incr, int bits, Overflow mode, out ulong limit)
    {
        ulong max = (1UL << bits) - 1; // bits ≤ 63
        long maxIncr = unchecked((long)(max - value));
        long minIncr = unchecked(-(long)value);
        limit = 0;
        if (value > max || (incr > 0 && incr > maxIncr))
        {
            limit = mode == Overflow.Wrap ? Wrap(value, incr, bits) : max;
            return true;
        }
        if (incr < 0 && incr < minIncr)
        {
            limit = mode == Overflow.Wrap ? Wrap(value, incr, bits) : 0;
            return true;
        }
        return false;

        static ulong Wrap(ulong value, long incr, int bits) => unchecked(value + (ulong)incr) & ~(ulong.MaxValue << bits);
    }
}
