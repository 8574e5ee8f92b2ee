using System.Buffers.Binary;

namespace Demikernel.InetStack.Wire;

/// <summary>
/// A checked view of a UDP datagram (RFC 768). After <see cref="TryCreate"/> the length field is known to be at least
/// the header and within the buffer; <see cref="Payload"/> stops at it.
/// <code>
///  0          2          4        6          8
///  | src port | dst port | length | checksum | payload ...
/// </code>
/// </summary>
internal readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;

    private readonly Span<byte> _buffer;

    private UdpDatagram(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out UdpDatagram datagram)
    {
        datagram = default;
        if (buffer.Length < HeaderLength) return WireError.Truncated;
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        if (length < HeaderLength || length > buffer.Length) return WireError.BadLength;
        datagram = new UdpDatagram(buffer[..length]);
        return WireError.None;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    public int Length => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    public Span<byte> Payload => _buffer[HeaderLength..];
    public Span<byte> Bytes => _buffer;

    /// <summary>Verifies the checksum with the pseudo-header; a zero checksum means the sender did not compute one.</summary>
    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination) =>
        Checksum == 0 || Wire.Checksum.Finish(Wire.Checksum.Accumulate(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Udp, _buffer.Length), _buffer)) == 0;
}

internal readonly record struct UdpRepr(ushort SourcePort, ushort DestinationPort, int PayloadLength)
{
    public int BufferLength => UdpDatagram.HeaderLength + PayloadLength;

    public static WireError Parse(in UdpDatagram datagram, Ipv4Address source, Ipv4Address destination, out UdpRepr repr, bool verifyChecksum = true)
    {
        repr = default;
        if (verifyChecksum && !datagram.VerifyChecksum(source, destination)) return WireError.BadChecksum;
        repr = new UdpRepr(datagram.SourcePort, datagram.DestinationPort, datagram.Length - UdpDatagram.HeaderLength);
        return WireError.None;
    }

    public static WireError TryParse(Span<byte> buffer, Ipv4Address source, Ipv4Address destination, out UdpRepr repr, bool verifyChecksum = true)
    {
        repr = default;
        var error = UdpDatagram.TryCreate(buffer, out var datagram);
        return error != WireError.None ? error : Parse(datagram, source, destination, out repr, verifyChecksum);
    }

    /// <summary>Writes the header; the payload must already follow it in <paramref name="buffer"/> (it is checksummed).</summary>
    public void Emit(Span<byte> buffer, Ipv4Address source, Ipv4Address destination, bool computeChecksum = true)
    {
        if (buffer.Length < BufferLength) throw new ArgumentException("buffer shorter than the UDP datagram", nameof(buffer));
        if (BufferLength > ushort.MaxValue) throw new ArgumentException("UDP datagram longer than 65535 bytes");
        buffer = buffer[..BufferLength];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)BufferLength);
        buffer[6] = 0;
        buffer[7] = 0;
        if (!computeChecksum) return;
        ushort sum = Checksum.Finish(Checksum.Accumulate(Checksum.PseudoHeader(source, destination, IpProtocol.Udp, BufferLength), buffer));
        // A computed zero is sent as all ones: zero on the wire means "no checksum".
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], sum == 0 ? (ushort)0xFFFF : sum);
    }
}
