using System.Buffers;
using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

/// <summary>
/// Where a buffer backed by foreign memory goes when its last reference is dropped (a device's receive buffer: catnip
/// gives an mbuf back to DPDK). Called on the libOS thread, after the buffer's generation moved on.
/// </summary>
internal interface IBufferOwner
{
    void Return(DemiBuffer buffer);
}

/// <summary>
/// Buffers for the application from device memory (catnip: mbufs), so that what the application pushes can reach the
/// device without a copy. <see cref="BufferPool.RentForApplication"/> asks it first.
/// </summary>
internal interface IApplicationBufferSource
{
    /// <summary>A foreign buffer with <paramref name="length"/> bytes of data and at least <paramref name="headroom"/> in front, or null (too large, none left).</summary>
    DemiBuffer? TryRent(int length, int headroom);
}

/// <summary>
/// One segment of pooled, pinned memory with headroom for protocol headers.
/// <para>
/// Layout inside the backing array: <c>[ headroom | data (Offset..Offset+Length) | tailroom ]</c>. Network layers
/// prepend headers by moving <see cref="Offset"/> back (<see cref="TryPrepend"/>) and strip them by moving it forward
/// (<see cref="Adjust"/>): nothing is copied between layers.
/// </para>
/// <para>
/// Ownership is counted on the first segment of a chain, twice: application references (from <c>SgaAlloc</c> or a pop) and libOS references (held while a
/// push is in flight). The buffer returns to its pool only when both reach zero, so an application that frees a pushed
/// SGA at once cannot corrupt the bytes being sent (use-after-free protection). Each recycle bumps
/// <see cref="Generation"/>, which makes stale <see cref="Sga"/> handles detectable.
/// </para>
/// <para>
/// A segment is either a slice of a pinned managed array from a <see cref="BufferPool"/>, or foreign memory lent by a
/// device (<see cref="AttachForeign"/>: catnip's received mbufs), which goes back to its <see cref="IBufferOwner"/>
/// under the same rules, so a received frame reaches <c>pop</c> in the device's own memory. A foreign segment's
/// object is reused for the next loan: its generation keeps counting, so a stale handle stays detectable.
/// </para>
/// </summary>
public sealed unsafe class DemiBuffer
{
    private byte[]? _array;   // null: foreign memory at _native
    private byte* _native;    // the segment start of a foreign buffer
    private int _start;
    private int _capacity;
    private readonly BufferPool? _pool;
    private readonly IBufferOwner? _owner;
    private ForeignMemory? _memory;
    internal readonly int SizeClass;
    private int _appRefs;
    private int _libRefs;

    internal DemiBuffer(byte[] array, int start, int capacity, BufferPool? pool, int sizeClass)
    {
        _array = array;
        _start = start;
        _capacity = capacity;
        _pool = pool;
        SizeClass = sizeClass;
    }

    /// <summary>A reusable holder for foreign memory lent by <paramref name="owner"/>; empty until <see cref="AttachForeign"/>.</summary>
    internal DemiBuffer(IBufferOwner owner)
    {
        _owner = owner;
        SizeClass = -1;
    }

    /// <summary>
    /// Points this (free, foreign) buffer at <paramref name="capacity"/> bytes of native memory from
    /// <paramref name="segment"/>, with the data at <paramref name="headroom"/>, <paramref name="length"/> bytes long.
    /// <paramref name="handle"/> is the owner's name for the memory (an mbuf). The memory must stay valid until the
    /// owner's <see cref="IBufferOwner.Return"/>.
    /// </summary>
    internal void AttachForeign(nint segment, int capacity, int headroom, int length, nint handle)
    {
        if (_owner is null || !IsFree) throw new InvalidOperationException("only a free foreign buffer can be attached");
        _native = (byte*)segment;
        _capacity = capacity;
        Handle = handle;
        Reset(headroom, length);
    }

    /// <summary>The owner's name for a foreign buffer's memory (an mbuf pointer); 0 for pooled buffers.</summary>
    internal nint Handle { get; private set; }

    /// <summary>True when the bytes live in foreign (device) memory rather than a pooled managed array.</summary>
    internal bool IsForeign => _array is null;

    /// <summary>Who takes a foreign buffer back (null for pooled buffers).</summary>
    internal IBufferOwner? Owner => _owner;

    /// <summary>Start of the data relative to the segment start (the headroom still free in front of it).</summary>
    public int Offset { get; private set; }

    public int Length { get; private set; }

    public int Capacity => _capacity;

