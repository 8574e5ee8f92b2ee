using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>How the AF_XDP socket is bound to its queue (<c>raw_socket.xdp_bind</c>).</summary>
internal enum XdpBindMode
{
    /// <summary>Zero copy if the driver offers it, else copy.</summary>
    Auto = 0,
    Copy = 1,
    ZeroCopy = 2,
}

/// <summary>How the XDP program is attached (<c>raw_socket.xdp_attach</c>).</summary>
internal enum XdpAttachMode
{
    /// <summary>Native if the driver has XDP (veth does), else generic.</summary>
    Auto = 0,
    Generic = 1,
    Native = 2,
}

internal sealed record XdpOptions
{
    public required string InterfaceName { get; init; }
    public int? Mtu { get; init; }
    public uint QueueId { get; init; }
    public XdpBindMode Bind { get; init; }
    public XdpAttachMode Attach { get; init; }
    public int Burst { get; init; } = 32;
    /// <summary>UMEM frames (half receive, half transmit) of <see cref="FrameSize"/> bytes; ring sizes follow.</summary>
    public int Frames { get; init; } = 4096;
    public int FrameSize { get; init; } = 2048;
    public int TransmitBatch { get; init; } = 32;
    /// <summary>
    /// Received frames go up the stack in their own UMEM frames (zero copy up to <c>pop</c>), back on the fill ring when
    /// the last reference goes (<c>raw_socket.rx_zero_copy</c>; off only to compare).
    /// </summary>
    public bool ZeroCopyReceive { get; init; } = true;
    /// <summary>Most UMEM frames lent up the stack at once, past which frames are copied (default: half the receive frames).</summary>
    public int? LoanLimit { get; init; }
}

internal sealed class XdpStats
{
    public long FramesReceived { get; internal set; }
    public long FramesTransmitted { get; internal set; }
    public long TransmitFailures { get; internal set; }
    public long TransmitKicks { get; internal set; }
    /// <summary>Frames larger than a pool buffer's room (cannot happen at the interface's MTU).</summary>
    public long Dropped { get; internal set; }
    /// <summary>Frames that went up the stack in their UMEM frame (zero copy).</summary>
    public long RxFramesLent { get; internal set; }
    /// <summary>Frames copied into pool buffers (zero copy off, or the loan limit reached).</summary>
    public long RxFramesCopied { get; internal set; }
    /// <summary>Fill-ring submissions (each gives back every frame returned since the last).</summary>
    public long FillSubmissions { get; internal set; }
    public int LastError { get; internal set; }
}

/// <summary>
/// catpowder's AF_XDP device: an XDP socket on one queue of an interface, with libxdp's default XDP program
/// redirecting that queue into the socket (attached on open, detached on dispose).
/// <code>
///   UMEM (one mmap'd area, 2 KB frames): first half on the fill ring, second half the transmit pool
///   Receive(pool, burst): rx ring → each frame lent up the stack in its UMEM frame (zero copy, XdpPhysicalLayer.ZeroCopy.cs)
///       → back on the fill ring, in one submission per poll, when its last reference goes; or (rx_zero_copy off: a
///       loan limit of 0; or past the loan limit) copied into a pool buffer, its UMEM frame back at the next poll
///   TryReserveTransmit: a free UMEM frame; the stack builds its frame there; CommitTransmit: a tx descriptor;
///       every TransmitBatch frames, each receive poll and before blocking: submit + one sendto kick (when the kernel
///       asks for a wakeup), completions reaped back into the transmit pool
///   Block(timeout): ppoll(POLLIN) on the XDP socket and an eventfd (Wake)
/// </code>
/// No offloads: the kernel's virtio-style metadata does not come with XDP frames, so a Linux peer on veth must not
/// leave checksums partial (<c>ethtool -K PEER tx off</c>), and super-frames cannot arrive (XDP on veth turns the
/// peer's GSO off).
/// </summary>
internal sealed unsafe partial class XdpPhysicalLayer : IPhysicalLayer
{
    private readonly nint _xsk;
    private readonly int _burst;
    private readonly int _transmitBatch;
    private byte* _reserved;
    private int _requested;
    private bool _disposed;

    private XdpPhysicalLayer(nint xsk, InterfaceInfo info, string name, int mtu, int burst, int transmitBatch, int frames, int frameSize,
        bool zeroCopyReceive, int loanLimit)
    {
        _xsk = xsk;
        _burst = burst;
        _transmitBatch = transmitBatch;
        _area = Xsk.Area(xsk);
        _frameSize = frameSize;
        _areaSize = (ulong)frames * (ulong)frameSize;
        // Copying receive is the zero-copy path with nothing lent: every frame copied into a pool buffer.
        _loanLimit = zeroCopyReceive ? loanLimit : 0;
        _rxAddresses = (ulong*)NativeMemory.AllocZeroed((nuint)(burst * sizeof(ulong)));
        _rxLengths = (uint*)NativeMemory.AllocZeroed((nuint)(burst * sizeof(uint)));
        // Every receive frame can be waiting here at once (lent ones coming back, copied or dropped ones).
        _refillCapacity = frames / 2 + burst;
        _refill = (ulong*)NativeMemory.AllocZeroed((nuint)(_refillCapacity * sizeof(ulong)));
        InterfaceName = name;
        InterfaceUp = info.Up;
        KernelAddress = info.KernelIpv4Address == 0 ? null : new Ipv4Address(info.KernelIpv4Address);
        HardwareAddress = new MacAddress(info.HardwareAddress);
        ZeroCopy = Xsk.ZeroCopy(xsk) == 1;
        Capabilities = new PhyCapabilities { Mtu = mtu, MaxBurst = burst, Offloads = ChecksumOffload.None };
    }

