using System.Text;

namespace Demikernel.Resp;

/// <summary>
/// Walks a complete RESP2/RESP3 frame (e.g. one found by <see cref="RespFrameScanner"/>) token by token, in
/// document order: an aggregate's header token is followed by its children. Call <see cref="TryRead"/> to move
/// to the next token, then inspect <see cref="Prefix"/>, <see cref="Value"/>, <see cref="AggregateLength"/>
/// or use the Read* helpers, which interpret the current token. Malformed input throws <see cref="FormatException"/>.
/// </summary>
public ref struct RespReader
{
    private readonly ReadOnlySpan<byte> _frame;
    private int _position;
    private int _valueStart;
    private int _valueLength;
    private int _formatStart;
    private long _length;

    public RespReader(ReadOnlySpan<byte> frame)
    {
        _frame = frame;
    }

    /// <summary>Type of the current token (<see cref="RespPrefix.None"/> before the first read).</summary>
    public RespPrefix Prefix { readonly get; private set; }

    /// <summary>Bytes consumed so far.</summary>
    public readonly int Position => _position;

    /// <summary>True when the whole frame has been read.</summary>
    public readonly bool IsEnd => _position >= _frame.Length;

    /// <summary>The scalar payload: line text, or bulk payload (for verbatim strings, the text after "fmt:").</summary>
    public readonly ReadOnlySpan<byte> Value => _frame.Slice(_valueStart, _valueLength);

    /// <summary>The 3-byte format of a verbatim string (e.g. "txt"), empty otherwise.</summary>
    public readonly ReadOnlySpan<byte> VerbatimFormat =>
        Prefix == RespPrefix.VerbatimString && !IsNull ? _frame.Slice(_formatStart, 3) : default;

    /// <summary>Number of child values of the current aggregate (maps and attributes: 2 x pairs); -1 when null.</summary>
    public readonly int AggregateLength => IsAggregate ? (int)_length : 0;

    /// <summary>True for RESP3 null, RESP2 null bulk (<c>$-1</c>) and null array (<c>*-1</c>).</summary>
    public readonly bool IsNull => Prefix == RespPrefix.Null || _length == -1;

    /// <summary>True for arrays, maps, sets, pushes and attributes.</summary>
    public readonly bool IsAggregate => Prefix is RespPrefix.Array or RespPrefix.Map or RespPrefix.Set or RespPrefix.Push or RespPrefix.Attribute;

    /// <summary>True for simple and bulk errors.</summary>
    public readonly bool IsError => Prefix is RespPrefix.SimpleError or RespPrefix.BulkError;

    /// <summary>Moves to the next token; false at the end of the frame.</summary>
    public bool TryRead()
    {
        if (_position >= _frame.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> rest = _frame[_position..];
        int lf = rest.IndexOf((byte)'\n');
        if (lf < 2 || rest[lf - 1] != (byte)'\r')
        {
            ThrowHelper.ThrowFormat("RESP line does not end in CRLF.");
        }

        byte prefix = rest[0];
        int lineStart = _position + 1;
        int lineLength = lf - 2;
        int next = _position + lf + 1;
        _length = 0;
        _formatStart = 0;
        switch (prefix)
        {
            case (byte)'+':
            case (byte)'-':
            case (byte)':':
            case (byte)'_':
            case (byte)',':
            case (byte)'#':
            case (byte)'(':
                _valueStart = lineStart;
                _valueLength = lineLength;
                break;
            case (byte)'$':
            case (byte)'!':
            case (byte)'=':
            {
                long length = ParseLength(_frame.Slice(lineStart, lineLength));
                _valueStart = next;
                _valueLength = 0;
                if (length == -1)
                {
                    _length = -1;
                    break;
                }

                if (length > _frame.Length - next - 2 || _frame[next + (int)length] != (byte)'\r' || _frame[next + (int)length + 1] != (byte)'\n')
                {
                    ThrowHelper.ThrowFormat("RESP bulk payload is truncated or not followed by CRLF.");
                }

                _valueLength = (int)length;
                next += (int)length + 2;
                if (prefix == (byte)'=')
                {
                    if (length < 4 || _frame[_valueStart + 3] != (byte)':')
                    {
                        ThrowHelper.ThrowFormat("RESP verbatim string lacks its format.");
                    }

                    _formatStart = _valueStart;
                    _valueStart += 4;
                    _valueLength -= 4;
                }

                break;
            }

            case (byte)'*':
            case (byte)'%':
            case (byte)'~':
            case (byte)'>':
            case (byte)'|':
            {
                long count = ParseLength(_frame.Slice(lineStart, lineLength));
                if (count > RespFrameScanner.MaxAggregateCount)
                {
                    ThrowHelper.ThrowFormat("RESP aggregate count is too large.");
                }

                _length = count > 0 && prefix is (byte)'%' or (byte)'|' ? count * 2 : count;
                _valueStart = lineStart;
                _valueLength = 0;
                break;
            }

            default:
                ThrowHelper.ThrowFormat($"Unknown RESP prefix 0x{prefix:X2}.");
                break;
        }

        Prefix = (RespPrefix)prefix;
        _position = next;
        return true;
    }

    /// <summary>Moves to the next token, throwing at the end of the frame.</summary>
    public void Read()
    {
        if (!TryRead())
        {
            ThrowHelper.ThrowFormat("Unexpected end of RESP frame.");
        }
    }

    /// <summary>
    /// When the current token is an aggregate, skips all its children (nested aggregates and attributes
    /// included), leaving the reader on its last descendant.
    /// </summary>
    public void SkipChildren()
    {
        if (!IsAggregate)
        {
            return;
        }

        long remaining = IsNull ? 0 : _length;
        while (remaining > 0)
        {
            Read();
            if (Prefix == RespPrefix.Attribute)
            {
                remaining += _length; // its pairs, then the annotated value (still counted)
                continue;
            }

            remaining--;
            if (IsAggregate && !IsNull)
            {
                remaining += _length;
            }
        }
    }

    /// <summary>The current token as an integer (integers, and strings holding one).</summary>
    public readonly long ReadInt64()
    {
        ReadOnlySpan<byte> text = Value;
        if (Prefix == RespPrefix.Integer && text.Length > 1 && text[0] == (byte)'+')
        {
            text = text[1..];
        }

        if (IsAggregate || IsNull || !RedisNumbers.TryParseInt64(text, out long value))
        {
            ThrowHelper.ThrowFormat("The RESP value is not an integer.");
            return 0;
        }

        return value;
    }

    /// <summary>The current token as a double (RESP3 doubles incl. inf/-inf/nan, integers, numeric strings).</summary>
    public readonly double ReadDouble()
    {
        ReadOnlySpan<byte> text = Value;
        if (IsAggregate || IsNull)
        {
            ThrowHelper.ThrowFormat("The RESP value is not a number.");
        }

        if (System.Text.Ascii.EqualsIgnoreCase(text, "nan"u8) || System.Text.Ascii.EqualsIgnoreCase(text, "-nan"u8))
        {
            return double.NaN;
        }

        if (!RedisNumbers.TryParseDouble(text, out double value))
        {
            ThrowHelper.ThrowFormat("The RESP value is not a number.");
        }

        return value;
    }

    /// <summary>The current token as a boolean (RESP3 <c>#t</c>/<c>#f</c>, RESP2 integers 1/0).</summary>
    public readonly bool ReadBoolean()
    {
        ReadOnlySpan<byte> text = Value;
        if (Prefix == RespPrefix.Boolean && text.Length == 1)
        {
            if (text[0] == (byte)'t')
            {
                return true;
            }

            if (text[0] == (byte)'f')
            {
                return false;
            }
        }

        if (Prefix == RespPrefix.Integer)
        {
            return ReadInt64() != 0;
        }

        ThrowHelper.ThrowFormat("The RESP value is not a boolean.");
        return false;
    }

    /// <summary>The current scalar as UTF-8 text; null for null values. Allocates.</summary>
    public readonly string? ReadString()
    {
        if (IsNull)
        {
            return null;
        }

        if (IsAggregate)
        {
            ThrowHelper.ThrowFormat("The RESP value is an aggregate, not a string.");
        }

        return Encoding.UTF8.GetString(Value);
    }

    /// <summary>True when the current scalar's bytes equal <paramref name="expected"/>.</summary>
    public readonly bool ValueEquals(ReadOnlySpan<byte> expected) => !IsAggregate && !IsNull && Value.SequenceEqual(expected);

    private static long ParseLength(ReadOnlySpan<byte> text)
    {
        if (!RedisNumbers.TryParseInt64(text, out long value) || value < -1)
        {
            ThrowHelper.ThrowFormat("Invalid RESP length.");
        }

        return value;
    }
}
