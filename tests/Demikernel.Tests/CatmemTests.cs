using System.Diagnostics;
using Demikernel.Runtime;
using Demikernel;

namespace Demikernel.Tests;

/// <summary>
/// catmem between two real processes: the echo server in this process, the echo client (libos/examples/Echo) in
/// another, both on shared-memory rings in /dev/shm. The queue API's own semantics run in <see cref="QueueApiTests"/>.
/// </summary>
public class CatmemTests
{
    private static string ShmFiles(ushort port) =>
        string.Join(", ", Directory.GetFiles("/dev/shm", $"demikernel-catmem.{port}*").Select(Path.GetFileName));

    [Fact]
    public void HundredMegabytesEachWayBetweenTwoProcessesArriveIntact()
    {
        using var server = new EchoServerThread("catmem", assertNoFaults: true);
        ushort port = server.Port;
        Assert.True(File.Exists($"/dev/shm/demikernel-catmem.{port}"));

        const long bytes = 100_000_000;
        var psi = new ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "demi-echo.dll"), "client", "--libos", "catmem", "--connect", $"127.0.0.1:{port}",
             "--connections", "2", "--bytes", (bytes / 2).ToString(), "--message-size", "65536", "--timeout", "60"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var client = Process.Start(psi)!;
        var stderr = client.StandardError.ReadToEndAsync();
        string output = client.StandardOutput.ReadToEnd();
        if (!client.WaitForExit(TimeSpan.FromSeconds(90))) client.Kill(entireProcessTree: true);
        output += stderr.Result;
        server.Dispose();
        Assert.True(client.ExitCode == 0, output);
        Assert.Contains("integrity: ok", output);
        Assert.Contains($"verified {bytes} bytes", output);
        // The server unlinked each connection's file when it mapped it, and its listener's when it closed.
        Assert.Equal("", ShmFiles(port));
    }

    [Fact]
    public void AListenerFileLeftByADeadProcessIsReplacedAndALiveOneRefused()
    {
        ushort port = (ushort)Random.Shared.Next(20000, 40000);
        string path = $"/dev/shm/demikernel-catmem.{port}";
        // A listener file whose owner (a process that exited) is gone.
        using (var dead = Process.Start(new ProcessStartInfo("true"))!)
        {
            dead.WaitForExit();
            var header = new byte[128 + 64 * 8];
            BitConverter.TryWriteBytes(header.AsSpan(0), 0x4C4D454D43494D44UL);
            BitConverter.TryWriteBytes(header.AsSpan(8), dead.Id);
            File.WriteAllBytes(path, header);
        }
        try
        {
            using var a = LibOS.Create("catmem");
            Assert.Equal(0, a.Socket(SocketKind.Stream, out var l));
            Assert.Equal(0, a.Bind(l, IPv4Endpoint.Loopback(port)));
            using var b = LibOS.Create("catmem");
            Assert.Equal(0, b.Socket(SocketKind.Stream, out var l2));
            Assert.Equal(Errno.EADDRINUSE, b.Bind(l2, IPv4Endpoint.Loopback(port)));
            // Bound but not listening: a connect is refused, as TCP's would be.
            Assert.Equal(0, b.Socket(SocketKind.Stream, out var c));
            Assert.Equal(0, b.Connect(c, IPv4Endpoint.Loopback(port), out var qt));
            Assert.Equal(0, b.Wait(qt, out var r, TimeSpan.FromSeconds(5)));
            Assert.Equal(Errno.ECONNREFUSED, r.Ret);
            a.Close(l);
            Assert.False(File.Exists(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void APeerProcessThatDiesWithoutClosingResetsTheConnection()
    {
        using var libos = LibOS.Create("catmem");
        var l = QueueApiTests.Listen(libos, out var at);
        Assert.Equal(0, libos.Accept(l, out var aqt));
        // The echo client in another process connects, and is killed while we wait for its data.
        var psi = new ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "demi-echo.dll"), "client", "--libos", "catmem", "--connect", $"127.0.0.1:{at.Port}",
             "--bytes", "1000000000", "--message-size", "1", "--timeout", "60"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var client = Process.Start(psi)!;
        try
        {
            Assert.Equal(0, libos.Wait(aqt, out var accepted, TimeSpan.FromSeconds(30)));
            Assert.Equal(OpCode.Accept, accepted.Opcode);
            var qd = accepted.AcceptedQd;
            Assert.Equal(0, libos.Pop(qd, out var pqt));
            Assert.Equal(0, libos.Wait(pqt, out var first, TimeSpan.FromSeconds(30)));
            Assert.Equal(OpCode.Pop, first.Opcode);
            libos.SgaFree(first.Sga);
            client.Kill();
            client.WaitForExit();
            // It sent one byte and waits for the echo we never send: no more data, then the reset.
            Assert.Equal(0, libos.Pop(qd, out pqt));
            Assert.Equal(0, libos.Wait(pqt, out var reset, TimeSpan.FromSeconds(10)));
            Assert.Equal(Errno.ECONNRESET, reset.Ret);
        }
        finally
        {
            if (!client.HasExited) client.Kill();
            client.WaitForExit();
            RemoveBellsOf(client.Id);
        }
    }

    /// <summary>A process killed by a test cannot remove its doorbell (the next catmem transport would sweep it).</summary>
    internal static void RemoveBellsOf(int pid)
    {
        foreach (var f in Directory.GetFiles("/dev/shm", $"demikernel-catmem-bell.{pid}.*")) File.Delete(f);
    }

    /// <summary>
    /// Both libOSes block at once (no spin budget), so each request finds the other side asleep on its doorbell: the
    /// futex wake makes a round trip take microseconds. Without it, each would wait for the 50 ms nap to end, and 20
    /// round trips would take about a second.
    /// </summary>
    [Fact]
    public void ASleepingPeerIsWokenByTheDoorbellNotByATimeout()
    {
        var config = new LibOSConfig(_ => null);
        config.Set("demikernel", "spin_budget_us", "0");
        using var server = new EchoServerThread("catmem", config);
        var at = server.Endpoint;
        using var libos = LibOS.Create("catmem", config);
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(0, libos.Connect(qd, at, out var cqt));
        Assert.Equal(0, libos.Wait(cqt, out var connected, TimeSpan.FromSeconds(10)));
        Assert.Equal(OpCode.Connect, connected.Opcode);
        Thread.Sleep(100); // the server is asleep by now
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++)
        {
            var sga = libos.SgaAlloc(8);
            Assert.Equal(0, libos.Push(qd, sga, out var pqt));
            libos.SgaFree(sga);
            Assert.Equal(0, libos.Wait(pqt, out _, TimeSpan.FromSeconds(10)));
            int got = 0;
            while (got < 8)
            {
                Assert.Equal(0, libos.Pop(qd, out var qt));
                Assert.Equal(0, libos.Wait(qt, out var r, TimeSpan.FromSeconds(10)));
                Assert.False(r.Sga.IsEmpty);
                got += r.Sga.TotalLength;
                libos.SgaFree(r.Sga);
            }
        }
        clock.Stop();
        server.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(400), $"20 round trips took {clock.Elapsed.TotalMilliseconds:F0} ms");
    }
}
