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
        Assert.Equal(TimeSpan.Zero, libos.Options.IdlePollInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(2), libos.Options.IdlePollWindow);
    }

    [Fact]
    public void IdlePollingComesFromTheConfig()
    {
        var config = LibOSConfig.Parse(new StringReader("demikernel:\n  idle_poll_us: 20\n  idle_poll_window_us: 5000\n"), _ => null);
        using var libos = LibOS.Create("catloop", config);
        Assert.Equal(TimeSpan.FromMicroseconds(20), libos.Options.IdlePollInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(5), libos.Options.IdlePollWindow);
    }

    [Theory]
    [InlineData("spin_budget_us")]
    [InlineData("idle_poll_us")]
    [InlineData("idle_poll_window_us")]
    public void ANegativeTimeIsRefusedNamingTheKey(string key)
    {
        var config = LibOSConfig.Parse(new StringReader($"demikernel:\n  {key}: -5\n"), _ => null);
        var e = Assert.Throws<ConfigException>(() => LibOS.Create("catloop", config));
        Assert.Contains($"demikernel.{key} must be 0 or more, got '-5'", e.Message);
    }

    // ------------------------------------------------------------------ hostile files (tests/Demikernel.Fuzz, config-yaml)

    private static Exception? ParseError(string yaml) =>
        Record.Exception(() => LibOSConfig.Parse(new StringReader(yaml), _ => null));

    [Fact]
    public void MalformedPlainScalarIsAConfigError()
    {
        // Found by fuzzing: YamlDotNet's scanner threw InvalidOperationException (not a YamlException) on this file,
        // so the server died with a stack trace instead of printing the config error.
        string yaml = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
            "YmFzZTogJmIKICBwb3J0OiAxAAAAAAAAAAAAAAAAAAAAAAAAAAogIGxpc3Q6IFthLGVydmVyOgogIDw8OiAqYgogIGh6OiAxMAogIGJpbnd3d3d3d3d3d3d3d3d3d3d3OiBkJ3cxMjcuMC4wLjEnCg=="));
        Assert.IsType<ConfigException>(ParseError(yaml));
        // and YamlDotNet's parser threw ArgumentException ("The current event is of an unsupported type") on this one
        yaml = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
            "YmFzZTogJmIKICBwb3J0OiAxCiAgbGlzdDogW2EsIGJdKnNlcnZlcjoKICA8/////////////////////////////729vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29vf///////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////zw6ICpiCiAgaHo6IDExCiAgYmlud3d3d3d3d3d3//////////93d3d3d3d3d3dkOiAnMTI3LjAuMC4xJwo="));
        Assert.IsType<ConfigException>(ParseError(yaml));
    }

    [Fact]
    public void AliasCycleIsAConfigErrorNotAStackOverflow()
    {
        // Found by fuzzing: YamlDotNet's YamlAliasNode.Equals recursed on this file until the process died.
        string yaml = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
            "PwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgKmIKHCBgOiAmYgogIHBvcnQ6IDAKICBsaXN0OiBbYTogYl0KczoKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD8="));
        Assert.IsType<ConfigException>(ParseError(yaml));
    }

    [Theory]
    [InlineData("server:\n  ? [a, b]\n  : 1\n")]
    [InlineData("? {a: 1}\n: x\n")]
    public void KeysThatAreNotNamesAreAConfigError(string yaml)
    {
        var e = Assert.IsType<ConfigException>(ParseError(yaml));
        Assert.Contains("plain names", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AliasesCannotExpandIntoMillionsOfKeys()
    {
        // "billion laughs": every level repeats the previous one ten times, 10^8 keys from nine lines
        var yaml = new System.Text.StringBuilder("l0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n");
        for (int i = 1; i <= 8; i++)
            yaml.Append($"l{i}: &l{i} {{a: *l{i - 1}, b: *l{i - 1}, c: *l{i - 1}, d: *l{i - 1}, e: *l{i - 1}, f: *l{i - 1}, g: *l{i - 1}, h: *l{i - 1}, i: *l{i - 1}, j: *l{i - 1}}}\n");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.IsType<ConfigException>(ParseError(yaml.ToString()));
        Assert.Contains("aliases are not supported", e.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
    }
}
