using System.Diagnostics;
using System.Globalization;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// Torn and corrupted files through the process: a torn incremental AOF loads up to its last complete command with
/// aof-load-truncated yes (the expected state replayed into redis-server from the file's own prefix) and is refused
/// with no; an RDB with a flipped byte, a truncated RDB and a corrupt manifest are refused with a clear error and a
/// non-zero exit code, never started empty. (Demikernel.Server.Tests/AofTruncationTests runs 100 cuts in-process.)
/// </summary>
public sealed class CorruptionTests(ITestOutputHelper output)
{
    private const string Incr = "appendonly.aof.1.incr.aof";

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>A workload over several databases, with transactions, written by ours with appendonly yes.</summary>
    private static void WriteAofWorkload(string dir)
    {
        using var server = ServerProcess.StartOurs(dir, "--save", "", "--appendonly", "yes");
        using var c = server.Connect();
        var cmds = new List<string[]>();
        for (int i = 0; i < 120; i++)
        {
            cmds.Add(["SELECT", S(i % 3)]);
            switch (i % 6)
            {
                case 0: cmds.Add(["SET", $"s:{S(i)}", $"value-{S(i)}"]); break;
                case 1: cmds.Add(["INCRBY", "counter", S(i)]); break;
                case 2: cmds.Add(["RPUSH", "list", S(i), $"e{S(i)}"]); break;
                case 3: cmds.Add(["HSET", "hash", $"f{S(i % 10)}", S(i)]); break;
                case 4:
                    cmds.Add(["MULTI"]);
                    cmds.Add(["SADD", "set", S(i)]);
                    cmds.Add(["ZADD", "zset", S(i), $"m{S(i)}"]);
                    cmds.Add(["SET", $"tx:{S(i)}", "in-multi", "EX", "100000"]);
                    cmds.Add(["EXEC"]);
                    break;
                default: cmds.Add(["DEL", $"s:{S(i - 5)}"]); break;
            }
        }
        c.Pipeline(cmds);
        try
        {
            c.Call("SHUTDOWN", "NOSAVE");
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
        }
        server.WaitForExit(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void TornAofLoadsUpToTheLastCompleteCommandOrIsRefused()
    {
        var watch = Stopwatch.StartNew();
        using var source = new TempDir("torn-src");
        WriteAofWorkload(source.Path);
        byte[] incr = File.ReadAllBytes(Path.Combine(source.Path, "appendonlydir", Incr));
        var commands = AofFile.Parse(incr);
        Assert.True(commands.Count > 200, $"only {commands.Count} commands in the incr file");
        var rnd = new Random(20261202);
        var multi = commands.First(c => c.Args[0] == "MULTI");
        var cuts = new List<int>
        {
            rnd.Next(1, incr.Length),                  // random places
            rnd.Next(1, incr.Length),
            multi.End + 3,                             // inside a transaction
            commands[commands.Count / 2].End,          // exactly between two commands (not torn)
        };
        using var scratch = new TempDir("torn-redis");
        using var redis = ServerProcess.StartRedis(scratch.Path);
        using var reference = redis.Connect();
        foreach (int cut in cuts)
        {
            var prefix = AofFile.Prefix(commands, cut, out bool torn, out int valid);
            using var copy = new TempDir("torn-" + S(cut));
            TempDir.Copy(source.Path, copy.Path);
            string incrPath = Path.Combine(copy.Path, "appendonlydir", Incr);
            using (var f = File.OpenHandle(incrPath, FileMode.Open, FileAccess.Write)) RandomAccess.SetLength(f, cut);

            if (torn)
            {
                // aof-load-truncated no: refused, naming the file and the offset.
                using var strict = new TempDir("torn-strict");
                TempDir.Copy(copy.Path, strict.Path);
                var (code, text) = ServerProcess.RunExpectingRefusal(strict.Path, "--save", "", "--appendonly", "yes", "--aof-load-truncated", "no");
                output.WriteLine($"cut {cut}, aof-load-truncated no: exit {code}: {text.Trim()}");
                Assert.True(code != 0, $"exit code 0 refusing a torn AOF:\n{text}");
                Assert.Contains(Incr, text);
                Assert.Contains("offset", text);
            }

            // Expected: the file's own complete commands replayed into redis-server.
            reference.Ok("FLUSHALL");
            reference.Pipeline(prefix.Select(c => c.Args));
            reference.Ok("SELECT", "0");
            var expected = Dataset.Read(reference);
            using var ours = ServerProcess.StartOurs(copy.Path, "--save", "", "--appendonly", "yes");
            using (var c = ours.Connect())
            {
                var diffs = Dataset.Differences(expected, Dataset.Read(c));
                Assert.True(diffs.Count == 0, $"cut at {cut} of {incr.Length} (torn: {torn}, {prefix.Count} commands): {string.Join("\n", diffs.Take(20))}");
            }
            Assert.Equal(valid, new FileInfo(incrPath).Length); // the torn tail was cut off, as redis-server does
            output.WriteLine($"cut {cut}: torn {torn}, {prefix.Count} commands applied, file now {valid} bytes");
        }
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// A file torn inside a #TS annotation is complete (redis-server 7.0 loads it even with aof-load-truncated no):
    /// ours starts, cuts the partial line off, and what it appends next loads after another restart.
    /// </summary>
    [Fact]
    public void AofTornInsideAnAnnotationLoadsAndStaysAppendable()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("torn-ts");
        string[] args = ["--save", "", "--appendonly", "yes", "--aof-load-truncated", "no"];
        using (var server = ServerProcess.StartOurs(dir.Path, args))
        using (var c = server.Connect())
        {
            c.Ok("CONFIG", "SET", "aof-timestamp-enabled", "yes");
            c.Ok("SET", "a", "1");
            long second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            while (DateTimeOffset.UtcNow.ToUnixTimeSeconds() == second) Thread.Sleep(20);
            Thread.Sleep(300); // the server's coarse clock (updated by its cron) reaches the next second too
            c.Ok("SET", "b", "2");
        }
        string incrPath = Path.Combine(dir.Path, "appendonlydir", Incr);
        byte[] incr = File.ReadAllBytes(incrPath);
        int last = incr.AsSpan().LastIndexOf("#TS:"u8);
        Assert.True(last > 0 && incr.AsSpan(0, last).IndexOf("#TS:"u8) >= 0, $"expected two #TS annotations:\n{System.Text.Encoding.ASCII.GetString(incr)}");
        using (var f = File.OpenHandle(incrPath, FileMode.Open, FileAccess.Write)) RandomAccess.SetLength(f, last + 5);

        using (var server = ServerProcess.StartOurs(dir.Path, args))
        using (var c = server.Connect())
        {
            Assert.Equal("1", c.Ok("GET", "a").Text);
            Assert.True(c.Ok("GET", "b").IsNull);
            Assert.Equal(last, new FileInfo(incrPath).Length); // the partial annotation is gone
            c.Ok("SET", "c", "3");
            server.Kill9();
        }
        using (var server = ServerProcess.StartOurs(dir.Path, args))
        using (var c = server.Connect())
        {
            Assert.Equal("1", c.Ok("GET", "a").Text);
            Assert.Equal("3", c.Ok("GET", "c").Text);
            Assert.Equal(2, c.Ok("DBSIZE").Integer);
        }
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void RdbWithAFlippedByteOrATornTailIsRefused()
    {
        var watch = Stopwatch.StartNew();
        using var source = new TempDir("rdb-flip-src");
        using (var server = ServerProcess.StartOurs(source.Path, "--save", ""))
        using (var c = server.Connect())
        {
            Dataset.BuildPartOne(c);
            c.Ok("SAVE");
        }
        byte[] rdb = File.ReadAllBytes(source["dump.rdb"]);
        var rnd = new Random(4242);
        var damaged = new List<(string What, byte[] Bytes)>();
        for (int i = 0; i < 5; i++)
        {
            int at = rnd.Next(0, rdb.Length);
            var copy = (byte[])rdb.Clone();
            copy[at] ^= (byte)rnd.Next(1, 256);
            damaged.Add(($"byte {at} of {rdb.Length} flipped", copy));
        }
        damaged.Add(("last 100 bytes missing", rdb[..^100]));
        foreach (var (what, bytes) in damaged)
        {
            using var dir = new TempDir("rdb-flip");
            File.WriteAllBytes(dir["dump.rdb"], bytes);
            var (code, text) = ServerProcess.RunExpectingRefusal(dir.Path, "--save", "");
            output.WriteLine($"{what}: exit {code}: {text.Trim()}");
            Assert.True(code != 0, $"{what}: exit code 0:\n{text}");
            Assert.Contains("dump.rdb", text);
            Assert.Equal(bytes, File.ReadAllBytes(dir["dump.rdb"])); // the file is left as it was
        }
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void CorruptOrInconsistentManifestIsRefused()
    {
        var watch = Stopwatch.StartNew();
        using var source = new TempDir("manifest-src");
        WriteAofWorkload(source.Path);
        string manifest = File.ReadAllText(Path.Combine(source.Path, "appendonlydir", "appendonly.aof.manifest"));
        output.WriteLine(manifest);
        var cases = new (string What, string Text)[]
        {
            ("garbage", "this is not a manifest\n"),
            ("a line without its type", "file appendonly.aof.1.base.rdb seq 1\n"),
            ("a file that does not exist", manifest + "file appendonly.aof.9.incr.aof seq 9 type i\n"),
            ("two base files", manifest + "file appendonly.aof.2.base.rdb seq 2 type b\n"),
        };
        foreach (var (what, text) in cases)
        {
            using var dir = new TempDir("manifest");
            TempDir.Copy(source.Path, dir.Path);
            File.WriteAllText(Path.Combine(dir.Path, "appendonlydir", "appendonly.aof.manifest"), text);
            var (code, log) = ServerProcess.RunExpectingRefusal(dir.Path, "--save", "", "--appendonly", "yes");
            output.WriteLine($"{what}: exit {code}: {log.Trim()}");
            Assert.True(code != 0, $"{what}: exit code 0:\n{log}");
            Assert.Contains("AOF", log, StringComparison.OrdinalIgnoreCase);
        }
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }
}
