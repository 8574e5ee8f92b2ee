using System.Buffers.Binary;
using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack.Tests;

public class ChecksumTests
{
    [Fact]
    public void Rfc1071Example()
    {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, whose complement is 220d.
        Assert.Equal(0x220d, Checksum.Compute(Golden.Hex("0001 f203 f4f5 f6f7")));
    }

    [Fact]
    public void OddLengthPadsWithZero()
    {
        Assert.Equal(Checksum.Compute(Golden.Hex("0102 03 00")), Checksum.Compute(Golden.Hex("0102 03")));
    }

    [Fact]
    public void ChainedEqualsWhole()
    {
        var data = Enumerable.Range(0, 301).Select(i => (byte)(i * 7)).ToArray();
        ulong sum = Checksum.Accumulate(0, data.AsSpan(0, 100));
        sum = Checksum.Accumulate(sum, data.AsSpan(100));
        Assert.Equal(Checksum.Compute(data), Checksum.Finish(sum));
    }
}

public class AddressTests
{
    [Fact]
    public void MacRoundTrips()
    {
        var mac = MacAddress.Parse("02:00:00:00:00:0a");
        Assert.Equal("02:00:00:00:00:0a", mac.ToString());
        Assert.True(mac.IsUnicast);
        Assert.True(MacAddress.Broadcast.IsBroadcast && MacAddress.Broadcast.IsMulticast);
        Assert.True(MacAddress.Parse("33:33:00:00:00:16").IsMulticast);
        Assert.False(MacAddress.TryParse("02:00:00:00:00", out _));
        Assert.False(MacAddress.TryParse("02:00:00:00:00:zz", out _));
    }

    [Fact]
    public void Ipv4RoundTrips()
    {
        var ip = Ipv4Address.Parse("10.99.0.1");
        Assert.Equal(0x0a630001u, ip.Value);
        Assert.Equal("10.99.0.1", ip.ToString());
        Assert.False(Ipv4Address.TryParse("10.99.0", out _));
        Assert.False(Ipv4Address.TryParse("10.99.0.256", out _));
        Assert.False(Ipv4Address.TryParse("10.99.0.1.2", out _));
        Assert.True(ip.SameSubnet(Ipv4Address.Parse("10.99.0.200"), 24));
        Assert.False(ip.SameSubnet(Ipv4Address.Parse("10.98.0.1"), 24));
    }
}

public class EthernetTests
{
    [Fact]
    public void ParsesAndEmitsGoldenHeader()
    {
        var frame = Golden.ArpRequest;
        Assert.Equal(WireError.None, EthernetRepr.TryParse(frame, out var repr));
        Assert.Equal(new EthernetRepr(MacAddress.Parse("02:00:00:00:00:0a"), MacAddress.Broadcast, EtherType.Arp), repr);
        var emitted = new byte[14];
        repr.Emit(emitted);
        Assert.Equal(frame[..14], emitted);
    }

    [Fact]
    public void TruncatedIsRefused()
    {
        Assert.Equal(WireError.Truncated, EthernetFrame.TryCreate(new byte[13], out _));
    }
}

public class ArpTests
{
    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address IpA = Ipv4Address.Parse("10.99.0.1");
    private static readonly Ipv4Address IpB = Ipv4Address.Parse("10.99.0.2");

    [Fact]
    public void GoldenRequestAndReply()
    {
        Assert.Equal(WireError.None, ArpRepr.TryParse(Golden.ArpRequest.AsSpan(14), out var request));
        Assert.Equal(new ArpRepr(ArpOperation.Request, MacA, IpA, MacAddress.Zero, IpB), request);
        Assert.Equal(WireError.None, ArpRepr.TryParse(Golden.ArpReply.AsSpan(14), out var reply));
        Assert.Equal(new ArpRepr(ArpOperation.Reply, MacB, IpB, MacA, IpA), reply);

        var buffer = new byte[28];
        reply.Emit(buffer);
        Assert.Equal(Golden.ArpReply[14..], buffer);
        request.Emit(buffer);
        Assert.Equal(Golden.ArpRequest[14..], buffer);
    }

    [Fact]
    public void MalformedIsRefused()
    {
        var arp = Golden.ArpRequest[14..];
        Assert.Equal(WireError.Truncated, ArpRepr.TryParse(arp.AsSpan(0, 7), out _));
        Assert.Equal(WireError.Truncated, ArpRepr.TryParse(arp.AsSpan(0, 27), out _));
        var ipv6 = (byte[])arp.Clone();
        ipv6[2] = 0x86; ipv6[3] = 0xdd;
        Assert.Equal(WireError.Unsupported, ArpRepr.TryParse(ipv6, out _));
        var badOp = (byte[])arp.Clone();
        badOp[7] = 9;
        Assert.Equal(WireError.Unsupported, ArpRepr.TryParse(badOp, out _));
        var multicastSender = (byte[])arp.Clone();
        multicastSender[8] = 0x01;
        Assert.Equal(WireError.BadAddress, ArpRepr.TryParse(multicastSender, out _));
        // A huge hardware length must not make the view read past the buffer.
        var hugeHl = (byte[])arp.Clone();
        hugeHl[4] = 200;
        Assert.Equal(WireError.Truncated, ArpPacket.TryCreate(hugeHl, out _));
    }
}

