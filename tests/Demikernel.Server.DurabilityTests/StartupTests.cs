using System.Diagnostics;

namespace Demikernel.Server.DurabilityTests;

/// <summary>How the process ends and starts: SIGTERM saves, SHUTDOWN NOSAVE does not, CONFIG SET appendonly yes at
/// runtime creates the AOF that a restart after kill -9 loads.</summary>
public sealed class StartupTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void SignalWithSavePointsWritesTheDumpAndExitsZero(string signal)
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("sig" + signal);
        SortedDictionary<string, KeyState> before;
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", "3600 1"))
        {
            using (var c = server.Connect())
            {
                Dataset.BuildPartOne(c);
                before = Dataset.Read(c);
            }
            Assert.False(File.Exists(dir["dump.rdb"]), "dump.rdb exists before the signal");
            server.Signal(signal);
            int code = server.WaitForExit(TimeSpan.FromSeconds(60));
            Assert.True(code == 0, $"exit code {code} after SIG{signal}:\n{server.Output}");
        }
        Assert.True(File.Exists(dir["dump.rdb"]), "no dump.rdb after SIG" + signal);
        Assert.Equal(["dump.rdb"], TempDir.Names(dir.Path)); // no temp file left

        using var restarted = ServerProcess.StartOurs(dir.Path, "--save", "");
        using var r = restarted.Connect();
        Dataset.AssertSame(before, Dataset.Read(r), $"data after SIG{signal} and restart");
        output.WriteLine($"{before.Count} keys back; {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// While the RDB loads at start, clients get redis's -LOADING and INFO (flagged loading) shows the progress, then
    /// the data is served; a SIGTERM while loading stops the server without saving even with save points, so the file
    /// is never replaced by half a dataset (redis's SHUTDOWN_NOSAVE while loading).
    /// </summary>
    [Fact]
    public void ClientsGetLoadingWhileTheRdbLoadsAndASignalThenSavesNothing()
    {
        const int Keys = 500_000;
        using var dir = new TempDir("loading");
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", "", "--enable-debug-command", "yes"))
        {
            using var c = server.Connect(TimeSpan.FromSeconds(120));
            Assert.Equal("OK", c.Call("DEBUG", "POPULATE", Keys.ToString(System.Globalization.CultureInfo.InvariantCulture)).Text);
            Assert.Equal("OK", c.Call("SAVE").Text);
        }
        byte[] file = File.ReadAllBytes(dir["dump.rdb"]);
        string[] slow = ["--loading-process-events-interval-bytes", "1024"];

        using (var server = ServerProcess.StartOursListening(dir.Path, ["--save", "", .. slow]))
        {
            using var c = server.Connect(TimeSpan.FromSeconds(120));
            var first = c.Call("PING");
            Assert.True(first.IsError && first.Text == "LOADING Redis is loading the dataset in memory", $"first PING: {first}");
            string info = c.Call("INFO", "persistence").Text!;
            Assert.Contains("loading:1\r\n", info);
            Assert.Contains($"loading_total_bytes:{file.Length}\r\n", info);
            Assert.Matches(@"loading_loaded_perc:\d+\.\d\d\r\n", info);
            // The file's used-mem AUX field (read before the first key): the saving server's memory, over 16 B a key.
            var usedMem = System.Text.RegularExpressions.Regex.Match(info, @"loading_rdb_used_mem:(\d+)\r\n");
            Assert.True(usedMem.Success, info);
            Assert.InRange(long.Parse(usedMem.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Keys * 16L, long.MaxValue);
            Assert.True(c.Call("GET", "key:1").IsError, "GET while loading");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (c.Call("PING").IsError) Assert.True(DateTime.UtcNow < deadline, "still loading after 120 s");
            Assert.Equal(Keys, c.Call("DBSIZE").Integer);
            Assert.Contains("loading:0\r\n", c.Call("INFO", "persistence").Text!);
        }

        using (var server = ServerProcess.StartOursListening(dir.Path, ["--save", "3600 1", .. slow]))
        {
            using var c = server.Connect(TimeSpan.FromSeconds(120));
            Assert.True(c.Call("PING").IsError, "the signal must arrive while loading");
            server.Signal("TERM");
            int code = server.WaitForExit(TimeSpan.FromSeconds(60));
            Assert.True(code == 0, $"exit code {code} after SIGTERM while loading:\n{server.Output}");
        }
        Assert.Equal(file, File.ReadAllBytes(dir["dump.rdb"]));
        Assert.Equal(["dump.rdb"], TempDir.Names(dir.Path));
    }

    /// <summary>As redis-server's command line: any parameter as <c>--name word...</c>, up to the next <c>--</c> (an empty
    /// save included); an unknown one or a bad value stops the start with the parameter named.</summary>
    [Fact]
    public void AnyParameterIsACommandLineOption()
    {
        using var dir = new TempDir("cmdline");
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", "", "--enable-debug-command", "yes", "--hash-max-listpack-entries", "7",
                   "--notify-keyspace-events", "KEA", "--client-output-buffer-limit", "pubsub", "1mb", "512kb", "30"))
        {
            using var c = server.Connect();
            Assert.Equal("OK", c.Call("DEBUG", "SLEEP", "0").Text);
            Assert.Equal("7", c.Call("CONFIG", "GET", "hash-max-listpack-entries").Items![1].Text);
            Assert.Equal("AKE", c.Call("CONFIG", "GET", "notify-keyspace-events").Items![1].Text);
            Assert.Contains("pubsub 1048576 524288 30", c.Call("CONFIG", "GET", "client-output-buffer-limit").Items![1].Text);
            Assert.Equal("", c.Call("CONFIG", "GET", "save").Items![1].Text);
        }
        var (code, output) = ServerProcess.RunExpectingRefusal(dir.Path, "--save", "", "--no-such-parameter", "1");
        Assert.True(code != 0 && output.Contains("--no-such-parameter '1'", StringComparison.Ordinal), $"{code}: {output}");
        (code, output) = ServerProcess.RunExpectingRefusal(dir.Path, "--hz", "10", "--maxmemory-samples", "0");
        Assert.True(code != 0 && output.Contains("--maxmemory-samples '0'", StringComparison.Ordinal), $"{code}: {output}");
    }

    [Fact]
    public void ShutdownNosaveWritesNoFileAndShutdownSaveDoes()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("nosave");
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", "3600 1"))
        {
            using (var c = server.Connect())
            {
                c.Ok("SET", "k", "v");
                Assert.Equal("1", c.Info("rdb_changes_since_last_save"));
                ExpectClosed(c, "SHUTDOWN", "NOSAVE");
            }
            Assert.Equal(0, server.WaitForExit(TimeSpan.FromSeconds(30)));
        }
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        // SHUTDOWN SAVE saves even without save points.
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", ""))
        {
            using (var c = server.Connect())
            {
                Assert.Equal(0, c.Ok("DBSIZE").Integer); // nothing was saved above
                c.Ok("SET", "k", "saved");
                ExpectClosed(c, "SHUTDOWN", "SAVE");
            }
            Assert.Equal(0, server.WaitForExit(TimeSpan.FromSeconds(30)));
        }
        Assert.True(File.Exists(dir["dump.rdb"]), "SHUTDOWN SAVE wrote no dump.rdb");
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", ""))
        using (var c = server.Connect())
            Assert.Equal("saved", c.Ok("GET", "k").Text);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }

    private static void ExpectClosed(RespClient c, params string[] command)
    {
        try
        {
            var reply = c.Call(command);
            Assert.Fail($"{string.Join(' ', command)} replied {reply} instead of closing the connection");
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
        }
    }

    [Fact]
    public void ConfigSetAppendonlyAtRuntimeCreatesTheAofThatSurvivesKill9()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("aof-runtime");
        SortedDictionary<string, KeyState> before;
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", ""))
        using (var c = server.Connect())
        {
            Dataset.BuildPartOne(c);
            Assert.False(Directory.Exists(dir["appendonlydir"]));
            Assert.Equal("OK", c.Ok("CONFIG", "SET", "appendonly", "yes").Text);
            c.WaitForBackgroundWork(TimeSpan.FromSeconds(60));
            Assert.Equal("1", c.Info("aof_enabled"));
            Assert.Equal("ok", c.Info("aof_last_bgrewrite_status"));
            var files = TempDir.Names(dir["appendonlydir"]);
            output.WriteLine(string.Join(", ", files));
            Assert.Equal(["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"], files);
            Dataset.BuildPartTwo(c);
            before = Dataset.Read(c);
            server.Kill9();
        }
        using var restarted = ServerProcess.StartOurs(dir.Path, "--save", "", "--appendonly", "yes");
        using var r = restarted.Connect();
        Dataset.AssertSame(before, Dataset.Read(r), "data after CONFIG SET appendonly yes, kill -9 and restart", Compare.AofReplayVersusLive);
        output.WriteLine($"{before.Count} keys back; {watch.Elapsed.TotalSeconds:F1} s");
    }
}
