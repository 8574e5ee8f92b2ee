using System.CommandLine;
using Demikernel;
using Demikernel.LoadGen;
using Demikernel.Runtime;
using HdrHistogram;

var libosOption = new Option<string>("--libos") { Description = $"libOS to run on: {string.Join(", ", LibOS.Available)}", DefaultValueFactory = _ => LibOS.DefaultName };
var configOption = new Option<string?>("--config") { Description = "Demikernel-style YAML config file (for catpowder: the interface and addresses)" };
var targetOption = new Option<string>("--target") { Description = "server address:port", DefaultValueFactory = _ => "127.0.0.1:6379" };
var connectionsOption = new Option<int>("--connections", "-c") { Description = "concurrent connections", DefaultValueFactory = _ => 1 };
var pipelineOption = new Option<int>("--pipeline", "-P") { Description = "requests in flight per connection", DefaultValueFactory = _ => 1 };
var keySpaceOption = new Option<int>("--keyspace") { Description = "distinct keys (key:00000000 ...)", DefaultValueFactory = _ => 10_000 };
var valueSizeOption = new Option<int>("--value-size", "-d") { Description = "bytes per SET value", DefaultValueFactory = _ => 32 };
var ratioOption = new Option<string>("--ratio") { Description = "SET:GET mix, e.g. 1:10 (memtier's notation)", DefaultValueFactory = _ => "0:1" };
var requestsOption = new Option<long>("--requests", "-n") { Description = "measured requests in all (0: run for --duration)", DefaultValueFactory = _ => 0 };
var durationOption = new Option<double>("--duration") { Description = "measured seconds (when --requests is 0)", DefaultValueFactory = _ => 10 };
var warmupOption = new Option<double>("--warmup") { Description = "seconds of unmeasured load first", DefaultValueFactory = _ => 1 };
var preloadOption = new Option<bool>("--preload") { Description = "SET every key once before the warm-up, so GETs hit" };
var labelOption = new Option<string?>("--label") { Description = "a name for this run in the report line" };
var timeoutOption = new Option<double>("--timeout") { Description = "seconds without a reply, requests outstanding, before the run gives up (an error)", DefaultValueFactory = _ => 10 };

var root = new RootCommand("RESP load generator on the Demikernel libOS: GET/SET over N pipelined connections, HdrHistogram latency")
{
    libosOption, configOption, targetOption, connectionsOption, pipelineOption, keySpaceOption, valueSizeOption, ratioOption,
    requestsOption, durationOption, warmupOption, preloadOption, labelOption, timeoutOption,
};
root.SetAction(parse =>
{
    if (!IPv4Endpoint.TryParse(parse.GetValue(targetOption)!, out var target)) return Fail($"--target: '{parse.GetValue(targetOption)}' is not address:port");
    string ratio = parse.GetValue(ratioOption)!;
    var parts = ratio.Split(':');
    if (parts.Length != 2 || !int.TryParse(parts[0], out int sets) || !int.TryParse(parts[1], out int gets) || sets < 0 || gets < 0 || sets + gets == 0)
        return Fail($"--ratio: '{ratio}' is not SET:GET with non-negative counts, not both 0");
    var options = new LoadOptions
    {
        Target = target.Value,
        Connections = parse.GetValue(connectionsOption),
        Pipeline = parse.GetValue(pipelineOption),
        KeySpace = parse.GetValue(keySpaceOption),
        ValueSize = parse.GetValue(valueSizeOption),
        SetShare = sets,
        GetShare = gets,
        Requests = parse.GetValue(requestsOption),
        Duration = TimeSpan.FromSeconds(parse.GetValue(durationOption)),
        Warmup = TimeSpan.FromSeconds(parse.GetValue(warmupOption)),
        Preload = parse.GetValue(preloadOption),
        ReplyTimeout = TimeSpan.FromSeconds(parse.GetValue(timeoutOption)),
    };
    if (options.Connections <= 0 || options.Pipeline <= 0 || options.KeySpace is <= 0 or > 100_000_000 || options.ValueSize < 0 ||
        options.Requests < 0 || options.Duration <= TimeSpan.Zero || options.Warmup < TimeSpan.Zero || options.ReplyTimeout <= TimeSpan.Zero)
        return Fail("--connections, --pipeline, --duration, --timeout must be positive; --keyspace 1..100000000; --value-size, --requests, --warmup not negative");

    DemiLibOS libos;
    try
    {
        var config = parse.GetValue(configOption) is { } path ? LibOSConfig.Load(path) : new LibOSConfig();
        // Spin, never block: a blocked thread pays ~50 µs to wake on this kind of VM, which would be measured as the
        // server's latency. A config file or DEMIKERNEL_SPIN_BUDGET_US can still set another budget.
        if (config.Get("demikernel", "spin_budget_us") is null) config.Set("demikernel", "spin_budget_us", int.MaxValue.ToString());
        libos = LibOS.Create(parse.GetValue(libosOption), config);
    }
    catch (ConfigException e)
    {
        return Fail(e.Message);
    }
    using (libos)
    {
        var load = new LoadGenerator(libos, options);
        var limit = options.Warmup + options.Duration + TimeSpan.FromSeconds(120);
        if (options.Preload && !load.Preload(TimeSpan.FromSeconds(120)))
        {
            foreach (var e in load.Errors) Console.Error.WriteLine(e);
            return Fail("preload failed");
        }
        bool finished = load.Run(limit);
        var h = load.Histogram;
        static string Us(long ns) => (ns / 1000.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        // HdrHistogram throws on a percentile of an empty histogram: no request answered in the window prints "-".
        string At(double percentile) => h.TotalCount == 0 ? "-" : Us(h.GetValueAtPercentile(percentile));
        double seconds = load.MeasuredSeconds;
        string label = parse.GetValue(labelOption) is { } l ? $"{l} " : "";
        Console.WriteLine(
            $"{label}libos={libos.Name} target={options.Target} connections={options.Connections} pipeline={options.Pipeline} ratio={ratio} " +
            $"keyspace={options.KeySpace} value={options.ValueSize}");
        Console.WriteLine(
            $"{label}requests={load.Completed} seconds={seconds:F3} throughput={(seconds > 0 ? load.Completed / seconds : 0):F0}/s " +
            $"p50_us={At(50)} p99_us={At(99)} p99.9_us={At(99.9)} " +
            $"max_us={(h.TotalCount == 0 ? "-" : Us(h.GetMaxValue()))} error_replies={load.ErrorReplies}");
        if (load.FirstErrorReply is { } first) Console.Error.WriteLine($"first error reply: {first}");
        foreach (var e in load.Errors.Take(10)) Console.Error.WriteLine(e);
        if (!finished) Console.Error.WriteLine("timed out before every measured request was answered");
        return finished && load.Errors.Count == 0 && load.Completed > 0 ? 0 : 1;
    }
});
return root.Parse(args).Invoke();

static int Fail(string message)
{
    Console.Error.WriteLine($"error: {message}");
    return 2;
}
