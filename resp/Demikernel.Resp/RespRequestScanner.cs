namespace Demikernel.Resp;

/// <summary>
/// Scans client requests the way redis-server 7.0 does (networking.c processMultibulkBuffer and
/// processInlineBuffer): a multibulk request <c>*N\r\n$len\r\n...\r\n</c> when the first byte is '*',
/// otherwise an inline command line split like sdssplitargs.
/// </summary>
/// <remarks>
/// One instance per connection. Every call receives the buffered bytes starting at the first byte of the
/// current request; between calls the caller only appends bytes. The scanner remembers how far it got, so
/// bytes are never scanned twice. Pass the same <see cref="RespArgs"/> until the request completes.
/// After <see cref="RespScanStatus.Complete"/> or <see cref="RespScanStatus.Error"/> the scanner is ready for
/// the next request (the caller drops <c>consumed</c> bytes first).
/// </remarks>
public sealed class RespRequestScanner
{
    private const int UnauthenticatedMaxArgs = 10;
    private const int UnauthenticatedMaxBulk = 16384;

    /// <summary>Bytes a terminator search looks at one by one before it hands the rest to the vectorized search.</summary>
    private const int ShortLine = 8;

    private RespLimits _limits;
    private Mode _mode;
    private int _position;    // start of the next unparsed header line or bulk payload
    private int _searchFrom;  // where the search for the current line terminator resumes
    private int _remaining;   // multibulk arguments still to read
    private long _bulkLength = -1; // length of the bulk being read, -1 when its header is not parsed yet

    public RespRequestScanner()
        : this(RespLimits.Default)
    {
    }

    public RespRequestScanner(RespLimits limits) => _limits = limits;

    private enum Mode : byte
    {
        Idle,
        Multibulk,
        Inline,
    }

    /// <summary>The limits in force; the owner may change them between requests (CONFIG SET proto-max-bulk-len).</summary>
    public RespLimits Limits
    {
        get => _limits;
        set => _limits = value;
    }

    /// <summary>
    /// Set while the client has not authenticated (requirepass/ACL): like Redis, a request of more than
    /// 10 arguments or a bulk over 16384 bytes is then a protocol error.
    /// </summary>
    public bool RequireAuthentication { get; set; }

    /// <summary>Total bytes examined by line-terminator searches (tests check nothing is rescanned).</summary>
    internal long SearchedBytes { get; private set; }

    /// <summary>True when no request is partially scanned.</summary>
    public bool IsIdle => _mode == Mode.Idle;

    /// <summary>Forgets any partially scanned request.</summary>
    public void Reset()
    {
        _mode = Mode.Idle;
        _position = 0;
        _searchFrom = 0;
        _remaining = 0;
        _bulkLength = -1;
    }

    /// <summary>
    /// Scans the request at the start of <paramref name="buffer"/>.
    /// Complete: <paramref name="consumed"/> is the request's length and <paramref name="args"/> holds its
    /// arguments (Count 0 for an empty request, which the caller skips). NeedMoreData: append and call again.
    /// Error: reply with <paramref name="error"/>'s message and close.
    /// </summary>
    public RespScanStatus TryScan(ReadOnlySpan<byte> buffer, RespArgs args, out int consumed, out RespProtocolError error)
    {
        consumed = 0;
        error = default;
        if (_mode == Mode.Idle)
        {
            if (buffer.IsEmpty)
            {
                return RespScanStatus.NeedMoreData;
            }

            args.Reset();
            _position = 0;
            _remaining = 0;
            _bulkLength = -1;
            if (buffer[0] == (byte)'*')
            {
                _mode = Mode.Multibulk;
                _searchFrom = 1;
            }
            else
            {
                _mode = Mode.Inline;
                _searchFrom = 0;
            }
        }

        RespScanStatus status = _mode == Mode.Multibulk
            ? ScanMultibulk(buffer, args, out consumed, out error)
            : ScanInline(buffer, args, out consumed, out error);
        if (status != RespScanStatus.NeedMoreData)
        {
            _mode = Mode.Idle;
        }

        return status;
    }

