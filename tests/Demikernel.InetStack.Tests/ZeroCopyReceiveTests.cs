using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>
/// A device that lends the stack its own receive memory (<see cref="DeviceMemory"/>), as catnip lends an mbuf: each
/// received frame is a foreign <see cref="DemiBuffer"/> over a slot of the device's pinned memory, returned to the
/// device when its last reference goes. The stack must carry it to <c>pop</c> without copying a payload byte, give every slot back, and keep stale SGA
/// handles detectable.
/// </summary>
public class ZeroCopyReceiveTests
{
    private static (SimHarness Sim, SimHarness.Host A, SimHarness.Host B, DeviceMemory Device, QDesc Client, QDesc Server) Connected(int slots)
    {
        DeviceMemory? device = null;
        var sim = new SimHarness();
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01");
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02", wrap: phy => device = new DeviceMemory(phy, receiveSlots: slots, applicationSlots: 0));
        var (client, server) = SimHarness.Connect(a, b);
        return (sim, a, b, device!, client, server);
    }

    [Fact]
    public void ReceivedPayloadsReachPopInTheDevicesMemoryAndEverySlotGoesBack()
    {
        var (sim, a, b, device, client, server) = Connected(slots: 512);
        using var _ = sim;
        var data = new byte[300_000];
        new Random(11).NextBytes(data);
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Bytes(data), out var push));
        a.LibOS.WaitOk(push);
        var received = new List<byte>();
        int pops = 0;
        while (received.Count < data.Length)
        {
            Assert.Equal(0, b.LibOS.Pop(server, out var pop));
            var sga = b.LibOS.WaitOk(pop).Sga;
            for (var segment = sga.First; segment is not null; segment = segment.Next)
                Assert.True(device.Owns(segment), "a popped segment is not the device's memory: the payload was copied");
            received.AddRange(sga.ToArray());
            Assert.Equal(0, b.LibOS.SgaFree(sga));
            pops++;
        }
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.True(pops > 100, $"{pops} pops");
        Assert.Equal(0, b.Interface.Stats.RxPayloadBytesCopied);
        Assert.Equal(0, device.ReceiveFallbacks);
        Assert.True(device.FramesLent > pops, $"{device.FramesLent} frames lent for {pops} pops");

        // Closing both ends: frames still in flight (ACKs, FIN) come back to the device too.
        Assert.Equal(0, a.LibOS.Close(client));
        Assert.Equal(0, b.LibOS.Close(server));
        sim.RunUntil(() => device.ReceiveSlotsInUse == 0, TimeSpan.FromSeconds(5));
        Assert.Equal(0, device.ReceiveSlotsInUse);
    }

    [Fact]
    public void AFreedLentBufferIsStaleAndGoesBackOnce()
    {
        var (sim, a, b, device, client, server) = Connected(slots: 64);
        using var _ = sim;
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text("lent"), out var push));
        a.LibOS.WaitOk(push);
        Assert.Equal(0, b.LibOS.Pop(server, out var pop));
        var sga = b.LibOS.WaitOk(pop).Sga;
        Assert.True(device.Owns(sga.First));
        Assert.Equal("lent", sga.AsText());
        // Memory<byte> over device memory works as over an array (SslStream reads through it), with no array behind it.
        var memory = sga.First.Memory;
        Assert.True(memory.Span.SequenceEqual(sga.First.Span));
        Assert.False(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(memory, out var array), $"an array of {array.Count} bytes behind device memory");
        Assert.Equal((byte)'e', memory.Slice(1, 1).Span[0]);
        int inUse = device.ReceiveSlotsInUse;
        Assert.Equal(0, b.LibOS.SgaFree(sga));
        Assert.Equal(inUse - 1, device.ReceiveSlotsInUse);
        Assert.False(sga.IsValid);
        Assert.Throws<ObjectDisposedException>(() => sga.First);
        Assert.Equal(Errno.EINVAL, b.LibOS.SgaFree(sga)); // double free refused, the slot is not given back twice
        Assert.Equal(inUse - 1, device.ReceiveSlotsInUse);

        // The same buffer object carries the next frame under a new generation; the old handle stays stale.
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text("next"), out push));
        a.LibOS.WaitOk(push);
        Assert.Equal(0, b.LibOS.Pop(server, out pop));
        var next = b.LibOS.WaitOk(pop).Sga;
        Assert.Equal("next", next.AsText());
        Assert.False(sga.IsValid);
        Assert.Equal(0, b.LibOS.SgaFree(next));
    }

    [Fact]
    public void APopSmallerThanASegmentIsTheOneCopyAndIsCounted()
    {
        var (sim, a, b, device, client, server) = Connected(slots: 64);
        using var _ = sim;
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text(new string('x', 1000)), out var push));
        a.LibOS.WaitOk(push);
        int got = 0;
        while (got < 1000)
        {
            Assert.Equal(0, b.LibOS.Pop(server, out var pop, size: 300));
            var sga = b.LibOS.WaitOk(pop).Sga;
            got += sga.TotalLength;
            Assert.Equal(0, b.LibOS.SgaFree(sga));
        }
        Assert.Equal(900, b.Interface.Stats.RxPayloadBytesCopied); // three 300-byte pops copied, the last 100 bytes popped in place
        Assert.Equal(0, device.ReceiveFallbacks);
    }

    [Fact]
    public void WithoutAFreeSlotTheDeviceHandsUpItsCopyAndTheTransferStaysIntact()
    {
        var (sim, a, b, device, client, server) = Connected(slots: 4);
        using var _ = sim;
        var data = new byte[100_000];
        new Random(5).NextBytes(data);
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Bytes(data), out var push));
        a.LibOS.WaitOk(push);
        // Hold every pop until the end, so the device runs out of slots.
        var held = new List<Sga>();
        int got = 0;
        while (got < data.Length)
        {
            Assert.Equal(0, b.LibOS.Pop(server, out var pop));
            var sga = b.LibOS.WaitOk(pop).Sga;
            got += sga.TotalLength;
            held.Add(sga);
        }
        var received = held.SelectMany(s => s.ToArray()).ToArray();
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received));
        Assert.True(device.ReceiveFallbacks > 0, "the device never ran out of slots");
        foreach (var sga in held) Assert.Equal(0, b.LibOS.SgaFree(sga));
        Assert.Equal(0, device.ReceiveSlotsInUse); // the lent ones came back with the SGAs (pure ACKs were dropped at once)
    }
}
