using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// Segments that arrived ahead of a gap, kept (as the received buffers themselves, adjusted to their payload) until the
/// gap fills. Sorted by sequence number, never overlapping: a new segment is trimmed against its neighbours and
/// swallows segments it covers.
/// <code>
///   rcvNxt ─┐   gap    [seq 3000..4460) [4460..5920)   gap   [8840..10300)
///           └─ TryTake(rcvNxt) hands out the front segment once the gap before it is filled
/// </code>
/// </summary>
internal sealed class ReassemblyQueue
{
    private readonly List<(SeqNumber Seq, DemiBuffer Data)> _segments = [];

    public int SegmentCount => _segments.Count;
    public bool IsEmpty => _segments.Count == 0;

    /// <summary>
    /// Keeps the payload <paramref name="data"/> (starting at <paramref name="seq"/>) unless it adds nothing new.
    /// True if the buffer was kept; otherwise the caller still owns it.
    /// </summary>
    public bool Insert(SeqNumber seq, DemiBuffer data, BufferPool pool)
    {
        int i = 0;
        while (i < _segments.Count && _segments[i].Seq <= seq) i++;
        if (i > 0)
        {
            var prev = _segments[i - 1];
            var prevEnd = prev.Seq + prev.Data.Length;
            if (prevEnd >= seq + data.Length) return false; // nothing new
            if (prevEnd > seq)
            {
                data.Adjust(prevEnd - seq);
                seq = prevEnd;
            }
        }
        var end = seq + data.Length;
        while (i < _segments.Count && _segments[i].Seq < end)
        {
            var next = _segments[i];
            if (next.Seq + next.Data.Length <= end)
            {
                _segments.RemoveAt(i); // covered by the new segment
                pool.Discard(next.Data);
                continue;
            }
            data.SetLength(next.Seq - seq);
            break;
        }
        if (data.Length == 0) return false;
        _segments.Insert(i, (seq, data));
        return true;
    }

    /// <summary>
    /// Takes the front segment if it starts at or before <paramref name="rcvNxt"/>, trimmed to start exactly there;
    /// segments entirely before it are discarded.
    /// </summary>
    public bool TryTake(SeqNumber rcvNxt, BufferPool pool, out DemiBuffer data)
    {
        while (_segments.Count > 0)
        {
            var (seq, buffer) = _segments[0];
            if (seq > rcvNxt) break;
            _segments.RemoveAt(0);
            int skip = rcvNxt - seq;
            if (skip >= buffer.Length)
            {
                pool.Discard(buffer);
                continue;
            }
            buffer.Adjust(skip);
            data = buffer;
            return true;
        }
        data = null!;
        return false;
    }

    /// <summary>
    /// SACK blocks for an ACK (RFC 2018 §4): the contiguous range holding <paramref name="latest"/> (the most recently
    /// received segment) first, then the others from the highest down, at most <see cref="TcpSackBlocks.Max"/>.
    /// </summary>
    public TcpSackBlocks SackBlocks(SeqNumber latest)
    {
        var blocks = default(TcpSackBlocks);
        TcpSackBlock first = default;
        bool haveFirst = false;
        // Contiguous ranges, from the highest down.
        int i = _segments.Count - 1;
        Span<TcpSackBlock> others = stackalloc TcpSackBlock[TcpSackBlocks.Max];
        int otherCount = 0;
        while (i >= 0)
        {
            var right = _segments[i].Seq + _segments[i].Data.Length;
            var left = _segments[i].Seq;
            while (i > 0 && _segments[i - 1].Seq + _segments[i - 1].Data.Length == left)
            {
                i--;
                left = _segments[i].Seq;
            }
            i--;
            var block = new TcpSackBlock(left, right);
            if (!haveFirst && latest >= left && latest < right)
            {
                first = block;
                haveFirst = true;
            }
            else if (otherCount < others.Length) others[otherCount++] = block;
        }
        if (haveFirst) blocks = blocks.With(first);
        for (int k = 0; k < otherCount && blocks.Count < TcpSackBlocks.Max; k++) blocks = blocks.With(others[k]);
        return blocks;
    }

    public void Clear(BufferPool pool)
    {
        foreach (var (_, buffer) in _segments) pool.Discard(buffer);
        _segments.Clear();
    }
}
