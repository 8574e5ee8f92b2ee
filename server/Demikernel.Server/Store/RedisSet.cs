using Demikernel.Resp;

namespace Demikernel.Server.Store;

/// <summary>
/// A Redis set with Redis 7.0's two encodings:
/// <code>
///   intset     sorted long[] (every member a canonical integer, at most MaxIntsetEntries); members come out in
///              ascending order, like Redis's intset
///   hashtable  dense byte[][] of members + member → slot dictionary; removal swaps the last member into the hole,
///              so random picks (SPOP, SRANDMEMBER) are O(1) and SSCAN walks slots
/// </code>
/// A set never converts back from hashtable to intset (as in Redis). Members are addressed by a slot index in
/// [0, Count) for iteration and random access; <see cref="MemberAt"/> formats intset members into a caller's
/// scratch buffer (at least <see cref="ScratchLength"/> bytes).
/// </summary>
public sealed class RedisSet : RedisObject
{
    /// <summary>Redis's set-max-intset-entries default.</summary>
    public const int MaxIntsetEntries = 512;

    /// <summary>Bytes a scratch buffer for <see cref="MemberAt"/> needs.</summary>
    public const int ScratchLength = RedisNumbers.MaxInt64Length;

    private long[]? _ints = new long[4];
    private byte[][] _dense = [];
    private Dictionary<byte[], int>? _index;
    private Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private int _count;

    public override RedisType Type => RedisType.Set;

    public override string Encoding => _ints is not null ? "intset" : "hashtable";

    public bool IsIntSet => _ints is not null;

    public int Count => _count;

    /// <summary>Member <paramref name="slot"/> (0 ≤ slot &lt; Count). Valid until the set is next changed.</summary>
    public ReadOnlySpan<byte> MemberAt(int slot, Span<byte> scratch)
    {
        if (_ints is null) return _dense[slot];
        RedisNumbers.TryFormatInt64(_ints[slot], scratch, out int written);
        return scratch[..written];
    }

    public bool Contains(ReadOnlySpan<byte> member)
    {
        if (_ints is null) return _lookup.ContainsKey(member);
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
                if (_count < MaxIntsetEntries)
                {
                    at = ~at;
                    if (_count == _ints.Length) Array.Resize(ref _ints, Math.Min(_ints.Length * 2, MaxIntsetEntries));
                    Array.Copy(_ints, at, _ints, at + 1, _count - at);
                    _ints[at] = v;
                    _count++;
                    return true;
                }
            }
            ConvertToHashtable(_count + 1);
        }
        if (_lookup.ContainsKey(member)) return false;
        var bytes = member.ToArray();
        if (_count == _dense.Length) Array.Resize(ref _dense, Math.Max(4, _count * 2));
        _dense[_count] = bytes;
        _index!.Add(bytes, _count);
        _count++;
        return true;
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
        if (!_lookup.Remove(member, out _, out int slot)) return false;
        RemoveDenseAt(slot);
        return true;
    }

    /// <summary>Removes the member in <paramref name="slot"/> (SPOP); the last slot moves into it.</summary>
    public void RemoveAt(int slot)
    {
        if (_ints is not null)
        {
            RemoveIntAt(slot);
            return;
        }
        _index!.Remove(_dense[slot]);
        RemoveDenseAt(slot);
    }

    private void RemoveIntAt(int at)
    {
        _count--;
        Array.Copy(_ints!, at + 1, _ints!, at, _count - at);
    }

    private void RemoveDenseAt(int slot)
    {
        int last = --_count;
        if (slot != last)
        {
            var moved = _dense[last];
            _dense[slot] = moved;
            _index![moved] = slot;
        }
        _dense[last] = null!;
    }

    private void ConvertToHashtable(int capacity)
    {
        var ints = _ints!;
        _ints = null;
        _dense = new byte[Math.Max(capacity, 4)][];
        _index = new Dictionary<byte[], int>(capacity, SetMemberComparer.Instance);
        _lookup = _index.GetAlternateLookup<ReadOnlySpan<byte>>();
        Span<byte> scratch = stackalloc byte[ScratchLength];
        for (int i = 0; i < _count; i++)
        {
            RedisNumbers.TryFormatInt64(ints[i], scratch, out int n);
            var bytes = scratch[..n].ToArray();
            _dense[i] = bytes;
            _index.Add(bytes, i);
        }
    }

    public override RedisObject Clone()
    {
        var copy = new RedisSet();
        if (_ints is not null)
        {
            copy._ints = (long[])_ints.Clone();
            copy._count = _count;
            return copy;
        }
        copy.ConvertToHashtable(_count);
        for (int i = 0; i < _count; i++) copy.Add(_dense[i]);
        return copy;
    }
}
