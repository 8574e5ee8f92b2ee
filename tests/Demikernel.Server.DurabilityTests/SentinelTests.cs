using System.Globalization;
using StackExchange.Redis;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// Debian's redis-sentinel 7.0 monitoring our server as a master, with replicas of ours and of redis-server: what
/// Sentinel learns from INFO (replicas, run ids, priorities, announced or not), a failover after the master is
/// killed (SLAVEOF NO ONE, then MULTI / SLAVEOF / CONFIG REWRITE / CLIENT KILL TYPE normal|pubsub / EXEC to every
/// node), the old master converted into a replica when it comes back, SCRIPT KILL sent to a master stuck in a script,
/// and StackExchange.Redis configured with the Sentinel following the failover. Every wait is bounded.
/// </summary>
public sealed class SentinelTests(ITestOutputHelper output)
{
    private const string Service = "mymaster";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static void WaitFor(Func<bool> condition, string what, Func<string>? state = null)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out after {Deadline.TotalSeconds:F0} s waiting for {what}{(state is null ? "" : ": " + state())}");
            Thread.Sleep(50);
        }
    }

    /// <summary>A flat [name, value, name, value, ...] reply as a dictionary (SENTINEL MASTER, one of SENTINEL REPLICAS).</summary>
    private static Dictionary<string, string> Fields(RespValue flat)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < flat.Items!.Length; i += 2) d[flat.Items[i].Text!] = flat.Items[i + 1].Text!;
        return d;
    }

    /// <summary>redis-sentinel on a free port monitoring <see cref="Service"/> at <paramref name="masterPort"/> with
    /// quorum 1, down-after-milliseconds 2000 and failover-timeout 3000, so a failover takes seconds. TILT (entered
    /// when Sentinel's timer runs more than 2 s late, which a loaded test machine can cause) is made unlikely with
    /// SENTINEL DEBUG tilt-trigger; publish-period 500 ms and info-period 1 s make the old master's conversion to a
    /// replica come about 2 s after it reports itself as a master instead of 10 to 20 s.
    /// The ping period stays Sentinel's 1 s, below down-after, as in any real deployment. Sentinel reconnects a closed
    /// link at most once per ping period, and a failover's +switch-master closes the links to the promoted replica and
    /// starts the down-after clock at once: with down-after equal to the ping period (1000, as before) the first PONG
    /// could come just after that clock ran out, and Sentinel failed the new master over again. A shorter ping period
    /// does not help: during a failover a replica qualifies only if its last INFO (sent every second) is younger than
    /// 5 ping periods, so at 100 ms Sentinel skipped replicas at random and could promote redis-server instead of ours
    /// (each seen in one CI run).</summary>
    private static ServerProcess StartSentinel(TempDir dir, int masterPort, string? authPass = null)
    {
        int port = ServerProcess.FreePort();
        string conf = dir["sentinel.conf"];
        File.WriteAllText(conf, $"""
            port {port}
            bind 127.0.0.1
            dir {dir.Path}
            sentinel monitor {Service} 127.0.0.1 {masterPort} 1
            sentinel down-after-milliseconds {Service} 2000
            sentinel failover-timeout {Service} 3000
            sentinel parallel-syncs {Service} 1
            {(authPass is null ? "" : $"sentinel auth-pass {Service} {authPass}")}

            """);
        var sentinel = ServerProcess.StartSentinel(conf, port);
        using var c = sentinel.Connect();
        c.Ok("SENTINEL", "DEBUG", "tilt-trigger", "30000", "publish-period", "500", "info-period", "1000");
        return sentinel;
    }

    private static List<Dictionary<string, string>> Replicas(RespClient sentinel) =>
        sentinel.Ok("SENTINEL", "REPLICAS", Service).Items!.Select(Fields).ToList();

    /// <summary>Our server started from a redis.conf in its directory (so Sentinel's CONFIG REWRITE has a file).</summary>
    private static ServerProcess StartOursWithConf(TempDir dir, int port, params string[] lines)
    {
        string conf = dir["redis.conf"];
        if (!File.Exists(conf)) File.WriteAllLines(conf, ["save \"\"", .. lines]);
        return ServerProcess.StartOursOnPort(port, dir.Path, conf);
    }

    private static ServerProcess StartOursWithConf(TempDir dir, params string[] lines) => StartOursWithConf(dir, ServerProcess.FreePort(), lines);

    /// <summary>Waits for a line in a process's output (read in the background, so it may lag what the process did).</summary>
    private static void WaitForOutput(ServerProcess process, string text) =>
        WaitFor(() => process.Output.Contains(text, StringComparison.Ordinal), $"'{text}' in the output of {process.Name}", () => process.Output);

    /// <summary>One INFO field over a fresh connection (null when the connection is refused or closed under us).</summary>
    private static string? InfoOf(ServerProcess process, string field)
    {
        try
        {
            using var c = process.Connect(TimeSpan.FromSeconds(5));
            return c.Info(field);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    /// <summary>Waits until a key written on the master exists on a replica (fresh connections).</summary>
    private static void WaitForKey(ServerProcess replica, string key, ServerProcess? master = null) =>
        WaitFor(() =>
        {
            try
            {
                using var c = replica.Connect(TimeSpan.FromSeconds(5));
                return c.Call("EXISTS", key).Integer == 1;
            }
            catch (Exception e) when (e is IOException or EndOfStreamException or System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, $"{key} to reach {replica.Name} on port {replica.Port}", () => $"its output:\n{replica.Output}\nits master's:\n{master?.Output}");

    /// <summary>The server closed this connection.</summary>
    private static void AssertClosed(Action read)
    {
        var e = Record.Exception(read);
        Assert.True(e is EndOfStreamException or IOException, $"expected the connection to be closed, got {e?.GetType().Name ?? "a reply"}");
    }

    [Fact]
    public void SentinelSeesOurMasterAndItsReplicas()
    {
        // Every node has a password: Sentinel sends AUTH (sentinel auth-pass) on both its connections, replicas
        // authenticate to the master with masterauth.
        const string Pw = "s3cret";
        using var dm = new TempDir("sen-m");
        using var d1 = new TempDir("sen-r1");
        using var d2 = new TempDir("sen-r2");
        using var d3 = new TempDir("sen-r3");
        using var ds = new TempDir("sen-s");
        using var master = StartOursWithConf(dm, $"requirepass {Pw}");
        using var ours = StartOursWithConf(d1, $"replicaof 127.0.0.1 {master.Port}", "replica-priority 10", $"requirepass {Pw}", $"masterauth {Pw}");
        using var redis = ServerProcess.StartRedis(d2.Path, "--replicaof", "127.0.0.1", S(master.Port), "--replica-priority", "20",
            "--requirepass", Pw, "--masterauth", Pw);
        // a replica that asks not to be announced: the master lists it, Sentinel knows it but leaves it out of REPLICAS
        using var hidden = StartOursWithConf(d3, $"replicaof 127.0.0.1 {master.Port}", "replica-announced no", $"requirepass {Pw}", $"masterauth {Pw}");
        using var m = master.Connect();
        m.Ok("AUTH", Pw);
        WaitFor(() => m.Info("connected_slaves") == "3", "three replicas on our master");
        using var sentinel = StartSentinel(ds, master.Port, Pw);
        using var s = sentinel.Connect();

        WaitFor(() => Fields(s.Ok("SENTINEL", "MASTER", Service))["num-slaves"] == "3"
                      && Replicas(s) is { Count: 2 } r && r.All(x => x["master-link-status"] == "ok" && x["role-reported"] == "slave"),
            "Sentinel to learn the replicas from our master's INFO", () => s.Ok("SENTINEL", "REPLICAS", Service).ToString());
        var mi = Fields(s.Ok("SENTINEL", "MASTER", Service));
        Assert.Equal("master", mi["flags"]);
        Assert.Equal("master", mi["role-reported"]);
        Assert.Equal(m.Info("run_id"), mi["runid"]);
        Assert.Equal(S(master.Port), mi["port"]);

        var replicas = Replicas(s).ToDictionary(r => int.Parse(r["port"], CultureInfo.InvariantCulture));
        Assert.Equal(new[] { ours.Port, redis.Port }.Order(), replicas.Keys.Order());
        using var o = ours.Connect();
        using var r2 = redis.Connect();
        o.Ok("AUTH", Pw);
        r2.Ok("AUTH", Pw);
        foreach (var (port, client, priority) in new[] { (ours.Port, o, "10"), (redis.Port, r2, "20") })
        {
            var r = replicas[port];
            Assert.Equal("slave", r["flags"]);
            Assert.Equal("127.0.0.1", r["ip"]);
            Assert.Equal(client.Info("run_id"), r["runid"]);
            Assert.Equal(priority, r["slave-priority"]);
            Assert.Equal("1", r["replica-announced"]);
            Assert.Equal(S(master.Port), r["master-port"]);
        }
        using var h = hidden.Connect();
        h.Ok("AUTH", Pw);
        Assert.Equal("0", h.Info("replica_announced"));

        // Sentinel's two connections to our master: named by CLIENT SETNAME, one subscribed to the hello channel,
        // where Sentinel's own hello (ip,port,runid,epoch,master name,ip,port,config epoch) comes back to it.
        var names = (m.Ok("CLIENT", "LIST").Text ?? "").Split('\n').Select(l => l.Split(' ').FirstOrDefault(f => f.StartsWith("name=", StringComparison.Ordinal)))
            .Where(n => n is not null && n.StartsWith("name=sentinel-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, names.Length);
        Assert.EndsWith("-cmd", names[0], StringComparison.Ordinal);
        Assert.EndsWith("-pubsub", names[1], StringComparison.Ordinal);
        Assert.Equal(1, m.Ok("PUBSUB", "NUMSUB", "__sentinel__:hello").Items![1].Integer);
        using var hello = master.Connect(TimeSpan.FromSeconds(10));
        hello.Ok("AUTH", Pw);
        hello.Ok("SUBSCRIBE", "__sentinel__:hello");
        var message = hello.Read();
        Assert.Equal("message", message.Items![0].Text);
        var words = message.Items[2].Text!.Split(',');
        Assert.Equal(8, words.Length);
        Assert.Equal([S(sentinel.Port), Service, "127.0.0.1", S(master.Port)], [words[1], words[4], words[5], words[6]]);
        output.WriteLine(sentinel.Output);
    }

    [Fact]
    public async Task KillingOurMasterPromotesOurReplicaAndReconfiguresTheOthers()
    {
        using var dm = new TempDir("senf-m");
        using var d1 = new TempDir("senf-r1");
        using var d2 = new TempDir("senf-r2");
        using var ds = new TempDir("senf-s");
        int masterPort = ServerProcess.FreePort();
        var master = StartOursWithConf(dm, masterPort, "repl-diskless-sync-delay 0");
        try
        {
            using var ours = StartOursWithConf(d1, $"replicaof 127.0.0.1 {masterPort}", "replica-priority 10");
            using var redis = ServerProcess.StartRedis(d2.Path, "--replicaof", "127.0.0.1", S(masterPort), "--replica-priority", "50");
            using var sentinel = StartSentinel(ds, masterPort);
            using var s = sentinel.Connect();
            using var m = master.Connect();
            using var o = ours.Connect();
            using var r = redis.Connect();
            Dataset.BuildPartOne(m);
            // (offsets move on their own: Sentinel's hello messages published on the master are replicated)
            m.Ok("SET", "marker:1", "1");
            WaitForKey(ours, "marker:1", master);
            WaitForKey(redis, "marker:1", master);
            WaitFor(() => Replicas(s).Count(x => x["master-link-status"] == "ok") == 2, "both replicas known to Sentinel");

            // StackExchange.Redis asks the Sentinel where the master is and follows +switch-master.
            var options = new ConfigurationOptions { ServiceName = Service, AbortOnConnectFail = false, ConnectTimeout = 5000, SyncTimeout = 5000 };
            options.EndPoints.Add("127.0.0.1", sentinel.Port);
            using var mux = await ConnectionMultiplexer.ConnectAsync(options);
            var db = mux.GetDatabase();
            Assert.True(await db.StringSetAsync("se:before", "1"));
            Assert.Equal("1", m.Ok("GET", "se:before").Text);

            // Clients of the replica that Sentinel reconfigures: a normal one and a subscriber; CLIENT KILL TYPE
            // normal and TYPE pubsub in Sentinel's transaction close both.
            using var normal = ours.Connect(TimeSpan.FromSeconds(20));
            using var subscriber = ours.Connect(TimeSpan.FromSeconds(20));
            normal.Ok("CLIENT", "SETNAME", "app");
            subscriber.Ok("SUBSCRIBE", "news");

            master.Kill9();
            WaitFor(() => s.Ok("SENTINEL", "GET-MASTER-ADDR-BY-NAME", Service).Items![1].Text == S(ours.Port),
                "Sentinel to promote our replica", () => sentinel.Output);
            // Sentinel's CLIENT KILL TYPE normal closes the test's own connections too: a fresh one per question.
            WaitFor(() => InfoOf(ours, "role") == "master", "our replica to report itself a master");
            WaitFor(() => InfoOf(redis, "master_port") == S(ours.Port) && InfoOf(redis, "master_link_status") == "up",
                "redis-server to replicate our promoted replica", () => sentinel.Output);
            WaitForOutput(sentinel, $"+switch-master {Service} 127.0.0.1 {masterPort} 127.0.0.1 {ours.Port}");
            WaitForOutput(sentinel, $"+slave-reconf-done slave 127.0.0.1:{redis.Port}");

            // SLAVEOF NO ONE came in a transaction with CONFIG REWRITE: the file says no replicaof any more.
            WaitForOutput(ours, "CONFIG REWRITE executed with success.");
            Assert.DoesNotContain("replicaof", File.ReadAllText(d1["redis.conf"]), StringComparison.Ordinal);
            AssertClosed(() => normal.Call("PING"));
            AssertClosed(() => subscriber.Read());

            // The new master's writes reach redis-server; the data survived the failover on both.
            using (var o2 = ours.Connect())
            {
                o2.Ok("SET", "after:failover", "1");
                WaitForKey(redis, "after:failover");
                using var r2 = redis.Connect();
                Dataset.AssertSame(Dataset.Read(o2), Dataset.Read(r2), "after the failover", Compare.AofReplayVersusLive);
            }

            // StackExchange.Redis writes to the new master.
            var until = DateTime.UtcNow + Deadline;
            while (true)
            {
                try
                {
                    if (await db.StringSetAsync("se:after", "2"))
                    {
                        using var check = ours.Connect();
                        if (check.Ok("GET", "se:after").Text == "2") break;
                    }
                }
                catch (RedisException) when (DateTime.UtcNow < until)
                {
                }
                if (DateTime.UtcNow > until) Assert.Fail("StackExchange.Redis did not follow the failover:\n" + sentinel.Output);
                await Task.Delay(100);
            }
            Assert.Equal("1", (string?)await db.StringGetAsync("se:before"));

            // The old master comes back on its port, still a master by its own configuration: Sentinel turns it into
            // a replica of the new master (+convert-to-slave), through the same transaction.
            master.Dispose();
            master = StartOursWithConf(dm, masterPort);
            var back = master;
            WaitFor(() => InfoOf(back, "master_port") == S(ours.Port) && InfoOf(back, "master_link_status") == "up",
                "the old master to become a replica of the new one", () => $"{sentinel.Output}\nthe old master:\n{back.Output}\nthe new master:\n{ours.Output}");
            WaitForOutput(sentinel, $"+convert-to-slave slave 127.0.0.1:{masterPort}");
            Assert.Contains($"replicaof 127.0.0.1 {ours.Port}", File.ReadAllText(dm["redis.conf"]), StringComparison.Ordinal);
            using (var o4 = ours.Connect()) o4.Ok("SET", "marker:2", "1");
            WaitForKey(back, "marker:2");
            using (var o3 = ours.Connect())
            using (var b = back.Connect())
                Dataset.AssertSame(Dataset.Read(o3), Dataset.Read(b), "the old master as a replica", Compare.AofReplayVersusLive);
            output.WriteLine(sentinel.Output);
        }
        finally
        {
            master.Dispose();
        }
    }

    [Fact]
    public void SentinelKillsAScriptThatKeepsOurMasterBusy()
    {
        using var dm = new TempDir("senb-m");
        using var ds = new TempDir("senb-s");
        using var master = StartOursWithConf(dm, "busy-reply-threshold 100");
        using var sentinel = StartSentinel(ds, master.Port);
        using var s = sentinel.Connect();
        WaitFor(() => Fields(s.Ok("SENTINEL", "MASTER", Service))["role-reported"] == "master", "Sentinel to see the master");
        using var busy = master.Connect(TimeSpan.FromSeconds(30));
        // PING gets -BUSY; once the master is subjectively down Sentinel sends SCRIPT KILL, and PONG comes back.
        var killed = busy.Call("EVAL", "while true do end", "0");
        Assert.True(killed.IsError);
        Assert.StartsWith("ERR Script killed by user with SCRIPT KILL...", killed.Text, StringComparison.Ordinal);
        WaitForOutput(sentinel, $"+sdown master {Service} 127.0.0.1 {master.Port}");
        WaitForOutput(sentinel, $"-sdown master {Service} 127.0.0.1 {master.Port}");
        Assert.Equal("PONG", busy.Ok("PING").Text);
    }

    /// <summary>PUBLISH goes to replicas (not to the AOF), as redis 7.0 propagates it: subscribers of a replica hear
    /// what is published on its master, both ways with redis-server; Sentinels find each other this way too.</summary>
    [Fact]
    public void PublishOnAMasterReachesSubscribersOfItsReplicas()
    {
        using var d1 = new TempDir("pub-o");
        using var d2 = new TempDir("pub-r");
        using var d3 = new TempDir("pub-o2");
        using var ours = ServerProcess.StartOurs(d1.Path, "--save", "", "--appendonly", "yes");
        using var redis = ServerProcess.StartRedis(d2.Path, "--replicaof", "127.0.0.1", S(ours.Port));
        using var oursReplica = ServerProcess.StartOurs(d3.Path, "--save", "", "--replicaof", $"127.0.0.1 {redis.Port}");
        using var m = ours.Connect();
        using var r = redis.Connect();
        using var o2 = oursReplica.Connect();
        WaitFor(() => r.Info("master_link_status") == "up" && o2.Info("master_link_status") == "up", "the chain ours ─▶ redis-server ─▶ ours");
        using var onRedis = redis.Connect(TimeSpan.FromSeconds(10));
        using var onOurs = oursReplica.Connect(TimeSpan.FromSeconds(10));
        onRedis.Ok("SUBSCRIBE", "news");
        onOurs.Ok("SUBSCRIBE", "news");

        long before = long.Parse(m.Info("master_repl_offset")!, CultureInfo.InvariantCulture);
        Assert.Equal(0, m.Ok("PUBLISH", "news", "from-ours").Integer);
        Assert.Equal("[message, news, from-ours]", onRedis.Read().ToString());
        Assert.Equal("[message, news, from-ours]", onOurs.Read().ToString()); // redis-server passed it on
        Assert.True(long.Parse(m.Info("master_repl_offset")!, CultureInfo.InvariantCulture) > before);

        // A replica's own clients' messages stay there (a replica feeds its replicas its master's stream only).
        Assert.Equal(1, r.Ok("PUBLISH", "news", "on-the-replica").Integer);
        Assert.Equal("[message, news, on-the-replica]", onRedis.Read().ToString());

        // redis-server as the master of ours: the same from the other side; SPUBLISH too.
        r.Ok("REPLICAOF", "NO", "ONE");
        WaitFor(() => o2.Info("master_link_status") == "up" && o2.Info("master_replid") == r.Info("master_replid"), "ours to follow the promoted redis-server");
        Assert.Equal(1, r.Ok("PUBLISH", "news", "from-redis").Integer);
        Assert.Equal("[message, news, from-redis]", onRedis.Read().ToString());
        Assert.Equal("[message, news, from-redis]", onOurs.Read().ToString()); // and not on-the-replica before it
        onOurs.Ok("SSUBSCRIBE", "shard");
        r.Ok("SPUBLISH", "shard", "sharded");
        Assert.Equal("[smessage, shard, sharded]", onOurs.Read().ToString());

        // The AOF has the write, not the message.
        m.Ok("SET", "k", "v"); // written to the AOF before the reply leaves
        var aof = string.Concat(Directory.GetFiles(Path.Combine(d1.Path, "appendonlydir"), "*.incr.aof").Select(File.ReadAllText));
        Assert.Contains("SET", aof, StringComparison.Ordinal);
        Assert.DoesNotContain("PUBLISH", aof, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("from-ours", aof, StringComparison.Ordinal);
    }

    /// <summary>master_link_down_since_seconds, which Sentinel reads to leave out replicas that lost their master
    /// long ago: -1 while the link has never been up, then the seconds since it went down, as redis-server's.</summary>
    [Fact]
    public void LinkDownSinceIsReportedAsRedisServerReportsIt()
    {
        using var d1 = new TempDir("down-m");
        using var d2 = new TempDir("down-o");
        using var d3 = new TempDir("down-r");
        var master = ServerProcess.StartOurs(d1.Path, "--save", "");
        try
        {
            using var ours = ServerProcess.StartOurs(d2.Path, "--save", "");
            using var redis = ServerProcess.StartRedis(d3.Path);
            using var o = ours.Connect();
            using var r = redis.Connect();
            int nobody = ServerProcess.FreePort(); // nothing listens there
            o.Ok("REPLICAOF", "127.0.0.1", S(nobody));
            r.Ok("REPLICAOF", "127.0.0.1", S(nobody));
            Thread.Sleep(1500); // a failed connection attempt or two
            Assert.Equal("-1", r.Info("master_link_down_since_seconds"));
            Assert.Equal("-1", o.Info("master_link_down_since_seconds"));

            o.Ok("REPLICAOF", "127.0.0.1", S(master.Port));
            r.Ok("REPLICAOF", "127.0.0.1", S(master.Port));
            WaitFor(() => o.Info("master_link_status") == "up" && r.Info("master_link_status") == "up", "both links up");
            Assert.Null(o.Info("master_link_down_since_seconds"));
            master.Kill9();
            WaitFor(() => r.Info("master_link_down_since_seconds") is "2" or "3" && o.Info("master_link_down_since_seconds") is not null,
                "two seconds of link down on redis-server");
            long theirs = long.Parse(r.Info("master_link_down_since_seconds")!, CultureInfo.InvariantCulture);
            long mine = long.Parse(o.Info("master_link_down_since_seconds")!, CultureInfo.InvariantCulture);
            Assert.InRange(mine, theirs - 1, theirs + 1);
        }
        finally
        {
            master.Dispose();
        }
    }

    /// <summary>replica-announce-ip / -port: what a replica of ours tells its master to list (INFO's slaveN, ROLE),
    /// which is where Sentinel learns replicas from; redis-server's announcement shows the same on our master.</summary>
    [Fact]
    public void ReplicasAnnounceTheAddressTheyAreConfiguredWith()
    {
        using var d1 = new TempDir("ann-m");
        using var d2 = new TempDir("ann-o");
        using var d3 = new TempDir("ann-r");
        using var d4 = new TempDir("ann-rm");
        using var ours = ServerProcess.StartOurs(d1.Path, "--save", "");
        using var redisMaster = ServerProcess.StartRedis(d4.Path);
        using var replica = StartOursWithConf(d2, "replica-announce-ip 10.1.2.3", "slave-announce-port 7777");
        using var redis = ServerProcess.StartRedis(d3.Path, "--replica-announce-ip", "10.9.8.7", "--replica-announce-port", "6666");
        using var m = ours.Connect();
        using var rm = redisMaster.Connect();
        using var o = replica.Connect();
        using var r = redis.Connect();
        Assert.Equal(["replica-announce-ip", "10.1.2.3"], o.Ok("CONFIG", "GET", "replica-announce-ip").Items!.Select(i => i.Text));
        Assert.Equal(["slave-announce-port", "7777"], o.Ok("CONFIG", "GET", "slave-announce-port").Items!.Select(i => i.Text));
        r.Ok("REPLICAOF", "127.0.0.1", S(ours.Port));
        o.Ok("REPLICAOF", "127.0.0.1", S(ours.Port));
        WaitFor(() => m.Info("connected_slaves") == "2" && (m.Ok("ROLE").Items![2].Items!.Length == 2), "two online replicas");
        var lines = new[] { m.Info("slave0"), m.Info("slave1") }.Select(l => string.Join(',', l!.Split(',').Take(2))).Order(StringComparer.Ordinal);
        Assert.Equal(["ip=10.1.2.3,port=7777", "ip=10.9.8.7,port=6666"], lines);

        // CONFIG SET applies at the next handshake; redis-server as the master shows the same.
        o.Ok("CONFIG", "SET", "replica-announce-ip", "10.4.5.6", "replica-announce-port", "0");
        o.Ok("REPLICAOF", "127.0.0.1", S(redisMaster.Port));
        WaitFor(() => rm.Info("slave0") is { } l && l.StartsWith($"ip=10.4.5.6,port={replica.Port},", StringComparison.Ordinal), "redis-server to list our replica as announced",
            () => rm.Info("slave0") ?? "(none)");
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'replica-announce-port') - argument must be between 0 and 65535 inclusive",
            o.Call("CONFIG", "SET", "replica-announce-port", "70000").Text);
        Assert.Equal(r.Call("CONFIG", "SET", "replica-priority", "-1").Text, o.Call("CONFIG", "SET", "replica-priority", "-1").Text);
        o.Ok("CONFIG", "SET", "slave-priority", "0");
        Assert.Equal("0", o.Info("slave_priority"));
        o.Ok("CONFIG", "SET", "replica-announced", "no");
        Assert.Equal("0", o.Info("replica_announced"));
    }
}
