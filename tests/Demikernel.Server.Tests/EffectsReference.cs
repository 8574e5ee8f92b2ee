using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Propagation;

namespace Demikernel.Server.Tests;

/// <summary>
/// A command script run on redis-server with an AOF and on our server with an effects consumer, and the two effect
/// streams compared. A step is a command for the main connection, or one of:
/// <c>@sleep ms</c> (real sleep there, virtual clock here), <c>@b cmd...</c> (send on the second connection, do not
/// wait: it blocks), <c>@breply</c> (wait until the second connection was answered), <c>@active-expire</c>
/// (wait for / run active expiry).
/// </summary>
internal static class EffectsScript
{
    public static string[] Cmd(params string[] args) => args;

    /// <summary>Runs the script on both servers and returns both AOF streams as command lists.</summary>
    public static (List<string[]> Redis, List<string[]> Ours) Run(IReadOnlyList<string[]> script, string[]? redisArgs = null, Action<CommandHarness>? configure = null)
    {
        byte[] redisAof, ourAof;
        long redisStart, ourStart;
        using (var redis = AofRedis.Start(redisArgs ?? []))
        {
            redisStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var step in script)
            {
                switch (step[0])
                {
                    case "@sleep": Thread.Sleep(int.Parse(step[1])); break;
                    case "@b": redis.SendSecond(step[1..]); redis.WaitBlocked(); break;
                    case "@breply": redis.ReadSecond(); break;
                    case "@active-expire": Thread.Sleep(1000); break;
                    default: redis.Call(step); break;
                }
            }
            redisAof = redis.ReadAof();
        }
        using (var h = new CommandHarness(start: DateTimeOffset.FromUnixTimeMilliseconds(redisStart)))
        {
            configure?.Invoke(h);
            var consumer = new StreamConsumer();
            h.Server.Effects.Add(consumer);
            ourStart = h.NowMs;
            var second = new ClientState(2, default, default, default, h.NowMs) { Authenticated = true };
            _ = new ClientSession(h.Server, second);
            foreach (var step in script)
            {
                switch (step[0])
                {
                    case "@sleep": h.AdvanceMs(int.Parse(step[1])); break;
                    case "@b":
                        RunAs(h, second, step[1..].Select(Encoding.Latin1.GetBytes).ToArray());
                        Assert.True(second.Blocked, $"{string.Join(' ', step[1..])} did not block on our server");
                        break;
                    case "@breply": Assert.False(second.Blocked, "the second client is still blocked on our server"); break;
                    case "@active-expire":
                        h.AdvanceMs(1000);
                        foreach (var db in h.Server.Databases) db.ActiveExpireCycle(20);
                        break;
                    default: h.Execute(step.Select(Encoding.Latin1.GetBytes).ToArray()); break;
                }
            }
            ourAof = consumer.Output.WrittenSpan.ToArray();
        }
        return (Normalise(Parse(redisAof), redisStart), Normalise(Parse(ourAof), ourStart));
    }

    /// <summary>Sends the whole script as one pipelined write to both servers (no special steps) and returns both
    /// effect streams.</summary>
    public static (List<string[]> Redis, List<string[]> Ours) RunPipelined(IReadOnlyList<string[]> script)
    {
        var request = script.SelectMany(c => CommandHarness.EncodeRequest(c.Select(Encoding.Latin1.GetBytes).ToArray())).ToArray();
        byte[] redisAof;
        long redisStart;
        using (var redis = AofRedis.Start([]))
        {
            redisStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            redis.Pipeline(request, script.Count);
            redisAof = redis.ReadAof();
        }
        using var h = new CommandHarness(start: DateTimeOffset.FromUnixTimeMilliseconds(redisStart));
        var consumer = new StreamConsumer();
        h.Server.Effects.Add(consumer);
        long ourStart = h.NowMs;
        h.ExecuteRequest(request);
        return (Normalise(Parse(redisAof), redisStart), Normalise(Parse(consumer.Output.WrittenSpan), ourStart));
    }

    /// <summary>Asserts both streams are equal, times (13-digit unix ms, alone or as a stream ID's first part)
    /// within <paramref name="toleranceMs"/> of each other relative to each script's start.</summary>
    public static void AssertSame(List<string[]> redis, List<string[]> ours, long toleranceMs = 2000)
    {
        static string Arg(string a) =>
            (a.Length > 60 ? $"{a[..20]}...({a.Length} chars, hash {a.GetHashCode():x8})" : a)
                .Replace("\r", "\\r").Replace("\n", "\\n").Replace("\0", "\\0");
        string Show(List<string[]> s) => string.Join("\n", s.Select(c => string.Join(' ', c.Select(Arg))));
        bool same = redis.Count == ours.Count;
        for (int i = 0; same && i < redis.Count; i++)
        {
            if (redis[i].Length != ours[i].Length) { same = false; break; }
            for (int j = 0; same && j < redis[i].Length; j++) same = ArgEqual(redis[i][j], ours[i][j], toleranceMs);
        }
        Assert.True(same, $"effects differ\n--- redis-server:\n{Show(redis)}\n--- ours:\n{Show(ours)}");
    }

    public static void Check(IReadOnlyList<string[]> script, string[]? redisArgs = null, Action<CommandHarness>? configure = null)
    {
        var (redis, ours) = Run(script, redisArgs, configure);
        Assert.NotEmpty(redis);
        AssertSame(redis, ours);
    }

    private static bool ArgEqual(string a, string b, long tolerance)
    {
        if (a == b) return true;
        if (a.StartsWith("T:", StringComparison.Ordinal) && b.StartsWith("T:", StringComparison.Ordinal))
        {
            var pa = a[2..].Split('|');
            var pb = b[2..].Split('|');
            return Math.Abs(long.Parse(pa[0]) - long.Parse(pb[0])) <= tolerance && pa[1] == pb[1];
        }
        return false;
    }

    private static readonly Regex TimeLike = new(@"^(\d{13})(-\d+)?$", RegexOptions.CultureInvariant);

    private static List<string[]> Normalise(List<string[]> commands, long start)
    {
        foreach (var c in commands)
            for (int i = 1; i < c.Length; i++)
                if (TimeLike.Match(c[i]) is { Success: true } m)
                    c[i] = $"T:{long.Parse(m.Groups[1].Value) - start}|{m.Groups[2].Value}";
        return commands;
    }

    /// <summary>Splits an AOF stream into commands (arrays of bulk strings), as Latin-1 text.</summary>
    public static List<string[]> Parse(ReadOnlySpan<byte> aof)
    {
        var list = new List<string[]>();
        int at = 0;
        int Line(ReadOnlySpan<byte> s, ref int p)
        {
            int end = s[p..].IndexOf("\r\n"u8);
            int v = int.Parse(Encoding.ASCII.GetString(s.Slice(p + 1, end - 1)));
            p += end + 2;
            return v;
        }
        while (at < aof.Length)
        {
            if (aof[at] != (byte)'*') throw new FormatException($"not a RESP array at {at}: {Encoding.Latin1.GetString(aof[at..])}");
            int n = Line(aof, ref at);
            var args = new string[n];
            for (int i = 0; i < n; i++)
            {
                int len = Line(aof, ref at);
                args[i] = Encoding.Latin1.GetString(aof.Slice(at, len));
                at += len + 2;
            }
            list.Add(args);
        }
        return list;
    }

    /// <summary>Runs one command for another client of the harness's server (a blocked client has a session).</summary>
    public static byte[] RunAs(CommandHarness h, ClientState client, params byte[][] args)
    {
        var request = CommandHarness.EncodeRequest(args);
        var scanner = new RespRequestScanner();
        var parsed = new RespArgs(16);
        scanner.TryScan(request, parsed, out int consumed, out _);
        var reply = new ReplyBuffer(h.LibOS);
        var context = new CommandContext(request, parsed, client, h.Server, reply) { FrameLength = consumed };
        h.Server.Commands.Execute(ref context);
        if (reply.IsEmpty) return [];
        var sga = reply.Take();
        var bytes = sga.ToArray();
        h.LibOS.SgaFree(sga);
        return bytes;
    }
}