public class Ipv4Tests
{
    [Fact]
    public void GoldenEchoRequestHeader()
    {
        var ip = Golden.EchoRequest.AsSpan(14);
        Assert.Equal(WireError.None, Ipv4Packet.TryCreate(ip, out var packet));
        Assert.True(packet.VerifyChecksum());
        Assert.Equal(WireError.None, Ipv4Repr.Parse(packet, out var repr));
        Assert.Equal(new Ipv4Repr(Ipv4Address.Parse("10.99.0.1"), Ipv4Address.Parse("10.99.0.2"), IpProtocol.Icmp, 16, 64, 0xd81b, true), repr);
        var emitted = new byte[20];
        repr.Emit(emitted);
        Assert.Equal(ip[..20].ToArray(), emitted);
    }

    [Fact]
    public void GoldenReplyWithoutDontFragment()
    {
        Assert.Equal(WireError.None, Ipv4Repr.TryParse(Golden.EchoReply.AsSpan(14), out var repr));
        Assert.False(repr.DontFragment);
        var emitted = new byte[20];
        repr.Emit(emitted);
        Assert.Equal(Golden.EchoReply[14..34], emitted);
    }

    [Fact]
    public void EthernetPaddingIsExcludedFromPayload()
    {
        var padded = Golden.EchoRequest[14..].Concat(new byte[10]).ToArray();
        Assert.Equal(WireError.None, Ipv4Packet.TryCreate(padded, out var packet));
        Assert.Equal(16, packet.Payload.Length);
    }

    [Fact]
    public void MalformedHeadersNameTheProblem()
    {
        byte[] Good() => Golden.EchoRequest[14..];
        Assert.Equal(WireError.Truncated, Ipv4Repr.TryParse(Good().AsSpan(0, 19), out _));

        var v6 = Good(); v6[0] = 0x65;
        Assert.Equal(WireError.BadVersion, Ipv4Repr.TryParse(v6, out _));

        var smallIhl = Good(); smallIhl[0] = 0x44;
        Assert.Equal(WireError.BadHeaderLength, Ipv4Repr.TryParse(smallIhl, out _));

        var hugeIhl = Good(); hugeIhl[0] = 0x4f; // 60 bytes of header in a 36-byte packet
        Assert.Equal(WireError.BadHeaderLength, Ipv4Repr.TryParse(hugeIhl, out _));

        var longTotal = Good(); longTotal[3] = 0x40;
        Assert.Equal(WireError.BadLength, Ipv4Repr.TryParse(longTotal, out _));

        var shortTotal = Good(); shortTotal[2] = 0; shortTotal[3] = 10;
        Assert.Equal(WireError.BadLength, Ipv4Repr.TryParse(shortTotal, out _));

        var corrupt = Good(); corrupt[8] = 1; // TTL changed, checksum not
        Assert.Equal(WireError.BadChecksum, Ipv4Repr.TryParse(corrupt, out _));
        Assert.Equal(WireError.None, Ipv4Repr.TryParse(corrupt, out _, verifyChecksum: false));
    }

    [Theory]
    [InlineData(0x20, 0x00)] // MF, offset 0: first fragment
    [InlineData(0x00, 0x10)] // offset 128 bytes: last fragment
    public void FragmentsAreRejected(byte flagsHigh, byte offsetLow)
    {
        var ip = Golden.EchoRequest[14..];
        ip[6] = flagsHigh;
        ip[7] = offsetLow;
        Rechecksum(ip, 20);
        Assert.Equal(WireError.Fragmented, Ipv4Repr.TryParse(ip, out _));
        Assert.Contains("fragment", WireError.Fragmented.Describe());
    }

    [Fact]
    public void OptionsLengthIsHonoured()
    {
        // Same echo request with one word of options (four NOPs): IHL 6, total length 40.
        var original = Golden.EchoRequest[14..];
        var ip = original[..20].Concat(new byte[] { 1, 1, 1, 1 }).Concat(original[20..]).ToArray();
        ip[0] = 0x46;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), (ushort)ip.Length);
        Rechecksum(ip, 24);
        Assert.Equal(WireError.None, Ipv4Packet.TryCreate(ip, out var packet));
        Assert.Equal(24, packet.HeaderLength);
        Assert.Equal(4, packet.Options.Length);
        Assert.Equal(original[20..], packet.Payload.ToArray());
        Assert.Equal(WireError.None, Ipv4Repr.Parse(packet, out var repr));
        Assert.Equal(16, repr.PayloadLength);
    }

    internal static void Rechecksum(byte[] ip, int headerLength)
    {
        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(10), Checksum.Compute(ip.AsSpan(0, headerLength)));
    }
}

