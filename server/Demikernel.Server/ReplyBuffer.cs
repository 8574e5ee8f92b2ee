using System.Runtime.CompilerServices;
using Demikernel.Resp;
using Demikernel.Runtime;

namespace Demikernel.Server;

/// <summary>
/// Collects the replies to one batch of pipelined commands directly in libOS buffers, so the whole batch goes out in
/// one push with no copy. Writes go through <see cref="RespWriter"/> into the free tail of the last segment; when a
/// value does not fit, a new, larger segment is chained (the SGA becomes multi-segment) and the write is retried.
/// </summary>
public sealed class ReplyBuffer
{
    private const int FirstSegment = 16 * 1024 - LibOSOptions.DefaultHeadroom;
    private readonly DemiLibOS _libos;
    private Sga _sga;
    private DemiBuffer? _tail;

    public ReplyBuffer(DemiLibOS libos) => _libos = libos;

    public RespVersion Version { get; set; } = RespVersion.Resp2;

    /// <summary>Where error replies written here are counted (INFO errorstats); null: not counted.</summary>
    internal Diagnostics.ErrorStats? Errors { get; set; }

    /// <summary>Bytes written since the last <see cref="Take"/>.</summary>
    public int Length { get; private set; }

    public bool IsEmpty => Length == 0;

    /// <summary>Segments chained since the last <see cref="Take"/>.</summary>
    public int Segments { get; private set; }

    /// <summary>Bytes of the segments held (written or not), for CLIENT LIST's tot-mem.</summary>
    public long Allocated
    {
        get
        {
            if (_tail is null) return 0;
            long total = 0;
            for (var segment = _sga.First; segment is not null; segment = segment.Next) total += segment.Capacity;
            return total;
        }
    }

    /// <summary>Hands the written replies over as an SGA (owned by the caller) and starts a new batch.</summary>
    public Sga Take()
    {
        var sga = _sga;
        _sga = default;
        _tail = null;
        Length = 0;
        Segments = 0;
        return sga;
    }

    /// <summary>Drops anything written (used when the connection goes away).</summary>
    public void Discard()
    {
        if (_tail is not null) _libos.SgaFree(_sga);
        _sga = default;
        _tail = null;
        Length = 0;
        Segments = 0;
    }

    /// <summary>
    /// Drops what was written after the first <paramref name="length"/> bytes of this batch (the half-written reply of a
    /// handler that failed). Later segments are emptied, not unlinked; writing goes on at the end as before.
    /// </summary>
    public void RewindTo(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        if (length == Length) return;
        int before = 0;
        for (var segment = _sga.First; segment is not null; segment = segment.Next)
        {
            int size = segment.Length;
            segment.SetLength(Math.Clamp(length - before, 0, size));
            before += size;
        }
        Length = length;
    }

    // ---- one method per RESP value; each writes the whole value ----

    public void Ok() => Raw("+OK\r\n"u8);

    public void SimpleString(ReadOnlySpan<byte> text)
    {
        var w = Writer();
        if (!w.TryWriteSimpleString(text)) { Grow(text.Length + 3); w = Writer(); w.TryWriteSimpleString(text); }
        Advance(w.Written);
    }

    public void SimpleString(string text)
    {
        var w = Writer();
        if (!w.TryWriteSimpleString(text)) { Grow(text.Length * 3 + 3); w = Writer(); w.TryWriteSimpleString(text); }
        Advance(w.Written);
    }

    /// <summary>An error reply; <paramref name="message"/> starts with its code, e.g. "ERR syntax error".</summary>
    public void Error(string message)
    {
        Errors?.Count(message);
        var w = Writer();
        if (!w.TryWriteError(message)) { Grow(message.Length * 3 + 3); w = Writer(); w.TryWriteError(message); }
        Advance(w.Written);
    }

    public void Error(ReadOnlySpan<byte> message)
    {
        Errors?.Count(message);
        var w = Writer();
        if (!w.TryWriteError(message)) { Grow(message.Length + 3); w = Writer(); w.TryWriteError(message); }
        Advance(w.Written);
    }

