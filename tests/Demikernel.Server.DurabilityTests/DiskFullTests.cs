using System.Diagnostics;

namespace Demikernel.Server.DurabilityTests;

/// <summary>A small tmpfs mounted as the server's --dir (root needed); unmounted on dispose, even after a failure.</summary>
public sealed class Tmpfs : IDisposable
{
    public Tmpfs(string path, string size)
    {
        Path = path;
        Directory.CreateDirectory(path);
        var r = Tool.Run("/bin/mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
        if (r.ExitCode != 0)
            Assert.Fail($"cannot mount a {size} tmpfs on {path} (the disk-full tests need root and mount(8)): {r.Output}");
    }

    public string Path { get; }

    /// <summary>Fills the file system until <paramref name="leaveBytes"/> remain free (a file named filler).</summary>
    public void Fill(long leaveBytes)
    {
        var info = new DriveInfo(Path);
        long size = info.AvailableFreeSpace - leaveBytes;
        Assert.True(size > 0, $"only {info.AvailableFreeSpace} bytes free on the tmpfs");
        using var f = new FileStream(FillerPath, FileMode.Create, FileAccess.Write);
        var block = new byte[64 * 1024];
        Array.Fill(block, (byte)'F');
        for (long written = 0; written < size; written += block.Length) f.Write(block, 0, (int)Math.Min(block.Length, size - written));
    }

    public string FillerPath => System.IO.Path.Combine(Path, "filler");

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose()
    {
        if (Tool.Run("/bin/umount", Path).ExitCode != 0) Tool.Run("/bin/umount", "-l", Path);
    }
}

/// <summary>
/// A full disk under BGSAVE and under the AOF: the save fails and says so (INFO, MISCONF on writes), nothing crashes,
/// and everything resumes once space is back.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    /// <summary>redis-server 7.0's shared.bgsaveerr, word for word.</summary>
    private const string RedisMisconf =
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

    private static List<string[]> RandomValues(string prefix, int count, int size, int seed)
    {
        var rnd = new Random(seed);
        var buffer = new byte[size];
        var cmds = new List<string[]>();
        for (int i = 0; i < count; i++)
        {
            rnd.NextBytes(buffer);
            cmds.Add(["SET", $"{prefix}{i}", Convert.ToBase64String(buffer)[..size]]); // incompressible text
        }
        return cmds;
    }

    [Fact]
    public void BgsaveOnAFullDiskFailsThenWritesGetMisconfUntilSpaceIsBack()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("full-rdb");
        using var disk = new Tmpfs(dir["mnt"], "2m");
        using var server = ServerProcess.StartOurs(disk.Path, "--save", "3600 1");
        using var c = server.Connect();
        c.Pipeline(RandomValues("big:", 1200, 1000, 7)); // about 1.2 MB of RDB, incompressible
        disk.Fill(leaveBytes: 400_000);

        Assert.Equal("Background saving started", c.Ok("BGSAVE").Text);
        c.WaitForBackgroundWork(TimeSpan.FromSeconds(60));
        Assert.Equal("err", c.Info("rdb_last_bgsave_status"));
        Assert.Equal(["filler"], TempDir.Names(disk.Path)); // temp file removed
        Assert.False(server.HasExited, server.Output);

        var denied = c.Call("SET", "k", "v");
        Assert.True(denied.IsError, $"SET after a failed BGSAVE replied {denied}");
        Assert.Equal(RedisMisconf, denied.Text);
        Assert.Equal(RedisMisconf, c.Call("INCR", "n").Text);
        Assert.Equal(1200, c.Ok("DBSIZE").Integer); // reads still work
        Assert.NotNull(c.Ok("GET", "big:1").Text);

        c.Ok("CONFIG", "SET", "stop-writes-on-bgsave-error", "no");
        Assert.Equal("OK", c.Ok("SET", "k", "v").Text);
        c.Ok("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes");
        Assert.Equal(RedisMisconf, c.Call("SET", "k", "v2").Text);

        // A foreground SAVE on the full disk fails too (and leaves no temp file).
        Assert.True(c.Call("SAVE").IsError, "SAVE succeeded on a full disk");
        Assert.Equal(["filler"], TempDir.Names(disk.Path));

