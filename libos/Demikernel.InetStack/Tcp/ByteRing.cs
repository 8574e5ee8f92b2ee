namespace Demikernel.InetStack.Tcp;

/// <summary>A fixed-capacity FIFO of bytes: the unacknowledged and unsent data of a TCP sender.</summary>
internal sealed class ByteRing(int capacity)
{
    private readonly byte[] _buffer = new byte[capacity];
    private int _head;

    public int Count { get; private set; }
    public int Capacity => _buffer.Length;
    public int Free => _buffer.Length - Count;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int tail = (_head + Count) % _buffer.Length;
        int first = Math.Min(n, _buffer.Length - tail);
        data[..first].CopyTo(_buffer.AsSpan(tail));
        data[first..n].CopyTo(_buffer);
        Count += n;
        return n;
    }

    /// <summary>Copies <c>destination.Length</c> bytes starting <paramref name="offset"/> bytes from the front.</summary>
    public void Peek(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Count) throw new ArgumentOutOfRangeException(nameof(offset));
        int start = (_head + offset) % _buffer.Length;
        int first = Math.Min(destination.Length, _buffer.Length - start);
        _buffer.AsSpan(start, first).CopyTo(destination);
        _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    public void Discard(int count)
    {
        if ((uint)count > (uint)Count) throw new ArgumentOutOfRangeException(nameof(count));
        _head = (_head + count) % _buffer.Length;
        Count -= count;
    }
}
