using Medallion.Threading.Redis;
using StackExchange.Redis;
using Demikernel.Server.IntegrationTests;

namespace Demikernel.Server.ClientLibraryTests;

/// <summary>
/// DistributedLock.Redis (locks, semaphores and reader-writer locks in Lua over strings, sets and sorted sets) and the
/// FreeRedis client (pooled connections, pipelines, transactions, scripts, pub/sub), unmodified, against our server.
/// </summary>
public sealed class LockAndClientTests(ServerFixture server) : ServerTestBase(server)
{
    [Fact]
    public async Task DistributedLockExcludesAndHandsOver()
    {
        using var redis = ConnectionMultiplexer.Connect(Server.EndPoint);
        var db = redis.GetDatabase();
        string name = UniqueKey("lock");
        var first = new RedisDistributedLock(name, db);
        var second = new RedisDistributedLock(name, db);

        await using (var held = await first.TryAcquireAsync())
        {
            Assert.NotNull(held);
            Assert.True(await db.KeyExistsAsync(name));
            Assert.Null(await second.TryAcquireAsync());
            // a waiter gets it as soon as the holder lets go
            var waiting = second.AcquireAsync(TimeSpan.FromSeconds(10)).AsTask();
            Assert.False(waiting.IsCompleted);
            await held!.DisposeAsync();
            await using var handed = await waiting;
        }
        Assert.False(await db.KeyExistsAsync(name));
    }

    [Fact]
    public async Task HeldLockIsExtendedPastItsExpiry()
    {
        using var redis = ConnectionMultiplexer.Connect(Server.EndPoint);
        var db = redis.GetDatabase();
        string name = UniqueKey("lock");
        var shortLived = new RedisDistributedLock(name, db, o => o.Expiry(TimeSpan.FromSeconds(1)).ExtensionCadence(TimeSpan.FromMilliseconds(200)));
        await using var held = await shortLived.AcquireAsync();
        await Task.Delay(1500);
        // the library's Lua extension kept it alive: still held, still exclusive
        Assert.True(await db.KeyExistsAsync(name));
        Assert.Null(await new RedisDistributedLock(name, db).TryAcquireAsync());
        Assert.False(held.HandleLostToken.IsCancellationRequested);
    }

    [Fact]
    public async Task SemaphoreAndReaderWriterLockCountHolders()
    {
        using var redis = ConnectionMultiplexer.Connect(Server.EndPoint);
        var db = redis.GetDatabase();
        string name = UniqueKey("sem");
        var semaphore = new RedisDistributedSemaphore(name, 2, db);
        await using var one = await semaphore.AcquireAsync();
        await using var two = await semaphore.AcquireAsync();
        Assert.Null(await semaphore.TryAcquireAsync());
        Assert.Equal(RedisType.SortedSet, await db.KeyTypeAsync(name));
        await one.DisposeAsync();
        await using var three = await semaphore.TryAcquireAsync();
        Assert.NotNull(three);

        var rw = new RedisDistributedReaderWriterLock(UniqueKey("rw"), db);
        await using var reader1 = await rw.AcquireReadLockAsync();
        await using var reader2 = await rw.AcquireReadLockAsync();
        Assert.Null(await rw.TryAcquireWriteLockAsync());
        await reader1.DisposeAsync();
        await reader2.DisposeAsync();
        await using var writer = await rw.TryAcquireWriteLockAsync();
        Assert.NotNull(writer);
        Assert.Null(await rw.TryAcquireReadLockAsync());
    }

    [Theory]
    [InlineData("RESP2")]
    [InlineData("RESP3")]
    public void FreeRedisCoversTheDataTypesPipelinesTransactionsScriptsAndPubSub(string protocol)
    {
        using var cli = new FreeRedis.RedisClient($"{Server.EndPoint},protocol={protocol}");
        string k = UniqueKey("fr");
        cli.Set(k + ":s", "v", 100);
        Assert.Equal("v", cli.Get(k + ":s"));
        Assert.InRange(cli.Ttl(k + ":s"), 90, 100);
        Assert.Equal(3, cli.IncrBy(k + ":n", 3));
        cli.HSet(k + ":h", "f1", "a", "f2", "b");
        Assert.Equal(new Dictionary<string, string> { ["f1"] = "a", ["f2"] = "b" }, cli.HGetAll(k + ":h"));
        cli.RPush(k + ":l", "x", "y", "z");
        Assert.Equal(["x", "y", "z"], cli.LRange(k + ":l", 0, -1));
        cli.ZAdd(k + ":z", 2, "two", 1, "one");
        Assert.Equal(["one", "two"], cli.ZRange(k + ":z", 0, -1));
        Assert.Equal(2m, cli.ZScore(k + ":z", "two"));
        cli.SAdd(k + ":set", "m1", "m2");
        Assert.True(cli.SIsMember(k + ":set", "m2"));

        using (var pipe = cli.StartPipe())
        {
            pipe.Set(k + ":p1", "1");
            pipe.Incr(k + ":p1");
            pipe.Get(k + ":p1");
            object[] replies = pipe.EndPipe();
            Assert.Equal("2", replies[2]?.ToString());
        }
        using (var tran = cli.Multi())
        {
            tran.Set(k + ":t", "a");
            tran.Append(k + ":t", "b");
            object[] replies = tran.Exec();
            Assert.Equal(2L, Convert.ToInt64(replies[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal("ab", cli.Get(k + ":t"));

        Assert.Equal("ab!", cli.Eval("return redis.call('get', KEYS[1]) .. ARGV[1]", [k + ":t"], "!")?.ToString());

        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cli.Subscribe(k + ":ch", (channel, message) => received.TrySetResult(message?.ToString() ?? "")))
        {
            // the subscription is live once PUBSUB NUMSUB counts it
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (cli.PubSubNumSub(k + ":ch") == 0 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Assert.Equal(1, cli.Publish(k + ":ch", "hello"));
            Assert.Equal("hello", received.Task.Wait(TimeSpan.FromSeconds(10)) ? received.Task.Result : "(nothing)");
        }
    }
}
