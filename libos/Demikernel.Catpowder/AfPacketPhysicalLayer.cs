using System.Runtime.CompilerServices;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>What a catpowder device is asked for; everything but the interface name is optional.</summary>
internal sealed record AfPacketOptions
{
    /// <summary>The Linux interface to bind (in the calling thread's network namespace).</summary>
    public required string InterfaceName { get; init; }

    /// <summary>Largest IP packet to send; null = the interface's MTU. Must not exceed the interface's MTU.</summary>
    public int? Mtu { get; init; }

    /// <summary>Frames received per <c>recvmmsg</c> call (and the stack's receive burst).</summary>
    public int Burst { get; init; } = 32;

    /// <summary>SO_RCVBUF/SO_SNDBUF asked for (forced past the sysctl limits when running as root).</summary>
    public int SocketBufferBytes { get; init; } = 4 << 20;

    /// <summary>Frames in the PACKET_MMAP receive ring and in the transmit ring.</summary>
    public int RxRingFrames { get; init; } = 1024;
    public int TxRingFrames { get; init; } = 512;

    /// <summary>Frames requested on the transmit ring before one <c>sendto</c> sends them all (also sent at every receive poll and before blocking).</summary>
    public int TransmitBatch { get; init; } = 32;
}

/// <summary>Counters of one catpowder device (the stack counts protocol-level drops itself).</summary>
internal sealed class AfPacketStats
{
    public long FramesReceived { get; internal set; }
    public long FramesTransmitted { get; internal set; }
    /// <summary>Transmits that failed (transmit path full after a short wait, interface down, frame too large).</summary>
    public long TransmitFailures { get; internal set; }
    /// <summary>Received frames whose TCP/UDP checksum the kernel had left to us (CHECKSUM_PARTIAL), completed here.</summary>
    public long ChecksumsCompleted { get; internal set; }
    /// <summary>GSO/GRO super-frames received, and the segments they were cut into.</summary>
    public long SuperFrames { get; internal set; }
    public long SuperFrameSegments { get; internal set; }
    /// <summary>Frames dropped here: truncated, larger than the MTU without GSO, a GSO type other than TCPv4, malformed offsets.</summary>
    public long Dropped { get; internal set; }
    /// <summary><c>sendto</c> kicks of the transmit ring (each sends every frame requested since the previous one).</summary>
    public long TransmitKicks { get; internal set; }
    /// <summary>Receive-ring frames larger than a slot, read whole from the socket queue (TP_STATUS_COPY).</summary>
    public long CopiedFrames { get; internal set; }
    /// <summary>Frames this host sent on the interface, seen and skipped (only on kernels without PACKET_IGNORE_OUTGOING).</summary>
    public long OutgoingSkipped { get; internal set; }
    /// <summary>Errors the socket reported (ENETDOWN when the interface went down, ...), and the last errno; frames resume when the link does.</summary>
    public long ReceiveErrors { get; internal set; }
    public int LastError { get; internal set; }
}

/// <summary>
/// catpowder's device: an <see cref="IPhysicalLayer"/> over a Linux AF_PACKET raw socket bound to one interface.
/// <code>
///   InetStack ── Transmit(frame) ──▶ sendmsg([vnet hdr | frame]) ──▶ interface (veth, tap, NIC)
///             ◀─ Receive(pool, burst) ◀─ recvmmsg into pool buffers (headroom in front), MSG_DONTWAIT
///                                       └ checksum completion / GSO segmentation when the kernel left work
///   Block(timeout) ── ppoll(POLLIN) on the socket and an eventfd: an idle libOS sleeps until a frame arrives, a timer
///                     is due or another thread posts to it (Wake writes the eventfd)
/// </code>
/// The receive slots hold pool buffers between calls, so a burst costs one system call and rents only the buffers
/// the previous burst handed up. Single-threaded, like every device: the libOS thread is the only caller. Create it
/// on the thread (and in the network namespace) the libOS runs in.
/// </summary>
internal sealed class AfPacketPhysicalLayer : IPhysicalLayer
{
    private readonly PacketSocket _socket;
    private readonly DemiBuffer?[] _slots;
    private readonly Queue<DemiBuffer> _pending = new();
    private readonly Action<DemiBuffer> _emitSegment;
    private readonly int _transmitBatch;
    private BufferPool? _pool;
    private byte[]? _scratch;
    private bool _disposed;
    private int _rxHead;
    private int _txHead;
    private int _txRequested;    // frames marked SEND_REQUEST since the last kick
    private int _txReserved = -1; // the slot TryReserveTransmit handed out

