using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

public class ArpAndIcmpTests
{
    private const string IpA = "10.77.0.1", IpB = "10.77.0.2";
    private const string MacA = "02:00:00:00:00:01", MacB = "02:00:00:00:00:02";

    [Fact]
    public void PingResolvesArpBothWaysAndMeasuresRoundTrip()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        a.Interface.SendEchoRequest(b.Ip, 7, 1, "ping"u8);
        TimeSpan rtt = default;
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 7, 1, out rtt), TimeSpan.FromSeconds(1)));
        // ARP request + reply, then echo request + reply: four one-way trips of 50 µs.
        Assert.Equal(TimeSpan.FromMicroseconds(200), rtt);
        long now = sim.Clock.GetTimestamp();
        Assert.True(a.Interface.Arp.Cache.TryLookup(b.Ip, now, out var macOfB) && macOfB == b.Mac);
        Assert.True(b.Interface.Arp.Cache.TryLookup(a.Ip, now, out var macOfA) && macOfA == a.Mac);
        Assert.Equal(1, a.Interface.Arp.RequestsSent);
        Assert.Equal(1, b.Interface.Stats.EchoRequestsAnswered);

        // The other way: B already knows A, so no ARP, one round trip.
        b.Interface.SendEchoRequest(a.Ip, 9, 1, []);
        Assert.True(sim.RunUntil(() => b.Interface.TryGetEchoReply(a.Ip, 9, 1, out rtt), TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromMicroseconds(100), rtt);
        Assert.Equal(0, b.Interface.Arp.RequestsSent);
    }

    [Fact]
    public void ArpRetriesUntilTheLinkComesBack()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        sim.Network.SetLink(a.Port, b.Port, new LinkOptions { Down = true });
        a.Interface.SendEchoRequest(b.Ip, 1, 1, []);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(300)); // requests at 0 and 200 ms, both lost
        Assert.Equal(2, a.Interface.Arp.RequestsSent);
        Assert.Equal(1, a.Interface.Arp.PendingResolutions);
        sim.Network.SetLink(a.Port, b.Port, new LinkOptions { Latency = TimeSpan.FromMicroseconds(50) });
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 1, out _), TimeSpan.FromSeconds(1)));
        Assert.Equal(3, a.Interface.Arp.RequestsSent);
        Assert.Equal(0, a.Interface.Arp.PendingResolutions);
    }

    [Fact]
    public void ArpGivesUpAfterItsRetriesAndDropsHeldFrames()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA, o => o with { ArpRetries = 3 });
        sim.AddHost(IpB, MacB);
        a.Interface.SendEchoRequest(Ipv4Address.Parse("10.77.0.99"), 1, 1, []);
        a.Interface.SendEchoRequest(Ipv4Address.Parse("10.77.0.99"), 1, 2, []);
        sim.Network.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(3, a.Interface.Arp.RequestsSent);
        Assert.Equal(1, a.Interface.Arp.Failures);
        Assert.Equal(2, a.Interface.Arp.FramesDropped);
        Assert.Equal(0, a.Interface.Arp.PendingResolutions);
    }

    [Fact]
    public void ArpEntriesExpire()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA, o => o with { ArpCacheTtl = TimeSpan.FromSeconds(20) });
        var b = sim.AddHost(IpB, MacB);
        a.Interface.SendEchoRequest(b.Ip, 1, 1, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 1, out _), TimeSpan.FromSeconds(1)));
        sim.Network.RunFor(TimeSpan.FromSeconds(19));
        a.Interface.SendEchoRequest(b.Ip, 1, 2, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 2, out _), TimeSpan.FromSeconds(1)));
        Assert.Equal(1, a.Interface.Arp.RequestsSent);
        sim.Network.RunFor(TimeSpan.FromSeconds(21));
        Assert.False(a.Interface.Arp.Cache.TryLookup(b.Ip, sim.Clock.GetTimestamp(), out _));
        a.Interface.SendEchoRequest(b.Ip, 1, 3, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 3, out _), TimeSpan.FromSeconds(1)));
        Assert.Equal(2, a.Interface.Arp.RequestsSent);
    }

    [Fact]
    public void StaticEntriesNeedNoRequests()
    {
        using var sim = new SimHarness();
        var macB = MacAddress.Parse(MacB);
        var a = sim.AddHost(IpA, MacA, o => o with { StaticArpTable = new Dictionary<Ipv4Address, MacAddress> { [Ipv4Address.Parse(IpB)] = macB } });
        var b = sim.AddHost(IpB, MacB, o => o with { StaticArpTable = new Dictionary<Ipv4Address, MacAddress> { [Ipv4Address.Parse(IpA)] = MacAddress.Parse(MacA) } });
        a.Interface.SendEchoRequest(b.Ip, 1, 1, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 1, out _), TimeSpan.FromSeconds(1)));
        sim.Network.RunFor(TimeSpan.FromMinutes(5));
        a.Interface.SendEchoRequest(b.Ip, 1, 2, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 2, out _), TimeSpan.FromSeconds(1)));
        Assert.Equal(0, a.Interface.Arp.RequestsSent + b.Interface.Arp.RequestsSent);
    }

    [Fact]
    public void ThreeHostsShareASegment()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        var c = sim.AddHost("10.77.0.3", "02:00:00:00:00:03");
        a.Interface.SendEchoRequest(b.Ip, 1, 1, []);
        a.Interface.SendEchoRequest(c.Ip, 1, 1, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 1, out _) && a.Interface.TryGetEchoReply(c.Ip, 1, 1, out _), TimeSpan.FromSeconds(1)));
        // C saw B's ARP request for A's address (broadcast) but did not answer it.
        Assert.Equal(1, c.Interface.Arp.RepliesSent);
        Assert.Equal(1, b.Interface.Arp.RepliesSent);
    }
}

