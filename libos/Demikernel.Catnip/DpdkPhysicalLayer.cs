using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.Catnip;

/// <summary>What a catnip device is asked for.</summary>
internal sealed record DpdkOptions
{
    /// <summary>EAL arguments (without argv[0]); the devices come from <c>--vdev=...</c> among them.</summary>
    public required IReadOnlyList<string> EalArguments { get; init; }

    /// <summary>The DPDK port to run on (0 = the first device EAL probed).</summary>
    public ushort Port { get; init; }

    /// <summary>Largest IP packet to send; null = the port's MTU.</summary>
    public int? Mtu { get; init; }

    /// <summary>Frames per rx_burst / tx_burst (and the stack's receive burst).</summary>
    public int Burst { get; init; } = 32;

    /// <summary>mbufs in the port's pool (receive ring, transmit ring, the transmit spares and bursts in flight).</summary>
    public int PoolSize { get; init; } = 8191;

    public int RxDescriptors { get; init; } = 1024;

    public int TxDescriptors { get; init; } = 1024;

    /// <summary>
    /// Received frames reach <c>pop</c> in their own mbufs (lent to the stack and the application until they free
    /// them) instead of being copied into a pool buffer. Config key <c>dpdk.rx_zero_copy</c>; off only to compare.
    /// </summary>
    public bool ZeroCopyReceive { get; init; } = true;

    /// <summary>
    /// Most received mbufs lent out at once; beyond it frames are copied (and counted) so that mbufs the application
    /// or TCP's queues hold can never starve the receive ring. Null: the pool minus everything else that draws on it
    /// (receive and transmit rings, the mempool's per-core cache, spares and bursts in flight); see the README.
    /// </summary>
    public int? LoanLimit { get; init; }

    /// <summary>
    /// <c>SgaAlloc</c> hands out mbufs of a second pool (<see cref="ApplicationPoolSize"/> of
    /// <see cref="ApplicationBufferSize"/> bytes), and TCP sends a segment whose payload lies in one of them (or in a
    /// received mbuf pushed back) as a header mbuf chained to it, without copying the payload. Needs a driver that sends
    /// chained mbufs (<c>RTE_ETH_TX_OFFLOAD_MULTI_SEGS</c>). Config key <c>dpdk.tx_zero_copy</c>; off only to compare.
    /// </summary>
    public bool ZeroCopyTransmit { get; init; } = true;

    /// <summary>mbufs for the application's buffers; when they run out, SgaAlloc falls back to the managed pool (counted).</summary>
    public int ApplicationPoolSize { get; init; } = 2047;

    /// <summary>Data bytes of an application mbuf (after DPDK's 128-byte headroom): the server's 16 kB reply buffers fit.</summary>
    public int ApplicationBufferSize { get; init; } = 16 * 1024;

    /// <summary>
    /// The IPv4 header, TCP and UDP checksum offloads the driver offers, each direction on its own: sending, the device
    /// fills the checksums in; receiving, it checks them and marks each frame, and frames it did not check are checked
    /// here in software before the stack sees them. Config key <c>dpdk.checksum_offload</c>; off: all in software.
    /// </summary>
    public bool ChecksumOffload { get; init; } = true;

    internal int EffectiveLoanLimit => LoanLimit ?? Math.Max(0, PoolSize - RxDescriptors - TxDescriptors - PoolCache - 4 * Burst);

    /// <summary>The mempool's per-core cache (mbufs that may sit there rather than in the pool).</summary>
    internal const int PoolCache = 256;
}

