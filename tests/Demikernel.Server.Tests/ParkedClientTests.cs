namespace Demikernel.Server.Tests;

/// <summary>A client parked by a blocking command, over real TCP: it may leave, or keep sending.</summary>
public sealed class ParkedClientTests
{
    private static string BlockedClients(ListHashConnection admin)
    {
        string info = admin.Call("INFO", "clients");
        int at = info.IndexOf("blocked_clients:", StringComparison.Ordinal);
        return info[(at + "blocked_clients:".Length)..].Split('\r')[0];
    }

    [Fact]
    public void AClientThatLeavesWhileParkedIsForgotten()
    {
        using var server = ListHashTcpServer.Start();
        using var admin = server.Connect();
        var waiter = server.Connect();
        waiter.Send("BLPOP", "never", "0"); // forever
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal("1", BlockedClients(admin));
        waiter.Dispose(); // the client goes away without being served
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (BlockedClients(admin) != "0" && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal("0", BlockedClients(admin));
        Assert.Equal(":1\r\n", admin.Call("RPUSH", "never", "x")); // nobody takes it: the parked session is gone
        Assert.Equal(":1\r\n", admin.Call("LLEN", "never"));
    }

    [Fact]
    public void RequestsSentWhileParkedAreAnsweredAfterTheBlockedOne()
    {
        using var server = ListHashTcpServer.Start();
        using var waiter = server.Connect();
        using var pusher = server.Connect();
        waiter.Send("BLPOP", "q", "5");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        waiter.Send("PING");
        waiter.Send("ECHO", "after");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(100)); // still parked: the PING waits its turn
        Assert.Equal(":1\r\n", pusher.Call("LPUSH", "q", "job"));
        Assert.Equal("*2\r\n$1\r\nq\r\n$3\r\njob\r\n", waiter.ReadReply());
        Assert.Equal("+PONG\r\n", waiter.ReadReply());
        Assert.Equal("$5\r\nafter\r\n", waiter.ReadReply());
    }
}
