namespace Demikernel.Server.Store;

/// <summary>
/// A Redis sorted set: a <see cref="SkipList"/> ordered by (score, member) plus a member → node
/// <see cref="MemberTable{TValue}"/> (O(1) ZSCORE, span lookups without allocation, and ZSCAN over its buckets with
/// Redis's reverse-binary cursor, so a member present for a whole scan is returned at least once). OBJECT ENCODING reports "listpack" while the set is within
/// zset-max-listpack-entries and zset-max-listpack-value (<see cref="EncodingLimits"/>), and "skiplist" once it has
/// exceeded them (it never converts back, as in Redis).
/// </summary>
public sealed class RedisSortedSet : RedisObject
{
    private readonly MemberTable<SkipListNode> _dict = new();
    private bool _skiplist;

    public override RedisType Type => RedisType.ZSet;

    public override string Encoding => _skiplist ? "skiplist" : "listpack";

    /// <summary>True once the set uses Redis's skiplist encoding (affects ZSCAN's cursor behaviour).</summary>
    public bool IsSkiplistEncoded => _skiplist;

    public SkipList List { get; } = new();

    public int Count => _dict.Count;

    /// <summary>A skip list node (object, forward and span arrays of 1.33 levels on average, p = 1/4).</summary>
    private const int NodeBytes = 128;

    internal override long MemoryBytes => 40 + 96 + _dict.MemoryBytes + (long)_dict.Count * NodeBytes;

    public SkipListNode? Find(ReadOnlySpan<byte> member)
    {
        int i = _dict.IndexOf(member);
        return i >= 0 ? _dict.ValueAt(i) : null;
    }

    public bool TryGetScore(ReadOnlySpan<byte> member, out double score)
    {
        int i = _dict.IndexOf(member);
        if (i >= 0)
        {
            score = _dict.ValueAt(i).Score;
            return true;
        }
        score = 0;
        return false;
    }

    /// <summary>Adds a member or changes its score; true when it was added.</summary>
    public bool Set(ReadOnlySpan<byte> member, double score)
    {
        int i = _dict.IndexOf(member);
        if (i >= 0)
        {
            var node = _dict.ValueAt(i);
            if (node.Score != score) List.UpdateScore(node, score);
            return false;
        }
        var bytes = member.ToArray();
        _dict.TryAdd(bytes, List.Insert(score, bytes));
        if (!_skiplist)
        {
            var limits = EncodingLimits.Current;
            if (_dict.Count > limits.ZSetMaxListpackEntries || bytes.Length > limits.ZSetMaxListpackValue) _skiplist = true;
        }
        return true;
    }

    public void UpdateScore(SkipListNode node, double score)
    {
        if (node.Score != score) List.UpdateScore(node, score);
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (!_dict.Remove(member, out var node)) return false;
        List.Remove(node);
        return true;
    }

    public void Remove(SkipListNode node)
    {
        _dict.Remove(node.Member, out _);
        List.Remove(node);
    }

    /// <summary>
    /// One ZSCAN step of the skiplist encoding (a listpack is returned whole by the caller): adds the nodes of the
    /// members of the visited buckets to <paramref name="found"/> and returns the next cursor, 0 when done.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<int> scratch, List<SkipListNode> found)
    {
        cursor = _dict.Scan(cursor, count, scratch);
        foreach (int i in scratch) found.Add(_dict.ValueAt(i));
        scratch.Clear();
        return cursor;
    }

    /// <summary>Buckets of the member table; tests watch resizes with it.</summary>
    internal int BucketCount => _dict.BucketCount;

    /// <summary>
    /// The first node inside a lexicographic range, or null. Like Redis, nothing is in range when the last member is
    /// below min or the first above max; a listpack-encoded set then walks from its head (zzlFirstInLexRange), so on
    /// members with different scores (where the answer depends on the order) the result is Redis's and does not
    /// depend on the skiplist's random levels.
    /// </summary>
    public SkipListNode? FirstInLexRange(LexRange range, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        if (!MayIntersect(range, min, max)) return null;
        if (_skiplist) return List.FirstInRange(range, min, max);
        for (var n = List.First; n is not null; n = n.Next)
            if (range.AboveMin(n.Member, min)) return range.BelowMax(n.Member, max) ? n : null;
        return null;
    }

    /// <summary>The last node inside a lexicographic range, or null (the mirror of <see cref="FirstInLexRange"/>).</summary>
    public SkipListNode? LastInLexRange(LexRange range, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        if (!MayIntersect(range, min, max)) return null;
        if (_skiplist) return List.LastInRange(range, min, max);
        for (var n = List.Last; n is not null; n = n.Previous)
            if (range.BelowMax(n.Member, max)) return range.AboveMin(n.Member, min) ? n : null;
        return null;
    }

    private bool MayIntersect(LexRange range, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max) =>
        List.First is { } first && List.Last is { } last && range.AboveMin(last.Member, min) && range.BelowMax(first.Member, max);

    /// <summary>0-based rank of a member in ascending order, or -1.</summary>
    public long RankOf(ReadOnlySpan<byte> member)
    {
        var n = Find(member);
        if (n is null) return -1;
        return List.RankOf(n.Score, n.Member) - 1;
    }

    /// <summary>The node at 0-based rank.</summary>
    public SkipListNode? ByRank(long rank) => List.ByRank(rank + 1);

    public override RedisObject Clone()
    {
        var copy = new RedisSortedSet();
        for (var n = List.First; n is not null; n = n.Next) copy.Set(n.Member, n.Score);
        copy._skiplist = _skiplist;
        return copy;
    }
}
