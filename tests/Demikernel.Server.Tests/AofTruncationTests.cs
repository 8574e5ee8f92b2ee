using System.Globalization;
using System.Text;
using Demikernel.Server.Persistence;

namespace Demikernel.Server.Tests;

/// <summary>
/// The AOF loader against an incremental file cut at 100 seeded random offsets (and three chosen ones) (in-process, through the server's
/// own <see cref="AofLoader"/> and dispatcher): it applies exactly the file's complete commands (a MULTI left open
/// by the cut is dropped), reports a torn tail at the right offset, and the state equals what redis-server holds
/// after running the same complete commands (DUMP and PEXPIRETIME of every key compared byte for byte). The process
/// level (aof-load-truncated yes/no, the file cut back, the exit code) is in Demikernel.Server.DurabilityTests.
/// </summary>
public sealed class AofTruncationTests
{
    private sealed record Command(string[] Args, int Start, int End);

    private const string FileName = "appendonly.aof.1.incr.aof";
    private const int AnnotationLength = 16; // "#TS:" + 10 digits + CRLF
    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>An incremental file as ours writes it: SELECTs, commands, MULTI/EXEC, #TS annotations.</summary>
    private static (byte[] Bytes, List<Command> Commands, HashSet<string> Keys, List<int> Annotations) BuildFile()
    {
        var annotations = new List<int>();
        var bytes = new List<byte>();
        var commands = new List<Command>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        void Add(params string[] args)
        {
            int start = bytes.Count;
            var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
            foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
            bytes.AddRange(Encoding.UTF8.GetBytes(sb.ToString()));
            commands.Add(new Command(args, start, bytes.Count));
            if (args.Length > 1 && args[0] is not ("SELECT" or "MULTI" or "EXEC")) keys.Add(args[1]);
        }
        const long Year2100Ms = 4_102_444_800_000;
        Add("SELECT", "0");
        for (int i = 0; i < 160; i++)
        {
            if (i % 11 == 0) annotations.Add(bytes.Count);
            if (i % 11 == 0) bytes.AddRange(Encoding.ASCII.GetBytes($"#TS:{S(1_790_000_000 + i)}\r\n"));
            if (i % 7 == 3) Add("SELECT", S(i / 7 % 4));
            switch (i % 9)
            {
                case 0: Add("SET", $"s{S(i % 20)}", $"value-{S(i)}"); break;
                case 1: Add("INCRBY", "counter", S(i)); break;
                case 2: Add("RPUSH", $"l{S(i % 3)}", $"e{S(i)}", S(i)); break;
                case 3: Add("HSET", "h", $"f{S(i % 5)}", S(i)); break;
                case 4: Add("SADD", $"set{S(i % 2)}", S(i)); break;
                case 5: Add("ZADD", "z", S(i), $"m{S(i % 9)}"); break;
                case 6:
                    Add("MULTI");
                    Add("SET", $"t{S(i)}", "in-transaction");
                    Add("INCR", "counter");
                    Add("LPUSH", "l0", "tx");
                    Add("EXEC");
                    break;
                case 7: Add("DEL", $"s{S((i + 3) % 20)}"); break;
                default: Add("PEXPIREAT", $"s{S(i % 20)}", S(Year2100Ms + i)); break;
            }
        }
        return (bytes.ToArray(), commands, keys, annotations);
    }

    /// <summary>The complete commands before <paramref name="cut"/>, without a MULTI the cut left open.</summary>
    private static List<Command> Prefix(List<Command> all, int cut, out bool torn, out int valid)
    {
        var applied = new List<Command>();
        int multiAt = -1, multiStart = 0;
        valid = 0;
        torn = false;
        foreach (var c in all)
        {
            if (c.End > cut)
            {
                torn = c.Start < cut;
                // the file is cut back to where the torn command starts: complete #TS annotations before it stay
                // (redis-server also cuts those; they carry no data)
                if (torn) valid = c.Start;
                break;
            }
            applied.Add(c);
            if (c.Args[0] == "MULTI")
            {
                multiAt = applied.Count - 1;
                multiStart = c.Start;
            }
            else if (c.Args[0] == "EXEC")
            {
                multiAt = -1;
            }
            if (multiAt < 0) valid = c.End;
        }
        if (multiAt >= 0)
        {
            torn = true;
            applied.RemoveRange(multiAt, applied.Count - multiAt);
            valid = multiStart;
        }
        return applied;
    }

