using System.Text.RegularExpressions;

namespace Demikernel.Server.Tests;

/// <summary>
/// Client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO, invalidations) against redis-server 7.0.15
/// over raw sockets: each scenario runs on both servers and every reply and every invalidation (collected with a PING
/// after each step, so a missing or extra message shows) must be the same; client ids are replaced by "ID".
/// </summary>
public sealed partial class ClientTrackingTests
{
    private sealed class Conns(ListHashConnection a, ListHashConnection b, ListHashConnection r) : IDisposable
    {
        public readonly ListHashConnection A = a, B = b, R = r;
        public readonly List<string> Log = [];
        public string RId = "";

        /// <summary>Runs a command on a connection and logs its reply and then everything that arrives before a PING's answer.</summary>
        private bool _aInMulti;

        public void Do(string who, params string[] cmd)
        {
            var c = Conn(who);
            Log.Add($"{who}: {string.Join(' ', cmd)} -> {Show(c.Call(cmd))}");
            if (who == "A" && cmd[0] is "MULTI" or "EXEC") _aInMulti = cmd[0] == "MULTI";
            // CLIENT CACHING applies to the next command: a PING now would use it up
            if (cmd is ["CLIENT", "CACHING", ..]) return;
            Drain();
        }

        /// <summary>Logs what each connection received unasked (invalidations), up to a PING's answer.</summary>
        public void Drain()
        {
            foreach (var who in new[] { "A", "R" })
            {
                if (who == "A" && _aInMulti) continue; // a PING would be queued
                var c = Conn(who);
                c.Send("PING");
                while (true)
                {
                    string frame = Show(c.ReadReply());
                    if (frame is "+PONG" or "*2 $4 pong $0") break;
                    Log.Add($"  {who} got {frame}");
                }
            }
        }

