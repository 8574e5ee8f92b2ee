using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;
using static Demikernel.InetStack.Tests.TcpPair;

namespace Demikernel.InetStack.Tests;

/// <summary>Congestion control, loss recovery, reassembly, delayed ACKs, zero-copy sending and checksum offload.</summary>
public class TcpMechanismTests
{
    private const int Mss = 1460;

    [Fact]
    public void NewRenoSlowStartThenOneSegmentPerWindowAndHalvesOnLoss()
    {
        var cc = new NewReno(Mss, 10);
        Assert.Equal(10 * Mss, cc.Cwnd);
        cc.OnAck(Mss, cc.Cwnd, 0, 0.001);
        Assert.Equal(11 * Mss, cc.Cwnd); // slow start: +1 segment per segment ACKed
        cc.OnCongestion(10 * Mss, 0);
        Assert.Equal(5 * Mss, cc.Cwnd);  // min(flight, cwnd) / 2: the window in use, halved
        Assert.Equal(cc.Ssthresh, cc.Cwnd);
        long before = cc.Cwnd;
        for (int i = 0; i < 5; i++) cc.OnAck(Mss, cc.Cwnd, 0, 0.001); // one window's worth of ACKs
        Assert.Equal(before + Mss, cc.Cwnd);
        cc.OnTimeout(cc.Cwnd);
        Assert.Equal(Mss, cc.Cwnd);
        Assert.Equal(3 * Mss, cc.Ssthresh);
    }

    [Fact]
    public void WindowsDoNotGrowWhenTheApplicationDoesNotFillThem()
    {
        var cc = new NewReno(Mss, 10);
        for (int i = 0; i < 100; i++) cc.OnAck(Mss, Mss, 0, 0.001); // one segment in flight at a time
        Assert.Equal(10 * Mss, cc.Cwnd);
    }

    [Fact]
    public void CubicBacksOffByAThirdAndClimbsBackConcaveTowardsTheLastMaximum()
    {
        var cc = new Cubic(Mss, 10);
        while (cc.Cwnd < 100 * Mss) cc.OnAck(Mss, cc.Cwnd, 0, 0.001);
        long wMax = cc.Cwnd;
        cc.OnCongestion(cc.Cwnd, 1.0);
        Assert.Equal((long)(wMax / (double)Mss * 0.7 * Mss), cc.Cwnd);
        // Over simulated seconds with ACKs for a full window each RTT, the window approaches W_max and then passes it.
        double now = 1.0, rtt = 0.1; // long enough that CUBIC, not its Reno-friendly estimate, leads
        var samples = new List<long>();
        for (int round = 0; round < 600; round++)
        {
            now += rtt;
            long acks = cc.Cwnd / Mss;
            for (int i = 0; i < acks; i++) cc.OnAck(Mss, cc.Cwnd, now, rtt);
            samples.Add(cc.Cwnd);
        }
        Assert.True(samples[^1] > wMax, $"cwnd {samples[^1]} never passed W_max {wMax}");
        // Concave below W_max: the growth per round shrinks as the window nears it.
        int nearIndex = samples.FindIndex(w => w >= wMax * 0.95);
        Assert.True(nearIndex > 2);
        Assert.True(samples[1] - samples[0] > samples[nearIndex] - samples[nearIndex - 1]);
    }

    [Fact]
    public void SendQueueReadsAcrossSegmentsAndReleasesBuffersOnlyWhenAcknowledged()
    {
        var pool = new BufferPool();
        var libos = new DemiLibOS(new NullTransport());
        var sga = libos.SgaAlloc([3, 4]);
        "abc"u8.CopyTo(sga.Segment(0).Span);
        "defg"u8.CopyTo(sga.Segment(1).Span);
        var queue = new SendQueue();
        queue.Append(sga);
        Assert.Equal(0, libos.SgaFree(sga)); // the application lets go; the queue's reference keeps the bytes
        int outstanding = libos.Pool.Outstanding;
        Assert.Equal(7, queue.Count);
        var buffer = new byte[5];
        queue.Peek(1, buffer);
        Assert.Equal("bcdef"u8.ToArray(), buffer);
        queue.Discard(4);
        Assert.Equal(outstanding, libos.Pool.Outstanding);
        queue.Peek(0, buffer.AsSpan(0, 3));
        Assert.Equal("efg"u8.ToArray(), buffer[..3]);
        queue.Discard(3);
        Assert.Equal(outstanding - 2, libos.Pool.Outstanding); // both segments went back together
        GC.KeepAlive(pool);
    }