    /// <summary>Opens the socket and attaches the XDP program; throws <see cref="PacketSocketException"/> naming what failed.</summary>
    public static XdpPhysicalLayer Open(XdpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var info = PacketSocket.Describe(options.InterfaceName);
        int mtu = options.Mtu ?? info.Mtu;
        if (mtu < 68 || mtu > info.Mtu)
            throw new ArgumentException($"MTU {mtu} is outside 68..{info.Mtu} (the MTU of '{options.InterfaceName}')", nameof(options));
        if (mtu + EthernetFrame.HeaderLength > options.FrameSize)
            throw new ArgumentException($"MTU {mtu} does not fit an AF_XDP frame of {options.FrameSize} bytes", nameof(options));
        uint ring = (uint)options.Frames / 2;
        nint xsk = Xsk.OpenOrThrow(options.InterfaceName, options.QueueId, (int)options.Bind, (int)options.Attach,
            (uint)options.Frames, (uint)options.FrameSize, ring);
        int loanLimit = Math.Clamp(options.LoanLimit ?? options.Frames / 4, 0, Math.Max(0, options.Frames / 2 - 2 * options.Burst));
        return new XdpPhysicalLayer(xsk, info, options.InterfaceName, mtu, options.Burst, Math.Max(1, options.TransmitBatch),
            options.Frames, options.FrameSize, options.ZeroCopyReceive, loanLimit);
    }

    public PhyCapabilities Capabilities { get; }
    public MacAddress HardwareAddress { get; }
    public string InterfaceName { get; }
    public bool InterfaceUp { get; }
    public Ipv4Address? KernelAddress { get; }
    /// <summary>True if the kernel bound the socket in zero-copy mode (the driver DMAs into UMEM), false for copy mode.</summary>
    public bool ZeroCopy { get; }
    public XdpStats Stats { get; } = new();

    private int MaxFrame => Capabilities.Mtu + EthernetFrame.HeaderLength;

    public bool Transmit(ReadOnlySpan<byte> frame)
    {
        var slot = TryReserveTransmit(frame.Length);
        if (slot.IsEmpty) return false;
        frame.CopyTo(slot);
        return CommitTransmit(frame.Length);
    }

    public Span<byte> TryReserveTransmit(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length > MaxFrame)
        {
            Stats.TransmitFailures++;
            Stats.LastError = Runtime.Errno.EMSGSIZE;
            return default;
        }
        _reserved = Xsk.Reserve(_xsk);
        if (_reserved is null)
        {
            Stats.TransmitFailures++;
            return default;
        }
        return new Span<byte>(_reserved, length);
    }

    public bool CommitTransmit(int length)
    {
        if (_reserved is null) return false;
        _reserved = null;
        int rc = Xsk.Commit(_xsk, (uint)length);
        if (rc != 0)
        {
            Stats.TransmitFailures++;
            Stats.LastError = -rc;
            return false;
        }
        Stats.FramesTransmitted++;
        if (++_requested >= _transmitBatch) Flush();
        return true;
    }

    /// <summary>The libOS pass that queued frames is over: kick now rather than at the next pass's receive.</summary>
    void IPhysicalLayer.FlushTransmit() => Flush();

    private void Flush()
    {
        if (_requested != 0) Kick();
    }

    // Out of line: Flush runs on every receive poll, and a P/Invoke with a GC transition (the kick is a system call, so
    // it keeps one) inlined into a method makes the JIT set up a P/Invoke frame in that method's prolog, a thread-local
    // read through __tls_get_addr, on every call, kick or not: 4% of an af_xdp server's CPU at pipeline 1.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Kick()
    {
        _requested = 0;
        Stats.TransmitKicks++;
        int rc = Xsk.Flush(_xsk);
        if (rc != 0) Stats.LastError = -rc;
    }

    public int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Flush();
        return ReceiveLent(pool, frames);
    }

    public void Block(TimeSpan? timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Flush();
        if (Xsk.ReceiveReady(_xsk) != 0) return;
        long ns = timeout is { } t ? Math.Max(0, t.Ticks) * 100 : -1;
        _ = Xsk.Wait(_xsk, ns); // EINTR and timeouts alike end the wait; the caller polls again
    }

    public void Wake()
    {
        if (!_disposed) Xsk.Wake(_xsk);
    }

    public void Dispose()
    {
        if (_disposed) return;
        Flush();
        _disposed = true;
        // Frames still lent up the stack keep the UMEM mapped until the last comes back (IBufferOwner.Return).
        if (_loaned > 0) Xsk.KeepArea(_xsk);
        Xsk.Close(_xsk); // detaches libxdp's program from the interface
        NativeMemory.Free(_rxAddresses);
        NativeMemory.Free(_rxLengths);
        NativeMemory.Free(_refill);
        _refillCount = 0;
    }
}
