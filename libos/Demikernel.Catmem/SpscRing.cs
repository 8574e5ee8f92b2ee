using System.Runtime.CompilerServices;

namespace Demikernel.Catmem;

/// <summary>
/// A lock-free single-producer/single-consumer byte ring inside a shared mapping: one process writes, the other reads,
/// neither makes a system call. Layout (each counter on its own cache line, so producer and consumer do not share one):
/// <code>
///   +0    tail    u64  bytes ever written (producer's; published after the bytes)
///   +64   head    u64  bytes ever read (consumer's; published after the bytes are copied out)
///   +128  closed  i32  1 once the producer will write no more (published after its last tail)
///   +192  data    capacity bytes (a power of two; positions are counters modulo the capacity)
/// </code>
/// x64 keeps stores in order and loads in order, and Volatile gives acquire/release on every platform .NET runs on,
/// so "write bytes, then publish tail" and "read tail, then read bytes" are all the fencing needed.
/// </summary>
internal readonly unsafe struct SpscRing
{
    public const int HeaderBytes = 192;
    private const int TailOffset = 0, HeadOffset = 64, ClosedOffset = 128;

    private readonly byte* _header;
    private readonly byte* _data;
    private readonly long _mask;

    public SpscRing(byte* header, long capacity)
    {
        _header = header;
        _data = header + HeaderBytes;
        Capacity = capacity;
        _mask = capacity - 1;
    }

    public long Capacity { get; }

    private ref long Tail => ref Unsafe.AsRef<long>(_header + TailOffset);
    private ref long Head => ref Unsafe.AsRef<long>(_header + HeadOffset);
    private ref int Closed => ref Unsafe.AsRef<int>(_header + ClosedOffset);

    /// <summary>Bytes ready for the consumer.</summary>
    public long Available => Volatile.Read(ref Tail) - Volatile.Read(ref Head);

    /// <summary>Whether the producer closed its end (data written before the close is still readable).</summary>
    public bool IsClosed => Volatile.Read(ref Closed) != 0;

    /// <summary>Producer: copies as much of <paramref name="source"/> as fits; returns the bytes written.</summary>
    public int Write(ReadOnlySpan<byte> source)
    {
        long tail = Tail; // only this side writes it
        long free = Capacity - (tail - Volatile.Read(ref Head));
        int n = (int)Math.Min(free, source.Length);
        if (n == 0) return 0;
        long at = tail & _mask;
        int first = (int)Math.Min(n, Capacity - at);
        source[..first].CopyTo(new Span<byte>(_data + at, first));
        if (first < n) source[first..n].CopyTo(new Span<byte>(_data, n - first));
        Volatile.Write(ref Tail, tail + n);
        return n;
    }

    /// <summary>Consumer: copies up to <c>destination.Length</c> ready bytes; returns the bytes read.</summary>
    public int Read(Span<byte> destination)
    {
        long head = Head; // only this side writes it
        long ready = Volatile.Read(ref Tail) - head;
        int n = (int)Math.Min(ready, destination.Length);
        if (n == 0) return 0;
        long at = head & _mask;
        int first = (int)Math.Min(n, Capacity - at);
        new ReadOnlySpan<byte>(_data + at, first).CopyTo(destination);
        if (first < n) new ReadOnlySpan<byte>(_data, n - first).CopyTo(destination[first..]);
        Volatile.Write(ref Head, head + n);
        return n;
    }

    /// <summary>Producer: no more bytes will come.</summary>
    public void Close() => Volatile.Write(ref Closed, 1);
}
