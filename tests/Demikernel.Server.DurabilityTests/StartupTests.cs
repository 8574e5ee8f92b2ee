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
