namespace Demikernel.Server.Replication;

/// <summary>
/// The replication stream's recent bytes in one ring, shared by the backlog (what PSYNC may resume from) and by the
/// replicas (each reads the ring from its own position, as redis 7.0's replicas share its replication buffer):
/// <code>
///   position:   HeldStart ........ FirstByte-1 | FirstByte ............................ End
///               [ kept only for a lagging replica ][ the backlog: the last repl-backlog-size bytes ]
/// </code>
/// A position counts bytes from the start of the stream, so the byte at position p has replication offset p + 1
/// and <see cref="End"/> is master_repl_offset. The ring grows (doubling) only while a replica still needs older
/// bytes than the backlog keeps: steady state copies into the ring and allocates nothing.
/// </summary>
internal sealed class ReplicationBacklog
{
    private byte[] _ring;
    private long _heldStart;

    public ReplicationBacklog(long size, long end)
    {
        Size = size;
        _ring = new byte[Math.Max(16 * 1024, (int)Math.Min(size, Array.MaxLength / 2))];
        _heldStart = end;
        End = end;
        FirstOffset = end + 1;
    }

    /// <summary>repl-backlog-size.</summary>
    public long Size { get; set; }

    /// <summary>Bytes fed so far (master_repl_offset).</summary>
    public long End { get; private set; }

    /// <summary>repl_backlog_first_byte_offset: the offset of the oldest byte PSYNC may resume from.</summary>
    public long FirstOffset { get; private set; }

    /// <summary>The ring's bytes (used_memory's replication backlog).</summary>
    public long AllocatedBytes => _ring.Length;

    /// <summary>repl_backlog_histlen.</summary>
    public long HistLen => End - FirstOffset + 1;

    /// <summary>Oldest position still held (a replica behind it cannot be fed any more).</summary>
    public long HeldStart => _heldStart;

    /// <summary>Appends bytes; <paramref name="oldestNeeded"/> is the lowest position a replica still has to send.</summary>
    public void Append(ReadOnlySpan<byte> data, long oldestNeeded)
    {
        long newEnd = End + data.Length;
        long keepFrom = Math.Min(Math.Max(newEnd - Size, _heldStart), oldestNeeded);
        if (newEnd - keepFrom > _ring.Length) Grow(keepFrom, newEnd);
        int at = (int)(End % _ring.Length);
        int first = Math.Min(data.Length, _ring.Length - at);
        data[..first].CopyTo(_ring.AsSpan(at));
        data[first..].CopyTo(_ring);
        End = newEnd;
        _heldStart = Math.Max(_heldStart, newEnd - _ring.Length);
        if (_heldStart < keepFrom) _heldStart = keepFrom;
        FirstOffset = Math.Max(FirstOffset, Math.Max(_heldStart, newEnd - Size) + 1);
    }

    /// <summary>Drops what the backlog no longer needs once no replica holds it (a replica caught up).</summary>
    public void Release(long oldestNeeded)
    {
        long keepFrom = Math.Min(Math.Max(End - Size, _heldStart), oldestNeeded);
        if (keepFrom > _heldStart) _heldStart = keepFrom;
    }

    /// <summary>Copies the bytes from <paramref name="position"/> on into <paramref name="to"/> (which must fit in what is held).</summary>
    public void CopyTo(long position, Span<byte> to)
    {
        if (position < _heldStart || position + to.Length > End) throw new ArgumentOutOfRangeException(nameof(position));
        int at = (int)(position % _ring.Length);
        int first = Math.Min(to.Length, _ring.Length - at);
        _ring.AsSpan(at, first).CopyTo(to);
        _ring.AsSpan(0, to.Length - first).CopyTo(to[first..]);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void Grow(long keepFrom, long newEnd)
    {
        long need = newEnd - keepFrom;
        long capacity = _ring.Length;
        while (capacity < need) capacity *= 2;
        if (capacity > Array.MaxLength) throw new InvalidOperationException("replication buffer over 2 GB");
        var bigger = new byte[capacity];
        long from = Math.Max(keepFrom, _heldStart);
        for (long p = from; p < End;)
        {
            int at = (int)(p % _ring.Length);
            int n = (int)Math.Min(End - p, _ring.Length - at);
            int to = (int)(p % capacity);
            int m = (int)Math.Min(n, capacity - to);
            _ring.AsSpan(at, m).CopyTo(bigger.AsSpan(to));
            if (m < n) _ring.AsSpan(at + m, n - m).CopyTo(bigger);
            p += n;
        }
        _ring = bigger;
        _heldStart = from;
    }

    /// <summary>Shrinks to <see cref="Size"/> after CONFIG SET repl-backlog-size (bytes beyond it are dropped).</summary>
    public void Resize(long size)
    {
        Size = size;
        FirstOffset = Math.Max(FirstOffset, End - Size + 1);
    }
}
