using System.Buffers.Text;

namespace Demikernel.LoadGen;

/// <summary>
/// Counts complete RESP replies in a byte stream that arrives in arbitrary pieces: the replies GET and SET produce
/// (simple string, error, integer, bulk string, null bulk). Bytes of an incomplete reply stay buffered until the rest
/// arrives. A reply of any other type (an array, a RESP3 type) is a protocol error for this generator.
/// </summary>
internal sealed class ReplyScanner
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    /// <summary>Replies that were errors ('-').</summary>
    public long Errors { get; private set; }

    /// <summary>The first error reply's text, for the report.</summary>
    public string? FirstError { get; private set; }

    /// <summary>Appends received bytes.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_end + data.Length > _buffer.Length)
        {
            int live = _end - _start;
            if (live + data.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, live + data.Length));
            Array.Copy(_buffer, _start, _buffer, 0, live);
            _start = 0;
            _end = live;
        }
        data.CopyTo(_buffer.AsSpan(_end));
        _end += data.Length;
    }

    /// <summary>Consumes one complete reply if there is one; throws on a reply this generator never asks for.</summary>
    public bool TryTake()
    {
        var data = _buffer.AsSpan(_start, _end - _start);
        int lineEnd = data.IndexOf("\r\n"u8);
        if (lineEnd < 0) return false;
        switch (data[0])
        {
            case (byte)'+' or (byte)':':
                _start += lineEnd + 2;
                return true;
            case (byte)'-':
                Errors++;
                FirstError ??= System.Text.Encoding.ASCII.GetString(data[1..lineEnd]);
                _start += lineEnd + 2;
                return true;
            case (byte)'$':
                if (!Utf8Parser.TryParse(data[1..lineEnd], out long length, out int used) || used != lineEnd - 1 || length < -1)
                    throw new InvalidDataException("malformed bulk length in a reply");
                long total = length < 0 ? lineEnd + 2 : lineEnd + 2 + length + 2;
                if (data.Length < total) return false;
                _start += (int)total;
                return true;
            default:
                throw new InvalidDataException($"unexpected reply type '{(char)data[0]}' (this generator sends only GET and SET)");
        }
    }
}