    private AfPacketPhysicalLayer(PacketSocket socket, int mtu, int burst, int transmitBatch)
    {
        _socket = socket;
        _transmitBatch = transmitBatch;
        // One recvmmsg slot: only frames larger than a ring slot (TP_STATUS_COPY) are read with a system call.
        _slots = new DemiBuffer?[1];
        HardwareAddress = new MacAddress(socket.HardwareAddress);
        Capabilities = new PhyCapabilities { Mtu = mtu, MaxBurst = burst, Offloads = ChecksumOffload.None };
        _emitSegment = _pending.Enqueue;
    }

    /// <summary>
    /// Opens a device on <see cref="AfPacketOptions.InterfaceName"/> in the calling thread's network namespace.
    /// Throws <see cref="PacketSocketException"/> (no such interface, no CAP_NET_RAW, ...) or
    /// <see cref="ArgumentException"/> (MTU larger than the interface's).
    /// </summary>
    public static AfPacketPhysicalLayer Open(AfPacketOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Burst, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Burst, 1024);
        var socket = PacketSocket.Open(options.InterfaceName, 1, options.SocketBufferBytes);
        try
        {
            int mtu = options.Mtu ?? socket.InterfaceMtu;
            if (mtu < 68 || mtu > socket.InterfaceMtu)
                throw new ArgumentException($"MTU {mtu} is outside 68..{socket.InterfaceMtu} (the MTU of '{options.InterfaceName}')", nameof(options));
            // A slot holds the tpacket2 header, sockaddr_ll, the virtio-net header and a whole frame of the
            // interface's MTU (+ a VLAN tag): 76 + 18 + MTU bytes on receive, the most of both directions.
            socket.MapRings(96 + socket.InterfaceMtu + EthernetFrame.HeaderLength, options.RxRingFrames, options.TxRingFrames);
            return new AfPacketPhysicalLayer(socket, mtu, options.Burst, Math.Max(1, options.TransmitBatch));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public PhyCapabilities Capabilities { get; }

    /// <summary>The interface's MAC address (what the stack uses unless the configuration names another).</summary>
    public MacAddress HardwareAddress { get; }

    public string InterfaceName => _socket.InterfaceName;
    public int InterfaceIndex => _socket.InterfaceIndex;
    public int InterfaceMtu => _socket.InterfaceMtu;
    /// <summary>Whether the interface was administratively up when the device opened (frames do not move while it is down).</summary>
    public bool InterfaceUp => _socket.InterfaceUp;
    /// <summary>
    /// The kernel's own IPv4 address on the interface, if it has one. If it is the stack's address, the kernel answers
    /// ARP and resets TCP connections to it as well: give the interface no address.
    /// </summary>
    public Ipv4Address? KernelAddress => _socket.KernelIpv4Address == 0 ? null : new Ipv4Address(_socket.KernelIpv4Address);

    public AfPacketStats Stats { get; } = new();

    /// <summary>Pool buffers the device holds (receive slots, segments not yet handed up): they go back on dispose.</summary>
    public int HeldBuffers => _pending.Count + _slots.Count(b => b is not null);

    private int MaxFrame => Capabilities.Mtu + EthernetFrame.HeaderLength;

    public bool Transmit(ReadOnlySpan<byte> frame)
    {
        var slot = TryReserveTransmit(frame.Length);
        if (slot.IsEmpty) return false;
        frame.CopyTo(slot);
        return CommitTransmit(frame.Length);
    }

    /// <summary>The next free transmit-ring slot, for the stack to build a frame in (no copy on commit).</summary>
    public Span<byte> TryReserveTransmit(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length > MaxFrame)
        {
            Stats.TransmitFailures++;
            Stats.LastError = Errno.EMSGSIZE;
            return default;
        }
        if (!_socket.TxAvailable(_txHead) && !WaitForTransmitSlot())
        {
            Stats.TransmitFailures++;
            return default;
        }
        _txReserved = _txHead;
        return _socket.TxFrameSpan(_txHead)[..length];
    }

