using System.Runtime.InteropServices;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Phy;

/// <summary>
/// Gives any device memory of its own that it lends, as a DMA-capable NIC does (catnip's mbufs), so that the stack's
/// zero-copy paths run over the simulated network (tests, <c>bench/NetSim --device-memory</c>):
/// <code>
///   inner.Receive ─▶ frame written into a receive slot (the device's own write, as DMA) ─▶ lent up the stack as a
///                    foreign DemiBuffer; the slot comes back when the last reference goes (SgaFree, the stack's drop)
///   SgaAlloc ──────▶ an application slot (IApplicationBufferSource), foreign likewise
///   TCP segment ───▶ TryTransmitChained(headers, payload in a slot) ─▶ the device gathers both onto the wire
/// </code>
/// Without a free slot a frame goes up in the pool buffer and SgaAlloc gets a managed one (both counted). Slots are
/// slices of pinned arrays; the buffer objects are reused, so nothing is allocated per frame.
/// </summary>
internal sealed class DeviceMemory : PhysicalLayerDecorator, IPhysicalLayer, IApplicationBufferSource
{
    /// <summary>One size of slot: pinned memory carved into slots, each lent as a foreign buffer.</summary>
    private sealed class Slots : IBufferOwner
    {
        private readonly byte[] _memory;
        private readonly nint _base;
        private readonly Stack<int> _free = new();
        private readonly Stack<DemiBuffer> _idle = new();

        public Slots(int count, int size)
        {
            Size = size;
            _memory = GC.AllocateArray<byte>(Math.Max(1, count * size), pinned: true);
            _base = Marshal.UnsafeAddrOfPinnedArrayElement(_memory, 0);
            for (int i = count - 1; i >= 0; i--) _free.Push(i);
        }

        public int Size { get; }
        public int InUse { get; private set; }
        public long Returned { get; private set; }

        public bool Owns(DemiBuffer buffer) =>
            ReferenceEquals(buffer.Owner, this) && buffer.DataAddress >= _base && buffer.DataAddress < _base + _memory.Length;

        /// <summary>A free slot as a buffer with <paramref name="length"/> bytes of data after <paramref name="headroom"/>, or null.</summary>
        public DemiBuffer? TryLend(int headroom, int length)
        {
            if (headroom + length > Size || !_free.TryPop(out int slot)) return null;
            var buffer = _idle.TryPop(out var b) ? b : new DemiBuffer(this);
            buffer.AttachForeign(_base + slot * Size, Size, headroom, length, slot);
            InUse++;
            return buffer;
        }

        public void Return(DemiBuffer buffer)
        {
            _free.Push((int)buffer.Handle);
            _idle.Push(buffer);
            InUse--;
            Returned++;
        }
    }

    private readonly Slots _receive;
    private readonly Slots _application;
    private readonly DemiBuffer?[] _burst;
    private readonly byte[] _wire; // where the device gathers a chained frame for the link

    /// <param name="inner">The device that carries the frames (a simulated port).</param>
    /// <param name="receiveSlots">Frames that may be lent up the stack at once (0: receive copies as before).</param>
    /// <param name="applicationSlots">SgaAlloc buffers it may hand out at once (0: none; TCP then copies every payload).</param>
    /// <param name="applicationSlotSize">Data bytes of an application slot (after the headroom).</param>
    public DeviceMemory(IPhysicalLayer inner, int receiveSlots, int applicationSlots, int applicationSlotSize = 16 * 1024) : base(inner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(receiveSlots);
        ArgumentOutOfRangeException.ThrowIfNegative(applicationSlots);
        int frame = inner.Capabilities.Mtu + Wire.EthernetFrame.HeaderLength;
        _receive = new Slots(receiveSlots, BufferPool.DefaultHeadroom + frame);
        _application = new Slots(applicationSlots, BufferPool.DefaultHeadroom + applicationSlotSize);
        _burst = new DemiBuffer?[Math.Max(1, inner.Capabilities.MaxBurst)];
        _wire = new byte[frame];
        Capabilities = inner.Capabilities with { ChainedTransmit = applicationSlots > 0 };
    }

    public override PhyCapabilities Capabilities { get; }

    /// <summary>Received frames lent up the stack in a receive slot.</summary>
    public long FramesLent { get; private set; }
    /// <summary>Received frames handed up in the pool buffer because no receive slot was free.</summary>
    public long ReceiveFallbacks { get; private set; }
    /// <summary>SgaAlloc buffers handed out in an application slot.</summary>
    public long BuffersRented { get; private set; }
    /// <summary>SgaAlloc requests that got a managed buffer (too large, or no slot free).</summary>
    public long RentFallbacks { get; private set; }
    /// <summary>Frames sent as headers plus a payload left in a slot.</summary>
    public long FramesChained { get; private set; }
    public long ChainedPayloadBytes { get; private set; }
    /// <summary>Slots lent and not yet back (receive, application).</summary>
    public int ReceiveSlotsInUse => _receive.InUse;
    public int ApplicationSlotsInUse => _application.InUse;
    public long ApplicationSlotsReturned => _application.Returned;

    /// <summary>True if <paramref name="buffer"/>'s bytes are this device's memory.</summary>
    public bool Owns(DemiBuffer buffer) => _receive.Owns(buffer) || _application.Owns(buffer);

    public override void Attach(DemiLibOS libos)
    {
        base.Attach(libos);
        if (Capabilities.ChainedTransmit) libos.Pool.ApplicationSource = this;
    }

    public DemiBuffer? TryRent(int length, int headroom)
    {
        var buffer = _application.TryLend(headroom, length);
        if (buffer is null) RentFallbacks++;
        else BuffersRented++;
        return buffer;
    }

    public override int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        int n = Inner.Receive(pool, _burst.AsSpan(0, Math.Min(frames.Length, _burst.Length)));
        for (int i = 0; i < n; i++)
        {
            var frame = _burst[i]!;
            _burst[i] = null;
            var lent = _receive.TryLend(pool.Headroom, frame.Length);
            if (lent is null)
            {
                ReceiveFallbacks++;
                frames[i] = frame;
                continue;
            }
            frame.Span.CopyTo(lent.Span); // the device's own write into its memory (the simulated DMA)
            pool.Discard(frame);
            FramesLent++;
            frames[i] = lent;
        }
        return n;
    }

    public bool TryTransmitChained(ReadOnlySpan<byte> headers, DemiBuffer payload, int offset, int length)
    {
        if (!Owns(payload) || headers.Length + length > _wire.Length) return false;
        headers.CopyTo(_wire);
        payload.Span.Slice(offset, length).CopyTo(_wire.AsSpan(headers.Length)); // the device's gather onto the link
        // Taken either way: a frame the link drops is lost like any other (TCP resends it), not sent twice.
        _ = Inner.Transmit(_wire.AsSpan(0, headers.Length + length));
        FramesChained++;
        ChainedPayloadBytes += length;
        return true;
    }
}
