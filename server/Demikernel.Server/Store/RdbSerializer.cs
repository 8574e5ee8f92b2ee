using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Demikernel.Server.Store;

/// <summary>
/// A value decoded from a DUMP payload, independent of how the store keeps it: a string, or the elements of a
/// collection in order (list elements, set members, zset members with <see cref="Scores"/>, hash fields with
/// <see cref="Values"/>).
/// </summary>
internal sealed class RdbValue
{
    public RedisType Type;
    public byte[] String = [];
    private List<byte[]>? _items;
    private List<double>? _scores;
    private List<byte[]>? _values;

    // created on first use: a string key (most keys of a snapshot) needs none of them
    public List<byte[]> Items => _items ??= [];
    public List<double> Scores => _scores ??= [];
    public List<byte[]> Values => _values ??= [];
    /// <summary>A value decoded straight into its store object (streams).</summary>
    public RedisObject? Object;

    /// <summary>A collection without elements: RESTORE refuses it, the RDB loader skips the key (as redis-server
    /// does with empty keys).</summary>
    public bool IsEmptyCollection =>
        Type is RedisType.List or RedisType.Set or RedisType.ZSet or RedisType.Hash && (_items is null || _items.Count == 0);

    /// <summary>The store object of a decoded collection (RESTORE and the RDB loader share this), or null for a
    /// string, for a type the store does not have, or for corrupt contents (a duplicate field or member).</summary>
    public RedisObject? CreateObject()
    {
        switch (Type)
        {
            case RedisType.List:
            {
                var list = new RedisList();
                foreach (var item in Items) list.PushRight(item);
                return list;
            }
            case RedisType.Hash:
            {
                var hash = new RedisHash(Items.Count);
                for (int i = 0; i < Items.Count; i++)
                    if (!hash.Set(Items[i], Values[i])) return null; // duplicate field: corrupt
                return hash;
            }
            case RedisType.Set:
            {
                var set = new RedisSet();
                foreach (var item in Items)
                    if (!set.Add(item)) return null; // duplicate member: corrupt
                return set;
            }
            case RedisType.ZSet:
            {
                var zset = new RedisSortedSet();
                for (int i = 0; i < Items.Count; i++)
                    if (!zset.Set(Items[i], Scores[i])) return null;
                return zset;
            }
            case RedisType.Stream:
                return Object;
            default:
                return null;
        }
    }
}

/// <summary>
/// DUMP / RESTORE payloads in Redis 7.0's format: <c>[RDB type][value][RDB version, 2 bytes LE][CRC64 Jones, 8 bytes
/// LE]</c> (cluster.c createDumpPayload / verifyDumpPayload, rdb.c rdbSaveObject / rdbLoadObject).
/// <code>
///   strings: raw, int8/16/32 (0xC0-0xC2) or LZF (0xC3 clen len data)
///   loads:   STRING, LIST, SET, ZSET, ZSET_2, HASH, LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST,
///            LIST_QUICKLIST (ziplist nodes), HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 (plain/packed nodes),
///            STREAM_LISTPACKS / _2 / _3 (<see cref="RdbStream"/>)
/// </code>
/// </summary>
internal static class RdbSerializer
{
    public const byte RdbVersion = 10;

    public const byte TypeString = 0;
    public const byte TypeList = 1;
    public const byte TypeSet = 2;
    public const byte TypeZSet = 3;
    public const byte TypeHash = 4;
    public const byte TypeZSet2 = 5;
    public const byte TypeListZiplist = 10;
    public const byte TypeSetIntset = 11;
    public const byte TypeZSetZiplist = 12;
    public const byte TypeHashZiplist = 13;
    public const byte TypeListQuicklist = 14;
    public const byte TypeHashListpack = 16;
    public const byte TypeZSetListpack = 17;
    public const byte TypeListQuicklist2 = 18;