    public bool CommitTransmit(int length)
    {
        if (_txReserved != _txHead) return false;
        _txReserved = -1;
        _socket.TxRequest(_txHead, length);
        _txHead = _txHead + 1 == _socket.TxFrames ? 0 : _txHead + 1;
        Stats.FramesTransmitted++;
        if (++_txRequested >= _transmitBatch) Flush();
        return true;
    }

    /// <summary>
    /// The ring is full: send what is requested, then give the device a moment (3 × 1 ms for POLLOUT) rather than drop
    /// at once. Cold: only under a transmit backlog.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForTransmitSlot()
    {
        Flush();
        for (int attempt = 0; attempt < 3 && !_socket.TxAvailable(_txHead); attempt++)
        {
            _socket.Wait(TimeSpan.FromMilliseconds(1), writable: true);
            Flush();
        }
        return _socket.TxAvailable(_txHead);
    }

    /// <summary>The libOS pass that queued frames is over: kick now rather than at the next pass's receive.</summary>
    void IPhysicalLayer.FlushTransmit() => Flush();

    /// <summary>Sends every frame requested on the transmit ring: one system call for the whole batch.</summary>
    private void Flush()
    {
        if (_txRequested != 0) Kick();
    }

    // Out of line, for the reason XdpPhysicalLayer.Kick gives: Flush runs on every receive poll.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Kick()
    {
        int rc = _socket.Kick();
        Stats.TransmitKicks++;
        if (rc == 0 || PacketSocket.IsTransientSendError(rc))
        {
            // Transient: the frames stay requested and go with the next kick.
            if (rc == 0) _txRequested = 0;
            return;
        }
        // ENETDOWN and the like: the kernel leaves the frames requested; they go when the link comes back.
        Stats.LastError = rc;
        _txRequested = 0;
    }

