using System.Buffers.Binary;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.Catpowder.Tests;

/// <summary>
/// The repairs catpowder makes to frames the kernel hands over half-done: a checksum left partial (CHECKSUM_PARTIAL)
/// and a TSO/GRO super-frame. The results must be frames the stack's own parsers accept with checksums verified.
/// </summary>
public class KernelOffloadsTests
{
    private static readonly MacAddress Linux = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress Ours = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly Ipv4Address From = Ipv4Address.Parse("10.77.0.1");
    private static readonly Ipv4Address To = Ipv4Address.Parse("10.77.0.2");
    private const int TcpStart = EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength;

    private static byte[] Payload(int length) => Enumerable.Range(0, length).Select(i => (byte)((i * 31) + (i >> 8))).ToArray();

    /// <summary>An Ethernet + IPv4 + TCP (timestamps option) frame with correct checksums.</summary>
    private static byte[] TcpFrame(byte[] payload, TcpFlags flags, uint seq = 1_000_000, ushort id = 4242)
    {
        var tcp = new TcpRepr(40000, 7000, new SeqNumber(seq), new SeqNumber(77), flags, 500, payload.Length, Timestamps: new TcpTimestamps(11, 22));
        var ip = new Ipv4Repr(From, To, IpProtocol.Tcp, tcp.BufferLength, Identification: id);
        var frame = new byte[EthernetFrame.HeaderLength + ip.BufferLength];
        payload.CopyTo(frame, TcpStart + tcp.HeaderLength);
        tcp.Emit(frame.AsSpan(TcpStart), From, To);
        ip.Emit(frame.AsSpan(EthernetFrame.HeaderLength));
        new EthernetRepr(Linux, Ours, EtherType.Ipv4).Emit(frame);
        return frame;
    }

