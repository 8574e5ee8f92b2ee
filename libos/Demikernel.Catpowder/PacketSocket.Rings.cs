using System.Runtime.InteropServices;

namespace Demikernel.Catpowder;

/// <summary>
/// The socket's PACKET_MMAP rings (TPACKET_V2): one mapping holds a receive ring and a transmit ring of fixed-size
/// frames, each frame starting with a <c>struct tpacket2_hdr</c> whose <c>tp_status</c> word says who owns it.
/// <code>
///   receive: kernel writes [hdr | sockaddr_ll | ... | vnet hdr | frame] and sets TP_STATUS_USER (| TP_STATUS_COPY if
///            the frame did not fit: then the whole frame also waits in the socket's queue, PACKET_COPY_THRESH);
///            we read it and hand the slot back with TP_STATUS_KERNEL
///   transmit: we write [hdr | vnet hdr | frame] at offset 32, set TP_STATUS_SEND_REQUEST; one sendto(NULL) sends every
///            requested frame; the kernel sets TP_STATUS_AVAILABLE when the device is done with the frame's pages
/// </code>
/// Why V2 and not V3 for receive: a TPACKET_V3 block reaches user space only when it is full or its retire timer
/// fires (at least 1 ms, rounded up to jiffies), so a lone request would wait milliseconds; V2 hands over every frame
/// as soon as it is written, and PACKET_COPY_THRESH keeps GSO/GRO super-frames (up to 64 KB) intact without giant slots.
/// The status words are read with acquire and written with release semantics (Volatile), the kernel's side of the
/// protocol (smp_mb / smp_wmb around the status store).
/// </summary>
internal sealed unsafe partial class PacketSocket
{
    private const int PACKET_RX_RING = 5;
    private const int PACKET_COPY_THRESH = 7;
    private const int PACKET_VERSION = 10;
    private const int PACKET_TX_RING = 13;
    private const int PACKET_LOSS = 14;
    private const int TPACKET_V2 = 1;
    private const int PROT_READ = 1;
    private const int PROT_WRITE = 2;
    private const int MAP_SHARED = 1;

    public const uint TP_STATUS_KERNEL = 0;
    public const uint TP_STATUS_USER = 1;
    public const uint TP_STATUS_COPY = 2;
    public const uint TP_STATUS_AVAILABLE = 0;
    public const uint TP_STATUS_SEND_REQUEST = 1;

    /// <summary>TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): where a transmit frame's data starts.</summary>
    public const int TxDataOffset = 32;

    [StructLayout(LayoutKind.Sequential)]
    private struct TpacketReq
    {
        public uint BlockSize;
        public uint BlockCount;
        public uint FrameSize;
        public uint FrameCount;
    }

