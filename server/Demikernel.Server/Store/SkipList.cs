namespace Demikernel.Server.Store;

/// <summary>A node of a <see cref="SkipList"/>: one sorted-set member with its score.</summary>
public sealed class SkipListNode
{
    internal SkipListNode(byte[] member, double score, int levels)
    {
        Member = member;
        Score = score;
        Forward = new SkipListNode?[levels];
        Span = new long[levels];
    }

    public byte[] Member { get; }
    public double Score { get; internal set; }
    internal SkipListNode? Backward;
    internal readonly SkipListNode?[] Forward;
    internal readonly long[] Span;

    /// <summary>The next node in ascending order.</summary>
    public SkipListNode? Next => Forward[0];

    /// <summary>The previous node in ascending order.</summary>
    public SkipListNode? Previous => Backward;
}

/// <summary>
/// A skip list with spans (as in Redis's zskiplist): nodes ordered by (score, member bytes), each forward link
/// carrying the number of nodes it skips, so rank lookups and rank → node are O(log n).
/// <code>
///   level 2  H ───────────(3)──────────▶ c ──(2)──▶ ·
///   level 1  H ──(1)──▶ a ──(2)────────▶ c ──(1)──▶ d ──(1)──▶ ·
///   level 0  H ──(1)──▶ a ──(1)──▶ b ──(1)──▶ c ──(1)──▶ d ──▶ ·      (backward links on level 0)
/// </code>
/// Ranks are 1-based here (the header is rank 0).
/// </summary>
public sealed class SkipList
{
    public const int MaxLevel = 32;
    private const double P = 0.25;

    private readonly SkipListNode _header = new([], 0, MaxLevel);
    private readonly SkipListNode?[] _update = new SkipListNode?[MaxLevel];
    private readonly long[] _rank = new long[MaxLevel];
    private int _level = 1;

    public long Length { get; private set; }
    public SkipListNode? First => _header.Forward[0];
    public SkipListNode? Last { get; private set; }

    internal static int Compare(double score, ReadOnlySpan<byte> member, SkipListNode node)
    {
        if (score < node.Score) return -1;
        if (score > node.Score) return 1;
        return member.SequenceCompareTo(node.Member);
    }

    private static int RandomLevel()
    {
        int level = 1;
        while (level < MaxLevel && Random.Shared.NextDouble() < P) level++;
        return level;
    }

    /// <summary>Creates and inserts a node (the member must not be present).</summary>
    public SkipListNode Insert(double score, byte[] member)
    {
        var node = new SkipListNode(member, score, RandomLevel());
        Insert(node);
        return node;
    }

