using System.Buffers.Binary;

namespace Demikernel.InetStack.Wire;

internal enum Icmpv4Type : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    EchoRequest = 8,
    TimeExceeded = 11,
}

/// <summary>
/// A checked view of an ICMPv4 message (RFC 792). For echo messages the rest-of-header holds identifier and sequence.
/// <code>
///  0      1      2          4            6            8
///  | type | code | checksum | identifier | sequence   | data ...
/// </code>
/// </summary>
internal readonly ref struct Icmpv4Packet
{
    public const int HeaderLength = 8;

    private readonly Span<byte> _buffer;

    private Icmpv4Packet(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out Icmpv4Packet packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength) return WireError.Truncated;
        packet = new Icmpv4Packet(buffer);
        return WireError.None;
    }

    public Icmpv4Type Type => (Icmpv4Type)_buffer[0];
    public byte Code => _buffer[1];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    public Span<byte> Data => _buffer[HeaderLength..];
    public Span<byte> Bytes => _buffer;
    public bool VerifyChecksum() => Wire.Checksum.Verify(_buffer);
}

/// <summary>An ICMPv4 echo request or reply; the data travels separately (it stays in place in the buffer).</summary>
internal readonly record struct Icmpv4EchoRepr(Icmpv4Type Type, ushort Identifier, ushort SequenceNumber, int DataLength)
{
    public int BufferLength => Icmpv4Packet.HeaderLength + DataLength;

    /// <summary>Accepts echo requests and replies with code 0; other messages are <see cref="WireError.Unsupported"/>.</summary>
    public static WireError Parse(in Icmpv4Packet packet, out Icmpv4EchoRepr repr, bool verifyChecksum = true)
    {
        repr = default;
        if (verifyChecksum && !packet.VerifyChecksum()) return WireError.BadChecksum;
        if (packet.Type is not (Icmpv4Type.EchoRequest or Icmpv4Type.EchoReply) || packet.Code != 0) return WireError.Unsupported;
        repr = new Icmpv4EchoRepr(packet.Type, packet.Identifier, packet.SequenceNumber, packet.Data.Length);
        return WireError.None;
    }

    public static WireError TryParse(Span<byte> buffer, out Icmpv4EchoRepr repr, bool verifyChecksum = true)
    {
        repr = default;
        var error = Icmpv4Packet.TryCreate(buffer, out var packet);
        return error != WireError.None ? error : Parse(packet, out repr, verifyChecksum);
    }

    /// <summary>
    /// Writes the header into <paramref name="buffer"/>, whose bytes after the header must already hold the
    /// <see cref="DataLength"/> bytes of data, and the checksum over both.
    /// </summary>
    public void Emit(Span<byte> buffer, bool computeChecksum = true)
    {
        if (buffer.Length < BufferLength) throw new ArgumentException("buffer shorter than the ICMP message", nameof(buffer));
        buffer = buffer[..BufferLength];
        buffer[0] = (byte)Type;
        buffer[1] = 0;
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], SequenceNumber);
        if (computeChecksum) BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Checksum.Compute(buffer));
    }
}
