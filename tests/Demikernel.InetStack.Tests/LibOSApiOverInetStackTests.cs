using System.Text;
using Demikernel.InetStack.Phy;
using Demikernel.Runtime;
using static Demikernel.InetStack.Tests.TcpPair;

namespace Demikernel.InetStack.Tests;

/// <summary>The queue API's semantics (Demikernel.Tests' QueueApiTests) over InetStack on the simulated network.</summary>
public class LibOSApiOverInetStackTests
{
    [Fact]
    public void PushPopAcrossAConnectionBothWays()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        Push(p.A, client, "hello"u8);
        Assert.Equal("hello"u8.ToArray(), PopExactly(p.B, server, 5));
        Push(p.B, server, "world"u8);
        Assert.Equal("world"u8.ToArray(), PopExactly(p.A, client, 5));
        Assert.Equal(0, p.A.LibOS.GetPeerName(client, out var peer));
        Assert.Equal(p.B.Endpoint(6379), peer);
    }

    [Fact]
    public void Ipv6IsRefusedWithEafnosupport()
    {
        using var p = new TcpPair();
        var libos = p.A.LibOS;
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, SocketKind.Stream, out var none));
        Assert.False(none.IsValid);
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, SocketKind.Datagram, out _));
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var tcp));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Bind(tcp, InetEndpoint.IPv6Any(6379)));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Connect(tcp, InetEndpoint.IPv6Loopback(6379), out _));
        Assert.Equal(0, libos.Socket(SocketKind.Datagram, out var udp));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.Bind(udp, InetEndpoint.IPv6Any(53)));
        Assert.Equal(Errno.EAFNOSUPPORT, libos.PushTo(udp, libos.Text("x"), InetEndpoint.IPv6Loopback(53), out _));
        libos.Close(tcp);
        libos.Close(udp);
    }

    [Fact]
    public void MultiSegmentPushArrivesInOrder()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        var sga = p.A.LibOS.SgaAlloc([3, 5, 2]);
        "abc"u8.CopyTo(sga.Segment(0).Span);
        "defgh"u8.CopyTo(sga.Segment(1).Span);
        "ij"u8.CopyTo(sga.Segment(2).Span);
        Assert.Equal(0, p.A.LibOS.Push(client, sga, out var qt));
        Assert.Equal(0, p.A.LibOS.SgaFree(sga));
        p.A.LibOS.WaitOk(qt);
        Assert.Equal("abcdefghij"u8.ToArray(), PopExactly(p.B, server, 10));
    }

    [Fact]
    public void PopRespectsTheRequestedSize()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        Push(p.A, client, "0123456789"u8);
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, p.B.LibOS.Pop(server, out var qt, size: 4));
        var r = p.B.LibOS.WaitOk(qt);
        Assert.Equal("0123", r.Sga.AsText());
        Assert.Equal("456789"u8.ToArray(), PopExactly(p.B, server, 6));
    }

    [Fact]
    public void PeerCloseIsAZeroLengthPopAfterTheDataAndStaysThere()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        Assert.Equal(0, p.A.LibOS.Push(client, p.A.LibOS.Text("last words"), out _));
        Assert.Equal(0, p.A.LibOS.Close(client));
        Assert.Equal("last words"u8.ToArray(), PopExactly(p.B, server, 10));
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(0, p.B.LibOS.Pop(server, out var qt));
            var eof = p.B.LibOS.WaitOk(qt);
            Assert.Equal(OpCode.Pop, eof.Opcode);
            Assert.True(eof.Sga.IsEmpty);
        }
        // The half-closed side can still send until it closes: A is gone, so its stack answers with a reset.
        Assert.Equal(0, p.B.LibOS.Close(server));
    }

    [Fact]
    public void ConnectToAClosedPortIsRefused()
    {
        using var p = new TcpPair();
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(0, p.A.LibOS.Connect(qd, p.B.Endpoint(1), out var qt));
        Assert.Equal(0, p.A.LibOS.Wait(qt, out var r, TimeSpan.FromSeconds(1)));
        Assert.Equal(Errno.ECONNREFUSED, r.Ret);
    }

    [Fact]
    public void ClosingADescriptorCancelsItsPendingOperationsAndLaterCallsGetEbadf()
    {
        using var p = new TcpPair();
        var listener = p.Listen(7000);
        Assert.Equal(0, p.B.LibOS.Accept(listener, out var accept));
        var (client, server) = p.Connect();
        Assert.Equal(0, p.A.LibOS.Pop(client, out var pop1));
        Assert.Equal(0, p.A.LibOS.Pop(client, out var pop2));
        Assert.Equal(0, p.A.LibOS.Close(client));
        Assert.Equal(0, p.B.LibOS.Close(listener));
        foreach (var (libos, qt) in new[] { (p.A.LibOS, pop1), (p.A.LibOS, pop2), (p.B.LibOS, accept) })
        {
            Assert.Equal(0, libos.Wait(qt, out var r, TimeSpan.Zero));
            Assert.Equal(Errno.ECANCELED, r.Ret);
        }
        Assert.Equal(Errno.EBADF, p.A.LibOS.Pop(client, out _));
        Assert.Equal(Errno.EBADF, p.A.LibOS.Push(client, p.A.LibOS.Text("x"), out _));
        Assert.Equal(Errno.EBADF, p.A.LibOS.Close(client));
        // A new listener can take the port again.
        Assert.Equal(0, p.B.LibOS.Socket(SocketKind.Stream, out var again));
        Assert.Equal(0, p.B.LibOS.Bind(again, new IPv4Endpoint(0, 7000)));
    }

    [Fact]
    public void WaitAnyAndWaitNextSeeCompletionsFromTheNetwork()
    {
        using var p = new TcpPair();
        var (c1, s1) = p.Connect(6379);
        var (c2, s2) = p.Connect(6380);
        Assert.Equal(0, p.B.LibOS.Pop(s1, out var pop1));
        Assert.Equal(0, p.B.LibOS.Pop(s2, out var pop2));
        Push(p.A, c2, "second"u8);
        Assert.Equal(0, p.B.LibOS.WaitAny([pop1, pop2], out var r, out int index, TimeSpan.FromSeconds(1)));
        Assert.Equal(1, index);
        Assert.Equal("second", r.Sga.AsText());
        Push(p.A, c1, "first"u8);
        Span<QResult> results = new QResult[4];
        Assert.Equal(0, p.B.LibOS.WaitNext(results, out int count, TimeSpan.FromMilliseconds(10)));
        Assert.Equal(1, count);
        Assert.Equal("first", results[0].Sga.AsText());
    }

    [Fact]
    public void WaitTimesOutOnTheVirtualClockAndTheOperationStaysPending()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        Assert.Equal(0, p.B.LibOS.Pop(server, out var qt));
        var start = p.Clock.Elapsed;
        Assert.Equal(Errno.ETIMEDOUT, p.B.LibOS.Wait(qt, out _, TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(3), p.Clock.Elapsed - start);
        Push(p.A, client, "late"u8);
        Assert.Equal("late", p.B.LibOS.WaitOk(qt).Sga.AsText());
    }

    [Fact]
    public void AsyncCoroutinesEchoOverTheSimulatedNetwork()
    {
        using var p = new TcpPair(link: new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Loss = 0.02 });
        var listener = p.Listen();
        var b = p.B.LibOS;
        b.Spawn(async () =>
        {
            var accepted = await b.AcceptAsync(listener);
            var qd = accepted.AcceptedQd;
            while (true)
            {
                var popped = await b.PopAsync(qd);
                if (!popped.Succeeded || popped.Sga.IsEmpty) break;
                var pushed = await b.PushAsync(qd, popped.Sga); // echo the received buffer itself: zero copy both ways
                b.SgaFree(popped.Sga);
                if (!pushed.Succeeded) break;
            }
            b.Close(qd);
        });
        var a = p.A.LibOS;
        var echoed = new StringBuilder();
        bool done = false;
        a.Spawn(async () =>
        {
            Assert.Equal(0, a.Socket(SocketKind.Stream, out var qd));
            Assert.True((await a.ConnectAsync(qd, p.B.Endpoint(6379))).Succeeded);
            for (int i = 0; i < 50; i++)
            {
                string message = $"message {i};";
                var sga = a.Text(message);
                await a.PushAsync(qd, sga);
                a.SgaFree(sga);
                int got = 0;
                while (got < message.Length)
                {
                    var popped = await a.PopAsync(qd);
                    echoed.Append(popped.Sga.AsText());
                    got += popped.Sga.TotalLength;
                    a.SgaFree(popped.Sga);
                }
            }
            a.Close(qd);
            done = true;
        });
        Assert.True(p.Sim.RunUntil(() => done, TimeSpan.FromSeconds(60)));
        Assert.Empty(a.Faults);
        Assert.Empty(b.Faults);
        Assert.Equal(string.Concat(Enumerable.Range(0, 50).Select(i => $"message {i};")), echoed.ToString());
    }

    [Fact]
    public void AVirtualClockGivesTheSameRunWhetherTheLibOSJumpsItOrTheNetworkDoes()
    {
        // AutoAdvance on: the libOS jumps the clock to the next deadline, bounded by the port's TryGetNextDeadline.
        // Off: the port's Block runs the world forward event by event. Both must see every frame at its time.
        string Run(bool autoAdvance)
        {
            using var p = new TcpPair(5, new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 100_000_000, Loss = 0.02 });
            p.Clock.AutoAdvance = autoAdvance;
            var (client, server) = p.Connect();
            var data = new byte[200_000];
            new Random(5).NextBytes(data);
            Push(p.A, client, data);
            Assert.Equal(data, PopExactly(p.B, server, data.Length));
            Push(p.B, server, "done"u8);
            Assert.Equal("done"u8.ToArray(), PopExactly(p.A, client, 4));
            return $"{p.Clock.Elapsed.Ticks} {p.Sim.Network.Stats} {p.A.Interface.Tcp.Stats.Retransmissions}";
        }
        Assert.Equal(Run(autoAdvance: false), Run(autoAdvance: true));
    }
}
