using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demikernel.InetStack.Wire;

[Flags]
internal enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}

/// <summary>A TCP sequence number: arithmetic and comparison modulo 2^32 (RFC 793 §3.3).</summary>
internal readonly record struct SeqNumber(uint Value) : IComparable<SeqNumber>
{
    public static SeqNumber operator +(SeqNumber s, int n) => new(unchecked(s.Value + (uint)n));
    public static SeqNumber operator -(SeqNumber s, int n) => new(unchecked(s.Value - (uint)n));
    /// <summary>Signed distance from <paramref name="b"/> to <paramref name="a"/>.</summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));
    public static bool operator <(SeqNumber a, SeqNumber b) => a - b < 0;
    public static bool operator >(SeqNumber a, SeqNumber b) => a - b > 0;
    public static bool operator <=(SeqNumber a, SeqNumber b) => a - b <= 0;
    public static bool operator >=(SeqNumber a, SeqNumber b) => a - b >= 0;
    public int CompareTo(SeqNumber other) => Math.Sign(this - other);
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A checked view of a TCP segment (RFC 9293). After <see cref="TryCreate"/> the data offset is known to be at least
/// five words and within the buffer, so <see cref="Options"/> and <see cref="Payload"/> cannot throw.
/// <code>
///  0          2          4                8                12      13     14       16         18        20
///  | src port | dst port | sequence       | acknowledgment | off/rsv| flags| window | checksum | urgent  | options | data
/// </code>
/// </summary>
internal readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;

    private readonly Span<byte> _buffer;

    private TcpSegment(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out TcpSegment segment)
    {
        segment = default;
        if (buffer.Length < MinHeaderLength) return WireError.Truncated;
        int headerLength = (buffer[12] >> 4) * 4;
        if (headerLength < MinHeaderLength || headerLength > buffer.Length) return WireError.BadHeaderLength;
        segment = new TcpSegment(buffer);
        return WireError.None;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    public SeqNumber SequenceNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]));
    public SeqNumber AckNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[8..]));
    public int HeaderLength => (_buffer[12] >> 4) * 4;
    public TcpFlags Flags => (TcpFlags)_buffer[13];
    public ushort WindowSize => BinaryPrimitives.ReadUInt16BigEndian(_buffer[14..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[16..]);
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_buffer[18..]);
    public Span<byte> Options => _buffer[MinHeaderLength..HeaderLength];
    public Span<byte> Payload => _buffer[HeaderLength..];
    public Span<byte> Bytes => _buffer;

    /// <summary>Sequence space the segment occupies: data plus one each for SYN and FIN.</summary>
    public int SegmentLength => Payload.Length + ((Flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((Flags & TcpFlags.Fin) != 0 ? 1 : 0);

    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination) =>
        Wire.Checksum.Finish(Wire.Checksum.Accumulate(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, _buffer.Length), _buffer)) == 0;
}

/// <summary>The TCP timestamps option (RFC 7323).</summary>
internal readonly record struct TcpTimestamps(uint Value, uint EchoReply);

/// <summary>One SACK block (RFC 2018): the received range [Left, Right).</summary>
internal readonly record struct TcpSackBlock(SeqNumber Left, SeqNumber Right);

/// <summary>Up to three SACK blocks, inline so a <see cref="TcpRepr"/> stays allocation-free (a fourth is skipped).</summary>
internal readonly record struct TcpSackBlocks(int Count, TcpSackBlock First = default, TcpSackBlock Second = default, TcpSackBlock Third = default)
{
    public const int Max = 3;

    public TcpSackBlock this[int index] => index switch { 0 => First, 1 => Second, _ => Third };

    public TcpSackBlocks With(TcpSackBlock block) => Count switch
    {
        0 => new TcpSackBlocks(1, block),
        1 => this with { Count = 2, Second = block },
        2 => this with { Count = 3, Third = block },
        _ => this,
    };

    /// <summary>The first <paramref name="count"/> blocks (all when there are fewer).</summary>
    public TcpSackBlocks Take(int count) => count switch
    {
        <= 0 => default,
        1 when Count > 1 => new TcpSackBlocks(1, First),
        2 when Count > 2 => new TcpSackBlocks(2, First, Second),
        _ => this,
    };
}

