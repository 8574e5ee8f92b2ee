using System.Runtime.CompilerServices;

namespace Demikernel.Resp;

/// <summary>
/// The arguments of one scanned request, as slices of the caller's buffer (offset, length relative to the
/// start of the request). Arguments that had to be unescaped (inline commands with quotes or escapes) live in
/// an internal scratch buffer instead. Reusable: arrays grow to the largest request seen and are kept, so
/// steady-state scanning allocates nothing.
/// </summary>
public sealed class RespArgs
{
    // Offset >= 0: slice of the request buffer. Offset < 0: ~Offset is the start in _scratch.
    private (int Offset, int Length)[] _slices;
    private byte[] _scratch;
    private int _scratchLength;

    // Inline token under construction.
    private int _tokenOffset;
    private int _tokenLength;
    private bool _tokenInScratch;

    public RespArgs(int initialCapacity = 8)
    {
        _slices = new (int, int)[Math.Max(initialCapacity, 1)];
        _scratch = [];
    }

    /// <summary>Number of arguments (0 for an empty request such as a blank inline line or "*0").</summary>
    public int Count { get; private set; }

    /// <summary>The bytes of argument <paramref name="index"/>; <paramref name="buffer"/> is the buffer passed to the scanner.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Get(ReadOnlySpan<byte> buffer, int index)
    {
        if ((uint)index >= (uint)Count)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(index));
        }

        (int offset, int length) = _slices[index];
        return offset >= 0 ? buffer.Slice(offset, length) : _scratch.AsSpan(~offset, length);
    }

    /// <summary>Length in bytes of argument <paramref name="index"/>.</summary>
    public int GetLength(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(index));
        }

        return _slices[index].Length;
    }

    /// <summary>
    /// Where argument <paramref name="index"/> lives in the request buffer, or false if it was unescaped into
    /// the scratch buffer (then only <see cref="Get"/> gives its bytes).
    /// </summary>
    public bool TryGetRange(int index, out int offset, out int length)
    {
        if ((uint)index >= (uint)Count)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(index));
        }

        (offset, length) = _slices[index];
        if (offset < 0)
        {
            offset = 0;
            return false;
        }

        return true;
    }

    /// <summary>Forgets all arguments (keeps the arrays).</summary>
    public void Reset()
    {
        Count = 0;
        _scratchLength = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Add(int offset, int length)
    {
        if (Count == _slices.Length)
        {
            Grow();
        }

        _slices[Count++] = (offset, length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow() => Array.Resize(ref _slices, _slices.Length * 2);

    internal void BeginToken()
    {
        _tokenOffset = 0;
        _tokenLength = 0;
        _tokenInScratch = false;
    }

    /// <summary>Appends the byte at <paramref name="index"/> of the buffer; stays a slice while contiguous.</summary>
    internal void AppendFromBuffer(ReadOnlySpan<byte> buffer, int index)
    {
        if (!_tokenInScratch)
        {
            if (_tokenLength == 0)
            {
                _tokenOffset = index;
                _tokenLength = 1;
                return;
            }

            if (index == _tokenOffset + _tokenLength)
            {
                _tokenLength++;
                return;
            }

            SpillToScratch(buffer);
        }

        AppendScratch(buffer[index]);
    }

    /// <summary>Appends an unescaped byte (forces the token into scratch).</summary>
    internal void AppendByte(ReadOnlySpan<byte> buffer, byte value)
    {
        if (!_tokenInScratch)
        {
            SpillToScratch(buffer);
        }

        AppendScratch(value);
    }

    internal void EndToken()
    {
        if (_tokenInScratch)
        {
            Add(~_tokenOffset, _tokenLength);
        }
        else
        {
            Add(_tokenLength == 0 ? 0 : _tokenOffset, _tokenLength);
        }
    }

    private void SpillToScratch(ReadOnlySpan<byte> buffer)
    {
        int start = _scratchLength;
        EnsureScratch(_tokenLength);
        buffer.Slice(_tokenOffset, _tokenLength).CopyTo(_scratch.AsSpan(start));
        _scratchLength += _tokenLength;
        _tokenOffset = start;
        _tokenInScratch = true;
    }

    private void AppendScratch(byte value)
    {
        EnsureScratch(1);
        _scratch[_scratchLength++] = value;
        _tokenLength++;
    }

    private void EnsureScratch(int extra)
    {
        if (_scratchLength + extra > _scratch.Length)
        {
            Array.Resize(ref _scratch, Math.Max(Math.Max(_scratch.Length * 2, 64), _scratchLength + extra));
        }
    }
}
