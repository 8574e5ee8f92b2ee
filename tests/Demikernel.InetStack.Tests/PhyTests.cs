using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

public class SimulatedNetworkTests
{
    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly MacAddress MacC = MacAddress.Parse("02:00:00:00:00:0c");

    private static byte[] Frame(MacAddress to, MacAddress from, int length, int tag)
    {
        var frame = new byte[length];
        new EthernetRepr(from, to, EtherType.Ipv4).Emit(frame);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), tag);
        return frame;
    }

    private static List<byte[]> Drain(SimulatedPort port, BufferPool pool)
    {
        var result = new List<byte[]>();
        var batch = new DemiBuffer?[8];
        int n;
        while ((n = port.Receive(pool, batch)) > 0)
            for (int i = 0; i < n; i++)
            {
                result.Add(batch[i]!.Span.ToArray());
                pool.Discard(batch[i]!);
            }
        return result;
    }

    [Fact]
    public void FrameArrivesAfterLatencyWithHeadroom()
    {
        var clock = new VirtualTimeProvider();
        var net = new SimulatedNetwork(clock, seed: 1, new LinkOptions { Latency = TimeSpan.FromMicroseconds(50) });
        var a = net.AddPort(MacA);
        var b = net.AddPort(MacB);
        var pool = new BufferPool();
        var frame = Frame(MacB, MacA, 60, 7);
        Assert.True(a.Transmit(frame));
        net.RunFor(TimeSpan.FromMicroseconds(49));
        Assert.Empty(Drain(b, pool));
        net.RunFor(TimeSpan.FromMicroseconds(1));
        var batch = new DemiBuffer?[4];
        Assert.Equal(1, b.Receive(pool, batch));
        Assert.Equal(frame, batch[0]!.Span.ToArray());
        Assert.Equal(pool.Headroom, batch[0]!.Offset); // room to prepend headers in place
        Assert.True(batch[0]!.TryPrepend(20));
        Assert.Empty(Drain(a, pool)); // unicast does not echo back
    }

    [Fact]
    public void BroadcastReachesEveryOtherPort()
    {
        var net = new SimulatedNetwork(new VirtualTimeProvider(), seed: 1, LinkOptions.Ideal);
        var a = net.AddPort(MacA);
        var b = net.AddPort(MacB);
        var c = net.AddPort(MacC);
        var pool = new BufferPool();
        a.Transmit(Frame(MacAddress.Broadcast, MacA, 60, 1));
        net.RunFor(TimeSpan.Zero);
        Assert.Single(Drain(b, pool));
        Assert.Single(Drain(c, pool));
        Assert.Empty(Drain(a, pool));
    }

    [Fact]
    public void BandwidthSerialisesAndQueueTailDrops()
    {
        var clock = new VirtualTimeProvider();
        var net = new SimulatedNetwork(clock, seed: 1, new LinkOptions { Latency = TimeSpan.Zero, Bandwidth = 1_000_000, QueueLength = 10 });
        var a = net.AddPort(MacA);
        var b = net.AddPort(MacB);
        var pool = new BufferPool();
        for (int i = 0; i < 20; i++) a.Transmit(Frame(MacB, MacA, 1000 - 24, i)); // 1000 bytes on the wire: 8 ms each
        Assert.Equal(10, net.Stats.QueueDrops);
        net.RunFor(TimeSpan.FromMilliseconds(8 * 5));
        Assert.Equal(5, Drain(b, pool).Count);
        net.RunFor(TimeSpan.FromMilliseconds(8 * 5));
        Assert.Equal(5, Drain(b, pool).Count);
    }

    private static (string Hash, string Stats) RunChaos(int seed)
    {
        var clock = new VirtualTimeProvider();
        var net = new SimulatedNetwork(clock, seed, new LinkOptions
        {
            Latency = TimeSpan.FromMicroseconds(20), Bandwidth = 1_000_000_000, Loss = 0.05, Duplication = 0.05,
            Reordering = 0.1, Corruption = 0.05,
        });
        var a = net.AddPort(MacA);
        var b = net.AddPort(MacB);
        var pool = new BufferPool();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < 1000; i++)
        {
            a.Transmit(Frame(MacB, MacA, 64 + i % 200, i));
            net.RunFor(TimeSpan.FromMicroseconds(1));
            foreach (var f in Drain(b, pool)) hash.AppendData(f);
        }
        net.RunFor(TimeSpan.FromMilliseconds(1));
        foreach (var f in Drain(b, pool)) hash.AppendData(f);
        return (Convert.ToHexString(hash.GetHashAndReset()), net.Stats.ToString());
    }

    [Fact]
    public void SameSeedSameRun()
    {
        var first = RunChaos(42);
        var again = RunChaos(42);
        var other = RunChaos(43);
        Assert.Equal(first, again);
        Assert.NotEqual(first.Hash, other.Hash);
        Assert.Contains("reordered", first.Stats);
    }

    [Fact]
    public void ReorderingLetsLaterFramesPass()
    {
        var net = new SimulatedNetwork(new VirtualTimeProvider(), seed: 3, new LinkOptions { Latency = TimeSpan.FromMicroseconds(10), Reordering = 0.3 });
        var a = net.AddPort(MacA);
        var b = net.AddPort(MacB);
        for (int i = 0; i < 200; i++) a.Transmit(Frame(MacB, MacA, 60, i));
        net.RunFor(TimeSpan.FromMilliseconds(1));
        var tags = Drain(b, new BufferPool()).Select(f => BinaryPrimitives.ReadInt32BigEndian(f.AsSpan(14))).ToList();
        Assert.Equal(200, tags.Count);
        Assert.NotEqual(Enumerable.Range(0, 200), tags);
        Assert.Equal(Enumerable.Range(0, 200), tags.Order());
    }

    [Fact]
    public void DownLinkDropsEverything()
    {
        var net = new SimulatedNetwork(new VirtualTimeProvider(), seed: 3);
        var a = net.AddPort(MacA);
        var b = net.AddPort(MacB);
        net.SetLink(a, b, new LinkOptions { Down = true });
        a.Transmit(Frame(MacB, MacA, 60, 1));
        b.Transmit(Frame(MacA, MacB, 60, 2));
        net.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Empty(Drain(b, new BufferPool()));
        Assert.Single(Drain(a, new BufferPool()));
    }
}

