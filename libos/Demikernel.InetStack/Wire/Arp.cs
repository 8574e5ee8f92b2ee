using System.Buffers.Binary;

namespace Demikernel.InetStack.Wire;

internal enum ArpOperation : ushort
{
    Request = 1,
    Reply = 2,
}

/// <summary>
/// A checked view of an ARP packet (RFC 826). The view checks only the fixed part's length; <see cref="ArpRepr"/>
/// accepts only IPv4-over-Ethernet.
/// <code>
///  0     2     4  5  6     8          14        18         24        28
///  |htype|ptype|hl|pl| op  | sha      | spa     | tha      | tpa     |
/// </code>
/// </summary>
internal readonly ref struct ArpPacket
{
    public const int FixedLength = 8;
    /// <summary>Length of an IPv4-over-Ethernet packet.</summary>
    public const int Ipv4EthernetLength = 28;

    private readonly Span<byte> _buffer;

    private ArpPacket(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out ArpPacket packet)
    {
        packet = default;
        if (buffer.Length < FixedLength) return WireError.Truncated;
        int needed = FixedLength + 2 * (buffer[4] + buffer[5]);
        if (buffer.Length < needed) return WireError.Truncated;
        packet = new ArpPacket(buffer[..needed]);
        return WireError.None;
    }

    public ushort HardwareType => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    public ushort ProtocolType => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    public byte HardwareLength => _buffer[4];
    public byte ProtocolLength => _buffer[5];
    public ArpOperation Operation => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);

    private int Hl => _buffer[4];
    private int Pl => _buffer[5];
    public ReadOnlySpan<byte> SenderHardwareAddress => _buffer.Slice(8, Hl);
    public ReadOnlySpan<byte> SenderProtocolAddress => _buffer.Slice(8 + Hl, Pl);
    public ReadOnlySpan<byte> TargetHardwareAddress => _buffer.Slice(8 + Hl + Pl, Hl);
    public ReadOnlySpan<byte> TargetProtocolAddress => _buffer.Slice(8 + 2 * Hl + Pl, Pl);
}

/// <summary>An IPv4-over-Ethernet ARP request or reply.</summary>
internal readonly record struct ArpRepr(ArpOperation Operation, MacAddress SenderMac, Ipv4Address SenderIp, MacAddress TargetMac, Ipv4Address TargetIp)
{
    public const int HardwareEthernet = 1;

    public int BufferLength => ArpPacket.Ipv4EthernetLength;

    public static WireError Parse(in ArpPacket packet, out ArpRepr repr)
    {
        repr = default;
        if (packet.HardwareType != HardwareEthernet || packet.ProtocolType != (ushort)EtherType.Ipv4 ||
            packet.HardwareLength != MacAddress.Length || packet.ProtocolLength != Ipv4Address.Length)
            return WireError.Unsupported;
        if (packet.Operation is not (ArpOperation.Request or ArpOperation.Reply)) return WireError.Unsupported;
        var senderMac = MacAddress.Read(packet.SenderHardwareAddress);
        if (senderMac.IsMulticast) return WireError.BadAddress;
        repr = new ArpRepr(packet.Operation, senderMac, Ipv4Address.Read(packet.SenderProtocolAddress),
            MacAddress.Read(packet.TargetHardwareAddress), Ipv4Address.Read(packet.TargetProtocolAddress));
        return WireError.None;
    }

    public static WireError TryParse(Span<byte> buffer, out ArpRepr repr)
    {
        repr = default;
        var error = ArpPacket.TryCreate(buffer, out var packet);
        return error != WireError.None ? error : Parse(packet, out repr);
    }

    public void Emit(Span<byte> buffer)
    {
        if (buffer.Length < ArpPacket.Ipv4EthernetLength) throw new ArgumentException("buffer shorter than an ARP packet", nameof(buffer));
        BinaryPrimitives.WriteUInt16BigEndian(buffer, HardwareEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)EtherType.Ipv4);
        buffer[4] = MacAddress.Length;
        buffer[5] = Ipv4Address.Length;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)Operation);
        SenderMac.Write(buffer[8..]);
        SenderIp.Write(buffer[14..]);
        TargetMac.Write(buffer[18..]);
        TargetIp.Write(buffer[24..]);
    }
}
