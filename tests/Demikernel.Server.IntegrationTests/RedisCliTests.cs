using System.Globalization;

namespace Demikernel.Server.IntegrationTests;

/// <summary>redis-cli (7.x) against the in-process server: connection, string/key and server commands, error texts.</summary>
public sealed class RedisCliTests(ServerFixture server) : ServerTestBase(server)
{
    private Task<ProcessResult> Cli(params string[] command) => RedisCli.RunAsync(Server, command);

    private Task<ProcessResult> CliDb(int db, params string[] command) => RedisCli.RunAsync(Server, command, db);

    private async Task<string> One(params string[] command) => (await Cli(command)).Single();

    private static string[] Ok(ProcessResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("ERR", r.Stdout, StringComparison.Ordinal);
        return r.Lines();
    }

    // ------------------------------------------------------------------ connection

    [Fact]
    public async Task Ping() => Assert.Equal("PONG", await One("PING"));

    [Fact]
    public async Task PingWithMessage() => Assert.Equal("hello there", await One("PING", "hello there"));

    [Fact]
    public async Task Echo() => Assert.Equal("hello world", await One("ECHO", "hello world"));

    [Fact]
    public async Task SelectSwitchesDatabaseForTheConnection()
    {
        string key = UniqueKey("select");
        var r = await RedisCli.ScriptAsync(Server, $"SELECT 3\nSET {key} in-db-3\nGET {key}\nSELECT 0\nGET {key}\nSELECT 3\nGET {key}\nDEL {key}");
        Assert.Equal(["OK", "OK", "in-db-3", "OK", "", "OK", "in-db-3", "1"], Ok(r));
    }

    [Fact]
    public async Task SelectOutOfRange() => Assert.Equal("ERR DB index is out of range", await One("SELECT", "16"));

    [Fact]
    public async Task SelectNotANumber() =>
        // redis-server 7: getIntFromObjectOrReply → "value is not an integer or out of range".
        Assert.Equal("ERR value is not an integer or out of range", await One("SELECT", "abc"));

    // ------------------------------------------------------------------ strings and keys

    [Fact]
    public async Task SetGet()
    {
        string key = UniqueKey();
        Assert.Equal("OK", await One("SET", key, "some value"));
        Assert.Equal("some value", await One("GET", key));
        Assert.Equal("", await One("GET", UniqueKey("missing"))); // nil prints as an empty line
        Assert.Equal("OK", await One("SET", key, "overwritten"));
        Assert.Equal("overwritten", await One("GET", key));
    }

    [Fact]
    public async Task Incr()
    {
        string key = UniqueKey();
        Assert.Equal("1", await One("INCR", key));
        Assert.Equal("2", await One("INCR", key));
        Assert.Equal("2", await One("GET", key));
        Assert.Equal("OK", await One("SET", key, "41"));
        Assert.Equal("42", await One("INCR", key));
        Assert.Equal("OK", await One("SET", key, "not a number"));
        Assert.Equal("ERR value is not an integer or out of range", await One("INCR", key));
    }

    [Fact]
    public async Task MsetMget()
    {
        string a = UniqueKey("a"), b = UniqueKey("b"), missing = UniqueKey("missing");
        Assert.Equal("OK", await One("MSET", a, "1", b, "two"));
        Assert.Equal(["1", "two", ""], Ok(await Cli("MGET", a, b, missing)));
        Assert.Equal(["1", "", "two"], Ok(await Cli("MGET", a, missing, b)));
        Assert.Equal("ERR wrong number of arguments for 'mset' command", await One("MSET", a, "1", b));
    }

    [Fact]
    public async Task Del()
    {
        string a = UniqueKey("a"), b = UniqueKey("b");
        Assert.Equal("OK", await One("MSET", a, "1", b, "2"));
        Assert.Equal("2", await One("DEL", a, b, UniqueKey("missing")));
        Assert.Equal("0", await One("DEL", a));
        Assert.Equal("", await One("GET", a));
    }

    [Fact]
    public async Task Exists()
    {
        string a = UniqueKey("a"), b = UniqueKey("b");
        Assert.Equal("OK", await One("MSET", a, "1", b, "2"));
        Assert.Equal("1", await One("EXISTS", a));
        Assert.Equal("0", await One("EXISTS", UniqueKey("missing")));
        Assert.Equal("3", await One("EXISTS", a, a, b, UniqueKey("missing"))); // a key named twice counts twice
    }

