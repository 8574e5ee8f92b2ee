using Demikernel.Runtime;

namespace Demikernel.InetStack.Phy;

/// <summary>
/// Checksums a device computes or verifies itself. A set flag means software skips that work: on receive the
/// device has already dropped frames with bad checksums; on transmit it fills the field in.
/// </summary>
[Flags]
internal enum ChecksumOffload
{
    None = 0,
    Ipv4Rx = 1 << 0,
    Ipv4Tx = 1 << 1,
    UdpRx = 1 << 2,
    UdpTx = 1 << 3,
    TcpRx = 1 << 4,
    TcpTx = 1 << 5,
    IcmpRx = 1 << 6,
    IcmpTx = 1 << 7,
}

/// <summary>What a device can carry and what it does for us.</summary>
internal sealed record PhyCapabilities
{
    /// <summary>Largest IP packet (Ethernet payload) the device carries.</summary>
    public int Mtu { get; init; } = 1500;

    public ChecksumOffload Offloads { get; init; }

    /// <summary>Frames the stack asks for per receive call.</summary>
    public int MaxBurst { get; init; } = 32;

    /// <summary>
    /// The device sends a frame as headers plus a payload left in a buffer of its own (<see cref="IPhysicalLayer.TryTransmitChained"/>):
    /// catnip chains a header mbuf to the payload's mbuf. False: every payload is copied into a frame.
    /// </summary>
    public bool ChainedTransmit { get; init; }

    public bool Offloaded(ChecksumOffload flag) => (Offloads & flag) == flag;
}

/// <summary>
/// The seam under the stack: Ethernet frames in and out.
/// <code>
///   InetStack  ── Transmit(frame) ──▶  IPhysicalLayer  ──▶ wire (simulated link, AF_PACKET, DPDK, ...)
///              ◀─ Receive(pool, burst) ─┘
/// </code>
/// Decorators (<see cref="PcapWriter"/>, <see cref="Tracer"/>, <see cref="FaultInjector"/>) wrap any device.
/// Single-threaded: the libOS thread is the only caller, except of <see cref="Wake"/>.
/// </summary>
internal interface IPhysicalLayer : IDisposable
{
    PhyCapabilities Capabilities { get; }

    /// <summary>
    /// Sends one frame (Ethernet header onwards, no FCS). The bytes are read during the call only: the caller keeps its
    /// buffer. Returns false if the device dropped the frame (transmit queue full, link down).
    /// </summary>
    bool Transmit(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Device memory for one frame of <paramref name="length"/> bytes, for the stack to build the frame in place (no copy
    /// on <see cref="CommitTransmit"/>), or an empty span if the device offers none (then build it elsewhere and call
    /// <see cref="Transmit"/>). The span is valid until the next call on the device; a reservation that is not committed
    /// is simply reused.
    /// </summary>
    Span<byte> TryReserveTransmit(int length) => default;

    /// <summary>Sends the first <paramref name="length"/> bytes of the last <see cref="TryReserveTransmit"/> span; false if dropped.</summary>
    bool CommitTransmit(int length) => false;

    /// <summary>
    /// Sends one frame made of <paramref name="headers"/> (copied: Ethernet, IPv4, TCP, complete with checksums) followed
    /// by <paramref name="length"/> bytes of <paramref name="payload"/>'s data from <paramref name="offset"/>, left where
    /// they are: the device keeps its own reference on the payload's memory until it has sent it, so the caller may
    /// release the buffer at any time. False if the payload is not memory the device can send from (not its own
    /// buffer, or it has no room left): then build and send a whole frame instead.
    /// </summary>
    bool TryTransmitChained(ReadOnlySpan<byte> headers, DemiBuffer payload, int offset, int length) => false;

    /// <summary>
    /// Receives up to <c>frames.Length</c> frames, each into a buffer rented from <paramref name="pool"/> (so it has the
    /// pool's headroom in front). The caller owns the returned buffers. Never blocks; returns the number received.
    /// </summary>
    int Receive(BufferPool pool, Span<DemiBuffer?> frames);

    /// <summary>
    /// Sends what the device has queued (a device that batches transmits until its next receive or block): the libOS
    /// pass that produced it is over. Default: nothing (the device sends at once, or at its next receive).
    /// </summary>
    void FlushTransmit() { }

    /// <summary>Waits until a frame may be ready, <paramref name="timeout"/> passes (null = no limit) or <see cref="Wake"/> is called.</summary>
    void Block(TimeSpan? timeout);

    /// <summary>
    /// Makes a <see cref="Block"/> in progress return promptly, or the next one. The one member any thread may call:
    /// the libOS calls it when another thread posts work while the libOS thread blocks here (see
    /// <see cref="INetworkTransport.Wake"/>).
    /// </summary>
    void Wake();

    /// <summary>Called once by the transport that owns the device, with the libOS it runs in.</summary>
    void Attach(DemiLibOS libos) { }

    /// <summary>
    /// The earliest timestamp (of the libOS clock) at which the device has work of its own — a simulated frame in
    /// flight, another simulated host's timer — so a virtual clock never jumps past it. Real devices have none.
    /// </summary>
    bool TryGetNextDeadline(out long due)
    {
        due = 0;
        return false;
    }
}

/// <summary>A decorator base: forwards everything to <see cref="Inner"/>.</summary>
internal abstract class PhysicalLayerDecorator : IPhysicalLayer
{
    protected PhysicalLayerDecorator(IPhysicalLayer inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    public IPhysicalLayer Inner { get; }

    public virtual PhyCapabilities Capabilities => Inner.Capabilities;

    public virtual bool Transmit(ReadOnlySpan<byte> frame) => Inner.Transmit(frame);

    public virtual int Receive(BufferPool pool, Span<DemiBuffer?> frames) => Inner.Receive(pool, frames);

    public virtual void FlushTransmit() => Inner.FlushTransmit();

    public virtual void Block(TimeSpan? timeout) => Inner.Block(timeout);

    public virtual void Wake() => Inner.Wake();

    public virtual void Attach(DemiLibOS libos) => Inner.Attach(libos);

    public virtual bool TryGetNextDeadline(out long due) => Inner.TryGetNextDeadline(out due);

    public virtual void Dispose() => Inner.Dispose();
}
