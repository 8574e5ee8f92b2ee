using Demikernel.Examples.Echo;
using Demikernel.InetStack;
using Demikernel.Runtime;
using Xunit.Abstractions;

namespace Demikernel.Catpowder.Tests;

/// <summary>
/// catpowder's AF_XDP mode (<c>raw_socket.mode: af_xdp</c>) against Linux's TCP across a veth pair: bulk echo both ways
/// intact, libxdp's program attached while the libOS runs and gone after, and the errors a misconfiguration gives.
/// (redis-cli and redis-benchmark run in both modes in <see cref="RedisInteropTests"/>.)
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed class XdpInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    [Fact]
    public void EchoServerMovesFiftyMegabytesEachWayIntactAndDetachesItsProgram()
    {
        using var pair = new VethPair();
        pair.PrepareFor("af_xdp");
        XdpStats? stats = null;
        bool zeroCopy = true;
        string? attached = null;
        using (var ours = NamespaceThread.StartAndWait(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config(mode: "af_xdp"));
            var device = ((DeviceTransport<XdpPhysicalLayer>)libos.Transport).Device;
            zeroCopy = device.ZeroCopy;
            var echo = new EchoServer(libos);
            int rc = echo.Listen(IPv4Endpoint.Parse($"{VethPair.OurAddress}:7000"), out _);
            if (rc != 0) throw new InvalidOperationException($"listen: {Errno.Name(rc)}");
            t.Ready();
            t.RunUntilStopped(libos);
            stats = device.Stats;
        }, Short))
        {
            attached = Tool.Check(Short, "ip", "-n", pair.Ours, "link", "show", "dev", pair.Ours).Stdout;
            var r = pair.Linux(TimeSpan.FromSeconds(120), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "50000000", "90");
            output.WriteLine(r.Output);
            ours.Stop();
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains("received=50000000", r.Stdout);
            Assert.Contains("intact=True", r.Stdout);
        }
        output.WriteLine($"xdp: rx={stats!.FramesReceived} tx={stats.FramesTransmitted} kicks={stats.TransmitKicks} tx-failures={stats.TransmitFailures} dropped={stats.Dropped} zero-copy={zeroCopy} " +
            $"lent={stats.RxFramesLent} copied={stats.RxFramesCopied} fill-submissions={stats.FillSubmissions}");
        Assert.True(stats.RxFramesLent > stats.FramesReceived / 2, "received frames go up the stack in their UMEM frames");
        Assert.True(stats.FillSubmissions < stats.RxFramesLent, "returned frames go back to the fill ring in batches");
        Assert.Contains("prog/xdp", attached);
        Assert.False(zeroCopy); // veth has no zero-copy AF_XDP: auto binds in copy mode
        Assert.True(stats.TransmitKicks < stats.FramesTransmitted, "transmit kicks are batched");
        var after = Tool.Check(Short, "ip", "-n", pair.Ours, "link", "show", "dev", pair.Ours).Stdout;
        Assert.DoesNotContain("prog/xdp", after);
    }

    /// <summary>
    /// The check before blocking (a frame already waiting: do not sleep) must leave the frame for the next receive. It
    /// once consumed the rx entry, so that frame was lost and the kernel, seeing the consumer lag, reported the socket
    /// readable forever.
    /// </summary>
    [Fact]
    public void AFrameSeenBeforeBlockingIsStillReceived()
    {
        using var pair = new VethPair();
        pair.PrepareFor("af_xdp");
        int received = -1;
        using var ours = NamespaceThread.StartAndWait(pair.Ours, t =>
        {
            using var device = XdpPhysicalLayer.Open(new XdpOptions { InterfaceName = pair.Ours });
            var pool = new BufferPool();
            t.Ready();
            device.Block(TimeSpan.FromSeconds(5)); // wakes when Linux's ARP request for us arrives
            device.Block(TimeSpan.Zero);           // a frame is waiting: returns at once, leaving it in the ring
            var frames = new DemiBuffer?[32];
            received = device.Receive(pool, frames);
            for (int i = 0; i < received; i++) pool.Discard(frames[i]!);
        }, Short);
        pair.Linux(Short, "ping", "-c", "1", "-W", "1", VethPair.OurAddress); // nobody answers: only the ARP request matters
        ours.Join(Short);
        Assert.True(received >= 1, $"received {received} frames after the check before blocking");
    }

    /// <summary>
    /// Zero-copy receive: a frame comes up in its own UMEM frame (foreign memory, the XDP headroom in front) and goes back
    /// to the fill ring when released; with <c>ZeroCopyReceive</c> off, or a loan limit of 0, it is copied into a pool
    /// buffer. A frame still held when the device is disposed stays readable (the UMEM stays mapped until it is back).
    /// </summary>
    [Theory]
    [InlineData(true, null)]
    [InlineData(false, null)]
    [InlineData(true, 0)]
    public void ReceivedFramesAreLentFromUmemAndComeBack(bool zeroCopyReceive, int? loanLimit)
    {
        using var pair = new VethPair();
        pair.PrepareFor("af_xdp");
        var seen = new List<string>();
        using var ours = NamespaceThread.StartAndWait(pair.Ours, t =>
        {
            var device = XdpPhysicalLayer.Open(new XdpOptions { InterfaceName = pair.Ours, ZeroCopyReceive = zeroCopyReceive, LoanLimit = loanLimit });
            var pool = new BufferPool();
            t.Ready();
            var frames = new DemiBuffer?[32];
            int received = 0;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (received < 2 && DateTime.UtcNow < until)
            {
                device.Block(TimeSpan.FromMilliseconds(100));
                received += device.Receive(pool, frames.AsSpan(received));
            }
            seen.Add($"received-2={received >= 2} lent-now={device.FramesLent == received}");
            for (int i = 2; i < received; i++) pool.Discard(frames[i]!);
            seen.Add($"foreign={frames[0]!.IsForeign} headroom={frames[0]!.Offset}");
            string before = Convert.ToHexString(frames[1]!.Span);
            pool.Discard(frames[0]!);
            seen.Add($"after-release lent-now={device.FramesLent}");
            device.Dispose(); // frames[1] is still held
            seen.Add($"after-dispose intact={Convert.ToHexString(frames[1]!.Span) == before}");
            pool.Discard(frames[1]!);
            seen.Add($"stats lent={device.Stats.RxFramesLent == received} copied={device.Stats.RxFramesCopied == received}");
        }, Short);
        // ARP requests for our address, one a second (nobody answers them: our side runs no stack here).
        pair.Linux(TimeSpan.FromSeconds(20), "ping", "-c", "3", "-i", "1", "-W", "1", VethPair.OurAddress);
        ours.Join(Short);
        output.WriteLine(string.Join("\n", seen));
        bool lent = zeroCopyReceive && loanLimit != 0;
        Assert.Equal([
            $"received-2=True lent-now={lent}",
            $"foreign={lent} headroom={(lent ? 256 : BufferPool.DefaultHeadroom)}",
            $"after-release lent-now={(lent ? 1 : 0)}",
            "after-dispose intact=True",
            $"stats lent={lent} copied={!lent}",
        ], seen);
    }

    [Fact]
    public void MisconfigurationsNameTheProblem()
    {
        using var pair = new VethPair();
        string? zeroCopy = null, noInterface = null, badMode = null, badBind = null, busy = null;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            zeroCopy = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config(mode: "af_xdp", rawSocketYaml: "xdp_bind: zero_copy"))).Message;
            badMode = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config(mode: "af_xpd"))).Message;
            badBind = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config(mode: "af_xdp", rawSocketYaml: "xdp_bind: fast"))).Message;
            noInterface = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config(mode: "af_xdp",
                environment: name => name == "DEMIKERNEL_LINUX_INTERFACE_NAME" ? "dkcpnosuch0" : null))).Message;
            // One XDP program per interface: a second af_xdp libOS on the same queue is refused while the first runs.
            using var first = LibOS.Create("catpowder", pair.Config(mode: "af_xdp"));
            busy = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config(mode: "af_xdp"))).Message;
        });
        ours.Join(Short);
        output.WriteLine(string.Join("\n", zeroCopy, badMode, badBind, noInterface, busy));
        Assert.Contains("zero copy was asked for", zeroCopy);
        Assert.Contains($"'{pair.Ours}'", zeroCopy);
        Assert.Contains("raw_socket.mode", badMode);
        Assert.Contains("af_packet or af_xdp", badMode);
        Assert.Contains("raw_socket.xdp_bind", badBind);
        Assert.Contains("no network interface 'dkcpnosuch0'", noInterface);
        Assert.Contains("cannot create an AF_XDP socket", busy);
    }
}