    [Fact]
    public async Task ExpireAndTtl()
    {
        string key = UniqueKey();
        Assert.Equal("OK", await One("SET", key, "v"));
        Assert.Equal("-1", await One("TTL", key));
        Assert.Equal("-2", await One("TTL", UniqueKey("missing")));
        Assert.Equal("1", await One("EXPIRE", key, "100"));
        int ttl = int.Parse(await One("TTL", key), CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 98, 100);
        Assert.Equal("0", await One("EXPIRE", UniqueKey("missing"), "100"));
        Assert.Equal("OK", await One("SET", key, "v2")); // SET clears the TTL
        Assert.Equal("-1", await One("TTL", key));
    }

    [Fact]
    public async Task ExpiredKeyDisappears()
    {
        string key = UniqueKey();
        Assert.Equal("OK", await One("SET", key, "v"));
        Assert.Equal("1", await One("EXPIRE", key, "1"));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string exists;
        do
        {
            await Task.Delay(250);
            exists = await One("EXISTS", key);
        }
        while (exists != "0" && DateTime.UtcNow < deadline);
        Assert.Equal("0", exists);
        Assert.Equal("", await One("GET", key));
        Assert.Equal("-2", await One("TTL", key));
    }

    [Fact]
    public async Task Keys()
    {
        const int db = 5;
        Assert.Equal("OK", (await CliDb(db, "FLUSHDB")).Single());
        Assert.Equal("OK", (await CliDb(db, "MSET", "user:1", "a", "user:2", "b", "other", "c", "user:10", "d")).Single());
        Assert.Equal(["user:1", "user:10", "user:2"], Ok(await CliDb(db, "KEYS", "user:*")).Order(StringComparer.Ordinal));
        Assert.Equal(["user:1", "user:2"], Ok(await CliDb(db, "KEYS", "user:?")).Order(StringComparer.Ordinal));
        Assert.Equal(["other", "user:1", "user:10", "user:2"], Ok(await CliDb(db, "KEYS", "*")).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Ok(await CliDb(db, "KEYS", "nothing*")), l => l.Length > 0);
    }

