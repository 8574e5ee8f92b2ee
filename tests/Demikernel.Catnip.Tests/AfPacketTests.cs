using Demikernel.Catpowder.Tests;
using Xunit.Abstractions;

namespace Demikernel.Catnip.Tests;

/// <summary>
/// catnip on DPDK's <c>net_af_packet</c> bound to our end of a veth pair, Linux's own TCP/IP in the other namespace
/// (<see cref="VethPair"/>: our side has no address, Linux's is 10.77.0.1/24). DPDK's af_packet driver does not read
/// the virtio-net header, so Linux's side sends with transmit checksum offload off (<c>ethtool -K tx off</c>, which
/// turns TSO off too): every frame it sends carries a full checksum.
/// </summary>
[Collection(CatnipCollection.Name)]
public sealed class AfPacketTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    private static string Config(TempFiles files, VethPair pair) =>
        files.Write(".yaml", CatnipSetup.Config(VethPair.OurAddress, pair.OurMac, $"net_af_packet0,iface={pair.Ours}"));

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
}
