using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>
/// A device that hands the application its own memory for <c>SgaAlloc</c> (<see cref="DeviceMemory"/>) and sends a frame as headers plus a payload
/// left in that memory, as catnip does with mbufs: TCP must send every segment that lies in one such buffer chained,
/// without copying a payload byte, and the buffers must go back once acknowledged and freed.
/// </summary>
public class ZeroCopyTransmitTests
{
    [Fact]
    public void PushedPayloadsReachTheDeviceInTheApplicationsBuffersAndPopWithoutACopy()
    {
        DeviceMemory? device = null;
        using var sim = new SimHarness();
        DeviceMemory? receiver = null;
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01", wrap: phy => device = new DeviceMemory(phy, receiveSlots: 0, applicationSlots: 64));
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02", wrap: phy => receiver = new DeviceMemory(phy, receiveSlots: 512, applicationSlots: 0));
        var (client, server) = SimHarness.Connect(a, b);
        Assert.NotNull(device);

        var data = new byte[320_000];
        new Random(3).NextBytes(data);
        long copiedBefore = a.Interface.Stats.TxPayloadBytesCopied; // the handshake carries no payload
        const int Chunk = 16_000;
        var received = new List<byte>();
        for (int sent = 0; sent < data.Length; sent += Chunk)
        {
            var sga = a.LibOS.SgaAlloc(Chunk);
            Assert.True(sga.First.IsForeign, "SgaAlloc did not hand out device memory");
            data.AsSpan(sent, Chunk).CopyTo(sga.First.Span);
            Assert.Equal(0, a.LibOS.Push(client, sga, out var push));
            Assert.Equal(0, a.LibOS.SgaFree(sga)); // TCP keeps its own reference until the bytes are acknowledged
            a.LibOS.WaitOk(push);
            while (received.Count < sent + Chunk)
            {
                Assert.Equal(0, b.LibOS.Pop(server, out var pop));
                var r = b.LibOS.WaitOk(pop);
                Assert.True(receiver!.Owns(r.Sga.First), "a popped payload is not in the receiving device's memory");
                received.AddRange(r.Sga.ToArray());
                b.LibOS.SgaFree(r.Sga);
            }
        }
        // End to end: no payload byte copied by either stack between a's push and b's pop.
        Assert.Equal(0, b.Interface.Stats.RxPayloadBytesCopied);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.Equal(copiedBefore, a.Interface.Stats.TxPayloadBytesCopied);
        Assert.Equal(data.Length, device.ChainedPayloadBytes);
        Assert.Equal(device.FramesChained, a.Interface.Tcp.Stats.SegmentsSentChained);
        Assert.Equal(0, a.Interface.Tcp.Stats.Retransmissions);
        // Everything is acknowledged: every buffer went back to the device.
        sim.RunUntil(() => device.ApplicationSlotsInUse == 0, TimeSpan.FromSeconds(5));
        Assert.Equal(0, device.ApplicationSlotsInUse);
        Assert.Equal(data.Length / Chunk, device.BuffersRented);
    }

    [Fact]
    public void ASegmentSpanningTwoBuffersIsCopiedAndCounted()
    {
        DeviceMemory? device = null;
        using var sim = new SimHarness();
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01", wrap: phy => device = new DeviceMemory(phy, receiveSlots: 0, applicationSlots: 8));
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02");
        var (client, server) = SimHarness.Connect(a, b);

        // Two 100-byte segments in one SGA go out as one 200-byte TCP segment: gathered, so copied.
        var sga = a.LibOS.SgaAlloc([100, 100]);
        sga.Segment(0).Span.Fill((byte)'x');
        sga.Segment(1).Span.Fill((byte)'y');
        Assert.Equal(0, a.LibOS.Push(client, sga, out var push));
        a.LibOS.WaitOk(push);
        Assert.Equal(0, a.LibOS.SgaFree(sga));
        int got = 0;
        while (got < 200)
        {
            Assert.Equal(0, b.LibOS.Pop(server, out var pop));
            var r = b.LibOS.WaitOk(pop);
            got += r.Sga.TotalLength;
            b.LibOS.SgaFree(r.Sga);
        }
        Assert.Equal(200, a.Interface.Stats.TxPayloadBytesCopied);
        Assert.Equal(0, device!.FramesChained);
    }
}
