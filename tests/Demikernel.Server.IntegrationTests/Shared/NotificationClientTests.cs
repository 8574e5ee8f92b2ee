using StackExchange.Redis;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// Keyspace notifications through StackExchange.Redis's subscriber (2.x over RESP2 with its own
/// subscription connection, 3.x over RESP3 pushes on one connection).
/// </summary>
public abstract partial class StackExchangeRedisTests
{
    // The handler form of Subscribe runs handlers concurrently, with no order between messages (StackExchange.Redis's
    // "Pub/Sub Message Order"); a ChannelMessageQueue hands them over in the order the server sent them.
    private static async Task<string> Next(ChannelMessageQueue queue)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var message = await queue.ReadAsync(timeout.Token);
        return $"{message.Channel} {message.Message}";
    }

    [Fact]
    public async Task KeyspaceNotificationsReachAPatternSubscriber()
    {
        var muxer = ConnectAdmin();
        var db = muxer.GetDatabase();
        string key = UniqueKey("notify");
        db.Execute("CONFIG", "SET", "notify-keyspace-events", "KEA");
        try
        {
            var sub = muxer.GetSubscriber();
            var keyspace = await sub.SubscribeAsync(RedisChannel.Pattern("__keyspace@0__:" + key));
            var keyevent = await sub.SubscribeAsync(RedisChannel.Literal("__keyevent@0__:rpush"));
            db.StringSet(key, "v");
            db.KeyExpire(key, TimeSpan.FromSeconds(100));
            db.KeyDelete(key);
            db.ListRightPush(key, "a");
            Assert.Equal($"__keyspace@0__:{key} set", await Next(keyspace));
            Assert.Equal($"__keyspace@0__:{key} expire", await Next(keyspace));
            Assert.Equal($"__keyspace@0__:{key} del", await Next(keyspace));
            Assert.Equal($"__keyspace@0__:{key} rpush", await Next(keyspace));
            // Tests running beside this one may push to lists of their own while notifications are on.
            string pushed;
            do pushed = await Next(keyevent);
            while (pushed != $"__keyevent@0__:rpush {key}" && pushed.StartsWith("__keyevent@0__:rpush ", StringComparison.Ordinal));
            Assert.Equal($"__keyevent@0__:rpush {key}", pushed);
            await keyspace.UnsubscribeAsync();
            await keyevent.UnsubscribeAsync();
            db.KeyDelete(key);
        }
        finally
        {
            db.Execute("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }
}
