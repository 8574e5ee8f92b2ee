namespace Demikernel.Server.Tests;

/// <summary>BZPOPMIN/BZPOPMAX/BZMPOP parked over real TCP and served by another client's ZADD, or timing out.</summary>
public sealed class BlockingSortedSetTests
{
    [Fact]
    public void BlockedZPopMinIsServedByZAdd()
    {
        using var server = ListHashTcpServer.Start();
        using var waiter = server.Connect();
        using var writer = server.Connect();
        waiter.Send("BZPOPMIN", "board", "5");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(150)); // parked, no reply yet
        Assert.Equal(":2\r\n", writer.Call("ZADD", "board", "2", "b", "1", "a"));
        Assert.Equal("*3\r\n$5\r\nboard\r\n$1\r\na\r\n$1\r\n1\r\n", waiter.ReadReply());
        Assert.Equal("*2\r\n$1\r\nb\r\n$1\r\n2\r\n", writer.Call("ZRANGE", "board", "0", "-1", "WITHSCORES"));
    }

    [Fact]
    public void BlockedZPopMaxTimesOutWithANullArray()
    {
        using var server = ListHashTcpServer.Start();
        using var waiter = server.Connect();
        waiter.Send("BZPOPMAX", "nothing", "0.2");
        Assert.Equal("*-1\r\n", waiter.ReadReply());
        Assert.Equal("+PONG\r\n", waiter.Call("PING"));
    }

    [Fact]
    public void BzmpopWaitsOnSeveralKeysAndTakesTheOneThatFilled()
    {
        using var server = ListHashTcpServer.Start();
        using var waiter = server.Connect();
        using var writer = server.Connect();
        waiter.Send("BZMPOP", "5", "2", "z1", "z2", "MAX", "COUNT", "2");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(150));
        Assert.Equal(":3\r\n", writer.Call("ZADD", "z2", "1", "x", "2", "y", "3", "z"));
        Assert.Equal("*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nz\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n", waiter.ReadReply());
        Assert.Equal(":1\r\n", writer.Call("ZCARD", "z2"));
    }
}

public sealed class SortedSetScoreTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void NegativeZeroScoreIsStoredAsZero()
    {
        _h.Run("ZADD", "z", "-0", "a");
        Assert.Equal("$1\r\n0\r\n", _h.Run("ZSCORE", "z", "a"));
    }
}
