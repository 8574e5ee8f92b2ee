using System.Globalization;
using System.Text;

namespace Demikernel.Server.IntegrationTests;

/// <summary>Exact bytes over a plain TCP connection: malformed RESP, inline commands, pipelining, fragmentation.</summary>
public sealed class RawProtocolTests(ServerFixture server) : ServerTestBase(server)
{
    // ------------------------------------------------------------------ protocol errors: exact reply, then close

    [Theory]
    [InlineData("*abc\r\n", "-ERR Protocol error: invalid multibulk length")]
    [InlineData("*3000000000\r\n", "-ERR Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'")]
    [InlineData("*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length")] // 512 MB + 1
    [InlineData("*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("SET k \"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request")]
    public void MalformedRequestGetsProtocolErrorAndClose(string request, string expected)
    {
        using var c = new RawConnection(Server);
        c.Send(request);
        Assert.Equal(expected, c.ReadLine());
        Assert.True(c.WaitForClose(), $"connection stayed open after '{expected}'");
    }

    [Fact]
    public void ValidRequestsBeforeAProtocolErrorAreAnswered()
    {
        using var c = new RawConnection(Server);
        c.Send("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*x\r\n*1\r\n$4\r\nPING\r\n");
        Assert.Equal("+PONG", c.ReadLine());
        Assert.Equal("+PONG", c.ReadLine());
        Assert.Equal("-ERR Protocol error: invalid multibulk length", c.ReadLine());
        Assert.True(c.WaitForClose());
    }

    [Fact]
    public void TooBigInlineRequest()
    {
        // redis-server: more than 64 KB without a newline in an inline request (PROTO_INLINE_MAX_SIZE).
        using var c = new RawConnection(Server);
        c.Send(new string('a', 70 * 1024));
        Assert.Equal("-ERR Protocol error: too big inline request", c.ReadLine());
        Assert.True(c.WaitForClose());
    }

    // ------------------------------------------------------------------ inline commands

    [Fact]
    public void InlinePing()
    {
        using var c = new RawConnection(Server);
        c.Send("PING\r\n");
        Assert.Equal("+PONG", c.ReadLine());
        c.Send("ping\n"); // a bare LF ends an inline command too
        Assert.Equal("+PONG", c.ReadLine());
        c.Send("\r\n"); // an empty line is ignored
        c.Send("PING hello\r\n");
        Assert.Equal(new Reply('$', "hello"), c.ReadReply());
        Assert.False(c.WaitForClose(TimeSpan.FromMilliseconds(200)), "the server closed an idle healthy connection");
    }

    [Fact]
    public void InlineWithQuotes()
    {
        using var c = new RawConnection(Server);
        string key = UniqueKey();
        c.Send($"SET {key} \"hello world\\n\"\r\nGET {key}\r\n");
        Assert.Equal(new Reply('+', "OK"), c.ReadReply());
        Assert.Equal(new Reply('$', "hello world\n"), c.ReadReply());
        c.Send($"SET {key} 'single quoted'\r\nGET {key}\r\nDEL {key}\r\n");
        Assert.Equal(new Reply('+', "OK"), c.ReadReply());
        Assert.Equal(new Reply('$', "single quoted"), c.ReadReply());
        Assert.Equal(':', c.ReadReply().Type);
    }

    // ------------------------------------------------------------------ exact error replies

    [Fact]
    public void UnknownCommandExactText()
    {
        using var c = new RawConnection(Server);
        c.SendCommand("FOO", "bar", "baz");
        Assert.Equal("-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' ", c.ReadLine());
        c.SendCommand("foo");
        Assert.Equal("-ERR unknown command 'foo', with args beginning with: ", c.ReadLine());
        Assert.Equal(new Reply('+', "PONG"), c.Command("PING")); // not fatal
    }

    [Fact]
    public void WrongArityExactText()
    {
        using var c = new RawConnection(Server);
        c.SendCommand("GET");
        Assert.Equal("-ERR wrong number of arguments for 'get' command", c.ReadLine());
        c.SendCommand("get", "a", "b");
        Assert.Equal("-ERR wrong number of arguments for 'get' command", c.ReadLine());
        Assert.Equal(new Reply('+', "PONG"), c.Command("PING"));
    }

    [Fact]
    public void ClusterAndSentinel()
    {
        using var c = new RawConnection(Server);
        c.SendCommand("CLUSTER", "INFO");
        Assert.Equal("-ERR This instance has cluster support disabled", c.ReadLine());
        c.SendCommand("CLUSTER", "NODES");
        Assert.Equal("-ERR This instance has cluster support disabled", c.ReadLine());
        c.SendCommand("SENTINEL", "get-master-addr-by-name", "mymaster");
        Assert.Equal("-ERR unknown command 'SENTINEL', with args beginning with: 'get-master-addr-by-name' 'mymaster' ", c.ReadLine());
    }

    // ------------------------------------------------------------------ pipelining and fragmentation