    public const string VersionOrChecksumError = "ERR DUMP payload version or checksum are wrong";
    public const string BadFormatError = "ERR Bad data format";

    /// <summary>The DUMP payload of a string value.</summary>
    public static byte[] DumpString(ReadOnlySpan<byte> value)
    {
        var w = new RdbWriter();
        w.Byte(TypeString);
        w.String(value);
        return w.FinishDump();
    }

    /// <summary>The DUMP payload of a list (see <see cref="RdbFormat.WriteList"/>).</summary>
    public static byte[] DumpList(RedisList list) => Dump(list);

    /// <summary>The DUMP payload of a hash (see <see cref="RdbFormat.WriteHash"/>).</summary>
    public static byte[] DumpHash(RedisHash hash) => Dump(hash);

    /// <summary>The DUMP payload of a set (see <see cref="RdbFormat.WriteSet"/>).</summary>
    public static byte[] DumpSet(RedisSet set) => Dump(set);

    /// <summary>The DUMP payload of a sorted set (see <see cref="RdbFormat.WriteZSet"/>).</summary>
    public static byte[] DumpZSet(RedisSortedSet zset) => Dump(zset);

    private static byte[] Dump(RedisObject value)
    {
        var w = new RdbWriter();
        RdbFormat.WriteObject(w, value);
        return w.FinishDump();
    }

    /// <summary>verifyDumpPayload: at least the 10-byte footer, an RDB version Redis 7.0 reads, a matching CRC.</summary>
    public static bool Verify(ReadOnlySpan<byte> payload, bool skipChecksum = false)
    {
        if (payload.Length < 10) return false;
        var footer = payload[^10..];
        int version = footer[0] | (footer[1] << 8);
        if (version > RdbVersion) return false;
        if (skipChecksum) return true; // DEBUG SET-SKIP-CHECKSUM-VALIDATION 1
        ulong crc = RdbCrc64.Compute(0, payload[..^8]);
        return crc == BinaryPrimitives.ReadUInt64LittleEndian(footer[2..]);
    }

    /// <summary>Decodes a verified payload's value; null when the data is malformed or of an unsupported type.</summary>
    public static RdbValue? Load(ReadOnlySpan<byte> payload)
    {
        var r = new RdbReader(payload[..^10]);
        if (!r.TryByte(out byte type) || !TryLoadValue(ref r, type, out var v) || v.IsEmptyCollection) return null;
        if (v.Type == RedisType.Stream && r.Remaining != 0) return null; // a stream payload ends with its value
        return v;
    }

    /// <summary>True for the value types <see cref="TryLoadValue"/> decodes.</summary>
    public static bool IsValueType(byte type) => type is <= TypeZSet2 or (>= TypeListZiplist and <= TypeListQuicklist2)
        or RdbStream.TypeListpacks or RdbStream.TypeListpacks2 or RdbStream.TypeListpacks3;

    /// <summary>The object layer's reader: decodes the value of RDB type <paramref name="type"/> at the reader's
    /// position (DUMP payloads and RDB files alike); false when it is malformed, of an unsupported type, or runs past
    /// the input (<see cref="RdbReader.RanOut"/>).</summary>
    public static bool TryLoadValue(ref RdbReader r, byte type, out RdbValue value)
    {
        var v = value = new RdbValue();
        return type switch
        {
            TypeString => LoadString(ref r, v),
            TypeList => LoadStrings(ref r, v, RedisType.List),
            TypeSet => LoadStrings(ref r, v, RedisType.Set),
            TypeZSet or TypeZSet2 => LoadZSet(ref r, v, type == TypeZSet2),
            TypeHash => LoadHash(ref r, v),
            TypeListZiplist => LoadBlob(ref r, v, RedisType.List, Ziplist),
            TypeSetIntset => LoadIntset(ref r, v),
            TypeZSetZiplist => LoadBlob(ref r, v, RedisType.ZSet, Ziplist),
            TypeHashZiplist => LoadBlob(ref r, v, RedisType.Hash, Ziplist),
            TypeListQuicklist => LoadQuicklist(ref r, v, version2: false),
            TypeHashListpack => LoadBlob(ref r, v, RedisType.Hash, Listpack),
            TypeZSetListpack => LoadBlob(ref r, v, RedisType.ZSet, Listpack),
            TypeListQuicklist2 => LoadQuicklist(ref r, v, version2: true),
            RdbStream.TypeListpacks or RdbStream.TypeListpacks2 or RdbStream.TypeListpacks3 => LoadStream(ref r, v, type),
            _ => false,
        };
    }

