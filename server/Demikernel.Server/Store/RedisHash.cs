using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Demikernel.Server.Store;

/// <summary>
/// A hash value: fields and values in dense parallel arrays, indexed by chained buckets of entry indexes.
/// <code>
///   _buckets (power of two)      _fields/_values/_hashes/_next (dense, 0.._count-1)
///   [0] ─▶ 3 ─▶ 0                 [0] f0 v0 h0 next=-1
///   [1] ─▶ -                      [1] f1 v1 h1 ...
///   [2] ─▶ 1 ─▶ 2                 ...
/// </code>
/// Lookups take the field as a span (no allocation); overwriting a value of the same length copies in place. While
/// the hash is small ("listpack": ≤ 512 fields — Redis 7.0's built-in default; redis.conf's sample says 128, no field or value over 64 bytes) deletes keep
/// insertion order, as a listpack does, so HGETALL answers in Redis's order; once "hashtable" (never reverting, as
/// in Redis) deletes move the last entry into the hole. Dense storage makes HRANDFIELD's picks O(1); HSCAN walks
/// buckets with the reverse-binary cursor of Redis's dictScan, so a field present for a whole scan is returned
/// even when the table is resized between calls.
/// </summary>
public sealed class RedisHash : RedisObject
{
    /// <summary>hash-max-listpack-entries default.</summary>
    public const int ListpackMaxEntries = 512;

    /// <summary>hash-max-listpack-value default.</summary>
    public const int ListpackMaxValue = 64;

    private const int MinBuckets = 4;

    private byte[][] _fields;
    private byte[][] _values;
    private uint[] _hashes;
    private int[] _next;
    private int[] _buckets; // head entry index + 1 (0 = empty bucket)
    private int _count;
    private bool _table;