    [Fact]
    public void ReassemblyTrimsOverlapsDropsDuplicatesAndHandsOutInOrder()
    {
        var pool = new BufferPool();
        DemiBuffer Payload(string s)
        {
            var b = pool.Rent(s.Length);
            System.Text.Encoding.ASCII.GetBytes(s, b.Span);
            return b;
        }
        var q = new ReassemblyQueue();
        var s0 = new SeqNumber(1000);
        bool Insert(int offset, string text)
        {
            var b = Payload(text);
            if (q.Insert(s0 + offset, b, pool)) return true;
            pool.Discard(b); // not kept: still the caller's
            return false;
        }
        Assert.True(Insert(10, "klmno"));
        Assert.True(Insert(20, "uvw"));
        Assert.False(Insert(11, "lmn"));                  // nothing new
        Assert.True(Insert(13, "nopqrstu"));              // trimmed to "pqrst"
        Assert.Equal(3, q.SegmentCount);
        Assert.True(Insert(5, "fghijklmnopqrstuvwxyz"));  // covers all three, which are dropped
        var text = new System.Text.StringBuilder();
        var next = s0 + 5;
        while (q.TryTake(next, pool, out var b))
        {
            text.Append(System.Text.Encoding.ASCII.GetString(b.Span));
            next += b.Length;
            pool.Discard(b);
        }
        Assert.Equal("fghijklmnopqrstuvwxyz", text.ToString());
        Assert.True(q.IsEmpty);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void OneLostSegmentIsRepairedByFastRetransmitWithoutATimeout()
    {
        int dataSegments = 0;
        using var p = new TcpPair(link: new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 1_000_000_000 },
            wrapA: phy => new FaultInjector(phy, new FaultOptions
            {
                DropWhen = f => FrameTcp.Read(f) is { IsTcp: true, PayloadLength: > 0 } && ++dataSegments == 30,
            }, 1));
        var (client, server) = p.Connect();
        var data = RandomNumberGenerator.GetBytes(200_000);
        Push(p.A, client, data);
        Assert.Equal(data, PopExactly(p.B, server, data.Length));
        var stats = p.A.Interface.Tcp.Stats;
        Assert.Equal(1, stats.FastRetransmits);
        Assert.Equal(0, stats.Timeouts);
        Assert.Equal(1, stats.Retransmissions);
        Assert.True(p.B.Interface.Tcp.Stats.OutOfOrderQueued > 0); // what came after the hole was kept, not resent
        Assert.False(Tcb(p.A, client).InRecovery);
    }

