using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace Demikernel.Server.Tests;

[CollectionDefinition("Churn", DisableParallelization = true)]
public sealed class ChurnCollection;

/// <summary>
/// Nothing leaks: clients come and go in every way they can (connect and leave, leave mid-request, reset the
/// connection, block on BLPOP and time out, leave while blocked, quit right after being served, subscribe and leave,
/// abandon MULTI and WATCH), and afterwards the server is back where it started: scheduler tasks, pending operations,
/// libOS buffers, descriptors (the libOS's and /proc/self/fd), clients, blocked clients, subscriptions, and the managed
/// heap after a full GC. Runs alone (no other test's sockets or garbage in the counts).
/// </summary>
[Collection("Churn")]
public sealed class ChurnTests(ITestOutputHelper output)
{
    private sealed record State(int Tasks, int Timers, int Buffers, int Descriptors, int Operations, int Clients, int Blocked, int Channels, int Patterns);

    private static string TaskKinds(ServerThread server) => server.Inspect(s =>
        string.Join(", ", s.LibOS.ScheduledTaskKinds().OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}")));

    private static State Read(ServerThread server) => server.Inspect(s => new State(
        s.LibOS.Counters.ScheduledTasks, s.LibOS.Counters.PendingTimers, s.LibOS.Counters.BuffersOutstanding, s.LibOS.OpenDescriptors,
        s.LibOS.OutstandingOperations, s.Clients.Count, s.Blocking.BlockedClients, s.PubSub.ChannelCount, s.PubSub.PatternCount));

    private static int ProcessDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static long HeapAfterFullGc()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public void ClientsThatComeAndGoLeaveNothingBehind()
    {
        var clock = Stopwatch.StartNew();
        using var server = ListHashTcpServer.Start();
        using var admin = server.Connect();
        Assert.Equal("+PONG\r\n", admin.Call("PING"));

        // Warm-up at the same concurrency as the real run: JIT, pools and tables reach their working size.
        RunAll(server, admin, cycles: 1000, blockedRounds: 1, pubsubRounds: 1, multiRounds: 1);
        var before = WaitIdle(server, null);
        string kindsBefore = TaskKinds(server);
        int fdsBefore = ProcessDescriptors();
        long heapBefore = HeapAfterFullGc();
        output.WriteLine($"baseline after warm-up ({clock.Elapsed.TotalSeconds:F1} s): {before}, fds {fdsBefore}, heap {heapBefore / 1024} KB");

        RunAll(server, admin, cycles: 10_000, blockedRounds: 10, pubsubRounds: 10, multiRounds: 10);
        var after = WaitIdle(server, before);
        int fdsAfter = ProcessDescriptors();
        long heapAfter = HeapAfterFullGc();
        output.WriteLine($"after 10,000 connect cycles, 10,000 blocked, 5,000 subscribers, 5,000 MULTI ({clock.Elapsed.TotalSeconds:F1} s): {after}, fds {fdsAfter}, heap {heapAfter / 1024} KB");

        Assert.True(before.Tasks == after.Tasks, $"scheduler tasks: {kindsBefore} before, {TaskKinds(server)} after");
        Assert.Equal(before.Operations, after.Operations);
        Assert.Equal(before.Buffers, after.Buffers);
        Assert.Equal(before.Descriptors, after.Descriptors);
        Assert.Equal(1, after.Clients); // the admin connection
        Assert.Equal(0, after.Blocked);
        Assert.Equal(0, after.Channels);
        Assert.Equal(0, after.Patterns);
        Assert.InRange(after.Timers, 0, before.Timers + 2); // the cron's delay; nothing per client
        Assert.InRange(fdsAfter, 0, fdsBefore + 4);
        // Within 1 MB of the baseline: one leaked session (its state machine, buffers, signals) is several KB, so
        // 10,000 leaked sessions of any kind would be tens of MB.
        Assert.InRange(heapAfter, 0, heapBefore + (1 << 20));
        Assert.Equal("+PONG\r\n", admin.Call("PING"));
    }

    private static void RunAll(ServerThread server, ListHashConnection admin, int cycles, int blockedRounds, int pubsubRounds, int multiRounds)
    {
        ConnectCycles(server.Port, cycles);
        for (int round = 0; round < blockedRounds; round++) BlockedRound(server, admin, round, 999);
        for (int round = 0; round < pubsubRounds; round++) PubSubRound(server, admin, round, 500);
        for (int round = 0; round < multiRounds; round++) MultiRound(server.Port, round, 500);
    }

    /// <summary>
    /// Waits until the last sessions have finished closing and the state holds still (the same twice in a row; a
    /// coroutine that is just ending is not a leak), and, when given, is back at <paramref name="baseline"/>'s tasks
    /// and operations; after 20 s it returns what it has, for the assertions to report.
    /// </summary>
    private static State WaitIdle(ServerThread server, State? baseline)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        State? last = null;
        while (true)
        {
            var state = Read(server);
            bool idle = state is { Clients: 1, Blocked: 0, Channels: 0, Patterns: 0 } && state.Timers <= 4
                && (baseline is null || (state.Tasks <= baseline.Tasks && state.Operations <= baseline.Operations));
            if ((idle && state == last) || DateTime.UtcNow > deadline) return state;
            last = idle ? state : null;
            Thread.Sleep(20);
        }
    }

