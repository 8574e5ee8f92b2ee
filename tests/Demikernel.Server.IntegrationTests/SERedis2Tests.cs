using StackExchange.Redis;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>StackExchange.Redis 2.x: RESP2 unless asked for RESP3.</summary>
public sealed class SERedis2Tests(ServerFixture server, ITestOutputHelper output) : StackExchangeRedisTests(server, output)
{
    protected override int ExpectedProtocol => 2;

    [Fact]
    public void LibraryIsVersion2() => Assert.Equal(2, typeof(ConnectionMultiplexer).Assembly.GetName().Version!.Major);

    [Fact]
    public void Resp3WhenAskedFor()
    {
        using var muxer = Connect(",protocol=resp3,allowAdmin=true");
        Assert.True(muxer.IsConnected);
        Assert.Equal(RedisProtocol.Resp3, ServerOf(muxer).Protocol);
        Assert.Contains(" resp=3", (string)muxer.GetDatabase().Execute("CLIENT", "INFO")!, StringComparison.Ordinal);
        var db = muxer.GetDatabase();
        string key = UniqueKey();
        Assert.True(db.StringSet(key, "v"));
        Assert.Equal("v", (string?)db.StringGet(key));
        Assert.True(db.StringGet(UniqueKey("missing")).IsNull);
        db.KeyDelete(key);
    }
}