public class PhyDecoratorTests
{
    private sealed class ListPhy : IPhysicalLayer
    {
        public readonly List<byte[]> Sent = [];
        public readonly Queue<byte[]> Incoming = new();
        public PhyCapabilities Capabilities { get; } = new();
        public bool Transmit(ReadOnlySpan<byte> frame) { Sent.Add(frame.ToArray()); return true; }
        public int Receive(BufferPool pool, Span<DemiBuffer?> frames)
        {
            int n = 0;
            while (n < frames.Length && Incoming.TryDequeue(out var f))
            {
                var b = pool.Rent(f.Length);
                f.CopyTo(b.Span);
                frames[n++] = b;
            }
            return n;
        }
        public void Block(TimeSpan? timeout) { }
        public void Wake() { } // Block never waits
        public void Dispose() { }
    }

    [Fact]
    public void PcapFileHeaderAndRecordBytes()
    {
        var clock = new VirtualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        clock.Advance(TimeSpan.FromMicroseconds(1234567));
        var inner = new ListPhy();
        var stream = new MemoryStream();
        using (var pcap = new PcapWriter(inner, stream, clock, ownsStream: false))
        {
            pcap.Transmit(Golden.ArpRequest);
            inner.Incoming.Enqueue(Golden.ArpReply);
            var batch = new DemiBuffer?[2];
            Assert.Equal(1, pcap.Receive(new BufferPool(), batch));
            Assert.Equal(2, pcap.Records);
        }
        var bytes = stream.ToArray();
        Assert.Equal(Golden.Hex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"), bytes[..24]);
        var record = bytes.AsSpan(24);
        Assert.Equal(1_700_000_001u, BinaryPrimitives.ReadUInt32LittleEndian(record));
        Assert.Equal(234_567u, BinaryPrimitives.ReadUInt32LittleEndian(record[4..]));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(record[8..]));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(record[12..]));
        Assert.Equal(Golden.ArpRequest, record.Slice(16, 42).ToArray());
        Assert.Equal(Golden.ArpReply, record.Slice(16 + 42 + 16, 42).ToArray());
        Assert.Equal(24 + 2 * (16 + 42), bytes.Length);
    }

    [Fact]
    public void PcapOpensInTcpdump()
    {
        const string tcpdump = "/usr/bin/tcpdump";
        if (!File.Exists(tcpdump)) return; // optional: apt-get install -y tcpdump
        var path = Path.Combine(Path.GetTempPath(), $"inetstack-{Environment.ProcessId}.pcap");
        try
        {
            using (var pcap = new PcapWriter(new ListPhy(), File.Create(path), new VirtualTimeProvider()))
                foreach (var frame in Golden.All) pcap.Transmit(frame);
            var psi = new ProcessStartInfo(tcpdump, $"-nn -r {path}") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(psi)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("Request who-has 10.99.0.2 tell 10.99.0.1", output);
            Assert.Contains("ICMP echo reply, id 1214, seq 1", output);
            Assert.Contains("10.99.0.1.40750 > 10.99.0.2.6379: Flags [S]", output);
            Assert.Equal(Golden.All.Count(), output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TracerDescribesFrames()
    {
        var lines = new List<string>();
        var tracer = new Tracer(new ListPhy(), lines.Add, "A");
        foreach (var frame in Golden.All) tracer.Transmit(frame);
        Assert.Equal("A tx 02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff ARP who-has 10.99.0.2 tell 10.99.0.1", lines[0]);
        Assert.Equal("A tx 02:00:00:00:00:0b > 02:00:00:00:00:0a ARP 10.99.0.2 is-at 02:00:00:00:00:0b", lines[1]);
        Assert.Equal("A tx 10.99.0.1 > 10.99.0.2 ICMP echo request id 1214 seq 1", lines[2]);
        Assert.Equal("A tx 10.99.0.1:5000 > 10.99.0.2:7000 UDP len 5", lines[4]);
        Assert.StartsWith("A tx 10.99.0.1:40750 > 10.99.0.2:6379 TCP [Syn] seq 514772081", lines[5]);
        Assert.Equal("runt frame (3 bytes)", Tracer.Describe(new byte[3]));
    }

    [Fact]
    public void FaultInjectorDropsByPredicateAndBySeed()
    {
        var inner = new ListPhy();
        var faults = new FaultInjector(inner, new FaultOptions { DropWhen = f => f.Length > 12 && f[12] == 0x08 && f[13] == 0x06 }, seed: 9);
        faults.Transmit(Golden.ArpRequest);
        faults.Transmit(Golden.EchoRequest);
        Assert.Single(inner.Sent);
        Assert.Equal(1, faults.Dropped);

        faults.Options = new FaultOptions { ReceiveLoss = 0.5 };
        var pool = new BufferPool();
        for (int i = 0; i < 100; i++) inner.Incoming.Enqueue(Golden.UdpHello);
        int received = 0;
        var batch = new DemiBuffer?[16];
        int n;
        while (inner.Incoming.Count > 0)
        {
            n = faults.Receive(pool, batch);
            received += n;
            for (int i = 0; i < n; i++) pool.Discard(batch[i]!);
        }
        Assert.InRange(received, 30, 70);
        Assert.Equal(0, pool.Outstanding); // dropped frames went back to the pool
    }
}
