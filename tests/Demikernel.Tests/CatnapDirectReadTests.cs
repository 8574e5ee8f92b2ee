using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Demikernel.Catnap;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// catnap's direct mode: while exactly one stream socket waits for data, each pass tries its recv instead of going
/// through epoll_wait (which then runs every few passes). The peers here are kernel sockets driven from the test
/// thread, so data lands between libOS passes exactly where a test puts it. Every wait is bounded (10 s).
/// </summary>
public class CatnapDirectReadTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static (DemiLibOS LibOS, CatnapTransport Transport) Create(TimeSpan? spin = null)
    {
        var transport = new CatnapTransport();
        var options = spin is { } s ? new LibOSOptions { SpinBudget = s } : new LibOSOptions();
        return (new DemiLibOS(transport, options), transport);
    }

    /// <summary>A listener on 127.0.0.1 and <paramref name="count"/> kernel clients accepted on it (IdlePollTests too).</summary>
    internal static (Socket[] Clients, QDesc[] Accepted) Accept(DemiLibOS libos, int count)
    {
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var l));
        Assert.Equal(0, libos.Bind(l, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, libos.Listen(l, 16));
        Assert.Equal(0, libos.GetSockName(l, out var at));
        var clients = new Socket[count];
        var accepted = new QDesc[count];
        for (int i = 0; i < count; i++)
        {
            clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            clients[i].Connect(new IPEndPoint(IPAddress.Loopback, at.Port));
            Assert.Equal(0, libos.Accept(l, out var qt));
            Assert.Equal(0, libos.Wait(qt, out var r, Long));
            Assert.Equal(OpCode.Accept, r.Opcode);
            accepted[i] = r.AcceptedQd;
        }
        return (clients, accepted);
    }

    private static string Text(in QResult r) => Encoding.ASCII.GetString(r.Sga.ToArray());

    [Fact]
    public void ALoneWaitingReaderGetsEveryRequestOfAPingPong()
    {
        var (libos, transport) = Create();
        using var _ = libos;
        var (clients, s) = Accept(libos, 1);
        using var client = clients[0];
        var reply = new byte[16];
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(0, libos.Pop(s[0], out var qt));
            libos.Poll(); // the pop found nothing: the socket waits, alone, and is read directly from now on
            Assert.Equal(1, transport.WaitingReaders);
            client.Send(Encoding.ASCII.GetBytes($"req{i:D4}"));
            Assert.Equal(0, libos.Wait(qt, out var r, Long));
            Assert.Equal($"req{i:D4}", Text(r));
            libos.SgaFree(r.Sga);
            Assert.Equal(0, transport.WaitingReaders);
            QueueApiTests.Send(libos, s[0], $"rep{i:D4}");
            int got = 0;
            while (got < 7) got += client.Receive(reply, got, 7 - got, SocketFlags.None);
            Assert.Equal($"rep{i:D4}", Encoding.ASCII.GetString(reply, 0, 7));
        }
    }

    [Fact]
    public void AnAcceptAndAWakeStillArriveWhileALoneReaderIsReadDirectly()
    {
        var (libos, transport) = Create(TimeSpan.FromMinutes(10)); // spins throughout: only the direct passes poll
        using var _ = libos;
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var l));
        Assert.Equal(0, libos.Bind(l, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, libos.Listen(l, 16));
        Assert.Equal(0, libos.GetSockName(l, out var at));
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        first.Connect(new IPEndPoint(IPAddress.Loopback, at.Port));
        Assert.Equal(0, libos.Accept(l, out var aqt));
        Assert.Equal(0, libos.Wait(aqt, out var a, Long));
        Assert.Equal(0, libos.Pop(a.AcceptedQd, out var pqt));
        libos.Poll();
        Assert.Equal(1, transport.WaitingReaders);

        // A second connection is seen through the epoll_wait that direct passes still run every few passes.
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Equal(0, libos.Accept(l, out aqt));
        second.Connect(new IPEndPoint(IPAddress.Loopback, at.Port));
        Assert.Equal(0, libos.Wait(aqt, out var b, Long));
        Assert.Equal(OpCode.Accept, b.Opcode);

        // A post from another thread runs too (the eventfd is drained on those passes; the post itself on every pass).
        bool ran = false;
        var poster = new Thread(() => libos.Post(() => ran = true));
        poster.Start();
        Assert.True(libos.RunUntil(() => ran, Long));
        poster.Join();

        first.Send("late"u8.ToArray());
        Assert.Equal(0, libos.Wait(pqt, out var r, Long));
        Assert.Equal("late", Text(r));
    }

    [Fact]
    public void DataForTheFormerLoneReaderIsNotLostWhenASecondReaderStartsWaiting()
    {
        var (libos, transport) = Create();
        using var _ = libos;
        var (clients, s) = Accept(libos, 2);
        try
        {
            Assert.Equal(0, libos.Pop(s[0], out var p0));
            libos.Poll();
            Assert.Equal(1, transport.WaitingReaders); // s[0] is read directly
            clients[0].Send("one"u8.ToArray());        // lands before any further direct try
            Thread.Sleep(20);                           // loopback delivery is synchronous; this is only a margin
            Assert.Equal(0, libos.Pop(s[1], out var p1)); // s[1] waits too: back to epoll for both
            Assert.Equal(2, transport.WaitingReaders);
            Assert.Equal(0, libos.Wait(p0, out var r0, Long));
            Assert.Equal("one", Text(r0));
            clients[1].Send("two"u8.ToArray());
            Assert.Equal(0, libos.Wait(p1, out var r1, Long));
            Assert.Equal("two", Text(r1));
            Assert.Equal(0, transport.WaitingReaders);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Fact]
    public void ALoneReaderSeesThePeersCloseAndClosingItLeavesNoWaitingReader()
    {
        var (libos, transport) = Create();
        using var _ = libos;
        var (clients, s) = Accept(libos, 2);
        Assert.Equal(0, libos.Pop(s[0], out var p0));
        libos.Poll();
        Assert.Equal(1, transport.WaitingReaders);
        clients[0].Send("bye"u8.ToArray());
        clients[0].Shutdown(SocketShutdown.Send);
        Assert.Equal(0, libos.Wait(p0, out var r, Long));
        Assert.Equal("bye", Text(r));
        Assert.Equal(0, libos.Pop(s[0], out p0));
        Assert.Equal(0, libos.Wait(p0, out r, Long));
        Assert.Equal(OpCode.Pop, r.Opcode);
        Assert.True(r.Sga.IsEmpty); // end of stream

        // A pending pop on a socket that is then closed: cancelled, and the count goes back to zero.
        Assert.Equal(0, libos.Pop(s[1], out var p1));
        libos.Poll();
        Assert.Equal(1, transport.WaitingReaders);
        Assert.Equal(0, libos.Close(s[1]));
        Assert.Equal(0, transport.WaitingReaders);
        Assert.Equal(0, libos.Wait(p1, out r, Long));
        Assert.Equal(OpCode.Failed, r.Opcode);
        Assert.Equal(Errno.ECANCELED, r.Ret);
        foreach (var c in clients) c.Dispose();
    }

    [Fact]
    public void ALibOSWhoseLoneReaderHasNoDataStillBlocksAfterTheSpinBudget()
    {
        var (libos, transport) = Create(TimeSpan.FromMilliseconds(1));
        using var _ = libos;
        var (clients, s) = Accept(libos, 1);
        using var client = clients[0];
        Assert.Equal(0, libos.Pop(s[0], out var qt));
        bool blocked = false;
        var sender = new Thread(() =>
        {
            var wall = Stopwatch.StartNew();
            while (!libos.IsBlocked && wall.Elapsed < Long) Thread.Sleep(1);
            blocked = libos.IsBlocked;
            client.Send("wake"u8.ToArray());
        });
        sender.Start();
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        sender.Join();
        Assert.True(blocked, "the libOS never blocked while its lone reader waited");
        Assert.Equal("wake", Text(r));
        Assert.Equal(0, transport.WaitingReaders);
    }
}
