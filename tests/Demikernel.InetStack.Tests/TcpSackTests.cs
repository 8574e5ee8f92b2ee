using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Wire;
using Demikernel.NetSim;
using static Demikernel.InetStack.Tests.TcpPair;

namespace Demikernel.InetStack.Tests;

/// <summary>Selective acknowledgments: the option on the wire, the sender's scoreboard, and what they buy under loss.</summary>
public class TcpSackTests
{
    private static readonly Ipv4Address Src = Ipv4Address.Parse("10.0.0.1"), Dst = Ipv4Address.Parse("10.0.0.2");

    [Fact]
    public void SackBlocksRoundTripThroughEmitAndParse()
    {
        var blocks = new TcpSackBlocks(0)
            .With(new TcpSackBlock(new SeqNumber(5000), new SeqNumber(6460)))
            .With(new TcpSackBlock(new SeqNumber(9000), new SeqNumber(10460)))
            .With(new TcpSackBlock(new SeqNumber(uint.MaxValue - 100), new SeqNumber(1360)));
        var repr = new TcpRepr(1000, 2000, new SeqNumber(1), new SeqNumber(4000), TcpFlags.Ack, 512, 0, Sack: blocks);
        Assert.Equal(20 + 4 + 24, repr.HeaderLength);
        var buffer = new byte[repr.BufferLength];
        repr.Emit(buffer, Src, Dst);
        Assert.Equal(new byte[] { 1, 1, 5, 26 }, buffer[20..24]); // NOP, NOP, SACK, length
        Assert.Equal(WireError.None, TcpRepr.TryParse(buffer, Src, Dst, out var parsed));
        Assert.Equal(repr, parsed);
        // A SACK length that is not 2 + 8n is rejected, not misread.
        buffer[23] = 25;
        Assert.Equal(WireError.BadOption, TcpRepr.TryParse(buffer, Src, Dst, out _, verifyChecksum: false));
    }

    /// <summary>Found by fuzzing (target tcp): a received segment packs window scale, timestamps and three SACK blocks
    /// without padding; re-emitted with our padded layout they needed 64 bytes of header, more than TCP allows, and
    /// the segment written was unreadable. A sender keeps the SACK blocks that fit.</summary>
    [Fact]
    public void SackBlocksThatDoNotFitTheOptionsAreLeftOutWhenEmitting()
    {
        byte[] packed = Convert.FromBase64String("nABG6wAAAP//////////hAK0BAgFGgAAAIQCcbQECAUKAP/////////+/QAEAggKnEAYAwMDAwMDAwMABw==");
        Assert.Equal(WireError.None, TcpRepr.TryParse(packed, Src, Dst, out var repr, verifyChecksum: false));
        Assert.Equal(3, repr.Sack.Count);
        Assert.Equal(20 + 4 + 12 + 4 + 16, repr.HeaderLength); // window scale, timestamps, two SACK blocks: within 60
        Assert.Equal(2, repr.EmittedSack.Count);
        var buffer = new byte[repr.BufferLength];
        repr.Emit(buffer, Src, Dst);
        Assert.Equal(WireError.None, TcpRepr.TryParse(buffer, Src, Dst, out var back));
        Assert.Equal(repr with { Sack = repr.EmittedSack }, back);
    }

    [Fact]
    public void ScoreboardMergesPrunesAndFindsHoles()
    {
        var board = new SackScoreboard();
        var una = new SeqNumber(1000);
        var max = new SeqNumber(20000);
        static TcpSackBlock B(uint l, uint r) => new(new SeqNumber(l), new SeqNumber(r));
        Assert.True(board.Update(new TcpSackBlocks(2, B(3000, 4000), B(6000, 7000)), una, max));
        Assert.False(board.Update(new TcpSackBlocks(1, B(3000, 3500)), una, max)); // nothing new
        Assert.True(board.Update(new TcpSackBlocks(1, B(4000, 5000)), una, max));  // touches: merged
        Assert.False(board.Update(new TcpSackBlocks(1, B(20000, 30000)), una, max)); // beyond what was sent
        Assert.Equal(2, board.RangeCount);
        Assert.Equal(3000, board.SackedBytes);
        Assert.Equal(new SeqNumber(7000), board.HighSack);
        Assert.True(board.TryGetHole(una, out var start, out int length));
        Assert.Equal((new SeqNumber(1000), 2000), (start, length));
        Assert.True(board.TryGetHole(new SeqNumber(3500), out start, out length));
        Assert.Equal((new SeqNumber(5000), 1000), (start, length));
        Assert.False(board.TryGetHole(new SeqNumber(6500), out _, out _));
        Assert.Equal(2000, board.SackedBetween(new SeqNumber(3500), new SeqNumber(6500)));
        board.Prune(new SeqNumber(3500));
        Assert.Equal(2500, board.SackedBytes);
        Assert.True(board.TryGetSackedRange(new SeqNumber(3600), out var right));
        Assert.Equal(new SeqNumber(5000), right);
    }