    /// <summary>The DUMP payload of a stream (STREAM_LISTPACKS_2, see <see cref="RdbStream"/>).</summary>
    public static byte[] DumpStream(RedisStream stream) => Dump(stream);

    private static bool LoadStream(ref RdbReader r, RdbValue v, byte type)
    {
        v.Type = RedisType.Stream;
        v.Object = RdbStream.Load(ref r, type);
        return v.Object is not null;
    }

    private static bool LoadString(ref RdbReader r, RdbValue v)
    {
        v.Type = RedisType.String;
        if (!r.TryString(out v.String)) return false;
        return true;
    }

    private static bool LoadStrings(ref RdbReader r, RdbValue v, RedisType type)
    {
        v.Type = type;
        if (!r.TryItemCount(out int n)) return false;
        for (int i = 0; i < n; i++)
        {
            if (!r.TryString(out var s)) return false;
            v.Items.Add(s);
        }
        return true;
    }

    private static bool LoadZSet(ref RdbReader r, RdbValue v, bool binary)
    {
        v.Type = RedisType.ZSet;
        if (!r.TryItemCount(out int n)) return false;
        for (int i = 0; i < n; i++)
        {
            if (!r.TryString(out var member)) return false;
            double score;
            if (!(binary ? r.TryBinaryDouble(out score) : r.TryTextDouble(out score)) || double.IsNaN(score)) return false;
            v.Items.Add(member);
            v.Scores.Add(score);
        }
        return true;
    }

    private static bool LoadHash(ref RdbReader r, RdbValue v)
    {
        v.Type = RedisType.Hash;
        if (!r.TryItemCount(out int n)) return false;
        for (int i = 0; i < n; i++)
        {
            if (!r.TryString(out var field) || !r.TryString(out var value)) return false;
            v.Items.Add(field);
            v.Values.Add(value);
        }
        return true;
    }

    private delegate bool BlobDecoder(ReadOnlySpan<byte> blob, List<byte[]> into);

    /// <summary>A listpack or ziplist blob holding a list, a zset (member, score pairs) or a hash (field, value).</summary>
    private static bool LoadBlob(ref RdbReader r, RdbValue v, RedisType type, BlobDecoder decode)
    {
        v.Type = type;
        if (!r.TryString(out var blob)) return false;
        var flat = new List<byte[]>();
        if (!decode(blob, flat)) return false;
        return Unflatten(v, flat);
    }

    private static bool Unflatten(RdbValue v, List<byte[]> flat)
    {
        switch (v.Type)
        {
            case RedisType.List:
                v.Items.AddRange(flat);
                return true;
            case RedisType.ZSet:
                if (flat.Count % 2 != 0) return false;
                for (int i = 0; i < flat.Count; i += 2)
                {
                    if (!Demikernel.Resp.RedisNumbers.TryParseDouble(flat[i + 1], out double score) || double.IsNaN(score)) return false;
                    v.Items.Add(flat[i]);
                    v.Scores.Add(score);
                }
                return true;
            case RedisType.Hash:
                if (flat.Count % 2 != 0) return false;
                for (int i = 0; i < flat.Count; i += 2)
                {
                    v.Items.Add(flat[i]);
                    v.Values.Add(flat[i + 1]);
                }
                return true;
            default:
                return false;
        }
    }

