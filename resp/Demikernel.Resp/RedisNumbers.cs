using System.Globalization;

namespace Demikernel.Resp;

/// <summary>
/// Number parsing and formatting with redis-server 7.0 semantics (util.c: string2ll, string2ld,
/// addReplyDouble's "%.17g"; ld2string's long double is LongDouble). All methods are allocation-free.
/// </summary>
public static class RedisNumbers
{
    /// <summary>Redis LONG_STR_SIZE: strings of this length or longer are never valid integers.</summary>
    public const int MaxInt64Length = 21;

    /// <summary>Redis MAX_LONG_DOUBLE_CHARS: strings of this length or longer are never valid doubles.</summary>
    public const int MaxDoubleInputLength = 5 * 1024;

    /// <summary>Bytes always sufficient for <see cref="TryFormatDouble"/> ("-1.2345678901234567e-308").</summary>
    public const int MaxDoubleLength = 32;

    /// <summary>
    /// Parses a 64-bit integer exactly like Redis string2ll: optional '-', no '+', no spaces,
    /// no leading zeros (except "0" itself), "-0" rejected, overflow rejected.
    /// </summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        int length = text.Length;
        if (length == 0 || length >= MaxInt64Length)
        {
            return false;
        }

        if (length == 1 && text[0] == (byte)'0')
        {
            return true;
        }

        int i = 0;
        bool negative = false;
        if (text[0] == (byte)'-')
        {
            negative = true;
            i = 1;
            if (length == 1)
            {
                return false;
            }
        }

        uint first = (uint)(text[i] - '1');
        if (first > 8)
        {
            return false;
        }

