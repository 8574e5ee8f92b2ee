using System.Runtime.CompilerServices;

namespace Demikernel.Server.Store;

/// <summary>
/// A hash value: fields and values in a <see cref="MemberTable{TValue}"/> (dense arrays indexed by chained buckets,
/// the same table sets and sorted sets use). Lookups take the field as a span (no allocation); overwriting a value of the same length copies in place. While
/// the hash is small ("listpack": ≤ 512 fields — Redis 7.0's built-in default; redis.conf's sample says 128, no field or value over 64 bytes) deletes keep
/// insertion order, as a listpack does, so HGETALL answers in Redis's order; once "hashtable" (never reverting, as
/// in Redis) deletes move the last entry into the hole. Dense storage makes HRANDFIELD's picks O(1); HSCAN walks
/// buckets with the reverse-binary cursor of Redis's dictScan, so a field present for a whole scan is returned
/// even when the table is resized between calls.
/// </summary>
public sealed class RedisHash : RedisObject
{
    private readonly MemberTable<byte[]> _entries;
    private bool _table;
    private long _valueBytes; // sum of the values' lengths (memory accounting)

    public RedisHash(int capacity = 4)
    {
        _entries = new MemberTable<byte[]>(capacity);
    }

    public override RedisType Type => RedisType.Hash;

    public override string Encoding => _table ? "hashtable" : "listpack";

    /// <summary>True once converted to the "hashtable" encoding.</summary>
    public bool IsHashTable => _table;

    public int Count => _entries.Count;

    /// <summary>The field at dense index <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
    public byte[] FieldAt(int index) => _entries.KeyAt(index);

    /// <summary>The value at dense index <paramref name="index"/>.</summary>
    public byte[] ValueAt(int index) => _entries.ValueAt(index);

    /// <summary>Converts to "hashtable" (Redis hashTypeConvert); one way.</summary>
    public void ConvertToHashTable() => _table = true;

    /// <summary>Redis's hashTypeTryConversion for arguments about to be set: any longer than 64 bytes converts.</summary>
    public void ConvertIfTooLong(int length)
    {
        if (length > EncodingLimits.Current.HashMaxListpackValue) _table = true;
    }

    /// <summary>Dense index of <paramref name="field"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(ReadOnlySpan<byte> field) => _entries.IndexOf(field);

    public bool TryGetValue(ReadOnlySpan<byte> field, out byte[] value)
    {
        int i = _entries.IndexOf(field);
        value = i >= 0 ? _entries.ValueAt(i) : null!;
        return i >= 0;
    }

    /// <summary>Sets <paramref name="field"/> to a copy of <paramref name="value"/>; true when the field is new. A field
    /// or value longer than 64 bytes converts to "hashtable" (Redis 7.0 hashTypeSet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Set(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        long maxValue = EncodingLimits.Current.HashMaxListpackValue;
        if (field.Length > maxValue || value.Length > maxValue) _table = true;
        int i = _entries.GetOrAdd(field, null!, out bool added);
        if (added)
        {
            _entries.SetValueAt(i, value.ToArray());
            _valueBytes += value.Length;
        }
        else SetValueAt(i, value);
        if (_entries.Count > EncodingLimits.Current.HashMaxListpackEntries) _table = true;
        return added;
    }

    /// <summary>Replaces the value at dense index <paramref name="index"/> (in place when the length matches).</summary>
    public void SetValueAt(int index, ReadOnlySpan<byte> value)
    {
        if (value.Length > EncodingLimits.Current.HashMaxListpackValue) _table = true;
        var old = _entries.ValueAt(index);
        if (old.Length == value.Length) value.CopyTo(old);
        else
        {
            _entries.SetValueAt(index, value.ToArray());
            _valueBytes += value.Length - old.Length;
        }
    }

    /// <summary>
    /// Removes <paramref name="field"/>; false when it was absent. A listpack keeps insertion order (as Redis
    /// replies list fields); a hashtable moves its last entry into the hole.
    /// </summary>
    public bool Remove(ReadOnlySpan<byte> field)
    {
        int i = _entries.IndexOf(field);
        if (i < 0) return false;
        _valueBytes -= _entries.ValueAt(i).Length;
        if (_table) _entries.RemoveAt(i);
        else _entries.RemoveAtKeepingOrder(i);
        return true;
    }

    /// <summary>
    /// One HSCAN step over the buckets: adds the dense indexes of the entries of the visited buckets to
    /// <paramref name="found"/> and returns the next cursor (0 when done), like Redis's dictScan.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<int> found) => _entries.Scan(cursor, count, found);

    internal override long MemoryBytes => 40 + _entries.MemoryBytes + MemoryCost.ByteArrays(_entries.Count, _valueBytes);

    public override RedisObject Clone()
    {
        var copy = new RedisHash(Count) { _table = _table, _valueBytes = _valueBytes };
        for (int i = 0; i < Count; i++) copy._entries.TryAdd((byte[])FieldAt(i).Clone(), (byte[])ValueAt(i).Clone());
        return copy;
    }
}
