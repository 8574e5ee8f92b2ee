using System.Net.Sockets;
using System.Text;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// IPv6 endpoints through the queue API: catnap carries them over the kernel's AF_INET6 sockets (IPv6-only, so an
/// IPv4 and an IPv6 listener share a port); catloop and catmem have no IPv6 and say EAFNOSUPPORT (catpowder's
/// InetStack likewise, in Demikernel.InetStack.Tests).
/// </summary>
public class Ipv6QueueApiTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact]
    public void CatnapAcceptsConnectsPushesAndPopsOverIpv6Loopback()
    {
        using var libos = LibOS.Create("catnap");
        Assert.Equal(0, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Stream, out var l));
        Assert.Equal(0, libos.Bind(l, InetEndpoint.IPv6Loopback(0)));
        Assert.Equal(0, libos.Listen(l, 16));
        Assert.Equal(0, libos.GetSockName(l, out var at));
        Assert.True(at.IsIPv6);
        Assert.NotEqual(0, at.Port);
        Assert.Equal($"[::1]:{at.Port}", at.ToString());

        Assert.Equal(0, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Stream, out var c));
        Assert.Equal(0, libos.Accept(l, out var aqt));
        Assert.Equal(0, libos.Connect(c, at, out var cqt));
        Assert.Equal(0, libos.Wait(cqt, out var connected, Long));
        Assert.Equal(OpCode.Connect, connected.Opcode);
        Assert.Equal(0, libos.Wait(aqt, out var accepted, Long));
        Assert.Equal(OpCode.Accept, accepted.Opcode);
        var s = accepted.AcceptedQd;

        // the accepted queue's peer is the client's local end, an IPv6 endpoint
        Assert.Equal(0, libos.GetSockName(c, out var clientLocal));
        Assert.True(accepted.Address.IsIPv6);
        Assert.True(accepted.Address.IsLoopbackAddress);
        Assert.Equal(clientLocal, accepted.Address);
        Assert.Equal(0, libos.GetPeerName(s, out var peer));
        Assert.Equal(clientLocal, peer);
        Assert.Equal(0, libos.GetSockName(s, out var serverLocal));
        Assert.Equal(at, serverLocal);

        QueueApiTests.Send(libos, c, "ping");
        Assert.Equal("ping", QueueApiTests.Receive(libos, s, 4));
        QueueApiTests.Send(libos, s, "pong!");
        Assert.Equal("pong!", QueueApiTests.Receive(libos, c, 5));
        Assert.Equal(0, libos.Close(c));
        Assert.Equal(0, libos.Pop(s, out var eof));
        Assert.Equal(0, libos.Wait(eof, out var end, Long));
        Assert.True(end.Sga.IsEmpty);
        libos.Close(s);
        libos.Close(l);
    }

    [Fact]
    public void CatnapIpv6ListenersAreIpv6OnlySoStarAndColonColonStarShareAPort()
    {
        using var libos = LibOS.Create("catnap");
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var v4));
        Assert.Equal(0, libos.Bind(v4, IPv4Endpoint.Any));
        Assert.Equal(0, libos.Listen(v4, 16));
        Assert.Equal(0, libos.GetSockName(v4, out var at4));
        Assert.Equal(0, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Stream, out var v6));
        Assert.Equal(0, libos.Bind(v6, InetEndpoint.IPv6Any(at4.Port)));
        Assert.Equal(0, libos.Listen(v6, 16));

        // A kernel client over IPv4 reaches the IPv4 listener, one over IPv6 the IPv6 one (no IPv4-mapped peers).
        using var client4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client4.Connect(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, at4.Port));
        Assert.Equal(0, libos.Accept(v4, out var qt4));
        Assert.Equal(0, libos.Wait(qt4, out var a4, Long));
        Assert.False(a4.Address.IsIPv6);
        Assert.Equal(((System.Net.IPEndPoint)client4.LocalEndPoint!).Port, a4.Address.Port);

        using var client6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        client6.Connect(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, at4.Port));
        Assert.Equal(0, libos.Accept(v6, out var qt6));
        Assert.Equal(0, libos.Wait(qt6, out var a6, Long));
        Assert.True(a6.Address.IsIPv6);
        Assert.Equal("::1", a6.Address.AddressText);
        Assert.Equal(((System.Net.IPEndPoint)client6.LocalEndPoint!).Port, a6.Address.Port);

        // an endpoint of the other family is refused as Linux refuses it
        Assert.Equal(0, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Stream, out var other));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Bind(other, IPv4Endpoint.Loopback(0)));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Connect(other, IPv4Endpoint.Loopback(at4.Port), out _));
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var plain));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Connect(plain, InetEndpoint.IPv6Loopback(at4.Port), out _));
        foreach (var qd in new[] { a4.AcceptedQd, a6.AcceptedQd, other, plain, v4, v6 }) libos.Close(qd);
    }

    [Fact]
    public void CatnapIpv6DatagramsCarryTheSender()
    {
        using var libos = LibOS.Create("catnap");
        Assert.Equal(0, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Datagram, out var a));
        Assert.Equal(0, libos.Bind(a, InetEndpoint.IPv6Loopback(0)));
        Assert.Equal(0, libos.GetSockName(a, out var atA));
        Assert.Equal(0, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Datagram, out var b));
        Assert.Equal(0, libos.Bind(b, InetEndpoint.IPv6Loopback(0)));
        Assert.Equal(0, libos.GetSockName(b, out var atB));
        var sga = libos.SgaAlloc(3);
        "udp"u8.CopyTo(sga.Span);
        Assert.Equal(0, libos.PushTo(b, sga, atA, out var pqt));
        libos.SgaFree(sga);
        Assert.Equal(0, libos.Wait(pqt, out _, Long));
        Assert.Equal(0, libos.Pop(a, out var qt));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal("udp", Encoding.ASCII.GetString(r.Sga.ToArray()));
        Assert.Equal(atB, r.Address);
        libos.SgaFree(r.Sga);
        libos.Close(a);
        libos.Close(b);
    }

    [Theory]
    [InlineData("catloop")]
    [InlineData("catmem")]
    public void LibOSesWithoutIpv6AnswerEafnosupport(string name)
    {
        using var libos = LibOS.Create(name);
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Socket(AddressFamily.InterNetworkV6, SocketKind.Stream, out var none));
        Assert.False(none.IsValid);
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Bind(qd, InetEndpoint.IPv6Loopback(0)));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Connect(qd, InetEndpoint.IPv6Loopback(6379), out _));
        libos.Close(qd);
    }

    [Fact]
    public void EndpointsFormatAndParseAsRedisWritesThem()
    {
        Assert.True(InetEndpoint.TryParse("[fd00::2]:6379", out var e));
        Assert.Equal("[fd00::2]:6379", e.Value.ToString());
        Assert.Equal("fd00::2", e.Value.AddressText);
        Assert.True(InetEndpoint.TryParse("127.0.0.1:5", out var v4));
        Assert.Equal("127.0.0.1:5", v4.Value.ToString());
        Assert.True(v4.Value.IsLoopbackAddress);
        Assert.True(InetEndpoint.TryParseIPv6Address("::*", 1, out var any));
        Assert.Equal(InetEndpoint.IPv6Any(1), any);
        Assert.False(InetEndpoint.TryParseIPv6Address("1.2.3.4", 1, out _));
        Assert.Equal(InetEndpoint.IPv6Loopback(7), InetEndpoint.FromIPAddress(System.Net.IPAddress.IPv6Loopback, 7));
        Assert.Equal(default(InetEndpoint), (InetEndpoint)IPv4Endpoint.Any);
        Assert.True(System.Runtime.CompilerServices.Unsafe.SizeOf<InetEndpoint>() <= 24);
    }
}