public class UdpSocketTests
{
    private const string IpA = "10.77.0.1", IpB = "10.77.0.2";
    private const string MacA = "02:00:00:00:00:01", MacB = "02:00:00:00:00:02";

    [Fact]
    public void DatagramsCrossBothWaysWithAddresses()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        var server = b.LibOS.UdpSocket(7000);
        var client = a.LibOS.UdpSocket(5000);

        Assert.Equal(0, b.LibOS.Pop(server, out var popB));
        var hello = a.LibOS.Text("hello");
        Assert.Equal(0, a.LibOS.PushTo(client, hello, b.Endpoint(7000), out var push));
        a.LibOS.WaitOk(push);
        Assert.Equal(0, a.LibOS.SgaFree(hello));

        var got = b.LibOS.WaitOk(popB);
        Assert.Equal("hello", got.Sga.AsText());
        Assert.Equal(a.Endpoint(5000), got.Address);
        // Zero copy: the application holds the receive buffer itself, adjusted past 42 bytes of headers.
        Assert.Equal(b.LibOS.Pool.Headroom + NetworkInterface.UdpHeadersLength, got.Sga.First.Offset);

        var reply = b.LibOS.Text("world");
        Assert.Equal(0, b.LibOS.PushTo(server, reply, got.Address, out var pushB));
        b.LibOS.WaitOk(pushB);
        Assert.Equal(0, b.LibOS.SgaFree(got.Sga));
        Assert.Equal(0, b.LibOS.SgaFree(reply));

