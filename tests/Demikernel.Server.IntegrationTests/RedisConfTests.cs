using System.Globalization;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// The server process started from a redis.conf as <c>redis-server /path/redis.conf [--options]</c>: redis's syntax
/// (quoting, include with a glob, several save lines), command-line options over the file, redis-server 7.0.15's
/// fatal messages for bad lines (compared with the real redis-server), and Debian's own /etc/redis/redis.conf.
/// </summary>
public sealed class RedisConfTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("redis-conf-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void StartsFromARedisConfWithIncludesAndTheCommandLineOverridesIt()
    {
        Write("conf.d/a.conf", "timeout 30\n");
        Write("conf.d/b.conf", "appendfsync no\nhz 25\n");
        string conf = Write("redis.conf", $"""
            # a comment, then blank lines

              port 6399
            include {_dir}/conf.d/*.conf
            save 900 1
            SAVE 300 10
            requirepass "p\x41ss word"
            dbfilename 'my dump.rdb'
            dir {_dir}
            list-max-ziplist-entries 512
            maxclients 77
            """);
        using var server = ServerProcess.Start([conf, "--port", "0", "--maxclients", "88"]);
        int port = server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        string Get(string name) => server.Cli(port, "--no-auth-warning", "-a", "pAss word", "CONFIG", "GET", name);
        Assert.Equal("timeout\n30", Get("timeout"));
        Assert.Equal("appendfsync\nno", Get("appendfsync"));
        Assert.Equal("hz\n25", Get("hz"));
        Assert.Equal("save\n900 1 300 10", Get("save"));
        Assert.Equal("dbfilename\nmy dump.rdb", Get("dbfilename"));
        Assert.Equal($"dir\n{_dir}", Get("dir"));
        Assert.Equal("maxclients\n88", Get("maxclients")); // the command line wins
        Assert.Contains($"config_file:{conf}", server.Cli(port, "--no-auth-warning", "-a", "pAss word", "INFO", "server"), StringComparison.Ordinal);
        Assert.Equal("NOAUTH Authentication required.", server.Cli(port, "GET", "x"));
    }

    public static TheoryData<string> BadFiles => new()
    {
        "port 6379\nno-such-directive yes\n",
        "port abc\n",
        "hz 10 20\n",
        "save 1 2 3\n",
        "requirepass \"unbalanced\n",
        "requirepass \"closed\"x\n",
        "appendonly maybe\n",
        "maxclients 0\n",
        "databases 0\n",
        "dbfilename a/b\n",
        "appendfsync sometimes\n",
        "unixsocketperm 800\n",
        "unixsocketperm 1000\n",
    };

    /// <summary>redis-server 7.0.15 and this server print the same fatal message for the same bad line.</summary>
    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadLinesStopTheStartWithRedisServersMessage(string text)
    {
        string conf = Write("bad.conf", text);
        var ours = ServerProcess.RunToExit([conf]);
        var redis = ExternalProcess.RunAsync("/usr/bin/redis-server", [conf], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        Assert.Equal(1, redis.ExitCode);
        Assert.Equal(1, ours.ExitCode);
        Assert.Contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***", redis.Stderr, StringComparison.Ordinal);
        Assert.Equal(redis.Stderr.Trim(), ours.Stderr.Trim());
    }

    /// <summary>
    /// Debian's redis.conf: refused, naming every line this server does not implement (and nothing else); with those
    /// lines taken out (and its paths pointed at a test directory) the rest is accepted and applied.
    /// </summary>
    [Fact]
    public void DebiansRedisConfIsRefusedLineByLineAndTheRestIsAccepted()
    {
        const string debian = "/etc/redis/redis.conf";
        Assert.True(File.Exists(debian), $"{debian} is missing: install redis-server (tests/run.sh does)");
        var refused = ServerProcess.RunToExit([debian]);
        Assert.Equal(1, refused.ExitCode);
        string[] listed = refused.Stderr.Split('\n').Where(l => l.StartsWith($"  {debian}:", StringComparison.Ordinal)).ToArray();
        var lineNumbers = listed.Select(l => int.Parse(l[(debian.Length + 3)..l.IndexOf(' ', debian.Length + 3)], CultureInfo.InvariantCulture)).ToHashSet();
        // what redis-server 7.0 has and we do not: among them, these must be named
        foreach (string name in new[] { "daemonize yes", "pidfile", "set-proc-title", "jemalloc-bg-thread", "oom-score-adj-values" })
            Assert.Contains(listed, l => l.Contains($">>> '{name}", StringComparison.Ordinal));
        // and nothing we implement is among them
        foreach (string name in new[] { "port", "timeout", "loglevel", "databases", "appendfsync", "save", "hz", "dbfilename", "dir", "logfile" })
            Assert.DoesNotContain(listed, l => l.Contains($">>> '{name} ", StringComparison.Ordinal));

        var lines = File.ReadAllLines(debian);
        var kept = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lineNumbers.Contains(i + 1)) continue;
            string l = lines[i].TrimStart();
            kept.Add(l.StartsWith("port ", StringComparison.Ordinal) ? "port 0"
                : l.StartsWith("dir ", StringComparison.Ordinal) ? $"dir {_dir}"
                : l.StartsWith("logfile ", StringComparison.Ordinal) ? "logfile \"\""
                : lines[i]);
        }
        string conf = Write("debian-supported.conf", string.Join('\n', kept));
        using var server = ServerProcess.Start([conf]);
        int port = server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        Assert.Equal("PONG", server.Cli(port, "PING"));
        Assert.Equal("save\n3600 1 300 100 60 10000", server.Cli(port, "CONFIG", "GET", "save"));
        Assert.Equal("rdbcompression\nyes", server.Cli(port, "CONFIG", "GET", "rdbcompression"));
    }

    private static string Conf(int port, string dir) => $"""
        # my comment
        port {port}

        save 900 1
        save 300 10
        slave-read-only yes
        hz 10
          timeout 5
        # another
        loglevel notice
        appendfsync everysec
        dir {dir}
        """;

    private static readonly string[][] Changes =
    [
        ["CONFIG", "SET", "hz", "20", "timeout", "0", "loglevel", "warning", "save", "100 5", "rdbcompression", "no",
            "auto-aof-rewrite-min-size", "128mb", "appendfsync", "always"],
        ["CONFIG", "SET", "requirepass", "a b\"c"],
    ];

    /// <summary>
    /// CONFIG REWRITE of the redis.conf the server started from, next to redis-server 7.0.15 doing the same: the user's
    /// lines and comments are kept and rewritten in place (an alias line under its real name, a second save line
    /// blanked), new non-default values are appended under redis's signature. Compared line by line; the appended part
    /// as a set (redis appends in its hash table's order), without the line only redis writes
    /// (latency-tracking-info-percentiles, which this server does not have); the ACL `user default` line included.
    /// </summary>
    [Fact]
    public void ConfigRewriteKeepsTheFileAndWritesWhatChangedAsRedisServerDoes()
    {
        string oursDir = Directory.CreateDirectory(Path.Combine(_dir, "ours")).FullName;
        string redisDir = Directory.CreateDirectory(Path.Combine(_dir, "redis")).FullName;
        int oursPort = FreePorts.Next(), redisPort = FreePorts.Next();
        string oursConf = Write("ours/redis.conf", Conf(oursPort, oursDir));
        string redisConf = Write("redis/redis.conf", Conf(redisPort, redisDir));
        Assert.True(File.Exists("/usr/bin/redis-server"), "redis-server is missing: tests/run.sh installs it");
        using var redis = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/redis-server", [redisConf, "--daemonize", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            using var server = ServerProcess.Start([oursConf]);
            server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
            foreach (var (port, _) in new[] { (oursPort, 0), (redisPort, 1) })
            {
                foreach (var change in Changes) Assert.Equal("OK", server.Cli(port, change));
                Assert.Equal("OK", server.Cli(port, "--no-auth-warning", "-a", "a b\"c", "CONFIG", "REWRITE"));
            }
            string[] ours = File.ReadAllLines(oursConf).Select(l => l.Replace(oursDir, "DIR").Replace($"{oursPort}", "PORT")).ToArray();
            string[] theirs = File.ReadAllLines(redisConf).Select(l => l.Replace(redisDir, "DIR").Replace($"{redisPort}", "PORT")).ToArray();
            int split = Array.IndexOf(theirs, ServerConfig.RewriteSignature);
            Assert.True(split > 0, string.Join('\n', theirs));
            Assert.Equal(theirs[..(split + 1)], ours[..Math.Min(ours.Length, split + 1)]);
            var redisAppended = theirs[(split + 1)..].Where(l => !l.StartsWith("latency-tracking-info-percentiles ", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
            Assert.Equal(redisAppended, ours[(split + 1)..].Order(StringComparer.Ordinal));
            Assert.Contains("replica-read-only yes", ours);
            Assert.Contains("save 100 5", ours);
            Assert.Contains("requirepass \"a b\\\"c\"", ours);

            // the rewritten file starts the server again with the values it was rewritten with
            server.Dispose();
            using var again = ServerProcess.Start([oursConf]);
            // loglevel warning now: the last line it writes at start is "Server initialized" (then it listens)
            again.StdoutUntil(l => l.EndsWith("Server initialized", StringComparison.Ordinal));
            Assert.Equal("loglevel\nwarning", again.Cli(oursPort, "--no-auth-warning", "-a", "a b\"c", "CONFIG", "GET", "loglevel"));
            Assert.Equal("hz\n20", again.Cli(oursPort, "--no-auth-warning", "-a", "a b\"c", "CONFIG", "GET", "hz"));
            Assert.Equal("save\n100 5", again.Cli(oursPort, "--no-auth-warning", "-a", "a b\"c", "CONFIG", "GET", "save"));
        }
        finally
        {
            redis.Kill();
            redis.WaitForExit();
        }
    }

    /// <summary>unixsocket and unixsocketperm on catnap: redis-cli -s reaches the server through the socket file,
    /// which has the mode asked for, is exempt from protected mode (as redis), and is removed when the server stops.</summary>
    [Fact]
    public void AUnixSocketServesClientsWithItsPermissions()
    {
        string socket = Path.Combine(_dir, "redis.sock");
        File.WriteAllText(socket, "stale"); // an old file in the way is replaced, as redis-server does
        string conf = Write("unix.conf", $"unixsocket {socket}\nunixsocketperm 700\nport 0\n");
        var server = ServerProcess.Start([conf]);
        try
        {
            server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
            if (OperatingSystem.IsWindows()) Assert.Fail("unix sockets: Linux (catnap)");
            else Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(socket));
            var r = ExternalProcess.RunAsync(RedisCli.Path, ["-s", socket, "CONFIG", "GET", "unix*"], RedisCli.Timeout).GetAwaiter().GetResult();
            Assert.Equal($"unixsocket\n{socket}\nunixsocketperm\n700", r.Stdout.Trim());
            r = ExternalProcess.RunAsync(RedisCli.Path, ["-s", socket, "CONFIG", "GET", "port"], RedisCli.Timeout).GetAwaiter().GetResult();
            Assert.Equal("port\n0", r.Stdout.Trim()); // port 0 beside a unix socket: no TCP listener, as redis-server
            r = ExternalProcess.RunAsync(RedisCli.Path, ["-s", socket, "SET", "k", "v"], RedisCli.Timeout).GetAwaiter().GetResult();
            Assert.Equal("OK", r.Stdout.Trim());
            // named as redis-server names a unix socket client: the path with port 0, flag U
            r = ExternalProcess.RunAsync(RedisCli.Path, ["-s", socket, "CLIENT", "INFO"], RedisCli.Timeout).GetAwaiter().GetResult();
            Assert.Contains($" addr={socket}:0 laddr={socket}:0 ", r.Stdout, StringComparison.Ordinal);
            Assert.Contains(" flags=U ", r.Stdout, StringComparison.Ordinal);
            r = ExternalProcess.RunAsync(RedisCli.Path, ["-s", socket, "CONFIG", "SET", "unixsocketperm", "777"], RedisCli.Timeout).GetAwaiter().GetResult();
            Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config", r.Stdout.Trim());
            r = ExternalProcess.RunAsync(RedisCli.Path, ["-s", socket, "SHUTDOWN", "NOSAVE"], RedisCli.Timeout).GetAwaiter().GetResult();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (File.Exists(socket) && DateTime.UtcNow < deadline) Thread.Sleep(50);
            Assert.False(File.Exists(socket), "the socket file is removed at exit");
        }
        finally
        {
            server.Dispose();
        }
    }

    [Fact]
    public void ConfigRewriteWithoutARedisConfSaysWhy()
    {
        using var plain = ServerProcess.Start(["--port", "0"]);
        int port = plain.PortFromLog(plain.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        Assert.Equal("ERR The server is running without a config file", plain.Cli(port, "CONFIG", "REWRITE"));
        string yaml = Write("server.yaml", "server:\n  port: 0\n");
        using var fromYaml = ServerProcess.Start(["--config", yaml]);
        port = fromYaml.PortFromLog(fromYaml.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        Assert.StartsWith("ERR Rewriting config file: the server was started from the YAML configuration", fromYaml.Cli(port, "CONFIG", "REWRITE"), StringComparison.Ordinal);
        Assert.Equal("server:\n  port: 0\n", File.ReadAllText(yaml));
    }
}