/// <summary>Counters of one catnip device (the stack counts protocol-level drops itself).</summary>
internal sealed class DpdkStats
{
    public long FramesReceived { get; internal set; }
    public long FramesTransmitted { get; internal set; }
    public long RxBursts { get; internal set; }
    public long TxBursts { get; internal set; }
    /// <summary>Frames tx_burst did not take (ring full), freed: TCP retransmits.</summary>
    public long TransmitDropped { get; internal set; }
    /// <summary>Frames larger than the MTU (or an mbuf), on either side, and transmits when the pool was empty.</summary>
    public long Dropped { get; internal set; }
    /// <summary>Received frames handed to the stack in their own mbuf (no copy).</summary>
    public long RxFramesLent { get; internal set; }
    /// <summary>Received frames copied into a pool buffer: zero copy off, a chained mbuf, or the loan limit reached.</summary>
    public long RxFramesCopied { get; internal set; }
    /// <summary>Bytes of those copied frames (headers and payload).</summary>
    public long RxBytesCopied { get; internal set; }
    /// <summary>Frames copied because <see cref="DpdkOptions.LoanLimit"/> mbufs were already lent out.</summary>
    public long RxLoanLimitHits { get; internal set; }
    /// <summary>Bytes copied into an mbuf by <see cref="DpdkPhysicalLayer.Transmit"/> (ARP, ICMP, UDP, frames that waited for ARP).</summary>
    public long TxBytesCopied { get; internal set; }
    /// <summary>Frames sent as a header mbuf chained to the payload's own mbuf (no payload copy).</summary>
    public long TxFramesChained { get; internal set; }
    /// <summary>SgaAlloc segments handed out as mbufs.</summary>
    public long ApplicationMbufs { get; internal set; }
    /// <summary>SgaAlloc segments that got a managed buffer instead: larger than an application mbuf, or none left.</summary>
    public long ApplicationFallbacks { get; internal set; }
    /// <summary>Received frames dropped for a bad IPv4 header, TCP or UDP checksum (receive offload on: the device's
    /// verdict, or the software check of a frame it left unchecked).</summary>
    public long RxChecksumErrors { get; internal set; }
    /// <summary>Received frames the device left unchecked (receive offload on) that went through the software check
    /// (<see cref="ReceivedChecksums"/>: an IPv4 frame's header and TCP/UDP checksums; ARP and ICMP have none there).</summary>
    public long RxChecksumsInSoftware { get; internal set; }
}

/// <summary>A DPDK setup failure, with DPDK's text.</summary>
internal sealed class DpdkException(string message) : Exception(message);

/// <summary>
/// catnip's device: an <see cref="IPhysicalLayer"/> over one DPDK ethdev port (any PMD: <c>net_af_packet</c>,
/// <c>net_af_xdp</c>, <c>net_tap</c>, <c>net_memif</c>, a NIC), polled from the libOS thread.
/// <code>
///   InetStack ── Transmit(frame) ─▶ copy into a spare mbuf, queue ──(burst full, next poll, block)─▶ tx_burst
///             ◀─ Receive(pool, burst) ◀─ rx_burst, each mbuf lent as a DemiBuffer over its own memory (zero copy;
///                                        rte_pktmbuf_free when the last reference goes), or copied past the loan limit
///   Block(timeout) ── flush, then poll rx_burst with short sleeps (a poll-mode driver has no descriptor to wait on)
/// </code>
/// Transmits are batched: a frame waits in the queue until the burst is full or the libOS polls or blocks again, which
/// it does right after the coroutines that produced it have run, so one tx_burst carries everything a scheduler pass
/// sent. TCP builds its segments directly in a spare mbuf (<see cref="TryReserveTransmit"/>); other frames (ARP, ICMP,
/// UDP) are copied in by <see cref="Transmit"/>. Receive is one rx_burst per poll; each frame goes up the stack in its
/// own mbuf (a foreign <see cref="DemiBuffer"/>, this device its <see cref="IBufferOwner"/>), so a payload reaches
/// <c>pop</c> without a copy and the mbuf returns to the pool when the application frees the SGA or the stack drops
/// the frame. Single-threaded, like every device: the libOS thread is the only caller, except of <see cref="Wake"/>.
/// </summary>
internal sealed unsafe class DpdkPhysicalLayer : IPhysicalLayer, IBufferOwner, IApplicationBufferSource
{
    private static readonly Lock s_ealGate = new();
    private static int s_ealResult = 1; // 1: not yet; 0: done; negative: the errno it failed with
    private static string s_ealArguments = "";
    private static readonly HashSet<ushort> s_portsInUse = [];

