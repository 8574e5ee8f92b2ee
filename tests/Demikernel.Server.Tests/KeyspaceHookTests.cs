namespace Demikernel.Server.Tests;

/// <summary>
/// The keyspace's change hook drives blocking and WATCH: whichever command writes a key wakes the clients blocked on it
/// (RENAME, MOVE, COPY, RESTORE, SORT ... STORE had no hand-placed wake-up), and the unhappy paths behave as in
/// redis-server 7.0. Each scenario runs over real sockets against our server and against redis-server 7.0.15, and the
/// replies must be the same. No sleeps: a client is known to be parked from INFO's blocked_clients.
/// </summary>
public sealed class KeyspaceHookTests
{
    private delegate List<string> Scenario(ListHashConnection waiter, ListHashConnection writer, ListHashConnection third);

    private static void AgainstRedis(Scenario scenario, params string[] expected)
    {
        List<string> ours, theirs;
        using (var server = new ServerThread("hook", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })))
            ours = Run(server.Port, scenario);
        using (var redis = ReferenceRedis.TryStart())
            theirs = Run(redis.Port, scenario);
        Assert.Equal(theirs, ours);
        Assert.Equal(expected, ours);
    }

    private static List<string> Run(int port, Scenario scenario)
    {
        using var waiter = ListHashConnection.Open(port);
        using var writer = ListHashConnection.Open(port);
        using var third = ListHashConnection.Open(port);
        return scenario(waiter, writer, third);
    }

    /// <summary>Waits (bounded) until <paramref name="n"/> clients are blocked, as INFO clients reports.</summary>
    private static void WaitBlocked(ListHashConnection c, int n)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!c.Call("INFO", "clients").Contains($"blocked_clients:{n}\r\n", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {n} blocked clients after 10 s");
            Thread.Yield();
        }
    }

    private static string Show(string reply) => reply.Replace("\r\n", " ").Trim();

    [Fact]
    public void RenameWakesAClientBlockedOnTheDestination() => AgainstRedis((w, c, _) =>
    {
        c.Call("RPUSH", "src", "a", "b");
        w.Send("BLPOP", "dst", "0");
        WaitBlocked(c, 1);
        var r = new List<string> { Show(c.Call("RENAME", "src", "dst")), Show(w.ReadReply()), Show(c.Call("LRANGE", "dst", "0", "-1")) };
        return r;
    }, "+OK", "*2 $3 dst $1 a", "*1 $1 b");

    [Fact]
    public void MoveCopyRestoreAndSortStoreWakeBlockedClients() => AgainstRedis((w, c, _) =>
    {
        var r = new List<string>();
        // MOVE into the database the client waits in
        c.Call("RPUSH", "m", "1");
        w.Call("SELECT", "1");
        w.Send("BRPOP", "m", "0");
        WaitBlocked(c, 1);
        r.Add(Show(c.Call("MOVE", "m", "1")));
        r.Add(Show(w.ReadReply()));
        w.Call("SELECT", "0");
        // COPY
        c.Call("RPUSH", "csrc", "x");
        w.Send("BLMOVE", "cdst", "out", "LEFT", "RIGHT", "0");
        WaitBlocked(c, 1);
        r.Add(Show(c.Call("COPY", "csrc", "cdst")));
        r.Add(Show(w.ReadReply()));
        // RESTORE of a sorted set
        c.Call("ZADD", "zsrc", "1", "one");
        var dump = c.ReadDumpOf("zsrc");
        w.Send("BZPOPMIN", "zdst", "0");
        WaitBlocked(c, 1);
        r.Add(Show(c.CallRaw(Encode("RESTORE", "zdst", "0", dump))));
        r.Add(Show(w.ReadReply()));
        // SORT ... STORE
        c.Call("RPUSH", "nums", "3", "1", "2");
        w.Send("BLPOP", "sorted", "0");
        WaitBlocked(c, 1);
        r.Add(Show(c.Call("SORT", "nums", "STORE", "sorted")));
        r.Add(Show(w.ReadReply()));
        r.Add(Show(c.Call("LRANGE", "sorted", "0", "-1")));
        return r;
    }, ":1", "*2 $1 m $1 1", ":1", "$1 x", "+OK", "*3 $4 zdst $3 one $1 1", ":3", "*2 $6 sorted $1 1", "*2 $1 2 $1 3");

    [Fact]
    public void XReadGroupBlockedOnADeletedOrReplacedKeyGetsUnblocked() => AgainstRedis((w, c, t) =>
    {
        var r = new List<string>();
        c.Call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
        w.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">");
        t.Send("XREAD", "BLOCK", "0", "STREAMS", "s", "$");
        WaitBlocked(c, 2);
        r.Add(Show(c.Call("DEL", "s")));
        r.Add(Show(w.ReadReply()));
        // The XREAD client is not a group reader: it keeps waiting, and a new stream serves it.
        r.Add(Show(c.Call("XADD", "s", "1-1", "f", "v")));
        r.Add(Show(t.ReadReply()));
        // Overwritten by another type: the same error.
        c.Call("XGROUP", "CREATE", "s", "g", "$");
        w.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">");
        WaitBlocked(c, 1);
        r.Add(Show(c.Call("SET", "s", "x")));
        r.Add(Show(w.ReadReply()));
        // The group destroyed: NOGROUP.
        c.Call("DEL", "s");
        c.Call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
        w.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">");
        WaitBlocked(c, 1);
        r.Add(Show(c.Call("XGROUP", "DESTROY", "s", "g")));
        r.Add(Show(w.ReadReply()));
        r.Add(Show(w.Call("PING")));
        return r;
    }, ":1", "-UNBLOCKED the stream key no longer exists", "$3 1-1", "*1 *2 $1 s *1 *2 $3 1-1 *2 $1 f $1 v", "+OK",
       "-UNBLOCKED the stream key no longer exists", ":1", "-NOGROUP the consumer group this client was blocked on no longer exists", "+PONG");

    [Fact]
    public void PushDeleteAndSetInOneTransactionDoNotWakeABlockedPop() => AgainstRedis((w, c, _) =>
    {
        var r = new List<string>();
        w.Send("BLPOP", "l", "0");
        WaitBlocked(c, 1);
        c.Call("MULTI");
        c.Call("LPUSH", "l", "x");
        c.Call("DEL", "l");
        c.Call("SET", "l", "v");
        r.Add(Show(c.Call("EXEC")));
        // Still blocked: the next reply it gets is from this push, not an error or the value of the transaction.
        r.Add(Show(c.Call("INFO", "clients")).Contains("blocked_clients:1", StringComparison.Ordinal) ? "blocked" : "woken");
        c.Call("DEL", "l");
        r.Add(Show(c.Call("RPUSH", "l", "y")));
        r.Add(Show(w.ReadReply()));
        return r;
    }, "*3 :1 :1 +OK", "blocked", ":1", "*2 $1 l $1 y");

    [Fact]
    public void ABlockedBrpoplpushServedLaterTouchesOnlyTheKeysItWrites() => AgainstRedis((w, c, t) =>
    {
        var r = new List<string>();
        c.Call("SET", "other", "1");
        w.Send("BRPOPLPUSH", "src", "dst", "0");
        WaitBlocked(c, 1);
        t.Call("WATCH", "other");
        r.Add(Show(c.Call("RPUSH", "src", "job")));
        r.Add(Show(w.ReadReply()));
        t.Call("MULTI");
        t.Call("INCR", "other");
        r.Add(Show(t.Call("EXEC")));                 // "other" untouched: the transaction runs
        // A watch on the key the served client wrote breaks.
        w.Send("BRPOPLPUSH", "src", "dst", "0");
        WaitBlocked(c, 1);
        t.Call("WATCH", "dst");
        r.Add(Show(c.Call("RPUSH", "src", "job2")));
        r.Add(Show(w.ReadReply()));
        t.Call("MULTI");
        t.Call("INCR", "other");
        r.Add(Show(t.Call("EXEC")));
        return r;
    }, ":1", "$3 job", "*1 :2", ":1", "$4 job2", "*-1");

    private static byte[] Encode(params object[] args)
    {
        var parts = args.Select(a => a as byte[] ?? System.Text.Encoding.UTF8.GetBytes((string)a)).ToArray();
        return CommandHarness.EncodeRequest(parts);
    }
}

internal static class HookConnectionExtensions
{
    /// <summary>DUMP's payload as bytes.</summary>
    public static byte[] ReadDumpOf(this ListHashConnection c, string key)
    {
        byte[] reply = c.CallBytes("DUMP", key);
        int header = Array.IndexOf(reply, (byte)'\n') + 1;
        return reply[header..^2];
    }

    /// <summary>Sends an encoded request and reads one reply as text.</summary>
    public static string CallRaw(this ListHashConnection c, byte[] request)
    {
        c.SendRaw(request);
        return c.ReadReply();
    }
}