    [Fact]
    public async Task Scan()
    {
        const int db = 6;
        Assert.Equal("OK", (await CliDb(db, "FLUSHDB")).Single());
        var expected = Enumerable.Range(0, 150).Select(i => $"scan:{i}").ToArray();
        var mset = expected.SelectMany(k => new[] { k, "v" }).Append("unrelated").Append("x").ToArray();
        Assert.Equal("OK", (await CliDb(db, ["MSET", .. mset])).Single());

        // The SCAN command by hand: cursor on the first line, keys after it, until the cursor is 0 again.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string cursor = "0";
        int rounds = 0;
        do
        {
            var lines = Ok(await CliDb(db, "SCAN", cursor, "MATCH", "scan:*", "COUNT", "20"));
            Assert.NotEmpty(lines);
            cursor = lines[0];
            Assert.True(ulong.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out _), $"cursor '{cursor}'");
            foreach (var k in lines.Skip(1).Where(l => l.Length > 0)) seen.Add(k);
            Assert.True(++rounds < 1000, "SCAN never returned cursor 0");
        }
        while (cursor != "0");
        Assert.Equal(expected.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));

        // redis-cli's own iterator.
        var scanned = Ok(await ExternalProcess.RunAsync(RedisCli.Path,
            ["-h", Server.Host, "-p", Server.Port.ToString(CultureInfo.InvariantCulture), "-n", "6", "--scan", "--pattern", "scan:*"], RedisCli.Timeout));
        Assert.Equal(expected.Order(StringComparer.Ordinal), scanned.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task DbSize()
    {
        const int db = 7;
        Assert.Equal("OK", (await CliDb(db, "FLUSHDB")).Single());
        Assert.Equal("0", (await CliDb(db, "DBSIZE")).Single());
        Assert.Equal("OK", (await CliDb(db, "MSET", "a", "1", "b", "2", "c", "3")).Single());
        Assert.Equal("3", (await CliDb(db, "DBSIZE")).Single());
        Assert.Equal("1", (await CliDb(db, "DEL", "a")).Single());
        Assert.Equal("2", (await CliDb(db, "DBSIZE")).Single());
    }

    [Fact]
    public async Task FlushDbEmptiesOnlyTheSelectedDatabase()
    {
        string keep = UniqueKey("keep");
        Assert.Equal("OK", (await CliDb(9, "SET", keep, "v")).Single());
        Assert.Equal("OK", (await CliDb(8, "MSET", "x", "1", "y", "2")).Single());
        Assert.Equal("OK", (await CliDb(8, "FLUSHDB")).Single());
        Assert.Equal("0", (await CliDb(8, "DBSIZE")).Single());
        Assert.Equal("v", (await CliDb(9, "GET", keep)).Single());
        Assert.Equal("OK", (await CliDb(8, "FLUSHDB", "ASYNC")).Single());
        Assert.Equal("1", (await CliDb(9, "DEL", keep)).Single());
    }

    // ------------------------------------------------------------------ server

    [Fact]
    public async Task Info()
    {
        Assert.Equal("OK", await One("SET", UniqueKey("info"), "v"));
        var r = await Cli("INFO");
        Assert.Equal(0, r.ExitCode);
        string info = r.Stdout;
        Assert.Contains("redis_version:7", info, StringComparison.Ordinal);
        foreach (var section in new[] { "# Server", "# Clients", "# Memory", "# Stats", "# Keyspace", "# Replication" })
            Assert.Contains(section, info, StringComparison.Ordinal);
        Assert.Contains("role:master", info, StringComparison.Ordinal);
        Assert.Contains("redis_mode:standalone", info, StringComparison.Ordinal);
        Assert.Contains("connected_clients:", info, StringComparison.Ordinal);
        Assert.Contains("used_memory:", info, StringComparison.Ordinal);
        Assert.Contains("total_commands_processed:", info, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^db0:keys=\d+,expires=\d+", info);
        Assert.Contains($"tcp_port:{Server.Port}", info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InfoOneSection()
    {
        string info = (await Cli("INFO", "replication")).Single();
        Assert.Contains("# Replication", info, StringComparison.Ordinal);
        Assert.Contains("role:master", info, StringComparison.Ordinal);
        Assert.DoesNotContain("# Server", info, StringComparison.Ordinal);
        Assert.DoesNotContain("# Clients", info, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("appendonly", "no")]
    [InlineData("timeout", "0")]
    [InlineData("databases", "16")]
    [InlineData("slave-read-only", "yes")]
    [InlineData("replica-read-only", "yes")]
    [InlineData("maxmemory", "0")]
    [InlineData("maxclients", "10000")]
    [InlineData("proto-max-bulk-len", "536870912")]
    public async Task ConfigGet(string name, string expected) =>
        Assert.Equal([name, expected], Ok(await Cli("CONFIG", "GET", name)));

    [Fact]
    public async Task ConfigGetSave()
    {
        // redis-server answers "" with persistence off, or its schedule such as "3600 1 300 100 60 10000".
        var lines = Ok(await Cli("CONFIG", "GET", "save"));
        Assert.Equal(2, lines.Length);
        Assert.Equal("save", lines[0]);
        Assert.Matches(@"^(\d+ \d+( \d+ \d+)*)?$", lines[1]);
    }

    [Fact]
    public async Task ConfigGetSeveralAndGlob()
    {
        var pairs = Pairs(Ok(await Cli("CONFIG", "GET", "maxclients", "databases")));
        Assert.Equal("10000", pairs["maxclients"]);
        Assert.Equal("16", pairs["databases"]);
        Assert.Equal(2, pairs.Count);

        pairs = Pairs(Ok(await Cli("CONFIG", "GET", "maxmemory*")));
        Assert.Equal("0", pairs["maxmemory"]);
        Assert.Equal("noeviction", pairs["maxmemory-policy"]);
        Assert.All(pairs.Keys, k => Assert.StartsWith("maxmemory", k, StringComparison.Ordinal));

        Assert.DoesNotContain(Ok(await Cli("CONFIG", "GET", "no-such-parameter")), l => l.Length > 0);
    }

    [Fact]
    public async Task ConfigSet()
    {
        Assert.Equal("OK", await One("CONFIG", "SET", "appendfsync", "always"));
        Assert.Equal(["appendfsync", "always"], Ok(await Cli("CONFIG", "GET", "appendfsync")));
        Assert.Equal("OK", await One("CONFIG", "SET", "rdbcompression", "no", "aof-load-truncated", "no"));
        var pairs = Pairs(Ok(await Cli("CONFIG", "GET", "rdbcompression", "aof-load-truncated")));
        Assert.Equal("no", pairs["rdbcompression"]);
        Assert.Equal("no", pairs["aof-load-truncated"]);
        Assert.Equal("OK", await One("CONFIG", "SET", "appendfsync", "everysec", "rdbcompression", "yes", "aof-load-truncated", "yes"));
        Assert.Equal(["appendfsync", "everysec"], Ok(await Cli("CONFIG", "GET", "appendfsync")));

        // Shown by CONFIG GET, not acted on yet: refused rather than accepted and ignored.
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - can't set immutable config", await One("CONFIG", "SET", "maxmemory-clients", "10mb"));
        Assert.Equal(["maxmemory-clients", "0"], Ok(await Cli("CONFIG", "GET", "maxmemory-clients")));

        Assert.Equal("ERR Unknown option or number of arguments for CONFIG SET - 'no-such-parameter'", await One("CONFIG", "SET", "no-such-parameter", "1"));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer", await One("CONFIG", "SET", "maxclients", "abc"));
        Assert.Equal(["maxclients", "10000"], Ok(await Cli("CONFIG", "GET", "maxclients")));
    }

    private static Dictionary<string, string> Pairs(string[] lines)
    {
        Assert.True(lines.Length % 2 == 0, $"odd number of lines: {string.Join('|', lines)}");
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i += 2) d[lines[i]] = lines[i + 1];
        return d;
    }

    [Fact]
    public async Task ClientSetNameGetNameIdListInfo()
    {
        string name = $"cli-{Guid.NewGuid():N}"[..16];
        var lines = Ok(await RedisCli.ScriptAsync(Server, $"CLIENT GETNAME\nCLIENT SETNAME {name}\nCLIENT GETNAME\nCLIENT ID\nCLIENT INFO\nCLIENT LIST"));
        Assert.True(lines.Length >= 6, string.Join('\n', lines));
        Assert.Equal("", lines[0]);
        Assert.Equal("OK", lines[1]);
        Assert.Equal(name, lines[2]);
        long id = long.Parse(lines[3], CultureInfo.InvariantCulture);
        Assert.True(id > 0);
        string info = lines[4];
        Assert.StartsWith($"id={id} addr=127.0.0.1:", info, StringComparison.Ordinal);
        Assert.Contains($" name={name} ", info, StringComparison.Ordinal);
        Assert.Contains(" laddr=127.0.0.1:" + Server.Port + " ", info, StringComparison.Ordinal);
        Assert.Contains(" db=0 ", info, StringComparison.Ordinal);
        Assert.Contains(" cmd=client|info ", info, StringComparison.Ordinal);
        Assert.Contains(" resp=2", info, StringComparison.Ordinal);
        var mine = lines.Skip(5).Where(l => l.StartsWith($"id={id} ", StringComparison.Ordinal)).ToArray();
        Assert.Single(mine);
        Assert.Contains($" name={name} ", mine[0], StringComparison.Ordinal);
        Assert.Contains(" cmd=client|list ", mine[0], StringComparison.Ordinal);

        Assert.Equal("ERR Client names cannot contain spaces, newlines or special characters.", await One("CLIENT", "SETNAME", "has space"));
    }

    [Fact]
    public async Task ClientKillById()
    {
        using var victim = new RawConnection(Server);
        var id = victim.Command("CLIENT", "ID");
        Assert.Equal(':', id.Type);
        Assert.Contains($"id={id.Integer} ", await One("CLIENT", "LIST"), StringComparison.Ordinal);
        Assert.Equal("1", await One("CLIENT", "KILL", "ID", id.Integer.ToString(CultureInfo.InvariantCulture)));
        Assert.True(victim.WaitForClose(), "the killed client's connection stayed open");
        Assert.DoesNotContain($"id={id.Integer} ", await One("CLIENT", "LIST"), StringComparison.Ordinal);
        Assert.Equal("0", await One("CLIENT", "KILL", "ID", "999999999"));
    }

    [Fact]
    public async Task ClientKillByAddress()
    {
        using var victim = new RawConnection(Server);
        var info = victim.Command("CLIENT", "INFO");
        Assert.Equal('$', info.Type);
        string addr = info.Text!.Split(' ').Single(f => f.StartsWith("addr=", StringComparison.Ordinal))["addr=".Length..];
        Assert.Equal("OK", await One("CLIENT", "KILL", addr));
        Assert.True(victim.WaitForClose(), "the killed client's connection stayed open");
        Assert.Equal("ERR No such client", await One("CLIENT", "KILL", addr));
    }

    [Fact]
    public async Task Hello2()
    {
        var lines = Ok(await Cli("HELLO", "2"));
        var map = Pairs(lines.Length % 2 == 1 && lines[^1].Length == 0 ? lines[..^1] : lines); // "modules" is an empty array
        Assert.Equal("redis", map["server"]);
        Assert.StartsWith("7.", map["version"], StringComparison.Ordinal);
        Assert.Equal("2", map["proto"]);
        Assert.Equal("standalone", map["mode"]);
        Assert.Equal("master", map["role"]);
        Assert.True(long.Parse(map["id"], CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Hello3()
    {
        // redis-cli -3 opens the connection with HELLO 3 itself; its raw output prints a map entry as "key value".
        var r = await RedisCli.RunAsync(Server, ["HELLO", "3"], resp3: true);
        var lines = Ok(r);
        Assert.Contains("server redis", lines);
        Assert.Contains("proto 3", lines);
        Assert.Contains("mode standalone", lines);
        Assert.Contains("role master", lines);
        Assert.Contains(lines, l => l.StartsWith("version 7.", StringComparison.Ordinal));

        var info = Ok(await RedisCli.RunAsync(Server, ["CLIENT", "INFO"], resp3: true));
        Assert.Contains(" resp=3", info[0], StringComparison.Ordinal);
        var get = Ok(await RedisCli.RunAsync(Server, ["GET", UniqueKey("missing")], resp3: true));
        Assert.Equal("", Assert.Single(get)); // RESP3 null
    }

    [Fact]
    public async Task HelloErrors()
    {
        Assert.Equal("NOPROTO unsupported protocol version", await One("HELLO", "4"));
        Assert.Equal("ERR Protocol version is not an integer or out of range", await One("HELLO", "x"));
    }

    [Fact]
    public async Task CommandCount()
    {
        long count = long.Parse(await One("COMMAND", "COUNT"), CultureInfo.InvariantCulture);
        Assert.InRange(count, 20, 1000);
    }

    [Fact]
    public async Task CommandInfoGet()
    {
        var lines = Ok(await Cli("COMMAND", "INFO", "get"));
        Assert.Equal("get", lines[0]);
        Assert.Equal("2", lines[1]); // arity
        Assert.Contains("readonly", lines);
        Assert.Contains("fast", lines);
        Assert.Contains("@read", lines);
        Assert.Contains("@string", lines);
        Assert.Contains("@fast", lines);

        var set = Ok(await Cli("COMMAND", "INFO", "set"));
        Assert.Equal("set", set[0]);
        Assert.Equal("-3", set[1]);
        Assert.Contains("write", set);

        Assert.Equal("", (await Cli("COMMAND", "INFO", "no-such-command")).Single()); // a nil entry
    }

    [Fact]
    public async Task CommandDocsGet()
    {
        var lines = Ok(await Cli("COMMAND", "DOCS", "get"));
        Assert.Equal("get", lines[0]);
        int i = Array.IndexOf(lines, "summary");
        Assert.True(i > 0, string.Join('\n', lines));
        Assert.False(string.IsNullOrWhiteSpace(lines[i + 1]));
        Assert.Equal("string", lines[Array.IndexOf(lines, "group") + 1]);
        Assert.Equal("1.0.0", lines[Array.IndexOf(lines, "since") + 1]);
        Assert.Contains("complexity", lines);
    }

    [Fact]
    public async Task Time()
    {
        var lines = Ok(await Cli("TIME"));
        Assert.Equal(2, lines.Length);
        long seconds = long.Parse(lines[0], CultureInfo.InvariantCulture);
        long micros = long.Parse(lines[1], CultureInfo.InvariantCulture);
        Assert.InRange(seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 10, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 10);
        Assert.InRange(micros, 0, 999_999);
    }

    // ------------------------------------------------------------------ errors

    [Fact]
    public async Task ClusterInfoIsDisabled() => Assert.Equal("ERR This instance has cluster support disabled", await One("CLUSTER", "INFO"));

    [Fact]
    public async Task SentinelIsUnknown() =>
        Assert.Equal("ERR unknown command 'SENTINEL', with args beginning with: 'masters' ", await One("SENTINEL", "masters"));

    [Fact]
    public async Task UnknownCommand() =>
        Assert.Equal("ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b c' ", await One("FOOBAR", "a", "b c"));

    [Fact]
    public async Task UnknownCommandWithoutArgs() =>
        Assert.Equal("ERR unknown command 'nosuchcmd', with args beginning with: ", await One("nosuchcmd"));

    [Fact]
    public async Task WrongArity()
    {
        Assert.Equal("ERR wrong number of arguments for 'get' command", await One("GET"));
        Assert.Equal("ERR wrong number of arguments for 'get' command", await One("GET", "a", "b"));
        Assert.Equal("ERR wrong number of arguments for 'set' command", await One("SET", "a"));
        Assert.Equal("ERR wrong number of arguments for 'echo' command", await One("ECHO"));
        Assert.Equal("ERR wrong number of arguments for 'config|get' command", await One("CONFIG", "GET"));
    }

    [Fact]
    public async Task UnknownSubcommand() =>
        Assert.Equal("ERR unknown subcommand 'nope'. Try CLIENT HELP.", await One("CLIENT", "nope"));

    [Fact]
    public async Task AuthWithoutPasswordConfigured() =>
        Assert.Equal("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            await One("AUTH", "whatever"));
}
