using System.Runtime.CompilerServices;
using System.Text;

namespace Demikernel.Resp;

/// <summary>
/// Writes RESP2/RESP3 replies into a span. Every Try* method writes a whole value or nothing: when the span
/// lacks room it returns false and <see cref="Written"/> is unchanged, so the session flushes and retries.
/// RESP3-only types degrade to their RESP2 form the way redis-server does when <see cref="Version"/> is RESP2.
/// </summary>
public ref struct RespWriter
{
    private readonly Span<byte> _buffer;
    private int _written;

    public RespWriter(Span<byte> buffer, RespVersion version = RespVersion.Resp2)
    {
        _buffer = buffer;
        Version = version;
    }

    /// <summary>Protocol the replies are written in.</summary>
    public RespVersion Version { readonly get; set; }

    /// <summary>Bytes written so far.</summary>
    public readonly int Written => _written;

    /// <summary>The bytes written so far.</summary>
    public readonly ReadOnlySpan<byte> WrittenSpan => _buffer[.._written];

    /// <summary>Free bytes left.</summary>
    public readonly int Available => _buffer.Length - _written;

    /// <summary>Starts over at the beginning of the span (after the caller flushed it).</summary>
    public void Reset() => _written = 0;

    /// <summary><c>+text\r\n</c>. The text must not contain CR or LF.</summary>
    public bool TryWriteSimpleString(scoped ReadOnlySpan<byte> text) => TryWriteLine((byte)'+', text);

    /// <summary>
    /// <c>-message\r\n</c>; pass the message without '-', e.g. "ERR unknown command". The one way errors are written:
    /// as redis-server's addReplyErrorFormat does, CR and LF at the end are dropped and any other CR or LF becomes a
    /// space, so an argument echoed in the message can never end the line early (and desync the client).
    /// </summary>
    public bool TryWriteError(scoped ReadOnlySpan<byte> message)
    {
        int start = _written;
        if (!TryWriteLine((byte)'-', message))
        {
            return false;
        }

        SanitizeErrorLine(start);
        return true;
    }

    /// <summary><c>+text\r\n</c> from UTF-16 text (cold paths).</summary>
    public bool TryWriteSimpleString(string text) => TryWriteLine((byte)'+', text);

    /// <summary><c>-message\r\n</c> from UTF-16 text (cold paths); CR and LF handled as in the span overload.</summary>
    public bool TryWriteError(string message)
    {
        int start = _written;
        if (!TryWriteLine((byte)'-', message))
        {
            return false;
        }

        SanitizeErrorLine(start);
        return true;
    }

    /// <summary>
    /// The error line just written at <paramref name="start"/> (prefix, text, CRLF): trailing CR/LF of the text are
    /// removed (the line shrinks) and the others become spaces, like sdstrim + sdsmapchars in redis-server.
    /// </summary>
    private void SanitizeErrorLine(int start)
    {
        Span<byte> text = _buffer[(start + 1).._written][..^2];
        if (text.IndexOfAny((byte)'\r', (byte)'\n') < 0)
        {
            return;
        }

        int length = text.Length;
        while (length > 0 && text[length - 1] is (byte)'\r' or (byte)'\n')
        {
            length--;
        }

        text = text[..length];
        text.Replace((byte)'\r', (byte)' ');
        text.Replace((byte)'\n', (byte)' ');
        int end = start + 1 + length;
        _buffer[end] = (byte)'\r';
        _buffer[end + 1] = (byte)'\n';
        _written = end + 2;
    }

    /// <summary>The reply redis-server sends for a request protocol error (the caller then closes).</summary>
    public bool TryWriteError(RespProtocolError error)
    {
        if (error.Kind != RespProtocolErrorKind.ExpectedDollar)
        {
            return TryWriteError(error.Message);
        }

        // Keep the offending byte raw, as Redis does.
        ReadOnlySpan<byte> head = "-ERR Protocol error: expected '$', got '"u8;
        bool hasByte = error.Found != 0;
        int needed = head.Length + (hasByte ? 1 : 0) + 3;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer[_written..];
        head.CopyTo(span);
        int w = head.Length;
        if (hasByte)
        {
            span[w++] = error.Found is (byte)'\r' or (byte)'\n' ? (byte)' ' : error.Found;
        }

        span[w++] = (byte)'\'';
        span[w++] = (byte)'\r';
        span[w++] = (byte)'\n';
        _written += w;
        return true;
    }

    /// <summary><c>:value\r\n</c>.</summary>
    public bool TryWriteInteger(long value) => TryWriteHeader((byte)':', value);

    /// <summary><c>$len\r\npayload\r\n</c>.</summary>
    public bool TryWriteBulkString(scoped ReadOnlySpan<byte> value)
    {
        int digits = RedisNumbers.CountDigits((ulong)value.Length);
        int needed = 1 + digits + 2 + value.Length + 2;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer.Slice(_written, needed);
        span[0] = (byte)'$';
        RedisNumbers.WriteDigits(span.Slice(1, digits), (ulong)value.Length);
        int w = 1 + digits;
        span[w++] = (byte)'\r';
        span[w++] = (byte)'\n';
        value.CopyTo(span[w..]);
        w += value.Length;
        span[w++] = (byte)'\r';
        span[w] = (byte)'\n';
        _written += needed;
        return true;
    }

    /// <summary>A bulk string of the UTF-8 encoding of <paramref name="value"/> (cold paths).</summary>
    public bool TryWriteBulkString(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        int digits = RedisNumbers.CountDigits((ulong)length);
        int needed = 1 + digits + 2 + length + 2;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer.Slice(_written, needed);
        span[0] = (byte)'$';
        RedisNumbers.WriteDigits(span.Slice(1, digits), (ulong)length);
        int w = 1 + digits;
        span[w++] = (byte)'\r';
        span[w++] = (byte)'\n';
        w += Encoding.UTF8.GetBytes(value, span[w..]);
        span[w++] = (byte)'\r';
        span[w] = (byte)'\n';
        _written += needed;
        return true;
    }

    /// <summary>A bulk string holding the decimal text of <paramref name="value"/>.</summary>
    public bool TryWriteBulkString(long value)
    {
        Span<byte> text = stackalloc byte[RedisNumbers.MaxInt64Length];
        RedisNumbers.TryFormatInt64(value, text, out int length);
        return TryWriteBulkString(text[..length]);
    }

    /// <summary>Null: RESP2 <c>$-1\r\n</c>, RESP3 <c>_\r\n</c>.</summary>
    public bool TryWriteNull() => Version == RespVersion.Resp3 ? TryWriteRaw("_\r\n"u8) : TryWriteRaw("$-1\r\n"u8);

    /// <summary>Null array: RESP2 <c>*-1\r\n</c>, RESP3 <c>_\r\n</c>.</summary>
    public bool TryWriteNullArray() => Version == RespVersion.Resp3 ? TryWriteRaw("_\r\n"u8) : TryWriteRaw("*-1\r\n"u8);

    /// <summary><c>*count\r\n</c>; then write the elements.</summary>
    public bool TryWriteArrayHeader(int count) => TryWriteHeader((byte)'*', count);

    /// <summary>RESP3 <c>%pairs\r\n</c>; RESP2 <c>*(2*pairs)\r\n</c>. Then write key, value, key, value...</summary>
    public bool TryWriteMapHeader(int pairs) =>
        Version == RespVersion.Resp3 ? TryWriteHeader((byte)'%', pairs) : TryWriteHeader((byte)'*', 2L * pairs);

    /// <summary>RESP3 <c>~count\r\n</c>; RESP2 <c>*count\r\n</c>.</summary>
    public bool TryWriteSetHeader(int count) => TryWriteHeader(Version == RespVersion.Resp3 ? (byte)'~' : (byte)'*', count);

    /// <summary>RESP3 <c>&gt;count\r\n</c>; RESP2 <c>*count\r\n</c>.</summary>
    public bool TryWritePushHeader(int count) => TryWriteHeader(Version == RespVersion.Resp3 ? (byte)'>' : (byte)'*', count);

    /// <summary>RESP3 attribute <c>|pairs\r\n</c> (RESP3 only: returns true and writes nothing in RESP2, whose
    /// clients must not see attributes; the caller then also skips the attribute's pairs).</summary>
    public bool TryWriteAttributeHeader(int pairs) => Version != RespVersion.Resp3 || TryWriteHeader((byte)'|', pairs);

    /// <summary>
    /// A double as redis-server 7.0 replies (printf "%.17g"; inf/-inf/nan): RESP3 <c>,1.5\r\n</c>, RESP2 a bulk
    /// string <c>$3\r\n1.5\r\n</c>.
    /// </summary>
    public bool TryWriteDouble(double value)
    {
        Span<byte> text = stackalloc byte[RedisNumbers.MaxDoubleLength];
        RedisNumbers.TryFormatDouble(value, text, out int length);
        return Version == RespVersion.Resp3 ? TryWriteLine((byte)',', text[..length]) : TryWriteBulkString(text[..length]);
    }

    /// <summary>RESP3 <c>#t\r\n</c>/<c>#f\r\n</c>; RESP2 <c>:1\r\n</c>/<c>:0\r\n</c>.</summary>
    public bool TryWriteBoolean(bool value) => Version == RespVersion.Resp3
        ? TryWriteRaw(value ? "#t\r\n"u8 : "#f\r\n"u8)
        : TryWriteRaw(value ? ":1\r\n"u8 : ":0\r\n"u8);

    /// <summary>RESP3 <c>(digits\r\n</c>; RESP2 a bulk string. <paramref name="digits"/> is the decimal text.</summary>
    public bool TryWriteBigNumber(scoped ReadOnlySpan<byte> digits) =>
        Version == RespVersion.Resp3 ? TryWriteLine((byte)'(', digits) : TryWriteBulkString(digits);

    /// <summary>
    /// RESP3 verbatim string <c>=len\r\nfmt:text\r\n</c> (format is exactly 3 bytes, e.g. "txt");
    /// RESP2 a bulk string of the text.
    /// </summary>
    public bool TryWriteVerbatim(scoped ReadOnlySpan<byte> format, scoped ReadOnlySpan<byte> text)
    {
        if (format.Length != 3)
        {
            ThrowHelper.ThrowArgument("The verbatim format must be 3 bytes.", nameof(format));
        }

        if (Version != RespVersion.Resp3)
        {
            return TryWriteBulkString(text);
        }

        int length = text.Length + 4;
        int digits = RedisNumbers.CountDigits((ulong)length);
        int needed = 1 + digits + 2 + length + 2;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer.Slice(_written, needed);
        span[0] = (byte)'=';
        RedisNumbers.WriteDigits(span.Slice(1, digits), (ulong)length);
        int w = 1 + digits;
        span[w++] = (byte)'\r';
        span[w++] = (byte)'\n';
        format.CopyTo(span[w..]);
        w += 3;
        span[w++] = (byte)':';
        text.CopyTo(span[w..]);
        w += text.Length;
        span[w++] = (byte)'\r';
        span[w] = (byte)'\n';
        _written += needed;
        return true;
    }

    /// <summary>Copies already-encoded RESP bytes.</summary>
    public bool TryWriteRaw(scoped ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(_buffer[_written..]))
        {
            return false;
        }

        _written += bytes.Length;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool HasRoom(int needed) => (uint)needed <= (uint)(_buffer.Length - _written);

    private bool TryWriteHeader(byte prefix, long value)
    {
        ulong magnitude = value < 0 ? 0 - (ulong)value : (ulong)value;
        int digits = RedisNumbers.CountDigits(magnitude);
        int sign = value < 0 ? 1 : 0;
        int needed = 1 + sign + digits + 2;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer.Slice(_written, needed);
        span[0] = prefix;
        if (sign != 0)
        {
            span[1] = (byte)'-';
        }

        RedisNumbers.WriteDigits(span.Slice(1 + sign, digits), magnitude);
        span[needed - 2] = (byte)'\r';
        span[needed - 1] = (byte)'\n';
        _written += needed;
        return true;
    }

    private bool TryWriteLine(byte prefix, scoped ReadOnlySpan<byte> text)
    {
        int needed = 1 + text.Length + 2;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer.Slice(_written, needed);
        span[0] = prefix;
        text.CopyTo(span[1..]);
        span[needed - 2] = (byte)'\r';
        span[needed - 1] = (byte)'\n';
        _written += needed;
        return true;
    }

    private bool TryWriteLine(byte prefix, string text)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        int needed = 1 + length + 2;
        if (!HasRoom(needed))
        {
            return false;
        }

        Span<byte> span = _buffer.Slice(_written, needed);
        span[0] = prefix;
        Encoding.UTF8.GetBytes(text, span[1..]);
        span[needed - 2] = (byte)'\r';
        span[needed - 1] = (byte)'\n';
        _written += needed;
        return true;
    }
}
