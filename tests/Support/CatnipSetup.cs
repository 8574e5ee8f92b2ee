namespace Demikernel.Tests.Support;

/// <summary>What every catnip test needs before it starts a child: DPDK's shim next to the programs.</summary>
public static class CatnipSetup
{
    /// <summary>Fails (never skips) when the shim was not built: DPDK is missing (tests/run.sh installs libdpdk-dev).</summary>
    public static void RequireShim() =>
        Assert.True(File.Exists(System.IO.Path.Combine(AppContext.BaseDirectory, "libcatnip_shim.so")),
            "libcatnip_shim.so is missing next to the tests: DPDK (apt-get install -y libdpdk-dev) was not there when catnip was built");

    /// <summary>A catnip config: our address and MAC, and one DPDK device.</summary>
    /// <param name="copying">Turn zero copy off both ways (<c>dpdk.rx_zero_copy</c>, <c>dpdk.tx_zero_copy</c>): the copying paths.</param>
    public static string Config(string address, string mac, string vdev, bool copying = false) => $"""
        demikernel:
          local_ipv4_addr: {address}
          local_link_addr: "{mac}"
        dpdk:
          eal_init: ["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry"]
          vdev: {vdev}
          rx_zero_copy: {(copying ? "false" : "true")}
          tx_zero_copy: {(copying ? "false" : "true")}
        inetstack_config:
          mtu: 1500
        """;
}