    [Theory]
    [InlineData(CongestionControlKind.NewReno)]
    [InlineData(CongestionControlKind.Cubic)]
    public void BothAlgorithmsFillABottleneckAndSurviveLoss(CongestionControlKind kind)
    {
        var link = new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 100_000_000, QueueLength = 50 };
        using var p = new TcpPair(link: link, tcp: t => t with { CongestionControl = kind });
        var (client, server) = p.Connect();
        var data = RandomNumberGenerator.GetBytes(2_000_000);
        var start = p.Clock.Elapsed;
        Push(p.A, client, data);
        Assert.Equal(data, PopExactly(p.B, server, data.Length));
        double seconds = (p.Clock.Elapsed - start).TotalSeconds;
        double goodput = data.Length * 8 / seconds;
        Assert.True(goodput > 0.85 * 100_000_000, $"{kind}: {goodput / 1e6:0.0} Mbit/s");
        Assert.True(p.Sim.Network.Stats.QueueDrops > 0); // the small queue overflowed: the window was probed and cut
        Assert.IsType(kind == CongestionControlKind.Cubic ? typeof(Cubic) : typeof(NewReno), Tcb(p.A, client).Congestion);
    }

    [Fact]
    public void DelayedAckWaitsForASecondSegmentOrTheTimerButNeverDelaysARequestResponse()
    {
        var delay = TimeSpan.FromMilliseconds(40);
        using var p = new TcpPair(tcp: t => t with { DelayedAck = delay });
        var (client, server) = p.Connect();
        long bSent = p.B.Interface.Tcp.Stats.SegmentsSent;

        // One segment, no reply: B's ACK waits for the timer.
        Push(p.A, client, "x"u8);
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(20));
        Assert.Equal(bSent, p.B.Interface.Tcp.Stats.SegmentsSent);
        Assert.Equal(1, Tcb(p.A, client).Unacknowledged);
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(30));
        Assert.Equal(bSent + 1, p.B.Interface.Tcp.Stats.SegmentsSent);
        Assert.Equal(0, Tcb(p.A, client).Unacknowledged);
        PopExactly(p.B, server, 1);

        // Request/response: the reply carries the ACK; the round trip takes two link latencies, not the timer.
        bSent = p.B.Interface.Tcp.Stats.SegmentsSent;
        var start = p.Clock.Elapsed;
        Push(p.A, client, "PING"u8);
        PopExactly(p.B, server, 4);
        Push(p.B, server, "PONG"u8);
        PopExactly(p.A, client, 4);
        Assert.True(p.Clock.Elapsed - start < TimeSpan.FromMilliseconds(1), $"round trip took {p.Clock.Elapsed - start}");
        Assert.Equal(bSent + 1, p.B.Interface.Tcp.Stats.SegmentsSent); // the reply only: no separate ACK
    }

    [Fact]
    public void WithoutDelayedAckEverySegmentIsAcknowledgedAtOnce()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        Push(p.A, client, "x"u8);
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, Tcb(p.A, client).Unacknowledged);
    }

    [Fact]
    public void PushedBuffersAreSentWithoutCopyAndReturnToThePoolWhenAcknowledged()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        int baseline = p.A.LibOS.Pool.Outstanding;
        var sga = p.A.LibOS.SgaAlloc(100_000);
        RandomNumberGenerator.Fill(sga.Span);
        var expected = sga.ToArray();
        Assert.Equal(0, p.A.LibOS.Push(client, sga, out var qt));
        p.A.LibOS.WaitOk(qt); // queued: completes at once
        Assert.Equal(0, p.A.LibOS.SgaFree(sga));
        Assert.Equal(baseline + 1, p.A.LibOS.Pool.Outstanding); // still held by TCP until acknowledged
        Assert.Equal(expected, PopExactly(p.B, server, expected.Length));
        p.Sim.Network.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(baseline, p.A.LibOS.Pool.Outstanding);
        Assert.Equal(0, Tcb(p.A, client).Unacknowledged);
    }

    [Fact]
    public void ChecksumsAreLeftToADeviceThatOffloadsThem()
    {
        var offloads = ChecksumOffload.TcpTx | ChecksumOffload.TcpRx | ChecksumOffload.Ipv4Tx | ChecksumOffload.Ipv4Rx;
        var checksums = new List<ushort>();
        using var p = new TcpPair(capabilities: new PhyCapabilities { Offloads = offloads },
            wrapA: phy => new FaultInjector(phy, new FaultOptions
            {
                DropWhen = frame =>
                {
                    if (FrameTcp.Read(frame) is { IsTcp: true } t) checksums.Add(t.Checksum);
                    return false;
                },
            }, 1));
        var (client, server) = p.Connect();
        Push(p.A, client, "offloaded"u8);
        Assert.Equal("offloaded"u8.ToArray(), PopExactly(p.B, server, 9));
        Assert.NotEmpty(checksums);
        Assert.All(checksums, c => Assert.Equal(0, c)); // the "device" fills them in; software did not
    }

    [Fact]
    public void ZeroWindowProbesDoNotAbortALiveReceiverThatReadsLate()
    {
        using var p = new TcpPair(tcp: t => t with { ReceiveBufferSize = 4096, DataRetries = 3 });
        var (client, server) = p.Connect();
        var data = RandomNumberGenerator.GetBytes(20_000);
        Assert.Equal(0, p.A.LibOS.Push(client, p.A.LibOS.Bytes(data), out _));
        p.Sim.Network.RunFor(TimeSpan.FromSeconds(120)); // far more probes than DataRetries
        Assert.True(p.A.Interface.Tcp.Stats.WindowProbes > 3);
        Assert.Equal(TcpState.Established, StateOf(p.A, client));
        Assert.Equal(data, PopExactly(p.B, server, data.Length));
    }

    private sealed class NullTransport : INetworkTransport
    {
        public string Name => "null";
        public void Attach(DemiLibOS libos) { }
        public int Socket(SocketKind kind, out IoQueue? queue) { queue = null; return Errno.EPROTONOSUPPORT; }
        public bool Poll() => false;
        public void Block(TimeSpan? timeout) { }
        public void Wake() { } // Block never waits
        public void Dispose() { }
    }
}
