using Demikernel.InetStack.Wire;

namespace Demikernel.Catpowder.Tests;

/// <summary>The facade's catpowder case: every key is checked, and a problem names the key (and the variable that overrides it).</summary>
public class ConfigTests
{
    private const string Good = """
        demikernel:
          local_ipv4_addr: 10.77.0.2
        raw_socket:
          linux_interface_name: dkcpnosuch0
        inetstack_config:
          mtu: 1500
          mss: 1460
          arp_table:
            "02:00:00:00:00:01": 10.77.0.1
        """;

    private static LibOSConfig Parse(string yaml, Func<string, string?>? environment = null) =>
        LibOSConfig.Parse(new StringReader(yaml), environment ?? (_ => null));

    private static string Fails(string yaml, Func<string, string?>? environment = null) =>
        Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", Parse(yaml, environment))).Message;

    [Fact]
    public void CatpowderIsAvailableAndNoLongerReserved()
    {
        Assert.Contains("catpowder", LibOS.Available);
        Assert.DoesNotContain("catpowder", LibOS.Reserved);
    }

    [Fact]
    public void WithoutAConfigTheRequiredKeysAreNamed()
    {
        var e = Assert.Throws<ConfigException>(() => LibOS.Create("catpowder", new LibOSConfig(_ => null)));
        Assert.Contains("raw_socket.linux_interface_name is required", e.Message);
        Assert.Contains("DEMIKERNEL_LINUX_INTERFACE_NAME", e.Message);
    }

    [Fact]
    public void MissingLocalAddressIsNamed()
    {
        string message = Fails(Good.Replace("  local_ipv4_addr: 10.77.0.2\n", "  spin_budget_us: 100\n", StringComparison.Ordinal));
        Assert.Contains("demikernel.local_ipv4_addr is required", message);
        Assert.Contains("DEMIKERNEL_LOCAL_IPV4_ADDR", message);
    }

    [Theory]
    [InlineData("local_ipv4_addr: 10.77.0.2", "local_ipv4_addr: 10.77.0.300", "demikernel.local_ipv4_addr must be a unicast IPv4 address")]
    [InlineData("local_ipv4_addr: 10.77.0.2", "local_ipv4_addr: 0.0.0.0", "demikernel.local_ipv4_addr must be")]
    [InlineData("local_ipv4_addr: 10.77.0.2", "local_ipv4_addr: 10.77.0.2\n  local_link_addr: \"ff:ff:ff:ff:ff:ff\"", "demikernel.local_link_addr must be a unicast MAC")]
    [InlineData("local_ipv4_addr: 10.77.0.2", "local_ipv4_addr: 10.77.0.2\n  local_link_addr: nonsense", "demikernel.local_link_addr must be")]
    [InlineData("mtu: 1500", "mtu: 20", "inetstack_config.mtu must be an MTU between 68 and 65535, got '20'")]
    [InlineData("mtu: 1500", "mtu: big", "inetstack_config.mtu must be an integer")]
    [InlineData("mss: 1460", "mss: 10", "inetstack_config.mss must be")]
    [InlineData("mss: 1460", "mss: 1460\n  prefix_length: 40", "inetstack_config.prefix_length must be 0..32")]
    [InlineData("mss: 1460", "mss: 1460\n  gateway: 300.1.1.1", "inetstack_config.gateway must be")]
    [InlineData("mss: 1460", "mss: 1460\n  congestion_control: vegas", "inetstack_config.congestion_control must be cubic or newreno, got 'vegas'")]
    [InlineData("mss: 1460", "mss: 1460\n  delayed_ack_us: -1", "inetstack_config.delayed_ack_us must be between 0 and 500000")]
    [InlineData("mss: 1460", "mss: 1460\n  receive_buffer_size: 100", "inetstack_config.receive_buffer_size must be at least 4096 bytes")]
    [InlineData("mss: 1460", "mss: 1460\ntcp_socket_options:\n  keepalive:\n    enabled: maybe", "tcp_socket_options.keepalive.enabled must be true or false")]
    [InlineData("mss: 1460", "mss: 1460\ntcp_socket_options:\n  keepalive:\n    enabled: true\n    time_millis: 0", "tcp_socket_options.keepalive: time_millis and interval must be positive")]
    [InlineData("\"02:00:00:00:00:01\": 10.77.0.1", "\"02:00:00:00:00:zz\": 10.77.0.1", "inetstack_config.arp_table: key '02:00:00:00:00:zz' must be a unicast MAC")]
    [InlineData("\"02:00:00:00:00:01\": 10.77.0.1", "\"02:00:00:00:00:01\": somewhere", "inetstack_config.arp_table: the address of 02:00:00:00:00:01 must be an IPv4 address")]
    public void BadValuesAreNamedBeforeAnySocketOpens(string from, string to, string expected)
    {
        string yaml = Good.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Good, yaml);
        Assert.Contains(expected, Fails(yaml));
    }

    [Fact]
    public void AnInterfaceThatDoesNotExistIsNamed()
    {
        string message = Fails(Good);
        Assert.Contains("raw_socket.linux_interface_name 'dkcpnosuch0'", message);
        // As root: no such interface; otherwise the socket itself is refused, and the message says why.
        Assert.True(message.Contains("no network interface 'dkcpnosuch0'", StringComparison.Ordinal) || message.Contains("CAP_NET_RAW", StringComparison.Ordinal), message);
    }

    [Fact]
    public void EnvironmentVariablesOverrideTheFile()
    {
        string message = Fails(Good, key => key switch
        {
            "DEMIKERNEL_LINUX_INTERFACE_NAME" => "dkcpfromenv0",
            _ => null,
        });
        Assert.Contains("'dkcpfromenv0'", message);
        message = Fails(Good, key => key == "DEMIKERNEL_LOCAL_IPV4_ADDR" ? "not-an-address" : null);
        Assert.Contains("demikernel.local_ipv4_addr must be a unicast IPv4 address", message);
        Assert.Contains("got 'not-an-address'", message);
    }

    [Fact]
    public void TheShippedConfigParses()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "catpowder.yaml");
        var config = LibOSConfig.Load(path, _ => null);
        Assert.Equal("10.77.0.2", config.Get("demikernel", "local_ipv4_addr"));
        Assert.Equal("vethA", config.Get("raw_socket", "linux_interface_name"));
        Assert.Equal(1500, config.GetInt("inetstack_config", "mtu", 0));
        Assert.Equal("catpowder", config.Get("server", "libos"));
        Assert.True(Ipv4Address.TryParse(config.Get("server", "bind")!, out _));
    }
}
