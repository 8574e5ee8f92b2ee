using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Demikernel.Server.Store;

/// <summary>
/// A list value: a deque of byte arrays in a ring buffer, O(1) push and pop at both ends and O(1) access by index.
/// <code>
///   _items (capacity a power of two)
///   [ . . . e0 e1 e2 e3 . . ]      logical index i lives at (_head + i) &amp; mask
///           ^_head     count = 4
///   push left: _head-1; push right: _head+count; grows by doubling, shrinks to half when a quarter full
/// </code>
/// Elements are stored as given (the caller copies arguments once); popped elements are handed back as the same
/// arrays, so LPUSH/LPOP allocate nothing but the element itself.
/// </summary>
public sealed class RedisList : RedisObject
{
    /// <summary>Redis 7.0 reports every list as "quicklist" (the "listpack" encoding for small lists came in 7.2).</summary>
    private const bool ReportListpack = false;

    /// <summary>list-max-listpack-size -2: a listpack node holds at most 8 kB; Redis 7.2 also caps entries at 128.</summary>
    private const int ListpackMaxBytes = 8 * 1024;
    private const int ListpackMaxEntries = 128;
    private const int MinCapacity = 4;

    private byte[][] _items;
    private int _head;
    private int _count;
    private long _bytes;

    public RedisList() => _items = new byte[MinCapacity][];

    private RedisList(byte[][] items, int count, long bytes)
    {
        _items = items;
        _count = count;
        _bytes = bytes;
    }

    public override RedisType Type => RedisType.List;

    public override string Encoding =>
        ReportListpack && _count <= ListpackMaxEntries && _bytes <= ListpackMaxBytes ? "listpack" : "quicklist";

    public int Count => _count;

    /// <summary>Total bytes of the elements.</summary>
    public long ByteSize => _bytes;

    /// <summary>The element at logical index <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
    public byte[] this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Debug.Assert((uint)index < (uint)_count);
            return _items[(_head + index) & (_items.Length - 1)];
        }
        set
        {
            Debug.Assert((uint)index < (uint)_count);
            ref var slot = ref _items[(_head + index) & (_items.Length - 1)];
            _bytes += value.Length - slot.Length;
            slot = value;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushLeft(byte[] item)
    {
        if (_count == _items.Length) Resize(_items.Length * 2);
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = item;
        _count++;
        _bytes += item.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushRight(byte[] item)
    {
        if (_count == _items.Length) Resize(_items.Length * 2);
        _items[(_head + _count) & (_items.Length - 1)] = item;
        _count++;
        _bytes += item.Length;
    }

    public void Push(byte[] item, bool left)
    {
        if (left) PushLeft(item);
        else PushRight(item);
    }

    /// <summary>Removes and returns the first element (the list must not be empty).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte[] PopLeft()
    {
        Debug.Assert(_count > 0);
        ref var slot = ref _items[_head];
        var item = slot;
        slot = null!;
        _head = (_head + 1) & (_items.Length - 1);
        _count--;
        _bytes -= item.Length;
        MaybeShrink();
        return item;
    }

    /// <summary>Removes and returns the last element (the list must not be empty).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte[] PopRight()
    {
        Debug.Assert(_count > 0);
        ref var slot = ref _items[(_head + _count - 1) & (_items.Length - 1)];
        var item = slot;
        slot = null!;
        _count--;
        _bytes -= item.Length;
        MaybeShrink();
        return item;
    }

    public byte[] Pop(bool left) => left ? PopLeft() : PopRight();

    /// <summary>Inserts <paramref name="item"/> so that it becomes element <paramref name="index"/> (0 ≤ index ≤ Count),
    /// moving the shorter side.</summary>
    public void Insert(int index, byte[] item)
    {
        Debug.Assert((uint)index <= (uint)_count);
        if (index == 0)
        {
            PushLeft(item);
            return;
        }
        if (_count == _items.Length) Resize(_items.Length * 2);
        int mask = _items.Length - 1;
        if (index < _count / 2)
        {
            _head = (_head - 1) & mask;
            for (int i = 0; i < index; i++) _items[(_head + i) & mask] = _items[(_head + i + 1) & mask];
        }
        else
        {
            for (int i = _count; i > index; i--) _items[(_head + i) & mask] = _items[(_head + i - 1) & mask];
        }
        _items[(_head + index) & mask] = item;
        _count++;
        _bytes += item.Length;
    }

    /// <summary>Keeps only elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>).</summary>
    public void Keep(int start, int length)
    {
        Debug.Assert(start >= 0 && length >= 0 && start + length <= _count);
        int mask = _items.Length - 1;
        for (int i = 0; i < start; i++) Drop((_head + i) & mask);
        for (int i = start + length; i < _count; i++) Drop((_head + i) & mask);
        _head = (_head + start) & mask;
        _count = length;
        MaybeShrink();
    }

    /// <summary>
    /// LREM: removes up to <paramref name="limit"/> elements equal to <paramref name="value"/> (0 = all), scanning
    /// from the head or, when <paramref name="fromTail"/>, from the tail. Returns how many were removed.
    /// </summary>
    public int Remove(ReadOnlySpan<byte> value, int limit, bool fromTail)
    {
        int mask = _items.Length - 1;
        int removed = 0;
        if (!fromTail)
        {
            int w = 0;
            for (int r = 0; r < _count; r++)
            {
                var item = _items[(_head + r) & mask];
                if ((limit == 0 || removed < limit) && item.AsSpan().SequenceEqual(value))
                {
                    removed++;
                    _bytes -= item.Length;
                    continue;
                }
                if (w != r) _items[(_head + w) & mask] = item;
                w++;
            }
            for (int i = w; i < _count; i++) _items[(_head + i) & mask] = null!;
            _count = w;
        }
        else
        {
            int w = _count - 1;
            for (int r = _count - 1; r >= 0; r--)
            {
                var item = _items[(_head + r) & mask];
                if ((limit == 0 || removed < limit) && item.AsSpan().SequenceEqual(value))
                {
                    removed++;
                    _bytes -= item.Length;
                    continue;
                }
                if (w != r) _items[(_head + w) & mask] = item;
                w--;
            }
            for (int i = 0; i <= w; i++) _items[(_head + i) & mask] = null!;
            _head = (_head + w + 1) & mask;
            _count -= w + 1;
        }
        if (removed > 0) MaybeShrink();
        return removed;
    }

    /// <summary>Index of the first element equal to <paramref name="value"/>, or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < _count; i++)
            if (this[i].AsSpan().SequenceEqual(value)) return i;
        return -1;
    }

    internal override long MemoryBytes =>
        48 + MemoryCost.Array(_items.Length, MemoryCost.Reference) + MemoryCost.ByteArrays(_count, _bytes);

    public override RedisObject Clone()
    {
        var items = new byte[_items.Length][];
        for (int i = 0; i < _count; i++) items[i] = (byte[])this[i].Clone();
        return new RedisList(items, _count, _bytes);
    }

    private void Drop(int slot)
    {
        _bytes -= _items[slot].Length;
        _items[slot] = null!;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void MaybeShrink()
    {
        if (_items.Length > 64 && _count < _items.Length / 4) Resize(_items.Length / 2);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Resize(int capacity)
    {
        capacity = Math.Max(MinCapacity, (int)BitOperations.RoundUpToPowerOf2((uint)capacity));
        var items = new byte[capacity][];
        int mask = _items.Length - 1;
        for (int i = 0; i < _count; i++) items[i] = _items[(_head + i) & mask];
        _items = items;
        _head = 0;
    }
}
