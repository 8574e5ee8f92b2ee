using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// Random and mutated RESP from 50 connections at a running server (its own process, real sockets) for 10 s, while
/// well-behaved clients check every reply. Afterwards the server still answers PING, every well-behaved reply was
/// right, and its memory (INFO used_memory, sampled after full collections) is back near the baseline.
/// </summary>
public sealed class WireFuzzTests(ITestOutputHelper output)
{
    // WIREFUZZ_SECONDS / WIREFUZZ_CONNECTIONS make a longer or wider run of the same test.
    private static readonly int FuzzConnections = EnvInt("WIREFUZZ_CONNECTIONS", 50);
    private const int GoodClients = 4;
    private static readonly TimeSpan Storm = TimeSpan.FromSeconds(EnvInt("WIREFUZZ_SECONDS", 10));

    /// <summary>WIREFUZZ_MODE: only valid commands (0), only mutated ones (4), only random bytes (8), only edge cases (9).</summary>
    private static readonly int Mode = EnvInt("WIREFUZZ_MODE", -1);

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out int v) ? v : fallback;
    /// <summary>What may stay above the baseline: pooled buffers (ArrayPool keeps reply and query buffers that grew)
    /// are not a leak. Measured here: 5 MB before, 9-37 MB after.</summary>
    private const long MemorySlack = 64L << 20;

    [Fact]
    public void FiftyConnectionsOfHostileRespLeaveTheServerHealthy()
    {
        using var server = ServerProcess.Start(["--port", "0", "--save", ""]);
        int port = server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        using var admin = new RespClient(port);

        long baseline = SettledMemory(admin);

        using var stop = new CancellationTokenSource();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long goodRoundTrips = 0, fuzzRequests = 0, reconnects = 0;
        var perClient = new long[GoodClients];
        var threads = new List<Thread>();
        for (int i = 0; i < GoodClients; i++)
        {
            int id = i;
            threads.Add(new Thread(() => WellBehaved(port, id, errors, ref goodRoundTrips, ref perClient[id], stop.Token)) { IsBackground = true });
        }
        for (int i = 0; i < FuzzConnections; i++)
        {
            int seed = 1000 + i;
            threads.Add(new Thread(() => Hostile(port, seed, ref fuzzRequests, ref reconnects, stop.Token)) { IsBackground = true });
        }
        foreach (var t in threads) t.Start();
        Thread.Sleep(Storm);
        stop.Cancel();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(30)), "a client thread did not stop");

        output.WriteLine($"{fuzzRequests} hostile requests on {FuzzConnections} connections ({reconnects} connects), " +
                         $"{goodRoundTrips} well-behaved rounds of 6 commands in {Storm.TotalSeconds} s");
        Assert.True(errors.IsEmpty, $"well-behaved clients saw wrong replies:\n{string.Join('\n', errors.Take(20))}");
        // Progress, not throughput (the machine running the tests may be busy): every well-behaved client completed
        // rounds, and none waited 10 s for a reply (that would be an IOException in errors above).
        Assert.True(perClient.All(n => n > 0), $"a well-behaved client completed no round: {string.Join(", ", perClient)}");
        Assert.True(fuzzRequests > 1000, $"only {fuzzRequests} hostile requests were sent");

        using var after = new RespClient(port);
        Assert.Equal("+PONG", after.Command("PING"));
        Assert.Equal("+OK", after.Command("FLUSHALL")); // what the hostile clients stored is not a leak
        long settled = SettledMemory(after);
        output.WriteLine($"used_memory {baseline} B before, {settled} B after");
        Assert.True(settled <= baseline + MemorySlack,
            $"used_memory {settled} B after the storm, baseline {baseline} B (+{(settled - baseline) >> 20} MB; {fuzzRequests} hostile requests, {reconnects} reconnects)");
    }

    /// <summary>The smallest INFO used_memory seen while another connection churns 1 MB values (large-object
    /// allocations make the server's GC run full collections), once at least one full collection happened.</summary>
    private static long SettledMemory(RespClient admin)
    {
        using var churn = new RespClient(admin.Port);
        string big = new('m', 1 << 20);
        long gen2Before = InfoField(admin, "gc_gen2_collections");
        long min = long.MaxValue;
        for (int round = 0; round < 200; round++)
        {
            Assert.Equal("+OK", churn.Command("SET", "wirefuzz:churn", big));
            Assert.Equal(":1", churn.Command("DEL", "wirefuzz:churn"));
            if (round % 10 == 9)
            {
                min = Math.Min(min, InfoField(admin, "used_memory"));
                if (round >= 59 && InfoField(admin, "gc_gen2_collections") > gen2Before + 1) break;
            }
        }
        return min;
    }

    private static long InfoField(RespClient c, string name)
    {
        string info = c.Command("INFO", "memory");
        foreach (var line in info.Split("\r\n"))
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(name.Length + 1), CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"INFO memory has no {name}:\n{info}");
    }

    /// <summary>SET, GET, INCR, RPUSH/LRANGE on its own keys; every reply must be exactly the expected one.</summary>
    private static void WellBehaved(int port, int id, System.Collections.Concurrent.ConcurrentQueue<string> errors, ref long roundTrips, ref long mine,
        CancellationToken stop)
    {
        try
        {
            using var c = new RespClient(port);
            var rnd = new Random(id);
            string key = $"wirefuzz:good:{id}", counter = $"wirefuzz:count:{id}", list = $"wirefuzz:list:{id}";
            long expectedCount = 0;
            while (!stop.IsCancellationRequested)
            {
                string value = new((char)('a' + rnd.Next(26)), rnd.Next(1, 2000));
                Check(errors, "SET", "+OK", c.Command("SET", key, value));
                Check(errors, "GET", $"${value.Length}\r\n{value}", c.Command("GET", key));
                Check(errors, "INCR", $":{++expectedCount}", c.Command("INCR", counter));
                Check(errors, "RPUSH", ":1", c.Command("RPUSH", list, value[..1]));
                Check(errors, "LRANGE", $"*1\r\n$1\r\n{value[0]}", c.Command("LRANGE", list, "0", "-1"));
                Check(errors, "DEL", ":1", c.Command("DEL", list));
                Interlocked.Increment(ref roundTrips);
                mine++;
            }
        }
        catch (Exception e)
        {
            errors.Enqueue($"well-behaved client {id}: {e.GetType().Name}: {e.Message}");
        }
    }

    private static void Check(System.Collections.Concurrent.ConcurrentQueue<string> errors, string what, string expected, string actual)
    {
        if (expected != actual) errors.Enqueue($"{what}: expected {Shorten(expected)}, got {Shorten(actual)}");
    }

    private static string Shorten(string s) => s.Length <= 80 ? s.Replace("\r\n", "\\r\\n", StringComparison.Ordinal) : s[..80] + "...";

    // ------------------------------------------------------------------ the hostile side

    /// <summary>Commands with random arguments (none that stop the server, change its settings or flush the
    /// well-behaved clients' keys), to send as they are or mutated. K: a key, V: a value, N: any number, C: a
    /// bounded count or offset.</summary>
    private static readonly string[][] Commands =
    [
        ["SET", "K", "V"], ["GET", "K"], ["APPEND", "K", "V"], ["INCR", "K"], ["INCRBYFLOAT", "K", "N"], ["GETRANGE", "K", "N", "N"],
        ["SETRANGE", "K", "C", "V"], ["SETBIT", "K", "C", "1"], ["BITCOUNT", "K"], ["BITFIELD", "K", "INCRBY", "u8", "C", "N"],
        ["LPUSH", "K", "V", "V"], ["RPOP", "K"], ["LRANGE", "K", "N", "N"], ["LINSERT", "K", "BEFORE", "V", "V"], ["BLPOP", "K", "0.01"],
        ["SADD", "K", "V", "N"], ["SMEMBERS", "K"], ["SINTERSTORE", "K", "K", "K"], ["SPOP", "K", "C"], ["SRANDMEMBER", "K", "C"],
        ["ZADD", "K", "N", "V"], ["ZRANGE", "K", "N", "N", "WITHSCORES"], ["ZRANGEBYSCORE", "K", "-inf", "N"], ["ZUNIONSTORE", "K", "2", "K", "K"],
        ["HSET", "K", "V", "V"], ["HGETALL", "K"], ["HINCRBY", "K", "V", "N"], ["HRANDFIELD", "K", "C", "WITHVALUES"],
        ["XADD", "K", "*", "V", "V"], ["XRANGE", "K", "-", "+"], ["XTRIM", "K", "MAXLEN", "N"], ["XREAD", "COUNT", "N", "STREAMS", "K", "0"],
        ["PFADD", "K", "V"], ["PFCOUNT", "K"], ["DEL", "K"], ["EXPIRE", "K", "N"], ["TTL", "K"], ["TYPE", "K"], ["OBJECT", "ENCODING", "K"],
        ["DUMP", "K"], ["RESTORE", "K", "0", "V", "REPLACE"], ["SORT", "K"], ["SCAN", "N", "COUNT", "N"], ["RENAME", "K", "K"],
        ["MULTI"], ["EXEC"], ["DISCARD"], ["WATCH", "K"], ["SUBSCRIBE", "V"], ["UNSUBSCRIBE"], ["PUBLISH", "V", "V"],
        ["PING"], ["ECHO", "V"], ["HELLO", "3"], ["HELLO", "2"], ["SELECT", "N"], ["INFO"], ["COMMAND", "INFO", "get"], ["TIME"],
    ];

    private static readonly string[] Numbers = ["0", "1", "-1", "7", "100", "-100", "65535", "100000", "2147483647", "-2147483648",
        "9223372036854775807", "-9223372036854775808", "1e10", "nan", "inf", "3.5", "", "abc"];

    /// <summary>Counts and offsets where a huge value is legitimately expensive in redis-server 7.0 too (SRANDMEMBER
    /// -2147483648 answers two billion elements and stalls redis-server; SETBIT 2^31 allocates 256 MB).</summary>
    private static readonly string[] Counts = ["0", "1", "-1", "7", "100", "-100", "1000", "-5000", "100000", "", "abc", "3.5"];

    private static void Hostile(int port, int seed, ref long requests, ref long reconnects, CancellationToken stop)
    {
        var rnd = new Random(seed);
        Socket? socket = null;
        var sink = new byte[64 * 1024];
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (socket is null)
                {
                    socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = 500, NoDelay = true };
                    socket.Connect("127.0.0.1", port);
                    Interlocked.Increment(ref reconnects);
                }
                byte[] request = (Mode >= 0 ? Mode : rnd.Next(11)) switch
                {
                    // keeps the hostile keys small: the storm is about malformed input, not about replies of megabytes
                    10 => Encode(["DEL", $"wirefuzz:k{rnd.Next(20)}"]),
                    < 4 => Encode(RandomCommand(rnd)),
                    < 8 => Mutate(rnd, Encode(RandomCommand(rnd))),
                    8 => RandomBytes(rnd),
                    _ => Edge(rnd),
                };
                // sent whole or in fragments
                for (int at = 0; at < request.Length;)
                {
                    int n = rnd.Next(3) == 0 ? rnd.Next(1, request.Length - at + 1) : request.Length - at;
                    socket.Send(request, at, n, SocketFlags.None);
                    at += n;
                }
                Interlocked.Increment(ref requests);
                // replies are not checked here, only drained (waiting a moment for them, so that one connection does
                // not pile up thousands of pipelined requests)
                while (socket.Poll(1000, SelectMode.SelectRead) && socket.Available > 0) socket.Receive(sink);
                if (rnd.Next(50) == 0) throw new SocketException(); // now and then, start over on a new connection
            }
            catch (SocketException)
            {
                socket?.Dispose(); // the server closed it after a protocol error, or a send timed out
                socket = null;
            }
        }
        socket?.Dispose();
    }

    private static string[] RandomCommand(Random rnd)
    {
        var shape = Commands[rnd.Next(Commands.Length)];
        var args = new string[shape.Length];
        args[0] = shape[0];
        for (int i = 1; i < shape.Length; i++)
        {
            args[i] = shape[i] switch
            {
                "K" => $"wirefuzz:k{rnd.Next(20)}",
                "V" => RandomText(rnd, rnd.Next(4) == 0 ? 3000 : 20),
                "N" => Numbers[rnd.Next(Numbers.Length)],
                "C" => Counts[rnd.Next(Counts.Length)],
                var fixedWord => fixedWord,
            };
        }
        return args;
    }

    private static string RandomText(Random rnd, int max)
    {
        var chars = new char[rnd.Next(max + 1)];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)rnd.Next(32, 127);
        return new string(chars);
    }

    private static byte[] Encode(string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static byte[] Mutate(Random rnd, byte[] data)
    {
        var bytes = new List<byte>(data);
        for (int m = rnd.Next(1, 5); m > 0 && bytes.Count > 0; m--)
        {
            int at = rnd.Next(bytes.Count);
            switch (rnd.Next(6))
            {
                case 0: bytes[at] ^= (byte)(1 << rnd.Next(8)); break;
                case 1: bytes[at] = (byte)rnd.Next(256); break;
                case 2: bytes.RemoveRange(at, Math.Min(rnd.Next(1, 16), bytes.Count - at)); break;
                case 3: bytes.InsertRange(at, RandomBytes(rnd).Take(16)); break;
                case 4: bytes.InsertRange(at, Encoding.ASCII.GetBytes(Numbers[rnd.Next(Numbers.Length)])); break;
                default: bytes.AddRange(bytes.GetRange(0, Math.Min(bytes.Count, 64))); break;
            }
        }
        return bytes.ToArray();
    }

    private static byte[] RandomBytes(Random rnd)
    {
        var b = new byte[rnd.Next(1, 512)];
        rnd.NextBytes(b);
        return b;
    }

    /// <summary>Lengths and shapes at the protocol's limits.</summary>
    private static byte[] Edge(Random rnd) => Encoding.ASCII.GetBytes(rnd.Next(9) switch
    {
        0 => "*1048577\r\n",
        1 => "*1\r\n$536870912\r\n" + new string('x', rnd.Next(1000)),
        2 => "*2\r\n$3\r\nGET\r\n$2147483647\r\n",
        3 => "*-1\r\n*0\r\n\r\n\r\n",
        4 => string.Concat(Enumerable.Repeat("*1\r\n", rnd.Next(1, 200))),
        5 => "SET k \"" + new string('q', rnd.Next(100)) + "\r\n",
        6 => new string('a', rnd.Next(1000, 70_000)),
        7 => "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + rnd.Next(1, 100_000) + "\r\n" + new string('v', rnd.Next(1000)),
        _ => "PING \"a\\x4" + "\" 'b'\r\n",
    });

    /// <summary>A plain blocking RESP client: one command, its whole reply as text (nested replies concatenated).</summary>
    private sealed class RespClient : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly BufferedStream _in;
        private readonly NetworkStream _out;

        public RespClient(int port)
        {
            Port = port;
            _tcp = new TcpClient("127.0.0.1", port) { NoDelay = true, ReceiveTimeout = 10_000, SendTimeout = 10_000 };
            _out = _tcp.GetStream();
            _in = new BufferedStream(_out, 64 * 1024);
        }

        public int Port { get; }

        public string Command(params string[] args)
        {
            _out.Write(Encode(args));
            var sb = new StringBuilder();
            ReadReply(sb);
            return sb.ToString();
        }

        private void ReadReply(StringBuilder sb)
        {
            string line = ReadLine();
            sb.Append(line);
            long n;
            switch (line[0])
            {
                case '$' or '=' or '!':
                    n = long.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
                    if (n < 0) return;
                    var payload = new byte[n + 2];
                    _in.ReadExactly(payload);
                    sb.Append("\r\n").Append(Encoding.UTF8.GetString(payload, 0, (int)n));
                    return;
                case '*' or '~' or '>' or '%':
                    n = long.Parse(line.AsSpan(1), CultureInfo.InvariantCulture) * (line[0] == '%' ? 2 : 1);
                    for (long i = 0; i < n; i++)
                    {
                        sb.Append("\r\n");
                        ReadReply(sb);
                    }
                    return;
            }
        }

        private string ReadLine()
        {
            var sb = new StringBuilder();
            while (true)
            {
                int b = _in.ReadByte();
                if (b < 0) throw new IOException("the server closed the connection");
                if (b == '\r')
                {
                    _in.ReadByte();
                    return sb.ToString();
                }
                sb.Append((char)b);
            }
        }

        public void Dispose() => _tcp.Dispose();
    }
}
