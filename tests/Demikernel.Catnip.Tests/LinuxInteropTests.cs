using Demikernel.Catpowder.Tests;
using Xunit.Abstractions;

namespace Demikernel.Catnip.Tests;

/// <summary>
/// catnip talking to Linux's own TCP/IP: on DPDK's <c>net_af_packet</c> (and <c>net_af_xdp</c>) bound to our end of a
/// veth pair, Linux in the other namespace (<see cref="VethPair"/>: our side has no address, Linux's is 10.77.0.1/24),
/// and on <c>net_tap</c> with Linux on the TAP interface. These drivers do not read the kernel's virtio-net header, so
/// Linux's side sends with transmit checksum offload off (<c>ethtool -K tx off</c>, which turns TSO off too): every
/// frame it sends carries a full checksum.
/// </summary>
[Collection(CatnipCollection.Name)]
public sealed class LinuxInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    private static string Config(TempFiles files, VethPair pair, string driver = "net_af_packet0") =>
        files.Write(".yaml", CatnipSetup.Config(VethPair.OurAddress, pair.OurMac, $"{driver},iface={pair.Ours}"));

    private static VethPair Pair()
    {
        CatnipSetup.RequireShim();
        var pair = new VethPair();
        try
        {
            pair.Linux(Short, "ethtool", "-K", pair.Theirs, "tx", "off");
            return pair;
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    [Fact]
    public void EchoMoves100MegabytesEachWayIntactWithLinuxTcp()
    {
        using var pair = Pair();
        using var files = new TempFiles();
        using var server = Child.Dotnet(pair.Ours, "demi-echo.dll", "server", "--libos", "catnip", "--config", Config(files, pair),
            "--listen", $"{VethPair.OurAddress}:7000");
        server.WaitFor("listening on", Start);
        var r = pair.Linux(TimeSpan.FromSeconds(150), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "100000000", "120");
        output.WriteLine(r.ToString());
        Assert.True(r.ExitCode == 0, $"{r}\n--- catnip echo server ---\n{server.Output}");
    }

    [Fact]
    public void TheServerOnCatnipAnswersRedisCliAndRedisBenchmark()
    {
        using var pair = Pair();
        using var files = new TempFiles();
        using var server = Child.Dotnet(pair.Ours, "Demikernel.Server.dll", "--libos", "catnip", "--config", Config(files, pair),
            "--bind", VethPair.OurAddress, "--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no");
        server.WaitFor("Ready to accept connections", Start);
        string[] cli = ["-h", VethPair.OurAddress, "-p", "6379"];
        Assert.Equal("PONG", pair.Linux(Short, "redis-cli", [.. cli, "PING"]).Stdout.Trim());
        Assert.Equal("OK", pair.Linux(Short, "redis-cli", [.. cli, "SET", "k", "v"]).Stdout.Trim());
        Assert.Equal("v", pair.Linux(Short, "redis-cli", [.. cli, "GET", "k"]).Stdout.Trim());
        // A 300 kB value: hundreds of segments each way.
        var big = pair.Linux(Short, "sh", "-c",
            $"head -c 300000 /dev/zero | tr '\\000' x | redis-cli -h {VethPair.OurAddress} -x SET big >/dev/null && " +
            $"redis-cli -h {VethPair.OurAddress} STRLEN big && redis-cli -h {VethPair.OurAddress} GET big | tr -d '\\n' | tr -d x | wc -c");
        Assert.True(big.ExitCode == 0, big.ToString());
        Assert.Equal(["300000", "0"], big.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var bench = pair.Linux(TimeSpan.FromSeconds(120), "redis-benchmark", [.. cli, "-t", "set,get", "-n", "50000", "-c", "20", "-q"]);
        output.WriteLine(bench.ToString());
        Assert.True(bench.ExitCode == 0, bench.ToString());
        Assert.Matches(@"SET: [\d.]+ requests per second", bench.Stdout);
        Assert.Matches(@"GET: [\d.]+ requests per second", bench.Stdout);
        // k, big and redis-benchmark's one key (key:__rand_int__, no -r).
        Assert.Equal("3", pair.Linux(Short, "redis-cli", [.. cli, "DBSIZE"]).Stdout.Trim());
        Assert.False(server.HasExited, server.Output);
    }

    [Fact]
    public void ACatnipConnectToAClosedLinuxPortIsRefused()
    {
        using var pair = Pair();
        using var files = new TempFiles();
        using var host = Child.Dotnet(pair.Ours, "Demikernel.Catnip.Tests.dll", "refused", "--libos", "catnip", "--config", Config(files, pair),
            "--target", $"{VethPair.TheirAddress}:7999");
        output.WriteLine(host.Succeed(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void EchoMovesDataIntactWithLinuxTcpOverAfXdp()
    {
        using var pair = Pair();
        using var files = new TempFiles();
        using var server = Child.Dotnet(pair.Ours, "demi-echo.dll", "server", "--libos", "catnip", "--config", Config(files, pair, "net_af_xdp0"),
            "--listen", $"{VethPair.OurAddress}:7000");
        server.WaitFor("listening on", Start);
        var r = pair.Linux(TimeSpan.FromSeconds(90), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "20000000", "60");
        output.WriteLine(r.ToString());
        Assert.True(r.ExitCode == 0, $"{r}\n--- catnip echo server ---\n{server.Output}");
    }

    /// <summary>DPDK creates the TAP interface in our namespace; Linux owns it (10.78.0.1/24), catnip is 10.78.0.2 behind it.</summary>
    [Fact]
    public void EchoMovesDataIntactWithLinuxTcpOverTap()
    {
        CatnipSetup.RequireShim();
        VethPair.RemoveLeftovers();
        // Named like VethPair's namespaces (number 0, which VethPair never uses), so RemoveLeftovers clears it if this
        // process dies before its finally.
        string ns = $"dkcp{Environment.ProcessId}x0a";
        Tool.Check(Short, "ip", "netns", "add", ns);
        try
        {
            using var files = new TempFiles();
            string config = files.Write(".yaml", CatnipSetup.Config("10.78.0.2", "02:00:00:00:78:02", "net_tap0,iface=dkcntap0"));
            using var server = Child.Dotnet(ns, "demi-echo.dll", "server", "--libos", "catnip", "--config", config, "--listen", "10.78.0.2:7000");
            server.WaitFor("listening on", Start);
            Tool.Check(Short, "ip", "-n", ns, "addr", "add", "10.78.0.1/24", "dev", "dkcntap0");
            Tool.Check(Short, "ip", "netns", "exec", ns, Tool.Find("ethtool"), "-K", "dkcntap0", "tx", "off");
            var r = Tool.InNamespace(ns, TimeSpan.FromSeconds(90), "python3", "bulk_echo_client.py", "10.78.0.2", "7000", "20000000", "60");
            output.WriteLine(r.ToString());
            Assert.True(r.ExitCode == 0, $"{r}\n--- catnip echo server ---\n{server.Output}");
        }
        finally
        {
            Tool.Run(Short, "ip", "netns", "del", ns);
        }
    }
}