public class Icmpv4Tests
{
    [Fact]
    public void GoldenEchoRequestAndReply()
    {
        var request = Golden.EchoRequest.AsSpan(34);
        Assert.Equal(WireError.None, Icmpv4EchoRepr.TryParse(request, out var repr));
        Assert.Equal(new Icmpv4EchoRepr(Icmpv4Type.EchoRequest, 1214, 1, 8), repr);

        // Turning the request into the reply in place gives the bytes Linux sent back.
        var reply = request.ToArray();
        (repr with { Type = Icmpv4Type.EchoReply }).Emit(reply);
        Assert.Equal(Golden.EchoReply[34..], reply);
    }

    [Fact]
    public void MalformedIsRefused()
    {
        Assert.Equal(WireError.Truncated, Icmpv4EchoRepr.TryParse(new byte[7], out _));
        var corrupt = Golden.EchoRequest[34..];
        corrupt[^1] ^= 0x40;
        Assert.Equal(WireError.BadChecksum, Icmpv4EchoRepr.TryParse(corrupt, out _));
        var unreachable = Golden.EchoRequest[34..];
        unreachable[0] = 3;
        Assert.Equal(WireError.Unsupported, Icmpv4EchoRepr.TryParse(unreachable, out _, verifyChecksum: false));
    }
}

public class UdpTests
{
    private static readonly Ipv4Address Src = Ipv4Address.Parse("10.99.0.1");
    private static readonly Ipv4Address Dst = Ipv4Address.Parse("10.99.0.2");

    [Fact]
    public void GoldenDatagram()
    {
        var udp = Golden.UdpHello.AsSpan(34);
        Assert.Equal(WireError.None, UdpDatagram.TryCreate(udp, out var datagram));
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(datagram.Payload));
        Assert.Equal(WireError.None, UdpRepr.Parse(datagram, Src, Dst, out var repr));
        Assert.Equal(new UdpRepr(5000, 7000, 5), repr);
        var emitted = udp.ToArray();
        emitted.AsSpan(0, 8).Clear();
        repr.Emit(emitted, Src, Dst);
        Assert.Equal(udp.ToArray(), emitted);
    }

    [Fact]
    public void MalformedIsRefused()
    {
        byte[] Good() => Golden.UdpHello[34..];
        Assert.Equal(WireError.Truncated, UdpRepr.TryParse(Good().AsSpan(0, 7), Src, Dst, out _));
        var shortLength = Good(); shortLength[5] = 7;
        Assert.Equal(WireError.BadLength, UdpRepr.TryParse(shortLength, Src, Dst, out _));
        var longLength = Good(); longLength[5] = 14;
        Assert.Equal(WireError.BadLength, UdpRepr.TryParse(longLength, Src, Dst, out _));
        var corrupt = Good(); corrupt[^1] ^= 1;
        Assert.Equal(WireError.BadChecksum, UdpRepr.TryParse(corrupt, Src, Dst, out _));
        // Wrong pseudo-header (another destination) fails too.
        Assert.Equal(WireError.BadChecksum, UdpRepr.TryParse(Good(), Src, Ipv4Address.Parse("10.99.0.3"), out _));
        var noChecksum = Good(); noChecksum[6] = noChecksum[7] = 0;
        Assert.Equal(WireError.None, UdpRepr.TryParse(noChecksum, Src, Dst, out _));
    }
}

public class TcpTests
{
    private static readonly Ipv4Address A = Ipv4Address.Parse("10.99.0.1");
    private static readonly Ipv4Address B = Ipv4Address.Parse("10.99.0.2");

    [Fact]
    public void GoldenSynWithOptions()
    {
        var tcp = Golden.TcpSyn.AsSpan(34);
        Assert.Equal(WireError.None, TcpRepr.TryParse(tcp, A, B, out var repr));
        Assert.Equal(new TcpRepr(40750, 6379, new SeqNumber(514772081), new SeqNumber(0), TcpFlags.Syn, 64240, 0,
            MaxSegmentSize: 1460, WindowScale: 10, SackPermitted: true, Timestamps: new TcpTimestamps(3288093086, 0)), repr);
        AssertEmitsSame(repr, tcp, A, B);
    }

