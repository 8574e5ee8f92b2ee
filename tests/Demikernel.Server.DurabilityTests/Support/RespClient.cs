using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Demikernel.Server.DurabilityTests;

/// <summary>A RESP2 reply. Text is Latin-1, so binary payloads (DUMP) survive byte for byte.</summary>
public sealed record RespValue(char Type, string? Text = null, long Integer = 0, RespValue[]? Items = null)
{
    public bool IsError => Type == '-';
    public bool IsNull => Text is null && Items is null && Type is '$' or '*';

    /// <summary>The reply as one canonical line (for comparisons and messages).</summary>
    public override string ToString() => Type switch
    {
        ':' => Integer.ToString(CultureInfo.InvariantCulture),
        '*' when Items is null => "(nil-array)",
        '*' => "[" + string.Join(", ", Items!.Select(i => i.ToString())) + "]",
        '$' when Text is null => "(nil)",
        '-' => "ERR:" + Text,
        _ => Text ?? "",
    };
}

/// <summary>
/// A blocking RESP client over one TCP connection to 127.0.0.1, with pipelining (<see cref="Send"/> many, then
/// <see cref="Read"/> as many). Every read has a time limit, so a server that stops answering fails the test.
/// </summary>
public sealed class RespClient : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _in;
    private readonly MemoryStream _out = new();

    public RespClient(int port, TimeSpan? readTimeout = null)
    {
        _client = new TcpClient { NoDelay = true };
        _client.Connect(IPAddress.Loopback, port);
        _stream = _client.GetStream();
        _stream.ReadTimeout = (int)(readTimeout ?? TimeSpan.FromSeconds(30)).TotalMilliseconds;
        _stream.WriteTimeout = 30_000;
        _in = new BufferedStream(_stream, 1 << 16);
    }

    public int ReadTimeoutMs
    {
        get => _stream.ReadTimeout;
        set => _stream.ReadTimeout = value;
    }

    /// <summary>Buffers one command; <see cref="Flush"/> (or <see cref="Read"/>) sends everything buffered.</summary>
    public void Send(params string[] args)
    {
        WriteAscii($"*{args.Length}\r\n");
        foreach (var a in args)
        {
            byte[] bytes = Encoding.Latin1.GetBytes(a);
            WriteAscii($"${bytes.Length}\r\n");
            _out.Write(bytes);
            WriteAscii("\r\n");
        }
    }

    private void WriteAscii(string s) => _out.Write(Encoding.ASCII.GetBytes(s));

    public void Flush()
    {
        if (_out.Length == 0) return;
        _stream.Write(_out.GetBuffer(), 0, (int)_out.Length);
        _out.SetLength(0);
    }

    public RespValue Call(params string[] args)
    {
        Send(args);
        return Read();
    }

    /// <summary>A command that must not fail: its reply, or an assertion failure naming the command.</summary>
    public RespValue Ok(params string[] args)
    {
        var r = Call(args);
        Assert.False(r.IsError, $"{string.Join(' ', args.Select(a => a.Length > 40 ? a[..40] + "..." : a))} failed: {r.Text}");
        return r;
    }

    /// <summary>Sends all commands at once and reads all replies; none may be an error.</summary>
    public List<RespValue> Pipeline(IEnumerable<string[]> commands, bool allowErrors = false)
    {
        var list = commands.ToList();
        var replies = new List<RespValue>(list.Count);
        const int Batch = 1000;
        for (int start = 0; start < list.Count; start += Batch)
        {
            int end = Math.Min(list.Count, start + Batch);
            for (int i = start; i < end; i++) Send(list[i]);
            Flush();
            for (int i = start; i < end; i++)
            {
                var r = Read();
                if (r.IsError && !allowErrors) Assert.Fail($"{string.Join(' ', list[i])} failed: {r.Text}");
                replies.Add(r);
            }
        }
        return replies;
    }

    public RespValue Read()
    {
        Flush();
        string line = ReadLine();
        char type = line[0];
        string rest = line[1..];
        switch (type)
        {
            case '+' or '-':
                return new RespValue(type, rest);
            case ':':
                return new RespValue(type, rest, long.Parse(rest, CultureInfo.InvariantCulture));
            case '$':
            {
                int len = int.Parse(rest, CultureInfo.InvariantCulture);
                if (len < 0) return new RespValue('$');
                var buf = new byte[len + 2];
                ReadExactly(buf);
                return new RespValue('$', Encoding.Latin1.GetString(buf, 0, len));
            }
            case '*':
            {
                int n = int.Parse(rest, CultureInfo.InvariantCulture);
                if (n < 0) return new RespValue('*');
                var items = new RespValue[n];
                for (int i = 0; i < n; i++) items[i] = Read();
                return new RespValue('*', Items: items);
            }
            default:
                throw new InvalidDataException($"unexpected reply line '{line}'");
        }
    }

    private void ReadExactly(byte[] buf)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n = _in.Read(buf, got, buf.Length - got);
            if (n == 0) throw new EndOfStreamException("the server closed the connection");
            got += n;
        }
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        while (true)
        {
            int b = _in.ReadByte();
            if (b < 0) throw new EndOfStreamException($"the server closed the connection (line so far: '{sb}')");
            if (b == '\n' && sb.Length > 0 && sb[^1] == '\r')
            {
                sb.Length--;
                return sb.ToString();
            }
            sb.Append((char)b);
        }
    }

    /// <summary>One field of INFO (e.g. rdb_last_bgsave_status), or null when absent.</summary>
    public string? Info(string field)
    {
        var text = Ok("INFO", "all").Text ?? "";
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..];
        }
        return null;
    }

    /// <summary>Polls INFO until <paramref name="field"/> has <paramref name="value"/>; fails after the deadline.</summary>
    public void WaitForInfo(string field, string value, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? last;
        while ((last = Info(field)) != value)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"INFO {field} is '{last}', not '{value}', after {timeout.TotalSeconds:F0} s");
            Thread.Sleep(20);
        }
    }

    /// <summary>Waits for BGSAVE / BGREWRITEAOF (started or scheduled) to finish.</summary>
    public void WaitForBackgroundWork(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var text = Ok("INFO", "persistence").Text ?? "";
            bool busy = text.Contains("rdb_bgsave_in_progress:1", StringComparison.Ordinal)
                || text.Contains("aof_rewrite_in_progress:1", StringComparison.Ordinal)
                || text.Contains("aof_rewrite_scheduled:1", StringComparison.Ordinal);
            if (!busy) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"background save still running after {timeout.TotalSeconds:F0} s:\n{text}");
            Thread.Sleep(20);
        }
    }

    public void Dispose()
    {
        _in.Dispose();
        _stream.Dispose();
        _client.Dispose();
    }
}
