using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// Redis Cluster across real processes on loopback: three of our nodes and three redis-server 7.0.15 nodes made one
/// cluster by <c>redis-cli --cluster create</c>, checked by <c>redis-cli --cluster check</c>, used by <c>redis-cli -c</c>
/// and StackExchange.Redis, then a master of each kind killed and its replica elected. Every wait is bounded
/// (cluster-node-timeout 2000 ms: a failover takes a few seconds).
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private const string RedisCli = "/usr/bin/redis-cli";

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static void WaitFor(Func<bool> condition, string what, Func<string>? context = null)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out waiting for {what}" + (context is null ? "" : "\n" + context()));
            Thread.Sleep(50);
        }
    }

    /// <summary>redis-cli with the given arguments: exit code and output (stdout and stderr), killed after 60 s.</summary>
    private (int ExitCode, string Output) Cli(params string[] args)
    {
        ServerProcess.RequireTool(RedisCli);
        var info = new ProcessStartInfo(RedisCli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            Assert.Fail($"redis-cli {string.Join(' ', args)} did not finish within 60 s");
        }
        string text = stdout.Result + stderr.Result;
        output.WriteLine($"$ redis-cli {string.Join(' ', args)}\n{text}");
        return (p.ExitCode, text);
    }

    private static string[] NodeArgs(string dir, int busPort) =>
        ["--cluster-enabled", "yes", "--cluster-port", S(busPort), "--cluster-node-timeout", "2000", "--cluster-config-file", "nodes.conf"];

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ServerProcess, string[]> BusArgs = new();

    private static ServerProcess StartOurNode(TempDir dir)
    {
        string[] args = [.. NodeArgs(dir.Path, ServerProcess.FreePort()), "--save", ""];
        var p = ServerProcess.StartOurs(dir.Path, args);
        BusArgs.Add(p, args);
        return p;
    }

    private static ServerProcess StartRedisNode(TempDir dir) => ServerProcess.StartRedis(dir.Path, NodeArgs(dir.Path, ServerProcess.FreePort()));

    private static string ClusterInfo(ServerProcess node, string field)
    {
        using var c = node.Connect();
        foreach (var line in c.Ok("CLUSTER", "INFO").Text!.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..];
        return "";
    }

    private static string Role(ServerProcess node)
    {
        using var c = node.Connect();
        return c.Ok("ROLE").Items![0].Text!;
    }

    /// <summary>CLUSTER NODES of one node as (id, port, flags, master id) rows.</summary>
    private static List<(string Id, int Port, string Flags, string Master)> Nodes(ServerProcess node)
    {
        using var c = node.Connect();
        return c.Ok("CLUSTER", "NODES").Text!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .Select(f => (f[0], int.Parse(f[1][(f[1].IndexOf(':') + 1)..f[1].IndexOf('@')], CultureInfo.InvariantCulture), f[2], f[3])).ToList();
    }

    [Fact]
    public async Task MixedClusterIsCreatedCheckedUsedAndFailsOverEitherWay()
    {
        var dirs = Enumerable.Range(0, 6).Select(i => new TempDir($"cluster-{i}")).ToArray();
        var nodes = new List<ServerProcess>();
        try
        {
            // ours, redis, redis, ours, redis, ours: redis-cli takes the first three as masters and pairs the replicas
            // across kinds
            nodes.Add(StartOurNode(dirs[0]));
            nodes.Add(StartRedisNode(dirs[1]));
            nodes.Add(StartRedisNode(dirs[2]));
            nodes.Add(StartOurNode(dirs[3]));
            nodes.Add(StartRedisNode(dirs[4]));
            nodes.Add(StartOurNode(dirs[5]));
            var (code, text) = Cli(["--cluster", "create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "1", "--cluster-yes"]);
            Assert.Equal(0, code);
            Assert.Contains("[OK] All nodes agree about slots configuration.", text, StringComparison.Ordinal);
            Assert.Contains("[OK] All 16384 slots covered.", text, StringComparison.Ordinal);
            foreach (var n in nodes) WaitFor(() => ClusterInfo(n, "cluster_state") == "ok", $"cluster_state:ok on {n.Name} {n.Port}");
            // every node knows every other, and every replica's replication is up
            foreach (var n in nodes) WaitFor(() => ClusterInfo(n, "cluster_known_nodes") == "6", $"six known nodes on {n.Name} {n.Port}");
            // every node sees the three replicas redis-cli made (CLUSTER REPLICATE, announced in the next PINGs)
            foreach (var n in nodes)
                WaitFor(() => Nodes(n).Count(v => v.Flags.Contains("slave", StringComparison.Ordinal)) == 3, $"three replicas seen by {n.Name} {n.Port}");
            // whatever redis-cli chose, make the pairs cross kinds both ways (CLUSTER REPLICATE moves a replica):
            // redis-server's master 1 gets our 3, our master 0 redis-server's 4, redis-server's master 2 our 5
            string MyId(ServerProcess n)
            {
                using var c = n.Connect();
                return c.Ok("CLUSTER", "MYID").Text!;
            }
            foreach (var (replica, master) in new[] { (3, 1), (4, 0), (5, 2) })
            {
                using var c = nodes[replica].Connect();
                Assert.Equal("OK", c.Ok("CLUSTER", "REPLICATE", MyId(nodes[master])).Text);
            }
            foreach (var n in nodes)
                foreach (var (replica, master) in new[] { (3, 1), (4, 0), (5, 2) })
                {
                    string rid = MyId(nodes[replica]), mid = MyId(nodes[master]);
                    WaitFor(() => Nodes(n).Any(v => v.Id == rid && v.Master == mid), $"{n.Name} {n.Port} to see the replica pairs");
                }
            var view = Nodes(nodes[0]);
            var replicas = view.Where(v => v.Flags.Contains("slave", StringComparison.Ordinal)).ToList();
            foreach (var r in replicas)
            {
                var proc = nodes.Single(n => n.Port == r.Port);
                WaitFor(() => { using var c = proc.Connect(); return c.Info("master_link_status") == "up"; }, $"replication of {proc.Name} {proc.Port}");
            }

            (code, text) = Cli("--cluster", "check", $"127.0.0.1:{nodes[3].Port}");
            Assert.Equal(0, code);
            Assert.DoesNotContain("[ERR]", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[WARNING]", text, StringComparison.Ordinal);
            Assert.Contains("[OK] All 16384 slots covered.", text, StringComparison.Ordinal);

            // redis-cli -c follows MOVED across slots from either kind of node
            for (int i = 0; i < 30; i++)
                Assert.Equal("OK", Cli("-c", "-p", S(nodes[i % 6].Port), "SET", $"cli:{i}", $"v{i}").Output.Trim());
            for (int i = 0; i < 30; i++)
                Assert.Equal($"v{i}", Cli("-c", "-p", S(nodes[(i + 3) % 6].Port), "GET", $"cli:{i}").Output.Trim());

            // our redirections as redis-server writes them
            using (var c = nodes[0].Connect())
            {
                int slot = (int)c.Ok("CLUSTER", "KEYSLOT", "cli:0").Integer;
                var owner = view.Single(v => v.Flags.Contains("master", StringComparison.Ordinal) && OwnsSlot(nodes[0], v.Id, slot));
                var reply = c.Call("GET", "cli:0");
                if (owner.Port != nodes[0].Port) Assert.Equal($"MOVED {slot} 127.0.0.1:{owner.Port}", reply.Text);
                Assert.Equal("CROSSSLOT Keys in request don't hash to the same slot", c.Call("MGET", "a", "b").Text);
                Assert.Equal("ERR SELECT is not allowed in cluster mode", c.Call("SELECT", "1").Text);
            }

            // StackExchange.Redis against the cluster
            var options = new ConfigurationOptions { AbortOnConnectFail = false, ConnectTimeout = 5000, SyncTimeout = 5000 };
            options.EndPoints.Add("127.0.0.1", nodes[0].Port); // the others are learnt from CLUSTER NODES
            var seLog = new StringWriter();
            using (var mux = await ConnectionMultiplexer.ConnectAsync(options, seLog))
            {
                output.WriteLine(seLog.ToString());
                WaitFor(() => mux.GetServers().Length == 6 && mux.GetServers().All(x => x.IsConnected), "StackExchange.Redis to connect to the six nodes");
                var db = mux.GetDatabase();
                for (int i = 0; i < 100; i++) Assert.True(await db.StringSetAsync($"se:{i}", i));
                for (int i = 0; i < 100; i++) Assert.Equal(i, (int)await db.StringGetAsync($"se:{i}"));
                Assert.Equal(6, mux.GetEndPoints().Length);
            }

            // PUBLISH reaches the subscribers of every node over the bus, published on either kind
            using (var subOurs = nodes[3].Connect(TimeSpan.FromSeconds(10)))
            using (var subRedis = nodes[1].Connect(TimeSpan.FromSeconds(10)))
            {
                subOurs.Call("SUBSCRIBE", "news");
                subRedis.Call("SUBSCRIBE", "news");
                using (var p = nodes[0].Connect()) p.Call("PUBLISH", "news", "from-ours");
                Assert.Equal("from-ours", subRedis.Read().Items![2].Text);
                Assert.Equal("from-ours", subOurs.Read().Items![2].Text);
                using (var p = nodes[2].Connect()) p.Call("PUBLISH", "news", "from-redis");
                Assert.Equal("from-redis", subOurs.Read().Items![2].Text);
                Assert.Equal("from-redis", subRedis.Read().Items![2].Text);
            }

            // Failover both ways: kill a master whose replica is ours, then one whose replica is redis-server.
            foreach (bool oursReplica in new[] { true, false })
            {
                var live = nodes.First(n => !n.HasExited);
                var current = Nodes(live);
                var pair = current.Where(v => v.Flags.Contains("slave", StringComparison.Ordinal) && !v.Flags.Contains("fail", StringComparison.Ordinal))
                    .Select(v => (Replica: nodes.Single(n => n.Port == v.Port), Master: nodes.Single(n => n.Port == current.Single(m => m.Id == v.Master).Port)))
                    .First(p => (p.Replica.Name == "ours") == oursReplica && (p.Master.Name == "ours") != oursReplica && !p.Master.HasExited);
                output.WriteLine($"killing {pair.Master.Name} {pair.Master.Port}, expecting {pair.Replica.Name} {pair.Replica.Port} to be elected");
                pair.Master.Kill9();
                WaitFor(() => Role(pair.Replica) == "master", $"{pair.Replica.Name} {pair.Replica.Port} to be elected", () => pair.Replica.Output);
                foreach (var n in nodes.Where(n => !n.HasExited))
                    WaitFor(() => ClusterInfo(n, "cluster_state") == "ok", $"cluster_state:ok on {n.Name} {n.Port} after the failover");
                var other = nodes.First(n => !n.HasExited && n != pair.Replica);
                for (int i = 0; i < 30; i++)
                    Assert.Equal($"v{i}", Cli("-c", "-p", S(other.Port), "GET", $"cli:{i}").Output.Trim());
            }
            Assert.Equal(2, nodes.Count(n => n.HasExited));

            // Our killed master comes back from its nodes.conf (same id, same ports): it learns its slots have a
            // newer owner and becomes that owner's replica, as a returning redis-server master does.
            var dead = nodes.FirstOrDefault(n => n.HasExited && n.Name == "ours");
            if (dead is not null)
            {
                int index = nodes.IndexOf(dead);
                string id = File.ReadAllText(dirs[index]["nodes.conf"]).Split('\n').Single(l => l.Contains("myself", StringComparison.Ordinal)).Split(' ')[0];
                Assert.True(BusArgs.TryGetValue(dead, out var args));
                var back = ServerProcess.StartOursOnPort(dead.Port, dirs[index].Path, args);
                nodes[index] = back;
                dead.Dispose();
                WaitFor(() => Role(back) == "slave", "our returning master to become a replica", () => back.Output);
                using (var c = back.Connect()) Assert.Equal(id, c.Ok("CLUSTER", "MYID").Text);
                var other = nodes.First(n => !n.HasExited && n.Name == "redis-server");
                WaitFor(() => Nodes(other).Any(v => v.Id == id && v.Flags == "slave"), "the others to see it as a replica", () => back.Output);
                WaitFor(() => { using var c = back.Connect(); return c.Info("master_link_status") == "up"; }, "its replication");
                Assert.Equal("v7", Cli("-c", "-p", S(back.Port), "GET", "cli:7").Output.Trim());

                // CLUSTER FAILOVER (the default, coordinated one) on it: its redis-server master pauses writes and sends
                // its offset (MFSTART), ours catches up, is elected with the masters' votes, and the two swap roles.
                var master = nodes.Single(n => !n.HasExited && Nodes(back).Single(v => v.Id == id).Master == Nodes(n).Single(v => v.Flags.StartsWith("myself", StringComparison.Ordinal)).Id);
                using (var c = back.Connect()) Assert.Equal("OK", c.Ok("CLUSTER", "FAILOVER").Text);
                WaitFor(() => Role(back) == "master", "our replica to take over by CLUSTER FAILOVER", () => back.Output);
                WaitFor(() => Role(master) == "slave", $"{master.Name} {master.Port} to become its replica", () => master.Output);
                Assert.Equal("OK", Cli("-c", "-p", S(master.Port), "SET", "cli:7", "after").Output.Trim());
                Assert.Equal("after", Cli("-c", "-p", S(back.Port), "GET", "cli:7").Output.Trim());
            }
        }
        finally
        {
            foreach (var n in nodes) n.Dispose();
            foreach (var d in dirs) d.Dispose();
        }
    }

    /// <summary>
    /// <c>redis-cli --cluster reshard</c> moves slots from our node to a redis-server node and back to another of ours
    /// (our MIGRATE to redis-server's RESTORE-ASKING, redis-server's MIGRATE to ours) while StackExchange.Redis keeps
    /// writing: every write it saw acknowledged is there afterwards, and the cluster checks clean.
    /// </summary>
    [Fact]
    public async Task ReshardUnderWriteLoadLosesNothing()
    {
        var dirs = Enumerable.Range(0, 3).Select(i => new TempDir($"reshard-{i}")).ToArray();
        var nodes = new List<ServerProcess>();
        try
        {
            nodes.Add(StartOurNode(dirs[0]));
            nodes.Add(StartRedisNode(dirs[1]));
            nodes.Add(StartOurNode(dirs[2]));
            var (code, text) = Cli(["--cluster", "create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-yes"]);
            Assert.Equal(0, code);
            foreach (var n in nodes) WaitFor(() => ClusterInfo(n, "cluster_state") == "ok", $"cluster_state:ok on {n.Name} {n.Port}");
            string Id(ServerProcess n)
            {
                using var c = n.Connect();
                return c.Ok("CLUSTER", "MYID").Text!;
            }

            var options = new ConfigurationOptions { AbortOnConnectFail = false, ConnectTimeout = 5000, SyncTimeout = 5000 };
            options.EndPoints.Add("127.0.0.1", nodes[0].Port);
            using var mux = await ConnectionMultiplexer.ConnectAsync(options);
            WaitFor(() => mux.GetServers().Length == 3 && mux.GetServers().All(x => x.IsConnected), "StackExchange.Redis to connect to the three nodes");
            var db = mux.GetDatabase();
            for (int i = 0; i < 2000; i++) await db.StringSetAsync($"pre:{i}", i);
            var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
            using var stop = new CancellationTokenSource();
            var load = Task.Run(async () =>
            {
                long n = 0;
                while (!stop.IsCancellationRequested)
                {
                    string key = $"load:{n % 3000}";
                    try
                    {
                        if (await db.StringSetAsync(key, n)) acknowledged[key] = n;
                    }
                    catch (RedisException)
                    {
                        // not acknowledged: the key's last acknowledged value still stands
                    }
                    n++;
                }
                return n;
            });
            (code, text) = Cli("--cluster", "reshard", $"127.0.0.1:{nodes[0].Port}", "--cluster-from", Id(nodes[0]), "--cluster-to", Id(nodes[1]),
                "--cluster-slots", "600", "--cluster-yes");
            Assert.Equal(0, code);
            Assert.DoesNotContain("[ERR]", text, StringComparison.Ordinal);
            (code, text) = Cli("--cluster", "reshard", $"127.0.0.1:{nodes[0].Port}", "--cluster-from", Id(nodes[1]), "--cluster-to", Id(nodes[2]),
                "--cluster-slots", "1200", "--cluster-yes");
            Assert.Equal(0, code);
            Assert.DoesNotContain("[ERR]", text, StringComparison.Ordinal);
            await stop.CancelAsync();
            long writes = await load;
            output.WriteLine($"{writes} writes during the two reshards, {acknowledged.Count} keys acknowledged");
            Assert.True(writes > 100, "the write load ran");

            (code, text) = Cli("--cluster", "check", $"127.0.0.1:{nodes[1].Port}");
            Assert.Equal(0, code);
            Assert.DoesNotContain("[ERR]", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[WARNING]", text, StringComparison.Ordinal);
            for (int i = 0; i < 2000; i++) Assert.Equal(i, (long)await db.StringGetAsync($"pre:{i}"));
            foreach (var (key, value) in acknowledged) Assert.Equal(value, (long)await db.StringGetAsync(key));
            long total = 0;
            foreach (var n in nodes)
            {
                using var c = n.Connect();
                total += c.Ok("DBSIZE").Integer;
            }
            Assert.Equal(2000 + acknowledged.Count, total);
        }
        finally
        {
            foreach (var n in nodes) n.Dispose();
            foreach (var d in dirs) d.Dispose();
        }
    }

    private static bool OwnsSlot(ServerProcess node, string id, int slot)
    {
        using var c = node.Connect();
        foreach (var range in c.Ok("CLUSTER", "SLOTS").Items!)
            if (range.Items![0].Integer <= slot && slot <= range.Items[1].Integer) return range.Items[2].Items![2].Text == id;
        return false;
    }

    /// <summary>A lone node of each kind answers the same CLUSTER errors and replies (node ids aside).</summary>
    [Fact]
    public void LoneNodeAnswersAsRedisServer()
    {
        using var d1 = new TempDir("cluster-lone-ours");
        using var d2 = new TempDir("cluster-lone-redis");
        using var ours = StartOurNode(d1);
        using var redis = StartRedisNode(d2);
        using var o = ours.Connect();
        using var r = redis.Connect();
        string[][] commands =
        [
            ["CLUSTER", "KEYSLOT", "{user1000}.following"], ["CLUSTER", "COUNTKEYSINSLOT", "16384"], ["CLUSTER", "COUNTKEYSINSLOT", "x"],
            ["CLUSTER", "GETKEYSINSLOT", "1", "-1"], ["CLUSTER", "ADDSLOTS", "16384"], ["CLUSTER", "ADDSLOTS", "1", "1"],
            ["CLUSTER", "ADDSLOTSRANGE", "5", "1"], ["CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"], ["CLUSTER", "DELSLOTS", "7"],
            ["CLUSTER", "SETSLOT", "1", "MIGRATING", "0000000000000000000000000000000000000000"], ["CLUSTER", "SETSLOT", "1", "BOGUS"],
            ["CLUSTER", "MEET", "not-an-ip", "7000"], ["CLUSTER", "MEET", "127.0.0.1", "x"], ["CLUSTER", "FORGET", "abc"],
            ["CLUSTER", "REPLICATE", "abc"], ["CLUSTER", "FAILOVER"], ["CLUSTER", "FAILOVER", "SOFTLY"], ["CLUSTER", "SET-CONFIG-EPOCH", "-1"],
            ["CLUSTER", "RESET", "MEDIUM"], ["SELECT", "1"], ["SELECT", "0"], ["ASKING"], ["READONLY"], ["READWRITE"],
            ["GET", "k"], ["SET", "k", "v"], ["CLUSTER", "ADDSLOTSRANGE", "0", "16383"], ["CLUSTER", "ADDSLOTS", "5"],
        ];
        string[][] afterOk =
        [
            ["SET", "k", "v"], ["GET", "k"], ["MSET", "a", "1", "b", "2"],
            // a transaction's commands of different slots meet at EXEC: CROSSSLOT there, the transaction discarded
            ["MULTI"], ["SET", "a", "1"], ["SET", "b", "2"], ["EXEC"], ["EXEC"], ["GET", "a"],
            ["MULTI"], ["SET", "{a}x", "1"], ["GET", "{a}y"], ["EXEC"], ["MULTI"], ["MGET", "a", "b"], ["GET", "a"], ["EXEC"],
            ["CLUSTER", "COUNTKEYSINSLOT", "7629"],
            ["CLUSTER", "GETKEYSINSLOT", "7629", "10"], ["CLUSTER", "FLUSHSLOTS"], ["CLUSTER", "SET-CONFIG-EPOCH", "5"],
            ["CLUSTER", "SET-CONFIG-EPOCH", "6"], ["CLUSTER", "BUMPEPOCH"], ["CLUSTER", "REPLICAS", "abc"],
            ["CONFIG", "SET", "cluster-port", "1234"], ["CONFIG", "SET", "cluster-node-timeout", "-1"],
            ["CONFIG", "SET", "cluster-announce-hostname", "bad_name"], ["CONFIG", "SET", "cluster-require-full-coverage", "maybe"],
            ["CONFIG", "GET", "cluster-node-timeout"], ["CONFIG", "GET", "cluster-replica-validity-factor"], ["CONFIG", "GET", "cluster-slave-no-failover"],
        ];
        void Compare(string[][] list)
        {
            foreach (var cmd in list)
            {
                var expected = r.Call(cmd);
                var actual = o.Call(cmd);
                Assert.True(expected.ToString() == actual.ToString(), $"{string.Join(' ', cmd)}: redis-server {expected}, ours {actual}");
            }
        }
        Compare(commands);
        // a master says ok once every slot is served (and at least CLUSTER_WRITABLE_DELAY after its start)
        WaitFor(() => ClusterInfo(redis, "cluster_state") == "ok" && ClusterInfo(ours, "cluster_state") == "ok", "both lone nodes to say ok");
        Compare(afterOk);
        // the slot state, epochs and the myself line as redis-server shows them
        Assert.Equal(ClusterInfo(redis, "cluster_slots_assigned"), ClusterInfo(ours, "cluster_slots_assigned"));
        Assert.Equal(ClusterInfo(redis, "cluster_current_epoch"), ClusterInfo(ours, "cluster_current_epoch"));
        Assert.Equal(ClusterInfo(redis, "cluster_my_epoch"), ClusterInfo(ours, "cluster_my_epoch"));
        Assert.Equal("1", o.Info("cluster_enabled"));
        // nodes.conf is written (and reloaded at the next start with the same id)
        string id = o.Ok("CLUSTER", "MYID").Text!;
        Assert.Contains(id + " ", File.ReadAllText(d1["nodes.conf"]), StringComparison.Ordinal);
    }
}
