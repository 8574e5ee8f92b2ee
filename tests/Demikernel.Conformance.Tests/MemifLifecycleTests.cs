using System.Globalization;
using Xunit.Abstractions;

namespace Demikernel.Conformance.Tests;

/// <summary>
/// The catnip server in memif's server role across its clients' comings and goings. DPDK 22.11's memif driver crashed
/// its EAL interrupt thread (SIGSEGV in <c>rte_intr_fd_get</c>) in about 1 run in 8 of our C floor program when a port
/// closed or its peer went away (bench/memif-pingpong.c); the matrix's loadgen cell sees one disconnect, too few to
/// catch that. Here the server must answer every one of a series of client processes, each of which connects its memif
/// port, runs, and disconnects, and then shut down cleanly on SIGTERM with nothing crashed.
/// </summary>
public sealed class MemifLifecycleTests(ITestOutputHelper output)
{
    private const int Clients = 8;

    [Fact]
    public void TheServerOutlivesItsClientsAndShutsDownCleanly()
    {
        using var site = new CatnipMemifSite();
        ushort port = site.Port();
        using var server = Checks.Server(site, port);
        string target = $"{site.ServerAddress}:{port.ToString(CultureInfo.InvariantCulture)}";
        for (int i = 1; i <= Clients; i++)
        {
            using (var client = site.StartClient("demi-loadgen.dll", [.. site.Args(client: true), "--target", target, "--connections", "1",
                       "--pipeline", "1", "--keyspace", "100", "--requests", "500", "--warmup", "0"]))
            {
                string report = client.Succeed(TimeSpan.FromSeconds(60));
                Assert.Contains("requests=500 ", report);
                Assert.Contains("error_replies=0", report);
            }
            Assert.False(server.HasExited, $"the server ended after client {i} disconnected:\n{server.Output}");
        }
        server.Terminate();
        int rc = server.WaitForExit(TimeSpan.FromSeconds(30));
        output.WriteLine(server.Output);
        Assert.True(rc == 0, $"the server exited with {rc} on SIGTERM after {Clients} clients:\n{server.Output}");
        Assert.Contains("ready to exit", server.Output);
    }
}
