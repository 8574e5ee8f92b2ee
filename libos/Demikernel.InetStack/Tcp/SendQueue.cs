using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// The unacknowledged and unsent bytes of a TCP sender, kept in the application's own pushed buffers (no copy): each
/// pushed SGA is retained (<see cref="DemiBuffer.Retain"/>) until its last byte is acknowledged, then released.
/// <code>
///   entries: [ seg A (partly ACKed) | seg B | seg C (last of its SGA: owns the reference) | ... ]
///             ▲ front = first unacknowledged byte         Peek(offset) walks from a cursor, so sequential reads are O(1)
/// </code>
/// The application must not write into an SGA after pushing it (Demikernel's rule); it may free it at once.
/// </summary>
internal sealed class SendQueue
{
    private struct Entry
    {
        public DemiBuffer Segment;
        public int Start;      // offset into Segment.Span
        public int Length;
        public DemiBuffer? Owner; // the SGA head to release once this (its last) entry is acknowledged
    }

    private Entry[] _entries = new Entry[16];
    private int _head;
    private int _count;
    private int _cursor;      // logical index of the entry Peek last read
    private int _cursorBase;  // bytes in front of that entry

    /// <summary>Bytes queued (unacknowledged plus unsent).</summary>
    public int Count { get; private set; }

    /// <summary>Queues the bytes of <paramref name="sga"/> and takes a reference on it until they are acknowledged.</summary>
    public void Append(in Sga sga)
    {
        var head = sga.First;
        int last = -1;
        for (var b = head; b is not null; b = b.Next)
        {
            if (b.Length == 0) continue;
            if (_count == _entries.Length) GrowEntries();
            last = (_head + _count) & (_entries.Length - 1);
            _entries[last] = new Entry { Segment = b, Start = 0, Length = b.Length };
            _count++;
            Count += b.Length;
        }
        if (last < 0) return;
        head.Retain();
        _entries[last].Owner = head;
    }

    /// <summary>Copies <c>destination.Length</c> bytes starting <paramref name="offset"/> bytes from the front.</summary>
    public void Peek(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Count) throw new ArgumentOutOfRangeException(nameof(offset));
        if (destination.IsEmpty) return;
        SeekCursor(offset);
        int mask = _entries.Length - 1;
        int index = _cursor;
        int within = offset - _cursorBase;
        int written = 0;
        while (written < destination.Length)
        {
            ref var e = ref _entries[(_head + index) & mask];
            int n = Math.Min(e.Length - within, destination.Length - written);
            e.Segment.Span.Slice(e.Start + within, n).CopyTo(destination[written..]);
            written += n;
            within = 0;
            index++;
        }
    }

    /// <summary>
    /// The buffer holding all <paramref name="length"/> bytes starting <paramref name="offset"/> bytes from the front, and
    /// where they start in its data; false if they span buffers (then <see cref="Peek"/> gathers them).
    /// </summary>
    public bool TryGetContiguous(int offset, int length, out DemiBuffer segment, out int start)
    {
        segment = null!;
        start = 0;
        if (offset < 0 || length <= 0 || offset + length > Count) return false;
        SeekCursor(offset);
        ref var entry = ref _entries[(_head + _cursor) & (_entries.Length - 1)];
        int within = offset - _cursorBase;
        if (within + length > entry.Length) return false;
        segment = entry.Segment;
        start = entry.Start + within;
        return true;
    }

    /// <summary>Moves the cursor to the entry holding <paramref name="offset"/> (from the front when it lies behind it):
    /// segments are built in order, so the walk is short.</summary>
    private void SeekCursor(int offset)
    {
        if (offset < _cursorBase || _cursor >= _count)
        {
            _cursor = 0;
            _cursorBase = 0;
        }
        int mask = _entries.Length - 1;
        while (true)
        {
            ref var e = ref _entries[(_head + _cursor) & mask];
            if (offset < _cursorBase + e.Length) break;
            _cursorBase += e.Length;
            _cursor++;
        }
    }

    /// <summary>Drops <paramref name="count"/> acknowledged bytes from the front, releasing buffers they finish.</summary>
    public void Discard(int count)
    {
        if ((uint)count > (uint)Count) throw new ArgumentOutOfRangeException(nameof(count));
        Count -= count;
        int mask = _entries.Length - 1;
        while (count > 0)
        {
            ref var e = ref _entries[_head];
            if (count < e.Length)
            {
                e.Start += count;
                e.Length -= count;
                if (_cursor > 0) _cursorBase -= count;
                return;
            }
            count -= e.Length;
            if (_cursor > 0)
            {
                _cursor--;
                _cursorBase -= e.Length;
            }
            else _cursorBase = 0;
            var owner = e.Owner;
            e = default;
            _head = (_head + 1) & mask;
            _count--;
            owner?.Release();
        }
    }

    /// <summary>Releases every buffer (the connection ended).</summary>
    public void Clear()
    {
        int mask = _entries.Length - 1;
        while (_count > 0)
        {
            var owner = _entries[_head].Owner;
            _entries[_head] = default;
            _head = (_head + 1) & mask;
            _count--;
            owner?.Release();
        }
        Count = 0;
        _cursor = _cursorBase = 0;
    }

    private void GrowEntries()
    {
        var bigger = new Entry[_entries.Length * 2];
        int mask = _entries.Length - 1;
        for (int i = 0; i < _count; i++) bigger[i] = _entries[(_head + i) & mask];
        _entries = bigger;
        _head = 0;
    }
}