    public int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!ReferenceEquals(pool, _pool)) SwitchPool(pool);
        // What the previous poll's tasks transmitted goes out now, before new requests come in.
        Flush();
        // Frames go through _pending (a ring: no allocation in steady state), so that the segments of a super-frame
        // that do not fit this burst come first in the next one.
        int budget = Math.Min(Capabilities.MaxBurst, frames.Length);
        for (int taken = 0; taken < budget && _pending.Count < frames.Length; taken++)
        {
            uint status = _socket.RxStatus(_rxHead);
            if ((status & PacketSocket.TP_STATUS_USER) == 0) break;
            if ((status & PacketSocket.TP_STATUS_COPY) != 0) TakeCopied();
            else TakeRing(_rxHead);
            _socket.RxRelease(_rxHead);
            _rxHead = _rxHead + 1 == _socket.RxFrames ? 0 : _rxHead + 1;
        }
        int produced = 0;
        while (produced < frames.Length && _pending.TryDequeue(out var frame)) frames[produced++] = frame;
        return produced;
    }

    /// <summary>Copies the frame in receive-ring slot <paramref name="index"/> into a pool buffer, repairing what the kernel's offloads left undone.</summary>
    private void TakeRing(int index)
    {
        if (_socket.RxIsOutgoing(index))
        {
            Stats.OutgoingSkipped++;
            return;
        }
        var frame = _socket.RxFrameBytes(index);
        if (frame.IsEmpty || frame.Length < _socket.RxLength(index))
        {
            // Truncated without a whole copy on the socket queue (the socket buffer was full).
            Stats.Dropped++;
            return;
        }
        Stats.FramesReceived++;
        var header = _socket.RxHeader(index);
        if (header.Gso == VnetHeader.GsoNone)
        {
            if (frame.Length > MaxFrame)
            {
                Stats.Dropped++;
                return;
            }
            var buffer = _pool!.Rent(frame.Length);
            frame.CopyTo(buffer.Span);
            if (header.NeedsChecksum)
            {
                if (!KernelOffloads.CompleteChecksum(buffer.Span, header.ChecksumStart, header.ChecksumOffset))
                {
                    _pool.Discard(buffer);
                    Stats.Dropped++;
                    return;
                }
                Stats.ChecksumsCompleted++;
            }
            _pending.Enqueue(buffer);
            return;
        }
        Segment(header, frame);
    }

    /// <summary>A frame larger than a ring slot: the kernel queued it whole on the socket as well; read it from there.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TakeCopied()
    {
        Stats.CopiedFrames++;
        if (_slots[0] is null)
        {
            var buffer = _pool!.Rent(MaxFrame);
            _slots[0] = buffer;
            _socket.SetTarget(0, buffer.DataAddress, buffer.AvailableSpan.Length);
        }
        int n = _socket.ReceiveBatch(1);
        if (n < 0)
        {
            Stats.ReceiveErrors++;
            Stats.LastError = -n;
        }
        if (n == 1) Take(0);
        else Stats.Dropped++;
    }

    private void Segment(in VnetHeader header, ReadOnlySpan<byte> frame)
    {
        if (header.Gso != VnetHeader.GsoTcpV4 || header.GsoSize == 0)
        {
            Stats.Dropped++;
            return;
        }
        int segments = KernelOffloads.SegmentTcp(frame, header.GsoSize, _pool!, _emitSegment);
        if (segments < 0)
        {
            Stats.Dropped++;
            return;
        }
        Stats.SuperFrames++;
        Stats.SuperFrameSegments += segments;
    }

    /// <summary>Hands up the frame in slot <paramref name="slot"/>, repairing what the kernel's offloads left undone.</summary>
    private void Take(int slot)
    {
        int length = _socket.FrameLength(slot);
        if (length < 0)
        {
            Stats.Dropped++;
            return; // the slot keeps its buffer for the next burst
        }
        if (_socket.IsOutgoing(slot))
        {
            Stats.OutgoingSkipped++;
            return;
        }
        Stats.FramesReceived++;
        var header = _socket.Header(slot);
        var buffer = _slots[slot]!;
        int room = buffer.AvailableSpan.Length;
        if (header.Gso == VnetHeader.GsoNone && length <= room)
        {
            buffer.SetLength(length);
            if (header.NeedsChecksum)
            {
                if (!KernelOffloads.CompleteChecksum(buffer.Span, header.ChecksumStart, header.ChecksumOffset))
                {
                    Stats.Dropped++;
                    return;
                }
                Stats.ChecksumsCompleted++;
            }
            _slots[slot] = null;
            _pending.Enqueue(buffer);
            return;
        }
        // A super-frame (or a frame larger than the slot): cut it into MSS-sized segments in fresh buffers.
        ReadOnlySpan<byte> frame;
        if (length <= room)
        {
            frame = buffer.AvailableSpan[..length];
        }
        else
        {
            _scratch ??= GC.AllocateUninitializedArray<byte>(room + PacketSocket.OverflowBytes);
            if (_scratch.Length < length) _scratch = GC.AllocateUninitializedArray<byte>(length);
            buffer.AvailableSpan.CopyTo(_scratch);
            _socket.Overflow(slot, length - room).CopyTo(_scratch.AsSpan(room));
            frame = _scratch.AsSpan(0, length);
        }
        Segment(header, frame);
    }

    public void Block(TimeSpan? timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Flush();
        if (_pending.Count > 0 || (_socket.RxStatus(_rxHead) & PacketSocket.TP_STATUS_USER) != 0) return;
        int error = _socket.Wait(timeout);
        if (error != 0)
        {
            Stats.ReceiveErrors++;
            Stats.LastError = error;
        }
    }

    /// <summary>Ends a <see cref="Block"/> in progress, or the next one. The one member any thread may call.</summary>
    public void Wake()
    {
        if (!_disposed) _socket.Wake();
    }

    private void SwitchPool(BufferPool pool)
    {
        ReleaseBuffers();
        _pool = pool;
    }

    private void ReleaseBuffers()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { } b) _pool!.Discard(b);
            _slots[i] = null;
        }
        while (_pending.TryDequeue(out var b)) _pool!.Discard(b);
    }

    public void Dispose()
    {
        if (_disposed) return;
        Flush();
        _disposed = true;
        _socket.Dispose();
        if (_pool is not null) ReleaseBuffers();
    }
}
