using System.Text;
using Demikernel.Server.Persistence;
using Demikernel.Server.Store;
using Xunit;

namespace Demikernel.Server.Tests;

/// <summary>
/// The point-in-time snapshot behind BGSAVE and the AOF rewrite: whatever commands run between its slices, the image
/// holds exactly the data of the instant it began. Each case records the state at that instant (DUMP payload and
/// deadline of every key), interleaves slices with real commands through the dispatcher, loads the image into fresh
/// databases and compares.
/// </summary>
public sealed class SnapshotTests
{
    private static readonly string[] Types = ["string", "int", "list", "hash", "set", "zset"];

    internal static Dictionary<(int Db, string Key), (string Payload, long ExpireAt)> Capture(RedisDatabase[] dbs, long nowMs)
    {
        var state = new Dictionary<(int, string), (string, long)>();
        foreach (var db in dbs)
            foreach (var e in db.Entries)
            {
                if (e.HasExpire && e.ExpireAtMs < nowMs) continue;
                state[(db.Index, Encoding.Latin1.GetString(e.Key))] = (Convert.ToHexString(RdbFormat.Dump(e)), e.ExpireAtMs);
            }
        return state;
    }

    internal static Dictionary<(int Db, string Key), (string Payload, long ExpireAt)> Load(byte[] image, int databases, TimeProvider clock, long nowMs)
    {
        var dbs = Enumerable.Range(0, databases).Select(i => new RedisDatabase(i, clock)).ToArray();
        var result = RdbLoader.Load(image, dbs, nowMs, verifyChecksum: true);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(image.Length, result.BytesUsed);
        return Capture(dbs, nowMs);
    }

    /// <summary>Runs a snapshot to completion, <paramref name="between"/> called between slices; returns the image with its CRC.</summary>
    internal static byte[] Take(CommandHarness h, Random random, Action between)
    {
        var snapshot = Snapshot.Begin(h.Server.Databases, h.Server.NowMs, 0, aofBase: false, compress: true);
        var image = new MemoryStream();
        while (!snapshot.Step(random.Next(1, 40)))
        {
            image.Write(snapshot.Drain());
            snapshot.Drained();
            between();
        }
        image.Write(snapshot.Drain());
        snapshot.Drained();
        var bytes = image.ToArray();
        var crc = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(crc, RdbCrc64.Compute(0, bytes));
        return [.. bytes, .. crc];
    }

    private static void Fill(CommandHarness h, Random random, int keys, int databases)
    {
        for (int i = 0; i < keys; i++)
        {
            h.Run("SELECT", random.Next(databases).ToString());
            string key = $"k{i}";
            switch (Types[random.Next(Types.Length)])
            {
                case "string": h.Run("SET", key, new string('v', random.Next(1, 60)) + i); break;
                case "int": h.Run("SET", key, random.Next().ToString()); break;
                case "list": h.Run("RPUSH", key, "a", i.ToString(), "c"); break;
                case "hash": h.Run("HSET", key, "f", i.ToString(), "g", "x"); break;
                case "set": h.Run("SADD", key, "1", "2", i.ToString()); break;
                default: h.Run("ZADD", key, "1", "a", "2", i.ToString()); break;
            }
            if (random.Next(4) == 0) h.Run("PEXPIRE", key, random.Next(1, 5000).ToString());
        }
        h.Run("SELECT", "0");
    }