    public RedisHash(int capacity = MinBuckets)
    {
        capacity = Math.Max(MinBuckets, capacity);
        _fields = new byte[capacity][];
        _values = new byte[capacity][];
        _hashes = new uint[capacity];
        _next = new int[capacity];
        _buckets = new int[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)];
    }

    public override RedisType Type => RedisType.Hash;

    public override string Encoding => _table ? "hashtable" : "listpack";

    /// <summary>True once converted to the "hashtable" encoding.</summary>
    public bool IsHashTable => _table;

    public int Count => _count;

    /// <summary>The field at dense index <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
    public byte[] FieldAt(int index) => _fields[index];

    /// <summary>The value at dense index <paramref name="index"/>.</summary>
    public byte[] ValueAt(int index) => _values[index];

    /// <summary>Converts to "hashtable" (Redis hashTypeConvert); one way.</summary>
    public void ConvertToHashTable() => _table = true;

    /// <summary>Redis's hashTypeTryConversion for arguments about to be set: any longer than 64 bytes converts.</summary>
    public void ConvertIfTooLong(int length)
    {
        if (length > ListpackMaxValue) _table = true;
    }

    /// <summary>Dense index of <paramref name="field"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(ReadOnlySpan<byte> field)
    {
        uint hash = HashOf(field);
        for (int i = _buckets[hash & (uint)(_buckets.Length - 1)] - 1; i >= 0; i = _next[i])
            if (_hashes[i] == hash && _fields[i].AsSpan().SequenceEqual(field)) return i;
        return -1;
    }

    public bool TryGetValue(ReadOnlySpan<byte> field, out byte[] value)
    {
        int i = IndexOf(field);
        value = i >= 0 ? _values[i] : null!;
        return i >= 0;
    }

    /// <summary>Sets <paramref name="field"/> to a copy of <paramref name="value"/>; true when the field is new. A field
    /// or value longer than 64 bytes converts to "hashtable" (Redis 7.0 hashTypeSet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Set(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        if (field.Length > ListpackMaxValue || value.Length > ListpackMaxValue) _table = true;
        uint hash = HashOf(field);
        for (int i = _buckets[hash & (uint)(_buckets.Length - 1)] - 1; i >= 0; i = _next[i])
        {
            if (_hashes[i] == hash && _fields[i].AsSpan().SequenceEqual(field))
            {
                SetValueAt(i, value);
                return false;
            }
        }
        Add(field.ToArray(), value.ToArray(), hash);
        return true;
    }

    /// <summary>Replaces the value at dense index <paramref name="index"/> (in place when the length matches).</summary>
    public void SetValueAt(int index, ReadOnlySpan<byte> value)
    {
        if (value.Length > ListpackMaxValue) _table = true;
        var old = _values[index];
        if (old.Length == value.Length) value.CopyTo(old);
        else _values[index] = value.ToArray();
    }

    /// <summary>Removes <paramref name="field"/>; false when it was absent.</summary>
    public bool Remove(ReadOnlySpan<byte> field)
    {
        int i = IndexOf(field);
        if (i < 0) return false;
        RemoveAt(i);
        return true;
    }

    /// <summary>
    /// One HSCAN step over the buckets: adds the dense indexes of the entries of the visited buckets to
    /// <paramref name="found"/> and returns the next cursor (0 when done), visiting buckets until
    /// <paramref name="count"/> entries were found or 10×count buckets were visited, like Redis.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<int> found)
    {
        if (_count == 0) return 0;
        long maxIterations = (long)Math.Max(count, 1) * 10;
        int before = found.Count;
        do
        {
            ulong mask = (ulong)_buckets.Length - 1;
            for (int i = _buckets[(int)(cursor & mask)] - 1; i >= 0; i = _next[i]) found.Add(i);
            cursor = ScanCursor.Next(cursor, mask);
        }
        while (cursor != 0 && maxIterations-- > 0 && found.Count - before < count);
        return cursor;
    }

    public override RedisObject Clone()
    {
        var copy = new RedisHash(_count) { _table = _table };
        for (int i = 0; i < _count; i++) copy.Add((byte[])_fields[i].Clone(), (byte[])_values[i].Clone(), _hashes[i]);
        return copy;
    }

    // ------------------------------------------------------------------ internals

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint HashOf(ReadOnlySpan<byte> field) => RedisDatabase.HashOf(field);

    private void Add(byte[] field, byte[] value, uint hash)
    {
        if (_count == _fields.Length) GrowEntries();
        int i = _count++;
        _fields[i] = field;
        _values[i] = value;
        _hashes[i] = hash;
        if (_count > _buckets.Length) Rehash(_buckets.Length * 2);
        else Link(i);
        if (_count > ListpackMaxEntries) _table = true;
    }

    private void Link(int i)
    {
        ref int head = ref _buckets[_hashes[i] & (uint)(_buckets.Length - 1)];
        _next[i] = head - 1;
        head = i + 1;
    }

    /// <summary>Replaces the reference to entry <paramref name="from"/> in its bucket chain by <paramref name="to"/>
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

    private void RemoveAt(int i)
    {
        int last = _count - 1;
        if (!_table && i != last)
        {
            // Listpack order: shift the tail down and re-index (at most 512 entries).
            Array.Copy(_fields, i + 1, _fields, i, last - i);
            Array.Copy(_values, i + 1, _values, i, last - i);
            Array.Copy(_hashes, i + 1, _hashes, i, last - i);
            _fields[last] = null!;
            _values[last] = null!;
            _count--;
            Rehash(_buckets.Length);
            return;
        }
        Relink(i, -1);
        if (i != last)
        {
            // Move the last entry into the hole.
            Relink(last, i);
            _fields[i] = _fields[last];
            _values[i] = _values[last];
            _hashes[i] = _hashes[last];
            _next[i] = _next[last];
        }
        _fields[last] = null!;
        _values[last] = null!;
        _count--;
        if (_buckets.Length > MinBuckets && _count < _buckets.Length / 8)
            Rehash(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(_count * 2, 1))));
        if (_fields.Length > 64 && _count < _fields.Length / 4) ShrinkEntries();
    }

    private void GrowEntries()
    {
        int capacity = _fields.Length * 2;
        Array.Resize(ref _fields, capacity);
        Array.Resize(ref _values, capacity);
        Array.Resize(ref _hashes, capacity);
        Array.Resize(ref _next, capacity);
    }

    private void ShrinkEntries()
    {
        int capacity = _fields.Length / 2;
        Debug.Assert(_count <= capacity);
        Array.Resize(ref _fields, capacity);
        Array.Resize(ref _values, capacity);
        Array.Resize(ref _hashes, capacity);
        Array.Resize(ref _next, capacity);
    }

    private void Rehash(int buckets)
    {
        if (buckets != _buckets.Length) _buckets = new int[buckets];
        else Array.Clear(_buckets);
        for (int i = 0; i < _count; i++) Link(i);
    }

}
