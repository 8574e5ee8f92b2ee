using System.Buffers.Binary;

namespace Demikernel.Server.Store;

/// <summary>CRC-64/Jones as Redis computes it for RDB files and DUMP payloads (reflected, polynomial
/// 0xad93d23594c935a9, initial value 0, no final xor; check value of "123456789" is 0xe9c6d914c4b8d9ca).</summary>
internal static class RdbCrc64
{
    // Slicing-by-8: Tables[k][b] is the CRC of byte b followed by k zero bytes, so eight input bytes fold into the
    // register with eight lookups instead of eight dependent rounds (an RDB file is checksummed end to end).
    private static readonly ulong[][] Tables = BuildTables();

    private static ulong[][] BuildTables()
    {
        const ulong reflectedPoly = 0x95ac9329ac4bc9b5UL; // bit-reversed 0xad93d23594c935a9
        var tables = new ulong[8][];
        var t0 = tables[0] = new ulong[256];
        for (int i = 0; i < 256; i++)
        {
            ulong crc = (ulong)i;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ reflectedPoly : crc >> 1;
            t0[i] = crc;
        }
        for (int k = 1; k < 8; k++)
        {
            var previous = tables[k - 1];
            var t = tables[k] = new ulong[256];
            for (int i = 0; i < 256; i++) t[i] = (previous[i] >> 8) ^ t0[(byte)previous[i]];
        }
        return tables;
    }

    public static ulong Compute(ulong crc, ReadOnlySpan<byte> data)
    {
        var t = Tables;
        ulong[] t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7];
        while (data.Length >= 8)
        {
            crc ^= BinaryPrimitives.ReadUInt64LittleEndian(data);
            crc = t7[(byte)crc] ^ t6[(byte)(crc >> 8)] ^ t5[(byte)(crc >> 16)] ^ t4[(byte)(crc >> 24)] ^
                  t3[(byte)(crc >> 32)] ^ t2[(byte)(crc >> 40)] ^ t1[(byte)(crc >> 48)] ^ t0[(byte)(crc >> 56)];
            data = data[8..];
        }
        foreach (byte b in data) crc = t0[(byte)(crc ^ b)] ^ (crc >> 8);
        return crc;
    }
}

