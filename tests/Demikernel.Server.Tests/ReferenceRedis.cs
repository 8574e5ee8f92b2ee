using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Demikernel.Server.Tests;

/// <summary>
/// A private redis-server for differential tests: started on a free port, talked to over a raw socket, killed on
/// dispose. <see cref="TryStart"/> fails the test when redis-server is not installed (tests/run.sh installs it).
/// Reads time out after 10 s, so a test bug fails instead of hanging the run.
/// </summary>
public sealed class ReferenceRedis : IDisposable
{
    private const string MarkerText = "--end-of-reply--";
    private static readonly byte[] MarkerReply = Encoding.ASCII.GetBytes($"${MarkerText.Length}\r\n{MarkerText}\r\n");
    private static readonly byte[] MarkerRequest = CommandHarness.EncodeRequest("ECHO", MarkerText);

    private readonly Process _process;
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private ReferenceRedis(Process process, TcpClient client, int port)
    {
        Port = port;
        _process = process;
        _client = client;
        _stream = client.GetStream();
    }

    /// <param name="extraArguments">More redis-server options, after the defaults (a later option wins), e.g.
    /// <c>--dir D --dbfilename dump.rdb</c> to load a file at startup.</param>
    public static ReferenceRedis TryStart(string extraArguments = "")
    {
        var process = StartProcess(["--save", "", "--appendonly", "no", .. SplitArguments(extraArguments)], out int port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var client = new TcpClient { ReceiveTimeout = 10_000, SendTimeout = 10_000 };
            try
            {
                client.Connect(IPAddress.Loopback, port);
                return new ReferenceRedis(process, client, port);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                Thread.Sleep(50);
            }
            catch
            {
                client.Dispose();
                process.Kill();
                throw;
            }
        }
    }

    /// <summary>The port it listens on (127.0.0.1), for more connections.</summary>
    public int Port { get; }

    /// <summary>Starts redis-server on a free loopback port with <paramref name="arguments"/> after the port and bind
    /// options; its output is drained. Fails the test when redis-server is not installed.</summary>
    internal static Process StartProcess(IEnumerable<string> arguments, out int port)
    {
        string? path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
        // A differential test must fail, not pass, where there is nothing to compare with.
        if (path is null) throw new Xunit.Sdk.XunitException("redis-server is not installed: this differential test needs it (tests/run.sh installs it)");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--port", port.ToString(), "--bind", "127.0.0.1", "--daemonize", "no", .. arguments])
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Splits "--dir D --dbfilename x" on spaces (callers pass no quoted arguments).</summary>
    private static string[] SplitArguments(string arguments) => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Runs one command and returns its exact reply bytes (an ECHO marker ends each exchange; inside MULTI,
    /// where the marker would be queued, MULTI and each queued command answer one line).</summary>
    public byte[] Execute(params byte[][] command)
    {
        string name = Encoding.ASCII.GetString(command[0]).ToUpperInvariant();
        if (name == "MULTI" || (_inTransaction && name is not ("EXEC" or "DISCARD")))
        {
            _stream.Write(CommandHarness.EncodeRequest(command));
            byte[] line = ReadLine();
            if (name == "MULTI" && line.AsSpan().SequenceEqual("+OK\r\n"u8)) _inTransaction = true;
            return line;
        }
        _inTransaction = false;
        _stream.Write([.. CommandHarness.EncodeRequest(command), .. MarkerRequest]);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = _stream.Read(buffer); // throws IOException after ReceiveTimeout
            if (n == 0) throw new IOException("redis-server closed the connection");
            received.Write(buffer, 0, n);
            var all = received.GetBuffer().AsSpan(0, (int)received.Length);
            if (all.EndsWith(MarkerReply)) return all[..^MarkerReply.Length].ToArray();
        }
    }

    private bool _inTransaction;

    private byte[] ReadLine()
    {
        var line = new MemoryStream();
        while (!line.GetBuffer().AsSpan(0, (int)line.Length).EndsWith("\r\n"u8))
        {
            int b = _stream.ReadByte(); // throws IOException after ReceiveTimeout
            if (b < 0) throw new IOException("redis-server closed the connection");
            line.WriteByte((byte)b);
        }
        return line.ToArray();
    }

    /// <summary>Runs one command given as UTF-8 strings; the reply as Latin-1 text (byte-exact).</summary>
    public string Run(params string[] command) => Latin1(Execute(command.Select(Encoding.UTF8.GetBytes).ToArray()));

    public static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>
    /// Runs <paramref name="script"/> on a fresh redis-server and on a fresh harness, both in RESP
    /// <paramref name="protocol"/>, and fails the test with every differing reply.
    /// </summary>
    public static void AssertSameReplies(IEnumerable<string[]> script, int protocol = 2)
    {
        using var redis = TryStart();
        using var h = new CommandHarness();
        redis.Run("FLUSHALL");
        redis.Run("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
        h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    /// <summary>
    /// As <see cref="AssertSameReplies"/> with DEBUG enabled on both servers, each saving (DEBUG RELOAD) into a temporary
    /// directory of its own, set at start since CONFIG SET dir is protected; the directories are removed after.
    /// </summary>
    public static void AssertSameRepliesWithDebug(IEnumerable<string[]> script, int protocol = 2)
    {
        string redisDir = Directory.CreateTempSubdirectory("debug-redis-").FullName;
        string ourDir = Directory.CreateTempSubdirectory("debug-ours-").FullName;
        try
        {
            using var redis = TryStart($"--enable-debug-command yes --dir {redisDir}");
            using var h = new CommandHarness();
            h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
            h.Server.Config.LoadDirective("dir", [ourDir], out _);
            redis.Run("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
            h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
            var mismatches = redis.Compare(h, script);
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        }
        finally
        {
            Directory.Delete(redisDir, recursive: true);
            Directory.Delete(ourDir, recursive: true);
        }
    }

    /// <summary>Runs <paramref name="script"/> on redis-server and through <paramref name="h"/>; one description per
    /// differing reply.</summary>
    public List<string> Compare(CommandHarness h, IEnumerable<string[]> script)
    {
        var mismatches = new List<string>();
        foreach (var command in script)
        {
            string expected = Run(command);
            string actual = Encoding.Latin1.GetString(h.Execute(command.Select(Encoding.UTF8.GetBytes).ToArray()));
            if (expected != actual)
                mismatches.Add($"{string.Join(' ', command)}\n  redis: {Escape(expected)}\n  ours:  {Escape(actual)}");
        }
        return mismatches;
    }

    public static string Escape(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n");

    public void Dispose()
    {
        _client.Dispose();
        ProcessStop.Stop(_process, TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
