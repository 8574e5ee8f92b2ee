namespace Demikernel.Resp;

/// <summary>
/// Finds where the next complete RESP2/RESP3 value ends, for any type (replies, pushes, attributes).
/// Resumable: on NeedMoreData it keeps its position and a stack of remaining element counts, so appended bytes
/// are scanned once. Read the complete frame with <see cref="RespReader"/>.
/// </summary>
/// <remarks>
/// Same contract as <see cref="RespRequestScanner"/>: each call gets the buffered bytes starting at the frame's
/// first byte, and the caller only appends between calls. An attribute (<c>|</c>) is part of the frame of the
/// value it annotates.
/// </remarks>
public sealed class RespFrameScanner
{
    /// <summary>Default nesting limit.</summary>
    public const int DefaultMaxDepth = 128;

    private readonly long _maxLength;
    private readonly int _maxDepth;
    private long[] _remaining = new long[8];
    private bool[] _isAttribute = new bool[8];
    private int _depth;
    private int _position;
    private int _searchFrom;
    private long _payloadEnd = -1; // end (after CRLF) of the bulk payload being waited for
    private bool _payloadIsVerbatim; // that payload must start with "fmt:" (checked once it has arrived)

    public RespFrameScanner()
        : this(RespLimits.Default)
    {
    }

    /// <param name="limits">Only <see cref="RespLimits.MaxBulkLength"/> is used: the longest bulk payload or line.</param>
    /// <param name="maxDepth">Deepest aggregate nesting accepted.</param>
    public RespFrameScanner(RespLimits limits, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        _maxLength = limits.MaxBulkLength;
        _maxDepth = maxDepth;
    }

    /// <summary>Total bytes examined by line-terminator searches (tests check nothing is rescanned).</summary>
    internal long SearchedBytes { get; private set; }

    /// <summary>True when no frame is partially scanned.</summary>
    public bool IsIdle => _position == 0 && _depth == 0 && _payloadEnd < 0;

    /// <summary>Forgets any partially scanned frame.</summary>
    public void Reset()
    {
        _depth = 0;
        _position = 0;
        _searchFrom = 0;
        _payloadEnd = -1;
    }

    /// <summary>
    /// Complete: the frame is <c>buffer[..frameLength]</c>. NeedMoreData: append and call again. Error: the
    /// stream is corrupt. Complete and Error leave the scanner ready for the next frame.
    /// </summary>
    public RespScanStatus TryScan(ReadOnlySpan<byte> buffer, out int frameLength, out RespFrameError error)
    {
        frameLength = 0;
        RespScanStatus status = Scan(buffer, out error);
        if (status == RespScanStatus.Complete)
        {
            frameLength = _position;
        }

        if (status != RespScanStatus.NeedMoreData)
        {
            Reset();
        }

        return status;
    }