    [Fact]
    public void HundredSeededCutsLoadExactlyTheCompleteCommands()
    {
        using var redis = ReferenceRedis.TryStart();
        Assert.True(redis is not null, "redis-server is not installed (tests/run.sh installs it with apt-get)");
        redis.Run("CONFIG", "SET", "rdbcompression", "no"); // DUMP payloads without two LZF compressors' choices
        var (file, commands, keys, annotations) = BuildFile();
        var rnd = new Random(20261202);
        var cuts = Enumerable.Range(0, 100).Select(_ => rnd.Next(0, file.Length + 1)).ToList();
        // and by hand: inside a #TS annotation (redis-server loads that file as complete, even with
        // aof-load-truncated no), right after one, and the whole file
        cuts.AddRange([annotations[3] + 5, annotations[3] + 16, file.Length]);
        int tornCount = 0, insideMulti = 0;
        foreach (int cut in cuts)
        {
            var prefix = Prefix(commands, cut, out bool torn, out int valid);
            redis.Run("FLUSHALL");
            // The prefix holds whole transactions only; ReferenceRedis ends each exchange with an ECHO that MULTI
            // would queue, so the transactions' commands run one by one (one client, nothing can interleave).
            foreach (var c in prefix)
                if (c.Args[0] is not ("MULTI" or "EXEC")) redis.Run(c.Args);

            using var h = new CommandHarness();
            h.Run("CONFIG", "SET", "rdbcompression", "no");
            var loader = new AofLoader(h.Server);
            var result = loader.Load(file.AsSpan(0, cut), FileName, allowRdb: false);
            loader.ResetTransaction();
            string where = $"cut at {cut} of {file.Length}";
            if (torn)
            {
                tornCount++;
                if (commands.Any(c => c.Args[0] == "MULTI" && c.Start < cut && commands.First(e => e.Args[0] == "EXEC" && e.Start > c.Start).End > cut)) insideMulti++;
                Assert.False(result.Ok, $"{where}: a torn file loaded as complete");
                Assert.True(result.Truncated, $"{where}: reported as malformed, not torn: {result.Error}");
                Assert.Contains(FileName, result.Error);
                Assert.Contains("offset", result.Error);
            }
            else
            {
                Assert.True(result.Ok, $"{where}: {result.Error}");
                // everything was read but a torn annotation at the end, which the caller cuts off
                valid = annotations.FirstOrDefault(a => a < cut && cut < a + AnnotationLength, cut);
            }
            Assert.True(valid == result.ValidLength, $"{where}: valid length {result.ValidLength}, expected {valid}");

            var diffs = new List<string>();
            for (int db = 0; db < 4; db++)
            {
                redis.Run("SELECT", S(db));
                h.Run("SELECT", S(db));
                string expectedSize = redis.Run("DBSIZE"), actualSize = h.Run("DBSIZE");
                if (expectedSize != actualSize) diffs.Add($"db {db}: DBSIZE {actualSize.Trim()}, expected {expectedSize.Trim()}");
                foreach (var key in keys)
                {
                    foreach (var command in new[] { "DUMP", "PEXPIRETIME" })
                    {
                        string expected = redis.Run(command, key);
                        string actual = Encoding.Latin1.GetString(h.Execute(Encoding.UTF8.GetBytes(command), Encoding.UTF8.GetBytes(key)));
                        if (expected != actual) diffs.Add($"db {db} {command} {key}: {Escape(actual)}, expected {Escape(expected)}");
                    }
                }
            }
            Assert.True(diffs.Count == 0, $"{where} ({prefix.Count} commands, torn {torn}):\n{string.Join("\n", diffs.Take(10))}");
        }
        Assert.True(tornCount > 50 && insideMulti > 3, $"the seeded cuts are not varied enough: {tornCount} torn, {insideMulti} inside MULTI");
    }

    private static string Escape(string s) => s.Length > 80 ? s[..80].Replace("\r\n", "\\r\\n") + "..." : s.Replace("\r\n", "\\r\\n");
}
