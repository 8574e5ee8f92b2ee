using System.Diagnostics;
using Demikernel.Runtime;

namespace Demikernel.Catpowder.Tests;

/// <summary>Another thread wakes a catpowder libOS that sleeps in ppoll (the device's eventfd).</summary>
[Collection(NetnsCollection.Name)]
public sealed class WakeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public void APostWakesACatpowderLibOSBlockedInPpollWithNoTimers()
    {
        using var pair = new VethPair();
        // Linux's side stays quiet too (no IPv6 router solicitations, MLD reports), so no stray frame ends the block.
        var quiet = pair.Linux(TimeSpan.FromSeconds(20), "sh", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{pair.Theirs}/disable_ipv6");
        Assert.True(quiet.ExitCode == 0, quiet.ToString());
        DemiLibOS? shared = null;
        bool timersPending = true, ran = false, finished = false;
        long ranAt = 0;
        int ranOn = 0, libosThread = 0;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config());
            timersPending = libos.Scheduler.TryGetNextDeadline(out _);
            libosThread = Environment.CurrentManagedThreadId;
            Volatile.Write(ref shared, libos);
            t.Ready();
            finished = libos.RunUntil(() => ran, Limit); // no timer: only the post (or a stray frame) ends the block
        });
        ours.WaitReady(TimeSpan.FromSeconds(15));
        Assert.False(timersPending, "an idle stack has a timer, so the block would end without the wake");
        Thread.Sleep(200); // the spin budget is long over: the libOS sleeps in ppoll
        long postedAt = Stopwatch.GetTimestamp();
        Volatile.Read(ref shared)!.Post(() =>
        {
            ranAt = Stopwatch.GetTimestamp();
            ranOn = Environment.CurrentManagedThreadId;
            ran = true;
        });
        ours.Join(Limit + TimeSpan.FromSeconds(10));
        Assert.True(finished, "the posted callback never ran");
        Assert.Equal(libosThread, ranOn);
        var latency = Stopwatch.GetElapsedTime(postedAt, ranAt);
        Assert.True(latency < TimeSpan.FromSeconds(1), $"woke {latency.TotalMilliseconds:F1} ms after the post");
    }
}
