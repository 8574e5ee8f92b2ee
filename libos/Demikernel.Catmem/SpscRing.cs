using System.Runtime.CompilerServices;

namespace Demikernel.Catmem;

/// <summary>
/// A lock-free single-producer/single-consumer byte ring inside a shared mapping: one process writes, the other reads,
/// neither makes a system call. The bytes travel as records, each behind an 8-byte header in the data area itself:
/// <code>
///   +0    (unused)
///   +64   head    u64  bytes of records ever consumed (consumer's; read by the producer only when it seems full)
///   +128  closed  i32  1 once the producer will write no more (published after its last record)
///   +192  data    capacity bytes (a power of two, at least 64; positions are counters modulo the capacity)
///
///   record at position p (8-aligned):  header u64 = (p/8 as u32) &lt;&lt; 32 | length   then length bytes, padded to 8
/// </code>
/// Why the header sits with the bytes: a line the other core wrote costs a cross-core transfer to read (150-250 ns
/// each on this kind of VM). With a separate tail counter the consumer paid two in a row, the counter's and then the
/// data's; polling the header at its own position it pays one, which brings the first bytes along. A header is valid
/// only with its position's tag and a non-zero length, and the producer zeroes the next record's header before it
/// publishes one (the ring keeps 8 bytes free for that), so the word at the consumer's position is either zero or a
/// complete record's header, never a stale one of an earlier lap. x64 keeps stores in order and loads in order, and
/// Volatile gives release/acquire on every platform .NET runs on: "write bytes, zero the next header, publish this
/// header" and "read the header, then the bytes" are all the fencing needed.
/// <para>
/// Each side keeps its own position in process memory, and the producer the consumer's head as last read: it reads
/// the shared head again only when the head it saw leaves too little room, so a request/response exchange never moves
/// the head's line on a push.
/// </para>
/// </summary>
internal unsafe struct SpscRing
{
    public const int HeaderBytes = 192;
    public const int MinCapacity = 64;
    private const int HeadOffset = 64, ClosedOffset = 128;
    private const int RecordHeader = 8;

    private readonly byte* _header;
    private readonly byte* _data;
    private readonly long _mask;
    private long _tail; // producer: where its next record goes
    private long _head; // consumer: where the record being read starts; producer: the consumer's head as last read
    private int _consumed; // consumer: bytes of the record at _head already read (a pop may take part of one)

    public SpscRing(byte* header, long capacity)
    {
        _header = header;
        _data = header + HeaderBytes;
        Capacity = capacity;
        _mask = capacity - 1;
        _head = _tail = Volatile.Read(ref Head);
    }

    public long Capacity { get; }

    /// <summary>The largest payload one record can hold (the ring keeps a header and the next zeroed header).</summary>
    public long MaxRecord => Capacity - 2 * RecordHeader;

    private readonly ref long Head => ref Unsafe.AsRef<long>(_header + HeadOffset);
    private readonly ref int Closed => ref Unsafe.AsRef<int>(_header + ClosedOffset);
    private readonly ref ulong HeaderAt(long position) => ref Unsafe.AsRef<ulong>(_data + (position & _mask));

    /// <summary>Whether the producer closed its end (data written before the close is still readable).</summary>
    public readonly bool IsClosed => Volatile.Read(ref Closed) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Padded(int length) => RecordHeader + ((length + 7L) & ~7L);

    /// <summary>The length of the record at <paramref name="position"/> once it is published, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int ReadyAt(long position)
    {
        ulong header = Volatile.Read(ref HeaderAt(position));
        return (uint)(header >> 32) == (uint)(position >> 3) ? (int)(uint)header : 0;
    }

    /// <summary>
    /// Consumer: bytes ready to read, counting records until <paramref name="limit"/> is reached. It looks at a next
    /// record's header only while that header shares a cache line with the bytes before it: the line after a record
    /// was just written by the producer (it zeroes the next header), and reading it only to find nothing there would
    /// cost a pop a second cross-core transfer. Records further on are taken by the next pop.
    /// </summary>
    public readonly long Available(long limit)
    {
        int length = ReadyAt(_head);
        if (length == 0) return 0;
        long ready = length - _consumed;
        long position = _head + Padded(length);
        while (ready < limit && position - _head < Capacity && ((position - 1) >> 6) == (position >> 6) && (length = ReadyAt(position)) != 0)
        {
            ready += length;
            position += Padded(length);
        }
        return ready;
    }

    /// <summary>Producer: copies as much of <paramref name="source"/> as fits into one record; returns the bytes written.</summary>
    public int Write(ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return 0;
        long tail = _tail;
        long room = Capacity - (tail - _head) - 2 * RecordHeader;
        if (room < source.Length)
        {
            _head = Volatile.Read(ref Head); // the room seen last is short: look again
            room = Capacity - (tail - _head) - 2 * RecordHeader;
        }
        int n = (int)Math.Min(room, source.Length);
        if (n <= 0) return 0;
        long at = (tail + RecordHeader) & _mask;
        int first = (int)Math.Min(n, Capacity - at);
        source[..first].CopyTo(new Span<byte>(_data + at, first));
        if (first < n) source[first..n].CopyTo(new Span<byte>(_data, n - first));
        long next = tail + Padded(n);
        HeaderAt(next) = 0; // inside the room: the consumer is past it, and must find it empty until it is published
        Volatile.Write(ref HeaderAt(tail), ((ulong)(uint)(tail >> 3) << 32) | (uint)n);
        _tail = next;
        return n;
    }

    /// <summary>
    /// Consumer: copies <c>destination.Length</c> bytes, at most what <see cref="Available"/> reported, out of one or
    /// more records; returns the bytes read.
    /// </summary>
    public int Read(Span<byte> destination)
    {
        int done = 0;
        long head = _head;
        while (done < destination.Length)
        {
            int length = ReadyAt(head);
            if (length == 0) break;
            int n = Math.Min(length - _consumed, destination.Length - done);
            long at = (head + RecordHeader + _consumed) & _mask;
            int first = (int)Math.Min(n, Capacity - at);
            new ReadOnlySpan<byte>(_data + at, first).CopyTo(destination[done..]);
            if (first < n) new ReadOnlySpan<byte>(_data, n - first).CopyTo(destination[(done + first)..]);
            done += n;
            _consumed += n;
            if (_consumed < length) break;
            _consumed = 0;
            head += Padded(length);
        }
        if (head != _head)
        {
            _head = head;
            Volatile.Write(ref Head, head); // the record's space is free for the producer
        }
        return done;
    }

    /// <summary>Producer: no more bytes will come.</summary>
    public readonly void Close() => Volatile.Write(ref Closed, 1);
}
