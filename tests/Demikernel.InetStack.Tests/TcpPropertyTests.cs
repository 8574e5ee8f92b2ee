using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>
/// Properties over many seeds: whatever the link does (loss, reordering, duplication, corruption, or all of them), both
/// directions of a connection arrive intact and in order, both ends terminate, and no buffer is leaked.
/// </summary>
public class TcpPropertyTests
{
    public enum Fault { Loss, Reorder, Duplicate, Corrupt, All }

    private static LinkOptions Link(Fault fault) => new()
    {
        Latency = TimeSpan.FromMicroseconds(50),
        Bandwidth = 1_000_000_000,
        Loss = fault is Fault.Loss ? 0.1 : fault is Fault.All ? 0.05 : 0,
        Reordering = fault is Fault.Reorder ? 0.2 : fault is Fault.All ? 0.05 : 0,
        Duplication = fault is Fault.Duplicate ? 0.2 : fault is Fault.All ? 0.01 : 0,
        Corruption = fault is Fault.Corrupt ? 0.05 : fault is Fault.All ? 0.01 : 0,
    };

    [Theory]
    [InlineData(Fault.Loss)]
    [InlineData(Fault.Reorder)]
    [InlineData(Fault.Duplicate)]
    [InlineData(Fault.Corrupt)]
    [InlineData(Fault.All)]
    public void BothDirectionsArriveIntactBothEndsTerminateNothingLeaks(Fault fault)
    {
        for (int seed = 1; seed <= 50; seed++)
        {
            var kind = seed % 2 == 0 ? CongestionControlKind.NewReno : CongestionControlKind.Cubic;
            bool sack = seed % 3 != 0; // a third of the runs without SACK: NewReno's partial-ACK recovery
            string failure = RunOne(seed, fault, kind, sack);
            Assert.True(failure.Length == 0, $"seed {seed}, {fault}, {kind}, SACK {sack}: {failure}");
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameRun()
    {
        var first = Trace(3);
        Assert.Equal(first, Trace(3));
        Assert.NotEqual(first, Trace(4));

        static string Trace(int seed)
        {
            using var p = new TcpPair(seed, Link(Fault.All));
            RunOne(seed, Fault.All, CongestionControlKind.Cubic, true, p);
            return $"{p.Clock.Elapsed.Ticks} {p.Sim.Network.Stats} {p.A.Interface.Tcp.Stats.Retransmissions} {p.B.Interface.Tcp.Stats.Retransmissions}";
        }
    }

    private static string RunOne(int seed, Fault fault, CongestionControlKind kind, bool sack, TcpPair? given = null)
    {
        using var owned = given is null ? new TcpPair(seed, Link(fault), t => t with { CongestionControl = kind, Sack = sack }) : null;
        var p = given ?? owned!;
        var random = new Random(seed);
        var toB = new byte[random.Next(1, 40_000)];
        var toA = new byte[random.Next(1, 40_000)];
        random.NextBytes(toB);
        random.NextBytes(toA);
        var (client, server) = p.Connect();
        int baselineA = p.A.LibOS.Pool.Outstanding, baselineB = p.B.LibOS.Pool.Outstanding;
        var gotA = new MemoryStream();
        var gotB = new MemoryStream();
        string error = "";
        bool aDone = false, bDone = false;

        async ValueTask Write(DemiLibOS libos, QDesc qd, byte[] data)
        {
            // Random-sized pushes, some of them two segments.
            int offset = 0;
            while (offset < data.Length)
            {
                int n = Math.Min(data.Length - offset, random.Next(1, 9000));
                var sga = n > 1 && random.Next(2) == 0 ? libos.SgaAlloc([n / 2, n - n / 2]) : libos.SgaAlloc(n);
                int at = offset;
                for (var b = sga.First; b is not null; b = b.Next)
                {
                    data.AsSpan(at, b.Length).CopyTo(b.Span);
                    at += b.Length;
                }
                var pushed = await libos.PushAsync(qd, sga);
                libos.SgaFree(sga);
                if (!pushed.Succeeded)
                {
                    error += $"push: {pushed.ErrorName}; ";
                    return;
                }
                offset += n;
            }
        }

        async ValueTask<bool> Read(DemiLibOS libos, QDesc qd, MemoryStream into, int expected, bool untilEnd)
        {
            while (untilEnd || into.Length < expected)
            {
                var popped = await libos.PopAsync(qd, random.Next(4) == 0 ? 700 : 0);
                if (!popped.Succeeded)
                {
                    error += $"pop: {popped.ErrorName} after {into.Length} bytes; ";
                    return false;
                }
                if (popped.Sga.IsEmpty) return into.Length == expected || Fail($"end of stream after {into.Length} of {expected} bytes");
                into.Write(popped.Sga.ToArray());
                libos.SgaFree(popped.Sga);
            }
            return true;
        }

        bool Fail(string message)
        {
            error += message + "; ";
            return false;
        }

        // A writes, reads all of B's bytes, then closes; B writes, reads to A's end of stream, then closes.
        p.A.LibOS.Spawn(async () =>
        {
            await Write(p.A.LibOS, client, toB);
            await Read(p.A.LibOS, client, gotA, toA.Length, untilEnd: false);
            p.A.LibOS.Close(client);
            aDone = true;
        });
        p.B.LibOS.Spawn(async () =>
        {
            await Write(p.B.LibOS, server, toA);
            await Read(p.B.LibOS, server, gotB, toB.Length, untilEnd: true);
            p.B.LibOS.Close(server);
            bDone = true;
        });
        bool ended = p.Sim.RunUntil(() => error.Length > 0 ||
            aDone && bDone && p.A.Interface.Tcp.ConnectionCount == 0 && p.B.Interface.Tcp.ConnectionCount == 0, TimeSpan.FromSeconds(600));
        if (error.Length > 0) return error;
        if (!ended)
            return $"did not terminate: A got {gotA.Length}/{toA.Length} (done {aDone}), B got {gotB.Length}/{toB.Length} (done {bDone}), " +
                $"connections {p.A.Interface.Tcp.ConnectionCount}/{p.B.Interface.Tcp.ConnectionCount} at {p.Clock.Elapsed}";
        if (!gotA.ToArray().AsSpan().SequenceEqual(toA)) return "A received different bytes";
        if (!gotB.ToArray().AsSpan().SequenceEqual(toB)) return "B received different bytes";
        if (p.A.LibOS.Faults.Count + p.B.LibOS.Faults.Count > 0) return string.Join("; ", p.A.LibOS.Faults.Concat(p.B.LibOS.Faults));
        if (p.A.LibOS.Pool.Outstanding > baselineA || p.B.LibOS.Pool.Outstanding > baselineB)
            return $"buffers leaked: A {p.A.LibOS.Pool.Outstanding - baselineA}, B {p.B.LibOS.Pool.Outstanding - baselineB}";
        return "";
    }
}
