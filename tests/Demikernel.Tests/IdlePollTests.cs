using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Demikernel.Catnap;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// <see cref="LibOSOptions.IdlePollInterval"/>: after the spin budget, an idle libOS sleeps an interval between polls
/// for the idle-poll window, and only then blocks in the transport. catnap over loopback with a kernel client, so
/// arrivals are real; every wait is bounded (10 s).
/// </summary>
public class IdlePollTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static DemiLibOS Create(TimeSpan interval, TimeSpan window) => new(new CatnapTransport(),
        new LibOSOptions { SpinBudget = TimeSpan.Zero, IdlePollInterval = interval, IdlePollWindow = window });

    /// <summary>One kernel client on a loopback listener, accepted.</summary>
    private static (Socket Client, QDesc Accepted) Accept(DemiLibOS libos)
    {
        var (clients, accepted) = CatnapDirectReadTests.Accept(libos, 1);
        return (clients[0], accepted[0]);
    }

    /// <summary>A kernel client accepted, and a pop waiting on its connection.</summary>
    private static (Socket Client, QToken Pop) AcceptAndPop(DemiLibOS libos)
    {
        var (client, s) = Accept(libos);
        Assert.Equal(0, libos.Pop(s, out var qt));
        return (client, qt);
    }

    [Fact]
    public void RequestsArrivingWhileTheLibOSSleepsBetweenPollsAreServed()
    {
        using var libos = Create(TimeSpan.FromMicroseconds(50), TimeSpan.FromSeconds(60));
        var (client, s) = Accept(libos);
        using var peer = client;
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(0, libos.Pop(s, out var qt));
            string request = $"ping {i}";
            client.Send(Encoding.ASCII.GetBytes(request));
            Assert.Equal(0, libos.Wait(qt, out var r, Long));
            Assert.Equal(request, Encoding.ASCII.GetString(r.Sga.ToArray()));
        }
    }

    [Fact]
    public void AnIdleLibOSPollsThroughTheWindowAndThenBlocks()
    {
        using var libos = Create(TimeSpan.FromMicroseconds(100), TimeSpan.FromMilliseconds(400));
        var (client, qt) = AcceptAndPop(libos);
        using var peer = client;
        bool blockedEarly = false, blockedLater = false;
        var watcher = new Thread(() =>
        {
            var wall = Stopwatch.StartNew();
            while (wall.Elapsed < TimeSpan.FromMilliseconds(150))
            {
                blockedEarly |= libos.IsBlocked;
                Thread.Sleep(1);
            }
            while (!libos.IsBlocked && wall.Elapsed < Long) Thread.Sleep(1);
            blockedLater = libos.IsBlocked;
            client.Send("wake"u8.ToArray());
        });
        watcher.Start();
        Assert.Equal(0, libos.Wait(qt, out var r, Long));
        watcher.Join();
        Assert.False(blockedEarly, "the libOS blocked inside its idle-poll window");
        Assert.True(blockedLater, "the libOS never blocked after its idle-poll window");
        Assert.Equal("wake", Encoding.ASCII.GetString(r.Sga.ToArray()));
    }

    [Fact]
    public void ASleepBetweenPollsEndsAtTheCallersDeadline()
    {
        // An interval far longer than the wait: the sleep must be cut to the deadline, not last the interval.
        using var libos = Create(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));
        var (client, qt) = AcceptAndPop(libos);
        using var peer = client;
        var wall = Stopwatch.StartNew();
        Assert.Equal(Errno.ETIMEDOUT, libos.Wait(qt, out _, TimeSpan.FromMilliseconds(20)));
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(2), $"a 20 ms wait took {wall.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void NegativeTimesAreRefused()
    {
        using var transport = new CatnapTransport();
        Assert.Throws<ArgumentOutOfRangeException>(() => new DemiLibOS(transport, new LibOSOptions { IdlePollInterval = TimeSpan.FromMicroseconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DemiLibOS(transport, new LibOSOptions { IdlePollWindow = TimeSpan.FromMilliseconds(-2) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DemiLibOS(transport, new LibOSOptions { SpinBudget = TimeSpan.FromMicroseconds(-1) }));
    }
}
