using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

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
/// </summary>
public sealed class DemiBuffer
{
    private readonly byte[] _array;
    private readonly int _start;
    private readonly int _capacity;
    private readonly BufferPool? _pool;
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
        get => new(_array, _start + Offset, Length);
    }

    public Memory<byte> Memory => new(_array, _start + Offset, Length);

    /// <summary>The array and absolute offset of the data, for interop (the array is pinned).</summary>
    internal byte[] Array => _array;
    internal int DataStart => _start + Offset;

    /// <summary>Address of the first data byte: stable, because the backing array lives on the pinned object heap.</summary>
    public nint DataAddress => System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(_array, _start + Offset);

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
    public Span<byte> AvailableSpan => new(_array, _start + Offset, _capacity - Offset);

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
            b._pool?.Return(b);
            b = next;
        }
    }
}