/// <summary>An effects consumer writing what it gets with <see cref="EffectsStream.Write"/>, as an AOF would.</summary>
internal sealed class StreamConsumer : IEffectsConsumer
{
    private int _selectedDb = -1;

    public ArrayBufferWriter<byte> Output { get; } = new();

    public List<(int Count, bool Transaction)> Units { get; } = [];

    public bool RecordUnits { get; set; } = true;

    public PropagationTargets Accepts => PropagationTargets.Aof;

    public void Append(in EffectsUnit unit)
    {
        if (RecordUnits) Units.Add((unit.Count, unit.Transaction));
        EffectsStream.Write(Output, unit, ref _selectedDb, aof: true);
    }
}

/// <summary>
/// redis-server with an AOF (appendfsync always, RDB preamble) in a temporary directory, and two connections.
/// Throws when redis-server is not installed: these tests need it.
/// </summary>
internal sealed class AofRedis : IDisposable
{
    private const string Marker = "--end-of-reply--";
    private static readonly byte[] MarkerReply = Encoding.ASCII.GetBytes($"${Marker.Length}\r\n{Marker}\r\n");
    private static readonly byte[] MarkerRequest = CommandHarness.EncodeRequest("ECHO", Marker);

    private readonly Process _process;
    private readonly string _dir;
    private readonly NetworkStream _main;
    private readonly NetworkStream _second;
    private readonly List<TcpClient> _clients = [];

