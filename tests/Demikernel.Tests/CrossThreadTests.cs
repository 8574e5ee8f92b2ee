using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// Other threads reaching the libOS thread: <see cref="DemiLibOS.Post{TState}"/>, <see cref="RemoteCompletion"/> and
/// the transports' wake. Every wait here is bounded in real time (30 s), and every latency bound (1 s) is far below it,
/// so a missing wake fails the test instead of hanging it or passing at a timeout.
/// </summary>
public class CrossThreadTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(1);

    public static TheoryData<string> Transports => new() { "catnap", "catloop" };

    /// <summary>Spins until <paramref name="condition"/> holds or <paramref name="timeout"/> passes (any thread).</summary>
    private static bool SpinUntil(Func<bool> condition, TimeSpan timeout)
    {
        var wall = Stopwatch.StartNew();
        while (!condition())
        {
            if (wall.Elapsed > timeout) return false;
            Thread.Sleep(1);
        }
        return true;
    }

    /// <summary>Runs <paramref name="main"/> as a coroutine on the calling thread until it ends, for at most 30 s of real time.</summary>
    private static void RunBounded(DemiLibOS libos, Func<ValueTask> main)
    {
        bool finished = false;
        libos.Spawn(async () =>
        {
            await main();
            finished = true;
        });
        var wall = Stopwatch.StartNew();
        // The bound is real time: a virtual clock would jump straight to a virtual deadline whenever the libOS idles.
        TimeSpan? timeout = libos.Time is VirtualTimeProvider ? null : Limit;
        libos.RunUntil(() => finished || libos.Faults.Count > 0 || wall.Elapsed > Limit, timeout);
        Assert.Empty(libos.Faults);
        Assert.True(finished, $"the coroutine did not finish within {Limit.TotalSeconds} s");
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Thread, Exception> s_threadFaults = new();

    /// <summary>A helper thread. What it throws is kept for <see cref="Join"/>: a test that fails first disposes what the
    /// thread still waits on (a semaphore), and an exception escaping a thread would crash the whole test host.</summary>
    private static Thread Start(Action body)
    {
        Thread? thread = null;
        thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                s_threadFaults.AddOrUpdate(thread!, e);
            }
        }) { IsBackground = true };
        thread.Start();
        return thread;
    }

    private static void Join(Thread thread)
    {
        Assert.True(thread.Join(Limit), "a helper thread did not finish");
        if (s_threadFaults.TryGetValue(thread, out var fault)) Assert.Fail($"a helper thread threw: {fault}");
    }

    // ------------------------------------------------------------------ waking

    [Theory, MemberData(nameof(Transports))]
    public void APostWakesALibOSBlockedWithNoTimersWithinMilliseconds(string name)
    {
        using var libos = LibOS.Create(name);
        int libosThread = Environment.CurrentManagedThreadId;
        long postedAt = 0, ranAt = 0;
        int ranOn = 0;
        bool blocked = false, ran = false;
        var poster = Start(() =>
        {
            blocked = SpinUntil(() => libos.IsBlocked, Limit);
            Thread.Sleep(50); // well inside epoll_wait / the event wait by now
            postedAt = Stopwatch.GetTimestamp();
            libos.Post(() =>
            {
                ranAt = Stopwatch.GetTimestamp();
                ranOn = Environment.CurrentManagedThreadId;
                ran = true;
            });
        });
        Assert.False(libos.Scheduler.TryGetNextDeadline(out _)); // nothing but the post can end the block
        libos.RunUntil(() => ran, Limit);
        Join(poster);
        Assert.True(blocked, "the libOS never blocked");
        Assert.True(ran, "the posted callback never ran");
        Assert.Equal(libosThread, ranOn);
        var latency = Stopwatch.GetElapsedTime(postedAt, ranAt);
        Assert.True(latency < Prompt, $"woke {latency.TotalMilliseconds:F1} ms after the post");
    }

    [Fact]
    public void APostReachesASpinningLibOSWithoutItBlocking()
    {
        // A spin budget far longer than the test: the libOS never blocks, so it must find the post by polling.
        using var libos = new DemiLibOS(new Catloop.CatloopTransport(), new LibOSOptions { SpinBudget = TimeSpan.FromMinutes(10) });
        bool ran = false, everBlocked = false;
        long postedAt = 0, ranAt = 0;
        var poster = Start(() =>
        {
            Thread.Sleep(50);
            postedAt = Stopwatch.GetTimestamp();
            libos.Post(() =>
            {
                ranAt = Stopwatch.GetTimestamp();
                ran = true;
            });
        });
        libos.RunUntil(() =>
        {
            everBlocked |= libos.IsBlocked;
            return ran;
        }, Limit);
        Join(poster);
        Assert.True(ran);
        Assert.False(everBlocked);
        Assert.True(Stopwatch.GetElapsedTime(postedAt, ranAt) < Prompt);
    }

    private sealed class OrderLog(int threads, int libosThread)
    {
        private readonly int[] _next = new int[threads];
        public int Total;
        public int OutOfOrder;
        public int WrongThread;

        public int Next(int thread) => _next[thread];

        public void Record(int thread, int seq)
        {
            if (Environment.CurrentManagedThreadId != libosThread) WrongThread++;
            if (_next[thread] != seq) OutOfOrder++;
            _next[thread] = seq + 1;
            Total++;
        }
    }

    [Theory, MemberData(nameof(Transports))]
    public void ConcurrentPostsRunExactlyOnceInPerThreadOrderOnTheLibOSThread(string name)
    {
        const int Threads = 4;
        const int PerThread = 20_000;
        using var libos = LibOS.Create(name);
        var log = new OrderLog(Threads, Environment.CurrentManagedThreadId);
        using var start = new Barrier(Threads);
        var posters = Enumerable.Range(0, Threads).Select(t => Start(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < PerThread; i++)
            {
                libos.Post(static s => s.Log.Record(s.Thread, s.Seq), (Log: log, Thread: t, Seq: i));
                if (i % 2_000 == 1_999) Thread.Sleep(2); // let the libOS go idle and block, so wakes are exercised too
            }
        })).ToArray();
        var wall = Stopwatch.StartNew();
        libos.RunUntil(() => log.Total == Threads * PerThread || wall.Elapsed > Limit, Limit);
        foreach (var p in posters) Join(p);
        libos.Poll(); // anything run twice or late would show now
        Assert.Equal(Threads * PerThread, log.Total);
        Assert.Equal(0, log.OutOfOrder);
        Assert.Equal(0, log.WrongThread);
        for (int t = 0; t < Threads; t++) Assert.Equal(PerThread, log.Next(t));
    }

    [Fact]
    public void CallbacksStartInPostingOrderEvenWhenOneReentersTheRunLoop()
    {
        using var libos = LibOS.Create("catloop");
        var started = new List<int>();
        libos.Post(() =>
        {
            started.Add(1);
            libos.Post(() => started.Add(4));
            // A nested run loop runs the callbacks after this one, and must run 2 and 3 (taken with this one) before
            // 4 (posted later).
            Assert.True(libos.RunUntil(() => started.Contains(4), Limit));
        });
        libos.Post(() => started.Add(2));
        libos.Post(() => started.Add(3));
        libos.RunUntil(() => started.Count == 4, Limit);
        Assert.Empty(libos.Faults);
        Assert.Equal(new[] { 1, 2, 3, 4 }, started);
    }

    [Fact]
    public void ACallbackThatThrowsIsAFaultAndTheOthersStillRun()
    {
        using var libos = LibOS.Create("catloop");
        var boom = new InvalidOperationException("posted callback failed");
        bool after = false;
        var poster = Start(() =>
        {
            libos.Post(() => throw boom);
            libos.Post(() => after = true);
        });
        Join(poster);
        Assert.True(libos.RunUntil(() => after, Limit));
        Assert.Same(boom, Assert.Single(libos.Faults));
    }

    // ------------------------------------------------------------------ RemoteCompletion

    [Theory, MemberData(nameof(Transports))]
    public void RemoteCompletionResumesTheAwaiterOnTheLibOSThreadWithTheWorkersResult(string name)
    {
        const int Rounds = 200;
        using var libos = LibOS.Create(name);
        var done = new RemoteCompletion(libos);
        using var requests = new SemaphoreSlim(0);
        int libosThread = Environment.CurrentManagedThreadId;
        var worker = Start(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                if (!requests.Wait(Limit)) return;
                if (i % 3 == 0) Thread.Sleep(1); // sometimes the libOS is blocked by then, sometimes still spinning
                done.Complete(1000 + i);
            }
        });
        int wrongThread = 0, wrongResult = 0;
        RunBounded(libos, async () =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                requests.Release();
                int result = await done.WaitAsync();
                if (Environment.CurrentManagedThreadId != libosThread) wrongThread++;
                if (result != 1000 + i) wrongResult++;
            }
        });
        Join(worker);
        Assert.Equal(0, wrongThread);
        Assert.Equal(0, wrongResult);
    }

    [Fact]
    public void ACompletionBeforeTheWaitIsKeptAndASecondOneIsRefusedUntilItIsTaken()
    {
        using var libos = LibOS.Create("catloop");
        var done = new RemoteCompletion(libos);
        bool first = false, second = true;
        Join(Start(() =>
        {
            first = done.Complete(7);
            second = done.Complete(8);
        }));
        Assert.True(first);
        Assert.False(second);
        var results = new List<int>();
        RunBounded(libos, async () =>
        {
            results.Add(await done.WaitAsync()); // delivered before the wait: returns at once
            Assert.True(done.Complete(9));       // taken, so the next round is open
            results.Add(await done.WaitAsync());
        });
        Assert.Equal(new[] { 7, 9 }, results);
    }

    // ------------------------------------------------------------------ allocation

    private sealed class Counter
    {
        public int Ran;
        public long LibosBytesAtWarm;
        public long LibosBytesAtEnd;
    }

    [Theory, MemberData(nameof(Transports))]
    public void PostAllocatesNothingPerCallInSteadyStateOnEitherThread(string name)
    {
        const int Warm = 1_000;
        const int Total = Warm + 5_000;
        using var libos = LibOS.Create(name);
        var counter = new Counter();
        long posterBytes = -1;
        var poster = Start(() =>
        {
            long before = 0;
            for (int i = 0; i < Total; i++)
            {
                if (i == Warm) before = GC.GetAllocatedBytesForCurrentThread();
                libos.Post(static c =>
                {
                    int n = ++c.Ran;
                    if (n == Warm) c.LibosBytesAtWarm = GC.GetAllocatedBytesForCurrentThread();
                    if (n == Total) c.LibosBytesAtEnd = GC.GetAllocatedBytesForCurrentThread();
                }, counter);
                // One in flight at a time, waiting both ways (blocked libOS, spinning libOS): the pooled node comes back.
                while (Volatile.Read(ref counter.Ran) <= i) Thread.Yield();
            }
            posterBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        var wall = Stopwatch.StartNew();
        libos.RunUntil(() => counter.Ran == Total || wall.Elapsed > Limit, Limit);
        Join(poster);
        Assert.Equal(Total, counter.Ran);
        Assert.Equal(0, posterBytes);
        Assert.Equal(0, counter.LibosBytesAtEnd - counter.LibosBytesAtWarm);
    }

    [Theory, MemberData(nameof(Transports))]
    public void RemoteCompletionAllocatesNothingPerRoundInSteadyStateOnEitherThread(string name)
    {
        const int Warm = 1_000;
        const int Total = Warm + 5_000;
        using var libos = LibOS.Create(name);
        var done = new RemoteCompletion(libos);
        using var requests = new SemaphoreSlim(0);
        long workerBytes = -1;
        var worker = Start(() =>
        {
            long before = 0;
            for (int i = 0; i < Total; i++)
            {
                if (!requests.Wait(Limit)) return;
                if (i == Warm) before = GC.GetAllocatedBytesForCurrentThread();
                done.Complete(i);
            }
            workerBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        long libosBytes = -1;
        RunBounded(libos, async () =>
        {
            long before = 0;
            for (int i = 0; i < Total; i++)
            {
                if (i == Warm) before = GC.GetAllocatedBytesForCurrentThread();
                requests.Release();
                await done.WaitAsync();
            }
            libosBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Join(worker);
        Assert.Equal(0, workerBytes);
        Assert.Equal(0, libosBytes);
    }

    // ------------------------------------------------------------------ virtual clock

    [Fact]
    public void UnderAnAutoAdvancingVirtualClockTimeStandsStillWhileAnnouncedExternalWorkRuns()
    {
        var clock = new VirtualTimeProvider();
        using var libos = LibOS.Create("catloop", time: clock);
        var done = new RemoteCompletion(libos);
        bool timerFired = false;
        libos.Spawn(async () =>
        {
            await libos.Delay(TimeSpan.FromSeconds(1)); // would be jumped to at once if the libOS thought itself idle
            timerFired = true;
        });
        TimeSpan resumedAt = TimeSpan.MaxValue, postedAt = TimeSpan.MaxValue;
        bool firedBeforeResult = true, firedBeforePost = true;
        RunBounded(libos, async () =>
        {
            // Round 1: a RemoteCompletion; the libOS ends the work once it has the result.
            libos.BeginExternalWork();
            var worker = Start(() =>
            {
                Thread.Sleep(100);
                done.Complete(42);
            });
            Assert.Equal(42, await done.WaitAsync());
            libos.EndExternalWork();
            resumedAt = clock.Elapsed;
            firedBeforeResult = timerFired;
            Join(worker);

            // Round 2: a Post; the worker ends the work itself, after posting.
            bool posted = false;
            libos.BeginExternalWork();
            worker = Start(() =>
            {
                Thread.Sleep(100);
                libos.Post(() => posted = true);
                libos.EndExternalWork();
            });
            while (!posted) await libos.Yield();
            postedAt = clock.Elapsed;
            firedBeforePost = timerFired;
            Join(worker);
            Assert.Equal(0, libos.ExternalWorkPending);

            await libos.Delay(TimeSpan.FromSeconds(2)); // nothing pending any more: the clock jumps again
        });
        Assert.Equal(TimeSpan.Zero, resumedAt);
        Assert.False(firedBeforeResult);
        Assert.Equal(TimeSpan.Zero, postedAt);
        Assert.False(firedBeforePost);
        Assert.True(timerFired);
        Assert.Equal(TimeSpan.FromSeconds(2), clock.Elapsed);
    }

    [Fact]
    public void UnderAnAutoAdvancingVirtualClockUnannouncedExternalWorkLetsTheClockJump()
    {
        var clock = new VirtualTimeProvider();
        using var libos = LibOS.Create("catloop", time: clock);
        var done = new RemoteCompletion(libos);
        using var fired = new ManualResetEventSlim();
        libos.Spawn(async () =>
        {
            await libos.Delay(TimeSpan.FromSeconds(1));
            fired.Set();
        });
        TimeSpan resumedAt = TimeSpan.MaxValue;
        RunBounded(libos, async () =>
        {
            // The worker completes only once the timer has fired: without BeginExternalWork the idle libOS jumps there.
            var worker = Start(() =>
            {
                fired.Wait(Limit);
                done.Complete();
            });
            await done.WaitAsync();
            resumedAt = clock.Elapsed;
            Join(worker);
        });
        Assert.True(fired.IsSet);
        Assert.Equal(TimeSpan.FromSeconds(1), resumedAt);
    }

    [Fact]
    public void EndExternalWorkWithoutABeginThrows()
    {
        using var libos = LibOS.Create("catloop");
        Assert.Throws<InvalidOperationException>(libos.EndExternalWork);
        Assert.Equal(0, libos.ExternalWorkPending);
    }

    // ------------------------------------------------------------------ catnap with busy sockets

    [Fact]
    public void CatnapWakesForPostsWhileItsSocketsAreBusyAndAfterwards()
    {
        const int Bytes = 40;
        using var libos = LibOS.Create("catnap");
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var listener));
        Assert.Equal(0, libos.Bind(listener, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, libos.Listen(listener, 4));
        Assert.Equal(0, libos.GetSockName(listener, out var at));

        // A kernel client on another thread sends a byte every 5 ms and reads each echo back, then waits for the
        // idle phase to finish before closing.
        using var idlePhaseDone = new ManualResetEventSlim();
        int echoed = 0;
        var client = Start(() =>
        {
            using var tcp = new TcpClient();
            tcp.Connect(IPAddress.Loopback, at.Port);
            var stream = tcp.GetStream();
            for (int i = 0; i < Bytes; i++)
            {
                stream.WriteByte((byte)i);
                if (stream.ReadByte() == i) echoed++;
                Thread.Sleep(5);
            }
            idlePhaseDone.Wait(Limit);
        });

        // Posts while the sockets are busy (at random moments), then posts that each find the libOS blocked.
        const int BusyPosts = 50, IdlePosts = 10;
        int ran = 0;
        var latencies = new TimeSpan[IdlePosts];
        bool alwaysBlocked = true;
        var poster = Start(() =>
        {
            for (int i = 0; i < BusyPosts; i++)
            {
                libos.Post(() => ran++);
                Thread.Sleep(i % 4);
            }
            SpinUntil(() => Volatile.Read(ref echoed) == Bytes, Limit);
            for (int i = 0; i < IdlePosts; i++)
            {
                alwaysBlocked &= SpinUntil(() => libos.IsBlocked, Limit);
                Thread.Sleep(20);
                long postedAt = Stopwatch.GetTimestamp();
                int target = BusyPosts + i + 1;
                libos.Post(() => ran++);
                SpinUntil(() => Volatile.Read(ref ran) >= target, Limit);
                latencies[i] = Stopwatch.GetElapsedTime(postedAt);
            }
            idlePhaseDone.Set();
        });

        int received = 0;
        bool eof = false;
        RunBounded(libos, async () =>
        {
            var accepted = await libos.AcceptAsync(listener);
            Assert.True(accepted.Succeeded);
            var qd = accepted.AcceptedQd;
            while (true)
            {
                var pop = await libos.PopAsync(qd);
                Assert.True(pop.Succeeded);
                if (pop.Sga.TotalLength == 0)
                {
                    eof = true;
                    break;
                }
                received += pop.Sga.TotalLength;
                var push = await libos.PushAsync(qd, pop.Sga);
                Assert.True(push.Succeeded);
                libos.SgaFree(pop.Sga);
            }
            libos.Close(qd);
        });
        Join(poster);
        Join(client);
        Assert.Equal(Bytes, received);
        Assert.Equal(Bytes, echoed);
        Assert.True(eof);
        Assert.Equal(BusyPosts + IdlePosts, ran);
        Assert.True(alwaysBlocked, "the libOS did not block again after a wake (eventfd not drained?)");
        foreach (var latency in latencies)
            Assert.True(latency < Prompt, $"a post to the blocked libOS took {latency.TotalMilliseconds:F1} ms");
    }
}
