using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// MONITOR, CLIENT REPLY and the instantaneous figures over real sockets, and redis-cli's --stat, --bigkeys and
/// --memkeys (which read INFO, SCAN, TYPE, the size commands and MEMORY USAGE) against the server. A server of its own,
/// so that MONITOR sees only these tests' commands.
/// </summary>
public sealed class DiagnosticsClientTests(ServerFixture server) : ServerTestBase(server), IClassFixture<ServerFixture>
{
    private static readonly Regex MonitorLine = new(@"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$");

    private static string Body(string line)
    {
        var m = MonitorLine.Match(line);
        Assert.True(m.Success, line);
        return $"[{m.Groups[3].Value} {(m.Groups[4].Value == "lua" ? "lua" : "addr")}] {m.Groups[5].Value}";
    }

    /// <summary>The lines redis-server 7.0.15 shows for the same requests (recorded from it, addresses replaced).</summary>
    [Fact]
    public void MonitorShowsCommandsAsRedisServer()
    {
        lock (MonitorLock)
        {
            using var monitor = new RawConnection(Server);
            Assert.Equal("+OK", monitor.Command("MONITOR").ToString());
            using var c = new RawConnection(Server);
            c.Command("SET", "a", "1");
            c.Command("MULTI");
            c.Command("SET", "b", "2");
            c.Command("EVAL", "redis.call('incr','b')", "0");
            c.Command("EXEC");
            c.Command("GET"); // rejected: not shown
            c.Command("CONFIG", "GET", "hz"); // admin: not shown
            c.Command("AUTH", "secret");
            c.Command("HELLO", "2", "AUTH", "default", "pw");
            c.Command("SET", "k", "a\u0000b\n\"");
            c.Command("SELECT", "2");
            c.Command("EVAL", "redis.call('select','5'); redis.call('set','a','1'); return 1", "0");
            c.Command("SELECT", "0");
            c.Command("FUNCTION", "LOAD", "REPLACE", "#!lua name=monlib\nredis.register_function('monf', function(keys) return redis.call('incr', keys[1]) end)");
            c.Command("FCALL", "monf", "1", "fk");
            string[] expected =
            [
                "[0 addr] \"SET\" \"a\" \"1\"",
                "[0 addr] \"MULTI\"",
                "[0 addr] \"SET\" \"b\" \"2\"",
                "[0 addr] \"EVAL\" \"redis.call('incr','b')\" \"0\"",
                "[0 lua] \"incr\" \"b\"",
                "[0 addr] \"EXEC\"",
                "[0 addr] \"AUTH\" \"(redacted)\"",
                "[0 addr] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"",
                "[0 addr] \"SET\" \"k\" \"a\\x00b\\n\\\"\"",
                "[2 addr] \"SELECT\" \"2\"",
                "[2 addr] \"EVAL\" \"redis.call('select','5'); redis.call('set','a','1'); return 1\" \"0\"",
                "[5 lua] \"select\" \"5\"",
                "[5 lua] \"set\" \"a\" \"1\"",
                "[0 addr] \"SELECT\" \"0\"",
                "[0 addr] \"FUNCTION\" \"LOAD\" \"REPLACE\" \"#!lua name=monlib\\nredis.register_function('monf', function(keys) return redis.call('incr', keys[1]) end)\"",
                "[0 addr] \"FCALL\" \"monf\" \"1\" \"fk\"",
                "[0 lua] \"incr\" \"fk\"",
            ];
            foreach (var line in expected) Assert.Equal(line, Body(monitor.ReadLine()));

            // a monitor may not touch the keyspace; RESET ends MONITOR mode
            Assert.Equal("-ERR Replica can't interact with the keyspace", monitor.Command("GET", "a").ToString());
            Assert.Contains("flags=O ", monitor.Command("CLIENT", "INFO").ToString());
            Assert.Equal("[0 addr] \"CLIENT\" \"INFO\"", Body(monitor.ReadLine()));
            Assert.Equal("+RESET", monitor.Command("RESET").ToString());
            Assert.Equal("$1", monitor.Command("GET", "a").ToString()[..2]);
        }
    }

    private static readonly object MonitorLock = new();

    [Fact]
    public void MonitorIsRefusedInsideExec()
    {
        using var c = new RawConnection(Server);
        c.Command("MULTI");
        c.Command("MONITOR");
        Assert.Equal("*[-ERR MONITOR isn't allowed for DENY BLOCKING client]", c.Command("EXEC").ToString());
    }

