using System.Globalization;
using System.Text.RegularExpressions;
using Demikernel.Runtime;
using Demikernel.Server;
using Xunit.Abstractions;

namespace Demikernel.Catpowder.Tests;

/// <summary>
/// The server running in-process on catpowder in our namespace; <c>redis-cli</c> and <c>redis-benchmark</c> from
/// Linux's side of the veth pair. The issue's "done when": redis-benchmark -t set,get -n 100000 -c 50 completes
/// without errors.
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed partial class RedisInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void RedisCliPingSetGetAndALargeValue(string mode)
    {
        using var pair = new VethPair();
        pair.PrepareFor(mode);
        using var server = StartServer(pair, mode);
        string[] at = ["-h", VethPair.OurAddress, "-p", "6379"];
        Assert.Equal("PONG", Cli(pair, [.. at, "PING"]));
        Assert.Equal("OK", Cli(pair, [.. at, "SET", "greeting", "hello from linux"]));
        Assert.Equal("hello from linux", Cli(pair, [.. at, "GET", "greeting"]));

        // A value of many segments each way: 300 kB in through -x (stdin), back out through GET.
        string big = string.Concat(Enumerable.Range(0, 30_000).Select(i => (i % 100_000).ToString("D10", CultureInfo.InvariantCulture)));
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, big);
            var set = pair.Linux(Short, "sh", "-c", $"redis-cli -h {VethPair.OurAddress} -p 6379 -x SET big < {file}");
            Assert.True(set.ExitCode == 0 && set.Stdout.Trim() == "OK", set.ToString());
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Equal("300000", Cli(pair, [.. at, "STRLEN", "big"]));
        var get = pair.Linux(Short, "redis-cli", [.. at, "--no-raw", "GET", "big"]);
        Assert.Equal($"\"{big}\"", get.Stdout.Trim());
        server.Stop();
    }

    [Theory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void RedisBenchmarkSetGetCompletesWithoutErrors(string mode)
    {
        using var pair = new VethPair();
        pair.PrepareFor(mode);
        using var server = StartServer(pair, mode);
        var r = pair.Linux(TimeSpan.FromSeconds(240), "redis-benchmark",
            "-h", VethPair.OurAddress, "-p", "6379", "-t", "set,get", "-n", "100000", "-c", "50", "-q");
        string text = r.Output.Replace('\r', '\n');
        foreach (var line in text.Split('\n').Where(l => l.Contains("requests per second", StringComparison.Ordinal))) output.WriteLine(line.Trim());
        server.Stop();
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("error", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("reset", text, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(RpsPattern("SET"), text);
        Assert.Matches(RpsPattern("GET"), text);
    }

    private static Regex RpsPattern(string test) => new($@"{test}: [\d.]+ requests per second");

    private string Cli(VethPair pair, string[] args)
    {
        var r = pair.Linux(Short, "redis-cli", args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    private static NamespaceThread StartServer(VethPair pair, string mode) =>
        NamespaceThread.StartAndWait(pair.Ours, t =>
        {
            using var libos = LibOS.Create("catpowder", pair.Config(mode: mode));
            var server = new RedisServer(libos, new ServerOptions { Bind = VethPair.OurAddress, Port = 6379, LibOS = "catpowder", Save = "", ProtectedMode = false });
            int rc = server.Start();
            if (rc != 0) throw new InvalidOperationException($"server start: {Errno.Name(rc)}");
            t.Ready();
            t.RunUntilStopped(libos);
            server.Stop();
            libos.RunUntil(() => false, TimeSpan.FromMilliseconds(100)); // let the closes go out
        }, Short);
}
