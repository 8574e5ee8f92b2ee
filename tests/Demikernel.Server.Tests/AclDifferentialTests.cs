using System.Text;
using System.Text.RegularExpressions;

namespace Demikernel.Server.Tests;

/// <summary>
/// ACL compared with redis-server 7.0.15: ACL CAT (every category), SETUSER's replies and errors, GETUSER and LIST
/// for a set of users (rules described the same way: the same categories chosen, the same single commands),
/// DRYRUN, and a scripted sequence of NOPERM errors (top level, MULTI, EXEC after a change of rules, scripts,
/// pub/sub) with the ACL LOG it leaves. redis-server lists single commands in its hash table's order, which is
/// random per process, so runs of single-command rules are sorted on both sides before comparing; ACL LOG's
/// age-seconds and client-info (addresses, ids) are masked.
/// </summary>
public sealed partial class AclDifferentialTests
{
    private static readonly string[][] Users =
    [
        ["ACL", "SETUSER", "alice", "on", ">secret", "~cached:*", "%R~read:*", "%W~write:*", "&news.*", "+get", "+set", "+publish", "+subscribe", "+psubscribe", "+multi", "+exec", "+eval", "+acl|whoami", "+acl|setuser"],
        ["ACL", "SETUSER", "bob", "on", "nopass", "allkeys", "+@all", "-@dangerous", "-config|set", "+config|get"],
        ["ACL", "SETUSER", "carol", "on", "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "+@read", "+@hash", "-hgetall", "~*", "allchannels"],
        ["ACL", "SETUSER", "dave", "off", "(+get ~x*)", "(", "+set", "%W~y*", ")", "resetchannels", "&c1", "&c2"],
        ["ACL", "SETUSER", "erin", "reset"],
        ["ACL", "SETUSER", "frank", "on", "nopass", "+@all", "-@all", "+select|0", "+select|1", "+client|list", "+client|id", "allkeys"],
        ["ACL", "SETUSER", "grace", "+@string", "+@list", "-lpush", "+@sortedset", "+@geo", "-@write", "+@transaction", "+@connection", "+@keyspace"],
        ["ACL", "SETUSER", "heidi", "allcommands", "nocommands", "+@admin", "-@slow", "+debug", "+@pubsub", "-@fast"],
        ["ACL", "SETUSER", "ivan", "on", ">a", ">b", "<a", ">c", "sanitize-payload", "skip-sanitize-payload", "~a", "~b", "%R~a", "resetkeys", "~c"],
        ["ACL", "SETUSER", "judy", "+@all", "-@all", "+@all", "-@write", "+set", "clearselectors", "(+get)", "clearselectors", "(~k +hget)"],
        ["ACL", "SETUSER", "bob", "-@admin", "+info"],
        // errors
        ["ACL", "SETUSER", "bad", "+nosuchcommand"],
        ["ACL", "SETUSER", "bad", "+@nosuchcategory"],
        ["ACL", "SETUSER", "bad", "~*", "~foo"],
        ["ACL", "SETUSER", "bad", "&*", "&foo"],
        ["ACL", "SETUSER", "bad", "<nopassword"],
        ["ACL", "SETUSER", "bad", "#xyz"],
        ["ACL", "SETUSER", "bad", "!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"],
        ["ACL", "SETUSER", "bad", "+config|get|x"],
        ["ACL", "SETUSER", "bad", "+select|"],
        ["ACL", "SETUSER", "bad", "%X~foo"],
        ["ACL", "SETUSER", "bad", "what"],
        ["ACL", "SETUSER", "bad", "(+get", "~x"],
        ["ACL", "SETUSER", "bad", "(+get nosuch)"],
        ["ACL", "SETUSER", "bad user", "on"],
        ["ACL", "SETUSER", "bad", "-config|nosuch"],
        ["ACL", "GETUSER", "bad"],
        ["ACL", "GETUSER", "nobody"],
        ["ACL", "DELUSER", "default"],
        ["ACL", "DELUSER", "erin", "nobody"],
        ["ACL", "USERS"],
        ["ACL", "CAT", "nosuch"],
        ["ACL", "GENPASS", "0"],
        ["ACL", "GENPASS", "x"],
        ["ACL", "GENPASS", "5000"],
        ["ACL", "LOG", "x"],
        ["ACL", "LOAD"],
        ["ACL", "SAVE"],
        ["ACL", "NOSUCH"],
        ["ACL", "HELP"],
        ["ACL", "WHOAMI"],
        ["AUTH", "nopass-for-default"],
    ];

    private static readonly string[] UserNames = ["default", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];

    private static readonly string[][] DryRuns =
    [
        ["ACL", "DRYRUN", "alice", "get", "cached:1"], ["ACL", "DRYRUN", "alice", "get", "read:1"], ["ACL", "DRYRUN", "alice", "get", "write:1"],
        ["ACL", "DRYRUN", "alice", "set", "write:1", "v"], ["ACL", "DRYRUN", "alice", "set", "read:1", "v"], ["ACL", "DRYRUN", "alice", "set", "write:1", "v", "GET"],
        ["ACL", "DRYRUN", "alice", "hset", "cached:1", "f", "v"], ["ACL", "DRYRUN", "alice", "publish", "news.x", "m"], ["ACL", "DRYRUN", "alice", "publish", "other", "m"],
        ["ACL", "DRYRUN", "alice", "subscribe", "news.a", "other"], ["ACL", "DRYRUN", "alice", "psubscribe", "news.*"], ["ACL", "DRYRUN", "alice", "psubscribe", "news.a*"],
        ["ACL", "DRYRUN", "bob", "config", "get", "maxmemory"], ["ACL", "DRYRUN", "bob", "config", "set", "maxmemory", "1"], ["ACL", "DRYRUN", "bob", "flushall"],
        ["ACL", "DRYRUN", "bob", "info"], ["ACL", "DRYRUN", "carol", "hgetall", "h"], ["ACL", "DRYRUN", "carol", "hget", "h", "f"], ["ACL", "DRYRUN", "carol", "get", "k"],
        ["ACL", "DRYRUN", "dave", "get", "x1"], ["ACL", "DRYRUN", "dave", "get", "y1"], ["ACL", "DRYRUN", "dave", "set", "y1", "v"], ["ACL", "DRYRUN", "dave", "set", "x1", "v"],
        ["ACL", "DRYRUN", "frank", "select", "0"], ["ACL", "DRYRUN", "frank", "select", "2"], ["ACL", "DRYRUN", "frank", "client", "list"], ["ACL", "DRYRUN", "frank", "client", "kill", "id", "1"],
        ["ACL", "DRYRUN", "grace", "lpush", "l", "x"], ["ACL", "DRYRUN", "grace", "lrange", "l", "0", "-1"], ["ACL", "DRYRUN", "grace", "mget", "a", "b"],
        ["ACL", "DRYRUN", "judy", "hget", "k", "f"], ["ACL", "DRYRUN", "judy", "hget", "j", "f"], ["ACL", "DRYRUN", "judy", "get", "k"],
        ["ACL", "DRYRUN", "ivan", "get", "c"], ["ACL", "DRYRUN", "nobody", "get", "c"], ["ACL", "DRYRUN", "alice", "nosuch"], ["ACL", "DRYRUN", "alice", "get"],
        ["ACL", "DRYRUN", "alice", "config", "nosuch"], ["ACL", "DRYRUN", "alice", "zunionstore", "write:d", "2", "read:a", "cached:b"],
        ["ACL", "DRYRUN", "alice", "zunionstore", "read:d", "2", "read:a", "cached:b"], ["ACL", "DRYRUN", "bob", "eval", "return 1", "1", "k"],
    ];

    [Fact]
    public void CatMatchesRedisForEveryCategory()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        Assert.Equal(redis.Run("ACL", "CAT"), h.Run("ACL", "CAT"));
        var ours = new HashSet<string>(h.Server.Commands.All.SelectMany(s => s.Subcommands.Prepend(s)).Select(s => s.WireName), StringComparer.Ordinal);
        var lines = redis.Run("ACL", "CAT").Split("\r\n").Where(l => l.Length > 0 && l[0] != '*' && l[0] != '$').ToArray();
        Assert.Equal(21, lines.Length);
        foreach (var category in lines)
        {
            var expected = BulkItems(redis.Run("ACL", "CAT", category)).Where(ours.Contains).Order(StringComparer.Ordinal).ToArray();
            var actual = BulkItems(h.Run("ACL", "CAT", category)).Order(StringComparer.Ordinal).ToArray();
            Assert.True(expected.SequenceEqual(actual), $"@{category}: redis {string.Join(' ', expected)}\nours {string.Join(' ', actual)}");
            // the upper-case spelling is the same category
            Assert.Equal(actual.Length, BulkItems(h.Run("ACL", "CAT", category.ToUpperInvariant())).Length);
        }
    }