    private static bool LoadIntset(ref RdbReader r, RdbValue v)
    {
        v.Type = RedisType.Set;
        if (!r.TryString(out var blob) || blob.Length < 8) return false;
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4));
        if (width is not (2 or 4 or 8) || 8 + (long)count * width != blob.Length) return false;
        for (int i = 0; i < count; i++)
        {
            var s = blob.AsSpan(8 + i * (int)width, (int)width);
            long n = width switch
            {
                2 => BinaryPrimitives.ReadInt16LittleEndian(s),
                4 => BinaryPrimitives.ReadInt32LittleEndian(s),
                _ => BinaryPrimitives.ReadInt64LittleEndian(s),
            };
            v.Items.Add(IntegerText(n));
        }
        return true;
    }

    private static bool LoadQuicklist(ref RdbReader r, RdbValue v, bool version2)
    {
        v.Type = RedisType.List;
        if (!r.TryItemCount(out int nodes)) return false;
        for (int i = 0; i < nodes; i++)
        {
            int container = 2;
            if (version2 && (!r.TryCount(out container) || container is not (1 or 2))) return false;
            if (!r.TryString(out var blob)) return false;
            if (container == 1)
            {
                v.Items.Add(blob); // a plain node: one large element
                continue;
            }
            if (!(version2 ? Listpack(blob, v.Items) : Ziplist(blob, v.Items))) return false;
        }
        return true;
    }

    private static byte[] IntegerText(long n) => Encoding.ASCII.GetBytes(n.ToString(CultureInfo.InvariantCulture));

    /// <summary>Decodes every entry of a listpack (integers as their decimal text).</summary>
    internal static bool Listpack(ReadOnlySpan<byte> lp, List<byte[]> into)
    {
        if (lp.Length < 7 || BinaryPrimitives.ReadUInt32LittleEndian(lp) != lp.Length || lp[^1] != 0xFF) return false;
        int p = 6;
        while (true)
        {
            if (p >= lp.Length) return false;
            byte b = lp[p];
            if (b == 0xFF) return p == lp.Length - 1;
            int header, dataLength;
            long integer = 0;
            bool isString = false;
            if ((b & 0x80) == 0)
            {
                header = 1; dataLength = 0; integer = b & 0x7F;
            }
            else if ((b & 0xC0) == 0x80)
            {
                header = 1; dataLength = b & 0x3F; isString = true;
            }
            else if ((b & 0xE0) == 0xC0)
            {
                if (p + 1 >= lp.Length) return false;
                header = 2; dataLength = 0;
                integer = ((b & 0x1F) << 8) | lp[p + 1];
                if (integer >= 1 << 12) integer -= 1 << 13;
            }
            else if ((b & 0xF0) == 0xE0)
            {
                if (p + 1 >= lp.Length) return false;
                header = 2; dataLength = ((b & 0x0F) << 8) | lp[p + 1]; isString = true;
            }
            else
            {
                switch (b)
                {
                    case 0xF0:
                        if (p + 5 > lp.Length) return false;
                        header = 5; dataLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(lp[(p + 1)..]), int.MaxValue); isString = true;
                        break;
                    case 0xF1: header = 1; dataLength = 2; break;
                    case 0xF2: header = 1; dataLength = 3; break;
                    case 0xF3: header = 1; dataLength = 4; break;
                    case 0xF4: header = 1; dataLength = 8; break;
                    default: return false;
                }
                if (!isString)
                {
                    if (p + 1 + dataLength > lp.Length) return false;
                    var d = lp.Slice(p + 1, dataLength);
                    integer = dataLength switch
                    {
                        2 => BinaryPrimitives.ReadInt16LittleEndian(d),
                        3 => ((d[0] | (d[1] << 8) | (d[2] << 16)) << 8) >> 8,
                        4 => BinaryPrimitives.ReadInt32LittleEndian(d),
                        _ => BinaryPrimitives.ReadInt64LittleEndian(d),
                    };
                }
            }
            long entry = (long)header + dataLength;
            if (p + entry > lp.Length) return false;
            into.Add(isString ? lp.Slice(p + header, dataLength).ToArray() : IntegerText(integer));
            int backlen = ListpackWriter.BacklenSize(entry);
            p += (int)entry + backlen;
        }
    }

    /// <summary>Decodes every entry of a ziplist (RDB files before 7.0).</summary>
    internal static bool Ziplist(ReadOnlySpan<byte> zl, List<byte[]> into)
    {
        if (zl.Length < 11 || BinaryPrimitives.ReadUInt32LittleEndian(zl) != zl.Length || zl[^1] != 0xFF) return false;
        int p = 10;
        while (true)
        {
            if (p >= zl.Length) return false;
            if (zl[p] == 0xFF) return p == zl.Length - 1;
            p += zl[p] < 254 ? 1 : 5; // prevlen
            if (p >= zl.Length) return false;
            byte b = zl[p];
            int len;
            switch (b >> 6)
            {
                case 0:
                    len = b & 0x3F; p += 1;
                    break;
                case 1:
                    if (p + 2 > zl.Length) return false;
                    len = ((b & 0x3F) << 8) | zl[p + 1]; p += 2;
                    break;
                case 2:
                    if (p + 5 > zl.Length) return false;
                    len = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(zl[(p + 1)..]), int.MaxValue); p += 5;
                    break;
                default:
                    long n;
                    int size = b switch { 0xC0 => 2, 0xD0 => 4, 0xE0 => 8, 0xF0 => 3, 0xFE => 1, _ => 0 };
                    if (size == 0 && b is < 0xF1 or > 0xFD) return false;
                    if (p + 1 + size > zl.Length) return false;
                    var d = zl.Slice(p + 1, size);
                    n = b switch
                    {
                        0xC0 => BinaryPrimitives.ReadInt16LittleEndian(d),
                        0xD0 => BinaryPrimitives.ReadInt32LittleEndian(d),
                        0xE0 => BinaryPrimitives.ReadInt64LittleEndian(d),
                        0xF0 => ((d[0] | (d[1] << 8) | (d[2] << 16)) << 8) >> 8,
                        0xFE => (sbyte)d[0],
                        _ => (b & 0x0F) - 1,
                    };
                    into.Add(IntegerText(n));
                    p += 1 + size;
                    continue;
            }
            if ((long)p + len > zl.Length) return false; // long: a 32-bit length near int.MaxValue must not wrap
            into.Add(zl.Slice(p, len).ToArray());
            p += len;
        }
    }
}