    /// <summary>Incremented every time the buffer goes back to its pool.</summary>
    public uint Generation { get; private set; } = 1;

    /// <summary>The next segment of a multi-segment SGA, if any.</summary>
    public DemiBuffer? Next { get; internal set; }

    internal bool IsFree => _appRefs == 0 && _libRefs == 0;
    internal int AppRefs => _appRefs;
    internal int LibRefs => _libRefs;

    public Span<byte> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _array is not null ? new(_array, _start + Offset, Length) : new(_native + Offset, Length);
    }

    /// <summary>The data as <see cref="Memory{T}"/> (over the pinned array, or over the foreign memory through a reused manager).</summary>
    public Memory<byte> Memory => _array is not null
        ? new(_array, _start + Offset, Length)
        : (_memory ??= new ForeignMemory(this)).Memory.Slice(Offset, Length);

    /// <summary>Address of the first data byte: stable, because the backing array lives on the pinned object heap (or is native memory).</summary>
    public nint DataAddress => _array is not null
        ? System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(_array, _start + Offset)
        : (nint)(_native + Offset);

    /// <summary>Tailroom after the data: space that <see cref="Grow"/> can expose.</summary>
    public int Tailroom => _capacity - Offset - Length;

    /// <summary>Resets the data window to <paramref name="headroom"/> bytes into the segment with the given length.</summary>
    internal void Reset(int headroom, int length)
    {
        Offset = headroom;
        Length = length;
        Next = null;
    }

    /// <summary>Exposes <paramref name="count"/> bytes of headroom in front of the data; false if there is not enough.</summary>
    public bool TryPrepend(int count)
    {
        if ((uint)count > (uint)Offset) return false;
        Offset -= count;
        Length += count;
        return true;
    }

    /// <summary>Strips <paramref name="count"/> bytes from the front of the data.</summary>
    public void Adjust(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)Length, nameof(count));
        Offset += count;
        Length -= count;
    }

    /// <summary>Removes <paramref name="count"/> bytes from the end of the data.</summary>
    public void Trim(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)Length, nameof(count));
        Length -= count;
    }

    /// <summary>Sets the data length (within the segment's capacity after <see cref="Offset"/>).</summary>
    public void SetLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)(_capacity - Offset), nameof(length));
        Length = length;
    }

    /// <summary>Extends the data by <paramref name="count"/> bytes of tailroom.</summary>
    public void Grow(int count) => SetLength(Length + count);

    /// <summary>The whole space from the data start to the end of the segment (data plus tailroom).</summary>
    public Span<byte> AvailableSpan => _array is not null
        ? new(_array, _start + Offset, _capacity - Offset)
        : new(_native + Offset, _capacity - Offset);

    internal void AddAppRef() => _appRefs++;
    internal void AddLibRef() => _libRefs++;

    /// <summary>
    /// Takes a libOS reference on this buffer (its first segment if chained), for a transport that must keep the bytes
    /// after the operation that brought them completes — e.g. TCP holding pushed data until it is acknowledged.
    /// </summary>
    internal void Retain() => AddLibRef();

    /// <summary>Drops a reference taken with <see cref="Retain"/>; the buffer returns to its pool when none is left.</summary>
    internal void Release() => ReleaseLibRef();

    /// <summary>Drops one application reference; false if the application held none (double free).</summary>
    internal bool ReleaseAppRef()
    {
        if (_appRefs <= 0) return false;
        _appRefs--;
        if (IsFree) Recycle();
        return true;
    }

    internal void ReleaseLibRef()
    {
        if (_libRefs <= 0) throw new InvalidOperationException("libOS reference count underflow");
        _libRefs--;
        if (IsFree) Recycle();
    }

    // Reference counts live on the first segment of a chain; the rest of the chain goes back with it.
    internal void Recycle()
    {
        for (DemiBuffer? b = this; b is not null;)
        {
            var next = b.Next;
            unchecked { b.Generation++; }
            if (b.Generation == 0) b.Generation = 1;
            b.Next = null;
            if (b._pool is not null) b._pool.Return(b);
            else b._owner?.Return(b);
            b = next;
        }
    }

    /// <summary>The whole segment of a foreign buffer as a <see cref="MemoryManager{T}"/> (one per buffer object, reused across loans).</summary>
    private sealed class ForeignMemory(DemiBuffer buffer) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(buffer._native, buffer._capacity);

        // Native memory does not move: pinning is a no-op.
        public override MemoryHandle Pin(int elementIndex = 0) => new(buffer._native + elementIndex);

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
