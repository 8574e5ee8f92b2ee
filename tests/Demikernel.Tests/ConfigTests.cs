namespace Demikernel.Tests;

public class ConfigTests
{
    private const string Yaml = """
        demikernel:
          local_ipv4_addr: 10.77.0.2
          spin_budget_us: 50
        raw_socket:
          linux_interface_name: vethA
        inetstack_config:
          mtu: 1500
          arp_table:
            "02:00:00:00:00:01": 10.77.0.1
        server:
          port: 6380
        """;

    [Fact]
    public void ReadsSectionsAndNestedKeys()
    {
        var config = LibOSConfig.Parse(new StringReader(Yaml), _ => null);
        Assert.Equal("10.77.0.2", config.Get("demikernel", "local_ipv4_addr"));
        Assert.Equal(1500, config.GetInt("inetstack_config", "mtu", 0));
        Assert.Equal("10.77.0.1", config.Get("inetstack_config", "arp_table.02:00:00:00:00:01"));
        Assert.Equal(6380, config.GetInt("server", "port", 0));
        Assert.Equal(7, config.GetInt("server", "missing", 7));
    }

    [Fact]
    public void EnvironmentVariablesOverrideTheFile()
    {
        var env = new Dictionary<string, string>
        {
            ["DEMIKERNEL_LOCAL_IPV4_ADDR"] = "10.0.0.9",
            ["DEMIKERNEL_MTU"] = "9000",
            ["MSS"] = "1000", // unprefixed names are common in containers and change nothing
        };
        var config = LibOSConfig.Parse(new StringReader(Yaml), k => env.GetValueOrDefault(k));
        Assert.Equal("10.0.0.9", config.Get("demikernel", "local_ipv4_addr"));
        Assert.Equal(9000, config.GetInt("inetstack_config", "mtu", 0));
        Assert.NotEqual(1000, config.GetInt("inetstack_config", "mss", 0));
    }

    [Fact]
    public void BadValuesNameTheKeyAndTheProblem()
    {
        var config = LibOSConfig.Parse(new StringReader("server:\n  port: lots\n"), _ => null);
        var e = Assert.Throws<ConfigException>(() => config.GetInt("server", "port", 0));
        Assert.Contains("server.port must be an integer, got 'lots'", e.Message);
        e = Assert.Throws<ConfigException>(() => LibOSConfig.Parse(new StringReader("server: [1, 2]\n"), _ => null));
        Assert.Contains("'server' must be a mapping", e.Message);
        e = Assert.Throws<ConfigException>(() => LibOSConfig.Load("/nonexistent/demi.yaml"));
        Assert.Contains("does not exist", e.Message);
        e = Assert.Throws<ConfigException>(() => LibOSConfig.Parse(new StringReader("a: [\n"), _ => null));
        Assert.Contains("not valid YAML", e.Message);
    }

    [Fact]
    public void SpinBudgetComesFromTheConfig()
    {
        var config = LibOSConfig.Parse(new StringReader(Yaml), _ => null);
        using var libos = LibOS.Create("catloop", config);
        Assert.Equal(TimeSpan.FromMicroseconds(50), libos.Options.SpinBudget);
    }
}