    public void Error(RespProtocolError error)
    {
        Errors?.Count("ERR Protocol error");
        var w = Writer();
        if (!w.TryWriteError(error)) { Grow(256); w = Writer(); w.TryWriteError(error); }
        Advance(w.Written);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Integer(long value)
    {
        var w = Writer();
        if (!w.TryWriteInteger(value)) { Grow(24); w = Writer(); w.TryWriteInteger(value); }
        Advance(w.Written);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Bulk(ReadOnlySpan<byte> value)
    {
        var w = Writer();
        if (!w.TryWriteBulkString(value)) { Grow(value.Length + 16); w = Writer(); w.TryWriteBulkString(value); }
        Advance(w.Written);
    }

    public void Bulk(string value)
    {
        var w = Writer();
        if (!w.TryWriteBulkString(value)) { Grow(value.Length * 3 + 16); w = Writer(); w.TryWriteBulkString(value); }
        Advance(w.Written);
    }

    /// <summary>A number as a bulk string (how Redis replies with counters inside arrays, e.g. CONFIG GET).</summary>
    public void Bulk(long value)
    {
        var w = Writer();
        if (!w.TryWriteBulkString(value)) { Grow(32); w = Writer(); w.TryWriteBulkString(value); }
        Advance(w.Written);
    }

    /// <summary>The null bulk string (RESP2 <c>$-1</c>, RESP3 <c>_</c>).</summary>
    public void Null()
    {
        var w = Writer();
        if (!w.TryWriteNull()) { Grow(8); w = Writer(); w.TryWriteNull(); }
        Advance(w.Written);
    }

    /// <summary>The null array (RESP2 <c>*-1</c>, RESP3 <c>_</c>).</summary>
    public void NullArray()
    {
        var w = Writer();
        if (!w.TryWriteNullArray()) { Grow(8); w = Writer(); w.TryWriteNullArray(); }
        Advance(w.Written);
    }

    public void ArrayHeader(int count)
    {
        var w = Writer();
        if (!w.TryWriteArrayHeader(count)) { Grow(16); w = Writer(); w.TryWriteArrayHeader(count); }
        Advance(w.Written);
    }

    /// <summary>A map of <paramref name="pairs"/> entries (RESP2: a flat array of 2n elements).</summary>
    public void MapHeader(int pairs)
    {
        var w = Writer();
        if (!w.TryWriteMapHeader(pairs)) { Grow(16); w = Writer(); w.TryWriteMapHeader(pairs); }
        Advance(w.Written);
    }

    public void SetHeader(int count)
    {
        var w = Writer();
        if (!w.TryWriteSetHeader(count)) { Grow(16); w = Writer(); w.TryWriteSetHeader(count); }
        Advance(w.Written);
    }

    /// <summary>A RESP3 attribute header (<c>|pairs</c>); nothing under RESP2, where attributes do not exist.</summary>
    public void AttributeHeader(int pairs)
    {
        var w = Writer();
        if (!w.TryWriteAttributeHeader(pairs)) { Grow(16); w = Writer(); w.TryWriteAttributeHeader(pairs); }
        Advance(w.Written);
    }

    public void PushHeader(int count)
    {
        var w = Writer();
        if (!w.TryWritePushHeader(count)) { Grow(16); w = Writer(); w.TryWritePushHeader(count); }
        Advance(w.Written);
    }

    public void Double(double value)
    {
        var w = Writer();
        if (!w.TryWriteDouble(value)) { Grow(64); w = Writer(); w.TryWriteDouble(value); }
        Advance(w.Written);
    }

    public void Boolean(bool value)
    {
        var w = Writer();
        if (!w.TryWriteBoolean(value)) { Grow(8); w = Writer(); w.TryWriteBoolean(value); }
        Advance(w.Written);
    }

    /// <summary>A big number (RESP3 <c>(digits</c>; RESP2 a bulk string), as scripts return with {big_number=...}.</summary>
    public void BigNumber(ReadOnlySpan<byte> digits)
    {
        var w = Writer();
        if (!w.TryWriteBigNumber(digits)) { Grow(digits.Length + 16); w = Writer(); w.TryWriteBigNumber(digits); }
        Advance(w.Written);
    }

    /// <summary>A verbatim string (RESP3 <c>=</c>, e.g. "txt" for INFO in RESP3 clients; RESP2 a bulk string).</summary>
    public void Verbatim(ReadOnlySpan<byte> format3, ReadOnlySpan<byte> text)
    {
        var w = Writer();
        if (!w.TryWriteVerbatim(format3, text)) { Grow(text.Length + 24); w = Writer(); w.TryWriteVerbatim(format3, text); }
        Advance(w.Written);
    }

    /// <summary>Bytes already in RESP form.</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        var w = Writer();
        if (!w.TryWriteRaw(bytes)) { Grow(bytes.Length); w = Writer(); w.TryWriteRaw(bytes); }
        Advance(w.Written);
    }

    // ---- segments ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RespWriter Writer() =>
        _tail is null ? new RespWriter(default, Version) : new RespWriter(_tail.AvailableSpan[_tail.Length..], Version);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(int written)
    {
        if (written == 0) return;
        _tail!.Grow(written);
        Length += written;
    }

    /// <summary>Chains a new segment with room for at least <paramref name="needed"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int needed)
    {
        int size = Math.Max(needed, _tail is null ? FirstSegment : Math.Min(_tail.Capacity * 2, 1 << 20));
        Segments++;
        if (_tail is null)
        {
            _sga = _libos.SgaAlloc(size);
            _tail = _sga.First;
        }
        else
        {
            _tail = _libos.SgaAppend(_sga, size);
            _tail.SetLength(0);
            return;
        }
        _tail.SetLength(0);
    }
}
