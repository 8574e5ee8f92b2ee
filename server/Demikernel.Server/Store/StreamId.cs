using System.Buffers.Text;

namespace Demikernel.Server.Store;

/// <summary>
/// A stream entry ID, <c>ms-seq</c>: two unsigned 64-bit numbers ordered by milliseconds, then sequence.
/// </summary>
public readonly record struct StreamId(ulong Ms, ulong Seq) : IComparable<StreamId>
{
    /// <summary>Longest text form: two 20-digit numbers and a dash.</summary>
    public const int MaxTextLength = 41;

    public static StreamId Min => default;
    public static StreamId Max => new(ulong.MaxValue, ulong.MaxValue);

    public bool IsZero => Ms == 0 && Seq == 0;

    public int CompareTo(StreamId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);

    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;
    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;
    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;
    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;

    /// <summary>The next ID (seq + 1, carrying into ms); false at the maximum ID.</summary>
    public bool TryIncrement(out StreamId next)
    {
        if (Seq != ulong.MaxValue) next = new(Ms, Seq + 1);
        else if (Ms != ulong.MaxValue) next = new(Ms + 1, 0);
        else
        {
            next = default;
            return false;
        }
        return true;
    }

    /// <summary>The previous ID; false at 0-0.</summary>
    public bool TryDecrement(out StreamId previous)
    {
        if (Seq != 0) previous = new(Ms, Seq - 1);
        else if (Ms != 0) previous = new(Ms - 1, ulong.MaxValue);
        else
        {
            previous = default;
            return false;
        }
        return true;
    }

    /// <summary>Writes "ms-seq" into <paramref name="destination"/> (at least <see cref="MaxTextLength"/> bytes).</summary>
    public int Format(Span<byte> destination)
    {
        Utf8Formatter.TryFormat(Ms, destination, out int n);
        destination[n++] = (byte)'-';
        Utf8Formatter.TryFormat(Seq, destination[n..], out int m);
        return n + m;
    }

    public override string ToString() => $"{Ms}-{Seq}";

    /// <summary>
    /// Parses a client's ID as Redis does: "-" and "+" (unless <paramref name="strict"/>), "ms" (seq =
    /// <paramref name="missingSeq"/>), "ms-seq", and "ms-*" when <paramref name="allowSeqStar"/> (then
    /// <paramref name="seqGiven"/> is false).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, ulong missingSeq, bool strict, bool allowSeqStar, out StreamId id, out bool seqGiven)
    {
        id = default;
        seqGiven = true;
        if (text.Length > 127) return false;
        if (text.Length == 1 && text[0] is (byte)'-' or (byte)'+')
        {
            if (strict) return false;
            id = text[0] == '-' ? Min : Max;
            return true;
        }
        int dash = text.IndexOf((byte)'-');
        ulong ms, seq;
        if (dash < 0)
        {
            if (!TryParseUInt64(text, out ms)) return false;
            seq = missingSeq;
        }
        else
        {
            if (!TryParseUInt64(text[..dash], out ms)) return false;
            var rest = text[(dash + 1)..];
            if (allowSeqStar && rest.Length == 1 && rest[0] == '*')
            {
                seq = 0;
                seqGiven = false;
            }
            else if (!TryParseUInt64(rest, out seq)) return false;
        }
        id = new(ms, seq);
        return true;
    }

    /// <summary>Redis's string2ull: a decimal number without sign, up to 2^64-1 (a leading '+' is accepted, like
    /// strtoull).</summary>
    private static bool TryParseUInt64(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        if (text.Length > 0 && text[0] == '+') text = text[1..];
        if (text.Length == 0) return false;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            if (value > ulong.MaxValue / 10) return false;
            ulong next = value * 10 + (ulong)(b - '0');
            if (next < value * 10) return false;
            value = next;
        }
        return true;
    }
}