        Assert.Equal(0, a.LibOS.Pop(client, out var popA));
        var back = a.LibOS.WaitOk(popA);
        Assert.Equal("world", back.Sga.AsText());
        Assert.Equal(b.Endpoint(7000), back.Address);
        Assert.Equal(0, a.LibOS.SgaFree(back.Sga));
        Assert.Equal(0, a.LibOS.Pool.Outstanding);
        Assert.Equal(0, b.LibOS.Pool.Outstanding);
    }

    [Fact]
    public void PushLeavesTheApplicationsBufferAsItWas()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        var client = a.LibOS.UdpSocket();
        var sga = a.LibOS.Text("payload");
        int offset = sga.First.Offset;
        Assert.Equal(0, a.LibOS.PushTo(client, sga, b.Endpoint(9), out var qt));
        a.LibOS.WaitOk(qt);
        Assert.Equal(offset, sga.First.Offset);
        Assert.Equal("payload", sga.AsText());
        Assert.Equal(0, a.LibOS.GetSockName(client, out var local));
        Assert.True(local.Port >= NetworkInterface.FirstEphemeralPort);
        sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, b.Interface.Stats.NoSocket); // nobody on port 9
    }

    [Fact]
    public void MultiSegmentSgaIsGathered()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        var server = b.LibOS.UdpSocket(7000);
        var client = a.LibOS.UdpSocket();
        var sga = a.LibOS.SgaAlloc([3, 4]);
        "abc"u8.CopyTo(sga.Segment(0).Span);
        "defg"u8.CopyTo(sga.Segment(1).Span);
        Assert.Equal(0, a.LibOS.PushTo(client, sga, b.Endpoint(7000), out _));
        Assert.Equal(0, b.LibOS.Pop(server, out var pop));
        Assert.Equal("abcdefg", b.LibOS.WaitOk(pop).Sga.AsText());
    }

    [Fact]
    public void ErrorsAreErrnos()
    {
        using var sim = new SimHarness();
        var a = sim.AddHost(IpA, MacA);
        var s1 = a.LibOS.UdpSocket(7000);
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Datagram, out var s2));
        Assert.Equal(Errno.EADDRINUSE, a.LibOS.Bind(s2, new IPv4Endpoint(0, 7000)));
        Assert.Equal(Errno.EADDRNOTAVAIL, a.LibOS.Bind(s2, IPv4Endpoint.Parse("10.1.1.1:7001")));
        var big = a.LibOS.SgaAlloc(1473);
        Assert.Equal(Errno.EMSGSIZE, a.LibOS.PushTo(s1, big, IPv4Endpoint.Parse("10.77.0.2:1"), out _));
        var ok = a.LibOS.SgaAlloc(1472);
        Assert.Equal(0, a.LibOS.PushTo(s1, ok, IPv4Endpoint.Parse("10.77.0.2:1"), out _));
        Assert.Equal(Errno.EDESTADDRREQ, a.LibOS.Push(s1, ok, out _));
        // A pending pop ends with ECANCELED when its socket closes.
        Assert.Equal(0, a.LibOS.Pop(s1, out var pop));
        Assert.Equal(0, a.LibOS.Close(s1));
        Assert.Equal(0, a.LibOS.Wait(pop, out var r, TimeSpan.Zero));
        Assert.Equal(Errno.ECANCELED, r.Ret);
        // The port is free again.
        Assert.Equal(0, a.LibOS.Bind(s2, new IPv4Endpoint(0, 7000)));
    }

    [Fact]
    public void CorruptedDatagramsAreDroppedByChecksums()
    {
        using var sim = new SimHarness(seed: 11);
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        var server = b.LibOS.UdpSocket(7000);
        var client = a.LibOS.UdpSocket();
        // Resolve ARP over a clean link, then corrupt every frame A sends.
        a.Interface.SendEchoRequest(b.Ip, 1, 1, []);
        Assert.True(sim.RunUntil(() => a.Interface.TryGetEchoReply(b.Ip, 1, 1, out _), TimeSpan.FromSeconds(1)));
        sim.Network.SetLink(a.Port, b.Port, new LinkOptions { Corruption = 1.0 });
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(0, a.LibOS.PushTo(client, a.LibOS.Text($"datagram {i}"), b.Endpoint(7000), out var qt));
            a.LibOS.WaitOk(qt);
        }
        Assert.Equal(0, b.LibOS.Pop(server, out var pop));
        Assert.Equal(Errno.ETIMEDOUT, b.LibOS.Wait(pop, out _, TimeSpan.FromMilliseconds(10)));
        var stats = b.Interface.Stats;
        Assert.Equal(50, stats.Drops(WireError.BadChecksum) + stats.NotForUs + stats.Drops(WireError.BadLength) + stats.Drops(WireError.BadVersion) + stats.Drops(WireError.BadHeaderLength) + stats.Drops(WireError.Fragmented));
        Assert.True(stats.Drops(WireError.BadChecksum) > 30);
    }

    /// <summary>The test retries over a lossy link, as a UDP application would; same seed, same count of retries.</summary>
    private static (int Retries, TimeSpan Elapsed) EchoOverLossyLink(int seed)
    {
        using var sim = new SimHarness(seed, new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Loss = 0.2, Duplication = 0.05, Reordering = 0.1 });
        var a = sim.AddHost(IpA, MacA);
        var b = sim.AddHost(IpB, MacB);
        var server = b.LibOS.UdpSocket(7000);
        b.LibOS.Spawn(async () =>
        {
            while (true)
            {
                var request = await b.LibOS.PopAsync(server);
                if (!request.Succeeded) return;
                await b.LibOS.PushToAsync(server, request.Sga, request.Address);
                b.LibOS.SgaFree(request.Sga);
            }
        });
        var client = a.LibOS.UdpSocket(5000);
        int retries = 0;
        Assert.Equal(0, a.LibOS.Pop(client, out var pop));
        for (int i = 0; i < 50; i++)
        {
            string message = $"message {i}";
            while (true)
            {
                var sga = a.LibOS.Text(message);
                Assert.Equal(0, a.LibOS.PushTo(client, sga, b.Endpoint(7000), out var push));
                a.LibOS.WaitOk(push);
                a.LibOS.SgaFree(sga);
                bool answered = false;
                // Read until our message comes back or 5 ms pass; stale duplicates of earlier messages are skipped.
                while (a.LibOS.Wait(pop, out var result, TimeSpan.FromMilliseconds(5)) == 0)
                {
                    string text = result.Sga.AsText();
                    a.LibOS.SgaFree(result.Sga);
                    Assert.Equal(0, a.LibOS.Pop(client, out pop));
                    if (text == message)
                    {
                        answered = true;
                        break;
                    }
                }
                if (answered) break;
                retries++;
            }
        }
        Assert.Empty(b.LibOS.Faults);
        return (retries, sim.Clock.Elapsed);
    }

    [Fact]
    public void DatagramsCrossALossyLinkWithRetries()
    {
        var first = EchoOverLossyLink(seed: 21);
        Assert.True(first.Retries > 0, "a 20% loss link should have cost some retries");
        Assert.Equal(first, EchoOverLossyLink(seed: 21));
    }
}
