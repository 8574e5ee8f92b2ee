namespace Demikernel.Server.Tests;

/// <summary>
/// CONFIG SET with several parameters is all or nothing, as in redis-server 7.0 (config.c configSetCommand): names are
/// checked first, then values, then the new values are applied; any failure leaves every parameter as it was. Replies
/// are compared byte for byte with redis-server 7.0.15.
/// </summary>
public sealed class ConfigSetTests
{
    private static readonly string[][] Script =
    [
        ["CONFIG", "SET", "hz", "abc", "nosuch", "1"],          // the unknown name wins over a bad value
        ["CONFIG", "SET", "nosuch", "1", "daemonize", "yes"],   // the first problem in argument order is the answer
        ["CONFIG", "SET", "daemonize", "yes", "nosuch", "1"],
        ["CONFIG", "SET", "hz", "20", "daemonize", "yes"],
        ["CONFIG", "SET", "HZ", "5", "hz", "6"],                // duplicate: same name in any case
        ["CONFIG", "SET", "a", "b", "c"],                       // odd count: syntax error
        ["CONFIG", "SET", "hz"],
        ["CONFIG", "SET", "maxclients", "99999999999"],
        ["CONFIG", "SET", "Timeout", "abc"],                    // a value error names the parameter lower-cased
        ["CONFIG", "SET", "hz", "15", "timeout", "5"],
        ["CONFIG", "GET", "hz"], ["CONFIG", "GET", "timeout"],
        ["CONFIG", "SET", "timeout", "7", "hz", "30", "maxclients", "abc"], // rolled back: timeout and hz unchanged
        ["CONFIG", "GET", "timeout"], ["CONFIG", "GET", "hz"],
        ["CONFIG", "SET", "hz", "40", "save", "1 2 3"],
        ["CONFIG", "GET", "hz"], ["CONFIG", "GET", "save"],
        ["CONFIG", "SET", "auto-aof-rewrite-min-size", "1mb"],  // memory units stored in bytes
        ["CONFIG", "GET", "auto-aof-rewrite-min-size"],
        ["CONFIG", "SET", "save", "100 1 200 2", "rdbcompression", "no", "loglevel", "warning"],
        ["CONFIG", "GET", "save"], ["CONFIG", "GET", "rdbcompression"], ["CONFIG", "GET", "loglevel"],
        ["CONFIG", "SET", "save", "", "timeout", "0", "hz", "10", "rdbcompression", "yes", "loglevel", "notice"],
    ];

    [Fact]
    public void ValidationAndRollbackMatchRedisServer()
    {
        using var redis = ReferenceRedis.TryStart(); // started with --save ""
        using var h = new CommandHarness(new ServerOptions { Save = "" });
        var mismatches = redis.Compare(h, Script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    /// <summary>
    /// An apply error (the AOF cannot start: its directory's name is taken by a file) after other parameters were
    /// already stored: every parameter is restored, and the error names the one whose apply failed.
    /// </summary>
    [Fact]
    public void ApplyErrorRestoresEveryParameter()
    {
        string ours = Directory.CreateTempSubdirectory("cfgset-ours").FullName;
        string theirs = Directory.CreateTempSubdirectory("cfgset-redis").FullName;
        try
        {
            File.WriteAllText(Path.Combine(ours, "appendonlydir"), "");
            File.WriteAllText(Path.Combine(theirs, "appendonlydir"), "");
            using var redis = ReferenceRedis.TryStart($"--dir {theirs}");
            using var h = new CommandHarness(new ServerOptions { Dir = ours, Save = "" });
            var mismatches = redis.Compare(h,
            [
                ["CONFIG", "SET", "hz", "20", "appendonly", "yes", "timeout", "9"],
                ["CONFIG", "GET", "hz"], ["CONFIG", "GET", "appendonly"], ["CONFIG", "GET", "timeout"],
                ["CONFIG", "SET", "appendonly", "yes", "hz", "20"],
                ["CONFIG", "GET", "hz"],
            ]);
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
            Assert.Equal(10, h.Server.Config.Hz);
            Assert.False(h.Server.Config.AppendOnly);
        }
        finally
        {
            Directory.Delete(ours, true);
            Directory.Delete(theirs, true);
        }
    }

    [Fact]
    public void ChangedFiresOnlyAfterEverythingSucceeded()
    {
        using var h = new CommandHarness();
        var changed = new List<string>();
        h.Server.Config.Changed += (name, value) => changed.Add($"{name}={value}");
        Assert.StartsWith("-ERR", h.Run("CONFIG", "SET", "loglevel", "warning", "maxclients", "0"));
        Assert.Empty(changed);
        Assert.Equal("+OK\r\n", h.Run("CONFIG", "SET", "loglevel", "warning", "hz", "10", "timeout", "3"));
        Assert.Equal(["loglevel=warning", "timeout=3"], changed); // hz was already 10: nothing to apply
    }
}