    private RespScanStatus Scan(ReadOnlySpan<byte> buffer, out RespFrameError error)
    {
        error = RespFrameError.None;
        while (true)
        {
            if (_payloadEnd >= 0)
            {
                if (buffer.Length < _payloadEnd)
                {
                    return RespScanStatus.NeedMoreData;
                }

                int end = (int)_payloadEnd;
                if (buffer[end - 2] != (byte)'\r' || buffer[end - 1] != (byte)'\n')
                {
                    return Fail(RespFrameError.MissingCrlf, out error);
                }

                if (_payloadIsVerbatim && buffer[_position + 3] != (byte)':')
                {
                    return Fail(RespFrameError.InvalidValue, out error); // the reader would refuse it (found by fuzzing)
                }

                _payloadEnd = -1;
                _position = end;
                _searchFrom = end;
                if (ElementDone())
                {
                    return RespScanStatus.Complete;
                }

                continue;
            }

            if (_position >= buffer.Length)
            {
                return RespScanStatus.NeedMoreData;
            }

            int from = Math.Max(_searchFrom, _position);
            int found = buffer[from..].IndexOf((byte)'\n');
            SearchedBytes += found < 0 ? buffer.Length - from : found + 1;
            if (found < 0)
            {
                _searchFrom = buffer.Length;
                return buffer.Length - _position > _maxLength + 3
                    ? Fail(RespFrameError.TooLong, out error)
                    : RespScanStatus.NeedMoreData;
            }

            int lf = from + found;
            if (lf < _position + 2 || buffer[lf - 1] != (byte)'\r')
            {
                return Fail(RespFrameError.MissingCrlf, out error);
            }

            byte prefix = buffer[_position];
            ReadOnlySpan<byte> line = buffer[(_position + 1)..(lf - 1)];
            int next = lf + 1;
            switch (prefix)
            {
                case (byte)'+':
                case (byte)'-':
                case (byte)':':
                case (byte)',':
                case (byte)'(':
                    break;
                case (byte)'_':
                    if (!line.IsEmpty)
                    {
                        return Fail(RespFrameError.InvalidValue, out error);
                    }

                    break;
                case (byte)'#':
                    if (line.Length != 1 || (line[0] != (byte)'t' && line[0] != (byte)'f'))
                    {
                        return Fail(RespFrameError.InvalidValue, out error);
                    }

                    break;
                case (byte)'$':
                case (byte)'!':
                case (byte)'=':
                {
                    if (!TryParseLength(line, out long length, out error))
                    {
                        return RespScanStatus.Error;
                    }

                    if (length >= 0)
                    {
                        if (length > _maxLength || next + length + 2 > int.MaxValue)
                        {
                            return Fail(RespFrameError.TooLong, out error);
                        }

                        if (prefix == (byte)'=' && length < 4)
                        {
                            return Fail(RespFrameError.InvalidValue, out error);
                        }

                        _position = next;
                        _payloadEnd = next + length + 2;
                        _payloadIsVerbatim = prefix == (byte)'=';
                        continue;
                    }

                    break; // null bulk
                }

                case (byte)'*':
                case (byte)'%':
                case (byte)'~':
                case (byte)'>':
                case (byte)'|':
                {
                    if (!TryParseLength(line, out long count, out error))
                    {
                        return RespScanStatus.Error;
                    }

                    if (count > MaxAggregateCount)
                    {
                        return Fail(RespFrameError.TooLong, out error);
                    }

                    _position = next;
                    _searchFrom = next;
                    bool attribute = prefix == (byte)'|';
                    if (count > 0)
                    {
                        if (_depth >= _maxDepth)
                        {
                            return Fail(RespFrameError.TooDeep, out error);
                        }

                        Push(prefix is (byte)'%' or (byte)'|' ? count * 2 : count, attribute);
                        continue;
                    }

                    if (attribute)
                    {
                        continue; // an empty attribute annotates the value that follows
                    }

                    if (ElementDone())
                    {
                        return RespScanStatus.Complete;
                    }

                    continue;
                }

                default:
                    return Fail(RespFrameError.UnknownPrefix, out error);
            }

            _position = next;
            _searchFrom = next;
            if (ElementDone())
            {
                return RespScanStatus.Complete;
            }
        }
    }

    // A value ended: count it against the open aggregates; true when the whole frame is done.
    private bool ElementDone()
    {
        while (_depth > 0)
        {
            if (--_remaining[_depth - 1] > 0)
            {
                return false;
            }

            _depth--;
            if (_isAttribute[_depth])
            {
                return false; // the annotated value follows and is the element
            }
        }

        return true;
    }

    /// <summary>The most elements (or pairs) an aggregate may announce, as <see cref="RespReader"/> accepts: no frame
    /// that large fits in memory, and a map's pair count doubled must not overflow.</summary>
    internal const long MaxAggregateCount = int.MaxValue / 2;

    private void Push(long count, bool attribute)
    {
        if (_depth == _remaining.Length)
        {
            Array.Resize(ref _remaining, _remaining.Length * 2);
            Array.Resize(ref _isAttribute, _isAttribute.Length * 2);
        }

        _remaining[_depth] = count;
        _isAttribute[_depth] = attribute;
        _depth++;
    }

    private static bool TryParseLength(ReadOnlySpan<byte> line, out long value, out RespFrameError error)
    {
        error = RespFrameError.None;
        if (line.Length == 1 && line[0] == (byte)'?')
        {
            value = 0;
            error = RespFrameError.StreamingNotSupported;
            return false;
        }

        if (!RedisNumbers.TryParseInt64(line, out value) || value < -1)
        {
            error = RespFrameError.InvalidLength;
            return false;
        }

        return true;
    }

    private static RespScanStatus Fail(RespFrameError kind, out RespFrameError error)
    {
        error = kind;
        return RespScanStatus.Error;
    }
}