    [Fact]
    public void PipelineOf100SetGetInOneWrite()
    {
        using var c = new RawConnection(Server);
        string prefix = UniqueKey("pipe");
        var sb = new StringBuilder();
        for (int i = 0; i < 100; i++)
        {
            sb.Append(RawConnection.Encode("SET", $"{prefix}:{i}", $"value-{i}"));
            sb.Append(RawConnection.Encode("GET", $"{prefix}:{i}"));
        }
        c.Send(sb.ToString());
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(new Reply('+', "OK"), c.ReadReply());
            Assert.Equal(new Reply('$', $"value-{i}"), c.ReadReply());
        }
        Assert.False(c.WaitForClose(TimeSpan.FromMilliseconds(200)), "extra replies or a close after the pipeline");
    }

    [Fact]
    public void PipelineOf10000InlinePings()
    {
        using var c = new RawConnection(Server);
        var all = string.Concat(Enumerable.Repeat("PING\r\n", 10_000));
        var sender = Task.Run(() => c.Send(all)); // write while reading: the replies may fill the socket buffers
        for (int i = 0; i < 10_000; i++) Assert.Equal("+PONG", c.ReadLine());
        Assert.True(sender.Wait(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void RequestSplitAcrossWrites()
    {
        using var c = new RawConnection(Server);
        string key = UniqueKey();
        byte[] request = Encoding.UTF8.GetBytes(RawConnection.Encode("SET", key, "fragmented") + RawConnection.Encode("GET", key));
        foreach (byte b in request)
        {
            c.Send([b]);
            Thread.Sleep(1);
        }
        Assert.Equal(new Reply('+', "OK"), c.ReadReply());
        Assert.Equal(new Reply('$', "fragmented"), c.ReadReply());
    }

    [Fact]
    public void LargeValueRoundTrip()
    {
        using var c = new RawConnection(Server);
        string key = UniqueKey();
        var value = string.Create(3 * 1024 * 1024 + 17, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++) span[i] = (char)('a' + i % 26);
        });
        var sender = Task.Run(() => c.SendCommand("SET", key, value));
        Assert.Equal(new Reply('+', "OK"), c.ReadReply());
        Assert.True(sender.Wait(TimeSpan.FromSeconds(10)));
        var got = c.Command("GET", key);
        Assert.Equal('$', got.Type);
        Assert.Equal(value.Length, got.Text!.Length);
        Assert.True(value == got.Text, "GET returned different bytes than SET stored");
        Assert.Equal(new Reply(':', "1", 1), c.Command("DEL", key));
    }

    [Fact]
    public void QuitRepliesOkThenCloses()
    {
        using var c = new RawConnection(Server);
        c.Send("*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
        Assert.Equal("+OK", c.ReadLine());
        Assert.True(c.WaitForClose(), "QUIT did not close the connection (or PING after it was answered)");
    }

    // ------------------------------------------------------------------ RESP3 and COMMAND shapes

    [Fact]
    public void Hello3SwitchesRepliesToResp3()
    {
        using var c = new RawConnection(Server);
        var hello = c.Command("HELLO", "3");
        Assert.Equal('%', hello.Type);
        var map = hello.Items!;
        var keys = Enumerable.Range(0, map.Count / 2).Select(i => map[2 * i].Text!).ToArray();
        Assert.Equal(["server", "version", "proto", "id", "mode", "role", "modules"], keys);
        Assert.Equal(new Reply(':', "3", 3), map[5]);
        Assert.Equal('_', c.Command("GET", UniqueKey("missing")).Type); // RESP3 null
        var config = c.Command("CONFIG", "GET", "maxclients");
        Assert.Equal('%', config.Type);
        Assert.Equal("10000", config.Items![1].Text);
        var info = c.Command("CLIENT", "INFO");
        Assert.Equal('=', info.Type); // verbatim string
        Assert.StartsWith("txt:", info.Text, StringComparison.Ordinal);
        Assert.Contains(" resp=3", info.Text, StringComparison.Ordinal);

        var back = c.Command("HELLO", "2");
        Assert.Equal('*', back.Type);
        Assert.Equal(14, back.Items!.Count);
        Assert.Equal('$', c.Command("GET", UniqueKey("missing")).Type);
    }

    [Fact]
    public void CommandCountMatchesCommandTable()
    {
        using var c = new RawConnection(Server);
        var count = c.Command("COMMAND", "COUNT");
        var all = c.Command("COMMAND");
        Assert.Equal('*', all.Type);
        Assert.Equal(count.Integer, all.Items!.Count);
        var names = all.Items.Select(e => e.Items![0].Text).ToHashSet(StringComparer.Ordinal);
        foreach (var name in new[] { "get", "set", "incr", "mset", "mget", "del", "exists", "expire", "ttl", "keys", "scan", "dbsize", "flushdb", "select", "info", "config", "client", "hello", "command", "time", "ping", "echo", "auth" })
            Assert.Contains(name, names);
    }

    [Fact]
    public void CommandInfoGetShape()
    {
        using var c = new RawConnection(Server);
        var reply = c.Command("COMMAND", "INFO", "get");
        var get = Assert.Single(reply.Items!);
        Assert.Equal(10, get.Items!.Count);
        Assert.Equal("get", get.Items[0].Text);
        Assert.Equal(2, get.Items[1].Integer);
        Assert.Equal(1, get.Items[3].Integer); // first key
        Assert.Equal(1, get.Items[4].Integer); // last key
        Assert.Equal(1, get.Items[5].Integer); // step
    }

    [Fact]
    public void TimeIsTwoBulkStrings()
    {
        using var c = new RawConnection(Server);
        var time = c.Command("TIME");
        Assert.Equal(2, time.Items!.Count);
        Assert.All(time.Items, i => Assert.Equal('$', i.Type));
        Assert.True(long.Parse(time.Items[0].Text!, CultureInfo.InvariantCulture) > 1_700_000_000);
    }
}