    private readonly ushort _port;
    private readonly nint _pool;
    private readonly int _burst;
    // Per-burst arrays in native memory: the shim reads and writes them, and they never move.
    private readonly nint* _rxMbufs;
    private readonly byte** _rxData;
    private readonly uint* _rxLength;
    private readonly ushort* _rxHeadroom;
    private readonly ushort* _rxRoom;
    private readonly byte* _rxChecksums;
    private readonly bool _rxChecksumOffload;
    private readonly bool _zeroCopy;
    private readonly int _loanLimit;
    // Buffer objects for lent mbufs, reused loan after loan (their generations keep counting).
    private readonly Stack<DemiBuffer> _idleLoans = new();
    private int _loaned;
    private int _rxToFree;
    // Application buffers (SgaAlloc) in mbufs of their own pool; 0 when transmit zero copy is off.
    private readonly nint _appPool;
    private readonly ApplicationBuffers? _appBuffers;
    private readonly nint* _txMbufs;
    private readonly uint* _txLength;
    private readonly nint* _spareMbufs;
    private readonly byte** _spareData;
    private readonly uint* _spareRoom;
    private int _rxHeld, _rxNext, _txCount, _spareCount;
    private int _wake;
    private bool _disposed;

    private DpdkPhysicalLayer(ushort port, nint pool, int mtu, int burst, MacAddress mac, string driver, bool zeroCopy, int loanLimit, nint appPool,
        int checksums)
    {
        _zeroCopy = zeroCopy;
        _loanLimit = loanLimit;
        _appPool = appPool;
        if (appPool != 0) _appBuffers = new ApplicationBuffers(this);
        _port = port;
        _pool = pool;
        _burst = burst;
        HardwareAddress = mac;
        Driver = driver;
        // ICMP's checksum stays in software: no driver offers it.
        var offloads = ChecksumOffload.None;
        if ((checksums & Dpdk.TransmitChecksums) != 0) offloads |= ChecksumOffload.Ipv4Tx | ChecksumOffload.TcpTx | ChecksumOffload.UdpTx;
        if ((checksums & Dpdk.ReceiveChecksums) != 0) offloads |= ChecksumOffload.Ipv4Rx | ChecksumOffload.TcpRx | ChecksumOffload.UdpRx;
        _rxChecksumOffload = (checksums & Dpdk.ReceiveChecksums) != 0;
        Capabilities = new PhyCapabilities { Mtu = mtu, MaxBurst = burst, Offloads = offloads, ChainedTransmit = appPool != 0 };
        _rxMbufs = (nint*)NativeMemory.AllocZeroed((nuint)burst, (nuint)sizeof(nint));
        _rxData = (byte**)NativeMemory.AllocZeroed((nuint)burst, (nuint)sizeof(nint));
        _rxLength = (uint*)NativeMemory.AllocZeroed((nuint)burst, sizeof(uint));
        _rxHeadroom = (ushort*)NativeMemory.AllocZeroed((nuint)burst, sizeof(ushort));
        _rxRoom = (ushort*)NativeMemory.AllocZeroed((nuint)burst, sizeof(ushort));
        _rxChecksums = (byte*)NativeMemory.AllocZeroed((nuint)burst, sizeof(byte));
        _txMbufs = (nint*)NativeMemory.AllocZeroed((nuint)burst, (nuint)sizeof(nint));
        _txLength = (uint*)NativeMemory.AllocZeroed((nuint)burst, sizeof(uint));
        _spareMbufs = (nint*)NativeMemory.AllocZeroed((nuint)burst, (nuint)sizeof(nint));
        _spareData = (byte**)NativeMemory.AllocZeroed((nuint)burst, (nuint)sizeof(nint));
        _spareRoom = (uint*)NativeMemory.AllocZeroed((nuint)burst, sizeof(uint));
    }

