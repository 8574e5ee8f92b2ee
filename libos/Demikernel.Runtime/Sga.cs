using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

/// <summary>
/// A scatter-gather array: a chain of <see cref="DemiBuffer"/> segments plus the generation of its first segment at the
/// time the handle was made. A handle whose buffer was freed and recycled is stale: the libOS refuses it with EINVAL and
/// its accessors throw, rather than reading someone else's bytes.
/// </summary>
public readonly struct Sga
{
    private readonly DemiBuffer? _head;
    private readonly uint _generation;

    internal Sga(DemiBuffer? head)
    {
        _head = head;
        _generation = head?.Generation ?? 0;
    }

    /// <summary>True for the empty SGA (a pop result that signals end of stream).</summary>
    public bool IsEmpty => _head is null || TotalLength == 0;

    /// <summary>True while the handle still refers to the buffers it was made for.</summary>
    public bool IsValid => _head is not null && _head.Generation == _generation;

    internal DemiBuffer? Head => _head;

    /// <summary>The first (often only) segment.</summary>
    public DemiBuffer First => Checked();

    public int SegmentCount
    {
        get
        {
            int n = 0;
            for (var b = _head; b is not null; b = b.Next) n++;
            return n;
        }
    }

    public int TotalLength
    {
        get
        {
            if (_head is null) return 0;
            int n = 0;
            for (var b = Checked(); b is not null; b = b.Next) n += b.Length;
            return n;
        }
    }

    /// <summary>The data of the first segment.</summary>
    public Span<byte> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _head is null ? default : Checked().Span;
    }

    public DemiBuffer Segment(int index)
    {
        var b = Checked();
        for (int i = 0; i < index; i++) b = b.Next ?? throw new ArgumentOutOfRangeException(nameof(index));
        return b;
    }

    /// <summary>Copies all segments into <paramref name="destination"/>; returns the bytes copied.</summary>
    public int CopyTo(Span<byte> destination)
    {
        int n = 0;
        for (var b = _head is null ? null : Checked(); b is not null; b = b.Next)
        {
            b.Span.CopyTo(destination[n..]);
            n += b.Length;
        }
        return n;
    }

    public byte[] ToArray()
    {
        var result = new byte[TotalLength];
        CopyTo(result);
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DemiBuffer Checked()
    {
        var head = _head;
        if (head is null || head.Generation != _generation) ThrowStale();
        return head!;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowStale() => throw new ObjectDisposedException(nameof(Sga), "this SGA was freed (use after free)");
}
