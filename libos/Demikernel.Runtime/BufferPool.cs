using System.Numerics;
using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

/// <summary>
/// Pools <see cref="DemiBuffer"/> segments in power-of-four size classes, carved from pinned slabs on the pinned object
/// heap so that interop (writev, NIC descriptors) can use their addresses. Single-threaded: one pool per libOS instance.
/// In steady state allocation and release allocate nothing.
/// </summary>
internal sealed class BufferPool
{
    /// <summary>Bytes reserved in front of every buffer for protocol headers (Ethernet + IPv4 + TCP with options).</summary>
    public const int DefaultHeadroom = LibOSOptions.DefaultHeadroom;

    private static readonly int[] ClassSizes = [512, 2048, 8192, 32 * 1024, 128 * 1024, 512 * 1024, 2 * 1024 * 1024];
    private const int SlabBytes = 1 << 20;

    private readonly Stack<DemiBuffer>[] _free;

    public BufferPool(int headroom = DefaultHeadroom)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(headroom, 4096);
        Headroom = headroom;
        _free = new Stack<DemiBuffer>[ClassSizes.Length];
        for (int i = 0; i < _free.Length; i++) _free[i] = new Stack<DemiBuffer>();
    }

    public int Headroom { get; }

    /// <summary>Buffers handed out and not yet returned.</summary>
    public int Outstanding { get; private set; }

    /// <summary>Segments ever created (pooled ones are counted once).</summary>
    public long Created { get; private set; }

    /// <summary>
    /// Device memory for the application's buffers, when the transport's device lends it (catnip's mbufs): set by the
    /// device when it attaches. Null: every buffer is a pooled managed segment.
    /// </summary>
    internal IApplicationBufferSource? ApplicationSource { get; set; }

    /// <summary>
    /// A segment for the application (<c>SgaAlloc</c>, <c>SgaAppend</c>): from <see cref="ApplicationSource"/> when it
    /// has one that fits, so a push can reach the device without a copy; else a pooled segment as <see cref="Rent(int)"/>.
    /// </summary>
    public DemiBuffer RentForApplication(int length) =>
        ApplicationSource?.TryRent(length, Headroom) ?? Rent(length);

    /// <summary>Rents a segment whose data is <paramref name="length"/> bytes after the pool's headroom.</summary>
    public DemiBuffer Rent(int length) => Rent(length, Headroom);

    public DemiBuffer Rent(int length, int headroom)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int total = length + headroom;
        int cls = ClassFor(total);
        DemiBuffer buffer;
        if (cls < 0)
        {
            // Larger than the biggest class: a one-off pinned array, not pooled.
            buffer = new DemiBuffer(GC.AllocateUninitializedArray<byte>(total, pinned: true), 0, total, this, -1);
            Created++;
        }
        else if (!_free[cls].TryPop(out buffer!))
        {
            buffer = Grow(cls);
        }
        buffer.Reset(headroom, length);
        Outstanding++;
        return buffer;
    }

    /// <summary>Gives back a buffer that was rented but never handed to anyone (no references taken).</summary>
    public void Discard(DemiBuffer buffer)
    {
        if (!buffer.IsFree) throw new InvalidOperationException("cannot discard a buffer that is still referenced");
        buffer.Recycle();
    }

    internal void Return(DemiBuffer buffer)
    {
        Outstanding--;
        if (buffer.SizeClass >= 0) _free[buffer.SizeClass].Push(buffer);
    }

    /// <summary>The smallest class of at least <paramref name="total"/> bytes, or -1: the sizes are 512 * 4^class, so it is computed, not searched.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ClassFor(int total)
    {
        if (total <= 512) return 0;
        if (total > 2 * 1024 * 1024) return -1;
        // 513..2048 -> 1, 2049..8192 -> 2, ...: bits of (total - 1) beyond the 9 of 512, two per class, rounded up.
        return (BitOperations.Log2((uint)(total - 1)) - 7) >> 1;
    }

    private DemiBuffer Grow(int cls)
    {
        int size = ClassSizes[cls];
        if (size >= SlabBytes)
        {
            Created++;
            return new DemiBuffer(GC.AllocateUninitializedArray<byte>(size, pinned: true), 0, size, this, cls);
        }
        // Carve a whole slab into segments of this class; keep all but one in the free list.
        byte[] slab = GC.AllocateUninitializedArray<byte>(SlabBytes, pinned: true);
        int count = SlabBytes / size;
        for (int i = 1; i < count; i++)
            _free[cls].Push(new DemiBuffer(slab, i * size, size, this, cls));
        Created += count;
        return new DemiBuffer(slab, 0, size, this, cls);
    }
}
