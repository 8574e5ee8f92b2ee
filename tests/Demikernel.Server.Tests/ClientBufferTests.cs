using System.Net;
using System.Net.Sockets;
using System.Text;
using Demikernel.Runtime;

namespace Demikernel.Server.Tests;

/// <summary>
/// What CLIENT LIST reports about a client's buffers, the output limit applied by CONFIG SET to a connection already
/// open, tcp-keepalive on accepted sockets (read back from the kernel), and the idle timeout's exemptions.
/// </summary>
public sealed class ClientBufferTests
{
    private static string Field(string line, string name)
    {
        int at = line.IndexOf($" {name}=", StringComparison.Ordinal);
        Assert.True(at >= 0, $"no {name}= in {line}");
        int start = at + name.Length + 2;
        int end = line.IndexOf(' ', start);
        return line[start..(end < 0 ? line.Length : end)];
    }

    private static string LineOf(string list, long id) =>
        list.Split('\n').First(l => l.StartsWith($"id={id} ", StringComparison.Ordinal));

    private static long Id(ListHashConnection c) => long.Parse(c.Call("CLIENT", "ID")[1..^2]);

    [Fact]
    public void ClientListReportsTheOutputAStalledSubscriberHoldsAndConfigSetLimitsIt()
    {
        using var server = ListHashTcpServer.Start();
        using var admin = server.Connect();
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0"));
        var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        stalled.Connect(new IPEndPoint(IPAddress.Loopback, server.Port));
        stalled.Send(Encoding.ASCII.GetBytes("CLIENT ID\r\nSUBSCRIBE feed\r\n"));
        var first = new byte[256];
        int got = 0;
        string text = "";
        while (!text.EndsWith("feed\r\n:1\r\n", StringComparison.Ordinal))
        {
            int n = stalled.Receive(first, got, first.Length - got, SocketFlags.None);
            Assert.True(n > 0);
            got += n;
            text = Encoding.ASCII.GetString(first, 0, got);
        }
        long id = long.Parse(text[1..text.IndexOf('\r')]);

        string message = new('m', 64 * 1024);
        for (int i = 0; i < 160; i++) Assert.Equal(":1\r\n", admin.Call("PUBLISH", "feed", message)); // 10 MB
        string line = LineOf(admin.Call("CLIENT", "LIST"), id);
        long omem = long.Parse(Field(line, "omem"));
        Assert.InRange(omem, 4L << 20, 11L << 20); // what the kernel's socket buffers did not take
        Assert.True(long.Parse(Field(line, "oll")) > 0, line);
        Assert.True(long.Parse(Field(line, "tot-mem")) >= omem + ClientSession.SessionOverhead, line);
        Assert.Equal("rw", Field(line, "events"));
        Assert.Equal("P", Field(line, "flags"));
        Assert.Equal("1", Field(line, "sub"));
        // used_memory counts what the clients hold, as the cron measures it (MEMORY STATS' clients.normal too)
        long held = long.Parse(Field(line, "tot-mem")), clientsMemory = 0;
        for (var until = DateTime.UtcNow + TimeSpan.FromSeconds(10); clientsMemory < held && DateTime.UtcNow < until; Thread.Sleep(20))
            clientsMemory = long.Parse(Field(admin.Call("INFO", "memory").Replace("\r\n", " ").Replace(':', '='), "mem_clients_normal"));
        Assert.InRange(clientsMemory, held, held + (1L << 20));

        // The calling client: its own request's arguments ("client" "list" = 10 bytes), nothing pending.
        long adminId = Id(admin);
        string self = LineOf(admin.Call("CLIENT", "LIST"), adminId);
        Assert.Equal("10", Field(self, "argv-mem"));
        Assert.Equal("0", Field(self, "omem"));
        Assert.Equal("N", Field(self, "flags"));

        // Lowered below what it holds: the next message closes it.
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"));
        admin.Call("PUBLISH", "feed", "one more");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (server.Inspect(s => s.Clients.Count) != 1 && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.Equal(1, server.Inspect(s => s.Clients.Count));
        Assert.Equal(":0\r\n", admin.Call("PUBLISH", "feed", "nobody"));
        stalled.Dispose();
    }

    [Fact]
    public void TheSoftLimitClosesOnlyAfterHoldingLongerThanItsSeconds()
    {
        var limit = new OutputBufferLimit(Hard: 100, Soft: 10, SoftSeconds: 2);
        var state = new OutputLimitState();
        Assert.False(state.Exceeded(limit, 10, nowSeconds: 1000)); // first seen over: the clock starts
        Assert.False(state.Exceeded(limit, 50, 1002)); // 2 s: not more than its seconds
        Assert.True(state.Exceeded(limit, 50, 1003));
        Assert.False(state.Exceeded(limit, 9, 1004)); // under again: reset
        Assert.False(state.Exceeded(limit, 10, 1010));
        Assert.True(state.Exceeded(limit, 100, 1010)); // the hard limit at once
        Assert.False(new OutputLimitState().Exceeded(new OutputBufferLimit(0, 0, 0), long.MaxValue, 1)); // 0 = none
    }

    [Fact]
    public void AReplyOverTheNormalClassLimitClosesTheClient()
    {
        using var server = ListHashTcpServer.Start();
        using var admin = server.Connect();
        Assert.Equal("+OK\r\n", admin.Call("SET", "big", new string('b', 8 << 20)));
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"));
        using var reader = server.Connect();
        Assert.Equal("$2\r\nok\r\n", reader.Call("ECHO", "ok")); // small replies pass
        reader.Send("GET", "big"); // 8 MB that the socket cannot take at once: over 1 MB of output
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (server.Inspect(s => s.Clients.Count) != 1 && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.Equal(1, server.Inspect(s => s.Clients.Count));
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0"));
        Assert.Equal(8 << 20, admin.CallBytes("GET", "big").Length - 12); // "$8388608\r\n" + value + CRLF
    }

    [Fact]
    public void TcpKeepAliveIsSetOnAcceptedSocketsAsRedisSetsIt()
    {
        using var server = ListHashTcpServer.Start();
        using var first = server.Connect();
        long firstId = Id(first);
        (int On, int Idle, int Interval, int Count) Read(long id) => server.Inspect(s =>
        {
            var qd = s.FindClient(id)!.Client.Qd;
            s.LibOS.GetSockOpt(qd, SocketOption.KeepAlive, out int on);
            s.LibOS.GetSockOpt(qd, SocketOption.TcpKeepIdle, out int idle);
            s.LibOS.GetSockOpt(qd, SocketOption.TcpKeepInterval, out int interval);
            s.LibOS.GetSockOpt(qd, SocketOption.TcpKeepCount, out int count);
            return (on, idle, interval, count);
        });
        Assert.Equal((1, 300, 100, 3), Read(firstId)); // the default, 300 s
        Assert.Equal("+OK\r\n", first.Call("CONFIG", "SET", "tcp-keepalive", "2"));
        using var second = server.Connect();
        Assert.Equal((1, 2, 1, 3), Read(Id(second))); // interval/3, at least 1
        Assert.Equal((1, 300, 100, 3), Read(firstId)); // as in redis, for new connections only
        Assert.Equal("+OK\r\n", first.Call("CONFIG", "SET", "tcp-keepalive", "0"));
        using var third = server.Connect();
        Assert.Equal(0, Read(Id(third)).On);
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'tcp-keepalive') - argument must be between 0 and 2147483647 inclusive\r\n",
            first.Call("CONFIG", "SET", "tcp-keepalive", "-1"));
    }