        private ListHashConnection Conn(string who) => who switch { "A" => A, "B" => B, _ => R };

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
            R.Dispose();
        }
    }

    private static string Show(string reply) => reply.Replace("\r\n", " ").Trim();

    private static List<string> Run(int port, Action<Conns> scenario)
    {
        using var k = new Conns(ListHashConnection.Open(port), ListHashConnection.Open(port), ListHashConnection.Open(port));
        k.RId = k.R.Call("CLIENT", "ID")[1..^2];
        try
        {
            scenario(k);
        }
        catch (IOException e)
        {
            throw new IOException("no answer after:\n" + string.Join("\n", k.Log), e);
        }
        // ids differ between servers: the redirect client's where it is named, every id= of CLIENT INFO
        return k.Log.Select(l => Regex.Replace(l, "\\$2 id :[0-9]+", "$$2 id :ID")).Select(l => IdPattern().Replace(
            l.Contains("REDIRECT", StringComparison.Ordinal) || l.Contains("GETREDIR", StringComparison.Ordinal) || l.Contains("TRACKINGINFO", StringComparison.Ordinal) || l.Contains("tracking-redir-broken", StringComparison.Ordinal)
                ? Regex.Replace(l, $"(?<=[: ]){k.RId}(?= |$)", "ID") : l, "id=ID")).ToList();
    }

    [GeneratedRegex("id=[0-9]+")]
    private static partial Regex IdPattern();

    private static List<string> AgainstRedis(Action<Conns> scenario)
    {
        List<string> ours, theirs;
        using (var server = new ServerThread("tracking", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })))
            ours = Run(server.Port, scenario);
        using (var redis = ReferenceRedis.TryStart())
            theirs = Run(redis.Port, scenario);
        var diff = new List<string>();
        for (int i = 0; i < Math.Max(ours.Count, theirs.Count); i++)
        {
            string o = i < ours.Count ? ours[i] : "(missing)", t = i < theirs.Count ? theirs[i] : "(missing)";
            if (o != t) diff.Add($"redis: {t}\n  ours:  {o}");
        }
        Assert.True(diff.Count == 0, $"{diff.Count} differences:\n{string.Join("\n", diff)}\n--- ours:\n{string.Join("\n", ours)}");
        return ours;
    }

    [Fact]
    public void Resp3DefaultModeOptInOptOutAndNoLoop()
    {
        var log = AgainstRedis(k =>
        {
            k.Do("A", "HELLO", "3");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("A", "CLIENT", "GETREDIR");
            k.Do("A", "CLIENT", "TRACKING", "on");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("A", "GET", "a");
            k.Do("A", "MGET", "b", "c");
            k.Do("A", "HGET", "h", "f");
            k.Do("B", "SET", "a", "1");
            k.Do("B", "SET", "a", "2"); // no longer tracked
            k.Do("B", "MSET", "b", "1", "c", "2");
            k.Do("B", "HSET", "h", "f", "v");
            k.Do("A", "GET", "a");
            k.Do("A", "SET", "a", "3"); // its own change: the invalidation follows the reply
            k.Do("A", "GET", "a");
            k.Do("A", "MULTI");
            k.Do("A", "GET", "a");
            k.Do("A", "SET", "a", "4");
            k.Do("A", "EXEC");
            k.Do("A", "GET", "a");
            k.Do("B", "EXPIRE", "a", "100");
            k.Do("A", "GET", "a");
            k.Do("B", "DEL", "a");
            k.Do("A", "CLIENT", "TRACKING", "on", "NOLOOP");
            k.Do("A", "GET", "a");
            k.Do("A", "SET", "a", "5");
            k.Do("B", "SET", "a", "6");
            k.Do("A", "CLIENT", "TRACKING", "off");
            k.Do("A", "CLIENT", "TRACKING", "on", "OPTIN");
            k.Do("A", "GET", "x");
            k.Do("A", "CLIENT", "CACHING", "yes");
            k.Do("A", "GET", "y");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("B", "MSET", "x", "1", "y", "1");
            k.Do("A", "CLIENT", "CACHING", "yes");
            k.Do("A", "MULTI");
            k.Do("A", "GET", "x");
            k.Do("A", "GET", "y");
            k.Do("A", "EXEC");
            k.Do("B", "MSET", "x", "2", "y", "2");
            k.Do("A", "CLIENT", "TRACKING", "off");
            k.Do("A", "CLIENT", "TRACKING", "on", "OPTOUT");
            k.Do("A", "CLIENT", "CACHING", "no");
            k.Do("A", "GET", "x");
            k.Do("A", "GET", "y");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("B", "MSET", "x", "3", "y", "3");
            k.Do("A", "GET", "z");
            k.Do("B", "FLUSHALL");
            k.Do("B", "SET", "z", "1");
            k.Do("A", "GET", "z");
            k.Do("A", "FLUSHDB");
            k.Do("A", "CLIENT", "TRACKING", "on");
            k.Do("A", "GET", "s");
            k.Do("A", "EVAL", "redis.call('set', KEYS[1], 'x'); return redis.call('get', KEYS[1])", "1", "s"); // invalidation after the reply
            k.Do("A", "GET", "s");
            k.Do("B", "EVAL", "return redis.call('incr', KEYS[1])", "1", "s");
            k.Do("A", "EVAL", "return redis.call('get', KEYS[1])", "1", "s2"); // the declared key is tracked
            k.Do("A", "EVAL_RO", "return redis.call('get', KEYS[1])", "1", "s3");
            k.Do("A", "EVAL", "return 1", "1", "s4"); // nothing read: nothing tracked
            k.Do("A", "EVAL", "return redis.call('get', 's5')", "0");
            k.Do("B", "MSET", "s2", "1", "s3", "1", "s4", "1", "s5", "1");
            k.Do("A", "CLIENT", "TRACKING", "off");
            k.Do("A", "CLIENT", "TRACKINGINFO");
        });
        Assert.Contains("  A got >2 $10 invalidate *1 $1 a", log);
        Assert.Contains("  A got >2 $10 invalidate _", log);
        Assert.Contains("  A got >2 $10 invalidate *1 $2 s2", log);
        Assert.Contains("  A got >2 $10 invalidate *1 $2 s3", log);
        Assert.DoesNotContain("  A got >2 $10 invalidate *1 $2 s4", log);
    }

    [Fact]
    public void Resp2RedirectBroadcastAndBrokenRedirect()
    {
        var log = AgainstRedis(k =>
        {
            k.Do("R", "SUBSCRIBE", "__redis__:invalidate");
            k.Do("A", "CLIENT", "TRACKING", "on", "REDIRECT", k.RId);
            k.Do("A", "CLIENT", "GETREDIR");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("A", "GET", "a");
            k.Do("B", "SET", "a", "1");
            k.Do("A", "GET", "a");
            k.Do("B", "FLUSHDB");
            k.Do("A", "CLIENT", "TRACKING", "off");
            k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", k.RId, "PREFIX", "user:", "PREFIX", "obj:");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", k.RId, "PREFIX", "user:1");
            k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", k.RId, "PREFIX", "zz", "PREFIX", "z");
            k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", k.RId, "PREFIX", "item:");
            k.Do("A", "CLIENT", "TRACKINGINFO");
            k.Do("B", "SET", "user:1", "x");
            k.Do("B", "SET", "other", "x");
            k.Do("B", "MSET", "obj:1", "x", "user:2", "y", "user:0", "z", "item:9", "w");
            k.Do("B", "DEL", "user:1", "user:2");
            k.Do("A", "CLIENT", "TRACKING", "off");
            k.Do("A", "CLIENT", "TRACKING", "on", "BCAST");
            k.Do("B", "SET", "anything", "1");
            k.Do("A", "CLIENT", "TRACKING", "off");
            k.Do("B", "INCR", "user:9");
        });
        Assert.Contains("  R got *3 $7 message $20 __redis__:invalidate *1 $1 a", log);
        Assert.Contains("  R got *3 $7 message $20 __redis__:invalidate $-1", log);
    }

    [Fact]
    public void ErrorsMatchRedisServer() => AgainstRedis(k =>
    {
        k.Do("A", "CLIENT", "TRACKING", "on", "PREFIX", "a");
        k.Do("A", "CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "OPTIN");
        k.Do("A", "CLIENT", "TRACKING", "on", "REDIRECT", "999999");
        k.Do("A", "CLIENT", "TRACKING", "on", "REDIRECT", "x");
        k.Do("A", "CLIENT", "TRACKING", "on", "REDIRECT", k.RId, "REDIRECT", k.RId);
        k.Do("A", "CLIENT", "TRACKING", "on", "BOGUS");
        k.Do("A", "CLIENT", "TRACKING", "on", "PREFIX");
        k.Do("A", "CLIENT", "TRACKING", "maybe");
        k.Do("A", "CLIENT", "TRACKING");
        k.Do("A", "CLIENT", "CACHING", "yes");
        k.Do("A", "CLIENT", "TRACKING", "on");
        k.Do("A", "CLIENT", "CACHING", "yes");
        k.Do("A", "CLIENT", "CACHING", "no");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST");
        k.Do("A", "CLIENT", "TRACKING", "on", "OPTIN");
        k.Do("A", "CLIENT", "TRACKING", "on", "OPTOUT");
        k.Do("A", "CLIENT", "CACHING", "maybe");
        k.Do("A", "CLIENT", "CACHING", "no");
        k.Do("A", "CLIENT", "CACHING");
        k.Do("A", "CLIENT", "GETREDIR", "x");
        k.Do("A", "CLIENT", "TRACKINGINFO", "x");
        k.Do("A", "CLIENT", "TRACKING", "off");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "abc");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a");
        k.Do("A", "CLIENT", "TRACKING", "on");
        k.Do("A", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b", "NOLOOP");
        k.Do("A", "CLIENT", "TRACKINGINFO");
        k.Do("A", "CLIENT", "TRACKING", "off");
        k.Do("A", "CLIENT", "TRACKING", "off");
    });

    /// <summary>A RESP3 client whose redirect client went away is told once per invalidation ("tracking-redir-broken");
    /// TRACKINGINFO and CLIENT LIST show the broken redirect; INFO counts tracking clients, keys, items, prefixes.</summary>
    [Fact]
    public void BrokenRedirectFlagsAndInfo() => AgainstRedis(k =>
    {
        k.Do("A", "HELLO", "3");
        k.Do("A", "CLIENT", "TRACKING", "on", "REDIRECT", k.RId);
        k.Do("A", "GET", "a");
        k.Do("A", "GET", "b");
        k.Do("B", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:", "PREFIX", "q:");
        k.Log.Add(Field(k.B.Call("INFO", "clients"), "tracking_clients"));
        string stats = k.B.Call("INFO", "stats");
        k.Log.Add(Field(stats, "tracking_total_keys") + Field(stats, "tracking_total_items") + Field(stats, "tracking_total_prefixes"));
        k.Log.Add(Field(k.A.Call("CLIENT", "INFO"), "flags") + Field(k.A.Call("CLIENT", "INFO"), "redir").Replace(k.RId, "ID"));
        k.Log.Add(Field(k.B.Call("CLIENT", "INFO"), "flags") + Field(k.B.Call("CLIENT", "INFO"), "redir"));
        int Clients() => k.B.Call("CLIENT", "LIST").Split('\n').Count(l => l.StartsWith("id=", StringComparison.Ordinal));
        int before = Clients();
        k.R.Call("QUIT");
        k.R.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Clients() != before - 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the closed connection stayed in CLIENT LIST: " + k.B.Call("CLIENT", "LIST"));
            Thread.Sleep(5);
        }
        k.Log.Add("B: SET a 1 -> " + Show(k.B.Call("SET", "a", "1")));
        k.Log.Add("A: PING -> " + Show(k.A.Call("PING")) + " / " + Show(k.A.ReadReply()));
        k.Log.Add("A: TRACKINGINFO -> " + Show(k.A.Call("CLIENT", "TRACKINGINFO")));
        k.Log.Add(Field(k.A.Call("CLIENT", "INFO"), "flags"));
        k.A.Call("CLIENT", "TRACKING", "off");
        k.Log.Add(Field(k.B.Call("INFO", "clients"), "tracking_clients"));
        stats = k.B.Call("INFO", "stats");
        k.Log.Add(Field(stats, "tracking_total_keys") + Field(stats, "tracking_total_items") + Field(stats, "tracking_total_prefixes"));
    });

    private static string Field(string text, string name)
    {
        var m = Regex.Match(text, $"(?:^|[\\s]){Regex.Escape(name)}[:=]([^\\s]*)");
        return $"{name}={m.Groups[1].Value} ";
    }

    /// <summary>A tracking client that disconnects gives back its prefixes and its count (redis's freeClient →
    /// disableTracking); its ids left in the table are skipped and dropped at the next change of those keys.</summary>
    [Fact]
    public void DisconnectDisablesTracking()
    {
        using var server = new ServerThread("tracking", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" }));
        using var b = ListHashConnection.Open(server.Port);
        using (var a = ListHashConnection.Open(server.Port))
        {
            a.Call("HELLO", "3");
            a.Call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y");
            using var c = ListHashConnection.Open(server.Port);
            c.Call("HELLO", "3");
            c.Call("CLIENT", "TRACKING", "on");
            c.Call("GET", "k");
            Assert.Contains("tracking_clients:2\r\n", b.Call("INFO", "clients"), StringComparison.Ordinal);
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!b.Call("INFO", "clients").Contains("tracking_clients:0\r\n", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "tracking_clients did not go back to 0");
            Thread.Sleep(5);
        }
        Assert.Contains("tracking_total_prefixes:0\r\n", b.Call("INFO", "stats"), StringComparison.Ordinal);
        Assert.Contains("tracking_total_keys:1\r\n", b.Call("INFO", "stats"), StringComparison.Ordinal);
        b.Call("SET", "k", "v");
        Assert.Contains("tracking_total_keys:0\r\ntracking_total_items:0\r\n", b.Call("INFO", "stats"), StringComparison.Ordinal);
        Assert.Equal(0, server.Inspect(s => s.Tracking.TrackingClients));
    }

    /// <summary>tracking-table-max-keys: past it, keys are dropped from the table with an invalidation (which keys
    /// is random, in redis too), so the table stays at the bound.</summary>
    [Fact]
    public void TableBoundInvalidatesKeys()
    {
        using var server = new ServerThread("tracking", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" }));
        using var a = ListHashConnection.Open(server.Port);
        using var b = ListHashConnection.Open(server.Port);
        a.Call("HELLO", "3");
        Assert.Equal("+OK\r\n", b.Call("CONFIG", "SET", "tracking-table-max-keys", "2"));
        Assert.Equal("*2\r\n$23\r\ntracking-table-max-keys\r\n$1\r\n2\r\n", b.Call("CONFIG", "GET", "tracking-table-max-keys"));
        a.Call("CLIENT", "TRACKING", "on");
        a.Call("MGET", "k1", "k2");
        Assert.Contains("tracking_total_keys:2\r\n", b.Call("INFO", "stats"), StringComparison.Ordinal);
        Assert.Equal("*3\r\n_\r\n_\r\n_\r\n", a.Call("MGET", "k3", "k4", "k5"));
        // three keys over the bound: three invalidations, one key each, after the reply
        var invalidated = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            string push = a.ReadReply();
            Assert.StartsWith(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk", push, StringComparison.Ordinal);
            invalidated.Add(push[^4..^2]);
        }
        Assert.Equal(3, invalidated.Distinct().Count());
        Assert.Contains("tracking_total_keys:2\r\n", b.Call("INFO", "stats"), StringComparison.Ordinal);
        Assert.Equal("+PONG\r\n", a.Call("PING"));
    }
}