        File.Delete(disk.FillerPath);
        Assert.Equal("Background saving started", c.Ok("BGSAVE").Text);
        c.WaitForBackgroundWork(TimeSpan.FromSeconds(60));
        Assert.Equal("ok", c.Info("rdb_last_bgsave_status"));
        Assert.Equal("OK", c.Ok("SET", "k", "after").Text);
        Assert.True(File.Exists(Path.Combine(disk.Path, "dump.rdb")));
        var check = Tool.Run("/usr/bin/redis-check-rdb", Path.Combine(disk.Path, "dump.rdb"));
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.False(server.HasExited, server.Output);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void AofWritesOnAFullDiskAreRefusedWithMisconfAndResumeWhenSpaceIsBack()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("full-aof");
        using var disk = new Tmpfs(dir["mnt"], "2m");
        string[] args = ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"];
        var acked = new List<(string Key, string Value)>();
        string? misconf = null;
        using (var server = ServerProcess.StartOurs(disk.Path, args))
        using (var c = server.Connect(TimeSpan.FromSeconds(20)))
        {
            disk.Fill(leaveBytes: 300_000);
            foreach (var cmd in RandomValues("fill:", 200, 20_000, 11))
            {
                var reply = c.Call(cmd);
                if (reply.IsError)
                {
                    misconf = reply.Text;
                    break;
                }
                acked.Add((cmd[1], cmd[2]));
            }
            output.WriteLine($"{acked.Count} SETs of 20 kB acknowledged before the first refusal: {misconf}");
            Assert.NotNull(misconf);
            Assert.StartsWith("MISCONF Errors writing to the AOF file: ", misconf);
            Assert.Contains("No space left on device", misconf);
            Assert.Equal("err", c.Info("aof_last_write_status"));
            Assert.Equal(misconf, c.Call("SET", "other", "v").Text);
            Assert.Equal(acked.Count, c.Ok("DBSIZE").Integer); // reads still work

            // Idle on the full disk, the server retries the write now and then, it does not spin on it.
            var cpuBefore = server.CpuTime;
            Thread.Sleep(2000);
            var cpu = server.CpuTime - cpuBefore;
            output.WriteLine($"CPU while idle on the full disk: {cpu.TotalMilliseconds:F0} ms in 2 s");
            Assert.True(cpu < TimeSpan.FromMilliseconds(400), $"the server used {cpu.TotalMilliseconds:F0} ms of CPU in 2 s idle on a full disk");

            File.Delete(disk.FillerPath);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            RespValue r;
            while ((r = c.Call("SET", "resumed", "yes")).IsError)
            {
                Assert.True(DateTime.UtcNow < deadline, $"writes still refused 20 s after space came back: {r.Text}");
                Thread.Sleep(50);
            }
            Assert.Equal("ok", c.Info("aof_last_write_status"));
            acked.Add(("resumed", "yes"));
            Assert.False(server.HasExited, server.Output);
            server.Kill9();
        }
        // Everything acknowledged, before and after the full disk, is in the AOF.
        using var restarted = ServerProcess.StartOurs(disk.Path, args);
        using var rc = restarted.Connect();
        foreach (var (key, value) in acked) Assert.True(rc.Ok("GET", key).Text == value, $"{key} lost or wrong after restart");
        Assert.Equal(acked.Count, rc.Ok("DBSIZE").Integer);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// appendfsync always on a full disk: redis-server 7.0 exits ("Can't recover from AOF write error when the AOF
    /// fsync policy is 'always'"); ours keeps running and holds replies (which could reveal the unwritten effects)
    /// until the write succeeds, so nothing acknowledged is ever lost and everything resumes once space is back.
    /// </summary>
    [Fact]
    public void AofAlwaysOnAFullDiskHoldsRepliesUntilSpaceIsBackAndLosesNothing()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("full-always");
        using var disk = new Tmpfs(dir["mnt"], "2m");
        string[] args = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"];
        var acked = new List<(string Key, string Value)>();
        using (var server = ServerProcess.StartOurs(disk.Path, args))
        using (var c = server.Connect(TimeSpan.FromSeconds(60)))
        {
            disk.Fill(leaveBytes: 300_000);
            Task<RespValue>? held = null;
            string[]? heldCommand = null;
            foreach (var cmd in RandomValues("fill:", 200, 20_000, 13))
            {
                var call = Task.Run(() => c.Call(cmd));
                if (!call.Wait(TimeSpan.FromSeconds(3)))
                {
                    held = call;
                    heldCommand = cmd;
                    break;
                }
                Assert.Equal("OK", call.Result.Text);
                acked.Add((cmd[1], cmd[2]));
            }
            Assert.True(held is not null, "200 SETs of 20 kB fitted in 300 kB");
            output.WriteLine($"{acked.Count} SETs acknowledged, then a reply held");
            Assert.False(server.HasExited, server.Output);
            File.Delete(disk.FillerPath);
            Assert.True(held!.Wait(TimeSpan.FromSeconds(20)), "the held reply did not come within 20 s of space coming back");
            Assert.Equal("OK", held.Result.Text);
            acked.Add((heldCommand![1], heldCommand[2]));
            Assert.Equal("ok", c.Info("aof_last_write_status"));
            Assert.Equal("OK", c.Ok("SET", "resumed", "yes").Text);
            acked.Add(("resumed", "yes"));
            server.Kill9();
        }
        using var restarted = ServerProcess.StartOurs(disk.Path, args);
        using var rc = restarted.Connect();
        foreach (var (key, value) in acked) Assert.True(rc.Ok("GET", key).Text == value, $"{key} lost or wrong after restart");
        Assert.Equal(acked.Count, rc.Ok("DBSIZE").Integer);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }
}