    [Fact]
    public void TimeoutClosesIdleClientsButNotSubscribersOrBlockedClients()
    {
        using var server = ListHashTcpServer.Start();
        using var admin = server.Connect();
        using var idle = server.Connect();
        using var subscriber = server.Connect();
        using var blocked = server.Connect();
        Assert.Equal("+PONG\r\n", idle.Call("PING"));
        Assert.Equal("*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n", subscriber.Call("SUBSCRIBE", "c"));
        Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "timeout", "1"));
        blocked.Send("BLPOP", "nothing", "3.5");
        // redis compares whole seconds: an idle client goes after 2-3 s; the blocked one is answered by its own timeout.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (server.Inspect(s => s.Clients.Count) > 3 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
            Assert.Equal("+PONG\r\n", admin.Call("PING")); // the admin stays busy
        }
        Assert.Equal(3, server.Inspect(s => s.Clients.Count));
        Assert.Throws<EndOfStreamException>(() => idle.Call("PING"));
        Assert.Equal(":1\r\n", admin.Call("PUBLISH", "c", "still here"));
        Assert.Equal("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$10\r\nstill here\r\n", subscriber.ReadReply());
        Assert.Equal("*-1\r\n", blocked.ReadReply()); // woken by its own timeout at 3.5 s, not closed while it waited
    }
}