/// <summary>Builds a listpack as Redis writes one: integers in canonical form take the smallest integer encoding,
/// other strings the smallest length encoding; each entry ends with its back-length.</summary>
internal sealed class ListpackWriter
{
    private byte[] _buffer = new byte[64];
    private int _length = 6;

    public int Count { get; private set; }

    public int Size => _length + 1;

    /// <summary>The bytes the builder holds on to.</summary>
    public int Capacity => _buffer.Length;

    public static int BacklenSize(long entry) =>
        entry <= 127 ? 1 : entry < 16383 ? 2 : entry < 2097151 ? 3 : entry < 268435455 ? 4 : 5;

    /// <summary>The bytes <see cref="Add"/> appends for <paramref name="element"/> (header, data, back-length).</summary>
    public static int EntrySize(ReadOnlySpan<byte> element)
    {
        Span<byte> header = stackalloc byte[9];
        long entry = Header(element, header, out int data) + (long)data;
        return (int)entry + BacklenSize(entry);
    }

    /// <summary>The encoding header of an element (integer encodings carry the value); returns its length, and in
    /// <paramref name="data"/> how many bytes of the element follow it.</summary>
    private static int Header(ReadOnlySpan<byte> element, Span<byte> header, out int data)
    {
        data = 0;
        if (element.Length <= 20 && TryCanonicalInt64(element, out long v))
        {
            if (v is >= 0 and <= 127)
            {
                header[0] = (byte)v;
                return 1;
            }
            if (v is >= -4096 and <= 4095)
            {
                long u = v < 0 ? (1 << 13) + v : v;
                header[0] = (byte)(0xC0 | (u >> 8));
                header[1] = (byte)u;
                return 2;
            }
            if (v is >= short.MinValue and <= short.MaxValue)
            {
                header[0] = 0xF1;
                BinaryPrimitives.WriteInt16LittleEndian(header[1..], (short)v);
                return 3;
            }
            if (v is >= -(1 << 23) and < 1 << 23)
            {
                header[0] = 0xF2;
                header[1] = (byte)v;
                header[2] = (byte)(v >> 8);
                header[3] = (byte)(v >> 16);
                return 4;
            }
            if (v is >= int.MinValue and <= int.MaxValue)
            {
                header[0] = 0xF3;
                BinaryPrimitives.WriteInt32LittleEndian(header[1..], (int)v);
                return 5;
            }
            header[0] = 0xF4;
            BinaryPrimitives.WriteInt64LittleEndian(header[1..], v);
            return 9;
        }
        data = element.Length;
        if (data < 64)
        {
            header[0] = (byte)(0x80 | data);
            return 1;
        }
        if (data < 4096)
        {
            header[0] = (byte)(0xE0 | (data >> 8));
            header[1] = (byte)data;
            return 2;
        }
        header[0] = 0xF0;
        BinaryPrimitives.WriteUInt32LittleEndian(header[1..], (uint)data);
        return 5;
    }