    public PhyCapabilities Capabilities { get; }

    /// <summary>The port's MAC address (what the stack uses unless the configuration names another).</summary>
    public MacAddress HardwareAddress { get; }

    /// <summary>The port's driver (<c>net_af_packet</c>, <c>net_memif</c>, ...).</summary>
    public string Driver { get; }

    public ushort Port => _port;

    public DpdkStats Stats { get; } = new();

    /// <summary>mbufs of the pool not in it (rings, spares, queued transmits): for leak checks.</summary>
    public int MbufsInUse => (int)Dpdk.PoolInUse(_pool);

    /// <summary>Received mbufs lent to the stack or the application right now.</summary>
    public int MbufsLent => _loaned;

    /// <summary>Most mbufs lent at once before receive falls back to copying (<see cref="DpdkOptions.LoanLimit"/>).</summary>
    public int LoanLimit => _loanLimit;

    public bool ZeroCopyReceive => _zeroCopy;

    /// <summary>True when SgaAlloc hands out mbufs and TCP sends their payload chained (the driver sends chains).</summary>
    public bool ZeroCopyTransmit => _appPool != 0;

    /// <summary>Application mbufs handed out and not yet freed by everyone (the application, TCP, the device).</summary>
    public int ApplicationMbufsInUse => _appBuffers?.InUse ?? 0;

    /// <summary>Whether the port reports its link up.</summary>
    public bool LinkUp => Dpdk.PortLinkUp(_port) == 1;

    private int MaxFrame => Capabilities.Mtu + EthernetFrame.HeaderLength;

