using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// StackExchange.Redis against the in-process server. Compiled twice: into Demikernel.Server.IntegrationTests with
/// StackExchange.Redis 2.x (RESP2 by default) and, linked, into Demikernel.Server.SERedis3.Tests with 3.x (HELLO 3 by
/// default). The derived class says which protocol the default connection must end up on.
/// </summary>
public abstract partial class StackExchangeRedisTests : ServerTestBase
{
    private readonly ITestOutputHelper _output;
    private readonly List<ConnectionMultiplexer> _muxers = [];
    private readonly ConcurrentQueue<string> _events = new();

    protected StackExchangeRedisTests(ServerFixture server, ITestOutputHelper output) : base(server) => _output = output;

    /// <summary>2 or 3: the protocol StackExchange.Redis negotiates with default options.</summary>
    protected abstract int ExpectedProtocol { get; }

    protected StringWriter Log { get; } = new();

    /// <summary>Default options apart from the endpoint, with the connect log captured.</summary>
    protected ConnectionMultiplexer Connect(string extra = "")
    {
        var log = TextWriter.Synchronized(Log);
        var muxer = ConnectionMultiplexer.Connect($"{Server.EndPoint}{extra}", log);
        muxer.ConnectionFailed += (_, e) => _events.Enqueue($"ConnectionFailed {e.ConnectionType} {e.FailureType}: {e.Exception?.Message}");
        muxer.ErrorMessage += (_, e) => _events.Enqueue($"ErrorMessage {e.EndPoint}: {e.Message}");
        muxer.InternalError += (_, e) => _events.Enqueue($"InternalError {e.Origin}: {e.Exception}");
        _muxers.Add(muxer);
        return muxer;
    }

    /// <summary>INFO, CONFIG, CLIENT and KEYS are admin commands to StackExchange.Redis: they need allowAdmin.</summary>
    protected ConnectionMultiplexer ConnectAdmin() => Connect(",allowAdmin=true");

    protected IServer ServerOf(ConnectionMultiplexer muxer) => muxer.GetServer(Server.Host, Server.Port);

    public override void Dispose()
    {
        foreach (var m in _muxers) m.Dispose();
        _output.WriteLine("--- multiplexer log ---");
        _output.WriteLine(Log.ToString());
        foreach (var e in _events) _output.WriteLine("event: " + e);
        base.Dispose();
    }

    // ------------------------------------------------------------------ connecting

    [Fact]
    public void ConnectsWithDefaultOptions()
    {
        using var muxer = Connect();
        Assert.True(muxer.IsConnected, Log.ToString());
        var server = ServerOf(muxer);
        Assert.True(server.IsConnected);
        Assert.Equal(ServerType.Standalone, server.ServerType);
        Assert.False(server.IsReplica);
        Assert.True(server.Version >= new Version(7, 0), $"version {server.Version}");
        Assert.Equal(ExpectedProtocol == 3 ? RedisProtocol.Resp3 : RedisProtocol.Resp2, server.Protocol);
    }

    [Fact]
    public void ConnectLogHasNoErrors()
    {
        using var muxer = Connect();
        Assert.True(muxer.IsConnected);
        muxer.GetDatabase().Ping();
        string log = Log.ToString();
        var bad = LogProblem().Matches(log).Select(m => LineOf(log, m.Index)).Distinct().ToArray();
        Assert.True(bad.Length == 0, "connect log has errors:\n" + string.Join('\n', bad) + "\n--- full log ---\n" + log);
        Assert.True(_events.IsEmpty, "multiplexer events:\n" + string.Join('\n', _events));
    }

    private static string LineOf(string text, int index)
    {
        int start = text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        int end = text.IndexOf('\n', index);
        return text[start..(end < 0 ? text.Length : end)].TrimEnd('\r');
    }

    [GeneratedRegex(@"(?i)\b(fatal|exception|unable|failed|failure|errors?|faulted|NOAUTH|WRONGPASS)\b|ERR |timeouts: [1-9]|\btimed? ?out\b")]
    private static partial Regex LogProblem();

