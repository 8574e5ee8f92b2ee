using Demikernel.Resp;

namespace Demikernel.Server.Store;

/// <summary>
/// A Redis set with Redis 7.0's two encodings:
/// <code>
///   intset     sorted long[] (every member a canonical integer, at most set-max-intset-entries); members come out in
///              ascending order, like Redis's intset
///   hashtable  a <see cref="MemberTable{TValue}"/>: dense members indexed by chained buckets; removal swaps the last
///              member into the hole, so random picks (SPOP, SRANDMEMBER) are O(1); SSCAN walks the buckets with
///              Redis's reverse-binary cursor, so a member present for a whole scan is returned at least once
/// </code>
/// A set never converts back from hashtable to intset (as in Redis). Members are addressed by a slot index in
/// [0, Count) for iteration and random access; <see cref="MemberAt"/> formats intset members into a caller's
/// scratch buffer (at least <see cref="ScratchLength"/> bytes).
/// </summary>
public sealed class RedisSet : RedisObject
{
    /// <summary>Bytes a scratch buffer for <see cref="MemberAt"/> needs.</summary>
    public const int ScratchLength = RedisNumbers.MaxInt64Length;

    private long[]? _ints = new long[4];
    private MemberTable<bool>? _table; // the value is unused
    private int _count; // intset only

    public override RedisType Type => RedisType.Set;

    public override string Encoding => _ints is not null ? "intset" : "hashtable";

    public bool IsIntSet => _ints is not null;

    public int Count => _ints is not null ? _count : _table!.Count;

    /// <summary>Member <paramref name="slot"/> (0 ≤ slot &lt; Count). Valid until the set is next changed.</summary>
    public ReadOnlySpan<byte> MemberAt(int slot, Span<byte> scratch)
    {
        if (_ints is null) return _table!.KeyAt(slot);
        RedisNumbers.TryFormatInt64(_ints[slot], scratch, out int written);
        return scratch[..written];
    }

    public bool Contains(ReadOnlySpan<byte> member)
    {
        if (_ints is null) return _table!.Contains(member);
        return RedisNumbers.TryParseInt64(member, out long v) && _ints.AsSpan(0, _count).BinarySearch(v) >= 0;
    }

    /// <summary>Adds a member; false when it was already there.</summary>
    public bool Add(ReadOnlySpan<byte> member)
    {
        if (_ints is not null)
        {
            if (RedisNumbers.TryParseInt64(member, out long v))
            {
                int at = _ints.AsSpan(0, _count).BinarySearch(v);
                if (at >= 0) return false;
                long maxEntries = EncodingLimits.Current.SetMaxIntsetEntries;
                if (_count < maxEntries)
                {
                    at = ~at;
                    if (_count == _ints.Length) Array.Resize(ref _ints, (int)Math.Min(Math.Max(_ints.Length * 2L, 1), Math.Min(maxEntries, Array.MaxLength)));
                    Array.Copy(_ints, at, _ints, at + 1, _count - at);
                    _ints[at] = v;
                    _count++;
                    return true;
                }
            }
            ConvertToHashtable(_count + 1);
        }
        _table!.GetOrAdd(member, false, out bool added);
        return added;
    }

    /// <summary>Removes a member; false when it was not there.</summary>
    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (_ints is not null)
        {
            if (!RedisNumbers.TryParseInt64(member, out long v)) return false;
            int at = _ints.AsSpan(0, _count).BinarySearch(v);
            if (at < 0) return false;
            RemoveIntAt(at);
            return true;
        }
        return _table!.Remove(member, out _);
    }

    /// <summary>Removes the member in <paramref name="slot"/> (SPOP); the last slot moves into it.</summary>
    public void RemoveAt(int slot)
    {
        if (_ints is not null)
        {
            RemoveIntAt(slot);
            return;
        }
        _table!.RemoveAt(slot);
    }

    /// <summary>
    /// One SSCAN step of the hashtable encoding (an intset is returned whole by the caller): adds the slots of the
    /// members of the visited buckets to <paramref name="found"/> and returns the next cursor, 0 when done.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<int> found) => _table!.Scan(cursor, count, found);

    /// <summary>Buckets of the hashtable encoding (0 for an intset); tests watch resizes with it.</summary>
    internal int BucketCount => _table?.BucketCount ?? 0;

    private void RemoveIntAt(int at)
    {
        _count--;
        Array.Copy(_ints!, at + 1, _ints!, at, _count - at);
    }

    private void ConvertToHashtable(int capacity)
    {
        var ints = _ints!;
        _ints = null;
        _table = new MemberTable<bool>(capacity);
        Span<byte> scratch = stackalloc byte[ScratchLength];
        for (int i = 0; i < _count; i++)
        {
            RedisNumbers.TryFormatInt64(ints[i], scratch, out int n);
            _table.TryAdd(scratch[..n].ToArray(), false);
        }
        _count = 0;
    }

    internal override long MemoryBytes =>
        40 + (_ints is not null ? MemoryCost.Array(_ints.Length, sizeof(long)) : _table!.MemoryBytes);

    public override RedisObject Clone()
    {
        var copy = new RedisSet();
        if (_ints is not null)
        {
            copy._ints = (long[])_ints.Clone();
            copy._count = _count;
            return copy;
        }
        copy.ConvertToHashtable(_table!.Count);
        for (int i = 0; i < _table.Count; i++) copy._table!.TryAdd((byte[])_table.KeyAt(i).Clone(), false);
        return copy;
    }
}