/// <summary>
/// The parsed content of a TCP header with the options this stack uses: MSS, window scale, SACK-permitted and
/// timestamps. SACK blocks and unknown options are skipped (their lengths are still checked).
/// </summary>
internal readonly record struct TcpRepr(
    ushort SourcePort,
    ushort DestinationPort,
    SeqNumber SequenceNumber,
    SeqNumber AckNumber,
    TcpFlags Flags,
    ushort WindowSize,
    int PayloadLength,
    ushort? MaxSegmentSize = null,
    byte? WindowScale = null,
    bool SackPermitted = false,
    TcpTimestamps? Timestamps = null,
    TcpSackBlocks Sack = default)
{
    private const byte OptEnd = 0, OptNop = 1, OptMss = 2, OptWindowScale = 3, OptSackPermitted = 4, OptSack = 5, OptTimestamps = 8;

    /// <summary>Header length with options, padded to a multiple of four bytes (at most 60).</summary>
    public int HeaderLength => HasNoOptions ? TcpSegment.MinHeaderLength : HeaderLengthWithOptions();

    /// <summary>No options to write: every data segment and ACK of an established connection without SACK blocks.</summary>
    private bool HasNoOptions => MaxSegmentSize is null && WindowScale is null && Timestamps is null && !SackPermitted && Sack.Count == 0;

    private int HeaderLengthWithOptions()
    {
        int sack = EmittedSack.Count;
        return FixedOptionsEnd + (sack > 0 ? 4 + 8 * sack : 0);
    }

    private int FixedOptionsEnd =>
        TcpSegment.MinHeaderLength + (MaxSegmentSize is null ? 0 : 4) + (WindowScale is null ? 0 : 4) + (Timestamps is not null ? 12 : SackPermitted ? 4 : 0);

    /// <summary>The SACK blocks <see cref="Emit"/> writes: as many as fit in the 40 bytes of options after the
    /// others (as a sender trims them). A received segment may pack more, its options unpadded.</summary>
    public TcpSackBlocks EmittedSack => Sack.Take((TcpSegment.MaxHeaderLength - FixedOptionsEnd - 4) / 8);

    public int BufferLength => HeaderLength + PayloadLength;

    public static WireError Parse(in TcpSegment segment, Ipv4Address source, Ipv4Address destination, out TcpRepr repr, bool verifyChecksum = true)
    {
        repr = default;
        var bytes = segment.Bytes;
        if (bytes.Length < TcpSegment.MinHeaderLength) return WireError.Truncated; // a default segment
        if (verifyChecksum && !segment.VerifyChecksum(source, destination)) return WireError.BadChecksum;
        // The fixed 20 bytes as five big-endian words (one bounds check above for all): every segment reads them, and
        // most carry no options.
        ref byte p = ref MemoryMarshal.GetReference(bytes);
        uint ports = ReadWord(ref p, 0), offsetFlagsWindow = ReadWord(ref p, 12);
        int headerLength = (int)(offsetFlagsWindow >> 28) * 4;
        if (headerLength == TcpSegment.MinHeaderLength)
        {
            repr = new TcpRepr((ushort)(ports >> 16), (ushort)ports, new SeqNumber(ReadWord(ref p, 4)), new SeqNumber(ReadWord(ref p, 8)),
                (TcpFlags)(offsetFlagsWindow >> 16), (ushort)offsetFlagsWindow, bytes.Length - TcpSegment.MinHeaderLength);
            return WireError.None;
        }
        return ParseWithOptions(segment, out repr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadWord(ref byte p, int offset)
    {
        uint value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, offset));
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;
    }

    /// <summary><see cref="Parse"/> of a segment with options (its checksum already checked).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WireError ParseWithOptions(in TcpSegment segment, out TcpRepr repr)
    {
        repr = default;
        ushort? mss = null;
        byte? scale = null;
        bool sackPermitted = false;
        TcpTimestamps? timestamps = null;
        TcpSackBlocks sack = default;
        ReadOnlySpan<byte> options = segment.Options;
        while (!options.IsEmpty)
        {
            byte kind = options[0];
            if (kind == OptEnd) break;
            if (kind == OptNop)
            {
                options = options[1..];
                continue;
            }
            if (options.Length < 2) return WireError.BadOption;
            int length = options[1];
            if (length < 2 || length > options.Length) return WireError.BadOption;
            var body = options[2..length];
            switch (kind)
            {
                case OptMss:
                    if (length != 4) return WireError.BadOption;
                    mss = BinaryPrimitives.ReadUInt16BigEndian(body);
                    break;
                case OptWindowScale:
                    if (length != 3) return WireError.BadOption;
                    scale = Math.Min(body[0], (byte)14); // RFC 7323 §2.3: larger shifts are treated as 14
                    break;
                case OptSackPermitted:
                    if (length != 2) return WireError.BadOption;
                    sackPermitted = true;
                    break;
                case OptSack:
                    if ((length - 2) % 8 != 0) return WireError.BadOption;
                    for (int at = 0; at + 8 <= body.Length && sack.Count < TcpSackBlocks.Max; at += 8)
                        sack = sack.With(new TcpSackBlock(new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(body[at..])),
                            new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(body[(at + 4)..]))));
                    break;
                case OptTimestamps:
                    if (length != 10) return WireError.BadOption;
                    timestamps = new TcpTimestamps(BinaryPrimitives.ReadUInt32BigEndian(body), BinaryPrimitives.ReadUInt32BigEndian(body[4..]));
                    break;
            }
            options = options[length..];
        }
        repr = new TcpRepr(segment.SourcePort, segment.DestinationPort, segment.SequenceNumber, segment.AckNumber, segment.Flags,
            segment.WindowSize, segment.Payload.Length, mss, scale, sackPermitted, timestamps, sack);
        return WireError.None;
    }

    public static WireError TryParse(Span<byte> buffer, Ipv4Address source, Ipv4Address destination, out TcpRepr repr, bool verifyChecksum = true)
    {
        repr = default;
        var error = TcpSegment.TryCreate(buffer, out var segment);
        return error != WireError.None ? error : Parse(segment, source, destination, out repr, verifyChecksum);
    }

    /// <summary>
    /// Writes the header and options; the <see cref="PayloadLength"/> bytes of data must already follow the header in
    /// <paramref name="buffer"/> (they are checksummed).
    /// </summary>
    public void Emit(Span<byte> buffer, Ipv4Address source, Ipv4Address destination, bool computeChecksum = true) =>
        Emit(buffer, HeaderLength, source, destination, computeChecksum);

    /// <summary><see cref="Emit(Span{byte}, Ipv4Address, Ipv4Address, bool)"/> with <see cref="HeaderLength"/> already
    /// known (the send path computes it once per segment: with options it is not free).</summary>
    internal void Emit(Span<byte> buffer, int headerLength, Ipv4Address source, Ipv4Address destination, bool computeChecksum)
    {
        System.Diagnostics.Debug.Assert(headerLength == HeaderLength);
        int length = headerLength + PayloadLength;
        if (buffer.Length < length) throw new ArgumentException("buffer shorter than the TCP segment", nameof(buffer));
        buffer = buffer[..length];
        WriteHeader(buffer, headerLength);
        if (computeChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(buffer[16..],
                Checksum.Finish(Checksum.Accumulate(Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, buffer.Length), buffer)));
    }

    /// <summary>
    /// Writes the header and options into <paramref name="header"/> for a payload that lives elsewhere (a chained frame:
    /// the payload goes to the device in its own buffer); the checksum covers both.
    /// </summary>
    public void EmitHeader(Span<byte> header, Ipv4Address source, Ipv4Address destination, ReadOnlySpan<byte> payload, bool computeChecksum = true) =>
        EmitHeader(header, HeaderLength, source, destination, payload, computeChecksum);

    /// <summary><see cref="EmitHeader(Span{byte}, Ipv4Address, Ipv4Address, ReadOnlySpan{byte}, bool)"/> with
    /// <see cref="HeaderLength"/> already known.</summary>
    internal void EmitHeader(Span<byte> header, int headerLength, Ipv4Address source, Ipv4Address destination, ReadOnlySpan<byte> payload, bool computeChecksum)
    {
        System.Diagnostics.Debug.Assert(headerLength == HeaderLength);
        if (header.Length < headerLength) throw new ArgumentException("buffer shorter than the TCP header", nameof(header));
        if (payload.Length != PayloadLength) throw new ArgumentException("payload length differs from the segment's", nameof(payload));
        header = header[..headerLength];
        WriteHeader(header, headerLength);
        if (computeChecksum)
        {
            // The header's length is a multiple of 4, so the running sum chains over the two spans.
            ulong sum = Checksum.Accumulate(Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, headerLength + PayloadLength), header);
            BinaryPrimitives.WriteUInt16BigEndian(header[16..], Checksum.Finish(Checksum.Accumulate(sum, payload)));
        }
    }

    /// <summary>The header and options (checksum field zero) into the first <paramref name="headerLength"/> (=
    /// <see cref="HeaderLength"/>) bytes of <paramref name="buffer"/>.</summary>
    private void WriteHeader(Span<byte> buffer, int headerLength)
    {
        if ((uint)headerLength > (uint)buffer.Length || headerLength < TcpSegment.MinHeaderLength)
            throw new ArgumentException("buffer shorter than the TCP header", nameof(buffer));
        // The fixed 20 bytes as five big-endian words, one bounds check for all (every segment writes them).
        ref byte p = ref MemoryMarshal.GetReference(buffer);
        WriteWord(ref p, 0, (uint)SourcePort << 16 | DestinationPort);
        WriteWord(ref p, 4, SequenceNumber.Value);
        WriteWord(ref p, 8, AckNumber.Value);
        WriteWord(ref p, 12, (uint)(headerLength / 4 << 4) << 24 | (uint)Flags << 16 | WindowSize);
        WriteWord(ref p, 16, 0); // checksum (filled in later) and urgent pointer
        if (headerLength > TcpSegment.MinHeaderLength) WriteOptions(buffer[TcpSegment.MinHeaderLength..headerLength]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteWord(ref byte p, int offset, uint value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref p, offset), BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value);

    /// <summary>The options, padded, into <paramref name="o"/> (the header after its fixed 20 bytes).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteOptions(Span<byte> o)
    {
        if (MaxSegmentSize is { } mss)
        {
            o[0] = OptMss;
            o[1] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(o[2..], mss);
            o = o[4..];
        }
        // Linux's layout, so our SYNs look like everyone else's: MSS, SACK-permitted folded into the timestamps'
        // padding, then NOP + window scale.
        if (Timestamps is { } ts)
        {
            if (SackPermitted)
            {
                o[0] = OptSackPermitted;
                o[1] = 2;
            }
            else o[0] = o[1] = OptNop;
            o[2] = OptTimestamps;
            o[3] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(o[4..], ts.Value);
            BinaryPrimitives.WriteUInt32BigEndian(o[8..], ts.EchoReply);
            o = o[12..];
        }
        else if (SackPermitted)
        {
            o[0] = OptNop;
            o[1] = OptNop;
            o[2] = OptSackPermitted;
            o[3] = 2;
            o = o[4..];
        }
        if (WindowScale is { } scale)
        {
            o[0] = OptNop;
            o[1] = OptWindowScale;
            o[2] = 3;
            o[3] = scale;
            o = o[4..];
        }
        var sack = EmittedSack;
        if (sack.Count > 0)
        {
            o[0] = o[1] = OptNop;
            o[2] = OptSack;
            o[3] = (byte)(2 + 8 * sack.Count);
            for (int i = 0; i < sack.Count; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(o[(4 + 8 * i)..], sack[i].Left.Value);
                BinaryPrimitives.WriteUInt32BigEndian(o[(8 + 8 * i)..], sack[i].Right.Value);
            }
        }
    }
}
