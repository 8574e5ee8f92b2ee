using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

[CollectionDefinition("ServerProcessLoad", DisableParallelization = true)]
public sealed class ServerProcessLoadCollection;

/// <summary>
/// Client buffers and load against the server as a process of its own (its RSS and descriptors are measured from
/// /proc): client-output-buffer-limit on a subscriber that stops reading, client-query-buffer-limit and
/// proto-max-bulk-len on open connections, 10,000 concurrent clients, slowloris clients, maxclients.
/// Runs alone: the RSS and latency numbers are the server's, not a neighbour test's.
/// </summary>
[Collection("ServerProcessLoad")]
public sealed class ClientLimitTests(ITestOutputHelper output)
{
    private static (ServerProcess Server, int Port) Start(params string[] args)
    {
        var server = ServerProcess.Start(["--port", "0", "--save", "", .. args]);
        var lines = server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
        int port = server.PortFromLog(lines);
        // INFO loads assemblies (System.Diagnostics.Process, ...), each an open file: load them before counting descriptors.
        using (var warm = Client.Open(port))
        {
            warm.Call("INFO");
            warm.Call("CLIENT", "LIST");
        }
        return (server, port);
    }

    private static long RssBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException("no VmRSS");
    }

    private static int Descriptors(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    /// <summary>The server's descriptor count once closes in progress have settled (two equal readings 200 ms apart).</summary>
    private static int SettledDescriptors(int pid)
    {
        int last = Descriptors(pid);
        while (true)
        {
            Thread.Sleep(200);
            int now = Descriptors(pid);
            if (now == last) return now;
            last = now;
        }
    }

    [Fact]
    public void ASubscriberThatNeverReadsIsDisconnectedAtThePubSubLimitAndNobodyElseNotices()
    {
        var (server, port) = Start();
        using var _ = server;
        using var publisher = Client.Open(port);
        using var normal = Client.Open(port);
        using var reader = Client.Open(port);
        using var stalled = Client.Open(port, receiveBuffer: 4096);
        reader.Send(Client.Request("SUBSCRIBE", "feed"));
        reader.Expect("*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n");
        stalled.Send(Client.Request("SUBSCRIBE", "feed"));
        stalled.Expect("*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n");
        Assert.Equal("+OK\r\n", normal.Call("SET", "k", "v"));
        long rssBefore = RssBytes(server.Pid);

        // ~200 MB published in 100 KB messages; the reader keeps up (the publisher waits for it every 2 MB).
        const int Messages = 2000, Size = 100 * 1024;
        string payload = new('m', Size);
        byte[] frame = Encoding.ASCII.GetBytes($"*3\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n${Size}\r\n{payload}\r\n");
        var publish = Encoding.ASCII.GetBytes(Client.Request("PUBLISH", "feed", payload));
        long rssMax = rssBefore, received = 0;
        var latencies = new List<double>();
        for (int i = 0; i < Messages; i += 20)
        {
            var batch = new byte[publish.Length * 20];
            for (int j = 0; j < 20; j++) publish.CopyTo(batch, j * publish.Length);
            publisher.Send(batch);
            for (int j = 0; j < 20; j++)
            {
                string reply = publisher.ReadLine();
                Assert.True(reply is ":2" or ":1", reply); // 2 subscribers until the stalled one is dropped
            }
            received += reader.Drain(20L * frame.Length);
            var watch = Stopwatch.StartNew();
            Assert.Equal("$1\r\nv\r\n", normal.Call("GET", "k"));
            latencies.Add(watch.Elapsed.TotalMilliseconds);
            rssMax = Math.Max(rssMax, RssBytes(server.Pid));
        }
        Assert.Equal((long)Messages * frame.Length, received); // every message reached the reader, in full

        // The stalled subscriber was closed at the pubsub hard limit (32 MB), with redis's log line.
        var line = server.StdoutUntil(l => l.Contains("scheduled to be closed ASAP for overcoming of output buffer limits.", StringComparison.Ordinal))[^1];
        Assert.Contains(" flags=P ", line, StringComparison.Ordinal);
        Assert.Contains(" sub=1 ", line, StringComparison.Ordinal);
        long omem = long.Parse(line.Split(" omem=")[1].Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.InRange(omem, 32L << 20, (32L << 20) + 2 * Size + 4096);
        Assert.True(stalled.ReadsToEnd(TimeSpan.FromSeconds(10)), "the stalled subscriber's connection was not closed");
        Assert.Equal(":1\r\n", publisher.Call("PUBLISH", "feed", "x")); // only the reader is left
        latencies.Sort();
        output.WriteLine($"RSS {rssBefore >> 20} MB before, {rssMax >> 20} MB at most while 200 MB were published; stalled subscriber closed at omem={omem}; GET latency p50 {latencies[latencies.Count / 2]:F2} ms, max {latencies[^1]:F2} ms");
        // The server held at most the stalled client's 32 MB plus working buffers.
        Assert.InRange(rssMax - rssBefore, long.MinValue, (32L << 20) + (48L << 20));
    }

    [Fact]
    public void QueryBufferLimitAndProtoMaxBulkLenApplyToOpenConnections()
    {
        var (server, port) = Start("--client-query-buffer-limit", "2mb", "--proto-max-bulk-len", "4mb");
        using var _ = server;
        using var admin = Client.Open(port);
        Assert.Equal("*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n2097152\r\n", admin.Call("CONFIG", "GET", "client-query-buffer-limit"));
        Assert.Equal("*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n4194304\r\n", admin.Call("CONFIG", "GET", "proto-max-bulk-len"));
        using var big = Client.Open(port);
        using var bulk = Client.Open(port);
        // An open connection with 1.5 MB of a 3 MB value buffered: fine under 2 MB...
        string head = $"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${3 << 20}\r\n";
        big.Send(head + new string('a', 1536 * 1024));
        // CLIENT LIST shows it buffered (qbuf), with the room left (qbuf-free).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string list;
        while (!(list = admin.Call("CLIENT", "LIST")).Contains($" qbuf={head.Length + 1536 * 1024} ", StringComparison.Ordinal) && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Contains($" qbuf={head.Length + 1536 * 1024} ", list, StringComparison.Ordinal);
        Assert.DoesNotContain(" qbuf-free=0 ", list.Split('\n').First(l => l.Contains($" qbuf={head.Length + 1536 * 1024} ", StringComparison.Ordinal)), StringComparison.Ordinal);
        // ...lowered to 1 MB by CONFIG SET: the next bytes close it, with redis's log line.
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "client-query-buffer-limit", "1mb"));
        big.Send("aaaa");
        Assert.True(big.ReadsToEnd(TimeSpan.FromSeconds(10)), "the client over the query buffer limit was not closed");
        var line = server.StdoutUntil(l => l.Contains("Closing client that reached max query buffer length: ", StringComparison.Ordinal))[^1];
        Assert.Contains("(qbuf initial bytes: \"*3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\nk\\r\\n$3145728\\r\\naaaa", line, StringComparison.Ordinal);

        // proto-max-bulk-len lowered for a connection already open.
        Assert.Equal("+PONG\r\n", bulk.Call("PING"));
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "proto-max-bulk-len", "1mb"));
        bulk.Send($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${2 << 20}\r\n");
        bulk.Expect("-ERR Protocol error: invalid bulk length\r\n");
        Assert.True(bulk.ReadsToEnd(TimeSpan.FromSeconds(10)), "the connection stays open after a protocol error");

        // redis-server 7.0's checks and texts
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n",
            admin.Call("CONFIG", "SET", "client-query-buffer-limit", "1000"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n",
            admin.Call("CONFIG", "SET", "proto-max-bulk-len", "1000"));
    }

    [Fact]
    public void OutputBufferLimitIsSetAsRedisSetsIt()
    {
        var (server, port) = Start("--client-output-buffer-limit", "pubsub 1mb 2k 3");
        using var _ = server;
        using var c = Client.Open(port);
        Assert.Equal("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 3", c.CallBulkArray("CONFIG", "GET", "client-output-buffer-limit")[1]);
        Assert.Equal("+OK\r\n", c.Call("CONFIG", "SET", "client-output-buffer-limit", "replica 1 2 3 normal 5 6 7"));
        Assert.Equal("normal 5 6 7 slave 1 2 3 pubsub 1048576 2000 3", c.CallBulkArray("CONFIG", "GET", "client-output-buffer-limit")[1]);
        const string Prefix = "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
        Assert.Equal(Prefix + "Wrong number of arguments in buffer limit configuration.\r\n", c.Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2"));
        Assert.Equal(Prefix + "Invalid client class specified in buffer limit configuration.\r\n", c.Call("CONFIG", "SET", "client-output-buffer-limit", "master 1 2 3"));
        Assert.Equal(Prefix + "Error in hard, soft or soft_seconds setting in buffer limit configuration.\r\n", c.Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2 x"));
        Assert.Equal(Prefix + "Error in hard, soft or soft_seconds setting in buffer limit configuration.\r\n", c.Call("CONFIG", "SET", "client-output-buffer-limit", "normal -1 2 3"));
        Assert.Equal("normal 5 6 7 slave 1 2 3 pubsub 1048576 2000 3", c.CallBulkArray("CONFIG", "GET", "client-output-buffer-limit")[1]); // all or nothing
        var bad = ServerProcess.RunToExit(["--port", "0", "--client-output-buffer-limit", "pubsub 1 2"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("Wrong number of arguments in buffer limit configuration.", bad.Stderr, StringComparison.Ordinal);
    }

    // ---- load (issue 10) ----

    [Fact]
    public void TenThousandClientsAreHeldAndServed()
    {
        const int Count = 10_000;
        var (server, port) = Start("--maxclients", "10100");
        using var _ = server;
        int fdsBefore = SettledDescriptors(server.Pid);
        var clock = Stopwatch.StartNew();
        var clients = new Socket[Count];
        try
        {
            Parallel.For(0, Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i => clients[i] = Client.Connect(port));
            var connected = clock.Elapsed;
            // Every one of them is served while all are connected: each sends a PING, then each reads its PONG.
            var ping = Encoding.ASCII.GetBytes("PING\r\n");
            Parallel.For(0, Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i => clients[i].Send(ping));
            Parallel.For(0, Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i => Client.Expect(clients[i], "+PONG\r\n"));
            using var admin = Client.Open(port);
            string info = admin.Call("INFO", "clients");
            Assert.Contains($"connected_clients:{Count + 1}\r\n", info, StringComparison.Ordinal);
            Assert.InRange(Descriptors(server.Pid), fdsBefore + Count, fdsBefore + Count + 8);
            output.WriteLine($"{Count} clients connected in {connected.TotalSeconds:F1} s, all answered after {clock.Elapsed.TotalSeconds:F1} s; server RSS {RssBytes(server.Pid) >> 20} MB");
        }
        finally
        {
            foreach (var c in clients) c?.Dispose();
        }
        // All gone: the server is back to its descriptors.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (Descriptors(server.Pid) > fdsBefore && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.Equal(fdsBefore, Descriptors(server.Pid));
    }

    [Fact]
    public void SlowlorisClientsDoNotDelayOthers()
    {
        var (server, port) = Start();
        using var _ = server;
        var slow = new Socket[100];
        for (int i = 0; i < slow.Length; i++) slow[i] = Client.Connect(port);
        byte[] request = Encoding.ASCII.GetBytes(Client.Request("SET", "slow", new string('s', 100)));
        using var fast = Client.Open(port);
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        int sent = 0;
        // Three seconds: every second each slow client sends one more byte of its request; meanwhile a normal client
        // runs requests back to back.
        while (clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            if (clock.Elapsed.TotalSeconds >= sent)
            {
                foreach (var s in slow) s.Send(request, sent, 1, SocketFlags.None);
                sent++;
            }
            var watch = Stopwatch.StartNew();
            Assert.Equal("+PONG\r\n", fast.Call("PING"));
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        double p99 = latencies[(int)(latencies.Count * 0.99)];
        output.WriteLine($"{latencies.Count} PINGs next to 100 slowloris clients: p50 {latencies[latencies.Count / 2]:F3} ms, p99 {p99:F3} ms, max {latencies[^1]:F3} ms");
        Assert.True(latencies.Count > 1000, $"only {latencies.Count} requests in 3 s");
        Assert.InRange(p99, 0, 50); // a server that waited on a slow client would stall for seconds
        using var admin = Client.Open(port);
        Assert.Contains("connected_clients:102\r\n", admin.Call("INFO", "clients"), StringComparison.Ordinal);
        foreach (var s in slow) s.Dispose();
    }

    [Fact]
    public void ConnectionsBeyondMaxclientsAreRefusedAndLeaveNothingBehind()
    {
        var (server, port) = Start("--maxclients", "50");
        using var _ = server;
        using var admin = Client.Open(port);
        int fdsBefore = SettledDescriptors(server.Pid);
        var held = new List<Client>();
        try
        {
            for (int i = 0; i < 49; i++) held.Add(Client.Open(port));
            for (int i = 0; i < 49; i++) Assert.Equal("+PONG\r\n", held[i].Call("PING"));
            for (int round = 0; round < 200; round++)
            {
                using var extra = Client.Open(port);
                extra.Expect("-ERR max number of clients reached\r\n");
                Assert.True(extra.ReadsToEnd(TimeSpan.FromSeconds(10)), "a refused client stays connected");
            }
            Assert.Contains("rejected_connections:200\r\n", admin.Call("INFO", "stats"), StringComparison.Ordinal);
            Assert.Contains("connected_clients:50\r\n", admin.Call("INFO", "clients"), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var c in held) c.Dispose();
        }
        // The refused connections and the closed ones left no descriptor behind.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Descriptors(server.Pid) != fdsBefore && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal(fdsBefore, Descriptors(server.Pid));
        Assert.Contains("connected_clients:1\r\n", admin.Call("INFO", "clients"), StringComparison.Ordinal);
        using var again = Client.Open(port);
        Assert.Equal("+PONG\r\n", again.Call("PING"));
    }
}

/// <summary>A raw RESP client over a socket, every read bounded by a timeout.</summary>
internal sealed class Client : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[256 * 1024];
    private int _start, _end;

    private Client(Socket socket) => _socket = socket;

    public static Socket Connect(int port, int receiveBuffer = 0)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 20_000 };
        if (receiveBuffer > 0) s.ReceiveBufferSize = receiveBuffer;
        s.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return s;
    }

    public static Client Open(int port, int receiveBuffer = 0) => new(Connect(port, receiveBuffer));

    public static string Request(params string[] args)
    {
        var text = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) text.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        return text.ToString();
    }

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    public void Send(byte[] bytes) => _socket.Send(bytes);

    /// <summary>Sends a request and reads one whole reply (simple, error, integer, bulk; arrays of those).</summary>
    public string Call(params string[] args)
    {
        Send(Request(args));
        var reply = new StringBuilder();
        ReadValue(reply);
        return reply.ToString();
    }

    /// <summary>The bulk strings of an array reply.</summary>
    public string[] CallBulkArray(params string[] args)
    {
        Send(Request(args));
        string header = ReadLine();
        Assert.StartsWith("*", header, StringComparison.Ordinal);
        var items = new string[int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture)];
        for (int i = 0; i < items.Length; i++)
        {
            var item = new StringBuilder();
            ReadValue(item);
            string text = item.ToString();
            items[i] = text[(text.IndexOf("\r\n", StringComparison.Ordinal) + 2)..^2];
        }
        return items;
    }

    private void ReadValue(StringBuilder into)
    {
        string line = ReadLine();
        into.Append(line).Append("\r\n");
        if (line[0] == '$')
        {
            int length = int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
            if (length >= 0) into.Append(Encoding.UTF8.GetString(ReadExactly(length + 2)));
        }
        else if (line[0] == '*')
        {
            int count = int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
            for (int i = 0; i < count; i++) ReadValue(into);
        }
    }

    public string ReadLine()
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end) Fill();
            byte b = _buffer[_start++];
            if (b == '\n' && line.Length > 0 && line[^1] == '\r') return line.ToString(0, line.Length - 1);
            line.Append((char)b);
        }
    }

    private byte[] ReadExactly(int count)
    {
        var data = new byte[count];
        int have = 0;
        while (have < count)
        {
            if (_start == _end) Fill();
            int n = Math.Min(count - have, _end - _start);
            Array.Copy(_buffer, _start, data, have, n);
            _start += n;
            have += n;
        }
        return data;
    }

    private void Fill()
    {
        _start = 0;
        _end = _socket.Receive(_buffer);
        if (_end == 0) throw new EndOfStreamException("the server closed the connection");
    }

    public void Expect(string expected) => Assert.Equal(expected, Encoding.UTF8.GetString(ReadExactly(Encoding.UTF8.GetByteCount(expected))));

    public static void Expect(Socket s, string expected)
    {
        var want = Encoding.UTF8.GetBytes(expected);
        var got = new byte[want.Length];
        int have = 0;
        while (have < got.Length)
        {
            int n = s.Receive(got, have, got.Length - have, SocketFlags.None);
            if (n == 0) break;
            have += n;
        }
        Assert.Equal(expected, Encoding.UTF8.GetString(got, 0, have));
    }

    /// <summary>Reads and drops exactly <paramref name="count"/> bytes; returns how many were read.</summary>
    public long Drain(long count)
    {
        long have = 0;
        while (have < count)
        {
            if (_start == _end) Fill();
            int n = (int)Math.Min(count - have, _end - _start);
            _start += n;
            have += n;
        }
        return have;
    }

    /// <summary>Reads whatever is left until the server closes the connection (true), or the time runs out (false).</summary>
    public bool ReadsToEnd(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        _socket.ReceiveTimeout = (int)within.TotalMilliseconds;
        var scratch = new byte[1 << 20];
        try
        {
            while (DateTime.UtcNow < deadline)
                if (_socket.Receive(scratch) == 0) return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return false;
        }
        return false;
    }

    public void Dispose() => _socket.Dispose();
}
