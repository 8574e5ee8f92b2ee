using Xunit;

namespace Demikernel.Server.Tests;

/// <summary>
/// SAVE, BGSAVE, LASTSAVE, SHUTDOWN and the MISCONF guard, answered as redis-server 7.0.15 answers them. A failing save
/// is a real one: the configured directory does not exist, so opening the file fails.
/// </summary>
public sealed class PersistenceCommandTests
{
    private const string Misconf =
        "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n";

    private static void WaitForBgsave(CommandHarness h)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (h.Server.Persistence.BgsaveInProgress && DateTime.UtcNow < deadline)
        {
            h.LibOS.RunUntil(() => false, TimeSpan.FromMilliseconds(5));
            h.Server.Persistence.Cron();
        }
        Assert.False(h.Server.Persistence.BgsaveInProgress, "BGSAVE did not finish");
    }

    [Fact]
    public void AFailedBackgroundSaveRefusesWritesWithMisconf()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}");
        using var h = new CommandHarness(new ServerOptions { Dir = missing });
        string lastSave = h.Run("LASTSAVE");
        h.Run("SET", "k", "v");
        Assert.Equal("+Background saving started\r\n", h.Run("BGSAVE"));
        WaitForBgsave(h);
        Assert.Contains("rdb_last_bgsave_status:err", h.Run("INFO", "persistence"));
        Assert.Equal(lastSave, h.Run("LASTSAVE"));
        Assert.Equal(Misconf, h.Run("SET", "k", "w"));
        Assert.Equal(Misconf, h.Run("PING"));
        Assert.Equal("$1\r\nv\r\n", h.Run("GET", "k"));
        Assert.Equal("+OK\r\n", h.Run("MULTI"));
        Assert.Equal(Misconf, h.Run("SET", "k", "x"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.\r\n", h.Run("EXEC"));
        Assert.Equal("-ERR\r\n", h.Run("SAVE"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"));
        Assert.Equal("+OK\r\n", h.Run("SET", "k", "w"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "save", ""));
        Assert.Equal("+OK\r\n", h.Run("SET", "k", "z")); // without save points there is nothing to protect
    }

    [Fact]
    public void ExecWithQueuedWritesIsDiscardedWhenSavingFails()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}");
        using var h = new CommandHarness(new ServerOptions { Dir = missing });
        Assert.Equal("+OK\r\n", h.Run("MULTI"));
        Assert.Equal("+QUEUED\r\n", h.Run("SET", "k", "v"));
        Assert.True(h.Server.Persistence.StartBackgroundSave()); // fails while the transaction is open
        WaitForBgsave(h);
        string exec = h.Run("EXEC");
        Assert.StartsWith("-EXECABORT Transaction discarded because of: MISCONF Redis is configured to save RDB snapshots", exec);
        Assert.Equal("$-1\r\n", h.Run("GET", "k"));
    }

    [Fact]
    public void CommandErrorsMatchRedis()
    {
        using var h = new CommandHarness(new ServerOptions { Save = "" });
        Assert.Equal("-ERR syntax error\r\n", h.Run("BGSAVE", "foo"));
        Assert.Equal("-ERR syntax error\r\n", h.Run("SHUTDOWN", "NOSAVE", "SAVE"));
        Assert.Equal("-ERR syntax error\r\n", h.Run("SHUTDOWN", "ABORT", "NOW"));
        Assert.Equal("-ERR syntax error\r\n", h.Run("SHUTDOWN", "LATER"));
        Assert.Equal("-ERR No shutdown in progress.\r\n", h.Run("SHUTDOWN", "ABORT"));
        Assert.Equal("+OK\r\n", h.Run("MULTI"));
        Assert.Equal("-ERR Command not allowed inside a transaction\r\n", h.Run("SAVE"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.\r\n", h.Run("EXEC"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters\r\n", h.Run("CONFIG", "SET", "save", "1 2 3"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n", h.Run("CONFIG", "SET", "dir", "/tmp"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'rdbchecksum') - can't set immutable config\r\n", h.Run("CONFIG", "SET", "rdbchecksum", "no"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no\r\n", h.Run("CONFIG", "SET", "appendfsync", "sometimes"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n", h.Run("CONFIG", "SET", "maxclients", "99999999999"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n", h.Run("CONFIG", "SET", "timeout", "-1"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "maxclients", "4294967295"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "timeout", "0")); // CONFIG SET still works after the refusals
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive\r\n", h.Run("CONFIG", "SET", "hz", "-5"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "hz", "99999"));
        Assert.Equal("*2\r\n$2\r\nhz\r\n$3\r\n500\r\n", h.Run("CONFIG", "GET", "hz")); // clamped, as redis-server shows it
        Assert.Contains("hz:500\r\n", h.Run("INFO", "server"));
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "hz", "0"));
        Assert.Equal("*2\r\n$2\r\nhz\r\n$1\r\n1\r\n", h.Run("CONFIG", "GET", "hz"));
        Assert.Equal("*2\r\n$4\r\nsave\r\n$23\r\n3600 1 300 100 60 10000\r\n", new CommandHarness().Run("CONFIG", "GET", "save"));
    }

    [Fact]
    public void ShutdownThatCannotSaveKeepsRunningUnlessForced()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}");
        using var h = new CommandHarness(new ServerOptions { Dir = missing });
        h.Run("SET", "k", "v");
        Assert.Equal("-ERR Errors trying to SHUTDOWN. Check logs.\r\n", h.Run("SHUTDOWN"));
        Assert.False(h.Server.Stopping);
        Assert.Equal("-ERR Errors trying to SHUTDOWN. Check logs.\r\n", h.Run("SHUTDOWN", "SAVE"));
        Assert.Equal("", h.Run("SHUTDOWN", "FORCE")); // no reply: the server stops
        Assert.True(h.Server.Stopping);
    }

    [Fact]
    public void ShutdownSavesWhenSavePointsAreSetAndNotWithNosave()
    {
        string dir = Directory.CreateTempSubdirectory("shutdown-").FullName;
        try
        {
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                h.Run("SET", "k", "v");
                Assert.Equal("", h.Run("SHUTDOWN", "NOSAVE"));
                Assert.False(File.Exists(Path.Combine(dir, "dump.rdb")));
            }
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                h.Run("SET", "k", "v");
                Assert.Equal("", h.Run("SHUTDOWN"));
                Assert.True(File.Exists(Path.Combine(dir, "dump.rdb")));
            }
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                Assert.Null(h.Server.Persistence.LoadAtStartup());
                Assert.Equal("$1\r\nv\r\n", h.Run("GET", "k"));
                Assert.Contains("rdb_last_load_keys_loaded:1", h.Run("INFO", "persistence"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void StartupRefusesACorruptRdbInsteadOfStartingEmpty()
    {
        string dir = Directory.CreateTempSubdirectory("corrupt-").FullName;
        try
        {
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                for (int i = 0; i < 100; i++) h.Run("SET", $"k{i}", $"value {i}");
                Assert.Equal("+OK\r\n", h.Run("SAVE"));
            }
            string path = Path.Combine(dir, "dump.rdb");
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x20;
            File.WriteAllBytes(path, bytes);
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                string? error = h.Server.Persistence.LoadAtStartup();
                Assert.NotNull(error);
                Assert.Contains(path, error);
                Assert.Equal(":0\r\n", h.Run("DBSIZE"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void APreSevenSingleFileAofIsUpgradedIntoTheDirectory()
    {
        string dir = Directory.CreateTempSubdirectory("aof-upgrade-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "appendonly.aof"),
                "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n");
            using var h = new CommandHarness(new ServerOptions { Dir = dir, AppendOnly = true, Save = "" });
            Assert.Null(h.Server.Persistence.LoadAtStartup());
            Assert.Equal("$1\r\nv\r\n", h.Run("GET", "k"));
            Assert.Equal(":1\r\n", h.Run("LLEN", "l"));
            Assert.False(File.Exists(Path.Combine(dir, "appendonly.aof")));
            string manifest = File.ReadAllText(Path.Combine(dir, "appendonlydir", "appendonly.aof.manifest"));
            Assert.StartsWith("file appendonly.aof seq 1 type b\n", manifest);
            Assert.Contains("type i", manifest);
            Assert.True(File.Exists(Path.Combine(dir, "appendonlydir", "appendonly.aof")));
            Assert.Contains("aof_enabled:1", h.Run("INFO", "persistence"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
