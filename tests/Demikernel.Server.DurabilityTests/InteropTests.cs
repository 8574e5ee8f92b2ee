using System.Diagnostics;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// Our files read by redis-server 7.0 and its tools, and redis-server's files read by ours, through real files in
/// real directories: the RDB (SAVE) and the multi-part AOF (appendonly yes, BGREWRITEAOF, more writes).
/// </summary>
public sealed class InteropTests(ITestOutputHelper output)
{
    private const string CheckRdb = "/usr/bin/redis-check-rdb";
    private const string CheckAof = "/usr/bin/redis-check-aof";

    /// <summary>DUMP follows rdbcompression as redis-server's does (its payloads then compare byte for byte).</summary>
    [Fact]
    public void DumpFollowsRdbcompressionLikeRedisServer()
    {
        using var dir = new TempDir("dump-compr");
        using var ours = ServerProcess.StartOurs(dir.Path, "--save", "");
        using var redis = ServerProcess.StartRedis(dir.Path);
        using var o = ours.Connect();
        using var r = redis.Connect();
        string value = string.Concat(Enumerable.Repeat("compress me ", 20));
        foreach (var c in new[] { o, r }) c.Ok("SET", "k", value);
        Assert.Equal((char)0xC3, o.Ok("DUMP", "k").Text![1]); // LZF-compressed by default
        foreach (var c in new[] { o, r }) c.Ok("CONFIG", "SET", "rdbcompression", "no");
        string expected = r.Ok("DUMP", "k").Text!;
        Assert.Equal(expected, o.Ok("DUMP", "k").Text);
        Assert.Contains(value, expected, StringComparison.Ordinal); // stored as it is
    }

    [Fact]
    public void OurSaveIsAcceptedByRedisCheckRdbAndLoadsIntoRedisServerIdentically()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("rdb-out");
        SortedDictionary<string, KeyState> ours;
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", ""))
        using (var c = server.Connect())
        {
            Dataset.BuildPartOne(c);
            Dataset.BuildPartTwo(c);
            Assert.Equal("OK", c.Ok("SAVE").Text);
            ours = Dataset.Read(c);
        }
        var check = Tool.Run(CheckRdb, dir["dump.rdb"]);
        output.WriteLine(check.Output);
        Assert.True(check.ExitCode == 0 && check.Output.Contains("RDB looks OK", StringComparison.Ordinal), $"redis-check-rdb refused our dump.rdb:\n{check.Output}");

        using var redis = ServerProcess.StartRedis(dir.Path, "--dbfilename", "dump.rdb");
        using var rc = redis.Connect();
        Dataset.AssertSame(ours, Dataset.Read(rc), "redis-server loading our dump.rdb");
        output.WriteLine($"{ours.Count} keys identical; {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void OurAppendOnlyDirIsAcceptedByRedisCheckAofAndLoadsIntoRedisServerIdentically()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("aof-out");
        using var copy = new TempDir("aof-out-copy");
        SortedDictionary<string, KeyState> ours;
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", "", "--appendonly", "yes"))
        using (var c = server.Connect())
        {
            Dataset.BuildPartOne(c);
            Assert.StartsWith("Background append only file rewriting", c.Ok("BGREWRITEAOF").Text);
            c.WaitForBackgroundWork(TimeSpan.FromSeconds(60));
            Assert.Equal("ok", c.Info("aof_last_bgrewrite_status"));
            Dataset.BuildPartTwo(c);
            ours = Dataset.Read(c);
            // The replies above left after their effects were written: the files are complete while it runs.
            TempDir.Copy(dir.Path, copy.Path);
        }
        string aofDir = Path.Combine(copy.Path, "appendonlydir");
        var files = TempDir.Names(aofDir).ToList();
        output.WriteLine(string.Join(", ", files));
        Assert.Contains("appendonly.aof.manifest", files);
        Assert.Contains(files, f => f.EndsWith(".base.rdb", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".incr.aof", StringComparison.Ordinal));
        output.WriteLine(File.ReadAllText(Path.Combine(aofDir, "appendonly.aof.manifest")));

        var check = Tool.Run(CheckAof, Path.Combine(aofDir, "appendonly.aof.manifest"));
        output.WriteLine(check.Output);
        Assert.True(check.ExitCode == 0 && check.Output.Contains("is valid", StringComparison.Ordinal), $"redis-check-aof refused our AOF:\n{check.Output}");

        using var redis = ServerProcess.StartRedis(copy.Path, "--appendonly", "yes");
        using var rc = redis.Connect();
        Dataset.AssertSame(ours, Dataset.Read(rc), "redis-server loading our appendonlydir", Compare.AofReplayVersusLive);
        output.WriteLine($"{ours.Count} keys identical; {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void RedisServersDumpAndAppendOnlyDirLoadIntoOursIdentically()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("redis-files");
        using var rdbCopy = new TempDir("redis-rdb");
        using var aofCopy = new TempDir("redis-aof");
        using var aofCopy2 = new TempDir("redis-aof2");
        SortedDictionary<string, KeyState> atSave, atEnd, reloaded;
        using (var redis = ServerProcess.StartRedis(dir.Path, "--appendonly", "yes", "--appendfsync", "always"))
        using (var c = redis.Connect())
        {
            Dataset.BuildPartOne(c);
            Assert.Equal("OK", c.Ok("SAVE").Text);
            atSave = Dataset.Read(c);
            Assert.StartsWith("Background append only file rewriting", c.Ok("BGREWRITEAOF").Text);
            c.WaitForBackgroundWork(TimeSpan.FromSeconds(60));
            Dataset.BuildPartTwo(c);
            atEnd = Dataset.Read(c);
            File.Copy(dir["dump.rdb"], rdbCopy["dump.rdb"]);
            TempDir.Copy(dir.Path, aofCopy.Path);
            File.Delete(aofCopy["dump.rdb"]);
            TempDir.Copy(aofCopy.Path, aofCopy2.Path);
        }
        // What redis-server's AOF holds, as redis-server itself reads it back (replay refreshes stream consumers'
        // seen-time and leaves entries-read unknown, see Compare); the live data must match it too, but loosely.
        using (var redis = ServerProcess.StartRedis(aofCopy2.Path, "--appendonly", "yes"))
        using (var c = redis.Connect())
            reloaded = Dataset.Read(c);
        Dataset.AssertSame(atEnd, reloaded, "redis-server reloading its own appendonlydir", Compare.AofReplayVersusLive);

        using (var ours = ServerProcess.StartOurs(rdbCopy.Path, "--save", ""))
        using (var c = ours.Connect())
            Dataset.AssertSame(atSave, Dataset.Read(c), "ours loading redis-server's dump.rdb");

        using (var ours = ServerProcess.StartOurs(aofCopy.Path, "--save", "", "--appendonly", "yes"))
        using (var c = ours.Connect())
            Dataset.AssertSame(reloaded, Dataset.Read(c), "ours loading redis-server's appendonlydir", Compare.AofReplay);
        output.WriteLine($"{atSave.Count} keys (RDB) and {atEnd.Count} keys (AOF) identical; {watch.Elapsed.TotalSeconds:F1} s");
    }
}
