using System.Buffers.Binary;
using System.Numerics;

namespace Demikernel.Server.Store;

/// <summary>
/// Redis's HyperLogLog string format, byte for byte (hyperloglog.c), so values DUMPed from Redis restore and count the
/// same here and the other way round:
/// <code>
///   +------+---+-----+----------+
///   | HYLL | E | N/U | Cardin.  |   16-byte header: magic, encoding (0 dense, 1 sparse), 3 unused bytes,
///   +------+---+-----+----------+   cached cardinality (64-bit little endian; top bit set = stale)
///   dense:  16384 registers × 6 bits, least significant bits first (12288 bytes)
///   sparse: opcodes  ZERO 00xxxxxx (1-64 zero registers), XZERO 01xxxxxx yyyyyyyy (1-16384 zero registers),
///           VAL 1vvvvvxx (1-4 registers of value 1-32)
/// </code>
/// Elements are hashed with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick a register, the position of the
/// first set bit of the remaining 50 (plus one) is the candidate value. The estimate is Ertl's improved raw
/// estimator, as Redis 5+ computes it (standard error 0.81%).
/// </summary>
/// <remarks>Sparse values are edited by decoding all registers, changing them and encoding again (canonically:
/// ZERO for runs up to 64, XZERO above, VAL runs of up to 4); a sparse value that would exceed
/// <see cref="SparseMaxBytes"/> or hold a register above 32 becomes dense, as in Redis.</remarks>
internal static class HyperLogLog
{
    public const int P = 14;
    public const int Q = 64 - P;
    public const int Registers = 1 << P;
    public const int Bits = 6;
    public const int RegisterMax = (1 << Bits) - 1;
    public const int HeaderSize = 16;
    public const int DenseSize = HeaderSize + (Registers * Bits + 7) / 8;
    public const byte EncodingDense = 0;
    public const byte EncodingSparse = 1;
    /// <summary>Redis's hll-sparse-max-bytes default.</summary>
    public const int SparseMaxBytes = 3000;
    private const int SparseValMax = 32;
    private const int ZeroMaxLen = 64;
    private const int XZeroMaxLen = 16384;
    private const int ValMaxLen = 4;
    private const double AlphaInf = 0.721347520444481703680; // 0.5/ln(2)

    public const string WrongTypeError = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    public const string InvalidError = "INVALIDOBJ Corrupted HLL object detected";

    [ThreadStatic] private static byte[]? t_registers;
    [ThreadStatic] private static byte[]? t_scratch;

    /// <summary>A per-thread buffer of <see cref="Registers"/> bytes (one register per byte).</summary>
    public static byte[] RegisterBuffer => t_registers ??= new byte[Registers];

    /// <summary>A per-thread buffer large enough for any encoded value (dense size).</summary>
    public static byte[] Scratch => t_scratch ??= new byte[MaxEncodedSize];

    /// <summary>The largest value an HLL can take: dense, or sparse at one opcode byte per register (possible when
    /// hll-sparse-max-bytes is raised past the dense size).</summary>
    public const int MaxEncodedSize = HeaderSize + Registers + 2;

    /// <summary>The value of a new, empty HLL: sparse, one XZERO covering every register, cached cardinality 0.</summary>
    public static byte[] CreateEmpty()
    {
        var s = new byte[HeaderSize + 2];
        "HYLL"u8.CopyTo(s);
        s[4] = EncodingSparse;
        int n = XZeroMaxLen - 1;
        s[HeaderSize] = (byte)(0x40 | (n >> 8));
        s[HeaderSize + 1] = (byte)n;
        return s;
    }

    /// <summary>Redis's isHLLObjectOrReply check of a string value: magic, known encoding, exact dense size.</summary>
    public static bool IsValid(ReadOnlySpan<byte> s) =>
        s.Length >= HeaderSize && s[..4].SequenceEqual("HYLL"u8) && s[4] <= EncodingSparse &&
        (s[4] != EncodingDense || s.Length == DenseSize);

    public static bool IsDense(ReadOnlySpan<byte> s) => s[4] == EncodingDense;

    public static bool CacheValid(ReadOnlySpan<byte> s) => (s[15] & 0x80) == 0;

    public static long CachedCount(ReadOnlySpan<byte> s) => (long)BinaryPrimitives.ReadUInt64LittleEndian(s[8..16]);

    public static void SetCache(Span<byte> s, long count) => BinaryPrimitives.WriteUInt64LittleEndian(s[8..16], (ulong)count);

    public static void InvalidateCache(Span<byte> s) => s[15] |= 0x80;

    // ---------------------------------------------------------------- hashing

