using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>
/// A device that lends the stack its memory to build frames in (as catnip lends an mbuf): TCP must build every segment
/// there and commit it, and a frame that waits for ARP must be copied before the ARP request reuses that memory.
/// </summary>
public class ReservedTransmitTests
{
    /// <summary>One frame buffer, as a DPDK spare mbuf: reservations and copied transmits both use it.</summary>
    private sealed class LendingDevice(IPhysicalLayer inner) : PhysicalLayerDecorator(inner), IPhysicalLayer
    {
        private readonly byte[] _frame = new byte[2048];

        public int Reservations { get; private set; }
        public int Commits { get; private set; }
        public int Copies { get; private set; }

        public override bool Transmit(ReadOnlySpan<byte> frame)
        {
            Copies++;
            frame.CopyTo(_frame);
            return Inner.Transmit(_frame.AsSpan(0, frame.Length));
        }

        public Span<byte> TryReserveTransmit(int length)
        {
            Reservations++;
            _frame.AsSpan().Fill(0xEE); // whatever the stack does not write would go out as this
            return _frame.AsSpan(0, length);
        }

        public bool CommitTransmit(int length)
        {
            Commits++;
            return Inner.Transmit(_frame.AsSpan(0, length));
        }
    }

    [Fact]
    public void TcpBuildsSegmentsInDeviceMemoryAndArpKeepsAWaitingFrameIntact()
    {
        LendingDevice? lending = null;
        using var sim = new SimHarness();
        var secret = (InetStackOptions o) => o with { Tcp = o.Tcp with { IsnSecret = new byte[16] } };
        var a = sim.AddHost("10.77.0.1", "02:00:00:00:00:01", secret, wrap: phy => lending = new LendingDevice(phy));
        var b = sim.AddHost("10.77.0.2", "02:00:00:00:00:02", secret);
        // A's ARP cache is empty: its SYN is built in the lent buffer, then the ARP request goes out through it.
        var (client, server) = SimHarness.Connect(a, b);

        var data = new byte[200_000];
        new Random(7).NextBytes(data);
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Bytes(data), out var push));
        a.LibOS.WaitOk(push);
        var received = new List<byte>();
        while (received.Count < data.Length)
        {
            Assert.Equal(0, b.LibOS.Pop(server, out var pop));
            var r = b.LibOS.WaitOk(pop);
            received.AddRange(r.Sga.ToArray());
            b.LibOS.SgaFree(r.Sga);
        }
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.NotNull(lending);
        Assert.True(lending.Commits > 100, $"{lending.Commits} segments committed");
        Assert.Equal(lending.Reservations, lending.Commits + 1); // the SYN's first reservation waited for ARP
        Assert.Equal(2, lending.Copies); // the ARP request, then the SYN from the copy ARP kept
        Assert.Equal(0, a.Interface.Tcp.Stats.Retransmissions);
        Assert.Equal(0, b.Interface.Stats.DropsByError.Sum());
    }
}