    private AofRedis(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        _main = Connect(port);
        _second = Connect(port);
    }

    public static AofRedis Start(string[] extraArgs)
    {
        string dir = Directory.CreateTempSubdirectory("effects-aof-").FullName;
        var process = ReferenceRedis.StartProcess(["--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--aof-use-rdb-preamble", "yes", "--dir", dir, "--enable-debug-command", "yes", .. extraArgs], out int port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
        return new AofRedis(process, dir, port);
    }

    private NetworkStream Connect(int port)
    {
        var client = new TcpClient { ReceiveTimeout = 10_000, SendTimeout = 10_000 };
        client.Connect(IPAddress.Loopback, port);
        _clients.Add(client);
        return client.GetStream();
    }

    public byte[] Call(params string[] command)
    {
        _main.Write(CommandHarness.EncodeRequest(command.Select(Encoding.Latin1.GetBytes).ToArray()));
        return ReadReply(_main);
    }

    private readonly MemoryStream _pending = new();

    /// <summary>Reads exactly one complete RESP2 reply (inside MULTI a marker would be queued, so no marker here).</summary>
    private byte[] ReadReply(NetworkStream stream)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var all = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            int end = ReplyEnd(all, 0);
            if (end > 0)
            {
                var reply = all[..end].ToArray();
                var rest = all[end..].ToArray();
                _pending.SetLength(0);
                _pending.Write(rest);
                return reply;
            }
            int n = stream.Read(buffer);
            if (n == 0) throw new IOException("redis-server closed the connection");
            _pending.Write(buffer, 0, n);
        }
    }

    /// <summary>End offset of the reply starting at <paramref name="at"/>, or -1 when incomplete.</summary>
    private static int ReplyEnd(ReadOnlySpan<byte> s, int at)
    {
        if (at >= s.Length) return -1;
        int eol = s[at..].IndexOf("\r\n"u8);
        if (eol < 0) return -1;
        int lineEnd = at + eol + 2;
        byte kind = s[at];
        if (kind is (byte)'+' or (byte)'-' or (byte)':') return lineEnd;
        long n = long.Parse(Encoding.ASCII.GetString(s.Slice(at + 1, eol - 1)));
        if (kind == (byte)'$') return n < 0 ? lineEnd : (lineEnd + n + 2 <= s.Length ? lineEnd + (int)n + 2 : -1);
        if (kind != (byte)'*') throw new FormatException($"unexpected reply type {(char)kind}");
        int p = lineEnd;
        for (long i = 0; i < n; i++)
        {
            p = ReplyEnd(s, p);
            if (p < 0) return -1;
        }
        return p;
    }

    /// <summary>Writes <paramref name="request"/> at once and reads its <paramref name="replies"/> replies.</summary>
    public void Pipeline(byte[] request, int replies)
    {
        _main.Write(request);
        for (int i = 0; i < replies; i++) ReadReply(_main);
    }

    public void SendSecond(string[] command) => _second.Write(CommandHarness.EncodeRequest(command.Select(Encoding.Latin1.GetBytes).ToArray()));

    public void ReadSecond()
    {
        _second.Write(MarkerRequest);
        ReadUntilMarker(_second);
    }

    /// <summary>Waits until redis-server reports a blocked client.</summary>
    public void WaitBlocked()
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!Encoding.ASCII.GetString(Call("INFO", "clients")).Contains("blocked_clients:1"))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the second client did not block on redis-server");
            Thread.Sleep(10);
        }
    }

    private static byte[] ReadUntilMarker(NetworkStream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = stream.Read(buffer);
            if (n == 0) throw new IOException("redis-server closed the connection");
            received.Write(buffer, 0, n);
            var all = received.GetBuffer().AsSpan(0, (int)received.Length);
            if (all.EndsWith(MarkerReply)) return all[..^MarkerReply.Length].ToArray();
        }
    }

    /// <summary>The incremental AOF file named in the manifest.</summary>
    public byte[] ReadAof()
    {
        string manifest = File.ReadAllText(Path.Combine(_dir, "appendonlydir", "appendonly.aof.manifest"));
        var incr = manifest.Split('\n').Select(l => l.Split(' ')).First(p => p.Length >= 6 && p[5] == "i");
        return File.ReadAllBytes(Path.Combine(_dir, "appendonlydir", incr[1]));
    }

    public void Dispose()
    {
        foreach (var c in _clients) c.Dispose();
        try
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
