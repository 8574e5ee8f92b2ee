using System.Buffers.Binary;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>
/// Undoes what the kernel's offloads leave in frames that reach a packet socket, so that the stack above sees plain
/// Ethernet frames with correct checksums, as they would be on a wire:
/// <list type="bullet">
/// <item>CHECKSUM_PARTIAL (virtio-net <c>NEEDS_CSUM</c>): frames the local kernel sends over veth/tap carry only the
/// pseudo-header sum in the TCP/UDP checksum field; <see cref="CompleteChecksum"/> computes the rest, as the kernel's
/// <c>skb_checksum_help</c> would.</item>
/// <item>GSO/GRO super-frames (virtio-net <c>gso_type</c>): up to 64 KB of TCP payload behind one header, from TSO on
/// the peer of a veth pair or GRO on a real interface; <see cref="SegmentTcp"/> cuts them into MSS-sized segments with
/// their own sequence numbers, lengths, IP identifications, flags and checksums, as the kernel's
/// <c>tcp_gso_segment</c> would.</item>
/// </list>
/// </summary>
internal static class KernelOffloads
{
    private const int EthernetHeader = EthernetFrame.HeaderLength;
    private const ushort EtherTypeIpv4 = 0x0800;

    /// <summary>
    /// Fills in the checksum at <paramref name="start"/>+<paramref name="offset"/> over <c>frame[start..]</c> (whose
    /// field already holds the pseudo-header sum). False if the offsets do not fit the frame.
    /// </summary>
    public static bool CompleteChecksum(Span<byte> frame, int start, int offset)
    {
        if (start < EthernetHeader || offset < 0 || start + offset + 2 > frame.Length) return false;
        ushort sum = Checksum.Compute(frame[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[(start + offset)..], sum);
        return true;
    }

    /// <summary>
    /// Cuts an Ethernet + IPv4 + TCP super-frame into segments carrying at most <paramref name="mss"/> payload bytes
    /// each, every one in its own buffer rented from <paramref name="pool"/> and passed to <paramref name="emit"/> in
    /// order. Returns the number of segments, or -1 (nothing emitted) if the frame is not IPv4/TCP or is malformed.
    /// </summary>
    public static int SegmentTcp(ReadOnlySpan<byte> frame, int mss, BufferPool pool, Action<DemiBuffer> emit)
    {
        if (mss <= 0 || frame.Length < EthernetHeader + Ipv4Packet.MinHeaderLength + TcpSegment.MinHeaderLength) return -1;
        if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeIpv4) return -1;
        var ip = frame[EthernetHeader..];
        int ihl = (ip[0] & 0xF) * 4;
        if (ip[0] >> 4 != 4 || ihl < Ipv4Packet.MinHeaderLength || (IpProtocol)ip[9] != IpProtocol.Tcp) return -1;
        if (ip.Length < ihl + TcpSegment.MinHeaderLength) return -1;
        int doff = (ip[ihl + 12] >> 4) * 4;
        int headers = EthernetHeader + ihl + doff;
        if (doff < TcpSegment.MinHeaderLength || headers > frame.Length) return -1;
        // The IP total length is authoritative when it is consistent (GRO keeps it right); TSO super-packets beyond
        // 64 KB (BIG TCP) carry 0 there, so then the frame's own length is.
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        int end = totalLength >= ihl + doff && EthernetHeader + totalLength <= frame.Length ? EthernetHeader + totalLength : frame.Length;
        var payload = frame[headers..end];
        var source = Ipv4Address.Read(ip[12..]);
        var destination = Ipv4Address.Read(ip[16..]);
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(ip[(ihl + 4)..]);
        var flags = (TcpFlags)ip[ihl + 13];

        int count = Math.Max(1, (payload.Length + mss - 1) / mss);
        for (int i = 0; i < count; i++)
        {
            int from = i * mss;
            int chunk = Math.Min(mss, payload.Length - from);
            var buffer = pool.Rent(headers + chunk);
            var seg = buffer.Span;
            frame[..headers].CopyTo(seg);
            payload.Slice(from, chunk).CopyTo(seg[headers..]);

            var sip = seg[EthernetHeader..];
            BinaryPrimitives.WriteUInt16BigEndian(sip[2..], (ushort)(ihl + doff + chunk));
            BinaryPrimitives.WriteUInt16BigEndian(sip[4..], unchecked((ushort)(id + i)));
            BinaryPrimitives.WriteUInt16BigEndian(sip[10..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(sip[10..], Checksum.Compute(sip[..ihl]));

            var tcp = sip[ihl..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], unchecked(seq + (uint)from));
            var segmentFlags = flags;
            if (i != count - 1) segmentFlags &= ~(TcpFlags.Fin | TcpFlags.Psh);
            if (i != 0) segmentFlags &= ~TcpFlags.Cwr;
            tcp[13] = (byte)segmentFlags;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], 0);
            ulong sum = Checksum.Accumulate(Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, doff + chunk), tcp);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Finish(sum));
            emit(buffer);
        }
        return count;
    }
}