    public void Add(ReadOnlySpan<byte> element)
    {
        Span<byte> header = stackalloc byte[9];
        int h = Header(element, header, out int data);
        long entry = h + data;
        int back = BacklenSize(entry);
        Ensure(h + data + back);
        header[..h].CopyTo(_buffer.AsSpan(_length));
        _length += h;
        if (data > 0)
        {
            element.CopyTo(_buffer.AsSpan(_length));
            _length += data;
        }
        var b = _buffer.AsSpan(_length, back);
        ulong l = (ulong)entry;
        for (int i = back - 1; i >= 0; i--)
        {
            b[i] = (byte)(l & 127);
            l >>= 7;
        }
        // lpEncodeBacklen: the first byte holds the high bits plainly, every following byte has the top bit set
        for (int i = 1; i < back; i++) b[i] |= 128;
        _length += back;
        Count++;
    }

    /// <summary>Starts an empty listpack, keeping the buffer.</summary>
    public void Reset()
    {
        _length = 6;
        Count = 0;
    }

    /// <summary>The finished listpack (header and terminator written in place), valid until the next change: what
    /// <see cref="ToArray"/> returns, without the copy.</summary>
    public ReadOnlySpan<byte> Complete()
    {
        Ensure(1);
        _buffer[_length] = 0xFF;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)(_length + 1));
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), (ushort)Math.Min(Count, 65535));
        return _buffer.AsSpan(0, _length + 1);
    }

    public byte[] ToArray()
    {
        Ensure(1);
        var result = new byte[_length + 1];
        _buffer.AsSpan(0, _length).CopyTo(result);
        result[_length] = 0xFF;
        BinaryPrimitives.WriteUInt32LittleEndian(result, (uint)result.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(4), (ushort)Math.Min(Count, 65535));
        return result;
    }

    private void Ensure(int n)
    {
        if (_length + n > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
    }

    private static bool TryCanonicalInt64(ReadOnlySpan<byte> s, out long value)
    {
        if (!Demikernel.Resp.RedisNumbers.TryParseInt64(s, out value)) return false;
        Span<byte> text = stackalloc byte[24];
        return Demikernel.Resp.RedisNumbers.TryFormatInt64(value, text, out int written) && text[..written].SequenceEqual(s);
    }
}