    [Fact]
    public void GoldenSynAckAckAndRst()
    {
        Assert.Equal(WireError.None, TcpRepr.TryParse(Golden.TcpSynAck.AsSpan(34), B, A, out var synAck));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(514772082u, synAck.AckNumber.Value);
        Assert.Equal(new TcpTimestamps(4223110622, 3288093086), synAck.Timestamps);
        AssertEmitsSame(synAck, Golden.TcpSynAck.AsSpan(34), B, A);

        Assert.Equal(WireError.None, TcpRepr.TryParse(Golden.TcpAck.AsSpan(34), A, B, out var ack));
        Assert.Null(ack.MaxSegmentSize);
        Assert.False(ack.SackPermitted);
        Assert.Equal(63, ack.WindowSize);
        AssertEmitsSame(ack, Golden.TcpAck.AsSpan(34), A, B);

        Assert.Equal(WireError.None, TcpRepr.TryParse(Golden.TcpRst.AsSpan(34), B, A, out var rst));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(20, rst.HeaderLength);
        AssertEmitsSame(rst, Golden.TcpRst.AsSpan(34, 20), B, A);
    }

    private static void AssertEmitsSame(TcpRepr repr, Span<byte> golden, Ipv4Address src, Ipv4Address dst)
    {
        Assert.Equal(golden.Length, repr.BufferLength);
        var emitted = new byte[repr.BufferLength];
        repr.Emit(emitted, src, dst);
        Assert.Equal(golden.ToArray(), emitted);
    }

    [Fact]
    public void MalformedIsRefused()
    {
        byte[] Good() => Golden.TcpSyn[34..];
        Assert.Equal(WireError.Truncated, TcpRepr.TryParse(Good().AsSpan(0, 19), A, B, out _));
        var smallOffset = Good(); smallOffset[12] = 0x40;
        Assert.Equal(WireError.BadHeaderLength, TcpRepr.TryParse(smallOffset, A, B, out _, verifyChecksum: false));
        var bigOffset = Good(); bigOffset[12] = 0xf0;
        Assert.Equal(WireError.BadHeaderLength, TcpRepr.TryParse(bigOffset, A, B, out _, verifyChecksum: false));
        var corrupt = Good(); corrupt[4] ^= 0x80;
        Assert.Equal(WireError.BadChecksum, TcpRepr.TryParse(corrupt, A, B, out _));
        var badMssLength = Good(); badMssLength[21] = 5;
        Assert.Equal(WireError.BadOption, TcpRepr.TryParse(badMssLength, A, B, out _, verifyChecksum: false));
        var optionPastEnd = Good(); optionPastEnd[38] = 40; // window scale option claims 40 bytes
        Assert.Equal(WireError.BadOption, TcpRepr.TryParse(optionPastEnd, A, B, out _, verifyChecksum: false));
        var zeroLength = Good(); zeroLength[21] = 0;
        Assert.Equal(WireError.BadOption, TcpRepr.TryParse(zeroLength, A, B, out _, verifyChecksum: false));
    }

    [Fact]
    public void SequenceNumbersWrap()
    {
        var near = new SeqNumber(0xFFFF_FFF0);
        var after = near + 0x20;
        Assert.Equal(0x10u, after.Value);
        Assert.True(after > near);
        Assert.Equal(0x20, after - near);
        Assert.True(near < after);
    }
}

/// <summary>No input, however mangled, makes a view or parser throw.</summary>
public class WireRobustnessTests
{
    [Fact]
    public void EveryTruncationAndRandomCorruptionIsAnErrorNotAnException()
    {
        var random = new Random(5);
        foreach (var frame in Golden.All)
        {
            for (int length = 0; length <= frame.Length; length++) ParseAll(frame.AsSpan(0, length).ToArray());
            for (int i = 0; i < 500; i++)
            {
                var mangled = (byte[])frame.Clone();
                int flips = random.Next(1, 4);
                for (int f = 0; f < flips; f++) mangled[random.Next(mangled.Length)] = (byte)random.Next(256);
                ParseAll(mangled);
            }
        }
    }

    private static void ParseAll(byte[] frame)
    {
        if (EthernetFrame.TryCreate(frame, out var eth) != WireError.None) return;
        _ = ArpRepr.TryParse(eth.Payload, out _);
        if (Ipv4Packet.TryCreate(eth.Payload, out var ip) != WireError.None) return;
        _ = Ipv4Repr.Parse(ip, out var repr);
        _ = Icmpv4EchoRepr.TryParse(ip.Payload, out _);
        _ = UdpRepr.TryParse(ip.Payload, ip.Source, ip.Destination, out _);
        if (TcpSegment.TryCreate(ip.Payload, out var tcp) == WireError.None)
        {
            _ = tcp.Payload.Length + tcp.Options.Length + tcp.SegmentLength;
            _ = TcpRepr.Parse(tcp, ip.Source, ip.Destination, out _, verifyChecksum: false);
        }
        _ = ip.Options.Length + ip.Payload.Length + repr.PayloadLength;
    }
}
