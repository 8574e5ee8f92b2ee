using System.CommandLine;
using Demikernel;
using Demikernel.Examples.Echo;
using Demikernel.Runtime;

var libosOption = new Option<string>("--libos") { Description = $"libOS to run on: {string.Join(", ", LibOS.Available)} (default catnap)", DefaultValueFactory = _ => LibOS.DefaultName };
var configOption = new Option<string?>("--config") { Description = "Demikernel-style YAML config file" };

var listenOption = new Option<string>("--listen") { Description = "address:port to listen on", DefaultValueFactory = _ => "127.0.0.1:7000" };
var server = new Command("server", "Echo every byte on every connection until the client closes") { libosOption, configOption, listenOption };
server.SetAction(parse =>
{
    if (!IPv4Endpoint.TryParse(parse.GetValue(listenOption)!, out var at)) return Fail($"--listen: '{parse.GetValue(listenOption)}' is not address:port");
    using var libos = Open(parse.GetValue(libosOption), parse.GetValue(configOption));
    if (libos is null) return 1;
    var echo = new EchoServer(libos);
    int rc = echo.Listen(at.Value, out _);
    if (rc != 0) return Fail($"cannot listen on {at}: {Errno.Name(rc)}");
    Console.WriteLine($"echo server on {libos.Name} listening on {at}");
    libos.RunUntil(() => false);
    return 0;
});

var connectOption = new Option<string>("--connect") { Description = "server address:port", DefaultValueFactory = _ => "127.0.0.1:7000" };
var connectionsOption = new Option<int>("--connections") { Description = "concurrent connections", DefaultValueFactory = _ => 1 };
var bytesOption = new Option<long>("--bytes") { Description = "bytes each connection sends and checks", DefaultValueFactory = _ => 1_000_000 };
var messageOption = new Option<int>("--message-size") { Description = "bytes per round trip", DefaultValueFactory = _ => 1024 };
var timeoutOption = new Option<int>("--timeout") { Description = "seconds before giving up", DefaultValueFactory = _ => 120 };
var client = new Command("client", "Send a byte pattern over N connections, check every echoed byte, print throughput and round-trip percentiles")
{
    libosOption, configOption, connectOption, connectionsOption, bytesOption, messageOption, timeoutOption,
};
client.SetAction(parse =>
{
    if (!IPv4Endpoint.TryParse(parse.GetValue(connectOption)!, out var to)) return Fail($"--connect: '{parse.GetValue(connectOption)}' is not address:port");
    int connections = parse.GetValue(connectionsOption), messageSize = parse.GetValue(messageOption);
    long bytes = parse.GetValue(bytesOption);
    if (connections <= 0 || messageSize <= 0 || bytes < 0) return Fail("--connections and --message-size must be positive, --bytes not negative");
    using var libos = Open(parse.GetValue(libosOption), parse.GetValue(configOption));
    if (libos is null) return 1;
    var echo = new EchoClient(libos, to.Value, connections, bytes, messageSize);
    var elapsed = echo.Run(TimeSpan.FromSeconds(parse.GetValue(timeoutOption)));
    double mb = echo.BytesVerified / 1e6;
    Console.WriteLine($"libos={libos.Name} connections={connections} bytes/conn={bytes} message={messageSize}");
    Console.WriteLine($"verified {echo.BytesVerified} bytes in {elapsed.TotalSeconds:F3} s: {mb / elapsed.TotalSeconds:F1} MB/s each way, {echo.RoundTrips} round trips");
    Console.WriteLine($"round trip µs: p50={echo.Percentile(50):F1} p99={echo.Percentile(99):F1} p99.9={echo.Percentile(99.9):F1}");
    foreach (var e in echo.Errors.Take(10)) Console.Error.WriteLine(e);
    bool ok = echo.Errors.Count == 0 && echo.Mismatches == 0 && echo.BytesVerified == bytes * connections;
    Console.WriteLine(ok ? "integrity: ok" : $"integrity: FAILED ({echo.Mismatches} mismatched bytes, {echo.Errors.Count} errors)");
    return ok ? 0 : 1;
});

var root = new RootCommand("Echo example over the Demikernel queue API") { server, client };
return root.Parse(args).Invoke();

static int Fail(string message)
{
    Console.Error.WriteLine($"error: {message}");
    return 2;
}

static DemiLibOS? Open(string? name, string? configPath)
{
    try
    {
        var config = configPath is null ? null : LibOSConfig.Load(configPath);
        return LibOS.Create(name, config);
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return null;
    }
}