    // ---- the kinds of churn ----

    /// <summary>Connect and leave: at once, after a PING, in the middle of a request, or with a reset.</summary>
    private static void ConnectCycles(int port, int count) =>
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var s = Open(port);
            switch (i % 4)
            {
                case 0:
                    break;
                case 1:
                    Send(s, "PING\r\n");
                    Expect(s, "+PONG\r\n");
                    break;
                case 2:
                    Send(s, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc"); // left in the query buffer
                    break;
                default:
                    Send(s, "PING\r\n");
                    s.LingerState = new LingerOption(true, 0); // RST, possibly before the reply was pushed
                    break;
            }
        });

    /// <summary>
    /// A third of the clients time out (BLPOP 0.05), a third leave while blocked (some with a reset), a third are
    /// served with QUIT queued behind the BLPOP (the session ends with the read it started while parked pending).
    /// </summary>
    private static void BlockedRound(ServerThread server, ListHashConnection admin, int round, int count)
    {
        var sockets = new Socket[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            sockets[i] = Open(server.Port);
            Send(sockets[i], (i % 3) switch
            {
                0 => Request("BLPOP", $"t{round}", "0.05"),
                1 => Request("BLPOP", $"d{round}", "0"),
                _ => Request("BLPOP", $"s{round}", "0") + Request("QUIT"),
            });
        });
        // Every client has blocked at least once (the timed-out third may already be gone).
        WaitFor(server, s => s.Blocking.BlockedClients >= 2 * (count / 3));
        var push = new List<string> { "RPUSH", $"s{round}" };
        for (int i = 0; i < count / 3; i++) push.Add("v");
        Assert.Equal($":{count / 3}\r\n", admin.Call([.. push]));
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var s = sockets[i];
            switch (i % 3)
            {
                case 0:
                    Expect(s, "*-1\r\n");
                    break;
                case 1:
                    if (i % 2 == 0) s.LingerState = new LingerOption(true, 0);
                    break;
                default:
                    Expect(s, $"*2\r\n$2\r\ns{round}\r\n$1\r\nv\r\n+OK\r\n");
                    break;
            }
        });
    }

    /// <summary>Subscribers that come and go while messages flow: some unsubscribe first, some leave subscribed without reading.</summary>
    private static void PubSubRound(ServerThread server, ListHashConnection admin, int round, int count)
    {
        var sockets = new Socket[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var s = sockets[i] = Open(server.Port);
            Send(s, Request("SUBSCRIBE", $"ch{i % 10}", $"only{i}") + Request("PSUBSCRIBE", "ch*"));
            Expect(s, $"*3\r\n$9\r\nsubscribe\r\n${$"ch{i % 10}".Length}\r\nch{i % 10}\r\n:1\r\n" +
                      $"*3\r\n$9\r\nsubscribe\r\n${$"only{i}".Length}\r\nonly{i}\r\n:2\r\n" +
                      "*3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:3\r\n");
        });
        for (int m = 0; m < 10; m++) admin.Call("PUBLISH", $"ch{m}", new string('x', 1000));
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var s = sockets[i];
            if (i % 2 == 0) return; // leaves subscribed, messages unread
            Send(s, Request("UNSUBSCRIBE") + Request("PUNSUBSCRIBE") + Request("PING"));
            ExpectEndsWith(s, "+PONG\r\n");
        });
        _ = round;
    }

    /// <summary>MULTI with queued commands (and WATCH) abandoned by a client that leaves.</summary>
    private static void MultiRound(int port, int round, int count) =>
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var s = Open(port);
            Send(s, Request("WATCH", $"w{round}:{i}") + Request("MULTI") + Request("SET", "a", new string('y', 2000)) + Request("INCR", "c"));
            Expect(s, "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n");
        });

    // ---- raw sockets ----

    private static Socket Open(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 10_000 };
        s.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return s;
    }

    private static string Request(params string[] args)
    {
        var text = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) text.Append($"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        return text.ToString();
    }

    private static void Send(Socket s, string text) => s.Send(Encoding.UTF8.GetBytes(text));

    private static void Expect(Socket s, string expected)
    {
        var want = Encoding.UTF8.GetBytes(expected);
        var got = new byte[want.Length];
        int have = 0;
        while (have < got.Length)
        {
            int n = s.Receive(got, have, got.Length - have, SocketFlags.None);
            if (n == 0) break;
            have += n;
        }
        Assert.Equal(expected, Encoding.UTF8.GetString(got, 0, have));
    }

    private static void ExpectEndsWith(Socket s, string suffix)
    {
        var all = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (!all.ToString().EndsWith(suffix, StringComparison.Ordinal))
        {
            int n = s.Receive(buffer);
            Assert.True(n > 0, "the connection closed before " + suffix.Trim());
            all.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
    }

    private static void WaitFor(ServerThread server, Func<RedisServer, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!server.Inspect(condition))
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the server");
            Thread.Sleep(5);
        }
    }
}