    /// <summary>What the kernel leaves in the field under CHECKSUM_PARTIAL: the folded, uncomplemented pseudo-header sum.</summary>
    private static void MakePartial(byte[] frame, int l4Start, int checksumOffset, IpProtocol protocol)
    {
        int l4Length = frame.Length - l4Start;
        ushort pseudo = (ushort)~Checksum.Finish(Checksum.PseudoHeader(From, To, protocol, l4Length));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4Start + checksumOffset), pseudo);
    }

    private static (Ipv4Repr Ip, TcpRepr Tcp, byte[] Payload) ParseTcp(ReadOnlySpan<byte> frame)
    {
        var bytes = frame.ToArray();
        Assert.Equal(WireError.None, Ipv4Packet.TryCreate(bytes.AsSpan(EthernetFrame.HeaderLength), out var packet));
        Assert.Equal(WireError.None, Ipv4Repr.Parse(packet, out var ip, verifyChecksum: true));
        Assert.Equal(WireError.None, TcpSegment.TryCreate(packet.Payload, out var segment));
        Assert.Equal(WireError.None, TcpRepr.Parse(segment, ip.Source, ip.Destination, out var tcp, verifyChecksum: true));
        return (ip, tcp, segment.Payload.ToArray());
    }

    [Fact]
    public void PartialTcpChecksumIsCompleted()
    {
        var frame = TcpFrame(Payload(1001), TcpFlags.Ack | TcpFlags.Psh);
        ushort expected = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpStart + 16));
        MakePartial(frame, TcpStart, 16, IpProtocol.Tcp);
        Assert.NotEqual(expected, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpStart + 16)));

        Assert.True(KernelOffloads.CompleteChecksum(frame, TcpStart, 16));
        Assert.Equal(expected, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpStart + 16)));
        ParseTcp(frame);
    }

    [Fact]
    public void PartialUdpChecksumIsCompleted()
    {
        var udp = new UdpRepr(5353, 9999, 333);
        var ip = new Ipv4Repr(From, To, IpProtocol.Udp, udp.BufferLength);
        var frame = new byte[EthernetFrame.HeaderLength + ip.BufferLength];
        Payload(333).CopyTo(frame, TcpStart + UdpDatagram.HeaderLength);
        udp.Emit(frame.AsSpan(TcpStart), From, To);
        ip.Emit(frame.AsSpan(EthernetFrame.HeaderLength));
        new EthernetRepr(Linux, Ours, EtherType.Ipv4).Emit(frame);
        ushort expected = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpStart + 6));
        MakePartial(frame, TcpStart, 6, IpProtocol.Udp);

        Assert.True(KernelOffloads.CompleteChecksum(frame, TcpStart, 6));
        Assert.Equal(expected, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpStart + 6)));
    }

    [Theory]
    [InlineData(10, 16)]     // inside the Ethernet header
    [InlineData(34, 2000)]   // field beyond the frame
    [InlineData(2000, 0)]    // start beyond the frame
    public void ChecksumOffsetsOutsideTheFrameAreRefused(int start, int offset)
    {
        var frame = TcpFrame(Payload(100), TcpFlags.Ack);
        var copy = frame.ToArray();
        Assert.False(KernelOffloads.CompleteChecksum(frame, start, offset));
        Assert.Equal(copy, frame);
    }

    [Fact]
    public void SuperFrameIsCutIntoSegmentsTheStackAccepts()
    {
        var payload = Payload(5000);
        var super = TcpFrame(payload, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, seq: uint.MaxValue - 2000, id: ushort.MaxValue - 1);
        // As the kernel hands it over: the IP length covers everything, the TCP checksum is partial.
        MakePartial(super, TcpStart, 16, IpProtocol.Tcp);
        var pool = new BufferPool();
        var segments = new List<DemiBuffer>();

        Assert.Equal(4, KernelOffloads.SegmentTcp(super, 1448, pool, segments.Add));

        Assert.Equal(4, segments.Count);
        var received = new List<byte>();
        for (int i = 0; i < segments.Count; i++)
        {
            Assert.True(segments[i].Offset >= pool.Headroom, "segments keep the pool's headroom");
            var (ip, tcp, data) = ParseTcp(segments[i].Span);
            Assert.Equal(i < 3 ? 1448 : 5000 - (3 * 1448), data.Length);
            Assert.Equal(unchecked((ushort)(ushort.MaxValue - 1 + i)), ip.Identification);
            Assert.Equal(unchecked(uint.MaxValue - 2000 + (uint)(i * 1448)), tcp.SequenceNumber.Value);
            Assert.Equal(77u, tcp.AckNumber.Value);
            Assert.Equal(new TcpTimestamps(11, 22), tcp.Timestamps);
            var expectedFlags = TcpFlags.Ack | (i == 3 ? TcpFlags.Psh | TcpFlags.Fin : 0) | (i == 0 ? TcpFlags.Cwr : 0);
            Assert.Equal(expectedFlags, tcp.Flags);
            Assert.Equal(EthernetFrame.HeaderLength + ip.BufferLength, segments[i].Length);
            received.AddRange(data);
            pool.Discard(segments[i]);
        }
        Assert.Equal(payload, received.ToArray());
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void SuperFrameShorterThanTheMssStaysOneSegment()
    {
        var payload = Payload(700);
        var super = TcpFrame(payload, TcpFlags.Ack | TcpFlags.Psh);
        var segments = new List<DemiBuffer>();
        Assert.Equal(1, KernelOffloads.SegmentTcp(super, 1448, new BufferPool(), segments.Add));
        Assert.Equal(payload, ParseTcp(segments[0].Span).Payload);
    }

    [Fact]
    public void NonTcpOrMalformedSuperFramesAreRefused()
    {
        var pool = new BufferPool();
        var segments = new List<DemiBuffer>();
        var frame = TcpFrame(Payload(3000), TcpFlags.Ack);
        var udp = frame.ToArray();
        udp[EthernetFrame.HeaderLength + 9] = (byte)IpProtocol.Udp;
        Assert.Equal(-1, KernelOffloads.SegmentTcp(udp, 1448, pool, segments.Add));
        var arp = frame.ToArray();
        arp[12] = 0x08;
        arp[13] = 0x06;
        Assert.Equal(-1, KernelOffloads.SegmentTcp(arp, 1448, pool, segments.Add));
        Assert.Equal(-1, KernelOffloads.SegmentTcp(frame.AsSpan(0, 40), 1448, pool, segments.Add));
        Assert.Equal(-1, KernelOffloads.SegmentTcp(frame, 0, pool, segments.Add));
        Assert.Empty(segments);
        Assert.Equal(0, pool.Outstanding);
    }
}