/// <summary>LZF (liblzf's format, as RDB strings use it): decompression of Redis's compressed strings and a simple
/// compressor (valid LZF that any LZF decoder reads; not byte-identical to liblzf's choices).</summary>
internal static class RdbLzf
{
    /// <summary>Decompresses into <paramref name="output"/>, which must be exactly the original length; false when the
    /// input is malformed or does not produce exactly that many bytes.</summary>
    public static bool TryDecompress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int ip = 0, op = 0;
        while (ip < input.Length)
        {
            int ctrl = input[ip++];
            if (ctrl < 32)
            {
                int run = ctrl + 1;
                if (ip + run > input.Length || op + run > output.Length) return false;
                input.Slice(ip, run).CopyTo(output[op..]);
                ip += run;
                op += run;
            }
            else
            {
                int len = ctrl >> 5;
                if (len == 7)
                {
                    if (ip >= input.Length) return false;
                    len += input[ip++];
                }
                if (ip >= input.Length) return false;
                int reference = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
                len += 2;
                if (reference < 0 || op + len > output.Length) return false;
                for (int i = 0; i < len; i++) output[op + i] = output[reference + i]; // may overlap
                op += len;
            }
        }
        return op == output.Length;
    }

    /// <summary>Compresses <paramref name="input"/> into <paramref name="output"/>; returns the length written, or 0
    /// when the result would not fit in <paramref name="output"/>.</summary>
    public static int Compress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        // The hash table is per thread and never cleared: a slot is valid for this call only when it holds a value at
        // or above this call's base (positions are stored as base + ip), so a stale slot reads as empty. The output
        // is the same as with a freshly cleared table, without filling 64 kB per string.
        var table = t_table ??= new int[1 << HashBits];
        if (t_base == 0 || input.Length >= int.MaxValue - 1 - t_base) // first use (a zeroed table), or bases run out
        {
            System.Array.Clear(table);
            t_base = 1;
        }
        int @base = t_base;
        t_base = @base + input.Length + 1;
        int ip = 0, op = 0;
        int literalStart = 0;
        while (ip + 2 < input.Length)
        {
            int h = (int)(((uint)(input[ip] << 16 | input[ip + 1] << 8 | input[ip + 2]) * 2654435761u) >> (32 - HashBits));
            int stored = table[h];
            int reference = stored >= @base ? stored - @base : -1;
            table[h] = @base + ip;
            int off = ip - reference - 1;
            if (reference >= 0 && off < 8192 && input[reference] == input[ip] && input[reference + 1] == input[ip + 1] &&
                input[reference + 2] == input[ip + 2])
            {
                int max = Math.Min(264, input.Length - ip);
                int len = 3;
                while (len < max && input[reference + len] == input[ip + len]) len++;
                if (!FlushLiterals(input, literalStart, ip, output, ref op)) return 0;
                int code = len - 2;
                if (code < 7)
                {
                    if (op + 2 > output.Length) return 0;
                    output[op++] = (byte)((code << 5) | (off >> 8));
                }
                else
                {
                    if (op + 3 > output.Length) return 0;
                    output[op++] = (byte)((7 << 5) | (off >> 8));
                    output[op++] = (byte)(code - 7);
                }
                output[op++] = (byte)off;
                ip += len;
                literalStart = ip;
            }
            else
            {
                ip++;
            }
        }
        if (!FlushLiterals(input, literalStart, input.Length, output, ref op)) return 0;
        return op;
    }

    private const int HashBits = 14;

    [ThreadStatic] private static int[]? t_table;
    [ThreadStatic] private static int t_base;

    /// <summary>The largest output one input byte can produce: a 3-byte back reference (control, length, offset)
    /// yields at most 264 bytes, so no valid stream expands more than 88x. A declared length above
    /// <c>compressed × MaxExpansion</c> is refused before anything is allocated.</summary>
    public const int MaxExpansion = 88;

    private static bool FlushLiterals(ReadOnlySpan<byte> input, int from, int to, Span<byte> output, ref int op)
    {
        while (from < to)
        {
            int run = Math.Min(32, to - from);
            if (op + 1 + run > output.Length) return false;
            output[op++] = (byte)(run - 1);
            input.Slice(from, run).CopyTo(output[op..]);
            op += run;
            from += run;
        }
        return true;
    }
}

/// <summary>Writes RDB primitives (lengths, strings with integer encoding and LZF, binary doubles).</summary>
internal sealed class RdbWriter
{
    private byte[] _buffer = new byte[64];
    private int _length;

    /// <summary>rdbcompression: when false, strings are never LZF-compressed.</summary>
    public bool Compress { get; set; } = true;

    public int Size => _length;

    /// <summary>Forgets what was written and keeps the buffer (a snapshot drains the writer, then reuses it).</summary>
    public void Clear() => _length = 0;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    private Span<byte> Reserve(int n)
    {
        EnsureCapacity(n);
        var span = _buffer.AsSpan(_length, n);
        _length += n;
        return span;
    }

    public void Byte(byte b) => Reserve(1)[0] = b;

    public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian length.</summary>
    public void Length(ulong n)
    {
        if (n < 1 << 6)
        {
            Byte((byte)n);
        }
        else if (n < 1 << 14)
        {
            var s = Reserve(2);
            s[0] = (byte)(0x40 | (n >> 8));
            s[1] = (byte)n;
        }
        else if (n <= uint.MaxValue)
        {
            var s = Reserve(5);
            s[0] = 0x80;
            BinaryPrimitives.WriteUInt32BigEndian(s[1..], (uint)n);
        }
        else
        {
            var s = Reserve(9);
            s[0] = 0x81;
            BinaryPrimitives.WriteUInt64BigEndian(s[1..], n);
        }
    }

