using Demikernel.InetStack;
using Demikernel.Runtime;

namespace Demikernel.Catnip;

/// <summary>
/// catnip's registration: InetStack over a DPDK port. Reads <c>dpdk.eal_init</c> (EAL arguments, Demikernel's key),
/// <c>dpdk.vdev</c> (a virtual device, added as <c>--vdev=</c>), <c>dpdk.port_id</c>, <c>dpdk.rx_zero_copy</c> (received
/// frames reach pop in their mbufs; default true, false copies each one, for comparison), <c>dpdk.tx_zero_copy</c>
/// (SgaAlloc hands out mbufs whose pushed payload TCP sends chained, without a copy; default true),
/// <c>dpdk.checksum_offload</c> (the driver's IPv4/TCP/UDP checksum offloads where it has them; default true) and the stack's keys
/// (<see cref="InetStackConfig"/>, shared with catpowder). Every key is checked before EAL starts.
/// </summary>
internal static class CatnipBackend
{
    public static LibOSBackend Registration { get; } =
        new("catnip", Create, "our TCP/IP (InetStack) over DPDK (dpdk.eal_init, dpdk.vdev: net_af_packet, net_af_xdp, net_tap, net_memif, ...)");

    /// <summary>EAL arguments when the config gives none: no PCI scan, no hugepages (256 MB of ordinary memory), no
    /// shared runtime files, so any number of catnip processes run side by side without setup.</summary>
    public static readonly string[] DefaultEalArguments = ["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry"];

    private static DeviceTransport<DpdkPhysicalLayer> Create(IBackendConfig config, TimeProvider time)
    {
        var settings = InetStackConfig.Read(config, "catnip");
        var eal = EalArguments(config);
        int port = config.GetInt("dpdk", "port_id", 0);
        if (port is < 0 or > 1023) throw InetStackConfig.Bad(config, "dpdk", "port_id", port.ToString(), "0..1023");
        bool zeroCopy = config.GetBool("dpdk", "rx_zero_copy", true);
        bool zeroCopyTransmit = config.GetBool("dpdk", "tx_zero_copy", true);
        bool checksumOffload = config.GetBool("dpdk", "checksum_offload", true);
        DpdkPhysicalLayer phy;
        try
        {
            phy = DpdkPhysicalLayer.Open(new DpdkOptions
            {
                EalArguments = eal,
                Port = (ushort)port,
                Mtu = settings.Mtu,
                ZeroCopyReceive = zeroCopy,
                ZeroCopyTransmit = zeroCopyTransmit,
                ChecksumOffload = checksumOffload,
            });
        }
        catch (DllNotFoundException)
        {
            throw new BackendConfigException(
                "catnip: the DPDK shim libcatnip_shim.so (or DPDK itself) is missing: apt-get install -y libdpdk-dev, then rebuild " +
                "(libos/Demikernel.Catnip/native/build.sh)");
        }
        catch (DpdkException e)
        {
            throw new BackendConfigException($"catnip: {e.Message} (dpdk.eal_init, dpdk.vdev, dpdk.port_id in {config.Source})");
        }
        catch (ArgumentException e)
        {
            throw new BackendConfigException($"inetstack_config.mtu: {e.Message} ({config.Source})");
        }
        try
        {
            if (settings.Mss > phy.Capabilities.Mtu - 40)
                throw InetStackConfig.Bad(config, "inetstack_config", "mss", settings.Mss.ToString(), $"at most the MTU minus 40 ({phy.Capabilities.Mtu - 40})");
            return new DeviceTransport<DpdkPhysicalLayer>("catnip", phy, settings.ToOptions(phy.HardwareAddress), time);
        }
        catch
        {
            phy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>dpdk.eal_init</c> (a YAML list, or one string split at blanks, as its environment variable gives it) or
    /// <see cref="DefaultEalArguments"/>, then <c>--vdev=</c><c>dpdk.vdev</c>, then, unless the arguments place lcores
    /// themselves, <c>--lcores=0@(CPUS)</c> with the CPUs this process may run on: EAL otherwise pins the calling thread
    /// (the libOS thread) to one core, whatever <c>taskset</c> said.
    /// </summary>
    internal static List<string> EalArguments(IBackendConfig config)
    {
        var args = config.Get("dpdk", "eal_init") is { Length: > 0 } text
            ? text.Split(['\n', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : [.. DefaultEalArguments];
        // Demikernel's configs put argv[0] first as an empty string; YAML's "" is dropped by the split above.
        if (config.Get("dpdk", "vdev") is { Length: > 0 } vdev)
        {
            if (vdev.Any(char.IsWhiteSpace)) throw InetStackConfig.Bad(config, "dpdk", "vdev", vdev, "a DPDK device string without blanks, like net_memif0,role=server,socket=/tmp/memif.sock");
            args.Add("--vdev=" + vdev);
        }
        if (!args.Any(a => a is "-l" or "-c" or "--lcores" || a.StartsWith("--lcores=", StringComparison.Ordinal)) && AllowedCpus() is { } cpus)
            args.Add($"--lcores=0@({cpus})");
        return args;
    }

    /// <summary>This process's CPU affinity as Linux lists it (<c>0-1</c>, <c>0,2-3</c>), from /proc/self/status.</summary>
    private static string? AllowedCpus()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)) return line["Cpus_allowed_list:".Length..].Trim();
        }
        catch (IOException) { }
        return null;
    }
}