    /// <summary>Austin Appleby's MurmurHash64A, little-endian reads, as Redis uses it.</summary>
    public static ulong MurmurHash64A(ReadOnlySpan<byte> key, uint seed)
    {
        const ulong m = 0xc6a4a7935bd1e995UL;
        const int r = 47;
        ulong h = seed ^ unchecked((ulong)key.Length * m);
        int blocks = key.Length & ~7;
        for (int i = 0; i < blocks; i += 8)
        {
            ulong k = BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(i, 8));
            k = unchecked(k * m);
            k ^= k >> r;
            k = unchecked(k * m);
            h ^= k;
            h = unchecked(h * m);
        }
        int rest = key.Length & 7;
        if (rest > 0)
        {
            var tail = key[blocks..];
            for (int i = rest - 1; i >= 0; i--) h ^= (ulong)tail[i] << (8 * i);
            h = unchecked(h * m);
        }
        h ^= h >> r;
        h = unchecked(h * m);
        h ^= h >> r;
        return h;
    }

    /// <summary>Redis's hllPatLen: the register an element goes to and the value it proposes (1..51).</summary>
    public static int PatternLength(ReadOnlySpan<byte> element, out int index)
    {
        ulong hash = MurmurHash64A(element, 0xadc83b19);
        index = (int)(hash & (Registers - 1));
        hash >>= P;
        hash |= 1UL << Q;
        return BitOperations.TrailingZeroCount(hash) + 1;
    }

    // ---------------------------------------------------------------- dense registers

    public static int GetDense(ReadOnlySpan<byte> registers, int index)
    {
        int bit = index * Bits;
        int b = bit >> 3, fb = bit & 7;
        int b0 = registers[b];
        int b1 = b + 1 < registers.Length ? registers[b + 1] : 0;
        return ((b0 >> fb) | (b1 << (8 - fb))) & RegisterMax;
    }

    public static void SetDense(Span<byte> registers, int index, int value)
    {
        int bit = index * Bits;
        int b = bit >> 3, fb = bit & 7;
        registers[b] = (byte)((registers[b] & ~(RegisterMax << fb)) | (value << fb));
        if (fb > 8 - Bits)
            registers[b + 1] = (byte)((registers[b + 1] & ~(RegisterMax >> (8 - fb))) | (value >> (8 - fb)));
    }

    // ---------------------------------------------------------------- decoding

    /// <summary>Merges the registers of a valid HLL value into <paramref name="max"/> (max per register); false when
    /// a sparse value does not describe exactly <see cref="Registers"/> registers (corrupt).</summary>
    public static bool MergeInto(ReadOnlySpan<byte> s, Span<byte> max)
    {
        var body = s[HeaderSize..];
        if (IsDense(s))
        {
            for (int i = 0; i < Registers; i++)
            {
                int v = GetDense(body, i);
                if (v > max[i]) max[i] = (byte)v;
            }
            return true;
        }
        int index = 0;
        for (int p = 0; p < body.Length;)
        {
            byte op = body[p];
            if ((op & 0xC0) == 0)
            {
                index += (op & 0x3F) + 1;
                p++;
            }
            else if ((op & 0xC0) == 0x40)
            {
                if (p + 1 >= body.Length) return false;
                index += (((op & 0x3F) << 8) | body[p + 1]) + 1;
                p += 2;
            }
            else
            {
                int run = (op & 0x3) + 1;
                int value = ((op >> 2) & 0x1F) + 1;
                if (index + run > Registers) return false;
                for (int i = index; i < index + run; i++)
                    if (value > max[i]) max[i] = (byte)value;
                index += run;
                p++;
            }
            if (index > Registers) return false;
        }
        return index == Registers;
    }

    /// <summary>Decodes a valid HLL value into one byte per register; false when corrupt.</summary>
    public static bool Decode(ReadOnlySpan<byte> s, Span<byte> registers)
    {
        registers[..Registers].Clear();
        return MergeInto(s, registers);
    }

    // ---------------------------------------------------------------- encoding

    /// <summary>
    /// Encodes registers (one per byte) as a whole HLL value into <paramref name="dest"/> (at least
    /// <see cref="DenseSize"/> bytes) with <paramref name="header"/>'s cached cardinality bytes: sparse when it fits in
    /// <see cref="SparseMaxBytes"/> and no register exceeds 32 (unless <paramref name="forceDense"/>), dense otherwise.
    /// Returns the length written.
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> registers, ReadOnlySpan<byte> header, Span<byte> dest, bool forceDense)
    {
        header[..HeaderSize].CopyTo(dest);
        if (!forceDense)
        {
            // hll-sparse-max-bytes bounds the whole value (header included), as redis's promotion check
            int limit = (int)Math.Clamp(EncodingLimits.Current.HllSparseMaxBytes, HeaderSize, dest.Length);
            int n = TryEncodeSparse(registers, dest[HeaderSize..limit]);
            if (n >= 0)
            {
                dest[4] = EncodingSparse;
                return HeaderSize + n;
            }
        }
        dest[4] = EncodingDense;
        var body = dest.Slice(HeaderSize, DenseSize - HeaderSize);
        body.Clear();
        for (int i = 0; i < Registers; i++)
            if (registers[i] != 0) SetDense(body, i, registers[i]);
        return DenseSize;
    }

    /// <summary>The sparse opcodes of the registers, or -1 when they do not fit or a register exceeds 32.</summary>
    private static int TryEncodeSparse(ReadOnlySpan<byte> registers, Span<byte> dest)
    {
        int p = 0;
        int i = 0;
        while (i < Registers)
        {
            int v = registers[i];
            int j = i + 1;
            while (j < Registers && registers[j] == v) j++;
            int run = j - i;
            if (v == 0)
            {
                while (run > 0)
                {
                    if (run > ZeroMaxLen)
                    {
                        int n = Math.Min(run, XZeroMaxLen);
                        if (p + 2 > dest.Length) return -1;
                        dest[p++] = (byte)(0x40 | ((n - 1) >> 8));
                        dest[p++] = (byte)(n - 1);
                        run -= n;
                    }
                    else
                    {
                        if (p + 1 > dest.Length) return -1;
                        dest[p++] = (byte)(run - 1);
                        run = 0;
                    }
                }
            }
            else
            {
                if (v > SparseValMax) return -1;
                while (run > 0)
                {
                    int n = Math.Min(run, ValMaxLen);
                    if (p + 1 > dest.Length) return -1;
                    dest[p++] = (byte)(0x80 | ((v - 1) << 2) | (n - 1));
                    run -= n;
                }
            }
            i = j;
        }
        return p;
    }

    // ---------------------------------------------------------------- estimation

    /// <summary>The cardinality estimate of registers held one per byte.</summary>
    public static long Count(ReadOnlySpan<byte> registers)
    {
        Span<int> histogram = stackalloc int[64];
        for (int i = 0; i < Registers; i++) histogram[registers[i]]++;
        return Estimate(histogram);
    }

    /// <summary>The estimate of a valid HLL value, or -1 when it is corrupt.</summary>
    public static long CountValue(ReadOnlySpan<byte> s)
    {
        Span<int> histogram = stackalloc int[64];
        var body = s[HeaderSize..];
        if (IsDense(s))
        {
            for (int i = 0; i < Registers; i++) histogram[GetDense(body, i)]++;
            return Estimate(histogram);
        }
        int index = 0;
        for (int p = 0; p < body.Length;)
        {
            byte op = body[p];
            if ((op & 0xC0) == 0)
            {
                int run = (op & 0x3F) + 1;
                index += run;
                histogram[0] += run;
                p++;
            }
            else if ((op & 0xC0) == 0x40)
            {
                if (p + 1 >= body.Length) return -1;
                int run = (((op & 0x3F) << 8) | body[p + 1]) + 1;
                index += run;
                histogram[0] += run;
                p += 2;
            }
            else
            {
                int run = (op & 0x3) + 1;
                index += run;
                histogram[((op >> 2) & 0x1F) + 1] += run;
                p++;
            }
            if (index > Registers) return -1;
        }
        return index == Registers ? Estimate(histogram) : -1;
    }

    /// <summary>Ertl's improved estimator over a histogram of register values (Redis's hllCount).</summary>
    private static long Estimate(ReadOnlySpan<int> histogram)
    {
        double m = Registers;
        double z = m * Tau((m - histogram[Q + 1]) / m);
        for (int j = Q; j >= 1; --j)
        {
            z += histogram[j];
            z *= 0.5;
        }
        z += m * Sigma(histogram[0] / m);
        return (long)Math.Round(AlphaInf * m * m / z, MidpointRounding.AwayFromZero);
    }

    private static double Sigma(double x)
    {
        if (x == 1.0) return double.PositiveInfinity;
        double y = 1, z = x, zPrime;
        do
        {
            x *= x;
            zPrime = z;
            z += x * y;
            y += y;
        }
        while (zPrime != z);
        return z;
    }

    private static double Tau(double x)
    {
        if (x == 0.0 || x == 1.0) return 0.0;
        double y = 1.0, z = 1 - x, zPrime;
        do
        {
            x = Math.Sqrt(x);
            zPrime = z;
            y *= 0.5;
            z -= Math.Pow(1 - x, 2) * y;
        }
        while (zPrime != z);
        return z / 3;
    }
}
