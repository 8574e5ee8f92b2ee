using System.Numerics;
using System.Runtime.CompilerServices;

namespace Demikernel.Server.Store;

/// <summary>
/// Redis's reverse-binary scan cursor (dictScan) over a power-of-two bucket array: the cursor's bits are incremented
/// from the most significant bucket bit down, so every bucket index that a table of any other power-of-two size maps
/// to the same member is visited in one run. A member present for the whole iteration is therefore returned at least
/// once, whatever grows or shrinks the table between calls (it may be returned more than once).
/// </summary>
internal static class ScanCursor
{
    /// <summary>The cursor after bucket <c>cursor &amp; mask</c> (0 when the iteration is complete).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Next(ulong cursor, ulong mask)
    {
        cursor |= ~mask;
        cursor = ReverseBits(cursor);
        cursor++;
        return ReverseBits(cursor);
    }

    public static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        return System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
    }
}

/// <summary>
/// Byte-string members → <typeparamref name="TValue"/>, in dense arrays indexed by chained power-of-two buckets
/// (the members of sets and sorted sets):
/// <code>
///   _buckets (power of two)      _keys/_values/_hashes/_next (dense, 0..Count-1)
///   [0] ─▶ 3 ─▶ 0                 [0] k0 v0 h0 next=-1
///   [1] ─▶ -                      [1] k1 v1 h1 ...
/// </code>
/// Lookups take spans (no allocation). Removal moves the last entry into the hole, so dense indexes stay in
/// [0, Count) for O(1) random picks. The buckets double when Count exceeds them and shrink under 1/8 full;
/// <see cref="Scan"/> walks them with <see cref="ScanCursor"/>, so SSCAN/ZSCAN keep Redis's SCAN guarantee.
/// </summary>
internal sealed class MemberTable<TValue>
{
    private const int MinBuckets = 4;

    private byte[][] _keys;
    private TValue[] _values;
    private uint[] _hashes;
    private int[] _next;
    private int[] _buckets; // head entry index + 1 (0 = empty bucket)
    private int _count;
    private long _keyBytes; // sum of the members' lengths (memory accounting)

