using System.Net.Sockets;
using System.Text;
using Demikernel.Resp;

namespace Demikernel.Server.Tests;

/// <summary>
/// Every error reply goes through one writer that never lets CR or LF into the line: hostile arguments (CR, LF, CRLF)
/// on each error path that echoes them, over a real socket to our server and to redis-server 7.0, byte for byte, and
/// the stream stays in sync (the PING after each gets PONG).
/// </summary>
public sealed class ErrorReplyTests
{
    private static readonly string[] Hostile = ["ab\ncd", "ab\rcd", "ab\r\ncd", "x\r\n", "\r\n"];

    private static IEnumerable<string[]> Commands(string h) =>
    [
        [$"no{h}such"],                                   // unknown command
        ["nosuchcmd", h, "b"],                            // unknown command, echoed arguments
        [$"{h}", new string('a', 140), h],                // ... cut at 128 bytes
        ["CONFIG", h],                                    // unknown subcommand
        ["OBJECT", h, "k"],
        ["CLIENT", h],
        ["XINFO", h],
        ["COMMAND", h],
        ["CONFIG", "SET", h, "1"],                        // CONFIG SET errors echo the parameter or the value
        ["CONFIG", "SET", "maxclients", h],
        ["CONFIG", "SET", "appendonly", h],
        ["CONFIG", "SET", "hz", "10", "hz", h],
        ["CONFIG", "GET"],                                // wrong arity of a subcommand
        ["GET"],                                          // wrong arity
        ["HELLO", "3", h],
        ["HELLO", h],
        ["CLIENT", "SETNAME", h],
        ["CLIENT", "KILL", "TYPE", h],
        ["CLIENT", "NO-EVICT", h],
        ["SELECT", h],
        ["EXPIRE", "k", h],
        ["SET", "k", "v", h],
        ["XREADGROUP", "GROUP", h, "c", "STREAMS", "s", ">"],
        ["XGROUP", "CREATE", "s", h, "$", "MKSTREAM"],
        ["XGROUP", "CREATECONSUMER", "s", h, "c"],
        ["XCLAIM", "s", "g", "c", "0", "0-1", h],
        ["LPUSH", "l", "x"],
        ["GET", "l"],                                     // wrong type
        ["ZADD", "z", h, "m"],
        ["SCAN", h],
        ["SORT", "l", "BY", h, "LIMIT", h, "1"],
        ["RENAME", h, "b"],
    ];

    [Fact]
    public void HostileArgumentsKeepTheStreamInSyncAndMatchRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        using var server = new ServerThread("errors", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" }));
        using var ours = MarkedConnection.Open(server.Port);
        var mismatches = new List<string>();
        foreach (string h in Hostile)
        {
            redis.Run("FLUSHALL");
            ours.Execute(Bytes("FLUSHALL"));
            foreach (var command in Commands(h))
            {
                var args = command.Select(Encoding.UTF8.GetBytes).ToArray();
                byte[] expected = redis.Execute(args);
                byte[] actual = ours.Execute(args);
                AssertOneFrame(actual, command);
                if (!expected.AsSpan().SequenceEqual(actual))
                    mismatches.Add($"{Show(string.Join(' ', command))}\n  redis: {Show(Encoding.Latin1.GetString(expected))}\n  ours:  {Show(Encoding.Latin1.GetString(actual))}");
                Assert.Equal("+PONG\r\n", Encoding.ASCII.GetString(ours.Execute(Bytes("PING"))));
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void TheIssuesRequestNoLongerDesyncs()
    {
        using var server = new ServerThread("errors", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" }));
        using var c = ListHashConnection.Open(server.Port);
        c.SendRaw("*2\r\n$7\r\nnosuch1\r\n$5\r\nab\ncd\r\n*1\r\n$4\r\nPING\r\n"u8);
        Assert.Equal("-ERR unknown command 'nosuch1', with args beginning with: 'ab cd' \r\n", c.ReadReply());
        Assert.Equal("+PONG\r\n", c.ReadReply());
    }

    private static void AssertOneFrame(byte[] reply, string[] command)
    {
        var scanner = new RespFrameScanner();
        var status = scanner.TryScan(reply, out int length, out _);
        Assert.True(status == RespScanStatus.Complete && length == reply.Length,
            $"{Show(string.Join(' ', command))}: the reply is not one RESP value: {Show(Encoding.Latin1.GetString(reply))}");
    }

    private static byte[][] Bytes(params string[] args) => args.Select(Encoding.UTF8.GetBytes).ToArray();

    private static string Show(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n");

    /// <summary>A raw connection whose exchanges end with an ECHO marker (as <see cref="ReferenceRedis"/>), so a reply
    /// that desyncs the stream cannot be mistaken for a good one.</summary>
    private sealed class MarkedConnection : IDisposable
    {
        private static readonly byte[] MarkerReply = "$7\r\n--end--\r\n"u8.ToArray();
        private readonly TcpClient _client;
        private readonly NetworkStream _stream;

        private MarkedConnection(TcpClient client)
        {
            _client = client;
            _stream = client.GetStream();
            _stream.ReadTimeout = 10_000;
        }

        public static MarkedConnection Open(int port)
        {
            var client = new TcpClient { NoDelay = true };
            client.Connect("127.0.0.1", port);
            return new MarkedConnection(client);
        }

        public byte[] Execute(byte[][] args)
        {
            _stream.Write([.. CommandHarness.EncodeRequest(args), .. CommandHarness.EncodeRequest(Bytes("ECHO", "--end--"))]);
            var received = new MemoryStream();
            var buffer = new byte[16 * 1024];
            while (true)
            {
                int n = _stream.Read(buffer);
                if (n == 0) throw new IOException("the server closed the connection");
                received.Write(buffer, 0, n);
                var all = received.GetBuffer().AsSpan(0, (int)received.Length);
                if (all.EndsWith(MarkerReply)) return all[..^MarkerReply.Length].ToArray();
            }
        }

        public void Dispose() => _client.Dispose();
    }
}
