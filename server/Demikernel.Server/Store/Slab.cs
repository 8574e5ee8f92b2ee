using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Demikernel.Server.Store;

/// <summary>
/// Blocks of 8 to <see cref="MaxBlock"/> bytes carved out of 1 MB byte arrays, with one free list per size class
/// (multiples of 8 bytes). A block is named by a <c>long</c> address (array index &lt;&lt; 20 | offset), so the keys
/// and values it holds cost the GC nothing: a full collection marks one array per megabyte, not one per key.
/// <code>
///   _slabs[0] ┌──────────┬────────┬──────────┬────────┬─────────···──┐  1 MB each, bump-allocated at _top
///             │ key|value│ (free) │ key|value│  ...   │              │
///             └──────────┴───┬────┴──────────┴────────┴─────────···──┘
///   _free[c] ─▶ block ─▶ block ─▶ -1    a freed block of class c holds the address of the next one in its first
///                                       8 bytes; Allocate(c) pops it before carving new space
/// </code>
/// Memory is never handed back to the GC while the slab lives (a freed block waits for a key of its class, as a
/// malloc arena keeps freed chunks); the owner counts blocks in use, and the rest shows as fragmentation.
/// </summary>
internal sealed class Slab
{
    private const int Shift = 20;
    private const int SlabBytes = 1 << Shift;
    private const long OffsetMask = SlabBytes - 1;

    /// <summary>The largest block: a key and value longer than this live in an object of their own.</summary>
    public const int MaxBlock = 512;

    /// <summary>Number of size classes (class c holds (c + 1) × 8 bytes).</summary>
    public const int Classes = MaxBlock / 8;

    private byte[][] _slabs = [];
    private int _count;
    private int _top = SlabBytes;
    private readonly long[] _free = new long[Classes];

    public Slab() => _free.AsSpan().Fill(-1);

    /// <summary>The size class that holds <paramref name="bytes"/> (1 ≤ bytes ≤ <see cref="MaxBlock"/>; 0 counts as 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ClassOf(int bytes) => bytes <= 8 ? 0 : (bytes - 1) >> 3;

    /// <summary>Bytes of a block of class <paramref name="cls"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BlockBytes(int cls) => (cls + 1) << 3;

    /// <summary>Bytes of all slab arrays (blocks in use, free blocks and the unused tail).</summary>
    public long ReservedBytes => (long)_count * SlabBytes;

    /// <summary>Number of 1 MB arrays.</summary>
    public int SlabCount => _count;

    /// <summary>A block of class <paramref name="cls"/>: a freed one of that class, or new space.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Allocate(int cls)
    {
        long head = _free[cls];
        if (head >= 0)
        {
            _free[cls] = BinaryPrimitives.ReadInt64LittleEndian(Span(head, 8));
            return head;
        }
        return Carve(BlockBytes(cls));
    }

    private long Carve(int size)
    {
        if (_top + size > SlabBytes) NewSlab();
        long address = ((long)(_count - 1) << Shift) | (uint)_top;
        _top += size;
        return address;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NewSlab()
    {
        // The tail of the full slab (under MaxBlock bytes) goes to the free lists in the largest classes it fits.
        while (_count > 0 && SlabBytes - _top >= 8)
        {
            int cls = Math.Min(Classes - 1, ((SlabBytes - _top) >> 3) - 1);
            long address = ((long)(_count - 1) << Shift) | (uint)_top;
            _top += BlockBytes(cls);
            Free(address, cls);
        }
        if (_count == _slabs.Length) Array.Resize(ref _slabs, Math.Max(4, _slabs.Length * 2));
        // Uninitialized: a block's bytes are always written before they are read.
        _slabs[_count++] = GC.AllocateUninitializedArray<byte>(SlabBytes);
        _top = 0;
    }

    /// <summary>Returns a block to its class's free list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(long address, int cls)
    {
        BinaryPrimitives.WriteInt64LittleEndian(Span(address, 8), _free[cls]);
        _free[cls] = address;
    }

    /// <summary>The <paramref name="length"/> bytes at <paramref name="address"/> (valid until the block is freed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Span(long address, int length) =>
        _slabs[(int)(address >> Shift)].AsSpan((int)(address & OffsetMask), length);

    /// <summary>Blocks on the free list of <paramref name="cls"/> (tests).</summary>
    internal int FreeCount(int cls)
    {
        int n = 0;
        for (long a = _free[cls]; a >= 0; a = BinaryPrimitives.ReadInt64LittleEndian(Span(a, 8))) n++;
        return n;
    }
}
