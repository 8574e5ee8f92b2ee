using Demikernel.Runtime;

namespace Demikernel.Tests;

public class SchedulerTests
{
    private sealed class Counter : IRunnable
    {
        public int Runs;
        public Action? OnRun;
        public void Run()
        {
            Runs++;
            OnRun?.Invoke();
        }
    }

    [Fact]
    public void WakeRunsTaskOnceEvenIfWokenTwice()
    {
        var s = new Scheduler();
        var c = new Counter();
        var h = s.Insert(c);
        s.Wake(h);
        s.Wake(h);
        Assert.Equal(1, s.RunReady());
        Assert.Equal(1, c.Runs);
        Assert.Equal(0, s.RunReady());
    }

    /// <summary>
    /// A task that runs a pass of its own (a long script serving other clients) must not starve the tasks the outer
    /// pass had already taken: they run in the nested pass, once, and the outer pass does not run them again.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(70)] // the waiting tasks on another page of 64 too
    public void NestedPassRunsWhatTheOuterPassHeld(int others)
    {
        var s = new Scheduler();
        var waiting = Enumerable.Range(0, others).Select(_ => new Counter()).ToArray();
        var nestedRan = -1;
        var longTask = new Counter();
        longTask.OnRun = () =>
        {
            nestedRan = s.RunReady();
            Assert.All(waiting, w => Assert.Equal(1, w.Runs)); // served while the long task is still running
        };
        var handles = new List<TaskHandle> { s.Insert(longTask) };
        handles.AddRange(waiting.Select(w => s.Insert(w)));
        foreach (var h in handles) s.Wake(h);
        s.RunReady();
        Assert.Equal(others, nestedRan);
        Assert.Equal(1, longTask.Runs);
        Assert.All(waiting, w => Assert.Equal(1, w.Runs)); // not run a second time by the outer pass
        Assert.Equal(0, s.RunReady());
    }

    [Fact]
    public void StaleHandleIsIgnored()
    {
        var s = new Scheduler();
        var a = new Counter();
        var h = s.Insert(a);
        Assert.True(s.Remove(h));
        var b = new Counter();
        var h2 = s.Insert(b); // reuses the slot with a new generation
        Assert.Equal(h.Slot, h2.Slot);
        s.Wake(h);
        Assert.Equal(0, s.RunReady());
        Assert.False(s.Remove(h));
        s.Wake(h2);
        Assert.Equal(1, s.RunReady());
        Assert.Equal(0, a.Runs);
        Assert.Equal(1, b.Runs);
    }

    [Fact]
    public void TasksThatRewakeThemselvesDoNotStarveOthers()
    {
        var s = new Scheduler();
        var greedy = new Counter();
        TaskHandle gh = default;
        greedy.OnRun = () => s.Wake(gh);
        gh = s.Insert(greedy, ready: true);
        var others = Enumerable.Range(0, 200).Select(_ => new Counter()).ToArray();
        var handles = others.Select(o => s.Insert(o)).ToArray();
        foreach (var o in others) o.OnRun = null;
        for (int pass = 0; pass < 10; pass++)
        {
            foreach (var h in handles) s.Wake(h);
            s.RunReady();
        }
        Assert.All(others, o => Assert.Equal(10, o.Runs));
        Assert.InRange(greedy.Runs, 10, 20); // once per pass (plus at most one extra), never an unbounded loop
    }

    [Fact]
    public void HundredThousandTasks()
    {
        var s = new Scheduler();
        var tasks = new Counter[100_000];
        var handles = new TaskHandle[tasks.Length];
        for (int i = 0; i < tasks.Length; i++) handles[i] = s.Insert(tasks[i] = new Counter());
        for (int i = 0; i < tasks.Length; i += 3) s.Wake(handles[i]);
        Assert.Equal((tasks.Length + 2) / 3, s.RunReady());
        foreach (var h in handles) s.Wake(h);
        Assert.Equal(tasks.Length, s.RunReady());
        for (int i = 0; i < tasks.Length; i++) Assert.Equal(i % 3 == 0 ? 2 : 1, tasks[i].Runs);
        for (int i = 0; i < tasks.Length; i += 2) Assert.True(s.Remove(handles[i]));
        Assert.Equal(tasks.Length / 2, s.Count);
    }

