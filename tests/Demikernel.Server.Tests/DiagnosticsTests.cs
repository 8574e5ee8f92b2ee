using System.Text.RegularExpressions;
using Demikernel.Server.Diagnostics;

namespace Demikernel.Server.Tests;

/// <summary>
/// INFO commandstats/errorstats/latencystats, SLOWLOG, LATENCY, MEMORY and their parameters (Diagnostics/), through
/// the dispatcher; deterministic replies compared byte for byte with redis-server 7.0.15.
/// </summary>
public sealed class DiagnosticsTests
{
    private static readonly string[][] Script =
    [
        ["SLOWLOG", "HELP"], ["SLOWLOG", "GET", "x"], ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "LEN", "1"], ["SLOWLOG"],
        ["SLOWLOG", "NOPE"], ["SLOWLOG", "RESET"], ["SLOWLOG", "LEN"], ["SLOWLOG", "GET"], ["SLOWLOG", "GET", "-1"],
        ["MEMORY", "HELP"], ["MEMORY", "USAGE"], ["MEMORY", "USAGE", "nokey"], ["MEMORY", "USAGE", "nokey", "SAMPLES"],
        ["MEMORY", "USAGE", "nokey", "SAMPLES", "x"], ["MEMORY", "USAGE", "nokey", "SAMPLES", "-1"], ["MEMORY", "USAGE", "nokey", "FOO", "1"],
        ["MEMORY", "NOPE"], ["MEMORY", "STATS", "x"], ["MEMORY", "DOCTOR"],
        ["LATENCY", "LATEST", "x"], ["LATENCY", "HISTORY"], ["LATENCY", "RESET", "a", "b"], ["LATENCY", "RESET"],
        ["LATENCY", "HISTORY", "nope"], ["LATENCY", "LATEST"], ["LATENCY", "DOCTOR"], ["LATENCY", "DOCTOR", "x"],
        ["LATENCY", "GRAPH"], ["LATENCY", "GRAPH", "command"], ["LATENCY", "GRAPH", "a", "b"], ["LATENCY", "HELP"],
        ["LOLWUT"], ["lolwut", "version", "7"], ["LOLWUT", "VERSION", "x"], ["LOLWUT", "VERSION", "-1"], ["LOLWUT", "5"],
        ["LOLWUT", "VERSION"], ["LOLWUT", "VERSION", "5", "x"], ["LOLWUT", "VERSION", "6", "1", "x"],
        ["LOLWUT", "VERSION", "5", "1", "1", "1"], ["LOLWUT", "VERSION", "5", "10", "3", "2"], ["LOLWUT", "VERSION", "4", "1", "1", "1"],
        ["LOLWUT", "VERSION", "5", "-5", "0", "1", "extra"], ["LOLWUT", "VERSION", "6", "1", "1"],
        ["READONLY"], ["READWRITE"], ["ASKING"], ["READONLY", "x"], ["PUBSUB", "HELP"], ["PUBSUB", "HELP", "x"],
        ["COMMAND", "INFO", "ASKING", "READONLY", "READWRITE"],
        ["CLIENT", "REPLY", "BAD"], ["CLIENT", "REPLY"], ["CLIENT", "REPLY", "ON"],
        ["CLIENT", "UNBLOCK", "x"], ["CLIENT", "UNBLOCK", "99999"], ["CLIENT", "UNBLOCK", "1", "FOO"], ["CLIENT", "UNBLOCK", "x", "FOO"],
        ["CLIENT", "UNBLOCK", "1", "ERROR", "x"], ["CLIENT", "PAUSE", "x"], ["CLIENT", "PAUSE", "-1"], ["CLIENT", "PAUSE", "10", "FOO"],
        ["CLIENT", "PAUSE", "x", "FOO"], ["CLIENT", "pause", "1", "ALL", "x"], ["CLIENT", "PAUSE", "0"], ["CLIENT", "UNPAUSE"], ["CLIENT", "UNPAUSE", "x"],
        ["CONFIG", "SET", "slowlog-log-slower-than", "-2"], ["CONFIG", "SET", "slowlog-max-len", "-1"],
        ["CONFIG", "SET", "slowlog-max-len", "x"], ["CONFIG", "SET", "latency-monitor-threshold", "-1"],
        ["CONFIG", "SET", "latency-tracking", "maybe"], ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 x"],
        ["CONFIG", "SET", "latency-tracking-info-percentiles", "101"], ["CONFIG", "GET", "latency-tracking"],
        ["CONFIG", "GET", "latency-tracking-info-percentiles"],
        ["CONFIG", "SET", "latency-tracking-info-percentiles", "50.5000 1e2 0"], ["CONFIG", "GET", "latency-tracking-info-percentiles"],
        ["CONFIG", "SET", "latency-tracking-info-percentiles", ""], ["CONFIG", "GET", "latency-tracking-info-percentiles"],
        ["CONFIG", "SET", "slowlog-max-len", "5", "slowlog-log-slower-than", "-1", "latency-monitor-threshold", "100"],
        ["DEBUG", "SLEEP", "0"], ["DEBUG"], ["debug", "help"], ["CONFIG", "SET", "enable-debug-command", "yes"],
        ["CONFIG", "GET", "enable-debug-command"],
        ["CONFIG", "GET", "slowlog-max-len"], ["CONFIG", "GET", "slowlog-log-slower-than"], ["CONFIG", "GET", "latency-monitor-threshold"],
    ];

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RepliesMatchRedisServer(int protocol) => ReferenceRedis.AssertSameReplies(Script, protocol);

    /// <summary>The same commands (successes, rejected ones, failed ones, subcommands) give redis-server's counts in
    /// INFO commandstats (times left out) and errorstats, and CONFIG RESETSTAT clears them.</summary>
    [Fact]
    public void CommandAndErrorStatsCountAsRedisServerCounts()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        string[][] script =
        [
            ["CONFIG", "RESETSTAT"], ["NOSUCH"], ["SET", "k", "v"], ["GET", "k"], ["GET"], ["INCR", "k"], ["LPUSH", "k", "x"], ["CONFIG", "GET", "hz"],
            ["CONFIG", "GET"], ["NOSUCH"], ["CONFIG", "NOSUCH"], ["MULTI"], ["SET", "a", "1"], ["INCR", "k"], ["EXEC"],
            ["MULTI"], ["GET"], ["EXEC"], ["XADD", "s", "bad", "f", "v"], ["SLOWLOG", "GET", "x"],
        ];
        // pipelined on a connection of its own: the reference's reply marker would be queued inside MULTI
        using (var raw = new System.Net.Sockets.TcpClient("127.0.0.1", redis.Port))
        {
            var stream = raw.GetStream();
            stream.ReadTimeout = 10_000;
            foreach (var command in script)
            {
                stream.Write(CommandHarness.EncodeRequest(command));
                h.Run(command);
            }
            stream.Write(CommandHarness.EncodeRequest("ECHO", "end-of-script"));
            var received = new System.Text.StringBuilder();
            var buffer = new byte[4096];
            while (!received.ToString().EndsWith("end-of-script\r\n", StringComparison.Ordinal))
                received.Append(System.Text.Encoding.Latin1.GetString(buffer, 0, stream.Read(buffer)));
        }
        string theirs = string.Join("\n", Counts(redis.Run("INFO", "commandstats"))), ours = string.Join("\n", Counts(h.Run("INFO", "commandstats")));
        Assert.True(theirs == ours, $"redis:\n{theirs}\nours:\n{ours}");
        Assert.Equal(Lines(redis.Run("INFO", "errorstats")), Lines(h.Run("INFO", "errorstats")));
        Assert.Equal(Field(redis.Run("INFO", "stats"), "total_error_replies"), Field(h.Run("INFO", "stats"), "total_error_replies"));
        Assert.Matches(@"cmdstat_config\|get:calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0\r\n", h.Run("INFO", "commandstats"));

        h.Run("CONFIG", "RESETSTAT");
        redis.Run("CONFIG", "RESETSTAT");
        Assert.Equal(Counts(redis.Run("INFO", "commandstats")), Counts(h.Run("INFO", "commandstats")));
        Assert.Equal(Lines(redis.Run("INFO", "errorstats")), Lines(h.Run("INFO", "errorstats")));
        Assert.Equal("0", Field(h.Run("INFO", "stats"), "total_error_replies"));
        // errorstats is a default section; commandstats and latencystats only come with "all"/"everything" or by name
        Assert.Contains("# Errorstats", h.Run("INFO"));
        Assert.DoesNotContain("# Commandstats", h.Run("INFO"));
        Assert.Contains("# Latencystats", h.Run("INFO", "everything"));
    }

    private static List<string> Lines(string info) =>
        info.Split("\r\n").Where(l => l.Length > 0 && !l.StartsWith('$') && !l.StartsWith('=')).Select(l => l.StartsWith("txt:", StringComparison.Ordinal) ? l[4..] : l).ToList();

    /// <summary>commandstats lines without the times (usec, usec_per_call), in name order (redis's is its hash
    /// order), without the reference connection's own ECHO markers.</summary>
    private static List<string> Counts(string info) =>
        Lines(info).Select(l => Regex.Replace(l, @"usec=\d+,usec_per_call=[\d.]+,", ""))
            .Where(l => !l.StartsWith("cmdstat_echo:", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    private static string Field(string info, string name) =>
        Lines(info).Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..];

    /// <summary>latency-tracking: per-command percentiles in redis's format (the values are the HdrHistogram's
    /// highest equivalent values of the buckets, which the histogram's own test pins).</summary>
    [Fact]
    public void LatencyStatsFollowTheParameters()
    {
        using var h = new CommandHarness();
        h.Run("SET", "k", "v");
        h.Run("CONFIG", "GET", "hz");
        string info = h.Run("INFO", "latencystats");
        Assert.Matches(@"latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n", info);
        Assert.Contains("latency_percentiles_usec_config|get:p50=", info);
        h.Run("CONFIG", "SET", "latency-tracking-info-percentiles", "0 100");
        Assert.Matches(@"latency_percentiles_usec_set:p0=\d+\.\d{3},p100=\d+\.\d{3}\r\n", h.Run("INFO", "latencystats"));
        h.Run("CONFIG", "RESETSTAT");
        h.Run("CONFIG", "SET", "latency-tracking", "no");
        h.Run("SET", "k", "v");
        Assert.DoesNotContain("latency_percentiles_usec_set", h.Run("INFO", "latencystats"));
    }

    [Fact]
    public void HistogramPercentilesAreHdrBucketValues()
    {
        var histogram = new LatencyHistogram();
        for (int i = 0; i < 100; i++) histogram.RecordMicros(1); // 1000 ns: bucket [1000, 1003]
        Assert.Equal(1003, histogram.ValueAtPercentile(50));
        Assert.Equal(1000, histogram.ValueAtPercentile(0));
        histogram.RecordMicros(0); // clamped to 1 ns: exact below 256
        Assert.Equal(1, histogram.ValueAtPercentile(0));
        histogram.RecordMicros(5000); // 5 ms: bucket of width 64
        Assert.Equal(5_000_000 - (5_000_000 % 32768) + 32767, histogram.ValueAtPercentile(100));
        histogram.RecordMicros(10_000_000); // clamped to 1 s
        Assert.Equal(103, histogram.TotalCount);
    }

    /// <summary>LATENCY HISTOGRAM's buckets: the log iteration from 1024 ns doubling, as redis's fillCommandCDF.</summary>
    [Fact]
    public void HistogramBucketsFollowTheLogIteration()
    {
        var histogram = new LatencyHistogram();
        for (int i = 0; i < 3; i++) histogram.RecordMicros(1);   // 1000 ns
        histogram.RecordMicros(3);                               // 3000 ns
        histogram.RecordMicros(100);                             // 100 µs
        // levels 1024, 2048, 4096, ...: a step reports where the iteration stands once it reaches the level (the
        // bucket holding 1024 -> 1 µs, 3 counted; then 4096's -> 4 µs, 4 counted; 131072's -> 132 µs, 5 counted),
        // which is why redis-server's buckets read 1, 2, 4, 8, 16, 33, 66, 132, ...
        Assert.Equal([(1L, 3L), (4L, 4L), (132L, 5L)], histogram.LogBuckets());
        using var h = new CommandHarness();
        h.Run("SET", "k", "v");
        h.Run("SET", "k", "w");
        h.Run("CONFIG", "GET", "hz");
        string all = h.Run("LATENCY", "HISTOGRAM");
        Assert.StartsWith("*4\r\n$10\r\nconfig|get\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*", all);
        Assert.Contains("$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:2\r\n", all);
        Assert.StartsWith("*2\r\n$3\r\nset\r\n", h.Run("LATENCY", "HISTOGRAM", "SET", "nosuch", "config|set"));
        Assert.StartsWith("*2\r\n$10\r\nconfig|get\r\n", h.Run("LATENCY", "HISTOGRAM", "config"));
        Assert.Equal("*0\r\n", h.Run("LATENCY", "HISTOGRAM", "get"));
    }

    [Fact]
    public void InstantaneousFiguresAreTheMeanOfSixteenSamples()
    {
        var metrics = new InstantaneousMetrics();
        metrics.Tick(0, 0, 0, 0);
        for (int i = 1; i <= 16; i++) metrics.Tick(i * 100, i * 50, i * 1024, i * 2048); // 500 ops/s, 10 KB/s, 20 KB/s
        Assert.Equal(500, metrics.OpsPerSec);
        Assert.Equal(10240, metrics.InputBytesPerSec);
        Assert.Equal(20480, metrics.OutputBytesPerSec);
        metrics.Tick(1650, 10_000, 0, 0); // under 100 ms since the last sample: not taken
        Assert.Equal(500, metrics.OpsPerSec);
        metrics.Reset(2000, 800, 0, 0);
        Assert.Equal(0, metrics.OpsPerSec);
    }

    [Fact]
    public void SlowLogTrimsArgumentsAsRedisServer()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "slowlog-log-slower-than", "0");
        var many = new[] { "RPUSH", "list" }.Concat(Enumerable.Range(0, 40).Select(i => i.ToString())).ToArray();
        h.Run(many);
        string big = new('x', 200);
        h.Run("SET", "k", big);
        h.Client.Name = "me";
        h.Run("AUTH", "secret");
        string reply = h.Run("SLOWLOG", "GET", "3");
        Assert.StartsWith("*3\r\n*6\r\n:", reply);
        // newest first: AUTH (redacted), SET (value cut to 128 bytes), RPUSH (32 arguments, the last one a count)
        Assert.Contains("*2\r\n$4\r\nAUTH\r\n$10\r\n(redacted)\r\n", reply);
        Assert.Contains($"$147\r\n{new string('x', 128)}... (72 more bytes)\r\n", reply);
        Assert.Contains("*32\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n", reply);
        Assert.Contains("$23\r\n... (11 more arguments)\r\n", reply);
        Assert.Contains("$2\r\nme\r\n", reply);
        Assert.Equal(":5\r\n", h.Run("SLOWLOG", "LEN")); // CONFIG SET, RPUSH, SET, AUTH, SLOWLOG GET
        h.Run("CONFIG", "SET", "slowlog-max-len", "2");
        h.Run("PING");
        Assert.Equal(":2\r\n", h.Run("SLOWLOG", "LEN"));
        h.Run("CONFIG", "SET", "slowlog-log-slower-than", "-1");
        Assert.Equal("+OK\r\n", h.Run("SLOWLOG", "RESET"));
        h.Run("PING");
        Assert.Equal(":0\r\n", h.Run("SLOWLOG", "LEN"));
    }

    [Fact]
    public void LatencyMonitorRecordsCommandEventsOverTheThreshold()
    {
        using var h = new CommandHarness();
        // a threshold no real command reaches; samples are added by hand (a command is not slow on demand), and the
        // series behaves as redis's: one sample per second, the higher one kept, the all-time maximum
        h.Run("CONFIG", "SET", "latency-monitor-threshold", "1000000");
        var latency = h.Server.Diagnostics.Latency;
        latency.AddIfNeeded("command", 5_000_000, 1000);
        latency.AddIfNeeded("command", 9_000_000, 1000);
        latency.AddIfNeeded("command", 3_000_000, 1001);
        latency.AddIfNeeded("fast-command", 999_999, 1001); // under the threshold
        Assert.Equal("*1\r\n*4\r\n$7\r\ncommand\r\n:1001\r\n:3000000\r\n:9000000\r\n", h.Run("LATENCY", "LATEST"));
        Assert.Equal("*2\r\n*2\r\n:1000\r\n:9000000\r\n*2\r\n:1001\r\n:3000000\r\n", h.Run("LATENCY", "HISTORY", "command"));
        Assert.Equal(":1\r\n", h.Run("LATENCY", "RESET", "command", "nope"));
        Assert.Equal("*0\r\n", h.Run("LATENCY", "LATEST"));
    }

    /// <summary>LOLWUT's drawings are random in redis too: the same size, the same lines and the same text.</summary>
    [Theory]
    [InlineData("5")]
    [InlineData("6")]
    public void LolwutDrawsTheSameShapeAsRedisServer(string version)
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        foreach (var size in new[] { Array.Empty<string>(), ["40"], ["33", "7"], ["20", "5", "9"] })
        {
            string[] command = ["LOLWUT", "VERSION", version, .. size];
            string Shape(string reply)
            {
                var lines = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.Latin1.GetBytes(reply)).Split('\n');
                // a line's length in characters; the colour escapes of version 6 are replaced by one mark per pixel
                return string.Join("|", lines.Select(l => Regex.Replace(l, "\u001b\\[[0-9;]+m \u001b\\[0m", "#").Length
                    + (l.Contains("Redis ver.") ? ":" + l : "")));
            }
            Assert.Equal(Shape(redis.Run(command)), Shape(h.Run(command)));
        }
    }

    [Fact]
    public void LatencyGraphAndDoctorReadTheSeries()
    {
        using var h = new CommandHarness();
        long now = h.Server.NowMs / 1000;
        h.Run("CONFIG", "SET", "latency-monitor-threshold", "100");
        var latency = h.Server.Diagnostics.Latency;
        latency.Add("command", 100, now - 125);
        latency.Add("command", 400, now - 65);
        latency.Add("command", 250, now - 5);
        latency.Add("expire-cycle", 120, now - 2);
        string graph = h.Run("LATENCY", "GRAPH", "command");
        string expected = string.Join("\n",
            "command - high 400 ms, low 100 ms (all time high 400 ms)",
            new string('-', 80),
            " # ",   // step = (int)(relval*12)/relmax: 0, 11, 6 of 12 steps over four rows of "_o#"
            " |_",
            " ||",
            "_||",
            "   ",   // the blank row before the labels
            "215",   // 2m, 1m, 5s written downwards
            "mms",
            "") ;
        Assert.Equal($"${expected.Length}\r\n{expected}\r\n", graph);
        Assert.Equal("-ERR No samples available for event 'nope'\r\n", h.Run("LATENCY", "GRAPH", "nope"));
        string doctor = h.Run("LATENCY", "DOCTOR");
        Assert.Contains("1. command: 3 latency spikes (average 250ms, mean deviation 100ms, period 41.67 sec). Worst all time event 400ms.\n"
            + "2. expire-cycle: 1 latency spikes (average 120ms, mean deviation 0ms, period 2.00 sec). Worst all time event 120ms.\n", doctor);
        // slowlog-log-slower-than 10000 us = 10 ms is under the 100 ms threshold: no tuning advice; hz 10 < 100: the hz one
        Assert.Contains("- Check your Slow Log to understand", doctor);
        Assert.DoesNotContain("Your current Slow Log configuration", doctor);
        Assert.Contains("'CONFIG SET hz 100'", doctor);
        Assert.Contains("- Deleting, expiring or evicting", doctor);
    }

    [Fact]
    public void MemoryUsageFollowsTheStoreAccounting()
    {
        using var h = new CommandHarness();
        h.Run("SET", "small", "v");
        h.Run("SET", "big", new string('x', 10_000));
        long small = long.Parse(h.Run("MEMORY", "USAGE", "small")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        long big = long.Parse(h.Run("MEMORY", "USAGE", "big", "SAMPLES", "0")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(40 + 8, small); // a compact key: its slot and an 8-byte slab block for "small" + "v"
        Assert.InRange(big - small, 10_000, 10_200); // an object key: slot, entry, key and value arrays
        for (int i = 0; i < 100; i++) h.Run("RPUSH", "list", i.ToString());
        long list = long.Parse(h.Run("MEMORY", "USAGE", "list")[1..^2], System.Globalization.CultureInfo.InvariantCulture);
        long used = h.Server.Databases[0].UsedMemory;
        Assert.True(list < used && list > 100 * 8, $"{list} of {used}");
        string stats = h.Run("MEMORY", "STATS");
        Assert.Contains("$10\r\nkeys.count\r\n:3\r\n", stats);
        Assert.Contains("$4\r\ndb.0\r\n", stats);
        Assert.Equal("+OK\r\n", h.Run("MEMORY", "PURGE"));
        Assert.Equal("$45\r\nStats not supported for the current allocator\r\n", h.Run("MEMORY", "MALLOC-STATS"));
    }

    /// <summary>While clients are paused keys do not expire: an expired key reads as absent but stays until the end.</summary>
    [Fact]
    public void PauseStopsExpiry()
    {
        using var h = new CommandHarness();
        h.Run("SET", "k", "v", "PX", "100");
        Assert.Equal("+OK\r\n", h.Run("CLIENT", "PAUSE", "10000", "WRITE"));
        h.AdvanceMs(200);
        Assert.Equal("$-1\r\n", h.Run("GET", "k"));
        Assert.Equal(0, h.Db.ActiveExpireCycle(20));
        Assert.Equal(":1\r\n", h.Run("DBSIZE"));
        Assert.Equal("+OK\r\n", h.Run("CLIENT", "UNPAUSE"));
        Assert.Equal("$-1\r\n", h.Run("GET", "k"));
        Assert.Equal(":0\r\n", h.Run("DBSIZE"));
        // a pause that ran out lets expiry go on by itself
        h.Run("SET", "k", "v", "PX", "100");
        h.Run("CLIENT", "PAUSE", "50");
        h.AdvanceMs(200);
        Assert.Equal("$-1\r\n", h.Run("GET", "k"));
        Assert.Equal(":0\r\n", h.Run("DBSIZE"));
    }

    /// <summary>DEBUG with enable-debug-command yes: the subcommands implemented, their errors, DEBUG OBJECT's line.</summary>
    [Fact]
    public void DebugMatchesRedisServer()
    {
        using var redis = ReferenceRedis.TryStart("--enable-debug-command yes");
        using var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        string[][] script =
        [
            ["DEBUG", "NOPE"], ["DEBUG", "OBJECT", "nokey"], ["DEBUG", "OBJECT"], ["DEBUG", "SLEEP"], ["DEBUG", "SLEEP", "0"],
            ["DEBUG", "SLEEP", "x"], ["DEBUG", "SLEEP", "0.001"], ["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
            ["DEBUG", "set-active-expire", "x"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"], ["DEBUG", "OBJECT", "a", "b"], ["DEBUG", "HELP", "x"],
        ];
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        // a long value that LZF cannot shorten (a compressible one would measure the two compressors' outputs)
        var rng = new Random(7);
        string noise = new(Enumerable.Range(0, 300).Select(_ => (char)rng.Next('!', '~')).ToArray());
        foreach (var (key, value) in new[] { ("s", "hello"), ("n", "123"), ("big", noise) })
        {
            redis.Run("SET", key, value);
            h.Run("SET", key, value);
            static string Fields(string line) => Regex.Replace(line, @"Value at:0x[0-9a-f]+ | lru:\d+ lru_seconds_idle:\d+", "");
            Assert.Equal(Fields(redis.Run("DEBUG", "OBJECT", key)), Fields(h.Run("DEBUG", "OBJECT", key)));
        }
        h.Run("DEBUG", "SET-ACTIVE-EXPIRE", "0");
        Assert.False(h.Server.Diagnostics.ActiveExpire);
        h.Run("DEBUG", "SET-ACTIVE-EXPIRE", "1");
        Assert.True(h.Server.Diagnostics.ActiveExpire);
    }

    /// <summary>DEBUG POPULATE, DIGEST (redis's SHA-1 signature over every type, TTLs and databases), DIGEST-VALUE,
    /// PROTOCOL in both protocols, ERROR, LOG and RELOAD with its options: the same replies as redis-server 7.0.15.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void DebugDigestPopulateProtocolAndReloadMatchRedisServer(int protocol)
    {
        // each server saves into its own directory, set at start (CONFIG SET dir is protected)
        string redisDir = Directory.CreateTempSubdirectory("debug-redis-").FullName;
        string ourDir = Directory.CreateTempSubdirectory("debug-ours-").FullName;
        using var redis = ReferenceRedis.TryStart($"--enable-debug-command yes --dir {redisDir}");
        using var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        h.Server.Config.LoadDirective("dir", [ourDir], out _);
        h.Server.Config.LoadDirective("save", [""], out _); // as the reference: FLUSHALL does not save
        redis.Run("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
        h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
        var zbig = new List<string> { "ZADD", "zbig" };
        for (int i = 0; i < 200; i++) zbig.AddRange([(i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture), $"m{i}"]);
        string[][] script =
        [
            ["DEBUG", "DIGEST"], ["DEBUG", "DIGEST", "x"], ["DEBUG", "POPULATE"], ["DEBUG", "POPULATE", "x"], ["DEBUG", "POPULATE", "-1"],
            ["DEBUG", "POPULATE", "10"], ["DEBUG", "POPULATE", "5", "p", "3"], ["DEBUG", "POPULATE", "3", "q", "20"],
            ["DEBUG", "POPULATE", "3", "q", "-2"], ["DEBUG", "POPULATE", "1", "2", "3", "4"], ["DEBUG", "POPULATE", "12"],
            ["MGET", "key:0", "key:11", "p:4", "q:2"], ["DBSIZE"], ["DEBUG", "DIGEST"],
            ["SET", "s", "hello"], ["SET", "n", "123"], ["RPUSH", "l", "a", "b", "c", "1", "2"], ["SADD", "st", "a", "b", "c"],
            ["SADD", "si", "1", "2", "300000"], ["ZADD", "z", "1", "a", "2.5", "b", "-inf", "c", "0.1", "d"], [.. zbig],
            ["HSET", "h", "f", "v", "g", "w"], ["XADD", "x", "1-1", "a", "1", "b", "2"], ["XADD", "x", "2-5", "c", "3"],
            ["SET", "e", "v", "EX", "1000"], ["SELECT", "1"], ["SET", "other", "1"], ["SELECT", "0"],
            ["DEBUG", "DIGEST"], ["DEBUG", "DIGEST-VALUE", "s", "n", "l", "st", "si", "z", "zbig", "h", "x", "e", "nokey"],
            ["DEBUG", "DIGEST-VALUE"],
            ["DEBUG", "PROTOCOL", "string"], ["DEBUG", "PROTOCOL", "integer"], ["DEBUG", "PROTOCOL", "double"],
            ["DEBUG", "PROTOCOL", "bignum"], ["DEBUG", "PROTOCOL", "null"], ["DEBUG", "PROTOCOL", "array"], ["DEBUG", "PROTOCOL", "set"],
            ["DEBUG", "PROTOCOL", "map"], ["DEBUG", "PROTOCOL", "attrib"], ["DEBUG", "PROTOCOL", "push"], ["DEBUG", "PROTOCOL", "verbatim"],
            ["DEBUG", "PROTOCOL", "TRUE"], ["DEBUG", "PROTOCOL", "false"], ["DEBUG", "PROTOCOL", "nope"], ["DEBUG", "PROTOCOL"],
            ["DEBUG", "ERROR", "CUSTOM bad\r\nthing"], ["DEBUG", "ERROR"], ["DEBUG", "LOG", "hello from a test"],
            ["DEBUG", "RELOAD", "BAD"], ["DEBUG", "RELOAD"], ["DEBUG", "DIGEST"], ["FLUSHALL"], ["DEBUG", "DIGEST"],
            ["DEBUG", "RELOAD", "NOSAVE"], ["DEBUG", "DIGEST"], ["SET", "s", "changed"], ["SET", "new", "1"],
            ["DEBUG", "RELOAD", "nosave", "noflush", "merge"], ["GET", "s"], ["GET", "new"], ["DBSIZE"], ["TTL", "e"],
        ];
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.StartsWith("+", h.Run("DEBUG", "CHANGE-REPL-ID"));
        Directory.Delete(redisDir, recursive: true);
        Directory.Delete(ourDir, recursive: true);
    }

    [Fact]
    public void CommandsAreRegisteredWithRedisMetadata()
    {
        using var h = new CommandHarness();
        foreach (var name in new[] { "SLOWLOG", "LATENCY", "MEMORY", "MONITOR", "DEBUG" })
            Assert.DoesNotContain("unknown", h.Run("COMMAND", "INFO", name), StringComparison.Ordinal);
    }
}
