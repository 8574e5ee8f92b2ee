using Demikernel.InetStack.Wire;

namespace Demikernel.Catnip;

/// <summary>
/// The software check of a received frame the device left unchecked while its receive checksum offload is on (the
/// stack above then checks none): the IPv4 header's checksum, and TCP's or UDP's, through the stack's own wire views.
/// </summary>
internal static class ReceivedChecksums
{
    /// <summary>
    /// False if a checksum is wrong. A frame that is not IPv4, a fragment, or too malformed for its view passes: the
    /// stack's parsers reject what is malformed, and fragments are not reassembled.
    /// </summary>
    public static bool Hold(Span<byte> frame)
    {
        if (EthernetFrame.TryCreate(frame, out var ethernet) != WireError.None || ethernet.EtherType != EtherType.Ipv4) return true;
        if (Ipv4Packet.TryCreate(ethernet.Payload, out var ip) != WireError.None) return true;
        if (!ip.VerifyChecksum()) return false;
        if (ip.IsFragment) return true;
        return ip.Protocol switch
        {
            IpProtocol.Tcp => TcpSegment.TryCreate(ip.Payload, out var tcp) != WireError.None || tcp.VerifyChecksum(ip.Source, ip.Destination),
            IpProtocol.Udp => UdpDatagram.TryCreate(ip.Payload, out var udp) != WireError.None || udp.VerifyChecksum(ip.Source, ip.Destination),
            _ => true,
        };
    }
}