    [Fact]
    public void TimersFireInDeadlineOrderOnTheInjectedClock()
    {
        var clock = new VirtualTimeProvider();
        var s = new Scheduler(clock);
        var order = new List<int>();
        var handles = new TaskHandle[5];
        int[] delaysMs = [50, 10, 30, 10, 40];
        for (int i = 0; i < 5; i++)
        {
            int id = i;
            handles[i] = s.Insert(new Counter { OnRun = () => order.Add(id) });
            s.WakeAfter(handles[i], TimeSpan.FromMilliseconds(delaysMs[i]));
        }
        Assert.Equal(0, s.FireTimers());
        clock.Advance(TimeSpan.FromMilliseconds(9));
        Assert.Equal(0, s.FireTimers());
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, s.FireTimers());
        s.RunReady();
        foreach (int step in new[] { 20, 10, 10 })
        {
            clock.Advance(TimeSpan.FromMilliseconds(step));
            Assert.Equal(1, s.FireTimers());
            s.RunReady();
        }
        Assert.Equal([1, 3, 2, 4, 0], order);
        Assert.False(s.TryGetNextDeadline(out _));
    }

    [Fact]
    public void DelayOnVirtualClockCompletesWithoutSleeping()
    {
        var clock = new VirtualTimeProvider();
        using var libos = LibOS.Create("catloop", time: clock);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        int steps = 0;
        libos.Run(Body);
        Assert.Equal(3, steps);
        Assert.Equal(TimeSpan.FromSeconds(3600 + 2), clock.Elapsed);
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(5));

        async ValueTask Body()
        {
            await libos.Delay(TimeSpan.FromHours(1));
            steps++;
            await libos.Delay(TimeSpan.FromSeconds(2));
            steps++;
            await libos.Yield();
            steps++;
        }
    }

    [Fact]
    public void SpawnedCoroutinesInterleave()
    {
        using var libos = LibOS.Create("catloop", time: new VirtualTimeProvider());
        var trace = new List<string>();
        int done = 0;
        libos.Spawn(() => Worker("a"));
        libos.Spawn(() => Worker("b"));
        Assert.True(libos.RunUntil(() => done == 2));
        Assert.Equal(["a0", "b0", "a1", "b1", "a2", "b2"], trace);

        async ValueTask Worker(string name)
        {
            for (int i = 0; i < 3; i++)
            {
                trace.Add(name + i);
                await libos.Yield();
            }
            done++;
        }
    }

    [Fact]
    public void CoroutineFaultIsRecordedNotThrown()
    {
        using var libos = LibOS.Create("catloop", time: new VirtualTimeProvider());
        int before = libos.Scheduler.Count;
        libos.Spawn(async () =>
        {
            await libos.Yield();
            throw new InvalidOperationException("boom");
        });
        bool finished = libos.RunUntil(() => libos.Faults.Count > 0, TimeSpan.FromSeconds(10));
        Assert.True(finished, $"faults: {libos.Faults.Count}, clock {libos.Time.GetUtcNow()}");
        Assert.Single(libos.Faults);
        Assert.IsType<InvalidOperationException>(libos.Faults[0]);
        // The coroutine left the scheduler; only the pooled delay source behind Yield stays registered.
        Assert.Equal(before + 1, libos.Scheduler.Count);
    }
}

public class AsyncSignalTests
{
    [Fact]
    public void SetWakesTheWaiterAndTimeoutsUseTheLibOSClock()
    {
        var clock = new VirtualTimeProvider();
        using var libos = LibOS.Create("catloop", time: clock);
        var signal = new AsyncSignal(libos);
        var results = new List<(bool, TimeSpan)>();
        libos.Run(async () =>
        {
            libos.Spawn(async () =>
            {
                await libos.Delay(TimeSpan.FromSeconds(1));
                signal.Set();
            });
            results.Add((await signal.WaitAsync(TimeSpan.FromSeconds(5)), clock.Elapsed));
            results.Add((await signal.WaitAsync(TimeSpan.FromSeconds(5)), clock.Elapsed));
            signal.Set();
            results.Add((await signal.WaitAsync(), clock.Elapsed)); // a Set before the wait is not lost
        });
        Assert.Equal([(true, TimeSpan.FromSeconds(1)), (false, TimeSpan.FromSeconds(6)), (true, TimeSpan.FromSeconds(6))], results);
    }
}
