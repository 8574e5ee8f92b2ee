using System.Text.RegularExpressions;
using Demikernel.Examples.Echo;
using Demikernel.InetStack;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;
using Xunit.Abstractions;

namespace Demikernel.Catpowder.Tests;

/// <summary>The interop tests share the machine's two cores: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NetnsCollection
{
    public const string Name = "network namespaces";
}

/// <summary>
/// Our stack on catpowder in one namespace, Linux's TCP/IP in the other, across a veth pair: ARP both ways, ping, a
/// refused connect, and the echo example moving data intact in both roles. The Linux side keeps its default offloads
/// (partial checksums, TSO super-frames), which catpowder repairs, except where a test turns them off.
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed partial class InteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    private static DeviceTransport<AfPacketPhysicalLayer> Catpowder(DemiLibOS libos) => (DeviceTransport<AfPacketPhysicalLayer>)libos.Transport;

    [Fact]
    public void ArpResolvesBothWays()
    {
        using var pair = new VethPair();
        var linux = Ipv4Address.Parse(VethPair.TheirAddress);
        bool answered = false;
        string? learned = null;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config());
            var iface = Catpowder(libos).Stack.Interface;
            // We speak first: the echo request waits for our ARP request to be answered by Linux.
            iface.SendEchoRequest(linux, 7, 1, "catpowder"u8);
            answered = libos.RunUntil(() => iface.TryGetEchoReply(linux, 7, 1, out _), TimeSpan.FromSeconds(5));
            if (iface.Arp.Cache.TryLookup(linux, libos.Time.GetTimestamp(), out var mac)) learned = mac.ToString();
            t.Ready();
            t.RunUntilStopped(libos); // now answer Linux's requests
        });
        ours.WaitReady(Short);
        Assert.True(answered, "Linux did not answer our ARP request and echo request");
        Assert.Equal(pair.TheirMac, learned);

        // Linux asks: forget what it learned from our request, then make it resolve us.
        pair.Linux(Short, "ip", "neigh", "flush", "dev", pair.Theirs);
        var ping = pair.Linux(Short, "ping", "-c", "1", "-W", "2", VethPair.OurAddress);
        Assert.True(ping.ExitCode == 0, ping.ToString());
        var neigh = pair.Linux(Short, "ip", "neigh", "show", VethPair.OurAddress, "dev", pair.Theirs);
        Assert.Contains($"lladdr {pair.OurMac}", neigh.Stdout);
        Assert.DoesNotContain("FAILED", neigh.Stdout);
        ours.Stop();
    }

    [Fact]
    public void TheConfigurationReachesTheStackAndTheDevice()
    {
        using var pair = new VethPair();
        InetStack.InetStackOptions? options = null;
        InetStack.Phy.PhyCapabilities? device = null;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            // File values, and environment variables over them.
            using var libos = LibOS.Create("catpowder", pair.Config("""
                tcp_socket_options:
                  keepalive:
                    enabled: true
                    time_millis: 30000
                    interval: 5000
                """, key => key switch
            {
                "DEMIKERNEL_CONGESTION_CONTROL" => "newreno",
                "DEMIKERNEL_DELAYED_ACK_US" => "40000",
                "DEMIKERNEL_MSS" => "1400",
                _ => null,
            }));
            options = Catpowder(libos).Stack.Interface.Options;
            device = Catpowder(libos).Device.Capabilities;
        });
        ours.Join(Short);
        Assert.Equal(Ipv4Address.Parse(VethPair.OurAddress), options!.LocalAddress);
        Assert.Equal(MacAddress.Parse(pair.OurMac), options.LinkAddress);
        Assert.Equal(1500, device!.Mtu);
        Assert.Equal(1400, options.Tcp.Mss);
        Assert.Equal(InetStack.Tcp.CongestionControlKind.NewReno, options.Tcp.CongestionControl);
        Assert.Equal(TimeSpan.FromMilliseconds(40), options.Tcp.DelayedAck);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Tcp.KeepAliveIdle);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Tcp.KeepAliveInterval);
    }

    [Fact]
    public void PingFromLinuxIsAnswered()
    {
        using var pair = new VethPair();
        long answered = 0;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config());
            t.Ready();
            t.RunUntilStopped(libos);
            answered = Catpowder(libos).Stack.Interface.Stats.EchoRequestsAnswered;
        });
        ours.WaitReady(Short);
        var ping = pair.Linux(Short, "ping", "-c", "5", "-i", "0.2", "-s", "1000", "-W", "2", VethPair.OurAddress);
        output.WriteLine(ping.Stdout);
        Assert.True(ping.ExitCode == 0, ping.ToString());
        Assert.Contains("5 received", ping.Stdout);
        ours.Stop();
        Assert.Equal(5, answered);
    }

    [Fact]
    public void ConnectToAClosedPortIsRefusedAtOnce()
    {
        using var pair = new VethPair();
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config());
            t.Ready();
            t.RunUntilStopped(libos);
        });
        ours.WaitReady(Short);
        var r = pair.Linux(Short, "python3", "-c", $"""
            import socket, time
            s = socket.socket(); s.settimeout(5); t = time.monotonic()
            try:
                s.connect(("{VethPair.OurAddress}", 7999)); print("connected")
            except OSError as e:
                print("errno", e.errno, "after", round(time.monotonic() - t, 3))
            """);
        output.WriteLine(r.Output);
        var m = RefusedPattern().Match(r.Stdout);
        Assert.True(m.Success, r.ToString());
        Assert.Equal("111", m.Groups[1].Value); // ECONNREFUSED
        Assert.True(double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) < 1.0, r.Stdout);
        ours.Stop();
    }

    [Fact]
    public void EchoServerMovesOneHundredMegabytesEachWayIntact()
    {
        using var pair = new VethPair();
        AfPacketStats? device = null;
        using var ours = StartEchoServer(pair, libos => device = Catpowder(libos).Device.Stats);
        var r = pair.Linux(TimeSpan.FromSeconds(120), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "100000000", "90");
        output.WriteLine(r.Output);
        ours.Stop();
        output.WriteLine(Describe(device!));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("received=100000000", r.Stdout);
        Assert.Contains("intact=True", r.Stdout);
        // Linux's veth sends partial checksums and TSO super-frames by default: catpowder must have repaired them.
        Assert.True(device!.ChecksumsCompleted + device.SuperFrames > 0, Describe(device));
    }

    [Fact]
    public void EchoServerServesTwoHundredLinuxConnectionsAndLeaksNoBuffer()
    {
        using var pair = new VethPair();
        int outstanding = -1, held = -1;
        using var ours = StartEchoServer(pair, libos =>
        {
            // Every connection is closed by now: the only pool buffers out are the device's own receive slots.
            libos.RunUntil(() => false, TimeSpan.FromMilliseconds(200));
            outstanding = libos.Pool.Outstanding;
            held = Catpowder(libos).Device.HeldBuffers;
        });
        var r = pair.Linux(TimeSpan.FromSeconds(90), "python3", "echo_client.py", VethPair.OurAddress, "7000", "200", "50000", "60");
        output.WriteLine(r.Output);
        ours.Stop();
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("done=200 corrupted_or_closed=0", r.Stdout);
        Assert.Equal(held, outstanding);
    }

    [Fact]
    public void TheLibOSRidesOutTheLinkGoingDownAndUp()
    {
        using var pair = new VethPair();
        AfPacketStats? device = null;
        using var ours = StartEchoServer(pair, libos => device = Catpowder(libos).Device.Stats);
        Tool.Check(Short, "ip", "-n", pair.Ours, "link", "set", pair.Ours, "down");
        Thread.Sleep(200);
        Tool.Check(Short, "ip", "-n", pair.Ours, "link", "set", pair.Ours, "up");
        var r = pair.Linux(TimeSpan.FromSeconds(60), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "1000000", "30");
        output.WriteLine(r.Output);
        ours.Stop();
        output.WriteLine(Describe(device!));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(device!.ReceiveErrors > 0, "the socket reports ENETDOWN once when the link goes down");
    }

    [Theory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void AnIdleLibOSSleepsInsteadOfSpinning(string mode)
    {
        using var pair = new VethPair();
        TimeSpan busy = default;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config(mode: mode));
            var before = ThreadCpuTime();
            libos.RunUntil(() => false, TimeSpan.FromSeconds(1));
            busy = ThreadCpuTime() - before;
        });
        ours.Join(Short);
        output.WriteLine($"CPU used by an idle libOS thread in 1 s: {busy.TotalMilliseconds:F0} ms");
        Assert.True(busy < TimeSpan.FromMilliseconds(250), $"{busy.TotalMilliseconds:F0} ms of CPU in 1 s idle");
    }

    [Fact]
    public void TheFacadeRefusesAnInterfaceThatIsDownOrWhereTheKernelHoldsOurAddress()
    {
        using var pair = new VethPair();
        string? down = null, taken = null;
        using var ours = new NamespaceThread(pair.Ours, t =>
        {
            Tool.Check(Short, "ip", "-n", pair.Ours, "link", "set", pair.Ours, "down");
            down = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config())).Message;
            Tool.Check(Short, "ip", "-n", pair.Ours, "link", "set", pair.Ours, "up");
            Tool.Check(Short, "ip", "-n", pair.Ours, "addr", "add", $"{VethPair.OurAddress}/24", "dev", pair.Ours);
            taken = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", pair.Config())).Message;
        });
        ours.Join(Short);
        Assert.Contains($"interface '{pair.Ours}' (raw_socket.linux_interface_name) is down", down);
        Assert.Contains($"the kernel has {VethPair.OurAddress} (demikernel.local_ipv4_addr) on '{pair.Ours}'", taken);
    }

    /// <summary>CPU time (user + system) of the calling thread, from /proc/thread-self/stat.</summary>
    private static TimeSpan ThreadCpuTime()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
    }

    [Fact]
    public void EchoWorksWithLinuxOffloadsOffAndNothingNeedsRepair()
    {
        using var pair = new VethPair();
        var off = pair.Linux(Short, "ethtool", "-K", pair.Theirs, "tx", "off");
        Assert.True(off.ExitCode == 0, off.ToString());
        AfPacketStats? device = null;
        using var ours = StartEchoServer(pair, libos => device = Catpowder(libos).Device.Stats);
        var r = pair.Linux(TimeSpan.FromSeconds(90), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "20000000", "60");
        output.WriteLine(r.Output);
        ours.Stop();
        output.WriteLine(Describe(device!));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("intact=True", r.Stdout);
        Assert.Equal(0, device!.ChecksumsCompleted);
        Assert.Equal(0, device.SuperFrames);
    }

    [Fact]
    public void OurEchoClientVerifiesEveryByteFromALinuxEchoServer()
    {
        using var pair = new VethPair();
        using var server = pair.StartLinux("python3", "echo_server.py", VethPair.TheirAddress, "7100", "90");
        try
        {
            Assert.Equal("listening", server.StandardOutput.ReadLine());
            EchoClient? client = null;
            TimeSpan elapsed = default;
            using var ours = new NamespaceThread(pair.Ours, t =>
            {
                using var libos = LibOS.Create("catpowder", pair.Config());
                client = new EchoClient(libos, IPv4Endpoint.Parse($"{VethPair.TheirAddress}:7100"), connections: 16, bytesPerConnection: 2_000_000, messageSize: 4096);
                elapsed = client.Run(TimeSpan.FromSeconds(60));
            });
            ours.Join(TimeSpan.FromSeconds(90));
            output.WriteLine($"{client!.BytesVerified} bytes verified in {elapsed.TotalSeconds:F2} s, p50={client.Percentile(50):F0} µs p99={client.Percentile(99):F0} µs");
            Assert.Empty(client.Errors);
            Assert.Equal(0, client.Mismatches);
            Assert.Equal(16 * 2_000_000, client.BytesVerified);
        }
        finally
        {
            Tool.Kill(server);
        }
    }

    private static NamespaceThread StartEchoServer(VethPair pair, Action<DemiLibOS>? atEnd = null) =>
        NamespaceThread.StartAndWait(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config());
            var echo = new EchoServer(libos);
            int rc = echo.Listen(IPv4Endpoint.Parse($"{VethPair.OurAddress}:7000"), out _);
            if (rc != 0) throw new InvalidOperationException($"listen: {Errno.Name(rc)}");
            t.Ready();
            t.RunUntilStopped(libos);
            atEnd?.Invoke(libos);
        }, Short);

    private static string Describe(AfPacketStats s) =>
        $"device: rx={s.FramesReceived} tx={s.FramesTransmitted} tx-failures={s.TransmitFailures} checksums-completed={s.ChecksumsCompleted} " +
        $"super-frames={s.SuperFrames} segments={s.SuperFrameSegments} dropped={s.Dropped} outgoing-skipped={s.OutgoingSkipped} " +
        $"receive-errors={s.ReceiveErrors} last-error={s.LastError}";

    [GeneratedRegex(@"errno (\d+) after ([\d.]+)")]
    private static partial Regex RefusedPattern();
}
