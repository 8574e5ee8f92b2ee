namespace Demikernel.Server.Tests;

/// <summary>
/// Under an LRU or LFU maxmemory policy an RDB records each key's idle time (opcode IDLE) or LFU counter (FREQ), as
/// redis's rdbSaveKeyValuePair, so a restart or a replica keeps eviction's view of the keys; redis-server 7.0.15
/// reads them from our file.
/// </summary>
public sealed class RdbKeyAccessTests
{
    private static (CommandHarness H, string Dir) Start(string policy)
    {
        var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        string dir = Directory.CreateTempSubdirectory("rdb-access-").FullName;
        h.Server.Config.LoadDirective("dir", [dir], out _); // a start-up setting (CONFIG SET dir is protected)
        h.Run("CONFIG", "SET", "maxmemory-policy", policy);
        return (h, dir);
    }

    [Fact]
    public void IdleTimesSurviveAReloadUnderAnLruPolicy()
    {
        var (h, dir) = Start("allkeys-lru");
        using (h)
        {
            h.Run("SET", "old", "v");
            h.Run("SET", "recent", "v");
            h.Advance(TimeSpan.FromSeconds(100));
            _ = h.Server.Databases[0].NowMs; // the LRU clock's tick (the cron's, in a running server)
            h.Run("GET", "recent");
            Assert.Equal("+OK\r\n", h.Run("DEBUG", "RELOAD"));
            Assert.Equal(":100\r\n", h.Run("OBJECT", "IDLETIME", "old"));
            Assert.Equal(":0\r\n", h.Run("OBJECT", "IDLETIME", "recent"));
        }
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void CountersSurviveAReloadAndRedisServerReadsThemUnderAnLfuPolicy()
    {
        var (h, dir) = Start("allkeys-lfu");
        string freq;
        using (h)
        {
            h.Run("SET", "hot", "v");
            h.Run("SET", "cold", "v");
            for (int i = 0; i < 200; i++) h.Run("GET", "hot");
            freq = h.Run("OBJECT", "FREQ", "hot");
            Assert.NotEqual(":5\r\n", freq); // above LFU_INIT_VAL
            Assert.Equal("+OK\r\n", h.Run("DEBUG", "RELOAD"));
            Assert.Equal(freq, h.Run("OBJECT", "FREQ", "hot"));
            Assert.Equal(":5\r\n", h.Run("OBJECT", "FREQ", "cold"));
        }
        using (var redis = ReferenceRedis.TryStart($"--dir {dir} --dbfilename dump.rdb --maxmemory-policy allkeys-lfu"))
        {
            Assert.Equal(":2\r\n", redis.Run("DBSIZE"));
            Assert.Equal(freq, redis.Run("OBJECT", "FREQ", "hot"));
            Assert.Equal(":5\r\n", redis.Run("OBJECT", "FREQ", "cold"));
        }
        Directory.Delete(dir, recursive: true);
    }
}