    /// <summary>
    /// Initialises DPDK's EAL (the first time in this process) and starts port <see cref="DpdkOptions.Port"/>. EAL cannot
    /// be initialised twice in one process: a later call must pass the same arguments, and a port runs one device.
    /// Throws <see cref="DpdkException"/> with DPDK's reason, or <see cref="DllNotFoundException"/> without the shim.
    /// </summary>
    public static DpdkPhysicalLayer Open(DpdkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Burst, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Burst, 512);
        lock (s_ealGate)
        {
            string args = string.Join(' ', options.EalArguments);
            if (s_ealResult == 1)
            {
                s_ealArguments = args;
                s_ealResult = Dpdk.InitEal(options.EalArguments);
            }
            else if (s_ealArguments != args)
            {
                throw new DpdkException($"DPDK's EAL was initialised in this process with other arguments ({s_ealArguments}); it initialises once per process");
            }
            if (s_ealResult < 0) throw new DpdkException($"rte_eal_init({args}) failed: {Dpdk.ErrorText(s_ealResult)}");
            int ports = Dpdk.PortCount();
            if (options.Port >= ports)
                throw new DpdkException($"no DPDK port {options.Port}: EAL found {ports} (give a device with --vdev=..., e.g. net_af_packet0,iface=veth0)");
            if (!s_portsInUse.Add(options.Port)) throw new DpdkException($"DPDK port {options.Port} is already in use in this process");
        }
        ushort port = options.Port;
        nint pool = 0, appPool = 0;
        try
        {
            ushort portMtu;
            int rc = Dpdk.PortMtu(port, &portMtu);
            if (rc != 0) portMtu = 1500;
            int mtu = options.Mtu ?? portMtu;
            if (mtu is < 68 or > 9000) throw new ArgumentException($"MTU {mtu} is outside 68..9000", nameof(options));
            // One frame per mbuf: data room = DPDK's headroom (128) + the largest frame.
            int dataRoom = Math.Max(2048, mtu + EthernetFrame.HeaderLength + 4) + 128;
            int error;
            var name = System.Text.Encoding.ASCII.GetBytes($"catnip_pool_{port}\0");
            fixed (byte* n = name) pool = Dpdk.PoolCreate(n, (uint)options.PoolSize, DpdkOptions.PoolCache, (ushort)dataRoom, &error);
            if (pool == 0) throw new DpdkException($"rte_pktmbuf_pool_create({options.PoolSize} mbufs of {dataRoom} bytes) failed: {Dpdk.ErrorText(error)} (more memory: -m, or hugepages)");
            rc = Dpdk.PortStart(port, pool, (ushort)options.RxDescriptors, (ushort)options.TxDescriptors, options.Mtu is null ? (ushort)0 : (ushort)mtu,
                options.ChecksumOffload ? 1 : 0);
            if (rc != 0) throw new DpdkException($"starting DPDK port {port} failed: {Dpdk.ErrorText(rc)}");
            if (options.ZeroCopyTransmit && Dpdk.PortMultiSegment(port) == 1)
            {
                var appName = System.Text.Encoding.ASCII.GetBytes($"catnip_app_{port}\0");
                fixed (byte* n = appName)
                    appPool = Dpdk.PoolCreate(n, (uint)options.ApplicationPoolSize, DpdkOptions.PoolCache, (ushort)(options.ApplicationBufferSize + 128), &error);
                if (appPool == 0) throw new DpdkException($"rte_pktmbuf_pool_create({options.ApplicationPoolSize} application mbufs of {options.ApplicationBufferSize + 128} bytes) failed: {Dpdk.ErrorText(error)} (more memory: -m, or dpdk.tx_zero_copy: false)");
            }
            byte* mac = stackalloc byte[8];
            rc = Dpdk.PortMac(port, mac);
            if (rc != 0) throw new DpdkException($"reading the MAC of DPDK port {port} failed: {Dpdk.ErrorText(rc)}");
            string driver = Marshal.PtrToStringUTF8((nint)Dpdk.PortDriver(port)) ?? "?";
            return new DpdkPhysicalLayer(port, pool, mtu, options.Burst, MacAddress.Read(new ReadOnlySpan<byte>(mac, 6)), driver,
                options.ZeroCopyReceive, options.EffectiveLoanLimit, appPool, Dpdk.PortChecksums(port));
        }
        catch
        {
            if (pool != 0)
            {
                _ = Dpdk.PortStop(port);
                Dpdk.PoolFree(pool);
            }
            if (appPool != 0) Dpdk.PoolFree(appPool);
            lock (s_ealGate) s_portsInUse.Remove(port);
            throw;
        }
    }

    public bool Transmit(ReadOnlySpan<byte> frame)
    {
        var room = TryReserveTransmit(frame.Length);
        if (room.IsEmpty) return Drop();
        frame.CopyTo(room);
        Stats.TxBytesCopied += frame.Length;
        return CommitTransmit(frame.Length);
    }

    /// <summary>
    /// The next spare mbuf's data room, for the stack to build a frame in (TCP segments are built here: their payload
    /// goes from the send queue straight into the mbuf). Empty if the frame is too large or the pool is dry.
    /// </summary>
    public Span<byte> TryReserveTransmit(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length > MaxFrame) return default;
        if (_spareCount == 0)
        {
            if (Dpdk.AllocBulk(_pool, _spareMbufs, _spareData, _spareRoom, (uint)_burst) != 0)
            {
                Flush(); // what is queued may be holding the last mbufs; the next transmit tries again
                return default;
            }
            _spareCount = _burst;
        }
        int s = _spareCount - 1;
        return length > _spareRoom[s] ? default : new Span<byte>(_spareData[s], length);
    }

    /// <summary>Queues the spare mbuf <see cref="TryReserveTransmit"/> handed out, <paramref name="length"/> bytes long.</summary>
    public bool CommitTransmit(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_spareCount == 0 || length > _spareRoom[_spareCount - 1]) return Drop();
        int s = --_spareCount;
        _txMbufs[_txCount] = _spareMbufs[s];
        _txLength[_txCount] = (uint)length;
        if (++_txCount == _burst) Flush();
        return true;
    }

    /// <summary>The application's buffers come from this device's application mbufs (transmit zero copy).</summary>
    public void Attach(DemiLibOS libos)
    {
        if (_appBuffers is not null) libos.Pool.ApplicationSource = this;
    }

    DemiBuffer? IApplicationBufferSource.TryRent(int length, int headroom) => _appBuffers?.TryRent(length, headroom);

    /// <summary>
    /// Headers into a fresh mbuf, chained to an indirect mbuf over the payload's own mbuf (an application mbuf, or a
    /// received one pushed back): the payload is not copied, and its mbuf lives until the device has sent it.
    /// </summary>
    public bool TryTransmitChained(ReadOnlySpan<byte> headers, DemiBuffer payload, int offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_appPool == 0 || !payload.IsForeign || headers.Length + length > MaxFrame) return false;
        if (!ReferenceEquals(payload.Owner, this) && !ReferenceEquals(payload.Owner, _appBuffers)) return false;
        nint chain;
        fixed (byte* h = headers)
            chain = Dpdk.Chain(_pool, payload.Handle, (byte*)payload.DataAddress + offset, (uint)length, h, (uint)headers.Length);
        if (chain == 0) return false;
        _txMbufs[_txCount] = chain;
        _txLength[_txCount] = 0; // the shim set the chain's lengths
        Stats.TxFramesChained++;
        if (++_txCount == _burst) Flush();
        return true;
    }

    /// <summary>
    /// The application's mbufs (<c>SgaAlloc</c> on catnip): wrapped as foreign buffers like received ones, freed with
    /// <c>rte_pktmbuf_free</c> when the application, TCP (until acknowledged) and the device (until sent) are all done.
    /// </summary>
    private sealed class ApplicationBuffers(DpdkPhysicalLayer device) : IBufferOwner
    {
        private readonly Stack<DemiBuffer> _idle = new();

        public int InUse { get; private set; }

        public DemiBuffer? TryRent(int length, int headroom)
        {
            if (device._disposed) return null;
            uint bufferLength = 0, dataOffset = 0;
            byte* start = null;
            nint mbuf = Dpdk.AllocOne(device._appPool, &start, &bufferLength, &dataOffset);
            if (mbuf == 0 || headroom > dataOffset || dataOffset + length > bufferLength)
            {
                if (mbuf != 0) Dpdk.Free(mbuf);
                device.Stats.ApplicationFallbacks++;
                return null;
            }
            var buffer = _idle.TryPop(out var b) ? b : new DemiBuffer(this);
            buffer.AttachForeign((nint)start, (int)bufferLength, (int)dataOffset, length, mbuf);
            InUse++;
            device.Stats.ApplicationMbufs++;
            return buffer;
        }

        public void Return(DemiBuffer buffer)
        {
            Dpdk.Free(buffer.Handle);
            InUse--;
            _idle.Push(buffer);
            if (device._disposed && InUse == 0) FreePool(device._appPool);
        }
    }

    private bool Drop()
    {
        Stats.Dropped++;
        return false;
    }

    /// <summary>Hands the queued frames to the device in one tx_burst; what it does not take is freed (and counted).</summary>
    public void Flush()
    {
        if (_txCount == 0) return;
        int sent = Dpdk.Tx(_port, _txMbufs, _txLength, (ushort)_txCount);
        Stats.TxBursts++;
        Stats.FramesTransmitted += sent;
        Stats.TransmitDropped += _txCount - sent;
        _txCount = 0;
    }

    /// <summary>The libOS pass is over: what it queued goes out now (see <see cref="INetworkTransport.EndPass"/>).</summary>
    void IPhysicalLayer.FlushTransmit() => Flush();

    public int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Frames the scheduler pass before this one sent go out first: their replies may be what arrives next.
        Flush();
        if (_rxHeld == 0) Poll(Math.Min(frames.Length, _burst));
        int produced = 0;
        while (_rxNext < _rxHeld && produced < frames.Length)
        {
            int i = _rxNext++;
            int length = (int)_rxLength[i];
            if (length > MaxFrame || length < EthernetFrame.HeaderLength)
            {
                Stats.Dropped++;
                _rxMbufs[_rxToFree++] = _rxMbufs[i];
                continue;
            }
            // With receive offload on, the stack checks no checksum: what the device did not vouch for is checked here,
            // a contiguous frame in place, a chained one once its copy has gathered it.
            bool verify = _rxChecksumOffload && _rxChecksums[i] != Dpdk.ChecksumsGood;
            if (verify && _rxData[i] is not null && !ChecksumsHold(_rxChecksums[i], new Span<byte>(_rxData[i], length)))
            {
                _rxMbufs[_rxToFree++] = _rxMbufs[i];
                continue;
            }
            if (_zeroCopy && _rxData[i] is not null && _loaned < _loanLimit)
            {
                frames[produced++] = Lend(i, length);
                continue;
            }
            var copy = Copy(pool, i, length);
            _rxMbufs[_rxToFree++] = _rxMbufs[i]; // copied or dropped: goes back with the burst (_rxToFree <= i)
            if (verify && copy is not null && _rxData[i] is null && !ChecksumsHold(_rxChecksums[i], copy.Span))
            {
                pool.Discard(copy);
                copy = null;
            }
            if (copy is not null) frames[produced++] = copy;
        }
        if (_rxNext == _rxHeld && _rxHeld > 0)
        {
            Stats.FramesReceived += _rxHeld;
            if (_rxToFree > 0) Dpdk.FreeBulk(_rxMbufs, (uint)_rxToFree);
            _rxHeld = _rxNext = _rxToFree = 0;
        }
        return produced;
    }

    /// <summary>The mbuf of frame <paramref name="i"/> as a buffer over its own memory (headroom included), lent until its last reference goes.</summary>
    private DemiBuffer Lend(int i, int length)
    {
        if (!_idleLoans.TryPop(out var buffer)) buffer = new DemiBuffer(this); // grows to the peak in flight, then reused
        int headroom = _rxHeadroom[i];
        buffer.AttachForeign((nint)(_rxData[i] - headroom), _rxRoom[i], headroom, length, _rxMbufs[i]);
        _loaned++;
        Stats.RxFramesLent++;
        return buffer;
    }

    /// <summary>The copying path: zero copy off, a chained mbuf, or too many mbufs lent out. Null if the frame was dropped.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DemiBuffer? Copy(BufferPool pool, int i, int length)
    {
        if (_zeroCopy && _rxData[i] is not null) Stats.RxLoanLimitHits++;
        var buffer = pool.Rent(length);
        if (_rxData[i] is not null)
        {
            new ReadOnlySpan<byte>(_rxData[i], length).CopyTo(buffer.AvailableSpan);
        }
        else
        {
            // A chained mbuf (a frame larger than one mbuf's data room): the shim gathers it.
            uint copied;
            fixed (byte* destination = buffer.AvailableSpan) copied = Dpdk.Read(_rxMbufs[i], destination, (uint)length);
            if (copied != (uint)length)
            {
                pool.Discard(buffer);
                Stats.Dropped++;
                return null;
            }
        }
        buffer.SetLength(length);
        Stats.RxFramesCopied++;
        Stats.RxBytesCopied += length;
        return buffer;
    }

    /// <summary>
    /// A received frame's checksums, when receive offload is on and the device did not vouch for them: false (counted)
    /// when the device found one bad, or when it did not check and the IPv4 header's, TCP's or UDP's is wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ChecksumsHold(byte verdict, Span<byte> frame)
    {
        bool good = verdict != Dpdk.ChecksumsBad;
        if (good)
        {
            Stats.RxChecksumsInSoftware++;
            good = ReceivedChecksums.Hold(frame);
        }
        if (!good) Stats.RxChecksumErrors++;
        return good;
    }

    /// <summary>
    /// A lent mbuf's last reference went (the application freed its SGA, TCP consumed or dropped it): the mbuf goes back
    /// to DPDK, the buffer object waits for the next loan. After <see cref="Dispose"/> the pool lives on until the last
    /// loan is back, so an SGA the application still holds never points into freed memory.
    /// </summary>
    void IBufferOwner.Return(DemiBuffer buffer)
    {
        Dpdk.Free(buffer.Handle);
        _loaned--;
        _idleLoans.Push(buffer);
        if (_disposed && _loaned == 0) FreePool(_pool);
    }

    // Out of line: both Returns are inlined into every lent buffer's Recycle, and an inlined P/Invoke with a GC
    // transition there would make the JIT set up a P/Invoke frame (a thread-local read) in Recycle's prolog on every
    // call, though the pool is freed once, after the device is disposed.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreePool(nint pool) => Dpdk.PoolFree(pool);

    private void Poll(int count)
    {
        _rxHeld = Dpdk.Rx(_port, _rxMbufs, _rxData, _rxLength, _rxHeadroom, _rxRoom, _rxChecksums, (ushort)count);
        _rxNext = 0;
        if (_rxHeld > 0) Stats.RxBursts++;
    }

    /// <summary>
    /// A poll-mode driver has no descriptor to sleep on: poll, and between polls sleep 50 µs for the first 2 ms of
    /// idleness, then 500 µs, so an idle libOS uses little CPU yet wakes within about half a millisecond. A busy one
    /// never gets here: the libOS spins (its spin budget) before it blocks. The sleeps are precise ones
    /// (<see cref="PreciseSleep"/>): a plain usleep(20) lasted 70-90 µs under Linux's default timer slack.
    /// </summary>
    public void Block(TimeSpan? timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Flush();
        if (_rxHeld > 0) return;
        long start = Environment.TickCount64;
        long limit = timeout is { } t ? (long)Math.Ceiling(t.TotalMilliseconds) : long.MaxValue;
        while (true)
        {
            if (Interlocked.Exchange(ref _wake, 0) != 0) return;
            Poll(_burst);
            if (_rxHeld > 0) return;
            long idle = Environment.TickCount64 - start;
            if (idle >= limit) return;
            PreciseSleep.For(TimeSpan.FromMicroseconds(idle < 2 ? 50 : 500));
        }
    }

    /// <summary>Ends a <see cref="Block"/> in progress, or the next one. The one member any thread may call.</summary>
    public void Wake() => Volatile.Write(ref _wake, 1);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Flush();
        // The rest of the burst: the stack has not seen these (the ones before _rxNext were lent or are in _rxToFree).
        for (int i = _rxNext; i < _rxHeld; i++) _rxMbufs[_rxToFree++] = _rxMbufs[i];
        if (_rxToFree > 0) Dpdk.FreeBulk(_rxMbufs, (uint)_rxToFree);
        if (_spareCount > 0) Dpdk.FreeBulk(_spareMbufs, (uint)_spareCount);
        _rxHeld = _rxNext = _rxToFree = _spareCount = 0;
        _ = Dpdk.PortStop(_port); // closing: nothing to do about a driver that fails to stop
        if (_loaned == 0) Dpdk.PoolFree(_pool); // else when the last lent mbuf comes back (IBufferOwner.Return)
        if (_appPool != 0 && _appBuffers!.InUse == 0) Dpdk.PoolFree(_appPool); // likewise
        lock (s_ealGate) s_portsInUse.Remove(_port);
        NativeMemory.Free(_rxMbufs);
        NativeMemory.Free(_rxData);
        NativeMemory.Free(_rxLength);
        NativeMemory.Free(_rxHeadroom);
        NativeMemory.Free(_rxRoom);
        NativeMemory.Free(_rxChecksums);
        NativeMemory.Free(_txMbufs);
        NativeMemory.Free(_txLength);
        NativeMemory.Free(_spareMbufs);
        NativeMemory.Free(_spareData);
        NativeMemory.Free(_spareRoom);
    }
}