    [Fact]
    public void TheReceiverReportsTheLatestBlockFirst()
    {
        var pool = new Demikernel.Runtime.BufferPool();
        var q = new ReassemblyQueue();
        var s0 = new SeqNumber(1000);
        Assert.True(q.Insert(s0 + 100, pool.Rent(50), pool));
        Assert.True(q.Insert(s0 + 150, pool.Rent(50), pool)); // contiguous with the first: one block
        Assert.True(q.Insert(s0 + 400, pool.Rent(50), pool));
        Assert.True(q.Insert(s0 + 300, pool.Rent(50), pool));
        var blocks = q.SackBlocks(s0 + 300);
        Assert.Equal(3, blocks.Count);
        Assert.Equal(new TcpSackBlock(s0 + 300, s0 + 350), blocks[0]);
        Assert.Equal(new TcpSackBlock(s0 + 400, s0 + 450), blocks[1]);
        Assert.Equal(new TcpSackBlock(s0 + 100, s0 + 200), blocks[2]);
        q.Clear(pool);
    }

    [Fact]
    public void BothEndsNegotiateSackAndTheSenderRepairsSeveralHolesInOneRoundTrip()
    {
        int data = 0;
        var drop = new HashSet<int> { 20, 23, 26, 29 };
        using var p = new TcpPair(link: new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 1_000_000_000 },
            wrapA: phy => new FaultInjector(phy, new FaultOptions
            {
                DropWhen = f => FrameTcp.Read(f) is { IsTcp: true, PayloadLength: > 0 } && drop.Contains(++data),
            }, 1));
        var (client, server) = p.Connect();
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        Push(p.A, client, bytes);
        Assert.Equal(bytes, PopExactly(p.B, server, bytes.Length));
        var stats = p.A.Interface.Tcp.Stats;
        Assert.Equal(1, stats.FastRetransmits); // one recovery for all four holes
        Assert.Equal(0, stats.Timeouts);
        Assert.Equal(4, stats.Retransmissions); // each hole once, nothing that had arrived
    }

    [Fact]
    public void WithSackOffTheSameLossesStillRecoverThroughNewRenoPartialAcks()
    {
        int data = 0;
        var drop = new HashSet<int> { 20, 23, 26, 29 };
        using var p = new TcpPair(link: new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 1_000_000_000 },
            tcp: t => t with { Sack = false },
            wrapA: phy => new FaultInjector(phy, new FaultOptions
            {
                DropWhen = f => FrameTcp.Read(f) is { IsTcp: true, PayloadLength: > 0 } && drop.Contains(++data),
            }, 1));
        var (client, server) = p.Connect();
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        Push(p.A, client, bytes);
        Assert.Equal(bytes, PopExactly(p.B, server, bytes.Length));
        Assert.Equal(0, p.A.Interface.Tcp.Stats.Timeouts);
        Assert.Equal(4, p.A.Interface.Tcp.Stats.Retransmissions);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ManyLossyConnectionsAllFinish(int seed)
    {
        // Eight connections through recovery, tail-loss probes and TIME-WAIT at once (a timer left set across
        // TIME-WAIT once livelocked exactly this).
        var options = new NetSimOptions
        {
            Connections = 8, Bytes = 500_000, Loss = 0.05, Reorder = 0.05, Duplicate = 0.01, Corrupt = 0.001, Seed = seed,
        };
        var result = NetSimRunner.Run(options);
        Assert.True(result.Ok, result.Report(options));
    }
}
