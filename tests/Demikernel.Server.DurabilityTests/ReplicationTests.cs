using System.Globalization;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// Replication (PSYNC2) between real processes on loopback: redis-server 7.0 as our replica and as our master, ours
/// from ours, a chain and a promotion. Data is compared canonically on both sides (every key of every database:
/// type, encoding, contents, DUMP where deterministic, TTL) once the replica's offset equals the master's.
/// </summary>
public sealed class ReplicationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Polls until the replica's link is up and it applied everything the master produced.</summary>
    private static void WaitInSync(RespClient master, RespClient replica)
    {
        var until = DateTime.UtcNow + Deadline;
        string? mo = null, ro = null, link = null;
        while (DateTime.UtcNow < until)
        {
            link = replica.Info("master_link_status");
            mo = master.Info("master_repl_offset");
            ro = replica.Info("slave_repl_offset");
            if (link == "up" && mo == ro && mo is not null && replica.Info("master_repl_offset") == mo) return;
            Thread.Sleep(20);
        }
        Assert.Fail($"replica not in sync after {Deadline.TotalSeconds} s: link {link}, master offset {mo}, replica offset {ro}");
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }

    /// <summary>A key with a short TTL that the master expires (and DELs to its replicas) during the test.</summary>
    private static void WriteLoadWithExpiry(RespClient master)
    {
        Dataset.BuildPartTwo(master);
        master.Ok("SET", "short:lived", "v", "PX", "150");
        master.Ok("HSET", "short:hash", "f", "v");
        master.Ok("PEXPIRE", "short:hash", "150");
        // the master's active expiry deletes them and propagates DEL
        WaitFor(() => long.Parse(master.Info("expired_keys")!, CultureInfo.InvariantCulture) >= 2, "the master to expire the short-lived keys");
    }

    /// <summary>
    /// FAILOVER both ways between ours and redis-server 7.0: the master pauses writes, waits for the replica to ack its
    /// whole stream, becomes its replica with PSYNC ... FAILOVER, and the replica promotes itself and continues the
    /// history (a partial resync); no data lost, the state back to no-failover. Error paths as redis's.
    /// </summary>
    [Fact]
    public void FailoverHandsTheMasterRoleOverBothWays()
    {
        using var d1 = new TempDir("failover-ours");
        using var d2 = new TempDir("failover-redis");
        using var ours = ServerProcess.StartOurs(d1.Path, "--save", "", "--repl-diskless-sync-delay", "0");
        using var redis = ServerProcess.StartRedis(d2.Path, "--repl-diskless-sync-delay", "0");
        using var o = ours.Connect();
        using var r = redis.Connect();
        foreach (var c in new[] { o, r })
        {
            Assert.Equal("ERR No failover in progress.", c.Call("FAILOVER", "ABORT").Text);
            Assert.Equal("ERR FAILOVER requires connected replicas.", c.Call("FAILOVER").Text);
            Assert.Equal("ERR FAILOVER timeout must be greater than 0", c.Call("FAILOVER", "TIMEOUT", "0").Text);
            Assert.Equal("ERR syntax error", c.Call("FAILOVER", "NOW").Text);
        }
        Dataset.BuildPartOne(o);
        r.Ok("REPLICAOF", "127.0.0.1", S(ours.Port));
        WaitInSync(o, r);
        Assert.Equal("ERR FAILOVER with force option requires both a timeout and target HOST and IP.", o.Call("FAILOVER", "TO", "127.0.0.1", S(redis.Port), "FORCE").Text);
        Assert.Equal("ERR FAILOVER target HOST and PORT is not a replica.", o.Call("FAILOVER", "TO", "127.0.0.1", "1").Text);
        Assert.Equal("ERR FAILOVER is not valid when server is a replica.", r.Call("FAILOVER").Text);

        // ours hands over to redis-server
        o.Ok("FAILOVER", "TO", "127.0.0.1", S(redis.Port), "TIMEOUT", "20000");
        WaitFor(() => r.Info("role") == "master" && o.Info("role") == "slave" && o.Info("master_link_status") == "up", "redis-server to take over from ours");
        WaitFor(() => o.Info("master_failover_state") == "no-failover", "our failover state to clear");
        Assert.Equal("1", r.Info("sync_partial_ok"));
        r.Ok("SET", "written:on:redis", "1");
        WaitInSync(r, o);
        Dataset.AssertSame(Dataset.Read(r), Dataset.Read(o), "after ours failed over to redis-server", Compare.AofReplayVersusLive);

        // and redis-server hands back to ours
        r.Ok("FAILOVER");
        WaitFor(() => o.Info("role") == "master" && r.Info("role") == "slave" && r.Info("master_link_status") == "up", "ours to take over from redis-server");
        WaitFor(() => r.Info("master_failover_state") == "no-failover", "redis-server's failover state to clear");
        o.Ok("SET", "written:on:ours", "1");
        WaitInSync(o, r);
        Dataset.AssertSame(Dataset.Read(o), Dataset.Read(r), "after redis-server failed over to ours", Compare.AofReplayVersusLive);

        // a failover that cannot complete (the replica is stopped, it never acks): aborted at its timeout
        redis.Signal("STOP");
        try
        {
            o.Ok("SET", "moves:the:offset", "1");
            o.Ok("FAILOVER", "TIMEOUT", "500");
            Assert.Equal("waiting-for-sync", o.Info("master_failover_state"));
            Assert.Equal("ERR REPLICAOF not allowed while failing over.", o.Call("REPLICAOF", "NO", "ONE").Text);
            WaitFor(() => o.Info("master_failover_state") == "no-failover", "the failover to time out");
            Assert.Equal("OK", o.Call("SET", "after:abort", "1").Text); // writes were held, not refused, and flow again
            Assert.Equal("master", o.Info("role"));
        }
        finally
        {
            redis.Signal("CONT");
        }
        WaitInSync(o, r);
    }

    [Fact]
    public void RedisServerReplicatesFromOursWithPartialResyncAfterALinkCut()
    {
        using var d1 = new TempDir("repl-m");
        using var d2 = new TempDir("repl-r");
        using var ours = ServerProcess.StartOurs(d1.Path, "--save", "");
        using var redis = ServerProcess.StartRedis(d2.Path);
        using var m = ours.Connect();
        using var r = redis.Connect();
        Assert.Equal("yes", m.Ok("CONFIG", "GET", "repl-diskless-sync").Items![1].Text); // redis 7.0's default: diskless
        m.Ok("CONFIG", "SET", "repl-diskless-sync-delay", "0");
        Dataset.BuildPartOne(m); // goes in the RDB of the full sync
        Assert.Equal("OK", r.Ok("REPLICAOF", "127.0.0.1", S(ours.Port)).Text);
        WaitInSync(m, r);
        WriteLoadWithExpiry(m); // goes through the stream
        Assert.Equal(1, m.Ok("WAIT", "1", "5000").Integer);
        WaitInSync(m, r);
        Dataset.AssertSame(Dataset.Read(m), Dataset.Read(r), "redis-server replica of ours", Compare.AofReplayVersusLive);

        // The link is cut (not the process): the replica reconnects and resumes from the backlog.
        Assert.Equal(1, r.Ok("CLIENT", "KILL", "TYPE", "master").Integer);
        m.Ok("SET", "after:cut", "1");
        m.Ok("RPUSH", "list:small", "after-cut");
        m.Ok("ZADD", "zset:small", "99", "after-cut");
        WaitInSync(m, r);
        Assert.Equal("1", m.Info("sync_full"));
        Assert.Equal("1", m.Info("sync_partial_ok"));
        Dataset.AssertSame(Dataset.Read(m), Dataset.Read(r), "after the partial resync", Compare.AofReplayVersusLive);

        var role = m.Ok("ROLE");
        Assert.Equal("master", role.Items![0].Text);
        Assert.Equal(S(redis.Port), role.Items[2].Items![0].Items![1].Text);
        Assert.Equal("online", m.Info("slave0")!.Split(',').First(p => p.StartsWith("state=", StringComparison.Ordinal))[6..]);
        output.WriteLine(m.Ok("INFO", "replication").Text);
    }

    [Fact]
    public void OursReplicatesFromRedisServerWithPartialResyncAfterALinkCut()
    {
        using var d1 = new TempDir("repl-rm");
        using var d2 = new TempDir("repl-or");
        using var redis = ServerProcess.StartRedis(d1.Path, "--repl-diskless-sync-delay", "0");
        using var ours = ServerProcess.StartOurs(d2.Path, "--save", "");
        using var m = redis.Connect();
        using var r = ours.Connect();
        Dataset.BuildPartOne(m);
        Assert.Equal("OK", r.Ok("REPLICAOF", "127.0.0.1", S(redis.Port)).Text);
        WaitInSync(m, r);
        WriteLoadWithExpiry(m);
        Assert.Equal(1, m.Ok("WAIT", "1", "5000").Integer); // our ACK answers redis-server's GETACK
        WaitInSync(m, r);
        Dataset.AssertSame(Dataset.Read(m), Dataset.Read(r), "ours as redis-server's replica", Compare.AofReplayVersusLive);

        Assert.Equal("READONLY You can't write against a read only replica.", r.Call("SET", "x", "1").Text);
        // a script is a write by its declared flags (getCommandFlags): refused before it runs unless no-writes
        Assert.Equal("READONLY You can't write against a read only replica.", r.Call("EVAL", "#!lua\nreturn 1", "0").Text);
        Assert.Equal(1, r.Ok("EVAL", "#!lua flags=no-writes\nreturn 1", "0").Integer);
        Assert.Equal("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.", r.Call("WAIT", "0", "0").Text);
        var role = r.Ok("ROLE");
        Assert.Equal(["slave", "127.0.0.1"], role.Items!.Take(2).Select(i => i.Text));
        Assert.Equal("connected", role.Items![3].Text);
        Assert.Equal(redis.Port, role.Items![2].Integer);
        Assert.Equal(m.Info("master_replid"), r.Info("master_replid"));

        Assert.Equal(1, r.Ok("CLIENT", "KILL", "TYPE", "master").Integer);
        m.Ok("SET", "after:cut", "1");
        m.Ok("SADD", "set:intset", "12345");
        WaitInSync(m, r);
        Assert.Equal("1", m.Info("sync_full"));
        Assert.Equal("1", m.Info("sync_partial_ok"));
        Dataset.AssertSame(Dataset.Read(m), Dataset.Read(r), "after the partial resync", Compare.AofReplayVersusLive);

        // INFO replication of a replica: the same fields in the same order as redis-server's own replica shows.
        using var d3 = new TempDir("repl-or2");
        using var redisReplica = ServerProcess.StartRedis(d3.Path);
        using var rr = redisReplica.Connect();
        rr.Ok("REPLICAOF", "127.0.0.1", S(redis.Port));
        WaitInSync(m, rr);
        WaitInSync(m, r);
        static string[] Fields(RespClient c) => (c.Ok("INFO", "replication").Text ?? "").Split("\r\n")
            .Where(l => l.Contains(':')).Select(l => l[..l.IndexOf(':')]).ToArray();
        Assert.Equal(Fields(rr), Fields(r));
        Assert.Equal(rr.Info("slave_repl_offset"), r.Info("slave_repl_offset"));
        Assert.Equal(rr.Info("master_repl_offset"), r.Info("master_repl_offset"));
        redisReplica.Dispose();

        // replica-serve-stale-data no: while the link is down, data commands get MASTERDOWN.
        r.Ok("CONFIG", "SET", "replica-serve-stale-data", "no");
        redis.Dispose();
        WaitFor(() => r.Info("master_link_status") == "down", "our link to go down");
        Assert.Equal("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", r.Call("GET", "after:cut").Text);
        Assert.Equal("OK", r.Ok("REPLICAOF", "NO", "ONE").Text);
        Assert.Equal("1", r.Ok("GET", "after:cut").Text);
        Assert.Equal("OK", r.Ok("SET", "x", "1").Text);
    }

    [Fact]
    public void BacklogOverflowEndsInAFullResync()
    {
        using var d1 = new TempDir("repl-bm");
        using var d2 = new TempDir("repl-br");
        using var ours = ServerProcess.StartOurs(d1.Path, "--save", "");
        using var redis = ServerProcess.StartRedis(d2.Path);
        using var m = ours.Connect();
        using var r = redis.Connect();
        m.Ok("CONFIG", "SET", "repl-backlog-size", "16kb");
        m.Ok("CONFIG", "SET", "repl-diskless-sync", "no"); // disk-based: BGSAVE, then dump.rdb is sent
        m.Ok("SET", "before", "1");
        r.Ok("REPLICAOF", "127.0.0.1", S(ours.Port));
        WaitInSync(m, r);
        Assert.Equal("16384", m.Info("repl_backlog_size"));
        // The replica's connection is killed on the master's side, and more than the backlog is written before it
        // can come back (one pipeline, one batch): its PSYNC offset is gone from the backlog.
        string big = new('x', 40_000);
        var replies = m.Pipeline([["CLIENT", "KILL", "TYPE", "replica"], ["SET", "big:1", big], ["SET", "big:2", big], ["LPUSH", "list", big]]);
        Assert.Equal(1, replies[0].Integer);
        WaitFor(() => m.Info("sync_full") == "2", "a second full resync");
        WaitInSync(m, r);
        Assert.Equal("0", m.Info("sync_partial_ok"));
        // redis-server's first PSYNC already names its own history (a refused partial resync, as with redis-server
        // as the master), the one after the cut names ours at an offset the backlog no longer has.
        Assert.Equal("2", m.Info("sync_partial_err"));
        Dataset.AssertSame(Dataset.Read(m), Dataset.Read(r), "after the full resync");
    }

    [Fact]
    public void ChainedReplicasAndPromotionKeepTheHistoryForPartialResync()
    {
        using var da = new TempDir("repl-a");
        using var db = new TempDir("repl-b");
        using var dc = new TempDir("repl-c");
        using var a = ServerProcess.StartOurs(da.Path, "--save", "");
        using var b = ServerProcess.StartOurs(db.Path, "--save", "");
        using var c = ServerProcess.StartRedis(dc.Path);
        using var ca = a.Connect();
        using var cb = b.Connect();
        using var cc = c.Connect();
        ca.Ok("CONFIG", "SET", "repl-diskless-sync", "no");   // A sends dump.rdb to B
        cb.Ok("CONFIG", "SET", "repl-diskless-sync-delay", "0"); // B streams its snapshot to C (diskless)
        Dataset.BuildPartOne(ca);
        cb.Ok("REPLICAOF", "127.0.0.1", S(a.Port));   // ours from ours
        WaitInSync(ca, cb);
        ca.Ok("SELECT", "5");
        ca.Ok("SET", "db5:before", "1");               // A's stream now has database 5 selected
        WaitInSync(ca, cb);
        cc.Ok("REPLICAOF", "127.0.0.1", S(b.Port));   // redis-server from our replica: a chain
        WaitInSync(cb, cc);
        // B's stream to C continues A's without a SELECT: C knows the database from the RDB's repl-stream-db.
        ca.Ok("SET", "db5:after", "2");
        WaitInSync(ca, cb);
        WaitInSync(cb, cc);
        cc.Ok("SELECT", "5");
        Assert.Equal("2", cc.Ok("GET", "db5:after").Text);
        cc.Ok("SELECT", "0");
        ca.Ok("SELECT", "0");
        Dataset.BuildPartTwo(ca);
        WaitInSync(ca, cb);
        WaitInSync(cb, cc);
        Assert.Equal(ca.Info("master_replid"), cc.Info("master_replid")); // the chain keeps the top master's history
        var expected = Dataset.Read(ca);
        Dataset.AssertSame(expected, Dataset.Read(cb), "ours replicating ours", Compare.AofReplayVersusLive);
        Dataset.AssertSame(expected, Dataset.Read(cc), "redis-server at the end of the chain", Compare.AofReplayVersusLive);

        // Promotion: B's old replid becomes replid2, so C resumes with +CONTINUE instead of a full resync.
        string oldReplid = cb.Info("master_replid")!;
        Assert.Equal("OK", cb.Ok("REPLICAOF", "NO", "ONE").Text);
        Assert.Equal(oldReplid, cb.Info("master_replid2"));
        Assert.NotEqual(oldReplid, cb.Info("master_replid"));
        Assert.Equal("master", cb.Ok("ROLE").Items![0].Text);
        cb.Ok("SET", "after:promotion", "yes");
        WaitInSync(cb, cc);
        Assert.Equal("1", cb.Info("sync_full"));
        Assert.Equal("1", cb.Info("sync_partial_ok"));
        Assert.Equal(cb.Info("master_replid"), cc.Info("master_replid"));
        Assert.Equal("yes", cc.Ok("GET", "after:promotion").Text);
        Assert.Equal(1, cb.Ok("WAIT", "1", "5000").Integer);
        Dataset.AssertSame(Dataset.Read(cb), Dataset.Read(cc), "after the promotion", Compare.AofReplayVersusLive);
    }

    [Fact]
    public void MinReplicasToWriteRefusesWithoutGoodReplicas()
    {
        using var d1 = new TempDir("repl-min");
        using var ours = ServerProcess.StartOurs(d1.Path, "--save", "");
        using var m = ours.Connect();
        m.Ok("CONFIG", "SET", "min-replicas-to-write", "1");
        Assert.Equal("NOREPLICAS Not enough good replicas to write.", m.Call("SET", "k", "v").Text);
        Assert.Equal("0", m.Info("min_slaves_good_slaves"));
        Assert.Equal(0, m.Ok("WAIT", "1", "50").Integer); // times out: no replica acknowledged
        m.Ok("CONFIG", "SET", "min-replicas-to-write", "0");
        Assert.Equal("OK", m.Ok("SET", "k", "v").Text);
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'repl-diskless-sync-delay') - argument must be between 0 and 2147483647 inclusive", m.Call("CONFIG", "SET", "repl-diskless-sync-delay", "-1").Text);
    }

    [Fact]
    public void OursAuthenticatesToItsMasterWithMasterauthAndDelaysDisklessSyncs()
    {
        using var d1 = new TempDir("repl-auth-m");
        using var d2 = new TempDir("repl-auth-r");
        using var d3 = new TempDir("repl-auth-r2");
        using var redis = ServerProcess.StartRedis(d1.Path, "--repl-diskless-sync-delay", "0");
        using var ours = ServerProcess.StartOurs(d2.Path, "--save", "");
        using var m = redis.Connect();
        using var r = ours.Connect();
        m.Ok("CONFIG", "SET", "requirepass", "s3cret"); // after the start (the harness PINGs to see it is up)
        m.Ok("SET", "k", "v");
        r.Ok("CONFIG", "SET", "masterauth", "wrong");
        r.Ok("REPLICAOF", "127.0.0.1", S(redis.Port));
        WaitFor(() => ours.Output.Contains("Unable to AUTH to MASTER", StringComparison.Ordinal), "the AUTH with a wrong masterauth to fail");
        Assert.Equal("down", r.Info("master_link_status"));
        r.Ok("CONFIG", "SET", "masterauth", "s3cret");
        WaitInSync(m, r);
        Assert.Equal("v", r.Ok("GET", "k").Text);

        // Ours from ours (started with --replicaof HOST PORT as two words, as redis-server takes it), diskless, after repl-diskless-sync-delay (redis waits for more
        // replicas to join meanwhile).
        r.Ok("REPLICAOF", "NO", "ONE");
        r.Ok("CONFIG", "SET", "repl-diskless-sync-delay", "2");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var ours2 = ServerProcess.StartOurs(d3.Path, "--save", "", "--replicaof", "127.0.0.1", S(ours.Port));
        using var r2 = ours2.Connect();
        Assert.Equal($"127.0.0.1 {ours.Port}", r2.Ok("CONFIG", "GET", "replicaof").Items![1].Text);
        Assert.Equal($"127.0.0.1 {ours.Port}", r2.Ok("CONFIG", "GET", "slaveof").Items![1].Text);
        WaitInSync(r, r2);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.9), $"synchronised after {watch.Elapsed}, before the 2 s delay");
        Assert.Equal("v", r2.Ok("GET", "k").Text);
        // the log is written by a background thread: the line may reach the pipe a moment later
        WaitFor(() => ours.Output.Contains("Starting BGSAVE for SYNC with target: replicas sockets", StringComparison.Ordinal), "the diskless transfer's log line");
        Assert.Equal("1", r.Info("sync_full"));
    }

    [Fact]
    public void AReplicasAppendOnlyFileIsRewrittenFromWhatItLoadedFromItsMaster()
    {
        using var d1 = new TempDir("repl-aof-m");
        using var d2 = new TempDir("repl-aof-r");
        using var redis = ServerProcess.StartRedis(d1.Path, "--repl-diskless-sync-delay", "0");
        using var m = redis.Connect();
        Dataset.BuildPartOne(m);
        SortedDictionary<string, KeyState> expected;
        using (var ours = ServerProcess.StartOurs(d2.Path, "--save", "", "--appendonly", "yes"))
        using (var r = ours.Connect())
        {
            r.Ok("SET", "only:here", "before the sync"); // goes with the full sync
            r.Ok("REPLICAOF", "127.0.0.1", S(redis.Port));
            WaitInSync(m, r);
            WaitFor(() => ours.Output.Contains(":S ", StringComparison.Ordinal), "a log line with a replica's role letter");
            Dataset.BuildPartTwo(m);
            WaitInSync(m, r);
            r.WaitForBackgroundWork(Deadline);
            expected = Dataset.Read(m);
            Dataset.AssertSame(expected, Dataset.Read(r), "the replica", Compare.AofReplayVersusLive);
        } // killed (SIGKILL): only the AOF remains
        using var restarted = ServerProcess.StartOurs(d2.Path, "--save", "", "--appendonly", "yes");
        using var c = restarted.Connect();
        Dataset.AssertSame(expected, Dataset.Read(c), "our replica restarted from its AOF", Compare.AofReplayVersusLive);
    }

    /// <summary>A replica does not expire keys itself: a key past its TTL reads as missing but stays until the
    /// master's DEL arrives (redis-server as the master, its active expiry off so that only a lookup expires it).</summary>
    [Fact]
    public void OurReplicaHidesExpiredKeysUntilTheMasterDeletesThem()
    {
        using var d1 = new TempDir("repl-exp-m");
        using var d2 = new TempDir("repl-exp-r");
        using var redis = ServerProcess.StartRedis(d1.Path, "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes");
        using var ours = ServerProcess.StartOurs(d2.Path, "--save", "");
        using var m = redis.Connect();
        using var r = ours.Connect();
        m.Ok("DEBUG", "SET-ACTIVE-EXPIRE", "0");
        r.Ok("REPLICAOF", "127.0.0.1", S(redis.Port));
        WaitInSync(m, r);
        m.Ok("SET", "soon", "v", "PX", "200");
        m.Ok("SET", "stays", "v");
        WaitInSync(m, r);
        Assert.Equal("v", r.Ok("GET", "soon").Text);
        Thread.Sleep(400); // the TTL passes (the clock is both processes' wall clock)
        Assert.True(r.Ok("GET", "soon").IsNull);          // logically expired: missing for a reader
        Assert.Equal(0, r.Ok("EXISTS", "soon").Integer);
        Assert.Equal(2, r.Ok("DBSIZE").Integer);            // but still held: the replica did not delete it
        Assert.Equal(2, m.Ok("DBSIZE").Integer);            // nor did the master yet
        Assert.True(m.Ok("GET", "soon").IsNull);            // the master's lookup expires it and sends DEL
        WaitInSync(m, r);
        Assert.Equal(1, r.Ok("DBSIZE").Integer);
        Assert.Equal("v", r.Ok("GET", "stays").Text);
    }
}