    /// <summary>rdbSaveRawString: an integer encoding for short canonical integers in int32 range, LZF for strings
    /// over 20 bytes when it saves at least 4 bytes, otherwise length + bytes.</summary>
    public void String(ReadOnlySpan<byte> value)
    {
        if (value.Length <= 11 && TryCanonicalInt32(value, out int n))
        {
            if (n is >= sbyte.MinValue and <= sbyte.MaxValue)
            {
                Byte(0xC0);
                Byte((byte)(sbyte)n);
            }
            else if (n is >= short.MinValue and <= short.MaxValue)
            {
                Byte(0xC1);
                BinaryPrimitives.WriteInt16LittleEndian(Reserve(2), (short)n);
            }
            else
            {
                Byte(0xC2);
                BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), n);
            }
            return;
        }
        if (Compress && value.Length > 20 && TryCompressed(value)) return;
        Length((ulong)value.Length);
        Bytes(value);
    }

    /// <summary>Writes 0xC3 clen len data when LZF saves at least 4 bytes. The compressor writes straight into this
    /// writer's buffer past room for the header, and the data is then moved down behind the header: no scratch.</summary>
    private bool TryCompressed(ReadOnlySpan<byte> value)
    {
        const int maxHeader = 1 + 9 + 9;
        int limit = value.Length - 4;
        EnsureCapacity(maxHeader + limit);
        var compressed = _buffer.AsSpan(_length + maxHeader, limit);
        int clen = RdbLzf.Compress(value, compressed);
        if (clen == 0) return false;
        int start = _length;
        Byte(0xC3);
        Length((ulong)clen);
        Length((ulong)value.Length);
        _buffer.AsSpan(start + maxHeader, clen).CopyTo(_buffer.AsSpan(_length)); // moves down (overlap-safe)
        _length += clen;
        return true;
    }

    private void EnsureCapacity(int n)
    {
        if ((long)_length + n > _buffer.Length)
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_length + n)));
    }

    public void Double(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);

    /// <summary>Appends the DUMP footer (RDB version 10, CRC64 of everything before) and returns the payload.</summary>
    public byte[] FinishDump()
    {
        var v = Reserve(2);
        v[0] = RdbSerializer.RdbVersion;
        v[1] = 0;
        ulong crc = RdbCrc64.Compute(0, Written);
        BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), crc);
        return Written.ToArray();
    }

    private static bool TryCanonicalInt32(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        if (!Demikernel.Resp.RedisNumbers.TryParseInt64(s, out long v) || v is < int.MinValue or > int.MaxValue) return false;
        Span<byte> text = stackalloc byte[24];
        if (!Demikernel.Resp.RedisNumbers.TryFormatInt64(v, text, out int written) || !text[..written].SequenceEqual(s)) return false;
        value = (int)v;
        return true;
    }
}

