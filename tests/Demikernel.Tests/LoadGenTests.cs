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
        using var server = new ServerProcess(libos);
        var (exitCode, output, _) = RunLoadGen(libos, server.Port, "--connections", "4", "--pipeline", "8", "--ratio", "1:1", "--keyspace", "1000",
            "--value-size", "100", "--requests", "20000", "--warmup", "0", "--preload");
        Assert.True(exitCode == 0, output);
        var m = Summary().Match(output);
        Assert.True(m.Success, output);
        Assert.Equal("20000", m.Groups[1].Value);
        Assert.Equal("0", m.Groups[2].Value);
        Assert.Contains($"libos={libos}", output);
    }

    /// <summary>
    /// A server that stops answering (every client paused for 20 s, as CLIENT PAUSE does) ends a 60-second run after
    /// --timeout (1 s) without a reply: an error naming the stall, exit 1, the figures so far still printed.
    /// </summary>
    [Fact]
    public void GivesUpWhenTheServerStopsAnswering()
    {
        using var server = new ServerProcess("catnap");
        using (var admin = new System.Net.Sockets.TcpClient("127.0.0.1", server.Port))
        {
            var stream = admin.GetStream();
            stream.Write("*4\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$5\r\n20000\r\n$3\r\nALL\r\n"u8);
            var reply = new byte[5];
            stream.ReadExactly(reply);
            Assert.Equal("+OK\r\n", Encoding.ASCII.GetString(reply));
        }
        var (exitCode, output, elapsed) = RunLoadGen("catnap", server.Port, "--duration", "60", "--warmup", "0", "--timeout", "1");
        Assert.True(exitCode == 1, output);
        Assert.Contains("no reply for 1.0 s with 1 requests outstanding", output);
        Assert.Matches(Summary(), output);
        Assert.True(elapsed < TimeSpan.FromSeconds(15), $"took {elapsed.TotalSeconds:F1} s:\n{output}");
    }

    /// <summary>Runs demi-loadgen against 127.0.0.1:<paramref name="port"/>; its exit code, stdout and stderr, and how long it took.</summary>
    private static (int ExitCode, string Output, TimeSpan Elapsed) RunLoadGen(string libos, int port, params string[] args)
    {
        var watch = Stopwatch.StartNew();
        var client = Process.Start(new ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "demi-loadgen.dll"), "--libos", libos, "--target", $"127.0.0.1:{port}", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stderr = client.StandardError.ReadToEndAsync();
        string output = client.StandardOutput.ReadToEnd();
        bool exited = client.WaitForExit(TimeSpan.FromSeconds(90));
        if (!exited) client.Kill(entireProcessTree: true);
        Assert.True(exited, output);
        return (client.ExitCode, output + stderr.Result, watch.Elapsed);
    }

    /// <summary>Our server on <c>libos</c> at a free port, in a directory of its own; killed and cleaned up on dispose.</summary>
    private sealed class ServerProcess : IDisposable
    {
        private readonly Process _server;
        private readonly string _dir = Directory.CreateTempSubdirectory("loadgen").FullName;

        public ServerProcess(string libos)
        {
            using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)); // a port the kernel has free
                Port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
            }
            _server = Process.Start(new ProcessStartInfo("dotnet",
                [Path.Combine(AppContext.BaseDirectory, "Demikernel.Server.dll"), "--libos", libos, "--port", Port.ToString(), "--save", ""])
            {
                WorkingDirectory = _dir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = new StringBuilder();
            using var ready = new ManualResetEventSlim();
            _server.OutputDataReceived += (_, e) =>
            {
                lock (output) output.AppendLine(e.Data);
                if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true) ready.Set();
            };
            _server.BeginOutputReadLine();
            if (!ready.Wait(TimeSpan.FromSeconds(30)))
            {
                Dispose();
                lock (output) Assert.Fail($"server did not start: {output}");
            }
        }

        public int Port { get; }

        public void Dispose()
        {
            if (!_server.HasExited) _server.Kill();
            _server.WaitForExit();
            CatmemTests.RemoveBellsOf(_server.Id);
            Directory.Delete(_dir, recursive: true);
            File.Delete($"/dev/shm/demikernel-catmem.{Port}"); // a killed catmem server leaves its listener's name behind
        }
    }
}
