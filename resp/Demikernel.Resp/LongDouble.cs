using System.Numerics;

namespace Demikernel.Resp;

/// <summary>
/// The C <c>long double</c> of redis-server on x86-64 (the x87 80-bit format: 64-bit significand, exponents
/// -16382..16383, gradual underflow), in software: INCRBYFLOAT and HINCRBYFLOAT parse with strtold, add, and print
/// with "%.17Lf" in that precision, and their results differ visibly from double's (0.1 + 0.2 is "0.3", not
/// "0.30000000000000004"; 1e4000 is a valid value). Parsing and addition round exactly once to nearest-even, as glibc's
/// strtold and the x87 FPU do, so a chain of increments stores the same texts as redis-server.
/// </summary>
/// <remarks>Exact arithmetic goes through <see cref="BigInteger"/>: INCRBYFLOAT allocates a few small objects, a price
/// for agreeing with redis-server digit for digit.</remarks>
public readonly struct LongDouble
{
    private const int SignificandBits = 64;
    private const int MaxExponent = 16383;                   // of the leading bit
    private const int MinLsbExponent = -16382 - (SignificandBits - 1); // the smallest subnormal is 2^-16445
    private const int HumanDecimals = 17;

    // value = (-1)^negative × significand × 2^exponent; significand < 2^64; zero when significand is 0
    private readonly BigInteger _significand;
    private readonly int _exponent;
    private readonly bool _negative;
    private readonly bool _infinite;

    private LongDouble(bool negative, BigInteger significand, int exponent, bool infinite = false)
    {
        _negative = negative;
        _significand = significand;
        _exponent = exponent;
        _infinite = infinite;
    }

    public static LongDouble Zero => default;

    /// <summary>A double widened exactly, as C converts double to long double (GEOPOS prints coordinates this way).</summary>
    public static LongDouble FromDouble(double value)
    {
        if (!double.IsFinite(value)) return new LongDouble(value < 0, 0, 0, infinite: true);
        long bits = BitConverter.DoubleToInt64Bits(value);
        bool negative = bits < 0;
        int biased = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xF_FFFF_FFFF_FFFF;
        return biased == 0
            ? new LongDouble(negative, fraction, -1074)
            : new LongDouble(negative, fraction | (1L << 52), biased - 1075);
    }

    public bool IsFinite => !_infinite;

    /// <summary>Parses like redis-server's string2ld: strtold's grammar (decimal, hexadecimal "0x1.8p3", "inf",
    /// "infinity"), the whole text, no leading space, no NaN, and neither overflow to infinity nor underflow to zero.
    /// "inf" itself is accepted, as there.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out LongDouble value)
    {
        value = default;
        if (text.IsEmpty || text.Length >= RedisNumbers.MaxDoubleInputLength) return false;
        bool negative = text[0] == (byte)'-';
        var body = text[0] is (byte)'-' or (byte)'+' ? text[1..] : text;
        if (System.Text.Ascii.EqualsIgnoreCase(body, "inf"u8) || System.Text.Ascii.EqualsIgnoreCase(body, "infinity"u8))
        {
            value = new LongDouble(negative, 0, 0, infinite: true);
            return true;
        }
        bool hex = body.Length > 2 && body[0] == (byte)'0' && (body[1] | 0x20) == 'x';
        if (!TryScan(hex ? body[2..] : body, hex, out var mantissa, out long exponent)) return false;
        if (mantissa.IsZero)
        {
            value = new LongDouble(negative, 0, 0);
            return true;
        }
        if (hex)
        {
            // exponent is binary; clamp far outside the range so the shift stays small and still over/underflows
            value = Round(negative, mantissa, BigInteger.One, (int)Math.Clamp(exponent, -40_000, 40_000));
        }
        else
        {
            // value = mantissa × 10^exponent; beyond ±10^5000 (with at most 5k digits) it over- or underflows anyway
            long e10 = Math.Clamp(exponent, -12_000, 6_000);
            value = e10 >= 0
                ? Round(negative, mantissa * BigInteger.Pow(10, (int)e10), BigInteger.One, 0)
                : Round(negative, mantissa, BigInteger.Pow(10, (int)-e10), 0);
        }
        // strtold's ERANGE cases that string2ld refuses: HUGE_VAL and a non-zero text rounded to zero
        return value.IsFinite && !value._significand.IsZero;
    }

    /// <summary>The digits of strtold's grammar (no sign): [digits][.digits][e[±]digits] with at least one digit,
    /// or for hexadecimal [hexdigits][.hexdigits][p[±]digits]. The mantissa as an integer and the exponent that
    /// scales it (decimal, or binary for hexadecimal).</summary>
    private static bool TryScan(ReadOnlySpan<byte> s, bool hex, out BigInteger mantissa, out long exponent)
    {
        mantissa = BigInteger.Zero;
        exponent = 0;
        int radix = hex ? 16 : 10;
        int p = 0, digits = 0;
        bool point = false;
        for (; p < s.Length; p++)
        {
            int d = DigitValue(s[p], radix);
            if (d >= 0)
            {
                mantissa = mantissa * radix + d;
                digits++;
                if (point) exponent -= hex ? 4 : 1;
            }
            else if (s[p] == (byte)'.' && !point)
            {
                point = true;
            }
            else
            {
                break;
            }
        }
        if (digits == 0) return false;
        if (p < s.Length && (s[p] | 0x20) == (hex ? 'p' : 'e'))
        {
            p++;
            bool negative = p < s.Length && s[p] == (byte)'-';
            if (p < s.Length && s[p] is (byte)'-' or (byte)'+') p++;
            int start = p;
            long e = 0;
            for (; p < s.Length && s[p] - (uint)'0' <= 9; p++)
                e = Math.Min(e * 10 + (s[p] - '0'), 1_000_000_000);
            if (p == start) return false;
            exponent += negative ? -e : e;
        }
        return p == s.Length;
    }

    private static int DigitValue(byte c, int radix)
    {
        if (c - (uint)'0' <= 9) return c - '0';
        int lower = c | 0x20;
        return radix == 16 && lower - (uint)'a' <= 5 ? lower - 'a' + 10 : -1;
    }

    /// <summary>The sum, rounded once to nearest-even as the x87 FPU adds; infinite when it overflows or when an
    /// operand is infinite (callers refuse both, as redis-server refuses NaN and infinity). x + (-x) is +0.</summary>
    public static LongDouble operator +(LongDouble a, LongDouble b)
    {
        if (a._infinite || b._infinite) return new LongDouble(a._infinite ? a._negative : b._negative, 0, 0, infinite: true);
        if (a._significand.IsZero) return b._significand.IsZero ? new LongDouble(a._negative && b._negative, 0, 0) : b;
        if (b._significand.IsZero) return a;
        int low = Math.Min(a._exponent, b._exponent);
        var x = a._significand << (a._exponent - low);
        var y = b._significand << (b._exponent - low);
        var sum = (a._negative ? -x : x) + (b._negative ? -y : y);
        if (sum.IsZero) return Zero;
        return Round(sum.Sign < 0, BigInteger.Abs(sum), BigInteger.One, low);
    }

    /// <summary>Rounds numerator/denominator × 2^exponent (positive) to the format: 64 significant bits, or fewer
    /// below the normal range; nearest, ties to even.</summary>
    private static LongDouble Round(bool negative, BigInteger numerator, BigInteger denominator, int exponent)
    {
        // Three guard bits beyond the 64 kept, plus a sticky remainder, decide the rounding exactly.
        long top = numerator.GetBitLength() - denominator.GetBitLength() + exponent; // leading bit exponent, ±1
        long guardLsb = top - (SignificandBits + 3);
        long shift = exponent - guardLsb;
        var n = shift >= 0 ? numerator << (int)shift : numerator;
        var d = shift < 0 ? denominator << (int)-shift : denominator;
        var q = BigInteger.DivRem(n, d, out var remainder);
        bool sticky = !remainder.IsZero;
        long leading = q.GetBitLength() - 1 + guardLsb;
        long lsb = Math.Max(leading - (SignificandBits - 1), MinLsbExponent);
        int drop = (int)(lsb - guardLsb);
        var kept = q >> drop;
        var dropped = q - (kept << drop);
        var half = BigInteger.One << (drop - 1);
        int versusHalf = dropped.CompareTo(half);
        if (versusHalf > 0 || (versusHalf == 0 && (sticky || !kept.IsEven))) kept += 1;
        if (kept.GetBitLength() > SignificandBits)
        {
            kept >>= 1; // 2^64 exactly
            lsb++;
        }
        if (!kept.IsZero && kept.GetBitLength() - 1 + lsb > MaxExponent) return new LongDouble(negative, 0, 0, infinite: true);
        return new LongDouble(negative, kept, kept.IsZero ? 0 : (int)lsb);
    }

    /// <summary>Formats as ld2string's human mode: "%.17Lf" (the exact value rounded to 17 decimals, nearest-even),
    /// trailing zeros and a trailing '.' removed, "-0" written "0". Never an exponent: 1e300 has 301 digits.</summary>
    public string ToHumanString()
    {
        if (_infinite) return _negative ? "-inf" : "inf";
        var scale = BigInteger.Pow(10, HumanDecimals);
        BigInteger fixedPoint; // value × 10^17, rounded
        if (_exponent >= 0)
        {
            fixedPoint = (_significand << _exponent) * scale;
        }
        else
        {
            var n = _significand * scale;
            fixedPoint = n >> -_exponent;
            var dropped = n - (fixedPoint << -_exponent);
            int versusHalf = (dropped << 1).CompareTo(BigInteger.One << -_exponent);
            if (versusHalf > 0 || (versusHalf == 0 && !fixedPoint.IsEven)) fixedPoint += 1;
        }
        var integer = BigInteger.DivRem(fixedPoint, scale, out var fraction);
        string decimals = fraction.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(HumanDecimals, '0').TrimEnd('0');
        string text = integer.ToString(System.Globalization.CultureInfo.InvariantCulture) + (decimals.Length > 0 ? "." + decimals : "");
        return _negative && text != "0" ? "-" + text : text;
    }
}