    [Fact]
    public void ConnectionUsesExpectedProtocol()
    {
        using var admin = ConnectAdmin();
        var db = admin.GetDatabase();
        string info = (string)db.Execute("CLIENT", "INFO")!;
        Assert.Contains($" resp={ExpectedProtocol}", info, StringComparison.Ordinal);
        // The library's CLIENT SETINFO (7.2's) is refused as redis-server 7.0 refuses it, and the handshake goes on.
        Assert.DoesNotContain("lib-name=", info, StringComparison.Ordinal);
        var list = ServerOf(admin).ClientList();
        Assert.Contains(list, c => c.Id > 0 && c.Protocol == (ExpectedProtocol == 3 ? RedisProtocol.Resp3 : RedisProtocol.Resp2));
    }

    [Fact]
    public void AdminCommandsNeedAllowAdmin()
    {
        using var muxer = Connect();
        // A client-side rule, but proves the default options are in force.
        Assert.Throws<RedisCommandException>(() => ServerOf(muxer).Info());
    }

    // ------------------------------------------------------------------ strings and keys

    [Fact]
    public void StringSetGet()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey();
        Assert.True(db.StringSet(key, "hello"));
        Assert.Equal("hello", (string?)db.StringGet(key));
        Assert.True(db.StringGet(UniqueKey("missing")).IsNull);

        byte[] binary = [0, 1, 2, 13, 10, 255, 0x80, (byte)'$', (byte)'*'];
        Assert.True(db.StringSet(key, binary));
        Assert.Equal(binary, (byte[]?)db.StringGet(key));

