namespace Demikernel.Server.Store;

/// <summary>
/// A Redis sorted set: a <see cref="SkipList"/> ordered by (score, member) plus a member → node dictionary (O(1)
/// ZSCORE, span lookups without allocation). OBJECT ENCODING reports "listpack" while the set is within Redis 7.0's
/// zset-max-listpack-entries (128) and zset-max-listpack-value (64 bytes) limits, and "skiplist" once it has
/// exceeded them (it never converts back, as in Redis).
/// </summary>
public sealed class RedisSortedSet : RedisObject
{
    public const int MaxListpackEntries = 128;
    public const int MaxListpackValue = 64;

    private readonly Dictionary<byte[], SkipListNode> _dict = new(SetMemberComparer.Instance);
    private readonly Dictionary<byte[], SkipListNode>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private bool _skiplist;

    public RedisSortedSet() => _lookup = _dict.GetAlternateLookup<ReadOnlySpan<byte>>();

    public override RedisType Type => RedisType.ZSet;

    public override string Encoding => _skiplist ? "skiplist" : "listpack";

    /// <summary>True once the set uses Redis's skiplist encoding (affects ZSCAN's cursor behaviour).</summary>
    public bool IsSkiplistEncoded => _skiplist;

    public SkipList List { get; } = new();

    public int Count => _dict.Count;

    public SkipListNode? Find(ReadOnlySpan<byte> member) => _lookup.TryGetValue(member, out var n) ? n : null;

    public bool TryGetScore(ReadOnlySpan<byte> member, out double score)
    {
        if (_lookup.TryGetValue(member, out var n))
        {
            score = n.Score;
            return true;
        }
        score = 0;
        return false;
    }

    /// <summary>Adds a member or changes its score; true when it was added.</summary>
    public bool Set(ReadOnlySpan<byte> member, double score)
    {
        if (_lookup.TryGetValue(member, out var node))
        {
            if (node.Score != score) List.UpdateScore(node, score);
            return false;
        }
        var bytes = member.ToArray();
        _dict.Add(bytes, List.Insert(score, bytes));
        if (!_skiplist && (_dict.Count > MaxListpackEntries || bytes.Length > MaxListpackValue)) _skiplist = true;
        return true;
    }

    public void UpdateScore(SkipListNode node, double score)
    {
        if (node.Score != score) List.UpdateScore(node, score);
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (!_lookup.Remove(member, out _, out var node)) return false;
        List.Remove(node);
        return true;
    }

    public void Remove(SkipListNode node)
    {
        _dict.Remove(node.Member);
        List.Remove(node);
    }

    /// <summary>0-based rank of a member in ascending order, or -1.</summary>
    public long RankOf(ReadOnlySpan<byte> member)
    {
        if (!_lookup.TryGetValue(member, out var n)) return -1;
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
