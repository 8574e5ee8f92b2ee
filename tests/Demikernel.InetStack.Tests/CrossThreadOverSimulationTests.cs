using System.Diagnostics;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;
using static Demikernel.InetStack.Tests.TcpPair;

namespace Demikernel.InetStack.Tests;

/// <summary>Other threads reaching a libOS whose transport is InetStack on the simulated network.</summary>
public class CrossThreadOverSimulationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public void AWakeBeforeTheBlockEndsIt()
    {
        var net = new SimulatedNetwork(new VirtualTimeProvider(), seed: 1);
        var port = net.AddPort(MacAddress.Parse(MacA));
        Assert.Throws<SimulationStalledException>(() => port.Block(null)); // nothing in flight, no timer anywhere
        port.Wake();
        port.Block(null); // the wake that came first ends it at once
        Assert.Throws<SimulationStalledException>(() => port.Block(null)); // and it was used up
    }

    [Fact]
    public void AWakeFromAnotherThreadEndsABlockWhileTheWorldRunsOn()
    {
        using var sim = new SimHarness();
        var ticker = sim.AddHost(IpA, MacA);
        var sleeper = sim.AddHost(IpB, MacB);
        var wall = Stopwatch.StartNew();
        // Another host with a timer every millisecond: the sleeper's block runs that world and never runs out of events
        // (until the real-time limit, when it stalls and the test fails instead of hanging).
        ticker.LibOS.Spawn(async () =>
        {
            while (wall.Elapsed < Limit) await ticker.LibOS.Delay(TimeSpan.FromMilliseconds(1));
        });
        var waker = new Thread(() =>
        {
            Thread.Sleep(50);
            sleeper.Port.Wake();
        });
        waker.Start();
        sleeper.Port.Block(null);
        waker.Join();
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(1), $"the block ended after {wall.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(sim.Clock.Elapsed > TimeSpan.Zero); // the world did run meanwhile
    }

    [Fact]
    public void AnnouncedExternalWorkHoldsTheSimulatedClockUntilItEnds()
    {
        using var p = new TcpPair();
        var (client, server) = p.Connect();
        var a = p.A.LibOS;
        long start = p.Clock.GetTimestamp();

        bool popped = false;
        string text = "";
        a.Spawn(async () =>
        {
            var r = await a.PopAsync(client);
            text = r.Sga.AsText();
            a.SgaFree(r.Sga);
            popped = true;
        });
        bool timerFired = false;
        a.Spawn(async () =>
        {
            await a.Delay(TimeSpan.FromSeconds(1));
            timerFired = true;
        });

        // B sends now: the segment is 50 µs in flight when A goes idle with external work announced.
        var sga = p.B.LibOS.Bytes("x"u8);
        Assert.Equal(0, p.B.LibOS.Push(server, sga, out _));
        p.B.LibOS.SgaFree(sga);

        a.BeginExternalWork();
        long resultAt = -1;
        bool poppedBeforeResult = true, timerBeforeResult = true, posted = false;
        var worker = new Thread(() =>
        {
            Thread.Sleep(100);
            a.Post(() =>
            {
                resultAt = p.Clock.GetTimestamp();
                poppedBeforeResult = popped;
                timerBeforeResult = timerFired;
                posted = true;
            });
            a.EndExternalWork();
        });
        worker.Start();
        var wall = Stopwatch.StartNew();
        a.RunUntil(() => posted || wall.Elapsed > Limit); // no virtual deadline: it would be jumped to
        Assert.True(posted, "the post never ran");
        Assert.Equal(start, resultAt);
        Assert.False(poppedBeforeResult);
        Assert.False(timerBeforeResult);
        worker.Join();

        // The work has ended: the clock moves again, the segment arrives, the timer fires.
        Assert.True(a.RunUntil(() => popped && timerFired, TimeSpan.FromSeconds(5)));
        Assert.Equal("x", text);
        Assert.True(p.Clock.GetTimestamp() > start);
    }
}
