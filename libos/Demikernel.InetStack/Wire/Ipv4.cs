using System.Buffers.Binary;

namespace Demikernel.InetStack.Wire;

/// <summary>
/// A checked view of an IPv4 packet (RFC 791). After <see cref="TryCreate"/>, the header length and total length are
/// known to lie within the buffer, so <see cref="Options"/> and <see cref="Payload"/> cannot throw. Bytes after the
/// total length (Ethernet padding) are excluded from <see cref="Payload"/>.
/// <code>
///  0        4        8               16    19                  31
///  |ver|ihl |dscp|ecn|        total length                     |
///  |   identification         |flags| fragment offset          |
///  |  ttl   | protocol        |      header checksum           |
///  |                    source address                         |
///  |                  destination address                      |
///  |                 options (ihl*4 - 20 bytes)                |
/// </code>
/// </summary>
internal readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;
    private const ushort FlagDontFragment = 0x4000;
    private const ushort FlagMoreFragments = 0x2000;
    private const ushort OffsetMask = 0x1FFF;

    private readonly Span<byte> _buffer;

    private Ipv4Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Checks version, header length and total length against the buffer. The checksum is the Repr's job.</summary>
    public static WireError TryCreate(Span<byte> buffer, out Ipv4Packet packet)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength) return WireError.Truncated;
        if (buffer[0] >> 4 != 4) return WireError.BadVersion;
        int headerLength = (buffer[0] & 0xF) * 4;
        if (headerLength < MinHeaderLength || headerLength > buffer.Length) return WireError.BadHeaderLength;
        int total = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        if (total < headerLength || total > buffer.Length) return WireError.BadLength;
        packet = new Ipv4Packet(buffer[..total]);
        return WireError.None;
    }

    public byte Version => (byte)(_buffer[0] >> 4);
    public int HeaderLength => (_buffer[0] & 0xF) * 4;
    public byte Dscp => (byte)(_buffer[1] >> 2);
    public byte Ecn => (byte)(_buffer[1] & 3);
    public int TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    private ushort FlagsAndOffset => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    public bool DontFragment => (FlagsAndOffset & FlagDontFragment) != 0;
    public bool MoreFragments => (FlagsAndOffset & FlagMoreFragments) != 0;
    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset => (FlagsAndOffset & OffsetMask) * 8;
    public bool IsFragment => MoreFragments || FragmentOffset != 0;
    public byte Ttl => _buffer[8];
    public IpProtocol Protocol => (IpProtocol)_buffer[9];
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[10..]);
    public Ipv4Address Source => Ipv4Address.Read(_buffer[12..]);
    public Ipv4Address Destination => Ipv4Address.Read(_buffer[16..]);
    public Span<byte> Options => _buffer[MinHeaderLength..HeaderLength];
    public Span<byte> Header => _buffer[..HeaderLength];
    public Span<byte> Payload => _buffer[HeaderLength..];
    public bool VerifyChecksum() => Checksum.Verify(Header);
}

/// <summary>
/// The parsed content of an IPv4 header. Options are skipped on receive (their length is honoured) and never emitted.
/// </summary>
internal readonly record struct Ipv4Repr(
    Ipv4Address Source,
    Ipv4Address Destination,
    IpProtocol Protocol,
    int PayloadLength,
    byte Ttl = Ipv4Repr.DefaultTtl,
    ushort Identification = 0,
    bool DontFragment = true,
    byte Dscp = 0)
{
    public const byte DefaultTtl = 64;
    public const int HeaderLength = Ipv4Packet.MinHeaderLength;

    /// <summary>Header plus payload.</summary>
    public int BufferLength => HeaderLength + PayloadLength;

    /// <summary>Checks the header checksum (unless offloaded) and rejects fragments. Any TTL is accepted: a host must not
    /// discard a datagram for a TTL below 2 (RFC 1122 3.2.1.7), and Linux's local delivery does not look at it.</summary>
    public static WireError Parse(in Ipv4Packet packet, out Ipv4Repr repr, bool verifyChecksum = true)
    {
        repr = default;
        var error = Check(packet, verifyChecksum);
        if (error != WireError.None) return error;
        repr = new Ipv4Repr(packet.Source, packet.Destination, packet.Protocol, packet.TotalLength - packet.HeaderLength,
            packet.Ttl, packet.Identification, packet.DontFragment, packet.Dscp);
        return WireError.None;
    }

    /// <summary><see cref="Parse"/>'s checks without building the repr (the receive path reads the packet's own fields).</summary>
    public static WireError Check(in Ipv4Packet packet, bool verifyChecksum = true)
    {
        if (verifyChecksum && !packet.VerifyChecksum()) return WireError.BadChecksum;
        if (packet.IsFragment) return WireError.Fragmented;
        return WireError.None;
    }

    public static WireError TryParse(Span<byte> buffer, out Ipv4Repr repr, bool verifyChecksum = true)
    {
        repr = default;
        var error = Ipv4Packet.TryCreate(buffer, out var packet);
        return error != WireError.None ? error : Parse(packet, out repr, verifyChecksum);
    }

    /// <summary>Writes the 20-byte header (the payload is the caller's) and, unless offloaded, its checksum.</summary>
    public void Emit(Span<byte> buffer, bool computeChecksum = true)
    {
        if (buffer.Length < HeaderLength) throw new ArgumentException("buffer shorter than an IPv4 header", nameof(buffer));
        if (BufferLength > ushort.MaxValue) throw new ArgumentException("IPv4 packet longer than 65535 bytes");
        buffer[0] = 0x45;
        buffer[1] = (byte)(Dscp << 2);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)BufferLength);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], Identification);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], DontFragment ? (ushort)0x4000 : (ushort)0);
        buffer[8] = Ttl;
        buffer[9] = (byte)Protocol;
        buffer[10] = 0;
        buffer[11] = 0;
        Source.Write(buffer[12..]);
        Destination.Write(buffer[16..]);
        if (computeChecksum) BinaryPrimitives.WriteUInt16BigEndian(buffer[10..], Checksum.Compute(buffer[..HeaderLength]));
    }
}