    [Fact]
    public void SetUserGetUserListAndDryRunMatchRedis()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        var mismatches = new List<string>();
        var seen = new StringBuilder();
        foreach (var resp in new[] { "2", "3" })
        {
            redis.Run("HELLO", resp);
            h.Run("HELLO", resp);
            foreach (var command in Users.Concat(UserNames.Select(u => new[] { "ACL", "GETUSER", u })).Append(["ACL", "LIST"]).Concat(DryRuns))
                seen.Append(Check(redis, h, command, mismatches));
            foreach (var u in UserNames.Skip(1)) Check(redis, h, ["ACL", "DELUSER", u], mismatches);
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        // what was compared included rules described with categories and single commands, selectors, and denials
        foreach (var text in new[] { "+@all -@admin -", "-@all +@read +", "(~x* resetchannels -@all +get)", "This user has no permissions to access the 'read:1' key", "skip-sanitize-payload" })
            Assert.Contains(text, seen.ToString(), StringComparison.Ordinal);
    }

    /// <summary>NOPERM at the top level, in MULTI (EXECABORT), at EXEC after the rules changed, from scripts, for
    /// keys and channels, failed AUTH; then ACL LOG of it all.</summary>
    [Fact]
    public void NoPermAndLogMatchRedis()
    {
        using var redis = ReferenceRedis.TryStart("--acllog-max-len 5");
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "acllog-max-len", "5");
        string[][] script =
        [
            ["ACL", "SETUSER", "alice", "on", ">pw", "~k*", "&ch*", "+get", "+set", "+multi", "+exec", "+eval", "+publish", "+subscribe", "+acl", "+ping"],
            ["AUTH", "alice", "wrong"], ["AUTH", "nobody", "pw"], ["AUTH", "alice", "wrong"], ["ACL", "LOG", "1"],
            ["AUTH", "alice", "pw"], ["ACL", "WHOAMI"],
            ["GET", "k1"], ["GET", "other"], ["SET", "k1", "v"], ["HSET", "k1", "f", "v"], ["CONFIG", "GET", "maxmemory"],
            ["PUBLISH", "ch1", "m"], ["PUBLISH", "news", "m"],
            ["MULTI"], ["GET", "other"], ["SET", "k2", "v"], ["EXEC"],
            ["MULTI"], ["GET", "k1"], ["ACL", "SETUSER", "alice", "-get"], ["GET", "k1"], ["SET", "k3", "x"], ["EXEC"],
            ["ACL", "SETUSER", "alice", "+get"],
            ["EVAL", "return redis.call('get', 'k1')", "0"], ["EVAL", "return redis.call('get', 'other')", "0"],
            ["EVAL", "return redis.call('hset', 'k1', 'f', 'v')", "0"], ["EVAL", "return redis.pcall('publish', 'x', 'm')", "0"],
            ["EVAL", "return redis.acl_check_cmd('get', 'k1')", "0"], ["EVAL", "return redis.acl_check_cmd('get', 'zz')", "0"],
            ["EVAL", "return redis.acl_check_cmd('hset', 'k', 'f', 'v')", "0"],
            ["ACL", "LOG", "2"], ["ACL", "LOG"], ["ACL", "LOG", "RESET"], ["ACL", "LOG"],
            ["GET", "other"], ["GET", "other"], ["GET", "other2"], ["ACL", "LOG", "1"],
            ["HELLO", "2", "AUTH", "alice", "bad"], ["HELLO", "2", "AUTH", "alice", "pw", "SETNAME", "bad name"], ["ACL", "LOG", "1"],
            ["RESET"], ["ACL", "WHOAMI"], ["AUTH", "alice", "pw"], ["ACL", "SETUSER", "alice", "off"], ["ACL", "WHOAMI"], ["AUTH", "alice", "pw"],
            ["AUTH", "default", "x"], ["ACL", "WHOAMI"], ["ACL", "LOG", "0"], ["ACL", "DELUSER", "alice"],
        ];
        var mismatches = new List<string>();
        // its own connection: ReferenceRedis ends each exchange with an ECHO, which MULTI would queue
        using var raw = new RawResp(redis.Port);
        var seen = new StringBuilder();
        foreach (var command in script)
        {
            string expected = Normalize(raw.Run(command));
            seen.Append(expected);
            string actual = Normalize(Encoding.Latin1.GetString(h.Execute(command.Select(Encoding.UTF8.GetBytes).ToArray())));
            if (expected != actual)
                mismatches.Add($"{string.Join(' ', command)}\n  redis: {ReferenceRedis.Escape(expected)}\n  ours:  {ReferenceRedis.Escape(actual)}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        // the sequence did reach each kind of denial
        foreach (var text in new[]
        {
            "-NOPERM this user has no permissions to run the 'hset' command", "-NOPERM this user has no permissions to access one of the keys used as arguments",
            "-NOPERM this user has no permissions to access one of the channels used as arguments", "-EXECABORT", "-NOPERM ACLs rules changed",
            "The user executing the script can't run this command", "$7\r\ncommand\r\n", "$3\r\nkey\r\n", "$7\r\nchannel\r\n", "$4\r\nauth\r\n",
            "$5\r\nmulti\r\n", "$3\r\nlua\r\n",
        })
            Assert.Contains(text, seen.ToString(), StringComparison.Ordinal);
    }

    /// <summary>One connection to redis-server that reads exactly one reply per command.</summary>
    private sealed class RawResp : IDisposable
    {
        private readonly System.Net.Sockets.TcpClient _client;
        private readonly System.Net.Sockets.NetworkStream _stream;
        private readonly List<byte> _buffer = [];

        public RawResp(int port)
        {
            _client = new System.Net.Sockets.TcpClient { ReceiveTimeout = 10_000 };
            _client.Connect(System.Net.IPAddress.Loopback, port);
            _stream = _client.GetStream();
        }

        public string Run(string[] command)
        {
            _stream.Write(CommandHarness.EncodeRequest(command));
            var chunk = new byte[65536];
            while (true)
            {
                int end = Complete(0);
                if (end > 0)
                {
                    string text = Encoding.Latin1.GetString(_buffer.GetRange(0, end).ToArray());
                    _buffer.RemoveRange(0, end);
                    return text;
                }
                int n = _stream.Read(chunk);
                if (n == 0) throw new IOException("redis-server closed the connection");
                _buffer.AddRange(chunk.AsSpan(0, n));
            }
        }

        /// <summary>End of the reply starting at <paramref name="at"/>, or -1 while incomplete.</summary>
        private int Complete(int at)
        {
            int lineEnd = IndexOfCrLf(at);
            if (lineEnd < 0) return -1;
            char type = (char)_buffer[at];
            string head = Encoding.Latin1.GetString(_buffer.GetRange(at + 1, lineEnd - at - 1).ToArray());
            int next = lineEnd + 2;
            switch (type)
            {
                case '$' or '=' or '!':
                    int len = int.Parse(head, System.Globalization.CultureInfo.InvariantCulture);
                    if (len < 0) return next;
                    return _buffer.Count >= next + len + 2 ? next + len + 2 : -1;
                case '*' or '~' or '>' or '%':
                    int count = int.Parse(head, System.Globalization.CultureInfo.InvariantCulture) * (type == '%' ? 2 : 1);
                    for (int i = 0; i < count; i++)
                    {
                        next = Complete(next);
                        if (next < 0) return -1;
                    }
                    return next;
                default:
                    return next;
            }
        }

        private int IndexOfCrLf(int from)
        {
            for (int i = from; i + 1 < _buffer.Count; i++)
                if (_buffer[i] == '\r' && _buffer[i + 1] == '\n') return i;
            return -1;
        }

        public void Dispose() => _client.Dispose();
    }

    /// <summary>The client-info of a log entry is the offending client's CLIENT LIST line (its user, the command).</summary>
    [Fact]
    public void LogEntryNamesTheClient()
    {
        using var h = new CommandHarness();
        h.Run("ACL", "SETUSER", "alice", "on", "nopass", "+get", "~k*");
        Assert.Equal(CommandHarness.Ok, h.Run("AUTH", "alice", "any"));
        Assert.Equal(CommandHarness.Err("NOPERM this user has no permissions to run the 'set' command"), h.Run("SET", "k", "v"));
        h.Run("AUTH", "default", "x");
        string log = h.Run("ACL", "LOG");
        Assert.Contains(" cmd=set user=alice ", log, StringComparison.Ordinal);
        Assert.Contains("$8\r\ntoplevel\r\n", log, StringComparison.Ordinal);
    }

    private static string Check(ReferenceRedis redis, CommandHarness h, string[] command, List<string> mismatches)
    {
        string expected = Normalize(redis.Run(command));
        string actual = Normalize(Encoding.Latin1.GetString(h.Execute(command.Select(Encoding.UTF8.GetBytes).ToArray())));
        if (expected != actual)
            mismatches.Add($"{string.Join(' ', command)}\n  redis: {ReferenceRedis.Escape(expected)}\n  ours:  {ReferenceRedis.Escape(actual)}");
        return expected;
    }

    /// <summary>Sorts each run of single-command rules ("+get +set", "-config|set -client") within a line (redis
    /// emits them in its hash table's order); masks ACL LOG's age and client info.</summary>
    private static string Normalize(string reply)
    {
        var lines = reply.Split("\r\n");
        for (int i = 0; i < lines.Length; i++)
        {
            if ((lines[i] == "age-seconds" || lines[i] == "client-info") && i + 2 < lines.Length)
            {
                // RESP2 bulk / RESP3 double or verbatim: the next line(s) hold the value
                if (lines[i + 1].StartsWith('$')) { lines[i + 1] = "$?"; lines[i + 2] = "?"; i += 2; }
                else { lines[i + 1] = "?"; i += 1; }
                continue;
            }
            lines[i] = SingleRules().Replace(lines[i], m => string.Join(' ', m.Value.Split(' ').Order(StringComparer.Ordinal)));
        }
        return string.Join("\r\n", lines);
    }

    [GeneratedRegex(@"(?<=^|\s)[+-][a-z_|0-9-]+(\s[+-][a-z_|0-9-]+)*(?=$|\s|\))")]
    private static partial Regex SingleRules();

    private static string[] BulkItems(string reply) =>
        reply.Split("\r\n").Where((l, i) => i > 0 && l.Length > 0 && l[0] != '$').ToArray();
}