    [Fact]
    public async Task RedisCliMonitorPrintsTheCommands()
    {
        var info = new ProcessStartInfo(RedisCli.Path) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-h", Server.Host, "-p", Server.Port.ToString(CultureInfo.InvariantCulture), "monitor" }) info.ArgumentList.Add(a);
        Assert.True(File.Exists(RedisCli.Path), "redis-cli is missing");
        using var process = Process.Start(info)!;
        try
        {
            Assert.Equal("OK", await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            string key = UniqueKey("mon");
            using (var c = new RawConnection(Server)) c.Command("SET", key, "seen by redis-cli");
            string? line;
            do line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            while (line is not null && !line.Contains(key, StringComparison.Ordinal));
            Assert.Matches($@"^\d+\.\d{{6}} \[0 127\.0\.0\.1:\d+\] ""SET"" ""{Regex.Escape(key)}"" ""seen by redis-cli""$", line);
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public void ClientReplyOffAndSkipDropReplies()
    {
        using var c = new RawConnection(Server);
        string key = UniqueKey("reply");
        c.Send(RawConnection.Encode("CLIENT", "REPLY", "OFF") + RawConnection.Encode("SET", key, "1") + RawConnection.Encode("PING")
               + RawConnection.Encode("CLIENT", "REPLY", "ON") + RawConnection.Encode("GET", key)
               + RawConnection.Encode("CLIENT", "REPLY", "SKIP") + RawConnection.Encode("INCR", key) + RawConnection.Encode("GET", key));
        Assert.Equal("+OK", c.ReadReply().ToString());
        Assert.Equal("$1", c.ReadReply().ToString());
        Assert.Equal("$2", c.ReadReply().ToString());
    }

    [Fact]
    public void InstantaneousOpsPerSecondComesFromTheCronSamples()
    {
        using var c = new RawConnection(Server);
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < 600) c.Command("PING");
        string info = c.Command("INFO", "stats").ToString();
        var ops = Regex.Match(info, @"instantaneous_ops_per_sec:(\d+)");
        Assert.True(ops.Success && long.Parse(ops.Groups[1].Value, CultureInfo.InvariantCulture) > 0, info);
        Assert.Matches(@"instantaneous_input_kbps:\d+\.\d\d", info);
    }

    /// <summary>In a pipeline each command's time starts where the one before it ended (one clock read per command):
    /// a fast command after a 30 ms script is not charged the script's time, and the script gets all of it.</summary>
    [Fact]
    public void PipelinedCommandsAreEachTimedOnTheirOwn()
    {
        using var c = new RawConnection(Server);
        Assert.Equal("+OK", c.Command("CONFIG", "RESETSTAT").ToString());
        const string busy = "local s = redis.call('TIME') local t repeat t = redis.call('TIME') " +
                            "until (t[1] - s[1]) * 1000000 + (t[2] - s[2]) >= 30000 return 1";
        c.Send(RawConnection.Encode("EVAL", busy, "0") + RawConnection.Encode("ECHO", "fast"));
        Assert.Equal(":1", c.ReadReply().ToString());
        c.ReadReply();
        string info = c.Command("INFO", "commandstats").ToString();
        long Usec(string command)
        {
            var m = Regex.Match(info, $@"cmdstat_{command}:calls=1,usec=(\d+),");
            Assert.True(m.Success, info);
            return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        Assert.True(Usec("eval") >= 30000, info);
        Assert.True(Usec("echo") < 30000, info);
    }

    [Fact]
    public async Task RedisCliBigKeysAndMemKeys()
    {
        string prefix = UniqueKey("big");
        using (var c = new RawConnection(Server))
        {
            c.Command("SELECT", "7");
            c.Command("SET", prefix + ":s", new string('x', 1000));
            c.Command("SET", prefix + ":t", "y");
            c.Command("RPUSH", prefix + ":l", "a", "b", "c");
            c.Command("HSET", prefix + ":h", "f", "v", "g", "w");
            c.Command("SADD", prefix + ":set", "m");
            c.Command("ZADD", prefix + ":z", "1", "m");
            c.Command("XADD", prefix + ":x", "*", "f", "v");
        }
        var big = await RedisCli.RunAsync(Server, ["--bigkeys"], db: 7);
        Assert.True(big.ExitCode == 0, big.ToString());
        Assert.Contains($"Biggest string found '\"{prefix}:s\"' has 1000 bytes", big.Stdout);
        Assert.Contains($"Biggest   list found '\"{prefix}:l\"' has 3 items", big.Stdout);
        Assert.Contains($"Biggest   hash found '\"{prefix}:h\"' has 2 fields", big.Stdout);
        Assert.Contains($"Biggest stream found '\"{prefix}:x\"' has 1 entries", big.Stdout);
        Assert.Contains("Sampled 7 keys in the keyspace!", big.Stdout);
        Assert.Contains("2 strings with 1001 bytes (28.57% of keys, avg size 500.50)", big.Stdout);

        var mem = await RedisCli.RunAsync(Server, ["--memkeys"], db: 7);
        Assert.True(mem.ExitCode == 0, mem.ToString());
        Assert.Matches($@"Biggest string found '""{Regex.Escape(prefix)}:s""' has \d+ bytes", mem.Stdout);
        Assert.Matches(@"2 strings with \d+ bytes", mem.Stdout);
        Assert.DoesNotContain("ERR", mem.Stdout + mem.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedisCliStatPrintsRows()
    {
        // --stat prints a row per interval until killed; stdbuf makes its stdout line-buffered on a pipe
        Assert.True(File.Exists(RedisCli.Path), "redis-cli is missing");
        var info = new ProcessStartInfo("stdbuf") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-oL", RedisCli.Path, "-h", Server.Host, "-p", Server.Port.ToString(CultureInfo.InvariantCulture), "--stat", "-i", "0.1" })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        try
        {
            while (lines.Count < 5)
                lines.Add(await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException(string.Join("\n", lines)));
        }
        finally
        {
            process.Kill();
        }
        Assert.Equal("------- data ------ --------------------- load -------------------- - child -", lines[0]);
        Assert.Matches(@"^keys\s+mem\s+clients\s+blocked\s+requests\s+connections", lines[1]);
        foreach (var row in lines.Skip(2)) Assert.Matches(@"^\d+\s+\d+(\.\d+)?[BKMG]\s+\d+\s+\d+\s+\d+ \(\+\d+\)\s+\d+", row);
    }

    private static long ClientId(RawConnection c) => c.Command("CLIENT", "ID").Integer;

    [Fact]
    public void ClientUnblockAnswersTheBlockedClient()
    {
        using var blocked = new RawConnection(Server);
        using var other = new RawConnection(Server);
        long id = ClientId(blocked);
        string key = UniqueKey("unblock");
        Assert.Equal(0, other.Command("CLIENT", "UNBLOCK", id.ToString(CultureInfo.InvariantCulture)).Integer);
        blocked.SendCommand("BLPOP", key, "0");
        WaitUntilBlocked(other, id);
        Assert.Equal(1, other.Command("CLIENT", "UNBLOCK", id.ToString(CultureInfo.InvariantCulture)).Integer);
        Assert.True(blocked.ReadReply().IsNull);
        blocked.SendCommand("BLPOP", key, "0");
        WaitUntilBlocked(other, id);
        Assert.Equal(1, other.Command("CLIENT", "UNBLOCK", id.ToString(CultureInfo.InvariantCulture), "ERROR").Integer);
        Assert.Equal("-UNBLOCKED client unblocked via CLIENT UNBLOCK", blocked.ReadReply().ToString());
        Assert.Equal("+PONG", blocked.Command("PING").ToString());
    }

    private static void WaitUntilBlocked(RawConnection observer, long id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!observer.Command("CLIENT", "LIST", "ID", id.ToString(CultureInfo.InvariantCulture)).ToString().Contains("flags=b", StringComparison.Ordinal))
            Assert.True(DateTime.UtcNow < deadline, "the client never blocked");
    }

    /// <summary>CLIENT PAUSE WRITE holds writes (not reads) until CLIENT UNPAUSE; the held client is answered then.</summary>
    [Fact]
    public void PauseWriteHoldsWritesUntilUnpause()
    {
        lock (PauseLock)
        {
            using var admin = new RawConnection(Server);
            using var c = new RawConnection(Server);
            string key = UniqueKey("pause");
            Assert.Equal("+OK", admin.Command("CLIENT", "PAUSE", "100000", "WRITE").ToString());
            try
            {
                Assert.True(c.Command("GET", key).IsNull);
                c.SendCommand("SET", key, "1");
                c.SendCommand("GET", key);
                Assert.False(c.HasData(TimeSpan.FromMilliseconds(300)), "a write was answered during CLIENT PAUSE WRITE");
            }
            finally
            {
                Assert.Equal("+OK", admin.Command("CLIENT", "UNPAUSE").ToString());
            }
            Assert.Equal("+OK", c.ReadReply().ToString());
            Assert.Equal("$1", c.ReadReply().ToString()[..2]);
        }
    }

    /// <summary>CLIENT PAUSE ALL holds every command, the pausing client's too, until the time is up.</summary>
    [Fact]
    public void PauseAllHoldsEveryCommandUntilItEnds()
    {
        lock (PauseLock)
        {
            using var admin = new RawConnection(Server);
            var watch = Stopwatch.StartNew();
            Assert.Equal("+OK", admin.Command("CLIENT", "PAUSE", "400", "ALL").ToString());
            Assert.Equal("+PONG", admin.Command("PING").ToString());
            Assert.True(watch.ElapsedMilliseconds >= 350, $"PING answered after {watch.ElapsedMilliseconds} ms of a 400 ms pause");
        }
    }

    private static readonly object PauseLock = new();
}
