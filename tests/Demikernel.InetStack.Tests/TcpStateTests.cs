using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;
using static Demikernel.InetStack.Tests.TcpPair;

namespace Demikernel.InetStack.Tests;

/// <summary>RFC 9293 state transitions and the edges of opening and closing.</summary>
public class TcpStateTests
{
    [Fact]
    public void ActiveCloseWalksFinWait1FinWait2TimeWaitClosed_PassiveCloseWalksCloseWaitLastAckClosed()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        var a = Tcb(p.A, client);
        var b = Tcb(p.B, server);
        Assert.Equal(0, p.A.LibOS.Close(client));
        Assert.Equal(TcpState.FinWait1, a.State); // the FIN left at once: nothing was queued
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.FinWait2, TimeSpan.FromSeconds(1)));
        Assert.Equal(TcpState.CloseWait, b.State);
        Assert.Equal(0, p.B.LibOS.Pop(server, out var eof));
        Assert.True(p.B.LibOS.WaitOk(eof).Sga.IsEmpty);
        Assert.Equal(0, p.B.LibOS.Close(server));
        Assert.Equal(TcpState.LastAck, b.State);
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.TimeWait, TimeSpan.FromSeconds(1)));
        Assert.True(p.Sim.RunUntil(() => b.State == TcpState.Closed, TimeSpan.FromSeconds(1)));
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.Closed, TimeSpan.FromSeconds(2)));
        Assert.Equal(0, p.A.Interface.Tcp.ConnectionCount + p.B.Interface.Tcp.ConnectionCount);
    }

    [Fact]
    public void SimultaneousCloseGoesThroughClosingToTimeWaitOnBothSides()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        var a = Tcb(p.A, client);
        var b = Tcb(p.B, server);
        // Both FINs leave before either arrives.
        p.A.LibOS.Close(client);
        p.B.LibOS.Close(server);
        Assert.Equal(TcpState.FinWait1, a.State);
        Assert.Equal(TcpState.FinWait1, b.State);
        var states = new HashSet<TcpState>();
        Assert.True(p.Sim.RunUntil(() =>
        {
            states.Add(a.State);
            return a.State == TcpState.TimeWait && b.State == TcpState.TimeWait;
        }, TimeSpan.FromMilliseconds(100)));
        Assert.Contains(TcpState.Closing, states);
        p.Sim.Network.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpState.Closed, a.State);
        Assert.Equal(TcpState.Closed, b.State);
    }

    [Fact]
    public void FinWait2TimesOutWhenThePeerNeverCloses()
    {
        using var p = new TcpPair(tcp: t => t with { FinWait2Timeout = TimeSpan.FromSeconds(5) });
        var (client, server) = p.Connect();
        var a = Tcb(p.A, client);
        p.A.LibOS.Close(client);
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.FinWait2, TimeSpan.FromSeconds(1)));
        var entered = p.Clock.Elapsed;
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.Closed, TimeSpan.FromSeconds(10)));
        Assert.InRange(p.Clock.Elapsed - entered, TimeSpan.FromSeconds(4.9), TimeSpan.FromSeconds(5.1));
        Assert.Equal(0, p.A.Interface.Tcp.ConnectionCount);
        Assert.Equal(TcpState.CloseWait, StateOf(p.B, server)); // B still holds its half-open end
    }

    [Fact]
    public void CloseWithUnreadDataResetsThePeer()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        Push(p.B, server, "unread"u8);
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(1)); // arrives at A, nobody pops it
        Assert.Equal(0, p.B.LibOS.Pop(server, out var pop));
        Assert.Equal(0, p.A.LibOS.Close(client));
        Assert.Equal(0, p.B.LibOS.Wait(pop, out var result, TimeSpan.FromSeconds(1)));
        Assert.Equal(Errno.ECONNRESET, result.Ret);
        Assert.Equal(1, p.A.Interface.Tcp.Stats.ResetsOnClose);
        Assert.Equal(0, p.A.Interface.Tcp.ConnectionCount);
        Assert.Equal(0, p.B.Interface.Tcp.ConnectionCount);
    }

    [Fact]
    public void DataArrivingAfterCloseIsAnsweredWithReset()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        var a = Tcb(p.A, client);
        p.A.LibOS.Close(client);
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.FinWait2, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, p.B.LibOS.Push(server, p.B.LibOS.Text("late"), out _));
        Assert.True(p.Sim.RunUntil(() => a.State == TcpState.Closed && p.B.Interface.Tcp.ConnectionCount == 0, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, p.B.LibOS.Pop(server, out var pop));
        Assert.Equal(0, p.B.LibOS.Wait(pop, out var result, TimeSpan.FromSeconds(1)));
        Assert.Equal(Errno.ECONNRESET, result.Ret);
    }

    [Fact]
    public void SynReceivedSurvivesALostSynAckAndALostAck()
    {
        // Drop the first SYN-ACK from B and the first pure ACK from A: both ends must retry their way to ESTABLISHED.
        int synAcks = 0, acks = 0;
        using var p = new TcpPair(
            wrapA: phy => new FaultInjector(phy, new FaultOptions
            {
                DropWhen = f => FrameTcp.Read(f) is { IsTcp: true, Flags: TcpFlags.Ack, PayloadLength: 0 } && acks++ == 0,
            }, 1),
            wrapB: phy => new FaultInjector(phy, new FaultOptions
            {
                DropWhen = f => FrameTcp.Read(f) is { IsTcp: true } t && t.Flags == (TcpFlags.Syn | TcpFlags.Ack) && synAcks++ == 0,
            }, 1));
        var listener = p.Listen();
        Assert.Equal(0, p.B.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, p.A.LibOS.Connect(client, p.B.Endpoint(6379), out var connect));
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Equal(TcpState.SynReceived, Assert.Single(p.B.Interface.Tcp.Connections).State);
        p.A.LibOS.WaitOk(connect, TimeSpan.FromSeconds(10)); // after the SYN is retried
        // A is established; B's SYN-RECEIVED completes when A's data (carrying the ACK) arrives.
        Push(p.A, client, "hello"u8);
        var server = p.B.LibOS.WaitOk(accept, TimeSpan.FromSeconds(10)).AcceptedQd;
        Assert.Equal("hello"u8.ToArray(), PopExactly(p.B, server, 5));
        Assert.Equal(2, synAcks);
    }

    [Fact]
    public void ConnectRefusedAndConnectTimeoutAndCancelledConnect()
    {
        using var p = new TcpPair(tcp: t => t with { SynRetries = 1 });
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var refused));
        Assert.Equal(0, p.A.LibOS.Connect(refused, p.B.Endpoint(7000), out var qt));
        Assert.Equal(0, p.A.LibOS.Wait(qt, out var r, TimeSpan.FromSeconds(1)));
        Assert.Equal(Errno.ECONNREFUSED, r.Ret);

        // A connect in progress cancelled by closing its descriptor.
        p.Sim.Network.SetLink(p.A.Port, p.B.Port, new LinkOptions { Down = true });
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var pending));
        Assert.Equal(0, p.A.LibOS.Connect(pending, p.B.Endpoint(7000), out var qt2));
        Assert.Equal(0, p.A.LibOS.Close(pending));
        Assert.Equal(0, p.A.LibOS.Wait(qt2, out var cancelled, TimeSpan.FromSeconds(1)));
        Assert.Equal(Errno.ECANCELED, cancelled.Ret);

        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var silent));
        Assert.Equal(0, p.A.LibOS.Connect(silent, p.B.Endpoint(7000), out var qt3));
        Assert.Equal(0, p.A.LibOS.Wait(qt3, out var timedOut, TimeSpan.FromSeconds(60)));
        Assert.Equal(Errno.ETIMEDOUT, timedOut.Ret);
    }

    [Fact]
    public void ListenerBacklogFullDropsSynsAndTheClientRetries()
    {
        using var p = new TcpPair();
        var listener = p.Listen(6379, backlog: 1);
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var c1));
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var c2));
        Assert.Equal(0, p.A.LibOS.Connect(c1, p.B.Endpoint(6379), out var q1));
        Assert.Equal(0, p.A.LibOS.Connect(c2, p.B.Endpoint(6379), out var q2));
        p.A.LibOS.WaitOk(q1);
        Assert.Equal(TcpState.SynSent, StateOf(p.A, c2)); // its SYN was dropped
        Assert.Equal(0, p.B.LibOS.Accept(listener, out var a1));
        p.B.LibOS.WaitOk(a1);
        p.A.LibOS.WaitOk(q2, TimeSpan.FromSeconds(5)); // the retried SYN finds room
    }

    [Fact]
    public void KeepaliveDetectsADeadPeerAndLeavesALiveOneAlone()
    {
        using var p = new TcpPair(tcp: t => t with
        {
            KeepAliveIdle = TimeSpan.FromSeconds(10), KeepAliveInterval = TimeSpan.FromSeconds(1), KeepAliveProbes = 3,
        });
        var (client, server) = p.Connect();
        p.Sim.Network.RunFor(TimeSpan.FromSeconds(30)); // idle, but the peer answers every probe
        Assert.Equal(TcpState.Established, StateOf(p.A, client));
        Assert.True(p.A.Interface.Tcp.Stats.KeepAliveProbes >= 2);

        Assert.Equal(0, p.A.LibOS.Pop(client, out var pop));
        p.Sim.Network.SetLinks(p.A.Port, p.B.Port, new LinkOptions { Down = true });
        var start = p.Clock.Elapsed;
        Assert.Equal(0, p.A.LibOS.Wait(pop, out var result, TimeSpan.FromSeconds(60)));
        Assert.Equal(Errno.ETIMEDOUT, result.Ret);
        Assert.InRange(p.Clock.Elapsed - start, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(14));
    }

    [Fact]
    public void KeepaliveSetOnOneSocketProbesOnlyThatOne()
    {
        // The stack's default is no keepalive; the server turns it on for one accepted connection, as redis-server's
        // tcp-keepalive does (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT).
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        var (client2, server2) = p.Connect(6380);
        Assert.Equal(0, p.B.LibOS.SetSockOpt(server, SocketOption.KeepAlive, 1));
        Assert.Equal(0, p.B.LibOS.SetSockOpt(server, SocketOption.TcpKeepIdle, 10));
        Assert.Equal(0, p.B.LibOS.SetSockOpt(server, SocketOption.TcpKeepInterval, 1));
        Assert.Equal(0, p.B.LibOS.SetSockOpt(server, SocketOption.TcpKeepCount, 3));
        Assert.Equal(0, p.B.LibOS.GetSockOpt(server, SocketOption.TcpKeepIdle, out int idle));
        Assert.Equal(10, idle);
        Assert.Equal(0, p.B.LibOS.GetSockOpt(server2, SocketOption.KeepAlive, out int other));
        Assert.Equal(0, other);

        Assert.Equal(0, p.B.LibOS.Pop(server, out var pop));
        Assert.Equal(0, p.B.LibOS.Pop(server2, out var pop2));
        p.Sim.Network.SetLinks(p.A.Port, p.B.Port, new LinkOptions { Down = true });
        var start = p.Clock.Elapsed;
        Assert.Equal(0, p.B.LibOS.Wait(pop, out var result, TimeSpan.FromSeconds(60)));
        Assert.Equal(Errno.ETIMEDOUT, result.Ret);
        // 10 s idle, then 3 probes 1 s apart, the last one unanswered for another second.
        Assert.InRange(p.Clock.Elapsed - start, TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(15));
        Assert.Equal(3, p.B.Interface.Tcp.Stats.KeepAliveProbes);
        Assert.Equal(Errno.ETIMEDOUT, p.B.LibOS.Wait(pop2, out _, TimeSpan.FromSeconds(100)));
        Assert.Equal(TcpState.Established, StateOf(p.B, server2)); // no keepalive: a dead peer goes unnoticed
        _ = client; _ = client2;
    }

    [Fact]
    public void KeepaliveOfAListenerPassesToItsConnectionsAndCanBeTurnedOff()
    {
        using var p = new TcpPair();
        var listener = p.Listen();
        Assert.Equal(0, p.B.LibOS.SetSockOpt(listener, SocketOption.KeepAlive, 1));
        Assert.Equal(0, p.B.LibOS.SetSockOpt(listener, SocketOption.TcpKeepIdle, 5));
        Assert.Equal(0, p.B.LibOS.SetSockOpt(listener, SocketOption.TcpKeepInterval, 1));
        Assert.Equal(0, p.B.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, p.A.LibOS.Connect(client, p.B.Endpoint(6379), out var connect));
        p.A.LibOS.WaitOk(connect);
        var server = p.B.LibOS.WaitOk(accept).AcceptedQd;
        Assert.Equal(0, p.B.LibOS.GetSockOpt(server, SocketOption.KeepAlive, out int on));
        Assert.Equal(1, on);
        Assert.Equal(0, p.B.LibOS.GetSockOpt(server, SocketOption.TcpKeepIdle, out int idle));
        Assert.Equal(5, idle);

        p.Sim.Network.RunFor(TimeSpan.FromSeconds(20)); // the live peer answers each probe
        long probes = p.B.Interface.Tcp.Stats.KeepAliveProbes;
        Assert.True(probes >= 2, $"{probes} probes");
        Assert.Equal(0, p.B.LibOS.SetSockOpt(server, SocketOption.KeepAlive, 0));
        p.Sim.Network.RunFor(TimeSpan.FromSeconds(60));
        Assert.Equal(probes, p.B.Interface.Tcp.Stats.KeepAliveProbes);
        Assert.Equal(TcpState.Established, StateOf(p.B, server));
    }

    [Fact]
    public void KeepaliveValuesLinuxRefusesAreEinval()
    {
        using var p = new TcpPair();
        Assert.Equal(0, p.A.LibOS.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(Errno.EINVAL, p.A.LibOS.SetSockOpt(qd, SocketOption.TcpKeepIdle, 0));
        Assert.Equal(Errno.EINVAL, p.A.LibOS.SetSockOpt(qd, SocketOption.TcpKeepInterval, 32768));
        Assert.Equal(Errno.EINVAL, p.A.LibOS.SetSockOpt(qd, SocketOption.TcpKeepCount, 128));
        Assert.Equal(Errno.ENOPROTOOPT, p.A.LibOS.SetSockOpt(qd, SocketOption.Linger, 1));
        Assert.Equal(0, p.A.LibOS.GetSockOpt(qd, SocketOption.TcpKeepIdle, out int idle));
        Assert.Equal(7200, idle); // Linux's tcp_keepalive_time until set
    }

    [Fact]
    public void TimeWaitAnswersARetransmittedFin()
    {
        // B's first ACK of A's FIN is fine, but A's final ACK of B's FIN is lost once: B retransmits its FIN, and A,
        // in TIME-WAIT, answers it again.
        int finalAcks = 0;
        bool closing = false;
        using var p = new TcpPair(wrapA: phy => new FaultInjector(phy, new FaultOptions
        {
            DropWhen = f => FrameTcp.Read(f) is { IsTcp: true, Flags: TcpFlags.Ack, PayloadLength: 0 } && closing && finalAcks++ == 0,
        }, 1));
        var (client, server) = p.Connect();
        var b = Tcb(p.B, server);
        p.A.LibOS.Close(client);
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(5));
        closing = true;
        p.B.LibOS.Close(server);
        Assert.True(p.Sim.RunUntil(() => b.State == TcpState.Closed, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, p.B.Interface.Tcp.Stats.Retransmissions);
    }
}
