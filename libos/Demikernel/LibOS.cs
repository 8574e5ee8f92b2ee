using Demikernel.Catloop;
using Demikernel.Catnap;
using Demikernel.Catpowder;
using Demikernel.InetStack;
using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel;

/// <summary>
/// The facade: makes a libOS instance by name. <c>catnap</c> (Linux sockets + epoll) is the default; <c>catloop</c>
/// (in-process memory streams) backs tests and memory queues; <c>catpowder</c> runs our own TCP/IP stack (InetStack)
/// over an AF_PACKET raw socket. The other Demikernel libOSes are reserved names that fail with a clear
/// "not available" error until they are built.
/// </summary>
public static class LibOS
{
    public const string DefaultName = "catnap";

    public static IReadOnlyList<string> Available { get; } = ["catnap", "catloop", "catpowder"];

    public static IReadOnlyList<string> Reserved { get; } = ["catnip", "catmem", "rdma"];

    /// <summary>Creates a libOS; throws <see cref="ConfigException"/> with a clear message for an unknown or unavailable name.</summary>
    public static DemiLibOS Create(string? name = null, LibOSConfig? config = null, TimeProvider? time = null)
    {
        name = string.IsNullOrEmpty(name) ? DefaultName : name.ToLowerInvariant();
        config ??= new LibOSConfig();
        var options = new LibOSOptions
        {
            Time = time ?? TimeProvider.System,
            SpinBudget = TimeSpan.FromMicroseconds(config.GetInt("demikernel", "spin_budget_us", 200)),
            DefaultPopSize = config.GetInt("demikernel", "pop_size", 16 * 1024),
        };
        INetworkTransport transport = name switch
        {
            "catnap" => new CatnapTransport(),
            "catloop" => new CatloopTransport(),
            "catpowder" => CreateCatpowder(config, options.Time),
            _ when Reserved.Contains(name) => throw new ConfigException(
                $"libOS '{name}' is not available in this build (available: {string.Join(", ", Available)})"),
            _ => throw new ConfigException(
                $"unknown libOS '{name}' (available: {string.Join(", ", Available)}; reserved: {string.Join(", ", Reserved)})"),
        };
        return new DemiLibOS(transport, options);
    }