    private RespScanStatus ScanMultibulk(ReadOnlySpan<byte> buffer, RespArgs args, out int consumed, out RespProtocolError error)
    {
        consumed = 0;
        error = default;
        if (_remaining == 0)
        {
            // Count line "*N\r" plus one more byte (Redis skips it without checking it is '\n').
            int cr = FindTerminator(buffer, (byte)'\r');
            if (cr < 0)
            {
                return buffer.Length > _limits.MaxInlineLength
                    ? Fail(RespProtocolErrorKind.TooBigMultibulkCountString, out error)
                    : RespScanStatus.NeedMoreData;
            }

            if (cr > buffer.Length - 2)
            {
                _searchFrom = cr;
                return RespScanStatus.NeedMoreData;
            }

            if (!RedisNumbers.TryParseInt64(buffer[1..cr], out long count) || count > _limits.MaxMultiBulkLength)
            {
                return Fail(RespProtocolErrorKind.InvalidMultibulkLength, out error);
            }

            if (count > UnauthenticatedMaxArgs && RequireAuthentication)
            {
                return Fail(RespProtocolErrorKind.UnauthenticatedMultibulkLength, out error);
            }

            _position = cr + 2;
            if (count <= 0)
            {
                // "*0" and "*-1" are empty requests that Redis silently skips.
                consumed = _position;
                return RespScanStatus.Complete;
            }

            _remaining = (int)count;
            _bulkLength = -1;
            _searchFrom = _position;
        }

        while (_remaining > 0)
        {
            if (_bulkLength < 0)
            {
                int cr = FindTerminator(buffer, (byte)'\r');
                if (cr < 0)
                {
                    return buffer.Length - _position > _limits.MaxInlineLength
                        ? Fail(RespProtocolErrorKind.TooBigBulkCountString, out error)
                        : RespScanStatus.NeedMoreData;
                }

                if (cr > buffer.Length - 2)
                {
                    _searchFrom = cr;
                    return RespScanStatus.NeedMoreData;
                }

                byte prefix = buffer[_position];
                if (prefix != (byte)'$')
                {
                    error = new RespProtocolError(RespProtocolErrorKind.ExpectedDollar, prefix);
                    return RespScanStatus.Error;
                }

                if (!RedisNumbers.TryParseInt64(buffer[(_position + 1)..cr], out long length) ||
                    length < 0 || length > _limits.MaxBulkLength || length > int.MaxValue - 2)
                {
                    return Fail(RespProtocolErrorKind.InvalidBulkLength, out error);
                }

                if (length > UnauthenticatedMaxBulk && RequireAuthentication)
                {
                    return Fail(RespProtocolErrorKind.UnauthenticatedBulkLength, out error);
                }

                _position = cr + 2;
                _bulkLength = length;
            }

            // Payload plus two trailing bytes (Redis skips them without checking they are CRLF).
            if (buffer.Length - _position < _bulkLength + 2)
            {
                return RespScanStatus.NeedMoreData;
            }

            args.Add(_position, (int)_bulkLength);
            _position += (int)_bulkLength + 2;
            _bulkLength = -1;
            _searchFrom = _position;
            _remaining--;
        }

        consumed = _position;
        return RespScanStatus.Complete;
    }

    private RespScanStatus ScanInline(ReadOnlySpan<byte> buffer, RespArgs args, out int consumed, out RespProtocolError error)
    {
        consumed = 0;
        error = default;
        int newline = FindTerminator(buffer, (byte)'\n');
        if (newline < 0)
        {
            return buffer.Length > _limits.MaxInlineLength
                ? Fail(RespProtocolErrorKind.TooBigInlineRequest, out error)
                : RespScanStatus.NeedMoreData;
        }

        int lineEnd = newline > 0 && buffer[newline - 1] == (byte)'\r' ? newline - 1 : newline;
        if (!InlineSplitter.TrySplit(buffer, lineEnd, args))
        {
            args.Reset();
            return Fail(RespProtocolErrorKind.UnbalancedQuotes, out error);
        }

        consumed = newline + 1;
        return RespScanStatus.Complete;
    }

    /// <summary>
    /// Finds the line terminator like Redis's strchr on the NUL-terminated query buffer: a NUL byte before the
    /// terminator hides it, so the request can never complete (it ends in a "too big" error, as in Redis).
    /// Returns the terminator's index, or -1 with <see cref="_searchFrom"/> set to resume correctly.
    /// </summary>
    private int FindTerminator(ReadOnlySpan<byte> buffer, byte terminator)
    {
        // Header lines are a few bytes ("*3", "$16"): a short scalar look first ends most searches without the call
        // and set-up of the vectorized one (5-7% of a pipelined SET's CPU when every line went through it).
        int from = _searchFrom;
        int shortEnd = Math.Min(buffer.Length, from + ShortLine);
        for (int i = from; i < shortEnd; i++)
        {
            byte b = buffer[i];
            if (b != terminator && b != 0) continue;
            SearchedBytes += i - from + 1;
            if (b == 0)
            {
                _searchFrom = i; // stuck on the NUL: found again at once on every later call
                return -1;
            }

            return i;
        }

        ReadOnlySpan<byte> unsearched = buffer[shortEnd..];
        int index = unsearched.IndexOfAny(terminator, (byte)0);
        SearchedBytes += shortEnd - from + (index < 0 ? unsearched.Length : index + 1);
        if (index < 0)
        {
            _searchFrom = buffer.Length;
            return -1;
        }

        index += shortEnd;
        if (buffer[index] == 0)
        {
            _searchFrom = index; // stuck on the NUL: found again at once on every later call
            return -1;
        }

        return index;
    }

    private static RespScanStatus Fail(RespProtocolErrorKind kind, out RespProtocolError error)
    {
        error = new RespProtocolError(kind);
        return RespScanStatus.Error;
    }
}
