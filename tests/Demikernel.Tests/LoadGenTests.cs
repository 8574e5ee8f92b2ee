using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Demikernel.LoadGen;

namespace Demikernel.Tests;

/// <summary>
/// The load generator (bench/Demikernel.LoadGen): its reply scanner over fragmented input, and whole runs against our
/// server in another process, over catnap (kernel TCP) and catmem (shared memory).
/// </summary>
public partial class LoadGenTests
{
    private static readonly string Replies = "+OK\r\n$5\r\nhello\r\n$-1\r\n:42\r\n-ERR wrong\r\n$0\r\n\r\n$12\r\nhello\r\nworld\r\n";

    [Fact]
    public void ScannerCountsRepliesSplitAtEveryByte()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Replies);
        for (int split = 0; split <= bytes.Length; split++)
        {
            var scanner = new ReplyScanner();
            int taken = 0;
            scanner.Append(bytes.AsSpan(0, split));
            while (scanner.TryTake()) taken++;
            scanner.Append(bytes.AsSpan(split));
            while (scanner.TryTake()) taken++;
            Assert.Equal(7, taken);
            Assert.Equal(1, scanner.Errors);
            Assert.Equal("ERR wrong", scanner.FirstError);
        }
        var oneByOne = new ReplyScanner();
        int count = 0;
        foreach (byte b in bytes)
        {
            oneByOne.Append([b]);
            while (oneByOne.TryTake()) count++;
        }
        Assert.Equal(7, count);
    }

    [Fact]
    public void ScannerRefusesRepliesItNeverAsksFor()
    {
        var scanner = new ReplyScanner();
        scanner.Append("*1\r\n+OK\r\n"u8);
        Assert.Throws<InvalidDataException>(() => scanner.TryTake());
    }

    [GeneratedRegex(@"requests=(\d+) .* error_replies=(\d+)")]
    private static partial Regex Summary();

    [Theory]
    [InlineData("catnap")]
    [InlineData("catmem")]
    public void RunsAgainstOurServerAndCountsEveryRequest(string libos)
    {
        int port;
        using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)); // a port the kernel has free
            port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }
        string dir = Directory.CreateTempSubdirectory("loadgen").FullName;
        var server = Process.Start(new ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "Demikernel.Server.dll"), "--libos", libos, "--port", port.ToString(), "--save", ""])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var serverOutput = new StringBuilder();
        using var ready = new ManualResetEventSlim();
        server.OutputDataReceived += (_, e) =>
        {
            lock (serverOutput) serverOutput.AppendLine(e.Data);
            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true) ready.Set();
        };
        server.BeginOutputReadLine();
        try
        {
            Assert.True(ready.Wait(TimeSpan.FromSeconds(30)), $"server did not start: {serverOutput}");
            var client = Process.Start(new ProcessStartInfo("dotnet",
                [Path.Combine(AppContext.BaseDirectory, "demi-loadgen.dll"), "--libos", libos, "--target", $"127.0.0.1:{port}",
                 "--connections", "4", "--pipeline", "8", "--ratio", "1:1", "--keyspace", "1000", "--value-size", "100",
                 "--requests", "20000", "--warmup", "0", "--preload"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var stderr = client.StandardError.ReadToEndAsync();
            string output = client.StandardOutput.ReadToEnd();
            Assert.True(client.WaitForExit(TimeSpan.FromSeconds(60)), output);
            output += stderr.Result;
            Assert.True(client.ExitCode == 0, output);
            var m = Summary().Match(output);
            Assert.True(m.Success, output);
            Assert.Equal("20000", m.Groups[1].Value);
            Assert.Equal("0", m.Groups[2].Value);
            Assert.Contains($"libos={libos}", output);
        }
        finally
        {
            server.Kill();
            server.WaitForExit();
            CatmemTests.RemoveBellsOf(server.Id);
            Directory.Delete(dir, recursive: true);
            File.Delete($"/dev/shm/demikernel-catmem.{port}"); // a killed catmem server leaves its listener's name behind
        }
    }
}
