using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>
/// A device that hands the application its own memory for <c>SgaAlloc</c> and sends a frame as headers plus a payload
/// left in that memory, as catnip does with mbufs: TCP must send every segment that lies in one such buffer chained,
/// without copying a payload byte, and the buffers must go back once acknowledged and freed.
/// </summary>
public class ZeroCopyTransmitTests
{
    private sealed class ChainingDevice : PhysicalLayerDecorator, IPhysicalLayer, IBufferOwner, IApplicationBufferSource
    {
        private const int SlotSize = 16 * 1024 + 128;
        private readonly byte[] _memory;
        private readonly nint _base;
        private readonly Stack<int> _freeSlots = new();
        private readonly Stack<DemiBuffer> _idle = new();
        private readonly byte[] _wire = new byte[2048]; // the device's gather into the frame it puts on the link

        public ChainingDevice(IPhysicalLayer inner, int slots) : base(inner)
        {
            _memory = GC.AllocateArray<byte>(slots * SlotSize, pinned: true);
            _base = Marshal.UnsafeAddrOfPinnedArrayElement(_memory, 0);
            for (int i = slots - 1; i >= 0; i--) _freeSlots.Push(i);
            Capabilities = inner.Capabilities with { ChainedTransmit = true };
        }

        public override PhyCapabilities Capabilities { get; }
        public int Rented { get; private set; }
        public int Returned { get; private set; }
        public int Chained { get; private set; }
        public int ChainedPayloadBytes { get; private set; }

        public override void Attach(DemiLibOS libos)
        {
            base.Attach(libos);
            libos.Pool.ApplicationSource = this;
        }

        public DemiBuffer? TryRent(int length, int headroom)
        {
            if (headroom + length > SlotSize || !_freeSlots.TryPop(out int slot)) return null;
            var buffer = _idle.TryPop(out var b) ? b : new DemiBuffer(this);
            buffer.AttachForeign(_base + slot * SlotSize, SlotSize, headroom, length, slot);
            Rented++;
            return buffer;
        }

        void IBufferOwner.Return(DemiBuffer buffer)
        {
            Returned++;
            _freeSlots.Push((int)buffer.Handle);
            _idle.Push(buffer);
        }

        public bool TryTransmitChained(ReadOnlySpan<byte> headers, DemiBuffer payload, int offset, int length)
        {
            if (!ReferenceEquals(payload.Owner, this)) return false;
            headers.CopyTo(_wire);
            payload.Span.Slice(offset, length).CopyTo(_wire.AsSpan(headers.Length));
            Chained++;
            ChainedPayloadBytes += length;
            return Inner.Transmit(_wire.AsSpan(0, headers.Length + length));
        }
    }

    [Fact]
    public void PushedPayloadsReachTheDeviceInTheApplicationsBuffersWithoutACopy()
    {
        ChainingDevice? device = null;
        using var sim = new SimHarness();
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01", wrap: phy => device = new ChainingDevice(phy, slots: 64));
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02");
        Assert.Equal(0, b.LibOS.Socket(SocketKind.Stream, out var listener));
        Assert.Equal(0, b.LibOS.Bind(listener, new IPv4Endpoint(0, 7000)));
        Assert.Equal(0, b.LibOS.Listen(listener, 4));
        Assert.Equal(0, b.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, a.LibOS.Connect(client, b.Endpoint(7000), out var connect));
        a.LibOS.WaitOk(connect);
        var server = b.LibOS.WaitOk(accept).AcceptedQd;
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
                received.AddRange(r.Sga.ToArray());
                b.LibOS.SgaFree(r.Sga);
            }
        }
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.Equal(copiedBefore, a.Interface.Stats.TxPayloadBytesCopied);
        Assert.Equal(data.Length, device.ChainedPayloadBytes);
        Assert.Equal(device.Chained, a.Interface.Tcp.Stats.SegmentsSentChained);
        Assert.Equal(0, a.Interface.Tcp.Stats.Retransmissions);
        // Everything is acknowledged: every buffer went back to the device.
        sim.RunUntil(() => device.Returned == device.Rented, TimeSpan.FromSeconds(5));
        Assert.Equal(device.Rented, device.Returned);
    }

    [Fact]
    public void ASegmentSpanningTwoBuffersIsCopiedAndCounted()
    {
        ChainingDevice? device = null;
        using var sim = new SimHarness();
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01", wrap: phy => device = new ChainingDevice(phy, slots: 8));
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02");
        Assert.Equal(0, b.LibOS.Socket(SocketKind.Stream, out var listener));
        Assert.Equal(0, b.LibOS.Bind(listener, new IPv4Endpoint(0, 7000)));
        Assert.Equal(0, b.LibOS.Listen(listener, 4));
        Assert.Equal(0, b.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, a.LibOS.Connect(client, b.Endpoint(7000), out var connect));
        a.LibOS.WaitOk(connect);
        var server = b.LibOS.WaitOk(accept).AcceptedQd;

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
        Assert.Equal(0, device!.Chained);
    }
}
