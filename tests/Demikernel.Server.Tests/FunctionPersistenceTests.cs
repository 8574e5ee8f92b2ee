namespace Demikernel.Server.Tests;

/// <summary>
/// Function libraries survive restarts as in redis-server 7.0: in the RDB (FUNCTION2 opcodes), in an AOF rewrite
/// (FUNCTION LOAD first, or the RDB preamble), and as FUNCTION LOAD commands appended to the AOF; an RDB written by
/// redis-server 7.0.15 with functions loads here, and ours loads in redis-server.
/// </summary>
public sealed class FunctionPersistenceTests
{
    private const string Library = "#!lua name=plib\nredis.register_function('pf', function(keys, args) return 'from ' .. args[1] end)";

    [Fact]
    public void RdbKeepsLibraries()
    {
        string dir = Directory.CreateTempSubdirectory("fn-rdb-").FullName;
        try
        {
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                Assert.Equal(CommandHarness.Bulk("plib"), h.Run("FUNCTION", "LOAD", Library));
                h.Run("SET", "k", "v");
                Assert.Equal(CommandHarness.Ok, h.Run("SAVE"));
            }
            using (var h = new CommandHarness(new ServerOptions { Dir = dir }))
            {
                Assert.Null(h.Server.Persistence.LoadAtStartup());
                Assert.Equal(CommandHarness.Bulk("from rdb"), h.Run("FCALL", "pf", "0", "rdb"));
                Assert.Equal(CommandHarness.Bulk("v"), h.Run("GET", "k"));
            }
            // redis-server reads our file, functions included.
            using (var redis = ReferenceRedis.TryStart($"--dir {dir} --dbfilename dump.rdb"))
                Assert.Equal(CommandHarness.Bulk("from redis"), redis.Run("FCALL", "pf", "0", "redis"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RedisServersRdbWithFunctionsLoads()
    {
        string dir = Directory.CreateTempSubdirectory("fn-redis-rdb-").FullName;
        try
        {
            using (var redis = ReferenceRedis.TryStart($"--dir {dir} --dbfilename dump.rdb"))
            {
                redis.Run("FUNCTION", "LOAD", Library);
                redis.Run("SAVE");
            }
            using var h = new CommandHarness(new ServerOptions { Dir = dir });
            Assert.Null(h.Server.Persistence.LoadAtStartup());
            Assert.Equal(CommandHarness.Bulk("from redis rdb"), h.Run("FCALL", "pf", "0", "redis rdb"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("no")]
    public void AofAndItsRewriteKeepLibraries(string preamble)
    {
        string dir = Directory.CreateTempSubdirectory("fn-aof-").FullName;
        try
        {
            var options = new ServerOptions { Dir = dir, AppendOnly = true };
            using (var h = new CommandHarness(options))
            {
                Assert.Null(h.Server.Persistence.LoadAtStartup());
                Assert.Equal(CommandHarness.Ok, h.Run("CONFIG", "SET", "aof-use-rdb-preamble", preamble));
                Assert.Equal(CommandHarness.Bulk("plib"), h.Run("FUNCTION", "LOAD", Library));
                h.Run("FUNCTION", "LOAD", "#!lua name=later\nredis.register_function('lf', function() return 2 end)");
                Assert.Equal("+Background append only file rewriting started\r\n", h.Run("BGREWRITEAOF"));
                WaitForRewrite(h);
                h.Run("FUNCTION", "DELETE", "later");
                h.Run("FUNCTION", "LOAD", "#!lua name=after\nredis.register_function('af', function() return 3 end)");
                for (int i = 0; i < 5; i++)
                {
                    h.LibOS.RunUntil(() => false, TimeSpan.FromMilliseconds(1)); // the AOF writes what the loop step appended
                    h.Server.Persistence.Cron();
                }
            }
            using (var h = new CommandHarness(new ServerOptions { Dir = dir, AppendOnly = true }))
            {
                Assert.Null(h.Server.Persistence.LoadAtStartup());
                Assert.Equal(CommandHarness.Bulk("from aof"), h.Run("FCALL", "pf", "0", "aof"));
                Assert.Equal(CommandHarness.Err("ERR Function not found"), h.Run("FCALL", "lf", "0"));
                Assert.Equal(CommandHarness.Int(3), h.Run("FCALL", "af", "0"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void WaitForRewrite(CommandHarness h)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((h.Server.Persistence.Aof.RewriteInProgress || h.Server.Persistence.Aof.RewriteScheduled) && DateTime.UtcNow < deadline)
        {
            h.LibOS.RunUntil(() => false, TimeSpan.FromMilliseconds(1));
            Thread.Sleep(1);
            h.Server.Persistence.Cron();
        }
        Assert.False(h.Server.Persistence.Aof.RewriteInProgress, "the rewrite did not finish");
    }
}
