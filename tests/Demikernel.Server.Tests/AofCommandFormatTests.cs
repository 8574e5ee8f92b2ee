using System.Diagnostics;
using System.Globalization;
using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server.Tests;

/// <summary>
/// <c>aof-use-rdb-preamble no</c>: the AOF base is written as commands (<c>appendonly.aof.N.base.aof</c>), as
/// redis-server 7.0's rewriteAppendOnlyFileRio writes it. The same dataset is built in redis-server and here and the
/// two bases are compared command for command; only what is legitimately unordered is normalised (the order of keys
/// in a database, the order of members of sets, hashes and hash-table sorted sets) and only clock readings
/// (PEXPIREAT of relative TTLs, XCLAIM's delivery TIME) get a tolerance.
/// </summary>
public sealed class AofCommandFormatTests
{
    private const long FarFutureMs = 4102444800000; // 2100-01-01

    /// <summary>redis-server's AOF_REWRITE_ITEMS_PER_CMD (not ours: the test checks redis-server's file with it).</summary>
    private const int RedisItemsPerCommand = 64;

    /// <summary>Every type, small and large (batches of 64 split), a stream with groups, pending entries and a consumer
    /// without any, an empty stream, TTLs (absolute and relative), two databases.</summary>
    private static List<string[]> Dataset()
    {
        var script = new List<string[]>();
        void Add(params string[] command) => script.Add(command);
        Add("SET", "str", "hello");
        Add("SET", "int", "12345");
        Add("SET", "neg", "-42");
        Add("SET", "empty", "");
        Add("SET", "long", new string('x', 300));
        Add("SET", "ttl-abs", "v");
        Add("PEXPIREAT", "ttl-abs", FarFutureMs.ToString(CultureInfo.InvariantCulture));
        Add("SET", "ttl-rel", "v", "EX", "1000");
        Add("RPUSH", "list-small", "a", "b", "3", "c");
        script.Add(["RPUSH", "list-big", .. Enumerable.Range(0, 150).Select(i => i % 3 == 0 ? i.ToString(CultureInfo.InvariantCulture) : $"item-{i}")]);
        Add("SADD", "set-ints", "5", "-3", "100", "7");
        script.Add(["SADD", "set-ints-big", .. Enumerable.Range(0, 200).Select(i => (i * 37 % 1000 - 500).ToString(CultureInfo.InvariantCulture))]);
        Add("SADD", "set-strs", "x", "y", "z");
        script.Add(["SADD", "set-strs-big", .. Enumerable.Range(0, 130).Select(i => $"m{i}")]);
        Add("ZADD", "zset-small", "1.5", "a", "-2", "b", "0.1", "c", "3", "d", "inf", "e");
        script.Add(["ZADD", "zset-big", .. Enumerable.Range(0, 200).SelectMany(i => new[] { (i * 0.25 - 7).ToString("R", CultureInfo.InvariantCulture), $"z{i}" })]);
        Add("EXPIRE", "zset-big", "5000");
        Add("HSET", "hash-small", "f1", "v1", "f2", "2", "f3", "v3");
        script.Add(["HSET", "hash-big", .. Enumerable.Range(0, 150).SelectMany(i => new[] { $"field{i}", $"value{i}" })]);
        for (int i = 1; i <= 150; i++) Add("XADD", "stream", $"{1000 + i}-{i % 3}", "n", i.ToString(CultureInfo.InvariantCulture), "s", $"v{i}");
        Add("XDEL", "stream", "1150-0"); // the last entry: MAXDELETEDID, and XSETID must restore the last id
        Add("XGROUP", "CREATE", "stream", "g1", "0");
        Add("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "stream", ">");
        Add("XREADGROUP", "GROUP", "g1", "carol", "COUNT", "2", "STREAMS", "stream", ">");
        Add("XGROUP", "CREATECONSUMER", "stream", "g1", "bob");
        Add("XGROUP", "CREATE", "stream", "g0", "1100-1", "ENTRIESREAD", "100");
        Add("XGROUP", "CREATE", "stream-empty", "g", "$", "MKSTREAM");
        Add("XADD", "stream-small", "5-5", "a", "1");
        Add("PEXPIREAT", "stream-small", FarFutureMs.ToString(CultureInfo.InvariantCulture));
        Add("SELECT", "3");
        Add("SET", "db3-key", "in three");
        Add("RPUSH", "db3-list", "1", "2");
        Add("HSET", "db3-hash", "a", "b");
        Add("PEXPIREAT", "db3-hash", (FarFutureMs + 1).ToString(CultureInfo.InvariantCulture));
        Add("SELECT", "0");
        return script;
    }

    [Fact]
    public void RewriteMatchesRedisServerCommandForCommand()
    {
        string theirs = Directory.CreateTempSubdirectory("aofcmd-redis-").FullName;
        string ours = Directory.CreateTempSubdirectory("aofcmd-ours-").FullName;
        try
        {
            using var reference = ReferenceRedis.TryStart($"--aof-use-rdb-preamble no --appendonly yes --dir {theirs}");
            Assert.True(reference is not null, "redis-server is not installed: this test compares with its AOF rewrite");
            using var h = new CommandHarness(new ServerOptions { Dir = ours, Save = "" }, start: DateTimeOffset.UtcNow);
            var mismatches = reference.Compare(h, Dataset());
            Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));

            Assert.Equal("+Background append only file rewriting started\r\n", reference.Run("BGREWRITEAOF"));
            byte[] expected = WaitForRedisBase(reference, theirs);
            var commands = ParseCommands(expected); // the dataset exercises what it should in redis-server's own base
            Assert.Contains(commands, c => c is ["SELECT", "3"]);
            Assert.Contains(commands, c => c[0] == "RPUSH" && c.Length == 2 + RedisItemsPerCommand);
            Assert.Contains(commands, c => c[0] == "SADD" && c.Length == 2 + RedisItemsPerCommand);
            Assert.Contains(commands, c => c[0] == "ZADD" && c.Length == 2 + 2 * RedisItemsPerCommand);
            Assert.Contains(commands, c => c[0] == "HMSET" && c.Length == 2 + 2 * RedisItemsPerCommand);
            Assert.Contains(commands, c => c[0] == "XCLAIM");
            Assert.Contains(commands, c => c is ["XGROUP", "CREATECONSUMER", ..]);
            Assert.Contains(commands, c => c is ["XADD", "stream-empty", "MAXLEN", ..]);
            Assert.Contains(commands, c => c[0] == "PEXPIREAT");

            // CONFIG SET appendonly yes: the first base comes from a background rewrite
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "aof-use-rdb-preamble", "no"));
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "appendonly", "yes"));
            WaitForRewrite(h);
            string dir = Path.Combine(ours, "appendonlydir");
            Assert.Contains("file appendonly.aof.1.base.aof seq 1 type b", File.ReadAllText(Path.Combine(dir, "appendonly.aof.manifest")));
            AssertSameBase(expected, File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.1.base.aof")));

            // BGREWRITEAOF
            Assert.Equal("+Background append only file rewriting started\r\n", h.Run("BGREWRITEAOF"));
            WaitForRewrite(h);
            Assert.Contains("file appendonly.aof.2.base.aof seq 2 type b", File.ReadAllText(Path.Combine(dir, "appendonly.aof.manifest")));
            Assert.False(File.Exists(Path.Combine(dir, "appendonly.aof.1.base.aof")));
            AssertSameBase(expected, File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.2.base.aof")));
        }
        finally
        {
            Directory.Delete(theirs, recursive: true);
            Directory.Delete(ours, recursive: true);
        }
    }

    [Fact]
    public void CommandBaseReplaysAndRedisServerAcceptsIt()
    {
        string ours = Directory.CreateTempSubdirectory("aofcmd-ours-").FullName;
        string copy = Directory.CreateTempSubdirectory("aofcmd-copy-").FullName;
        string replayDir = Directory.CreateTempSubdirectory("aofcmd-replay-").FullName;
        try
        {
            var start = DateTimeOffset.UtcNow;
            using var h = new CommandHarness(new ServerOptions { Dir = ours, Save = "" }, start: start);
            foreach (var command in Dataset()) h.Run(command);
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "aof-use-rdb-preamble", "no"));
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "appendonly", "yes"));
            WaitForRewrite(h);
            h.Run("SET", "after-rewrite", "in the incr file"); // the incremental file replays after the base
            h.LibOS.RunUntil(() => h.Server.Persistence.Aof.BufferLength == 0, TimeSpan.FromSeconds(5));
            string dir = Path.Combine(ours, "appendonlydir");
            byte[] baseFile = File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.1.base.aof"));
            Assert.Equal((byte)'*', baseFile[0]);
            Assert.EndsWith("\r\n", Encoding.Latin1.GetString(baseFile)); // no CRC trailer

            // replayed into an empty server: the same values, byte for byte
            CopyDirectory(dir, Path.Combine(replayDir, "appendonlydir"));
            using (var replay = new CommandHarness(new ServerOptions { Dir = replayDir, Save = "", AppendOnly = true }, start: start))
            {
                Assert.Null(replay.Server.Persistence.LoadAtStartup());
                AssertSameData(h.Server.Databases, replay.Server.Databases);
            }

            // redis-check-aof accepts the directory
            CopyDirectory(dir, Path.Combine(copy, "appendonlydir"));
            var (code, output) = RunTool("redis-check-aof", Path.Combine(copy, "appendonlydir", "appendonly.aof.manifest"));
            Assert.True(code == 0, output);
            Assert.Contains("is valid", output);

            // and redis-server 7.0 loads it
            using var reference = ReferenceRedis.TryStart($"--appendonly yes --dir {copy}");
            Assert.True(reference is not null, "redis-server is not installed: this test loads our AOF in it");
            var mismatches = reference.Compare(h, Readout(h.Server.Databases));
            Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
        }
        finally
        {
            Directory.Delete(ours, recursive: true);
            Directory.Delete(copy, recursive: true);
            Directory.Delete(replayDir, recursive: true);
        }
    }

    [Fact]
    public void BaseWrittenAtStartUpFollowsTheSetting()
    {
        string ours = Directory.CreateTempSubdirectory("aofcmd-start-").FullName;
        try
        {
            using var h = new CommandHarness(new ServerOptions { Dir = ours, Save = "", AppendOnly = true }, start: DateTimeOffset.UtcNow);
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "aof-use-rdb-preamble", "no"));
            foreach (var command in Dataset()) h.Run(command); // no AOF yet: the start-up base below holds all of it
            Assert.Null(h.Server.Persistence.LoadAtStartup());
            string dir = Path.Combine(ours, "appendonlydir");
            Assert.Contains("file appendonly.aof.1.base.aof seq 1 type b", File.ReadAllText(Path.Combine(dir, "appendonly.aof.manifest")));
            Assert.False(File.Exists(Path.Combine(dir, "appendonly.aof.1.base.rdb")));
            byte[] atStart = File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.1.base.aof"));

            // the same image as the background rewrite writes (key order aside)
            Assert.Equal("+Background append only file rewriting started\r\n", h.Run("BGREWRITEAOF"));
            WaitForRewrite(h);
            AssertSameBase(File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.2.base.aof")), atStart);
        }
        finally
        {
            Directory.Delete(ours, recursive: true);
        }
    }

    [Fact]
    public void DefaultStillWritesAnRdbBase()
    {
        string ours = Directory.CreateTempSubdirectory("aofcmd-rdb-").FullName;
        try
        {
            using var h = new CommandHarness(new ServerOptions { Dir = ours, Save = "", AppendOnly = true });
            h.Run("SET", "k", "v");
            Assert.Null(h.Server.Persistence.LoadAtStartup());
            string dir = Path.Combine(ours, "appendonlydir");
            Assert.Contains("file appendonly.aof.1.base.rdb seq 1 type b", File.ReadAllText(Path.Combine(dir, "appendonly.aof.manifest")));
            Assert.StartsWith("REDIS0010", Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.1.base.rdb"))));
            h.Run("RPUSH", "l", "a", "b");
            Assert.Equal("+Background append only file rewriting started\r\n", h.Run("BGREWRITEAOF"));
            WaitForRewrite(h);
            Assert.Contains("file appendonly.aof.2.base.rdb seq 2 type b", File.ReadAllText(Path.Combine(dir, "appendonly.aof.manifest")));
            byte[] image = File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.2.base.rdb"));
            Assert.StartsWith("REDIS0010", Encoding.Latin1.GetString(image));
            Assert.Equal(RdbFormat.OpEof, image[^9]); // EOF, then the CRC64 trailer
            Assert.False(File.Exists(Path.Combine(dir, "appendonly.aof.2.base.aof")));
        }
        finally
        {
            Directory.Delete(ours, recursive: true);
        }
    }

    [Fact]
    public void TheSettingTakesEffectAtTheNextRewrite()
    {
        string ours = Directory.CreateTempSubdirectory("aofcmd-switch-").FullName;
        string replayDir = Directory.CreateTempSubdirectory("aofcmd-switch-replay-").FullName;
        try
        {
            var start = DateTimeOffset.UtcNow;
            using var h = new CommandHarness(new ServerOptions { Dir = ours, Save = "", AppendOnly = true }, start: start);
            Assert.Null(h.Server.Persistence.LoadAtStartup()); // yes: an (empty) RDB base
            string dir = Path.Combine(ours, "appendonlydir");
            Assert.True(File.Exists(Path.Combine(dir, "appendonly.aof.1.base.rdb")));
            foreach (var command in Dataset()) h.Run(command);
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "aof-use-rdb-preamble", "no"));
            Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "aof-timestamp-enabled", "yes"));
            Assert.Equal("+Background append only file rewriting started\r\n", h.Run("BGREWRITEAOF"));
            WaitForRewrite(h);
            Assert.Contains("file appendonly.aof.2.base.aof seq 2 type b", File.ReadAllText(Path.Combine(dir, "appendonly.aof.manifest")));
            Assert.False(File.Exists(Path.Combine(dir, "appendonly.aof.1.base.rdb")));
            string text = Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(dir, "appendonly.aof.2.base.aof")));
            Assert.Matches(@"^#TS:\d+\r\n\*2\r\n\$6\r\nSELECT\r\n", text); // the timestamp annotation first, as redis-server

            CopyDirectory(dir, Path.Combine(replayDir, "appendonlydir"));
            using var replay = new CommandHarness(new ServerOptions { Dir = replayDir, Save = "", AppendOnly = true }, start: start);
            Assert.Null(replay.Server.Persistence.LoadAtStartup());
            AssertSameData(h.Server.Databases, replay.Server.Databases);
        }
        finally
        {
            Directory.Delete(ours, recursive: true);
            Directory.Delete(replayDir, recursive: true);
        }
    }

    // ------------------------------------------------------------------ comparing two bases

    /// <summary>
    /// The two files hold the same commands: per database (SELECT) the same keys; per key the same commands in the
    /// same order with the same batch sizes. Exceptions: members of SADD/HMSET, and of ZADD for a sorted set larger
    /// than a listpack (redis-server walks a hash table there), are compared as multisets; PEXPIREAT and XCLAIM's TIME
    /// are compared within 60 s (clock readings).
    /// </summary>
    private static void AssertSameBase(byte[] expected, byte[] actual)
    {
        var want = ByKey(ParseCommands(expected));
        var got = ByKey(ParseCommands(actual));
        Assert.Equal(want.Keys.Order().ToArray(), got.Keys.Order().ToArray());
        foreach (var (key, commands) in want)
        {
            var mine = got[key];
            string where = $"db {key.Db} key {key.Key}";
            Assert.True(commands.Count == mine.Count, $"{where}: {commands.Count} commands expected, {mine.Count} written\n{Show(commands)}\n---\n{Show(mine)}");
            string name = commands[0][0];
            int total = commands.Where(c => c[0] == name).Sum(c => c.Length - 2);
            bool unordered = name is "SADD" or "HMSET" || (name == "ZADD" && total / 2 > EncodingLimits.Current.ZSetMaxListpackEntries);
            if (unordered)
            {
                int width = name == "SADD" ? 1 : 2;
                var batches = commands.Where(c => c[0] == name).ToList();
                var myBatches = mine.Where(c => c[0] == name).ToList();
                Assert.Equal(batches.Select(c => c.Length), myBatches.Select(c => c.Length)); // the same batches
                Assert.Equal(Items(batches, width), Items(myBatches, width));
                AssertSameCommands(where, commands.Where(c => c[0] != name).ToList(), mine.Where(c => c[0] != name).ToList());
                continue;
            }
            AssertSameCommands(where, commands, mine);
        }
    }

    /// <summary>Command for command, argument for argument; clock readings within 60 s.</summary>
    private static void AssertSameCommands(string where, List<string[]> commands, List<string[]> mine)
    {
        Assert.True(commands.Count == mine.Count, $"{where}: {Show(commands)}\n---\n{Show(mine)}");
        for (int i = 0; i < commands.Count; i++)
        {
            var a = commands[i];
            var b = mine[i];
            Assert.True(a.Length == b.Length, $"{where}: {Show([a])} vs {Show([b])}");
            for (int j = 0; j < a.Length; j++)
            {
                bool clock = (a[0] == "PEXPIREAT" && j == 2) || (a[0] == "XCLAIM" && j == 7);
                if (clock) Assert.True(Math.Abs(long.Parse(a[j], CultureInfo.InvariantCulture) - long.Parse(b[j], CultureInfo.InvariantCulture)) < 60_000, $"{where}: {Show([a])} vs {Show([b])}");
                else Assert.True(a[j] == b[j], $"{where}: {Show([a])} vs {Show([b])}");
            }
        }
    }

    private static List<string> Items(List<string[]> commands, int width)
    {
        var items = new List<string>();
        foreach (var c in commands)
            for (int i = 2; i < c.Length; i += width) items.Add(string.Join('\0', c[i..(i + width)]));
        items.Sort(StringComparer.Ordinal);
        return items;
    }

    private static string Show(IEnumerable<string[]> commands) => string.Join('\n', commands.Select(c => string.Join(' ', c)));

    /// <summary>Commands grouped by (database, key) in the order they appear.</summary>
    private static Dictionary<(int Db, string Key), List<string[]>> ByKey(List<string[]> commands)
    {
        var result = new Dictionary<(int, string), List<string[]>>();
        int db = 0;
        foreach (var c in commands)
        {
            if (c[0] == "SELECT")
            {
                db = int.Parse(c[1], CultureInfo.InvariantCulture);
                continue;
            }
            string key = c[0] == "XGROUP" ? c[2] : c[1];
            if (!result.TryGetValue((db, key), out var list)) result[(db, key)] = list = [];
            list.Add(c);
        }
        return result;
    }

    /// <summary>A command-form AOF: RESP arrays of bulk strings; "#" annotation lines skipped.</summary>
    private static List<string[]> ParseCommands(byte[] file)
    {
        string text = Encoding.Latin1.GetString(file);
        var commands = new List<string[]>();
        int pos = 0;
        string Line()
        {
            int end = text.IndexOf("\r\n", pos, StringComparison.Ordinal);
            Assert.True(end >= 0, $"unterminated line at {pos}");
            string line = text[pos..end];
            pos = end + 2;
            return line;
        }
        while (pos < text.Length)
        {
            if (text[pos] == '#')
            {
                Line();
                continue;
            }
            string header = Line();
            Assert.StartsWith("*", header);
            var args = new string[int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture)];
            for (int i = 0; i < args.Length; i++)
            {
                string bulk = Line();
                Assert.StartsWith("$", bulk);
                int length = int.Parse(bulk.AsSpan(1), CultureInfo.InvariantCulture);
                args[i] = text.Substring(pos, length);
                pos += length;
                Assert.Equal("\r\n", text.Substring(pos, 2));
                pos += 2;
            }
            commands.Add(args);
        }
        return commands;
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Commands that read every key back in an order-independent way (hash-table sets and hashes iterate
    /// differently in redis-server, and consumers' seen times are the load's): run on both servers, replies compared.</summary>
    private static List<string[]> Readout(RedisDatabase[] databases)
    {
        var script = new List<string[]>();
        foreach (var db in databases)
        {
            script.Add(["SELECT", db.Index.ToString(CultureInfo.InvariantCulture)]);
            script.Add(["DBSIZE"]);
            foreach (var e in db.Entries)
            {
                string key = Encoding.Latin1.GetString(e.Key);
                script.Add(["TYPE", key]);
                script.Add(["PEXPIRETIME", key]);
                switch (e.Object)
                {
                    case null:
                        script.Add(["GET", key]);
                        break;
                    case RedisList:
                        script.Add(["LRANGE", key, "0", "-1"]);
                        break;
                    case RedisSet:
                        script.Add(["SORT", key, "ALPHA"]);
                        break;
                    case RedisSortedSet:
                        script.Add(["ZRANGE", key, "0", "-1", "WITHSCORES"]);
                        break;
                    case RedisHash hash:
                        script.Add(["HMGET", key, .. Enumerable.Range(0, hash.Count).Select(i => Encoding.Latin1.GetString(hash.FieldAt(i)))]);
                        script.Add(["HLEN", key]);
                        break;
                    case RedisStream stream:
                        script.Add(["XRANGE", key, "-", "+"]);
                        script.Add(["XINFO", "GROUPS", key]);
                        foreach (var g in stream.Groups) script.Add(["XPENDING", key, Encoding.Latin1.GetString(g.Name)]);
                        break;
                }
            }
        }
        script.Add(["SELECT", "0"]);
        return script;
    }

    private static void AssertSameData(RedisDatabase[] expected, RedisDatabase[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Count, actual[i].Count);
            var byKey = new Dictionary<string, (byte[] Dump, long ExpireAtMs)>();
            foreach (var e in actual[i].Entries) byKey[Encoding.Latin1.GetString(e.Key)] = (RdbFormat.Dump(e), e.ExpireAtMs);
            foreach (var e in expected[i].Entries)
            {
                string key = Encoding.Latin1.GetString(e.Key);
                Assert.True(byKey.TryGetValue(key, out var other), $"db {i}: {key} missing after the replay");
                Assert.True(RdbFormat.Dump(e).AsSpan().SequenceEqual(other.Dump), $"db {i}: DUMP of {key} differs after the replay");
                Assert.Equal(e.ExpireAtMs, other.ExpireAtMs);
            }
        }
    }

    private static void WaitForRewrite(CommandHarness h)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((h.Server.Persistence.Aof.RewriteInProgress || h.Server.Persistence.Aof.RewriteScheduled) && DateTime.UtcNow < deadline)
        {
            // at most 1 ms of virtual time per round (relative TTLs of the dataset must not run out); the writer
            // thread works in real time
            h.LibOS.RunUntil(() => false, TimeSpan.FromMilliseconds(1));
            Thread.Sleep(1);
            h.Server.Persistence.Cron();
        }
        Assert.False(h.Server.Persistence.Aof.RewriteInProgress, "the rewrite did not finish");
        Assert.Contains("aof_last_bgrewrite_status:ok", h.Run("INFO", "persistence"));
    }

    /// <summary>Waits for redis-server's BGREWRITEAOF and returns its new base.</summary>
    private static byte[] WaitForRedisBase(ReferenceRedis reference, string dir)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string path = Path.Combine(dir, "appendonlydir", "appendonly.aof.2.base.aof");
        while (DateTime.UtcNow < deadline)
        {
            string info = reference.Run("INFO", "persistence");
            if (info.Contains("aof_rewrite_in_progress:0") && info.Contains("aof_rewrite_scheduled:0") && File.Exists(path))
                return File.ReadAllBytes(path);
            Thread.Sleep(50);
        }
        throw new TimeoutException("redis-server's BGREWRITEAOF did not finish: " + string.Join(", ", Directory.GetFiles(Path.Combine(dir, "appendonlydir"))));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    private static (int Code, string Output) RunTool(string tool, string argument)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(argument);
        using var process = Process.Start(psi)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