    [LibraryImport(Lib, SetLastError = true)] private static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);
    [LibraryImport(Lib, SetLastError = true)] private static partial int munmap(void* addr, nuint length);
    [LibraryImport(Lib, SetLastError = true)] private static partial nint sendto(int fd, void* buf, nuint len, int flags, void* addr, int addrlen);

    private byte* _ring;
    private nuint _ringBytes;
    private int _rxFrameSize, _rxFrames, _txFrameSize, _txFrames;

    public int RxFrameSize => _rxFrameSize;
    public int RxFrames => _rxFrames;
    public int TxFrameSize => _txFrameSize;
    public int TxFrames => _txFrames;

    /// <summary>
    /// Sets up the receive and transmit rings (frames of at least <paramref name="frameBytes"/> bytes, rounded up to a
    /// power of two) and maps them. Call once, after <see cref="Open"/> (PACKET_VNET_HDR is already on, as it must be
    /// before a ring exists).
    /// </summary>
    public void MapRings(int frameBytes, int rxFrames, int txFrames)
    {
        int frameSize = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2048, frameBytes));
        int blockSize = Math.Max(frameSize, 64 * 1024);
        int perBlock = blockSize / frameSize;
        rxFrames = (rxFrames + perBlock - 1) / perBlock * perBlock;
        txFrames = (txFrames + perBlock - 1) / perBlock * perBlock;
        int version = TPACKET_V2;
        Check(setsockopt(_fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(int)), "setsockopt(PACKET_VERSION, TPACKET_V2)");
        // Frames larger than a slot (GSO/GRO super-frames) are queued whole on the socket too (TP_STATUS_COPY).
        int thresh = 1;
        Check(setsockopt(_fd, SOL_PACKET, PACKET_COPY_THRESH, &thresh, sizeof(int)), "setsockopt(PACKET_COPY_THRESH)");
        // A frame the kernel refuses (malformed) is skipped instead of stopping the transmit ring.
        int loss = 1;
        Check(setsockopt(_fd, SOL_PACKET, PACKET_LOSS, &loss, sizeof(int)), "setsockopt(PACKET_LOSS)");
        var rx = new TpacketReq { BlockSize = (uint)blockSize, BlockCount = (uint)(rxFrames / perBlock), FrameSize = (uint)frameSize, FrameCount = (uint)rxFrames };
        Check(setsockopt(_fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof(TpacketReq)), "setsockopt(PACKET_RX_RING)");
        var tx = new TpacketReq { BlockSize = (uint)blockSize, BlockCount = (uint)(txFrames / perBlock), FrameSize = (uint)frameSize, FrameCount = (uint)txFrames };
        Check(setsockopt(_fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof(TpacketReq)), "setsockopt(PACKET_TX_RING)");
        nuint bytes = (nuint)((long)(rxFrames + txFrames) * frameSize);
        void* p = mmap(null, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, _fd, 0);
        if (p == (void*)-1)
        {
            int e = Marshal.GetLastPInvokeError();
            throw new PacketSocketException(e, $"mmap of the packet rings ({bytes} bytes) failed: {Name(e)}");
        }
        _ring = (byte*)p;
        _ringBytes = bytes;
        _rxFrameSize = _txFrameSize = frameSize;
        _rxFrames = rxFrames;
        _txFrames = txFrames;
    }

    private byte* RxFrame(int index) => _ring + ((long)index * _rxFrameSize);

    private byte* TxFrame(int index) => _ring + ((long)(_rxFrames + index) * _txFrameSize);

    /// <summary>The status word of receive slot <paramref name="index"/> (acquire).</summary>
    public uint RxStatus(int index) => Volatile.Read(ref *(uint*)RxFrame(index));

    /// <summary>Hands receive slot <paramref name="index"/> back to the kernel (release).</summary>
    public void RxRelease(int index) => Volatile.Write(ref *(uint*)RxFrame(index), TP_STATUS_KERNEL);

    /// <summary>The frame bytes the kernel wrote into receive slot <paramref name="index"/> (tp_snaplen at tp_mac).</summary>
    public ReadOnlySpan<byte> RxFrameBytes(int index)
    {
        byte* f = RxFrame(index);
        uint snap = *(uint*)(f + 8);
        ushort mac = *(ushort*)(f + 12);
        if (mac + snap > (uint)_rxFrameSize) return default;
        return new ReadOnlySpan<byte>(f + mac, (int)snap);
    }

    /// <summary>The frame's length on the wire (tp_len): more than <see cref="RxFrameBytes"/> holds if the slot truncated it.</summary>
    public int RxLength(int index) => (int)*(uint*)(RxFrame(index) + 4);

    /// <summary>The virtio-net header in front of the frame in receive slot <paramref name="index"/>.</summary>
    public VnetHeader RxHeader(int index)
    {
        byte* f = RxFrame(index);
        ushort mac = *(ushort*)(f + 12);
        byte* h = f + mac - VnetHeader.Size;
        return new VnetHeader(h[0], h[1], *(ushort*)(h + 2), *(ushort*)(h + 4), *(ushort*)(h + 6), *(ushort*)(h + 8));
    }

    /// <summary>True if receive slot <paramref name="index"/> holds a frame this host sent (sockaddr_ll.sll_pkttype at 32 + 10).</summary>
    public bool RxIsOutgoing(int index) => RxFrame(index)[TxDataOffset + 10] == PACKET_OUTGOING;

    /// <summary>True if transmit slot <paramref name="index"/> is free (acquire).</summary>
    public bool TxAvailable(int index) => Volatile.Read(ref *(uint*)TxFrame(index)) == TP_STATUS_AVAILABLE;

    /// <summary>Room for a frame in transmit slot <paramref name="index"/>, after its (zeroed) virtio-net header.</summary>
    public Span<byte> TxFrameSpan(int index)
    {
        byte* f = TxFrame(index) + TxDataOffset;
        *(ulong*)f = 0;
        *(ushort*)(f + 8) = 0;
        return new Span<byte>(f + VnetHeader.Size, _txFrameSize - TxDataOffset - VnetHeader.Size);
    }

    /// <summary>Asks the kernel to send transmit slot <paramref name="index"/> (frame of <paramref name="length"/> bytes) at the next <see cref="Kick"/>.</summary>
    public void TxRequest(int index, int length)
    {
        byte* f = TxFrame(index);
        *(uint*)(f + 4) = (uint)(length + VnetHeader.Size); // tp_len counts the virtio-net header
        Volatile.Write(ref *(uint*)f, TP_STATUS_SEND_REQUEST);
    }

    /// <summary>
    /// Sends every frame marked <see cref="TxRequest"/>: one <c>sendto(NULL, 0, MSG_DONTWAIT)</c>. Returns 0 or the
    /// errno (EAGAIN/ENOBUFS when the device queue is full: the frames stay requested for the next kick).
    /// </summary>
    public int Kick()
    {
        if (sendto(_fd, null, 0, MSG_DONTWAIT, null, 0) >= 0) return 0;
        return Marshal.GetLastPInvokeError();
    }

    private void UnmapRings()
    {
        if (_ring is null) return;
        munmap(_ring, _ringBytes);
        _ring = null;
    }
}
