using Demikernel.Runtime;

namespace Demikernel.Catnip.Tests;

/// <summary>
/// catnip's part of the config, read before EAL starts (so in this process: nothing here initialises DPDK), and a
/// bad EAL argument reported with DPDK's reason by the server (a child process).
/// </summary>
[Collection(CatnipCollection.Name)]
public sealed class ConfigTests
{
    private static LibOSConfig Parse(string yaml, Dictionary<string, string>? environment = null) =>
        LibOSConfig.Parse(new StringReader(yaml), k => environment?.GetValueOrDefault(k));

    [Fact]
    public void MissingAddressIsNamedBeforeDpdkStarts()
    {
        var e = Assert.Throws<ConfigException>(() => LibOS.Create("catnip", Parse("dpdk:\n  vdev: net_null0\n")));
        Assert.Contains("demikernel.local_ipv4_addr is required for catnip", e.Message);
        Assert.Contains("DEMIKERNEL_LOCAL_IPV4_ADDR", e.Message);
    }

    [Theory]
    [InlineData("dpdk:\n  port_id: 5000\n", "dpdk.port_id must be 0..1023, got '5000'")]
    [InlineData("dpdk:\n  port_id: x\n", "dpdk.port_id must be an integer, got 'x'")]
    [InlineData("dpdk:\n  vdev: \"net_memif0, role=server\"\n", "dpdk.vdev must be a DPDK device string without blanks")]
    [InlineData("inetstack_config:\n  mss: 20\n", "inetstack_config.mss must be 0 (from the MTU) or 88..65495")]
    public void BadKeysAreRefusedWithTheirName(string extra, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => LibOS.Create("catnip", Parse("demikernel:\n  local_ipv4_addr: 10.0.0.2\n" + extra)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void EalArgumentsDefaultAndGainTheDeviceAndUnpinnedLcores()
    {
        var args = CatnipBackend.EalArguments((IBackendConfig)Parse("dpdk:\n  vdev: net_memif0,role=client,socket=/tmp/x.sock\n"));
        Assert.Equal(CatnipBackend.DefaultEalArguments, args.Take(CatnipBackend.DefaultEalArguments.Length));
        Assert.Contains("--vdev=net_memif0,role=client,socket=/tmp/x.sock", args);
        string cpus = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim();
        Assert.Equal($"--lcores=0@({cpus})", args[^1]);
    }

    [Fact]
    public void ExplicitLcoresAndTheEnvironmentWin()
    {
        var args = CatnipBackend.EalArguments((IBackendConfig)Parse("dpdk:\n  eal_init: [\"--no-pci\", \"-l\", \"1\"]\n"));
        Assert.Equal(["--no-pci", "-l", "1"], args);
        args = CatnipBackend.EalArguments((IBackendConfig)Parse("dpdk:\n  eal_init: [\"--no-pci\"]\n",
            new() { ["DEMIKERNEL_EAL_INIT"] = "--no-pci --in-memory --lcores=0@1", ["DEMIKERNEL_VDEV"] = "net_null0" }));
        Assert.Equal(["--no-pci", "--in-memory", "--lcores=0@1", "--vdev=net_null0"], args);
    }

    [Fact]
    public void ABadEalArgumentStopsTheServerWithDpdksReason()
    {
        CatnipSetup.RequireShim();
        using var files = new TempFiles();
        string config = files.Write(".yaml", "demikernel:\n  local_ipv4_addr: 10.88.0.1\ndpdk:\n  eal_init: [\"--no-pci\", \"--no-huge\", \"--no-such-eal-option\"]\n");
        using var server = Child.Dotnet(null, "Demikernel.Server.dll", "--libos", "catnip", "--config", config, "--save", "");
        int rc = server.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(rc != 0, server.Output);
        Assert.Contains("rte_eal_init(", server.Output);
        Assert.Contains("failed", server.Output);
    }

    [Fact]
    public void NoDeviceIsRefusedWithAHint()
    {
        CatnipSetup.RequireShim();
        using var files = new TempFiles();
        string config = files.Write(".yaml", "demikernel:\n  local_ipv4_addr: 10.88.0.1\n");
        using var server = Child.Dotnet(null, "Demikernel.Server.dll", "--libos", "catnip", "--config", config, "--save", "");
        int rc = server.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(rc != 0, server.Output);
        Assert.Contains("no DPDK port 0: EAL found 0 (give a device with --vdev=", server.Output);
    }
}
