using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// Coroutines and posted callbacks run with no SynchronizationContext whatever the host thread has installed, and every
/// call that runs passes (Wait, WaitAny, WaitNext, RunUntil, Run, Poll) leaves the host's context in place when it
/// returns, also by an exception. The run loop takes the context off only around the application code it runs, so
/// what runs between passes (a RunUntil condition) still sees the host's.
/// </summary>
public class RunLoopContextTests
{
    /// <summary>A host context (a UI's, a test runner's) that counts what would have been posted to it.</summary>
    private sealed class HostContext : SynchronizationContext
    {
        public int Posts;

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref Posts);
            ThreadPool.QueueUserWorkItem(_ => d(state));
        }

        public override void Send(SendOrPostCallback d, object? state) => throw new InvalidOperationException("Send");
    }

    private static void WithHostContext(Action<HostContext> body)
    {
        var previous = SynchronizationContext.Current;
        var host = new HostContext();
        SynchronizationContext.SetSynchronizationContext(host);
        try
        {
            body(host);
            Assert.Same(host, SynchronizationContext.Current);
            Assert.Equal(0, host.Posts);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    /// <summary>A coroutine that records the context it sees before and after each of a few yields.</summary>
    private static Func<ValueTask> Recorder(DemiLibOS libos, List<SynchronizationContext?> seen, int yields) => async () =>
    {
        seen.Add(SynchronizationContext.Current);
        for (int i = 0; i < yields; i++)
        {
            await libos.Yield();
            seen.Add(SynchronizationContext.Current);
        }
    };

    [Fact]
    public void RunUntilRunsCoroutinesWithoutTheHostContext() => WithHostContext(host =>
    {
        using var libos = LibOS.Create("catloop", time: new VirtualTimeProvider());
        var seen = new List<SynchronizationContext?>();
        libos.Spawn(Recorder(libos, seen, 3));
        var inDone = new List<SynchronizationContext?>();
        Assert.True(libos.RunUntil(() =>
        {
            inDone.Add(SynchronizationContext.Current);
            return seen.Count == 4;
        }, TimeSpan.FromSeconds(10)));
        Assert.Equal(4, seen.Count);
        Assert.All(seen, Assert.Null);
        Assert.All(inDone, c => Assert.Same(host, c));
    });

    [Fact]
    public void WaitsAndPollRunCoroutinesWithoutTheHostContext() => WithHostContext(host =>
    {
        using var libos = LibOS.Create("catloop", time: new VirtualTimeProvider());
        var seen = new List<SynchronizationContext?>();
        Assert.Equal(0, libos.Queue(out var qd));
        libos.Spawn(async () =>
        {
            seen.Add(SynchronizationContext.Current);
            var sga = libos.SgaAlloc(1);
            var pushed = await libos.PushAsync(qd, sga);
            libos.SgaFree(sga);
            seen.Add(SynchronizationContext.Current);
            Assert.Equal(0, pushed.Ret);
        });
        Assert.Equal(0, libos.Pop(qd, out var pop));
        Assert.Equal(0, libos.Wait(pop, out var popped, TimeSpan.FromSeconds(10)));
        Assert.Same(host, SynchronizationContext.Current);
        libos.SgaFree(popped.Sga);

        libos.Spawn(Recorder(libos, seen, 1));
        Assert.Equal(0, libos.Pop(qd, out var never));
        Assert.Equal(Errno.ETIMEDOUT, libos.WaitAny([never], out _, out _, TimeSpan.FromMilliseconds(5)));
        Assert.Same(host, SynchronizationContext.Current);

        libos.Spawn(Recorder(libos, seen, 1));
        Span<QResult> results = new QResult[1];
        Assert.Equal(Errno.ETIMEDOUT, libos.WaitNext(results, out _, TimeSpan.FromMilliseconds(5)));
        Assert.Same(host, SynchronizationContext.Current);

        libos.Spawn(Recorder(libos, seen, 0));
        Assert.True(libos.Poll());
        Assert.Same(host, SynchronizationContext.Current);

        libos.Post(() => seen.Add(SynchronizationContext.Current));
        libos.Post(() => throw new InvalidOperationException("posted"));
        Assert.True(libos.Poll());
        Assert.Same(host, SynchronizationContext.Current);
        Assert.Single(libos.Faults);
        Assert.Equal(8, seen.Count);
        Assert.All(seen, Assert.Null);
    });

    [Fact]
    public void RunGivesTheHostContextBackAfterAnException() => WithHostContext(host =>
    {
        using var libos = LibOS.Create("catloop", time: new VirtualTimeProvider());
        SynchronizationContext? inMain = host;
        var e = Assert.Throws<InvalidOperationException>(() => libos.Run(async () =>
        {
            await libos.Yield();
            inMain = SynchronizationContext.Current;
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("boom", e.Message);
        Assert.Null(inMain);
        Assert.Equal(42, libos.Run(async () =>
        {
            await libos.Yield();
            return SynchronizationContext.Current is null ? 42 : 0;
        }));
    });
}
