using System.Diagnostics;
using Demikernel.Examples.Echo;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>The echo example on catnap against clients that are not ours: a plain Python program over Linux sockets.</summary>
public class EchoInteropTests
{
    [Fact]
    public void EchoServesTwoHundredPythonConnectionsWithEveryByteIntact()
    {
        using var server = new EchoServerThread("catnap");
        ushort port = server.Port;

        var psi = new ProcessStartInfo("python3", ["echo_client.py", "127.0.0.1", port.ToString(), "200", "50000", "60"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        using var client = Process.Start(psi)!;
        string output = client.StandardOutput.ReadToEnd() + client.StandardError.ReadToEnd();
        if (!client.WaitForExit(TimeSpan.FromSeconds(90))) client.Kill(entireProcessTree: true);
        server.Dispose();
        Assert.True(client.ExitCode == 0, output);
        Assert.Contains("done=200 corrupted_or_closed=0", output);
    }

    [Fact]
    public void EchoClientVerifiesEveryByteOverCatnap()
    {
        using var libos = LibOS.Create("catnap");
        var server = new EchoServer(libos);
        Assert.Equal(0, server.Listen(IPv4Endpoint.Loopback(0), out var listener));
        libos.GetSockName(listener, out var at);
        var client = new EchoClient(libos, IPv4Endpoint.Loopback(at.Port), connections: 16, bytesPerConnection: 200_000, messageSize: 3000);
        client.Run(TimeSpan.FromSeconds(60));
        Assert.Empty(client.Errors);
        Assert.Equal(0, client.Mismatches);
        Assert.Equal(16 * 200_000, client.BytesVerified);
        Assert.True(client.Percentile(99) > 0);
    }
}
