using Demikernel.InetStack.Phy;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>
/// When a pass's frames reach a batching device (catnip queues them for one tx_burst, catpowder for one kick): a
/// push by the pass's last task goes out at once, with whatever the pass's earlier tasks queued, before that task goes
/// on to its next pop; earlier tasks' frames wait for it, so the batch stays one.
/// </summary>
public class PassTransmitTests
{
    /// <summary>Holds transmitted frames until FlushTransmit, as catnip's device does, and records each batch.</summary>
    private sealed class BatchingDevice(IPhysicalLayer inner) : PhysicalLayerDecorator(inner), IPhysicalLayer
    {
        private readonly List<byte[]> _queued = [];

        public int Queued => _queued.Count;
        public List<int> Batches { get; } = [];

        public override bool Transmit(ReadOnlySpan<byte> frame)
        {
            _queued.Add(frame.ToArray());
            return true;
        }

        public override void FlushTransmit()
        {
            if (_queued.Count == 0) return;
            Batches.Add(_queued.Count);
            foreach (var frame in _queued) Inner.Transmit(frame);
            _queued.Clear();
        }
    }

    /// <summary>Host A (10.77.0.1) on a batching device, host B (10.77.0.2) on a plain simulated port.</summary>
    private static (SimHarness.Host A, SimHarness.Host B, BatchingDevice Device) Hosts(SimHarness sim)
    {
        BatchingDevice? device = null;
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01", wrap: phy => device = new BatchingDevice(phy));
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02");
        Assert.NotNull(device);
        return (a, b, device);
    }

    [Fact]
    public void TheLastTaskOfAPassSendsAtItsPushAndEarlierTasksJoinItsBatch()
    {
        using var sim = new SimHarness();
        var (a, b, device) = Hosts(sim);
        var (first, firstServer) = SimHarness.Connect(a, b, 7000);
        var (second, secondServer) = SimHarness.Connect(a, b, 7001);
        var libos = a.LibOS;
        libos.RunUntil(() => device.Queued == 0, TimeSpan.FromSeconds(1)); // the handshakes' last ACKs are out

        // Two tasks ready in the same pass, each pushing one segment and looking at the device right after.
        int queuedAfterFirst = -1, queuedAfterSecond = -1, batchesBefore = device.Batches.Count;
        int done = 0;
        libos.Spawn(async () =>
        {
            Assert.True((await libos.PushAsync(first, libos.Text("one"))).Succeeded);
            queuedAfterFirst = device.Queued;
            done++;
        });
        libos.Spawn(async () =>
        {
            Assert.True((await libos.PushAsync(second, libos.Text("two"))).Succeeded);
            queuedAfterSecond = device.Queued;
            done++;
        });
        Assert.True(libos.RunUntil(() => done == 2, TimeSpan.FromSeconds(1)));

        Assert.Equal(1, queuedAfterFirst); // the first task's segment waits: another task of the pass may add to it
        Assert.Equal(0, queuedAfterSecond); // the last task's push sent both before the task went on
        Assert.Equal([2], device.Batches.Skip(batchesBefore));
        foreach (var (qd, text) in new[] { (firstServer, "one"), (secondServer, "two") })
        {
            Assert.Equal(0, b.LibOS.Pop(qd, out var pop));
            var r = b.LibOS.WaitOk(pop);
            Assert.Equal(text, r.Sga.AsText());
            b.LibOS.SgaFree(r.Sga);
        }
    }

    [Fact]
    public void APushOutsideAPassWaitsForTheNextPass()
    {
        using var sim = new SimHarness();
        var (a, b, device) = Hosts(sim);
        var (client, server) = SimHarness.Connect(a, b);
        a.LibOS.RunUntil(() => device.Queued == 0, TimeSpan.FromSeconds(1));
        // An application that pushes from its own code, not from a task, then waits: the push queues, the wait's pass sends.
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text("ping"), out var push));
        Assert.Equal(1, device.Queued);
        a.LibOS.WaitOk(push);
        Assert.Equal(0, b.LibOS.Pop(server, out var pop));
        Assert.Equal("ping", b.LibOS.WaitOk(pop).Sga.AsText());
    }
}