    /// <summary>
    /// catpowder: InetStack over an AF_PACKET socket on <c>raw_socket.linux_interface_name</c>, in the calling
    /// thread's network namespace. Reads <c>demikernel.local_ipv4_addr</c> (required), <c>demikernel.local_link_addr</c>
    /// (default: the interface's MAC), <c>inetstack_config.mtu</c> (default: the interface's), <c>.mss</c>,
    /// <c>.arp_table</c> ("MAC": "IP" entries), <c>.prefix_length</c>, <c>.gateway</c> and the TCP keys of
    /// <see cref="TcpConfig"/>. Every key is checked before the socket is opened.
    /// </summary>
    private static CatpowderTransport CreateCatpowder(LibOSConfig config, TimeProvider time)
    {
        string interfaceName = Required(config, "raw_socket", "linux_interface_name");
        var localAddress = ParseIpv4(config, "demikernel", "local_ipv4_addr", Required(config, "demikernel", "local_ipv4_addr"));
        MacAddress? linkAddress = null;
        if (config.Get("demikernel", "local_link_addr") is { Length: > 0 } macText)
        {
            if (!MacAddress.TryParse(macText, out var mac) || !mac.IsUnicast)
                throw Bad(config, "demikernel", "local_link_addr", macText, "a unicast MAC address like 02:00:00:00:00:02");
            linkAddress = mac;
        }
        int? mtu = config.Get("inetstack_config", "mtu") is { Length: > 0 } ? config.GetInt("inetstack_config", "mtu", 0) : null;
        if (mtu is < 68 or > 65535) throw Bad(config, "inetstack_config", "mtu", mtu.Value.ToString(), "an MTU between 68 and 65535");
        int mss = config.GetInt("inetstack_config", "mss", 0);
        if (mss != 0 && (mss < 88 || mss > 65495)) throw Bad(config, "inetstack_config", "mss", mss.ToString(), "0 (from the MTU) or 88..65495");
        int prefixLength = config.GetInt("inetstack_config", "prefix_length", 24);
        if (prefixLength is < 0 or > 32) throw Bad(config, "inetstack_config", "prefix_length", prefixLength.ToString(), "0..32");
        Ipv4Address? gateway = config.Get("inetstack_config", "gateway") is { Length: > 0 } gw
            ? ParseIpv4(config, "inetstack_config", "gateway", gw)
            : null;
        var tcp = TcpConfig(config, mss);
        var arpTable = new Dictionary<Ipv4Address, MacAddress>();
        const string arpPrefix = "arp_table.";
        foreach (var key in config.Keys("inetstack_config").Where(k => k.StartsWith(arpPrefix, StringComparison.Ordinal)).ToList())
        {
            string macKey = key[arpPrefix.Length..];
            if (!MacAddress.TryParse(macKey, out var mac) || !mac.IsUnicast)
                throw new ConfigException($"inetstack_config.arp_table: key '{macKey}' must be a unicast MAC address (entries are \"MAC\": \"IP\") ({config.Source})");
            string ipText = config.Get("inetstack_config", key) ?? "";
            if (!Ipv4Address.TryParse(ipText, out var ip))
                throw new ConfigException($"inetstack_config.arp_table: the address of {macKey} must be an IPv4 address, got '{ipText}' ({config.Source})");
            arpTable[ip] = mac;
        }

        AfPacketPhysicalLayer phy;
        try
        {
            phy = AfPacketPhysicalLayer.Open(new AfPacketOptions { InterfaceName = interfaceName, Mtu = mtu });
        }
        catch (PacketSocketException e)
        {
            throw new ConfigException($"catpowder: raw_socket.linux_interface_name '{interfaceName}': {e.Message} ({config.Source})");
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"inetstack_config.mtu: {e.Message} ({config.Source})");
        }
        try
        {
            if (!phy.InterfaceUp)
                throw new ConfigException($"catpowder: interface '{interfaceName}' (raw_socket.linux_interface_name) is down: ip link set {interfaceName} up");
            if (phy.KernelAddress == localAddress)
                throw new ConfigException(
                    $"catpowder: the kernel has {localAddress} (demikernel.local_ipv4_addr) on '{interfaceName}' too and would answer ARP and reset TCP " +
                    $"connections to it: ip addr del {localAddress}/{prefixLength} dev {interfaceName}");
            if (mss > phy.Capabilities.Mtu - 40)
                throw Bad(config, "inetstack_config", "mss", mss.ToString(), $"at most the MTU minus 40 ({phy.Capabilities.Mtu - 40})");
            var options = new InetStackOptions
            {
                LinkAddress = linkAddress ?? phy.HardwareAddress,
                LocalAddress = localAddress,
                PrefixLength = prefixLength,
                Gateway = gateway,
                StaticArpTable = arpTable,
                Tcp = tcp,
            };
            return new CatpowderTransport(phy, options, time);
        }
        catch
        {
            phy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// TCP tunables: <c>inetstack_config.congestion_control</c> (cubic | newreno), <c>.delayed_ack_us</c> (0 = ACK every
    /// segment at once), <c>.receive_buffer_size</c> / <c>.send_buffer_size</c> (bytes), and Demikernel's
    /// <c>tcp_socket_options.keepalive</c> (<c>enabled</c>, <c>time_millis</c> idle before probing, <c>interval</c> ms).
    /// </summary>
    private static TcpOptions TcpConfig(LibOSConfig config, int mss)
    {
        var defaults = new TcpOptions();
        string cc = config.GetString("inetstack_config", "congestion_control", "cubic");
        var kind = cc.ToLowerInvariant() switch
        {
            "cubic" => CongestionControlKind.Cubic,
            "newreno" or "reno" => CongestionControlKind.NewReno,
            _ => throw Bad(config, "inetstack_config", "congestion_control", cc, "cubic or newreno"),
        };
        int delayedAck = NonNegative(config, "inetstack_config", "delayed_ack_us", 0, 500_000);
        int receiveBuffer = NonNegative(config, "inetstack_config", "receive_buffer_size", defaults.ReceiveBufferSize, 1 << 30);
        int sendBuffer = NonNegative(config, "inetstack_config", "send_buffer_size", defaults.SendBufferSize, 1 << 30);
        if (receiveBuffer < 4096) throw Bad(config, "inetstack_config", "receive_buffer_size", receiveBuffer.ToString(), "at least 4096 bytes");
        if (sendBuffer < 4096) throw Bad(config, "inetstack_config", "send_buffer_size", sendBuffer.ToString(), "at least 4096 bytes");
        TimeSpan? keepAliveIdle = null;
        var keepAliveInterval = defaults.KeepAliveInterval;
        if (config.GetBool("tcp_socket_options", "keepalive.enabled", false))
        {
            keepAliveIdle = TimeSpan.FromMilliseconds(NonNegative(config, "tcp_socket_options", "keepalive.time_millis", 7_200_000, int.MaxValue));
            int interval = NonNegative(config, "tcp_socket_options", "keepalive.interval", (int)defaults.KeepAliveInterval.TotalMilliseconds, int.MaxValue);
            if (keepAliveIdle == TimeSpan.Zero || interval == 0)
                throw new ConfigException($"tcp_socket_options.keepalive: time_millis and interval must be positive when enabled ({config.Source})");
            keepAliveInterval = TimeSpan.FromMilliseconds(interval);
        }
        return defaults with
        {
            Mss = mss,
            CongestionControl = kind,
            DelayedAck = TimeSpan.FromMicroseconds(delayedAck),
            ReceiveBufferSize = receiveBuffer,
            SendBufferSize = sendBuffer,
            KeepAliveIdle = keepAliveIdle,
            KeepAliveInterval = keepAliveInterval,
        };
    }

    private static int NonNegative(LibOSConfig config, string section, string key, int fallback, int max)
    {
        int value = config.GetInt(section, key, fallback);
        return value >= 0 && value <= max ? value : throw Bad(config, section, key, value.ToString(), $"between 0 and {max}");
    }

    private static string Required(LibOSConfig config, string section, string key) =>
        config.Get(section, key) is { Length: > 0 } value
            ? value
            : throw new ConfigException(
                $"{section}.{key} is required for catpowder: set it in the config file or with the environment variable {LibOSConfig.EnvironmentPrefix}{key.ToUpperInvariant()} ({config.Source})");

    private static Ipv4Address ParseIpv4(LibOSConfig config, string section, string key, string text) =>
        Ipv4Address.TryParse(text, out var address) && !address.IsUnspecified && !address.IsBroadcast && !address.IsMulticast
            ? address
            : throw Bad(config, section, key, text, "a unicast IPv4 address like 10.77.0.2");

    private static ConfigException Bad(LibOSConfig config, string section, string key, string value, string expected) =>
        new($"{section}.{key} must be {expected}, got '{value}' ({config.Source})");
}