/// <summary>Reads RDB primitives from a payload; every method returns false on malformed input (never throws).</summary>
internal ref struct RdbReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public RdbReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly int Remaining => _data.Length - _pos;

    /// <summary>True once a read asked for more bytes than were left: the input ended early (a truncated file, or a
    /// length larger than the rest of the input).</summary>
    public bool RanOut { get; private set; }

    /// <summary>Records that a count or length claimed more than the rest of the input.</summary>
    public void MarkRanOut() => RanOut = true;

    public bool TryByte(out byte b)
    {
        b = 0;
        if (_pos >= _data.Length)
        {
            RanOut = true;
            return false;
        }
        b = _data[_pos++];
        return true;
    }

    public bool TryBytes(int n, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (n < 0) return false;
        if (n > _data.Length - _pos)
        {
            RanOut = true;
            return false;
        }
        bytes = _data.Slice(_pos, n);
        _pos += n;
        return true;
    }

    /// <summary>rdbLoadLenByRef: a length, or (with <paramref name="encoded"/>) the special string encoding number.</summary>
    public bool TryLength(out ulong length, out bool encoded)
    {
        length = 0;
        encoded = false;
        if (!TryByte(out byte b)) return false;
        switch (b >> 6)
        {
            case 0:
                length = (ulong)(b & 0x3F);
                return true;
            case 1:
                if (!TryByte(out byte b2)) return false;
                length = (ulong)(((b & 0x3F) << 8) | b2);
                return true;
            case 3:
                encoded = true;
                length = (ulong)(b & 0x3F);
                return true;
            default:
                if (b == 0x80)
                {
                    if (!TryBytes(4, out var s)) return false;
                    length = BinaryPrimitives.ReadUInt32BigEndian(s);
                    return true;
                }
                if (b == 0x81)
                {
                    if (!TryBytes(8, out var s)) return false;
                    length = BinaryPrimitives.ReadUInt64BigEndian(s);
                    return true;
                }
                return false;
        }
    }

    /// <summary>A count of items that each take at least one byte: refused (as running out) when larger than the rest
    /// of the input, before anything is allocated for them.</summary>
    public bool TryItemCount(out int count)
    {
        if (!TryCount(out count)) return false;
        if (count > Remaining)
        {
            MarkRanOut();
            return false;
        }
        return true;
    }

    /// <summary>A plain length (no special encoding) that fits in an int.</summary>
    public bool TryCount(out int count)
    {
        count = 0;
        if (!TryLength(out ulong n, out bool encoded) || encoded || n > int.MaxValue) return false;
        count = (int)n;
        return true;
    }

    /// <summary>rdbGenericLoadStringObject: raw, integer-encoded or LZF-compressed.</summary>
    public bool TryString(out byte[] value)
    {
        value = [];
        if (!TryLength(out ulong n, out bool encoded)) return false;
        if (!encoded)
        {
            if (n > (ulong)Remaining)
            {
                RanOut = true; // refused before allocating
                return false;
            }
            if (!TryBytes((int)n, out var raw)) return false;
            value = raw.ToArray();
            return true;
        }
        long integer;
        switch (n)
        {
            case 0:
                if (!TryBytes(1, out var i8)) return false;
                integer = (sbyte)i8[0];
                break;
            case 1:
                if (!TryBytes(2, out var i16)) return false;
                integer = BinaryPrimitives.ReadInt16LittleEndian(i16);
                break;
            case 2:
                if (!TryBytes(4, out var i32)) return false;
                integer = BinaryPrimitives.ReadInt32LittleEndian(i32);
                break;
            case 3:
                if (!TryCount(out int clen) || !TryCount(out int len) || !TryBytes(clen, out var compressed)) return false;
                if (len == 0 || len > (long)clen * RdbLzf.MaxExpansion) return false; // impossible: refused before allocating
                value = new byte[len];
                return len > 0 && RdbLzf.TryDecompress(compressed, value);
            default:
                return false;
        }
        value = System.Text.Encoding.ASCII.GetBytes(integer.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>A binary double (ZSET_2 scores).</summary>
    public bool TryBinaryDouble(out double value)
    {
        value = 0;
        if (!TryBytes(8, out var s)) return false;
        value = BinaryPrimitives.ReadDoubleLittleEndian(s);
        return true;
    }

    /// <summary>An old-style double (RDB_TYPE_ZSET): length byte then text; 253 nan, 254 +inf, 255 -inf.</summary>
    public bool TryTextDouble(out double value)
    {
        value = 0;
        if (!TryByte(out byte len)) return false;
        switch (len)
        {
            case 253: value = double.NaN; return true;
            case 254: value = double.PositiveInfinity; return true;
            case 255: value = double.NegativeInfinity; return true;
        }
        if (!TryBytes(len, out var text)) return false;
        return double.TryParse(System.Text.Encoding.ASCII.GetString(text), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