    private void Insert(SkipListNode node)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            _rank[i] = i == _level - 1 ? 0 : _rank[i + 1];
            while (x.Forward[i] is { } f && Compare(node.Score, node.Member, f) > 0)
            {
                _rank[i] += x.Span[i];
                x = f;
            }
            _update[i] = x;
        }
        int level = node.Forward.Length;
        if (level > _level)
        {
            for (int i = _level; i < level; i++)
            {
                _rank[i] = 0;
                _update[i] = _header;
                _header.Span[i] = Length;
            }
            _level = level;
        }
        for (int i = 0; i < level; i++)
        {
            var u = _update[i]!;
            node.Forward[i] = u.Forward[i];
            u.Forward[i] = node;
            node.Span[i] = u.Span[i] - (_rank[0] - _rank[i]);
            u.Span[i] = (_rank[0] - _rank[i]) + 1;
        }
        for (int i = level; i < _level; i++) _update[i]!.Span[i]++;
        node.Backward = _update[0] == _header ? null : _update[0];
        if (node.Forward[0] is { } next) next.Backward = node;
        else Last = node;
        Length++;
        Array.Clear(_update);
    }

    /// <summary>Unlinks <paramref name="node"/> (which must be in the list).</summary>
    public void Remove(SkipListNode node)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Forward[i] is { } f && f != node && Compare(node.Score, node.Member, f) > 0) x = f;
            _update[i] = x;
        }
        Unlink(node);
        Array.Clear(_update);
    }

    private void Unlink(SkipListNode node)
    {
        for (int i = 0; i < _level; i++)
        {
            var u = _update[i]!;
            if (u.Forward[i] == node)
            {
                u.Span[i] += node.Span[i] - 1;
                u.Forward[i] = node.Forward[i];
            }
            else
            {
                u.Span[i]--;
            }
        }
        if (node.Forward[0] is { } next) next.Backward = node.Backward;
        else Last = node.Backward;
        while (_level > 1 && _header.Forward[_level - 1] is null) _level--;
        Length--;
        node.Backward = null;
        Array.Clear(node.Forward);
        Array.Clear(node.Span);
    }

    /// <summary>Changes a node's score, moving it only when its position changes (no allocation).</summary>
    public void UpdateScore(SkipListNode node, double score)
    {
        var prev = node.Backward;
        var next = node.Forward[0];
        if ((prev is null || prev.Score < score || (prev.Score == score && prev.Member.AsSpan().SequenceCompareTo(node.Member) < 0)) &&
            (next is null || next.Score > score || (next.Score == score && next.Member.AsSpan().SequenceCompareTo(node.Member) > 0)))
        {
            node.Score = score;
            return;
        }
        Remove(node);
        node.Score = score;
        Insert(node);
    }

    /// <summary>1-based rank of the node with this score and member (0 when absent).</summary>
    public long RankOf(double score, ReadOnlySpan<byte> member)
    {
        long rank = 0;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Forward[i] is { } f && Compare(score, member, f) >= 0)
            {
                rank += x.Span[i];
                x = f;
            }
            if (x != _header && x.Score == score && x.Member.AsSpan().SequenceEqual(member)) return rank;
        }
        return 0;
    }

    /// <summary>The node at 1-based <paramref name="rank"/>, or null.</summary>
    public SkipListNode? ByRank(long rank)
    {
        if (rank < 1 || rank > Length) return null;
        long traversed = 0;
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
        {
            while (x.Forward[i] is { } f && traversed + x.Span[i] <= rank)
            {
                traversed += x.Span[i];
                x = f;
            }
            if (traversed == rank) return x;
        }
        return null;
    }

    /// <summary>The first node whose score is inside the range (or null).</summary>
    public SkipListNode? FirstInRange(in ScoreRange range)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && !range.AboveMin(f.Score)) x = f;
        var n = x.Forward[0];
        return n is not null && range.BelowMax(n.Score) ? n : null;
    }

    /// <summary>The last node whose score is inside the range (or null).</summary>
    public SkipListNode? LastInRange(in ScoreRange range)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && range.BelowMax(f.Score)) x = f;
        return x != _header && range.AboveMin(x.Score) ? x : null;
    }

    /// <summary>The first node whose member is inside the lexicographic range (or null).</summary>
    public SkipListNode? FirstInRange(LexRange range, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && !range.AboveMin(f.Member, min)) x = f;
        var n = x.Forward[0];
        return n is not null && range.BelowMax(n.Member, max) ? n : null;
    }

    /// <summary>The last node whose member is inside the lexicographic range (or null).</summary>
    public SkipListNode? LastInRange(LexRange range, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        var x = _header;
        for (int i = _level - 1; i >= 0; i--)
            while (x.Forward[i] is { } f && range.BelowMax(f.Member, max)) x = f;
        return x != _header && range.AboveMin(x.Member, min) ? x : null;
    }
}

/// <summary>A score interval with open or closed ends (ZRANGEBYSCORE's "(1 5").</summary>
public readonly record struct ScoreRange(double Min, double Max, bool MinExclusive, bool MaxExclusive)
{
    public bool AboveMin(double v) => MinExclusive ? v > Min : v >= Min;
    public bool BelowMax(double v) => MaxExclusive ? v < Max : v <= Max;
    public bool Contains(double v) => AboveMin(v) && BelowMax(v);

    /// <summary>True when no score can be inside (min &gt; max, or equal with an open end).</summary>
    public bool IsEmpty => Min > Max || (Min == Max && (MinExclusive || MaxExclusive));
}

/// <summary>
/// A lexicographic interval (ZRANGEBYLEX's "[a" "(b" "-" "+"). The bounds' bytes live elsewhere (the request)
/// and are passed to the comparisons.
/// </summary>
public readonly record struct LexRange(LexBound MinKind, LexBound MaxKind)
{
    public bool AboveMin(ReadOnlySpan<byte> v, ReadOnlySpan<byte> min) => MinKind switch
    {
        LexBound.NegativeInfinity => true,
        LexBound.PositiveInfinity => false,
        LexBound.Inclusive => v.SequenceCompareTo(min) >= 0,
        _ => v.SequenceCompareTo(min) > 0,
    };

    public bool BelowMax(ReadOnlySpan<byte> v, ReadOnlySpan<byte> max) => MaxKind switch
    {
        LexBound.NegativeInfinity => false,
        LexBound.PositiveInfinity => true,
        LexBound.Inclusive => v.SequenceCompareTo(max) <= 0,
        _ => v.SequenceCompareTo(max) < 0,
    };

    public bool IsEmpty(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        if (MinKind == LexBound.PositiveInfinity || MaxKind == LexBound.NegativeInfinity) return true;
        if (MinKind == LexBound.NegativeInfinity || MaxKind == LexBound.PositiveInfinity) return false;
        int cmp = min.SequenceCompareTo(max);
        return cmp > 0 || (cmp == 0 && (MinKind == LexBound.Exclusive || MaxKind == LexBound.Exclusive));
    }
}

public enum LexBound : byte
{
    Inclusive,
    Exclusive,
    NegativeInfinity,
    PositiveInfinity,
}
