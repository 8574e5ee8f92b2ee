using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack;

/// <summary>
/// Reads InetStack's part of the configuration (Demikernel's <c>demikernel:</c>, <c>inetstack_config:</c> and
/// <c>tcp_socket_options:</c>) for any backend that runs the stack over a device (catpowder today, catnip next).
/// Every key is checked before a device is opened.
/// </summary>
internal static class InetStackConfig
{
    /// <summary>
    /// <c>demikernel.local_ipv4_addr</c> (required), <c>demikernel.local_link_addr</c> (null: the device's MAC),
    /// <c>inetstack_config.mtu</c> (null: the device's), <c>.mss</c>, <c>.arp_table</c> ("MAC": "IP" entries),
    /// <c>.prefix_length</c>, <c>.gateway</c> and the TCP keys of <see cref="ReadTcp"/>.
    /// </summary>
    public static StackSettings Read(IBackendConfig config, string backend)
    {
        var localAddress = ParseIpv4(config, "demikernel", "local_ipv4_addr", Required(config, backend, "demikernel", "local_ipv4_addr"));
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
        var tcp = ReadTcp(config, mss);
        var arpTable = new Dictionary<Ipv4Address, MacAddress>();
        const string arpPrefix = "arp_table.";
        foreach (var key in config.Keys("inetstack_config").Where(k => k.StartsWith(arpPrefix, StringComparison.Ordinal)).ToList())
        {
            string macKey = key[arpPrefix.Length..];
            if (!MacAddress.TryParse(macKey, out var mac) || !mac.IsUnicast)
                throw new BackendConfigException($"inetstack_config.arp_table: key '{macKey}' must be a unicast MAC address (entries are \"MAC\": \"IP\") ({config.Source})");
            string ipText = config.Get("inetstack_config", key) ?? "";
            if (!Ipv4Address.TryParse(ipText, out var ip))
                throw new BackendConfigException($"inetstack_config.arp_table: the address of {macKey} must be an IPv4 address, got '{ipText}' ({config.Source})");
            arpTable[ip] = mac;
        }
        return new StackSettings(localAddress, linkAddress, mtu, mss, prefixLength, gateway, arpTable, tcp);
    }

    /// <summary>
    /// TCP tunables: <c>inetstack_config.congestion_control</c> (cubic | newreno), <c>.delayed_ack_us</c> (0 = ACK every
    /// segment at once), <c>.receive_buffer_size</c> / <c>.send_buffer_size</c> (bytes), and Demikernel's
    /// <c>tcp_socket_options.keepalive</c> (<c>enabled</c>, <c>time_millis</c> idle before probing, <c>interval</c> ms).
    /// </summary>
    public static TcpOptions ReadTcp(IBackendConfig config, int mss)
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
                throw new BackendConfigException($"tcp_socket_options.keepalive: time_millis and interval must be positive when enabled ({config.Source})");
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

    private static int NonNegative(IBackendConfig config, string section, string key, int fallback, int max)
    {
        int value = config.GetInt(section, key, fallback);
        return value >= 0 && value <= max ? value : throw Bad(config, section, key, value.ToString(), $"between 0 and {max}");
    }

    /// <summary>A key the backend cannot run without; the message names the environment variable that can set it too.</summary>
    public static string Required(IBackendConfig config, string backend, string section, string key) =>
        config.Get(section, key) is { Length: > 0 } value
            ? value
            : throw new BackendConfigException(
                $"{section}.{key} is required for {backend}: set it in the config file or with the environment variable {config.EnvironmentName(key)} ({config.Source})");

    private static Ipv4Address ParseIpv4(IBackendConfig config, string section, string key, string text) =>
        Ipv4Address.TryParse(text, out var address) && !address.IsUnspecified && !address.IsBroadcast && !address.IsMulticast
            ? address
            : throw Bad(config, section, key, text, "a unicast IPv4 address like 10.77.0.2");

    public static BackendConfigException Bad(IBackendConfig config, string section, string key, string value, string expected) =>
        new($"{section}.{key} must be {expected}, got '{value}' ({config.Source})");
}

/// <summary>The stack's settings read from the config; the device fills in what is left null (MAC, MTU).</summary>
internal sealed record StackSettings(
    Ipv4Address LocalAddress, MacAddress? LinkAddress, int? Mtu, int Mss, int PrefixLength, Ipv4Address? Gateway,
    IReadOnlyDictionary<Ipv4Address, MacAddress> ArpTable, TcpOptions Tcp)
{
    public InetStackOptions ToOptions(MacAddress deviceAddress) => new()
    {
        LinkAddress = LinkAddress ?? deviceAddress,
        LocalAddress = LocalAddress,
        PrefixLength = PrefixLength,
        Gateway = Gateway,
        StaticArpTable = ArpTable,
        Tcp = Tcp,
    };
}
