using System.Text;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>The queue API's semantics, run over every libOS that can carry TCP-like streams here.</summary>
public class QueueApiTests
{
    public static TheoryData<string> LibOSes => new() { "catloop", "catnap", "catmem" };

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static DemiLibOS Create(string name) => LibOS.Create(name);

    /// <summary>A listening socket on 127.0.0.1 with a kernel-chosen (or catloop-chosen) port.</summary>
    internal static QDesc Listen(DemiLibOS libos, out InetEndpoint at)
    {
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var lqd));
        Assert.Equal(0, libos.Bind(lqd, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, libos.Listen(lqd, 4096));
        Assert.Equal(0, libos.GetSockName(lqd, out at));
        Assert.NotEqual(0, at.Port);
        return lqd;
    }

    /// <summary>Connects a client to the listener and accepts it: returns (client, server side).</summary>
    internal static (QDesc Client, QDesc Server) Pair(DemiLibOS libos, QDesc listener, InetEndpoint at)
    {
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var cqd));
        Assert.Equal(0, libos.Accept(listener, out var aqt));
        Assert.Equal(0, libos.Connect(cqd, at, out var cqt));
        Assert.Equal(0, libos.Wait(cqt, out var connected, Long));
        Assert.Equal(OpCode.Connect, connected.Opcode);
        Assert.Equal(0, libos.Wait(aqt, out var accepted, Long));
        Assert.Equal(OpCode.Accept, accepted.Opcode);
        Assert.True(accepted.AcceptedQd.IsValid);
        return (cqd, accepted.AcceptedQd);
    }

    internal static void Send(DemiLibOS libos, QDesc qd, string text)
    {
        var sga = libos.SgaAlloc(Encoding.ASCII.GetByteCount(text));
        Encoding.ASCII.GetBytes(text, sga.Span);
        Assert.Equal(0, libos.Push(qd, sga, out var qt));
        Assert.Equal(0, libos.SgaFree(sga));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal(OpCode.Push, r.Opcode);
    }

    internal static string Receive(DemiLibOS libos, QDesc qd, int count)
    {
        var sb = new StringBuilder();
        while (sb.Length < count)
        {
            Assert.Equal(0, libos.Pop(qd, out var qt));
            Assert.Equal(0, libos.Wait(qt, out var r, Long));
            Assert.Equal(OpCode.Pop, r.Opcode);
            Assert.False(r.Sga.IsEmpty, "unexpected end of stream");
            sb.Append(Encoding.ASCII.GetString(r.Sga.ToArray()));
            libos.SgaFree(r.Sga);
        }
        return sb.ToString();
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void PushPopAcrossAConnection(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        Send(libos, c, "ping");
        Assert.Equal("ping", Receive(libos, s, 4));
        Send(libos, s, "pong!");
        Assert.Equal("pong!", Receive(libos, c, 5));
        Assert.Equal(0, libos.GetPeerName(s, out var peer));
        Assert.Equal(0, libos.GetSockName(c, out var local));
        Assert.Equal(local.Port, peer.Port);
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void WaitAnyReportsTheIndexOfTheCompletedToken(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c1, s1) = Pair(libos, l, at);
        var (c2, s2) = Pair(libos, l, at);
        Assert.Equal(0, libos.Pop(s1, out var p1));
        Assert.Equal(0, libos.Pop(s2, out var p2));
        Send(libos, c2, "second");
        Assert.Equal(0, libos.WaitAny([p1, p2], out var r, out int index, Long));
        Assert.Equal(1, index);
        Assert.Equal(s2, r.Qd);
        Assert.Equal("second", Encoding.ASCII.GetString(r.Sga.ToArray()));
        Send(libos, c1, "first");
        Assert.Equal(0, libos.WaitAny([p1], out r, out index, Long));
        Assert.Equal(0, index);
        Assert.Equal("first", Encoding.ASCII.GetString(r.Sga.ToArray()));
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void WaitTimesOutAndTheOperationStaysPending(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        Assert.Equal(0, libos.Pop(s, out var qt));
        Assert.Equal(Errno.ETIMEDOUT, libos.Wait(qt, out _, TimeSpan.FromMilliseconds(20)));
        Assert.Equal(Errno.ETIMEDOUT, libos.Wait(qt, out _, TimeSpan.Zero));
        Send(libos, c, "late");
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal("late", Encoding.ASCII.GetString(r.Sga.ToArray()));
        Assert.Equal(Errno.EINVAL, libos.Wait(qt, out _, Long)); // a qtoken is consumed by its wait
    }

    [Fact]
    public void TimeoutsUseTheInjectedClock()
    {
        var clock = new VirtualTimeProvider();
        using var libos = LibOS.Create("catloop", time: clock);
        libos.Queue(out var q);
        Assert.Equal(0, libos.Pop(q, out var qt));
        var wall = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(Errno.ETIMEDOUT, libos.Wait(qt, out _, TimeSpan.FromMinutes(10)));
        Assert.True(clock.Elapsed >= TimeSpan.FromMinutes(10));
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void ClosedDescriptorGivesEbadfAndCancelsPendingOperations(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        Assert.Equal(0, libos.Pop(s, out var qt));
        Assert.Equal(0, libos.Close(s));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal(OpCode.Failed, r.Opcode);
        Assert.Equal(Errno.ECANCELED, r.Ret);
        Assert.Equal(Errno.EBADF, libos.Pop(s, out _));
        Assert.Equal(Errno.EBADF, libos.Push(s, libos.SgaAlloc(1), out _));
        Assert.Equal(Errno.EBADF, libos.Close(s));
        Assert.Equal(Errno.EBADF, libos.Bind(new QDesc(9999), IPv4Endpoint.Any));
        var asyncPop = libos.PopAsync(s);
        Assert.True(asyncPop.IsCompleted);
        Assert.Equal(Errno.EBADF, asyncPop.Result.Ret);
        libos.Close(c);
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void PeerCloseIsAZeroLengthPopAfterTheData(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        Send(libos, c, "bye");
        libos.Close(c);
        Assert.Equal("bye", Receive(libos, s, 3));
        Assert.Equal(0, libos.Pop(s, out var qt));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal(OpCode.Pop, r.Opcode);
        Assert.True(r.Sga.IsEmpty);
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void ConnectToAClosedPortIsRefused(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        libos.Close(l); // the port is now closed
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var c));
        Assert.Equal(0, libos.Connect(c, at, out var qt));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal(OpCode.Failed, r.Opcode);
        Assert.Equal(Errno.ECONNREFUSED, r.Ret);
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void MultiSegmentPushArrivesInOrder(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        var sga = libos.SgaAlloc([5, 1, 6]);
        "hello"u8.CopyTo(sga.Segment(0).Span);
        " "u8.CopyTo(sga.Segment(1).Span);
        "world!"u8.CopyTo(sga.Segment(2).Span);
        Assert.Equal(0, libos.Push(c, sga, out var qt));
        libos.SgaFree(sga);
        Assert.Equal(0, libos.Wait(qt, out _, Long));
        Assert.Equal("hello world!", Receive(libos, s, 12));
    }

    [Theory, MemberData(nameof(LibOSes))]
    public void WaitNextReturnsCompletionsInOrder(string name)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        libos.Queue(out var q);
        var sga = libos.SgaAlloc(3);
        Assert.Equal(0, libos.Push(q, sga, out _));
        Assert.Equal(0, libos.Pop(q, out _));
        libos.SgaFree(sga);
        var results = new QResult[4];
        Assert.Equal(0, libos.WaitNext(results, out int n, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(2, n);
        Assert.Equal(OpCode.Push, results[0].Opcode);
        Assert.Equal(OpCode.Pop, results[1].Opcode);
        libos.SgaFree(results[1].Sga);
        Assert.Equal(Errno.ETIMEDOUT, libos.WaitNext(results, out n, TimeSpan.FromMilliseconds(20)));
        Assert.Equal(0, n);
        _ = (c, s);
    }

    /// <summary>Qtokens claimed by Wait leave the WaitNext list from its head, middle and tail; the rest stay in order.</summary>
    [Fact]
    public void WaitNextSkipsWhatWaitClaimed()
    {
        using var libos = Create("catloop");
        libos.Queue(out var q);
        var pushes = new QToken[6];
        for (int i = 0; i < pushes.Length; i++)
        {
            var sga = libos.SgaAlloc(i + 1);
            Assert.Equal(0, libos.Push(q, sga, out pushes[i]));
            libos.SgaFree(sga);
        }
        Assert.Equal(0, libos.Wait(pushes[0], out _, TimeSpan.Zero)); // head
        Assert.Equal(0, libos.Wait(pushes[2], out _, TimeSpan.Zero)); // middle
        Assert.Equal(0, libos.Wait(pushes[5], out _, TimeSpan.Zero)); // tail
        Assert.Equal(Errno.EINVAL, libos.Wait(pushes[2], out _, TimeSpan.Zero));
        var results = new QResult[8];
        Assert.Equal(0, libos.WaitNext(results, out int n, TimeSpan.Zero));
        Assert.Equal([pushes[1], pushes[3], pushes[4]], results[..n].Select(r => r.Qt));
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(0, libos.Pop(q, out var pop));
            Assert.Equal(0, libos.Wait(pop, out var popped, TimeSpan.Zero));
            Assert.Equal(i + 1, popped.Sga.TotalLength);
            libos.SgaFree(popped.Sga);
        }
        Assert.Equal(0, libos.OutstandingOperations);
    }

    [Theory]
    [InlineData("catloop", 5000)]
    [InlineData("catnap", 1500)]
    [InlineData("catmem", 300)]
    public void ThousandsOfConcurrentConnections(string name, int connections)
    {
        using var libos = Create(name);
        var l = Listen(libos, out var at);
        int served = 0, verified = 0;
        libos.Spawn(async () =>
        {
            for (int i = 0; i < connections; i++)
            {
                var a = await libos.AcceptAsync(l);
                Assert.True(a.Succeeded, a.ToString());
                var qd = a.AcceptedQd;
                libos.Spawn(async () =>
                {
                    while (true)
                    {
                        var p = await libos.PopAsync(qd);
                        if (!p.Succeeded || p.Sga.IsEmpty) break;
                        await libos.PushAsync(qd, p.Sga);
                        libos.SgaFree(p.Sga);
                    }
                    libos.Close(qd);
                    served++;
                });
            }
        });
        for (int i = 0; i < connections; i++)
        {
            int id = i;
            libos.Spawn(async () =>
            {
                Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
                var c = await libos.ConnectAsync(qd, at);
                Assert.True(c.Succeeded, c.ToString());
                var sga = libos.SgaAlloc(8);
                BitConverter.TryWriteBytes(sga.Span, (long)id);
                await libos.PushAsync(qd, sga);
                libos.SgaFree(sga);
                var buf = new List<byte>();
                while (buf.Count < 8)
                {
                    var p = await libos.PopAsync(qd);
                    Assert.True(p.Succeeded && !p.Sga.IsEmpty, p.ToString());
                    buf.AddRange(p.Sga.ToArray());
                    libos.SgaFree(p.Sga);
                }
                Assert.Equal(id, BitConverter.ToInt64(buf.ToArray()));
                libos.Close(qd);
                verified++;
            });
        }
        Assert.True(libos.RunUntil(() => (served == connections && verified == connections) || libos.Faults.Count > 0, TimeSpan.FromSeconds(60)),
            $"served {served}, verified {verified} of {connections}");
        Assert.Empty(libos.Faults);
        Assert.Equal(1, libos.OpenDescriptors); // only the listener is left
    }

    [Fact]
    public void PeerResetIsReportedAsEconnreset()
    {
        using var libos = Create("catnap");
        var l = Listen(libos, out var at);
        var (c, s) = Pair(libos, l, at);
        Assert.Equal(0, libos.SetSockOpt(c, SocketOption.Linger, 0)); // close sends RST
        Assert.Equal(0, libos.GetSockOpt(c, SocketOption.Linger, out int linger));
        Assert.Equal(0, linger);
        libos.Close(c);
        Assert.Equal(0, libos.Pop(s, out var qt));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal(OpCode.Failed, r.Opcode);
        Assert.Equal(Errno.ECONNRESET, r.Ret);
    }

    /// <summary>AF_UNIX on catnap: listen on a path, a kernel client connects, data flows both ways; catloop has none.</summary>
    [Fact]
    public void UnixSocketsOnCatnapAndEafnosupportElsewhere()
    {
        using (var loop = Create("catloop")) Assert.Equal(Errno.EAFNOSUPPORT, loop.SocketUnix(out _));
        string path = Path.Combine(Path.GetTempPath(), $"catnap-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        try
        {
            using var libos = Create("catnap");
            Assert.Equal(0, libos.SocketUnix(out var l));
            Assert.Equal(Errno.EAFNOSUPPORT, libos.Bind(l, IPv4Endpoint.Loopback(0)));
            Assert.Equal(0, libos.BindUnix(l, path));
            Assert.Equal(0, libos.Listen(l, 16));
            using var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path)); // completes from the backlog
            Assert.Equal(0, libos.Accept(l, out var aqt));
            Assert.Equal(0, libos.Wait(aqt, out var accepted, Long));
            Assert.Equal(OpCode.Accept, accepted.Opcode);
            Assert.Equal(default, accepted.Address); // a path is not an IPv4 endpoint
            client.Send("ping"u8);
            Assert.Equal("ping", Receive(libos, accepted.AcceptedQd, 4));
            Send(libos, accepted.AcceptedQd, "pong");
            var buffer = new byte[4];
            int n = 0;
            while (n < 4) n += client.Receive(buffer.AsSpan(n));
            Assert.Equal("pong", Encoding.ASCII.GetString(buffer));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SocketOptionsRoundTripOnCatnap()
    {
        using var libos = Create("catnap");
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
        foreach (var opt in new[] { SocketOption.TcpNoDelay, SocketOption.ReusePort, SocketOption.KeepAlive })
        {
            Assert.Equal(0, libos.SetSockOpt(qd, opt, 1));
            Assert.Equal(0, libos.GetSockOpt(qd, opt, out int v));
            Assert.NotEqual(0, v);
            Assert.Equal(0, libos.SetSockOpt(qd, opt, 0));
            Assert.Equal(0, libos.GetSockOpt(qd, opt, out v));
            Assert.Equal(0, v);
        }
        Assert.Equal(0, libos.GetSockOpt(qd, SocketOption.Linger, out int linger));
        Assert.Equal(-1, linger);
    }

    [Fact]
    public void BindToAnyAddressAndPortZeroWorks()
    {
        using var libos = Create("catnap");
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(0, libos.Bind(qd, IPv4Endpoint.Any));
        Assert.Equal(0, libos.Listen(qd, 16));
        Assert.Equal(0, libos.GetSockName(qd, out var at));
        Assert.Equal(IPv4Endpoint.Any with { Port = at.Port }, at);
        Assert.NotEqual(0, at.Port);
        var (c, _) = Pair(libos, qd, IPv4Endpoint.Loopback(at.Port));
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var other));
        Assert.Equal(Errno.EADDRINUSE, libos.Bind(other, IPv4Endpoint.Loopback(at.Port)));
        libos.Close(c);
    }

    [Fact]
    public void UdpPushToAndPopCarryAddresses()
    {
        using var libos = Create("catnap");
        Assert.Equal(0, libos.Socket(SocketKind.Datagram, out var a));
        Assert.Equal(0, libos.Socket(SocketKind.Datagram, out var b));
        Assert.Equal(0, libos.Bind(a, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, libos.Bind(b, IPv4Endpoint.Loopback(0)));
        libos.GetSockName(a, out var aAt);
        libos.GetSockName(b, out var bAt);
        var sga = libos.SgaAlloc(4);
        "udp!"u8.CopyTo(sga.Span);
        Assert.Equal(0, libos.PushTo(a, sga, bAt, out var pqt));
        libos.SgaFree(sga);
        Assert.Equal(0, libos.Wait(pqt, out _, Long));
        Assert.Equal(0, libos.Pop(b, out var qt));
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        Assert.Equal("udp!"u8.ToArray(), r.Sga.ToArray());
        Assert.Equal(aAt, r.Address);
    }

    [Fact]
    public void ReservedLibOSesFailWithAClearError()
    {
        var e = Assert.Throws<ConfigException>(() => LibOS.Create("rdma"));
        Assert.Contains("not available", e.Message);
        e = Assert.Throws<ConfigException>(() => LibOS.Create("nope"));
        Assert.Contains("unknown libOS 'nope'", e.Message);
    }
}
