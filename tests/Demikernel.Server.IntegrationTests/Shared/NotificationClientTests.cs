using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// Keyspace notifications through StackExchange.Redis's subscriber (2.x over RESP2 with its own
/// subscription connection, 3.x over RESP3 pushes on one connection).
/// </summary>
public abstract partial class StackExchangeRedisTests
{
    private static string Take(BlockingCollection<string> got)
    {
        Assert.True(got.TryTake(out var item, TimeSpan.FromSeconds(10)), "no message in 10 s");
        return item!;
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
            var got = new BlockingCollection<string>();
            var sub = muxer.GetSubscriber();
            var channel = RedisChannel.Pattern("__keyspace@0__:" + key);
            await sub.SubscribeAsync(channel, (ch, msg) => got.Add($"{ch} {msg}"));
            var events = new BlockingCollection<string>();
            var eventChannel = RedisChannel.Literal("__keyevent@0__:rpush");
            await sub.SubscribeAsync(eventChannel, (_, msg) => events.Add((string)msg!));
            db.StringSet(key, "v");
            db.KeyExpire(key, TimeSpan.FromSeconds(100));
            db.KeyDelete(key);
            db.ListRightPush(key, "a");
            Assert.Equal($"__keyspace@0__:{key} set", Take(got));
            Assert.Equal($"__keyspace@0__:{key} expire", Take(got));
            Assert.Equal($"__keyspace@0__:{key} del", Take(got));
            Assert.Equal($"__keyspace@0__:{key} rpush", Take(got));
            Assert.Equal(key, Take(events));
            await sub.UnsubscribeAsync(channel);
            await sub.UnsubscribeAsync(eventChannel);
            db.KeyDelete(key);
        }
        finally
        {
            db.Execute("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }
}
