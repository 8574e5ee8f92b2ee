using Demikernel.Catpowder.Tests;
using Xunit.Abstractions;

namespace Demikernel.Catnip.Tests;

/// <summary>
/// catnip on both ends of a DPDK memif (shared memory between two processes; no kernel on the data path): the server
/// (or the echo example) with <c>role=server</c>, our clients with <c>role=client</c>, each a process of its own.
/// </summary>
[Collection(CatnipCollection.Name)]
public sealed class MemifTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);
    private const string ServerAddress = "10.88.0.1", ClientAddress = "10.88.0.2";

    private static (string Server, string Client, string CopyingClient) Configs(TempFiles files)
    {
        string socket = files.Path(".memif.sock");
        return (
            files.Write(".yaml", CatnipSetup.Config(ServerAddress, "02:00:00:00:88:01", $"net_memif0,role=server,socket={socket}")),
            files.Write(".yaml", CatnipSetup.Config(ClientAddress, "02:00:00:00:88:02", $"net_memif0,role=client,socket={socket}")),
            files.Write(".yaml", CatnipSetup.Config(ClientAddress, "02:00:00:00:88:02", $"net_memif0,role=client,socket={socket}", copying: true)));
    }

    [Fact]
    public void TheServerOnMemifAnswersGetAndSetFromCatnipClients()
    {
        CatnipSetup.RequireShim();
        using var files = new TempFiles();
        var (serverConfig, clientConfig, _) = Configs(files);
        using var server = Child.Dotnet(null, "Demikernel.Server.dll", "--libos", "catnip", "--config", serverConfig,
            "--bind", ServerAddress, "--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no");
        server.WaitFor("Ready to accept connections", Start);

        // Replies byte for byte (values up to 300 kB, pipelined batches), then a refused connect, each client a new process.
        // The client's replies (up to 300 kB) reach its pops in their own mbufs: Host checks the copy counters are 0.
        using (var resp = Child.Dotnet(null, "Demikernel.Catnip.Tests.dll", "resp", "--libos", "catnip", "--config", clientConfig, "--target", $"{ServerAddress}:6379"))
        {
            string checkedReplies = resp.Succeed(Run);
            output.WriteLine(checkedReplies);
            Assert.Contains("without a copy (0 bytes copied), every mbuf back", checkedReplies);
        }
        using (var refused = Child.Dotnet(null, "Demikernel.Catnip.Tests.dll", "refused", "--libos", "catnip", "--config", clientConfig, "--target", $"{ServerAddress}:6390"))
            output.WriteLine(refused.Succeed(Run));

        // The load generator on catnip: 4 connections × pipeline 4, SET:GET 1:1, no error reply.
        using var load = Child.Dotnet(null, "demi-loadgen.dll", "--libos", "catnip", "--config", clientConfig, "--target", $"{ServerAddress}:6379",
            "--connections", "4", "--pipeline", "4", "--ratio", "1:1", "--keyspace", "1000", "--preload", "--requests", "40000", "--warmup", "0.2");
        string report = load.Succeed(Run);
        output.WriteLine(report);
        Assert.Contains("error_replies=0", report);
        Assert.Matches(@"requests=4\d{4} ", report);
        Assert.False(server.HasExited, server.Output);
    }

    [Fact]
    public void TheEchoExampleAndTheQueueApiWorkOverMemif()
    {
        CatnipSetup.RequireShim();
        using var files = new TempFiles();
        var (serverConfig, clientConfig, copyingClient) = Configs(files);
        using var server = Child.Dotnet(null, "demi-echo.dll", "server", "--libos", "catnip", "--config", serverConfig, "--listen", $"{ServerAddress}:7000");
        server.WaitFor("listening on", Start);
        // The echo client copies both ways (dpdk.rx_zero_copy/tx_zero_copy false), against a zero-copy server that
        // pushes the mbufs it received straight back (chained): both paths, interoperating.
        using var client = Child.Dotnet(null, "demi-echo.dll", "client", "--libos", "catnip", "--config", copyingClient, "--connect", $"{ServerAddress}:7000",
            "--connections", "4", "--bytes", "5000000", "--message-size", "16384", "--timeout", "60");
        string report = client.Succeed(Run);
        output.WriteLine(report);
        Assert.Contains("integrity: ok", report);
        using var queue = Child.Dotnet(null, "Demikernel.Catnip.Tests.dll", "queue", "--libos", "catnip", "--config", clientConfig, "--target", $"{ServerAddress}:7000");
        output.WriteLine(queue.Succeed(Run));
    }
}
