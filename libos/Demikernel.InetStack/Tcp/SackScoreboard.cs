using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// The sender's record of what the peer has selectively acknowledged above SND.UNA (RFC 2018 / RFC 6675): sorted,
/// merged ranges. Recovery resends the holes between them; a sender that went back after a timeout skips them.
/// <code>
///   SND.UNA ▼  hole   [#### SACKed ####]  hole  [## SACKed ##]      ▼ SND.MAX
///             ^ NextHole                                   ^ HighSack
/// </code>
/// </summary>
internal sealed class SackScoreboard
{
    private readonly List<(SeqNumber Left, SeqNumber Right)> _ranges = [];

    public bool IsEmpty => _ranges.Count == 0;
    public int RangeCount => _ranges.Count;

    /// <summary>Right edge of the highest SACKed range (meaningless when empty).</summary>
    public SeqNumber HighSack => _ranges[^1].Right;

    /// <summary>Bytes SACKed in total.</summary>
    public long SackedBytes { get; private set; }

    /// <summary>Adds the blocks of an ACK that lie within (<paramref name="una"/>, <paramref name="max"/>]; true if any was new.</summary>
    public bool Update(in TcpSackBlocks blocks, SeqNumber una, SeqNumber max)
    {
        bool added = false;
        for (int i = 0; i < blocks.Count; i++)
        {
            var (left, right) = (blocks[i].Left, blocks[i].Right);
            if (right <= left || right > max) continue; // malformed or for data never sent (RFC 2883 D-SACK included)
            if (left < una) left = una;
            if (right <= left) continue;
            added |= Add(left, right);
        }
        return added;
    }

    private bool Add(SeqNumber left, SeqNumber right)
    {
        int i = 0;
        while (i < _ranges.Count && _ranges[i].Right < left) i++;
        if (i < _ranges.Count && _ranges[i].Left <= left && _ranges[i].Right >= right) return false; // known
        // Merge every range that touches [left, right).
        while (i < _ranges.Count && _ranges[i].Left <= right)
        {
            var r = _ranges[i];
            if (r.Left < left) left = r.Left;
            if (r.Right > right) right = r.Right;
            SackedBytes -= r.Right - r.Left;
            _ranges.RemoveAt(i);
        }
        _ranges.Insert(i, (left, right));
        SackedBytes += right - left;
        return true;
    }

    /// <summary>Forgets everything at or below the cumulative ACK.</summary>
    public void Prune(SeqNumber una)
    {
        while (_ranges.Count > 0 && _ranges[0].Left < una)
        {
            var r = _ranges[0];
            SackedBytes -= r.Right - r.Left;
            _ranges.RemoveAt(0);
            if (r.Right > una)
            {
                _ranges.Insert(0, (una, r.Right));
                SackedBytes += r.Right - una;
                break;
            }
        }
    }

    public void Clear()
    {
        _ranges.Clear();
        SackedBytes = 0;
    }

    /// <summary>If <paramref name="seq"/> lies in a SACKed range, its right edge.</summary>
    public bool TryGetSackedRange(SeqNumber seq, out SeqNumber right)
    {
        foreach (var r in _ranges)
        {
            if (r.Left > seq) break;
            if (seq < r.Right)
            {
                right = r.Right;
                return true;
            }
        }
        right = default;
        return false;
    }

    /// <summary>SACKed bytes in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public long SackedBetween(SeqNumber from, SeqNumber to)
    {
        long n = 0;
        foreach (var r in _ranges)
        {
            if (r.Left >= to) break;
            var l = r.Left < from ? from : r.Left;
            var h = r.Right > to ? to : r.Right;
            if (h > l) n += h - l;
        }
        return n;
    }

    /// <summary>The first un-SACKed range at or after <paramref name="from"/> that lies below <see cref="HighSack"/>.</summary>
    public bool TryGetHole(SeqNumber from, out SeqNumber start, out int length)
    {
        foreach (var r in _ranges)
        {
            if (r.Right <= from) continue;
            if (r.Left > from)
            {
                start = from;
                length = r.Left - from;
                return true;
            }
            from = r.Right; // inside this range: the hole, if any, starts after it
        }
        start = default;
        length = 0;
        return false;
    }
}
