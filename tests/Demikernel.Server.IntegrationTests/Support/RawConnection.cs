using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Demikernel.Server.IntegrationTests;

/// <summary>A RESP reply as read off the wire: its type byte and either text, an integer or children.</summary>
public sealed record Reply(char Type, string? Text = null, long Integer = 0, IReadOnlyList<Reply>? Items = null)
{
    public bool IsNull => Type == '_' || (Type is '$' or '*' && Text is null && Items is null);

    public override string ToString() => Type switch
    {
        ':' => $":{Integer}",
        '*' or '%' or '~' or '>' => $"{Type}[{string.Join(", ", Items ?? [])}]",
        _ => $"{Type}{Text ?? "(nil)"}",
    };
}

/// <summary>
/// A plain TCP connection that writes exact bytes and reads exact replies, for protocol-level tests. Every read has a
/// time limit, so a server that never answers fails the test instead of hanging it.
/// </summary>
public sealed class RawConnection : IDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    public RawConnection(ServerFixture server) : this(server.Host, server.Port)
    {
    }

    /// <summary>A connection to any host (an IPv6 literal such as "::1" connects over IPv6).</summary>
    public RawConnection(string host, int port)
    {
        var address = System.Net.IPAddress.Parse(host);
        _client = new TcpClient(address.AddressFamily) { NoDelay = true };
        _client.Connect(address, port);
        _stream = _client.GetStream();
        _stream.ReadTimeout = (int)DefaultTimeout.TotalMilliseconds;
    }

    /// <summary>This end's port (the peer's view of the client: CLIENT LIST addr=).</summary>
    public int LocalPort => ((System.Net.IPEndPoint)_client.Client.LocalEndPoint!).Port;

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    public void Send(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    /// <summary>Sends one command as a RESP array of bulk strings.</summary>
    public void SendCommand(params string[] args) => Send(Encode(args));

    public static string Encode(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return sb.ToString();
    }

    public Reply Command(params string[] args)
    {
        SendCommand(args);
        return ReadReply();
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, failing on EOF or time-out.</summary>
    public string ReadExact(int count)
    {
        var sb = new StringBuilder();
        while (count > 0)
        {
            if (_start == _end && !Fill()) throw new EndOfStreamException($"connection closed; got so far: {sb}");
            int n = Math.Min(count, _end - _start);
            sb.Append(Encoding.UTF8.GetString(_buffer, _start, n));
            _start += n;
            count -= n;
        }
        return sb.ToString();
    }

    /// <summary>One line without its CRLF.</summary>
    public string ReadLine()
    {
        var bytes = new List<byte>();
        while (true)
        {
            if (_start == _end && !Fill())
                throw new EndOfStreamException($"connection closed in the middle of a line: '{Encoding.UTF8.GetString(bytes.ToArray())}'");
            byte b = _buffer[_start++];
            if (b == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                bytes.RemoveAt(bytes.Count - 1);
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
            bytes.Add(b);
        }
    }

    public Reply ReadReply()
    {
        string line = ReadLine();
        if (line.Length == 0) throw new InvalidDataException("empty reply line");
        char type = line[0];
        string rest = line[1..];
        switch (type)
        {
            case '+' or '-':
                return new Reply(type, rest);
            case ':':
                return new Reply(type, rest, long.Parse(rest, CultureInfo.InvariantCulture));
            case '_':
                return new Reply(type);
            case '#' or ',' or '(':
                return new Reply(type, rest);
            case '$' or '=' or '!':
            {
                int len = int.Parse(rest, CultureInfo.InvariantCulture);
                if (len < 0) return new Reply(type);
                string body = ReadExact(len);
                string crlf = ReadExact(2);
                if (crlf != "\r\n") throw new InvalidDataException($"bulk of {len} bytes not followed by CRLF but '{crlf}'");
                return new Reply(type, body);
            }
            case '*' or '~' or '>' or '%' or '|':
            {
                int n = int.Parse(rest, CultureInfo.InvariantCulture);
                if (n < 0) return new Reply(type);
                int items = type is '%' or '|' ? 2 * n : n;
                var list = new List<Reply>(items);
                for (int i = 0; i < items; i++) list.Add(ReadReply());
                return type == '|' ? ReadReply() : new Reply(type, Items: list);
            }
            default:
                throw new InvalidDataException($"unknown reply type in line '{line}'");
        }
    }

    /// <summary>
    /// True when the server closes the connection (EOF or reset) within <paramref name="timeout"/> and sends nothing
    /// more before that; throws if it sends more bytes, false if the connection stays open.
    /// </summary>
    /// <summary>True when reply bytes are buffered or arrive within <paramref name="wait"/> (nothing is consumed).</summary>
    public bool HasData(TimeSpan wait) =>
        _start != _end || _client.Client.Poll((int)Math.Min(int.MaxValue, wait.Ticks / 10), SelectMode.SelectRead);

    public bool WaitForClose(TimeSpan? timeout = null)
    {
        if (_start != _end) throw new InvalidDataException($"unexpected extra bytes: '{Encoding.UTF8.GetString(_buffer, _start, _end - _start)}'");
        _stream.ReadTimeout = (int)(timeout ?? DefaultTimeout).TotalMilliseconds;
        try
        {
            int n = _stream.Read(_buffer, 0, _buffer.Length);
            if (n == 0) return true;
            throw new InvalidDataException($"expected the connection to close, got more bytes: '{Encoding.UTF8.GetString(_buffer, 0, n)}'");
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            return false;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return true;
        }
        finally
        {
            _stream.ReadTimeout = (int)DefaultTimeout.TotalMilliseconds;
        }
    }

    private bool Fill()
    {
        _start = _end = 0;
        try
        {
            int n = _stream.Read(_buffer, 0, _buffer.Length);
            _end = n;
            return n > 0;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            throw new TimeoutException($"no reply from the server within {_stream.ReadTimeout} ms", e);
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
