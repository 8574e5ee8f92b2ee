using System.Buffers.Binary;
using Demikernel.InetStack.Wire;

namespace Demikernel.Catnip.Tests;

/// <summary>
/// Checksum offloads (<c>dpdk.checksum_offload</c>): the driver's are used where it offers them, and a frame the device
/// left unchecked is checked in software before the stack, which then checks nothing, sees it. Traffic through an
/// offloading driver is the conformance matrix's catnip-tap row (Linux's TCP checks every checksum the device filled in).
/// </summary>
[Collection(CatnipCollection.Name)]
public sealed class ChecksumOffloadTests
{
    /// <summary>DPDK's net_tap offers IPv4, TCP and UDP checksum offloads both ways; net_null offers none.</summary>
    [Theory]
    [InlineData("net_tap0,iface=dkcsum{0}", true, "Ipv4Rx, Ipv4Tx, UdpRx, UdpTx, TcpRx, TcpTx")]
    [InlineData("net_tap0,iface=dkcsum{0}", false, "None")]
    [InlineData("net_null0", true, "None")]
    public void TheDriversOffloadsAreUsedWhereItHasThem(string vdev, bool offload, string expected)
    {
        CatnipSetup.RequireShim();
        using var files = new TempFiles();
        string yaml = CatnipSetup.Config("10.79.0.2", "02:00:00:00:79:02", string.Format(vdev, Environment.ProcessId % 100000));
        if (!offload) yaml = yaml.Replace("dpdk:\n", "dpdk:\n  checksum_offload: false\n");
        string config = files.Write(".yaml", yaml);
        using var host = Child.Dotnet(null, "Demikernel.Catnip.Tests.dll", "device", "--libos", "catnip", "--config", config);
        int rc = host.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.True(rc == 0, host.Output);
        Assert.Contains($"offloads={expected}", host.Output);
    }

    [Fact]
    public void UncheckedFramesAreCheckedInSoftware()
    {
        byte[] tcp = Frame(IpProtocol.Tcp, "GET key\r\n"u8);
        Assert.True(ReceivedChecksums.Hold(tcp));
        byte[] payload = (byte[])tcp.Clone();
        payload[^1] ^= 0x20;
        Assert.False(ReceivedChecksums.Hold(payload));
        byte[] header = (byte[])tcp.Clone();
        header[EthernetFrame.HeaderLength + 8] = 63; // the TTL, under the IPv4 header's checksum
        Assert.False(ReceivedChecksums.Hold(header));

        byte[] udp = Frame(IpProtocol.Udp, "hello"u8);
        Assert.True(ReceivedChecksums.Hold(udp));
        udp[^1] ^= 1;
        Assert.False(ReceivedChecksums.Hold(udp));
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(EthernetFrame.HeaderLength + 20 + 6), 0); // "no checksum" (RFC 768)
        Assert.True(ReceivedChecksums.Hold(udp));

        byte[] arp = new byte[60];
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(12), 0x0806);
        Assert.True(ReceivedChecksums.Hold(arp));
    }

    /// <summary>An Ethernet + IPv4 + TCP (or UDP) frame with correct checksums, written by the stack's own emitters.</summary>
    private static byte[] Frame(IpProtocol protocol, ReadOnlySpan<byte> payload)
    {
        var source = new Ipv4Address(10, 79, 0, 1);
        var destination = new Ipv4Address(10, 79, 0, 2);
        var tcp = new TcpRepr(40000, 6379, new SeqNumber(1), new SeqNumber(1), TcpFlags.Ack, 500, payload.Length);
        var udp = new UdpRepr(40000, 6379, payload.Length);
        int l4Header = protocol == IpProtocol.Tcp ? tcp.HeaderLength : UdpDatagram.HeaderLength;
        var ip = new Ipv4Repr(source, destination, protocol, l4Header + payload.Length);
        var frame = new byte[EthernetFrame.HeaderLength + ip.BufferLength];
        var segment = frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength);
        payload.CopyTo(segment[l4Header..]);
        if (protocol == IpProtocol.Tcp) tcp.Emit(segment, source, destination);
        else udp.Emit(segment, source, destination);
        ip.Emit(frame.AsSpan(EthernetFrame.HeaderLength));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        return frame;
    }
}
