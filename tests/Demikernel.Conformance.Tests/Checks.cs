using System.Globalization;
using System.Text.RegularExpressions;
using Demikernel.Examples.Echo;
using Demikernel.LoadGen;
using Demikernel.Runtime;
using Demikernel.Server;
using Xunit.Abstractions;

namespace Demikernel.Conformance.Tests;

/// <summary>
/// The matrix's checks, each against a <see cref="Site"/> (a target in its namespace, with what reaches it), and the
/// same checks for catloop inside the test process. Our programs run as child processes: the echo example
/// (demi-echo), the server, the load generator, and this assembly as a program (tests/Support/Host.cs).
/// </summary>
internal static partial class Checks
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(120);
    private const string Self = "Demikernel.Conformance.Tests.dll";
    private const long EchoBytes = 100_000_000;

    public static void For(Site site, string check, ITestOutputHelper output)
    {
        switch (check)
        {
            case Matrix.QueueApi: QueueApi(site, output); break;
            case Matrix.Echo: Echo(site, output); break;
            case Matrix.RedisTools: RedisTools(site, output); break;
            case Matrix.LoadGen: LoadGen(site, output); break;
            case Matrix.LinuxTcp: LinuxTcp(site, output); break;
            default: throw new ArgumentException($"no check {check}");
        }
    }

    /// <summary>
    /// The queue API from a client on the target (Host.Queue: a multi-segment SGA echoed intact, WaitAny's index, a
    /// timed-out wait leaving its pop pending, EBADF after close; Host.Refused: a connect to a port nobody listens on
    /// ends in ECONNREFUSED within 5 s), against Linux's echo server where Linux reaches the target, else against the
    /// echo example on the same target.
    /// </summary>
    private static void QueueApi(Site site, ITestOutputHelper output)
    {
        ushort port = site.Port(), closed = site.Port();
        using var ourServer = site.LinuxAddress is null ? EchoServer(site, port) : null;
        if (site.LinuxAddress is not null) StartLinuxEchoServer(site, port);
        string peer = site.LinuxAddress ?? site.ServerAddress;
        using (var queue = site.StartClient(Self, ["queue", .. site.Args(client: true), "--target", $"{peer}:{port}"]))
            output.WriteLine(queue.Succeed(Run));
        using var refused = site.StartClient(Self, ["refused", .. site.Args(client: true), "--target", $"{peer}:{closed}"]);
        output.WriteLine(refused.Succeed(Run));
    }

    /// <summary>
    /// The echo example serving on the target; 100 MB sent and every byte of it echoed back and compared: by Linux's
    /// TCP (a Python client, SHA-256 both ways) where Linux reaches the target, else by the echo example's client on the
    /// same target (4 connections × 25 MB, every byte checked against its pattern).
    /// </summary>
    private static void Echo(Site site, ITestOutputHelper output)
    {
        ushort port = site.Port();
        using var server = EchoServer(site, port);
        if (site.LinuxAddress is not null)
        {
            var r = site.Linux(TimeSpan.FromSeconds(150), "python3", "bulk_echo_client.py", site.ServerAddress, port.ToString(CultureInfo.InvariantCulture),
                EchoBytes.ToString(CultureInfo.InvariantCulture), "120");
            output.WriteLine(r.ToString());
            Assert.True(r.ExitCode == 0, $"{r}\n--- echo server ---\n{server.Output}");
            Assert.Contains($"received={EchoBytes} ", r.Stdout);
            Assert.Contains("intact=True", r.Stdout);
        }
        else
        {
            using var client = site.StartClient("demi-echo.dll", ["client", .. site.Args(client: true), "--connect", $"{site.ServerAddress}:{port}",
                "--connections", "4", "--bytes", (EchoBytes / 4).ToString(CultureInfo.InvariantCulture), "--message-size", "65536", "--timeout", "120"]);
            string report = client.Succeed(TimeSpan.FromSeconds(150));
            output.WriteLine(report);
            Assert.Contains($"verified {EchoBytes} bytes", report);
            Assert.Contains("integrity: ok", report);
        }
    }

    /// <summary>
    /// The server on the target; redis-cli (PING, SET, GET, a 300 kB value each way) and redis-benchmark from Linux.
    /// On catmem, Linux reaches the server over TCP (catnap) beside its catmem listener (<c>--catmem-listen</c>) at the
    /// same port, and our RESP checker talks to it over catmem meanwhile: one dataset, both paths.
    /// </summary>
    private static void RedisTools(Site site, ITestOutputHelper output)
    {
        ushort port = site.Port();
        bool catmem = site is CatmemSite;
        using var server = catmem ? Server(site, port, ["--libos", "catnap", "--catmem-listen", port.ToString(CultureInfo.InvariantCulture)]) : Server(site, port);
        string host = site.ServerAddress, p = port.ToString(CultureInfo.InvariantCulture);
        string[] cli = ["-h", host, "-p", p];
        Assert.Equal("PONG", Cli(site, [.. cli, "PING"]));
        Assert.Equal("OK", Cli(site, [.. cli, "SET", "k", "v"]));
        Assert.Equal("v", Cli(site, [.. cli, "GET", "k"]));
        var big = site.Linux(Short, "sh", "-c",
            $"head -c 300000 /dev/zero | tr '\\000' x | redis-cli -h {host} -p {p} -x SET big >/dev/null && " +
            $"redis-cli -h {host} -p {p} STRLEN big && redis-cli -h {host} -p {p} GET big | tr -d '\\n' | tr -d x | wc -c");
        Assert.True(big.ExitCode == 0, big.ToString());
        Assert.Equal(["300000", "0"], big.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var bench = site.Linux(TimeSpan.FromSeconds(120), "redis-benchmark", [.. cli, "-t", "set,get", "-n", "20000", "-c", "20", "-q"]);
        string text = bench.Output.Replace('\r', '\n');
        foreach (var line in text.Split('\n').Where(l => l.Contains("requests per second", StringComparison.Ordinal))) output.WriteLine(line.Trim());
        Assert.True(bench.ExitCode == 0, bench.ToString());
        Assert.DoesNotContain("error", text, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"SET: [\d.]+ requests per second", text);
        Assert.Matches(@"GET: [\d.]+ requests per second", text);
        // k, big and redis-benchmark's one key (key:__rand_int__, no -r).
        Assert.Equal("3", Cli(site, [.. cli, "DBSIZE"]));
        if (catmem)
        {
            using (var resp = site.StartClient(Self, ["resp", .. site.Args(client: true), "--target", $"{host}:{p}"]))
                output.WriteLine(resp.Succeed(Run));
            Assert.Equal($"catmem-listen\n{p}", Cli(site, [.. cli, "CONFIG", "GET", "catmem-listen"]));
            Assert.Equal("2", Cli(site, [.. cli, "EXISTS", "k", "catnip:0"])); // one from each path
        }
        Assert.False(server.HasExited, server.Output);
    }

    /// <summary>
    /// The server on the target and our clients: on the same target where a second process of it can connect (on a
    /// veth: our stack at Linux's end too), else on catnap from Linux's side (tap). First Host.Resp (SET/GET/DEL of values up to 300 kB and 200 pipelined SETs and GETs,
    /// every reply compared byte for byte with redis-server's), then the load generator: 4 connections × pipeline 8,
    /// SET:GET 1:1, 20,000 measured requests, no error reply.
    /// </summary>
    private static void LoadGen(Site site, ITestOutputHelper output)
    {
        ushort port = site.Port();
        using var server = Server(site, port);
        string target = $"{site.ServerAddress}:{port}";
        string[] load = ["--target", target, "--connections", "4", "--pipeline", "8", "--ratio", "1:1",
                         "--keyspace", "1000", "--value-size", "100", "--preload", "--requests", "20000", "--warmup", "0"];
        string report;
        string libos;
        if (site.SecondInstance)
        {
            using (var resp = site.StartClient(Self, ["resp", .. site.Args(client: true), "--target", target]))
                output.WriteLine(resp.Succeed(Run));
            using var client = site.StartClient("demi-loadgen.dll", [.. site.Args(client: true), .. load]);
            report = client.Succeed(Run);
            libos = site.LibOS;
        }
        else
        {
            var resp = site.Linux(Run, "dotnet", [Path.Combine(AppContext.BaseDirectory, Self), "resp", "--libos", "catnap", "--target", target]);
            Assert.True(resp.ExitCode == 0, $"{resp}\n--- server ---\n{server.Output}");
            output.WriteLine(resp.Output);
            var r = site.Linux(Run, "dotnet", [Path.Combine(AppContext.BaseDirectory, "demi-loadgen.dll"), "--libos", "catnap", .. load]);
            Assert.True(r.ExitCode == 0, $"{r}\n--- server ---\n{server.Output}");
            report = r.Output;
            libos = "catnap";
        }
        output.WriteLine(report);
        var m = LoadSummary().Match(report);
        Assert.True(m.Success, report);
        Assert.Equal("20000", m.Groups[1].Value);
        Assert.Equal("0", m.Groups[2].Value);
        Assert.Contains($"libos={libos} ", report);
        Assert.False(server.HasExited, server.Output);
    }

    /// <summary>
    /// Our stack as Linux's TCP peer the other way round from the echo cell: the echo example's client on the target
    /// against Linux's echo server (Python, kernel TCP), 4 connections × 2 MB, every byte checked.
    /// </summary>
    private static void LinuxTcp(Site site, ITestOutputHelper output)
    {
        ushort port = site.Port();
        StartLinuxEchoServer(site, port);
        using var client = site.StartClient("demi-echo.dll", ["client", .. site.Args(client: true), "--connect", $"{site.LinuxAddress}:{port}",
            "--connections", "4", "--bytes", "2000000", "--message-size", "4096", "--timeout", "60"]);
        string report = client.Succeed(Run);
        output.WriteLine(report);
        Assert.Contains("integrity: ok", report);
    }

    private static Child EchoServer(Site site, ushort port)
    {
        var server = site.Start("demi-echo.dll", ["server", .. site.Args(client: false), "--listen", $"{site.ServerAddress}:{port}"]);
        try
        {
            server.WaitFor("listening on", Start);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    internal static Child Server(Site site, ushort port, string[]? libos = null)
    {
        var server = site.Start("Demikernel.Server.dll", [.. libos ?? site.Args(client: false), "--bind", site.ServerAddress, "--port", port.ToString(CultureInfo.InvariantCulture),
            "--protected-mode", "no", "--save", "", "--appendonly", "no"]);
        try
        {
            server.WaitFor("Ready to accept connections", Start);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Linux's echo server (Python, kernel TCP) on Linux's side; the site kills it.</summary>
    private static void StartLinuxEchoServer(Site site, ushort port)
    {
        var server = site.StartLinux("python3", "echo_server.py", site.LinuxBind, port.ToString(CultureInfo.InvariantCulture), "150");
        string? line = server.StandardOutput.ReadLine();
        if (line != "listening") Assert.Fail($"Linux's echo server did not start: {line} {server.StandardError.ReadToEnd()}");
    }

    private static string Cli(Site site, string[] args)
    {
        var r = site.Linux(Short, "redis-cli", args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    [GeneratedRegex(@"requests=(\d+) .* error_replies=(\d+)")]
    private static partial Regex LoadSummary();

    // catloop: no other process can reach its streams, so each check runs in the test process, on one libOS instance
    // whose scheduler runs the server's and the client's coroutines alike.

    public static void Catloop(string check, ITestOutputHelper output)
    {
        using var libos = Demikernel.LibOS.Create("catloop");
        switch (check)
        {
            case Matrix.QueueApi:
            {
                var at = Listen(libos);
                output.WriteLine(Host.Queue(libos, at));
                output.WriteLine(Host.Refused(libos, IPv4Endpoint.Loopback(1)));
                break;
            }
            case Matrix.Echo:
            {
                var at = Listen(libos);
                var client = new EchoClient(libos, at, connections: 4, bytesPerConnection: EchoBytes / 4, messageSize: 65536);
                var elapsed = client.Run(Run);
                output.WriteLine($"{client.BytesVerified} bytes verified in {elapsed.TotalSeconds:F2} s");
                Assert.Empty(client.Errors);
                Assert.Equal(0, client.Mismatches);
                Assert.Equal(EchoBytes, client.BytesVerified);
                break;
            }
            case Matrix.LoadGen:
            {
                var server = new RedisServer(libos, new ServerOptions { Bind = "127.0.0.1", Port = 6379, LibOS = "catloop", Save = "", ProtectedMode = false });
                Assert.Equal(0, server.Start());
                output.WriteLine(Host.Resp(libos, IPv4Endpoint.Loopback(6379)));
                var load = new LoadGenerator(libos, new LoadOptions
                {
                    Target = IPv4Endpoint.Loopback(6379), Connections = 4, Pipeline = 8, KeySpace = 1000, ValueSize = 100,
                    SetShare = 1, GetShare = 1, Requests = 20_000, Warmup = TimeSpan.Zero, Preload = true,
                });
                Assert.True(load.Preload(Run), string.Join('\n', load.Errors));
                Assert.True(load.Run(Run), string.Join('\n', load.Errors));
                output.WriteLine($"requests={load.Completed} in {load.MeasuredSeconds:F3} s, p50={load.Histogram.GetValueAtPercentile(50) / 1000.0:F1} µs");
                Assert.Empty(load.Errors);
                Assert.Equal(20_000, load.Completed);
                Assert.Equal(0, load.ErrorReplies);
                server.Stop();
                break;
            }
            default:
                throw new ArgumentException($"catloop has no {check} cell");
        }
    }

    private static IPv4Endpoint Listen(DemiLibOS libos)
    {
        var echo = new Demikernel.Examples.Echo.EchoServer(libos);
        Assert.Equal(0, echo.Listen(IPv4Endpoint.Loopback(0), out var listener));
        Assert.Equal(0, libos.GetSockName(listener, out var at));
        return (IPv4Endpoint)at;
    }
}