    public MemberTable(int capacity = MinBuckets)
    {
        capacity = Math.Max(MinBuckets, capacity);
        _keys = new byte[capacity][];
        _values = new TValue[capacity];
        _hashes = new uint[capacity];
        _next = new int[capacity];
        _buckets = new int[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)];
    }

    public int Count => _count;

    /// <summary>Bytes held by the table and its members' arrays (values that are objects are counted by the owner).</summary>
    public long MemoryBytes =>
        56 + MemoryCost.Array(_keys.Length, MemoryCost.Reference + Unsafe.SizeOf<TValue>() + 8) +
        MemoryCost.Array(_buckets.Length, 4) + MemoryCost.ByteArrays(_count, _keyBytes);

    /// <summary>Number of buckets (tests watch resizes with it).</summary>
    public int BucketCount => _buckets.Length;

    public byte[] KeyAt(int index) => _keys[index];

    public TValue ValueAt(int index) => _values[index];

    public void SetValueAt(int index, TValue value) => _values[index] = value;

    /// <summary>Dense index of <paramref name="key"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(ReadOnlySpan<byte> key) => IndexOf(key, RedisDatabase.HashOf(key));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int IndexOf(ReadOnlySpan<byte> key, uint hash)
    {
        for (int i = _buckets[hash & (uint)(_buckets.Length - 1)] - 1; i >= 0; i = _next[i])
            if (_hashes[i] == hash && _keys[i].AsSpan().SequenceEqual(key)) return i;
        return -1;
    }

    public bool Contains(ReadOnlySpan<byte> key) => IndexOf(key) >= 0;

    /// <summary>Adds <paramref name="key"/> (stored as is, not copied) unless present; true when added.</summary>
    public bool TryAdd(byte[] key, TValue value)
    {
        uint hash = RedisDatabase.HashOf(key);
        if (IndexOf(key, hash) >= 0) return false;
        Append(key, value, hash);
        return true;
    }

    /// <summary>Adds a copy of <paramref name="key"/> unless present; the dense index of the member either way.</summary>
    public int GetOrAdd(ReadOnlySpan<byte> key, TValue value, out bool added)
    {
        uint hash = RedisDatabase.HashOf(key);
        int i = IndexOf(key, hash);
        added = i < 0;
        return added ? Append(key.ToArray(), value, hash) : i;
    }

    /// <summary>Removes <paramref name="key"/>; false when it was absent.</summary>
    public bool Remove(ReadOnlySpan<byte> key, out TValue value)
    {
        int i = IndexOf(key);
        if (i < 0)
        {
            value = default!;
            return false;
        }
        value = _values[i];
        RemoveAt(i);
        return true;
    }

    /// <summary>Removes the entry at dense index <paramref name="index"/>; the last entry moves into it.</summary>
    public void RemoveAt(int index)
    {
        _keyBytes -= _keys[index].Length;
        int last = _count - 1;
        Relink(index, -1);
        if (index != last)
        {
            Relink(last, index);
            _keys[index] = _keys[last];
            _values[index] = _values[last];
            _hashes[index] = _hashes[last];
            _next[index] = _next[last];
        }
        _keys[last] = null!;
        _values[last] = default!;
        _count--;
        if (_buckets.Length > MinBuckets && _count < _buckets.Length / 8)
            Rehash(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(_count * 2, 1))));
        if (_keys.Length > 64 && _count < _keys.Length / 4) Resize(_keys.Length / 2);
    }

    /// <summary>
    /// Removes the entry at dense index <paramref name="index"/> keeping the others in insertion order (the tail
    /// shifts down and the buckets are rebuilt): what a small, listpack-encoded hash needs, so that replies list fields
    /// in Redis's order. O(Count), meant for small tables.
    /// </summary>
    public void RemoveAtKeepingOrder(int index)
    {
        _keyBytes -= _keys[index].Length;
        int last = _count - 1;
        Array.Copy(_keys, index + 1, _keys, index, last - index);
        Array.Copy(_values, index + 1, _values, index, last - index);
        Array.Copy(_hashes, index + 1, _hashes, index, last - index);
        _keys[last] = null!;
        _values[last] = default!;
        _count--;
        Array.Clear(_buckets);
        for (int i = 0; i < _count; i++) Link(i);
    }

    /// <summary>
    /// One SCAN step over the buckets: adds the dense indexes of the entries of the visited buckets to
    /// <paramref name="found"/> and returns the next cursor (0 when done), visiting buckets until
    /// <paramref name="count"/> entries were found or 10×count buckets were visited, like Redis.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<int> found)
    {
        if (_count == 0) return 0;
        long maxIterations = (long)Math.Max(count, 1) * 10;
        int before = found.Count;
        ulong mask = (ulong)_buckets.Length - 1;
        do
        {
            for (int i = _buckets[(int)(cursor & mask)] - 1; i >= 0; i = _next[i]) found.Add(i);
            cursor = ScanCursor.Next(cursor, mask);
        }
        while (cursor != 0 && maxIterations-- > 0 && found.Count - before < count);
        return cursor;
    }

    // ------------------------------------------------------------------ internals

    private int Append(byte[] key, TValue value, uint hash)
    {
        if (_count == _keys.Length) Resize(_keys.Length * 2);
        int i = _count++;
        _keys[i] = key;
        _keyBytes += key.Length;
        _values[i] = value;
        _hashes[i] = hash;
        if (_count > _buckets.Length) Rehash(_buckets.Length * 2);
        else Link(i);
        return i;
    }

    private void Link(int i)
    {
        ref int head = ref _buckets[_hashes[i] & (uint)(_buckets.Length - 1)];
        _next[i] = head - 1;
        head = i + 1;
    }

    /// <summary>Replaces the reference to entry <paramref name="from"/> in its chain by <paramref name="to"/>
    /// (-1 unlinks it).</summary>
    private void Relink(int from, int to)
    {
        ref int head = ref _buckets[_hashes[from] & (uint)(_buckets.Length - 1)];
        if (head - 1 == from)
        {
            head = to < 0 ? _next[from] + 1 : to + 1;
            return;
        }
        int p = head - 1;
        while (_next[p] != from) p = _next[p];
        _next[p] = to < 0 ? _next[from] : to;
    }

    private void Resize(int capacity)
    {
        Array.Resize(ref _keys, capacity);
        Array.Resize(ref _values, capacity);
        Array.Resize(ref _hashes, capacity);
        Array.Resize(ref _next, capacity);
    }

    private void Rehash(int buckets)
    {
        _buckets = new int[buckets];
        for (int i = 0; i < _count; i++) Link(i);
    }
}
