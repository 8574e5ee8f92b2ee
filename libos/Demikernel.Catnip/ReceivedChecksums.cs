using System.Buffers.Binary;
using Demikernel.InetStack.Wire;

namespace Demikernel.Catnip;

/// <summary>
/// The software check of a received frame the device left unchecked while its receive checksum offload is on (the
/// stack above then checks none): the IPv4 header's checksum, and TCP's or UDP's over the whole packet.
/// </summary>
internal static class ReceivedChecksums
{
    /// <summary>
    /// False if a checksum is wrong. A frame that is not IPv4, a fragment, or too malformed to find its checksums in
    /// passes: the stack's parsers reject what is malformed, and fragments are not reassembled.
    /// </summary>
    public static bool Hold(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetFrame.HeaderLength + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800) return true;
        var ip = frame[EthernetFrame.HeaderLength..];
        int headerLength = (ip[0] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (headerLength < 20 || total < headerLength || total > ip.Length) return true;
        if (!Checksum.Verify(ip[..headerLength])) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0) return true;
        var protocol = (IpProtocol)ip[9];
        var segment = ip[headerLength..total];
        if (protocol == IpProtocol.Udp && segment.Length >= 8 && BinaryPrimitives.ReadUInt16BigEndian(segment[6..]) == 0) return true; // no checksum
        if (protocol != IpProtocol.Tcp && protocol != IpProtocol.Udp) return true;
        var source = Ipv4Address.Read(ip[12..]);
        var destination = Ipv4Address.Read(ip[16..]);
        return Checksum.Finish(Checksum.Accumulate(Checksum.PseudoHeader(source, destination, protocol, segment.Length), segment)) == 0;
    }
}