        ulong v = first + 1;
        for (i++; i < length; i++)
        {
            uint digit = (uint)(text[i] - '0');
            if (digit > 9)
            {
                return false;
            }

            // At most 20 digits, so one overflow check on the final multiply-add is enough
            // when done in checked form; keep it explicit to avoid exceptions.
            if (v > ulong.MaxValue / 10)
            {
                return false;
            }

            v *= 10;
            if (v > ulong.MaxValue - digit)
            {
                return false;
            }

            v += digit;
        }

        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue)
            {
                return false;
            }

            value = (long)v;
        }

        return true;
    }

    /// <summary>
    /// Parses a double like Redis string2ld (strtold plus checks): no leading or trailing spaces,
    /// optional sign, decimal digits with optional fraction and exponent, or "inf"/"infinity"
    /// (any case, optional sign). "nan" is rejected, as are overflow and underflow to zero.
    /// Hexadecimal floats ("0x1p3", accepted by strtold) are also parsed.
    /// </summary>
    /// <remarks>Redis parses into a long double; values beyond the double range are rejected here.</remarks>
    public static bool TryParseDouble(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty || text.Length >= MaxDoubleInputLength)
        {
            return false;
        }

        int i = 0;
        bool negative = false;
        if (text[0] == (byte)'+' || text[0] == (byte)'-')
        {
            negative = text[0] == (byte)'-';
            i = 1;
        }

        ReadOnlySpan<byte> body = text[i..];
        if (body.Length > 0 && (body[0] | 0x20) == 'i')
        {
            if (System.Text.Ascii.EqualsIgnoreCase(body, "inf"u8) || System.Text.Ascii.EqualsIgnoreCase(body, "infinity"u8))
            {
                value = negative ? double.NegativeInfinity : double.PositiveInfinity;
                return true;
            }

            return false;
        }

        if (body.Length > 2 && body[0] == (byte)'0' && (body[1] | 0x20) == 'x')
        {
            if (!TryParseHexFloat(body[2..], out double hex))
            {
                return false;
            }

            value = negative ? -hex : hex;
            return true;
        }

        // Validate the strtod decimal grammar: digits [. digits] [e [sign] digits], at least one mantissa digit.
        int p = 0;
        bool nonZeroDigit = false;
        int mantissaDigits = 0;
        while (p < body.Length && IsDigit(body[p]))
        {
            nonZeroDigit |= body[p] != (byte)'0';
            mantissaDigits++;
            p++;
        }

        if (p < body.Length && body[p] == (byte)'.')
        {
            p++;
            while (p < body.Length && IsDigit(body[p]))
            {
                nonZeroDigit |= body[p] != (byte)'0';
                mantissaDigits++;
                p++;
            }
        }

        if (mantissaDigits == 0)
        {
            return false;
        }

        if (p < body.Length && (body[p] | 0x20) == 'e')
        {
            p++;
            if (p < body.Length && (body[p] == (byte)'+' || body[p] == (byte)'-'))
            {
                p++;
            }

            int expStart = p;
            while (p < body.Length && IsDigit(body[p]))
            {
                p++;
            }

            if (p == expStart)
            {
                return false;
            }
        }

        if (p != body.Length)
        {
            return false;
        }

        const NumberStyles Style = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        if (!double.TryParse(text, Style, CultureInfo.InvariantCulture, out double parsed))
        {
            return false;
        }

        // strtold sets ERANGE on overflow (HUGE_VAL) and on underflow to zero; Redis rejects both.
        if (double.IsInfinity(parsed) || (parsed == 0 && nonZeroDigit))
        {
            return false;
        }

        value = parsed;
        return true;
    }

    private static bool TryParseHexFloat(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        int p = 0;
        ulong mantissa = 0;
        int exponentAdjust = 0;
        int digits = 0;
        bool sawPoint = false;
        bool truncated = false;
        while (p < s.Length)
        {
            byte c = s[p];
            int d = HexValue(c);
            if (d >= 0)
            {
                digits++;
                if (mantissa >> 60 == 0)
                {
                    mantissa = (mantissa << 4) | (uint)d;
                    if (sawPoint)
                    {
                        exponentAdjust -= 4;
                    }
                }
                else
                {
                    truncated |= d != 0;
                    if (!sawPoint)
                    {
                        exponentAdjust += 4;
                    }
                }
            }
            else if (c == (byte)'.' && !sawPoint)
            {
                sawPoint = true;
            }
            else
            {
                break;
            }

            p++;
        }

        if (digits == 0)
        {
            return false;
        }

        long exponent = 0;
        if (p < s.Length && (s[p] | 0x20) == 'p')
        {
            p++;
            bool negExp = false;
            if (p < s.Length && (s[p] == (byte)'+' || s[p] == (byte)'-'))
            {
                negExp = s[p] == (byte)'-';
                p++;
            }

            int start = p;
            while (p < s.Length && IsDigit(s[p]))
            {
                if (exponent < 100000)
                {
                    exponent = (exponent * 10) + (s[p] - '0');
                }

                p++;
            }

            if (p == start)
            {
                return false;
            }

            if (negExp)
            {
                exponent = -exponent;
            }
        }

        if (p != s.Length)
        {
            return false;
        }

        if (truncated)
        {
            mantissa |= 1; // sticky bit so rounding stays correct enough
        }

        double result = Math.ScaleB(mantissa, (int)Math.Clamp(exponent + exponentAdjust, -100000, 100000));
        if (double.IsInfinity(result) || (result == 0 && mantissa != 0))
        {
            return false;
        }

        value = result;
        return true;
    }

    private static int HexValue(byte c)
    {
        if (IsDigit(c))
        {
            return c - '0';
        }

        int lower = c | 0x20;
        return lower is >= 'a' and <= 'f' ? lower - 'a' + 10 : -1;
    }

    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;

    /// <summary>Formats a 64-bit integer in decimal.</summary>
    public static bool TryFormatInt64(long value, Span<byte> destination, out int written)
    {
        ulong magnitude = value < 0 ? 0 - (ulong)value : (ulong)value;
        int digits = CountDigits(magnitude);
        int length = digits + (value < 0 ? 1 : 0);
        if (length > destination.Length)
        {
            written = 0;
            return false;
        }

        if (value < 0)
        {
            destination[0] = (byte)'-';
        }

        WriteDigits(destination.Slice(length - digits, digits), magnitude);
        written = length;
        return true;
    }

    internal static int CountDigits(ulong value)
    {
        int digits = 1;
        while (value >= 10000)
        {
            value /= 10000;
            digits += 4;
        }

        if (value >= 10)
        {
            digits++;
            if (value >= 100)
            {
                digits++;
                if (value >= 1000)
                {
                    digits++;
                }
            }
        }

        return digits;
    }

    /// <summary>Writes exactly destination.Length digits of value (right-aligned).</summary>
    internal static void WriteDigits(Span<byte> destination, ulong value)
    {
        for (int i = destination.Length - 1; i >= 0; i--)
        {
            ulong quotient = value / 10;
            destination[i] = (byte)('0' + (int)(value - (quotient * 10)));
            value = quotient;
        }
    }

    /// <summary>
    /// Formats a double the way redis-server 7.0 replies with doubles (addReplyDouble: printf "%.17g";
    /// "inf"/"-inf" for infinities, "nan" for NaN). E.g. 1.5 -> "1.5", 3.0 -> "3", 0.1 -> "0.10000000000000001",
    /// 1e20 -> "1e+20".
    /// </summary>
    public static bool TryFormatDouble(double value, Span<byte> destination, out int written)
    {
        if (!double.IsFinite(value))
        {
            return TryCopy(NonFiniteText(value), destination, out written);
        }

        Span<byte> digits = stackalloc byte[17];
        const int Precision = 17;
        bool negative = double.IsNegative(value);
        int exponent;
        if (value == 0)
        {
            digits.Fill((byte)'0');
            exponent = 0;
        }
        else
        {
            // "E16" gives the correctly rounded 17 significant digits: d.ddddddddddddddddE+xxx
            Span<byte> e = stackalloc byte[32];
            if (!value.TryFormat(e, out int n, "E16", CultureInfo.InvariantCulture))
            {
                written = 0;
                return false;
            }

            int p = negative ? 1 : 0;
            digits[0] = e[p];
            e.Slice(p + 2, Precision - 1).CopyTo(digits[1..]);
            int ePos = p + 2 + Precision - 1; // 'E'
            bool negExp = e[ePos + 1] == (byte)'-';
            exponent = 0;
            for (int k = ePos + 2; k < n; k++)
            {
                exponent = (exponent * 10) + (e[k] - '0');
            }

            if (negExp)
            {
                exponent = -exponent;
            }
        }

        int significant = Precision;
        while (significant > 1 && digits[significant - 1] == (byte)'0')
        {
            significant--;
        }

        Span<byte> tmp = stackalloc byte[MaxDoubleLength];
        int w = 0;
        if (negative)
        {
            tmp[w++] = (byte)'-';
        }

        if (exponent < -4 || exponent >= Precision)
        {
            tmp[w++] = digits[0];
            if (significant > 1)
            {
                tmp[w++] = (byte)'.';
                digits[1..significant].CopyTo(tmp[w..]);
                w += significant - 1;
            }

            tmp[w++] = (byte)'e';
            tmp[w++] = exponent < 0 ? (byte)'-' : (byte)'+';
            int absExp = Math.Abs(exponent);
            int expDigits = absExp >= 100 ? 3 : 2;
            WriteDigits(tmp.Slice(w, expDigits), (ulong)absExp);
            w += expDigits;
        }
        else if (exponent >= 0)
        {
            int intDigits = exponent + 1;
            digits[..intDigits].CopyTo(tmp[w..]);
            w += intDigits;
            if (significant > intDigits)
            {
                tmp[w++] = (byte)'.';
                digits[intDigits..significant].CopyTo(tmp[w..]);
                w += significant - intDigits;
            }
        }
        else
        {
            tmp[w++] = (byte)'0';
            tmp[w++] = (byte)'.';
            for (int z = -1; z > exponent; z--)
            {
                tmp[w++] = (byte)'0';
            }

            digits[..significant].CopyTo(tmp[w..]);
            w += significant;
        }

        return TryCopy(tmp[..w], destination, out written);
    }

    private static ReadOnlySpan<byte> NonFiniteText(double value) =>
        double.IsNaN(value) ? "nan"u8 : value > 0 ? "inf"u8 : "-inf"u8;

    private static bool TryCopy(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        if (source.TryCopyTo(destination))
        {
            written = source.Length;
            return true;
        }

        written = 0;
        return false;
    }
}
