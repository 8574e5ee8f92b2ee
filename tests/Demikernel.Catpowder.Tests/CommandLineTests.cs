using Xunit.Abstractions;

namespace Demikernel.Catpowder.Tests;

/// <summary>
/// The programs themselves, as a user runs them: <c>Demikernel.Server --libos catpowder --config FILE</c> and
/// <c>demi-echo server --libos catpowder --config FILE</c>, started in our namespace with <c>ip netns exec</c>.
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed class CommandLineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    private static string WriteConfig(VethPair pair, string extra = "") => WriteConfig($"""
        demikernel:
          local_ipv4_addr: {VethPair.OurAddress}
        raw_socket:
          linux_interface_name: {pair.Ours}
        inetstack_config:
          mtu: 1500
        server:
          bind: {VethPair.OurAddress}
          port: 6380
        {extra}
        """);

    private static string WriteConfig(string yaml)
    {
        string path = Path.Combine(Path.GetTempPath(), $"catpowder-{Environment.ProcessId}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static string Program(string dll) => Path.Combine(AppContext.BaseDirectory, dll);

    /// <summary>Reads the program's first line (its "listening" banner) within the time limit.</summary>
    private static string FirstLine(System.Diagnostics.Process process)
    {
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(Short)) throw new TimeoutException("the program printed nothing within 15 s");
        return line.Result ?? $"(exited: {process.StandardError.ReadToEnd()})";
    }

    /// <summary>The server logs redis-server's start-up lines first; its libOS line says where it listens.</summary>
    private static string ListeningLine(System.Diagnostics.Process process)
    {
        var deadline = DateTime.UtcNow + Short;
        while (true)
        {
            string line = FirstLine(process);
            if (line.Contains("listening on", StringComparison.Ordinal) || line.StartsWith("(exited", StringComparison.Ordinal)) return line;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the server did not log where it listens within 15 s");
        }
    }

    [Fact]
    public void TheServerRunsOnCatpowderFromAConfigFile()
    {
        using var pair = new VethPair();
        string config = WriteConfig(pair);
        using var server = VethPair.Start(pair.Ours, "dotnet", Program("Demikernel.Server.dll"), "--libos", "catpowder", "--config", config, "--protected-mode", "no");
        try
        {
            string banner = ListeningLine(server);
            output.WriteLine(banner);
            Assert.Contains($"on catpowder, listening on {VethPair.OurAddress}:6380", banner);
            var ping = pair.Linux(Short, "redis-cli", "-h", VethPair.OurAddress, "-p", "6380", "PING");
            Assert.Equal("PONG", ping.Stdout.Trim());
            var set = pair.Linux(Short, "redis-cli", "-h", VethPair.OurAddress, "-p", "6380", "SET", "k", "v");
            Assert.Equal("OK", set.Stdout.Trim());
        }
        finally
        {
            Tool.Kill(server);
            File.Delete(config);
        }
    }

    [Fact]
    public void TheEchoExampleRunsOnCatpowderFromAConfigFile()
    {
        using var pair = new VethPair();
        string config = WriteConfig(pair);
        using var echo = VethPair.Start(pair.Ours, "dotnet", Program("demi-echo.dll"), "server", "--libos", "catpowder", "--config", config,
            "--listen", $"{VethPair.OurAddress}:7000");
        try
        {
            string banner = FirstLine(echo);
            output.WriteLine(banner);
            Assert.Contains($"listening on {VethPair.OurAddress}:7000", banner);
            var r = pair.Linux(TimeSpan.FromSeconds(60), "python3", "bulk_echo_client.py", VethPair.OurAddress, "7000", "10000000", "30");
            output.WriteLine(r.Output);
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        finally
        {
            Tool.Kill(echo);
            File.Delete(config);
        }
    }

    [Fact]
    public void ABadConfigFileStopsTheServerWithTheKeyNamed()
    {
        string config = WriteConfig("""
            raw_socket:
              linux_interface_name: eth0
            server:
              libos: catpowder
            """);
        try
        {
            var r = Tool.Run(Short, "dotnet", Program("Demikernel.Server.dll"), "--config", config);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("error: demikernel.local_ipv4_addr is required for catpowder", r.Stderr);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
