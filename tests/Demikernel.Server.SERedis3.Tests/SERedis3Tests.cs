using StackExchange.Redis;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>StackExchange.Redis 3.x: opens every connection with HELLO 3, so the default connection is RESP3.</summary>
public sealed class SERedis3Tests(ServerFixture server, ITestOutputHelper output) : StackExchangeRedisTests(server, output)
{
    protected override int ExpectedProtocol => 3;

    [Fact]
    public void LibraryIsVersion3() => Assert.Equal(3, typeof(ConnectionMultiplexer).Assembly.GetName().Version!.Major);

    [Fact]
    public void Resp2WhenAskedFor()
    {
        using var muxer = Connect(",protocol=resp2,allowAdmin=true");
        Assert.True(muxer.IsConnected);
        Assert.Equal(RedisProtocol.Resp2, ServerOf(muxer).Protocol);
        Assert.Contains(" resp=2", (string)muxer.GetDatabase().Execute("CLIENT", "INFO")!, StringComparison.Ordinal);
    }

    /// <summary>Sharded pub/sub through the 3.x subscriber (SSUBSCRIBE, SPUBLISH, smessage pushes).</summary>
    [Fact]
    public async Task ShardedPublishReachesAShardSubscriber()
    {
        var muxer = Connect();
        var got = new System.Collections.Concurrent.BlockingCollection<string>();
        var channel = RedisChannel.Sharded(UniqueKey("shard"));
        var sub = muxer.GetSubscriber();
        await sub.SubscribeAsync(channel, (_, msg) => got.Add((string)msg!));
        Assert.Equal(1, await sub.PublishAsync(channel, "hello"));
        Assert.True(got.TryTake(out var item, TimeSpan.FromSeconds(10)), "no message in 10 s");
        Assert.Equal("hello", item);
        await sub.UnsubscribeAsync(channel);
    }
}