        string unicode = "héllo wörld ✓ " + new string('x', 10_000);
        Assert.True(db.StringSet(key, unicode));
        Assert.Equal(unicode, (string?)db.StringGet(key));
        Assert.True(db.KeyDelete(key));
    }

    [Fact]
    public void StringIncrement()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey();
        Assert.Equal(1, db.StringIncrement(key));
        Assert.Equal(2, db.StringIncrement(key));
        Assert.Equal(12, db.StringIncrement(key, 10)); // INCRBY
        Assert.Equal(11, db.StringDecrement(key)); // DECR
        Assert.Equal("11", (string?)db.StringGet(key));
        db.StringSet(key, "abc");
        var e = Assert.Throws<RedisServerException>(() => db.StringIncrement(key));
        Assert.Equal("ERR value is not an integer or out of range", e.Message);
        db.KeyDelete(key);
    }

    [Fact]
    public void KeyDelete()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string a = UniqueKey("a"), b = UniqueKey("b"), c = UniqueKey("c");
        db.StringSet([new(a, "1"), new(b, "2"), new(c, "3")]);
        Assert.True(db.KeyDelete(a));
        Assert.False(db.KeyDelete(a));
        Assert.Equal(2, db.KeyDelete([b, c, UniqueKey("missing")]));
        Assert.True(db.StringGet(b).IsNull);
    }

    [Fact]
    public void KeyExists()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string a = UniqueKey("a"), b = UniqueKey("b");
        db.StringSet(a, "1");
        db.StringSet(b, "2");
        Assert.True(db.KeyExists(a));
        Assert.False(db.KeyExists(UniqueKey("missing")));
        Assert.Equal(2, db.KeyExists([a, b, UniqueKey("missing")]));
        db.KeyDelete([a, b]);
    }

    [Fact]
    public void KeyExpireAndTimeToLive()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey();
        db.StringSet(key, "v");
        Assert.Null(db.KeyTimeToLive(key)); // PTTL → -1
        Assert.Null(db.KeyTimeToLive(UniqueKey("missing"))); // PTTL → -2
        Assert.True(db.KeyExpire(key, TimeSpan.FromSeconds(100)));
        var ttl = db.KeyTimeToLive(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(98), TimeSpan.FromSeconds(100));
        Assert.False(db.KeyExpire(UniqueKey("missing"), TimeSpan.FromSeconds(100)));

        Assert.True(db.KeyExpire(key, TimeSpan.FromMilliseconds(300))); // PEXPIRE
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (db.KeyExists(key) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.False(db.KeyExists(key));
        Assert.True(db.StringGet(key).IsNull);

        Assert.True(db.StringSet(key, "v", TimeSpan.FromSeconds(50))); // SET EX/PX
        Assert.InRange(db.KeyTimeToLive(key)!.Value, TimeSpan.FromSeconds(48), TimeSpan.FromSeconds(50));
        Assert.True(db.KeyPersist(key));
        Assert.Null(db.KeyTimeToLive(key));
        db.KeyDelete(key);
    }

    [Fact]
    public void StringSetWhenNotExists()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey();
        Assert.True(db.StringSet(key, "first", when: When.NotExists));
        Assert.False(db.StringSet(key, "second", when: When.NotExists));
        Assert.Equal("first", (string?)db.StringGet(key));
        Assert.True(db.StringSet(key, "third", when: When.Exists));
        Assert.False(db.StringSet(UniqueKey("missing"), "x", when: When.Exists));
        Assert.Equal("third", (string?)db.StringGet(key));
        db.KeyDelete(key);
    }

    [Fact]
    public async Task BatchOf1000AsyncOps()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string prefix = UniqueKey("batch");
        var batch = db.CreateBatch();
        var sets = Enumerable.Range(0, 1000).Select(i => batch.StringSetAsync($"{prefix}:{i}", $"v{i}")).ToArray();
        batch.Execute();
        var all = Task.WhenAll(sets);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(20))));
        Assert.All(sets, t => Assert.True(t.Result));

        // 1000 pipelined async ops outside a batch: gets, increments, deletes.
        var gets = Enumerable.Range(0, 1000).Select(i => db.StringGetAsync($"{prefix}:{i}")).ToArray();
        var incrs = Enumerable.Range(0, 1000).Select(_ => db.StringIncrementAsync($"{prefix}:counter")).ToArray();
        await Task.WhenAll(Task.WhenAll(gets), Task.WhenAll(incrs)).WaitAsync(TimeSpan.FromSeconds(20));
        for (int i = 0; i < 1000; i++) Assert.Equal($"v{i}", (string?)gets[i].Result);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), incrs.Select(t => t.Result)); // in order
        var keys = Enumerable.Range(0, 1000).Select(i => (RedisKey)$"{prefix}:{i}").Append($"{prefix}:counter").ToArray();
        Assert.Equal(1001, await db.KeyDeleteAsync(keys).WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void MultipleKeysGetAndSet()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string a = UniqueKey("a"), b = UniqueKey("b");
        Assert.True(db.StringSet([new(a, "1"), new(b, "2")]));
        var values = db.StringGet([a, UniqueKey("missing"), b]);
        Assert.Equal("1", (string?)values[0]);
        Assert.True(values[1].IsNull);
        Assert.Equal("2", (string?)values[2]);
        db.KeyDelete([a, b]);
    }

    // ------------------------------------------------------------------ server

    [Fact]
    public void Info()
    {
        using var muxer = ConnectAdmin();
        string key = UniqueKey("info");
        muxer.GetDatabase().StringSet(key, "v"); // so that Keyspace has a line (an empty section has none)
        var groups = ServerOf(muxer).Info();
        muxer.GetDatabase().KeyDelete(key);
        var names = groups.Select(g => g.Key).ToArray();
        foreach (var section in new[] { "Server", "Clients", "Memory", "Stats", "Replication", "Keyspace" })
            Assert.Contains(section, names);
        var server = groups.Single(g => g.Key == "Server").ToDictionary(p => p.Key, p => p.Value);
        Assert.StartsWith("7.", server["redis_version"], StringComparison.Ordinal);
        Assert.Equal("standalone", server["redis_mode"]);
        var replication = groups.Single(g => g.Key == "Replication").ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("master", replication["role"]);
        Assert.Contains("redis_version:7", ServerOf(muxer).InfoRaw("server"), StringComparison.Ordinal);
    }

    [Fact]
    public void DatabaseSize()
    {
        using var muxer = Connect();
        const int dbIndex = 10;
        var server = ServerOf(muxer);
        var db = muxer.GetDatabase(dbIndex);
        long before = server.DatabaseSize(dbIndex);
        var keys = Enumerable.Range(0, 3).Select(_ => (RedisKey)UniqueKey("size")).ToArray();
        foreach (var k in keys) db.StringSet(k, "v");
        Assert.Equal(before + 3, server.DatabaseSize(dbIndex));
        Assert.Equal(3, db.KeyDelete(keys));
        Assert.Equal(before, server.DatabaseSize(dbIndex));
        Assert.False(muxer.GetDatabase(0).KeyExists(keys[0])); // databases are separate
    }

    [Fact]
    public void Ping()
    {
        using var muxer = Connect();
        var latency = muxer.GetDatabase().Ping();
        Assert.InRange(latency, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.InRange(ServerOf(muxer).Ping(), TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void ConfigGetMaxClients()
    {
        using var muxer = ConnectAdmin();
        var pair = Assert.Single(ServerOf(muxer).ConfigGet("maxclients"));
        Assert.Equal("maxclients", pair.Key);
        Assert.Equal("10000", pair.Value);
        var several = ServerOf(muxer).ConfigGet("max*").ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("0", several["maxmemory"]);
        Assert.Equal("10000", several["maxclients"]);
    }

    [Fact]
    public void ExecuteEcho()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        Assert.Equal("hello", (string?)db.Execute("ECHO", "hello"));
        Assert.Equal("PONG", (string?)db.Execute("PING"));
        var e = Assert.Throws<RedisServerException>(() => db.Execute("NOSUCHCMD", "x"));
        Assert.Equal("ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ", e.Message);
    }

    [Fact]
    public void ServerTime()
    {
        using var muxer = Connect();
        var time = ServerOf(muxer).Time();
        Assert.InRange(time, DateTime.UtcNow.AddSeconds(-10), DateTime.UtcNow.AddSeconds(10));
    }

    [Fact]
    public void ClientNameIsVisible()
    {
        using var muxer = Connect(",name=se-client-test,allowAdmin=true");
        var clients = ServerOf(muxer).ClientList();
        Assert.Contains(clients, c => c.Name == "se-client-test");
        Assert.All(clients.Where(c => c.Name == "se-client-test"), c => Assert.Equal(IPAddress.Loopback, ((IPEndPoint)c.Address!).Address));
    }

    // ------------------------------------------------------------------ pub/sub and transactions

    [Fact]
    public async Task PublishSubscribe()
    {
        using var muxer = Connect();
        var sub = muxer.GetSubscriber();
        string channel = UniqueKey("chan");
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var byPattern = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await sub.SubscribeAsync(RedisChannel.Literal(channel), (_, m) => received.TrySetResult(m!));
        await sub.SubscribeAsync(RedisChannel.Pattern(channel[..^4] + "*"), (c, m) => byPattern.TrySetResult($"{c}={m}"));
        long receivers = await muxer.GetDatabase().PublishAsync(RedisChannel.Literal(channel), "hello");
        Assert.Equal(2, receivers);
        Assert.Equal("hello", await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal($"{channel}=hello", await byPattern.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await sub.UnsubscribeAllAsync();
        Assert.Equal(0, await muxer.GetDatabase().PublishAsync(RedisChannel.Literal(channel), "nobody"));
    }

    [Fact]
    public async Task TransactionWithCondition()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey(), other = UniqueKey();
        db.StringSet(key, "1");

        var tx = db.CreateTransaction();
        tx.AddCondition(Condition.StringEqual(key, "1")); // WATCH + GET, then MULTI/EXEC
        var incr = tx.StringIncrementAsync(key);
        var set = tx.StringSetAsync(other, "x");
        Assert.True(await tx.ExecuteAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, await incr);
        Assert.True(await set);

        var failing = db.CreateTransaction();
        failing.AddCondition(Condition.StringEqual(key, "1")); // it is 2 now
        _ = failing.StringSetAsync(other, "y");
        Assert.False(await failing.ExecuteAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("x", (string?)db.StringGet(other));
        db.KeyDelete([key, other]);
    }

    [Fact]
    public void ReconnectsAfterClientKill()
    {
        using var muxer = Connect(",allowAdmin=true,name=se-kill-test");
        var db = muxer.GetDatabase();
        string key = UniqueKey();
        db.StringSet(key, "v");
        var server = ServerOf(muxer);
        long id = (long)db.Execute("CLIENT", "ID");
        Assert.Equal(1, server.ClientKill(id, null, null, skipMe: false));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        RedisValue got = RedisValue.Null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                got = db.StringGet(key);
                if (got.HasValue) break;
            }
            catch (RedisConnectionException)
            {
            }
            Thread.Sleep(100);
        }
        Assert.Equal("v", (string?)got);
        db.KeyDelete(key);
        _events.Clear(); // the kill is expected to raise ConnectionFailed
    }
}