    /// <summary>A random command that changes keys, including the awkward ones: RENAME, MOVE, COPY, FLUSHDB, expiry.</summary>
    private static void Mutate(CommandHarness h, Random random, int keys, int databases, ref int fresh)
    {
        h.Run("SELECT", random.Next(databases).ToString());
        string key = $"k{random.Next(keys)}";
        switch (random.Next(14))
        {
            case 0: h.Run("SET", key, "changed"); break;
            case 1: h.Run("DEL", key); break;
            case 2: h.Run("RENAME", key, $"k{random.Next(keys)}"); break;
            case 3: h.Run("MOVE", key, random.Next(databases).ToString()); break;
            case 4: h.Run("COPY", key, $"new{fresh++}", "DB", random.Next(databases).ToString()); break;
            case 5: h.Run("SET", $"new{fresh++}", "born after"); break;
            case 6: h.Run("LPUSH", key, "more"); break;
            case 7: h.Run("HSET", key, "f", "changed"); break;
            case 8: h.Run("SADD", key, "added"); break;
            case 9: h.Run("PEXPIRE", key, "1"); break;
            case 10: h.AdvanceMs(random.Next(0, 200)); break; // lets TTLs pass: lazy and active expiry
            case 11: h.Run("INCR", key); break;
            case 12: if (random.Next(40) == 0) h.Run("FLUSHDB"); break;
            default: h.Run("GET", key); break;
        }
        if (random.Next(10) == 0) h.Server.Databases[random.Next(databases)].ActiveExpireCycle(2);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ImageHoldsTheDataOfTheInstantItBegan(int seed)
    {
        const int databases = 3;
        const int keys = 1500;
        var random = new Random(seed);
        using var h = new CommandHarness(new ServerOptions { Databases = databases, Save = "" });
        Fill(h, random, keys, databases);
        long t = h.Server.NowMs;
        var expected = Capture(h.Server.Databases, t);
        int fresh = 0;
        var image = Take(h, random, () =>
        {
            for (int n = random.Next(0, 6); n > 0; n--) Mutate(h, random, keys, databases, ref fresh);
        });
        var loaded = Load(image, databases, h.Clock, t);
        Assert.Equal(expected.Count, loaded.Count);
        foreach (var (key, value) in expected)
        {
            Assert.True(loaded.TryGetValue(key, out var got), $"db{key.Db} {key.Key} missing from the image");
            Assert.Equal(value, got);
        }
        foreach (var db in h.Server.Databases) Assert.Null(db.Snapshot);
    }

    [Fact]
    public void ConsecutiveSnapshotsEachSeeTheirOwnInstant()
    {
        // 300 snapshots wrap the byte-sized epoch: marks left by earlier snapshots must never pass for new ones.
        var random = new Random(7);
        using var h = new CommandHarness(new ServerOptions { Databases = 2, Save = "" });
        Fill(h, random, 200, 2);
        int fresh = 0;
        for (int round = 0; round < 300; round++)
        {
            for (int n = random.Next(0, 20); n > 0; n--) Mutate(h, random, 200, 2, ref fresh);
            long t = h.Server.NowMs;
            var expected = Capture(h.Server.Databases, t);
            var image = Take(h, random, () => Mutate(h, random, 200, 2, ref fresh));
            var loaded = Load(image, 2, h.Clock, t);
            Assert.Equal(expected, loaded);
        }
    }

    [Fact]
    public void KeysChangedBeforeTheWalkReachesThemAreWrittenAheadAndCounted()
    {
        using var h = new CommandHarness(new ServerOptions { Databases = 2, Save = "" });
        for (int i = 0; i < 1000; i++) h.Run("SET", $"k{i}", "old");
        h.Run("SELECT", "1");
        for (int i = 0; i < 1000; i++) h.Run("SET", $"k{i}", "old");
        var snapshot = Snapshot.Begin(h.Server.Databases, h.Server.NowMs, 0, aofBase: false, compress: false);
        for (int i = 0; i < 1000; i++) h.Run("SET", $"k{i}", "new"); // database 1: not reached by the walk yet
        Assert.Equal(1000, snapshot.KeysWritten);
        Assert.True(snapshot.PreservedBytes > 0);
        snapshot.RunToEnd();
        Assert.Equal(2000, snapshot.KeysWritten);
        Assert.Equal(2000, snapshot.KeysTotal);
    }

    [Fact]
    public void SaveWritesAFileRedisCheckRdbAccepts()
    {
        string dir = Directory.CreateTempSubdirectory("snapshot-").FullName;
        try
        {
            using var h = new CommandHarness(new ServerOptions { Dir = dir, Save = "" });
            var random = new Random(3);
            Fill(h, random, 300, 16);
            Assert.Equal("+OK\r\n", h.Run("SAVE"));
            Assert.Equal("+Background saving started\r\n", h.Run("BGSAVE"));
            Assert.Equal("-ERR Background save already in progress\r\n", h.Run("BGSAVE"));
            Assert.Equal("-ERR Background save already in progress\r\n", h.Run("SAVE"));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (h.Server.Persistence.BgsaveInProgress && DateTime.UtcNow < deadline)
            {
                h.LibOS.RunUntil(() => false, TimeSpan.FromMilliseconds(10));
                h.AdvanceMs(100);
                h.Server.Persistence.Cron();
            }
            Assert.False(h.Server.Persistence.BgsaveInProgress);
            Assert.Contains("rdb_last_bgsave_status:ok", h.Run("INFO", "persistence"));
            var check = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("redis-check-rdb", Path.Combine(dir, "dump.rdb"))
            {
                RedirectStandardOutput = true,
            })!;
            string output = check.StandardOutput.ReadToEnd();
            check.WaitForExit();
            Assert.True(check.ExitCode == 0, output);
            Assert.Contains("RDB looks OK", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
