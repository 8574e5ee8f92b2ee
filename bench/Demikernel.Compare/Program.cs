using System.Globalization;
using System.Text.Json;
using Demikernel.Compare;

// demi-compare: our server, redis-server and Garnet side by side (see README.md). Usage:
//   demi-compare --ours PATH.dll --garnet PATH [--full] [--rounds N] [--requests N] [--out DIR] [--servers a,b,c]
//                [--commands GET,SET,...] [--values 16,1024] [--keys 100000,10000000] [--pipelines 1,16,64]
//                [--connections 1,50,1000] [--memory-keys N] [--no-memory] [--no-matrix]
//                [--ours-env NAME=VALUE ...] (environment of our server, e.g. DEMIKERNEL_SPIN_BUDGET_US=0)
//   demi-compare --report DIR/results.json [--out DIR] [--png]     redraws the report of an earlier run
var o = Options.Parse(args);
if (o.ReportFrom is { } saved)
{
    // Only redraw: the markdown and charts of an earlier run from its results.json.
    var old = JsonSerializer.Deserialize<Results>(File.ReadAllText(saved), new JsonSerializerOptions { IncludeFields = true })!;
    Report.Write(old, o.Out);
    Console.WriteLine($"wrote {o.Out}/compare.md and charts from {saved}");
    return 0;
}
Tools.Paths = new Paths(o.OursDll, "redis-server", o.Garnet, "redis-benchmark", "redis-cli");
Directory.CreateDirectory(o.Out);
var started = DateTime.UtcNow;
string load0 = File.ReadAllText("/proc/loadavg").Trim();
var results = new Results { Started = started.ToString("u", CultureInfo.InvariantCulture), LoadBefore = load0, Options = o };
int[] ports = [6531, 6532, 6533];
string logs = Path.Combine(Path.GetTempPath(), "demi-compare");
Directory.CreateDirectory(logs);

ServerProcess[] StartAll() => [.. o.Servers.Select((s, i) => ServerProcess.Start(s, ports[i], o.ServerCore, Tools.Paths, Path.Combine(logs, s + ".log"), s == "ours" ? o.OursEnv : []))];

static void Stop(ServerProcess[] servers)
{
    foreach (var s in servers) s.Dispose();
}

if (o.Matrix)
{
    foreach (long keys in o.Keys)
        foreach (int value in o.Values)
        {
            Console.WriteLine($"== {keys:N0} keys, {value} B values: starting {string.Join(", ", o.Servers)}");
            var servers = StartAll();
            try
            {
                foreach (var s in servers)
                {
                    long rss0 = s.RssBytes();
                    long? used0 = s.InfoField("memory", "used_memory");
                    long written = 0;
                    var t0 = DateTime.UtcNow;
                    Tools.Pipe(s.Port, stream => written = Workloads.Preload(stream, keys, value, o.CollectionCap));
                    long? used1 = s.InfoField("memory", "used_memory");
                    results.Groups.Add(new GroupMemory(s.Name, keys, value, written, (used1 - used0) / (double?)written,
                        (s.RssBytes() - rss0) / (double)written, (DateTime.UtcNow - t0).TotalSeconds));
                    Console.WriteLine($"   {s.Name}: {written:N0} keys loaded in {(DateTime.UtcNow - t0).TotalSeconds:F1} s");
                }
                // Warm-up (not recorded): tiered JIT for ours and Garnet, the same requests for redis-server.
                foreach (var s in servers)
                    foreach (var cmd in o.Commands)
                        Benchmark.Run(s, o.ClientCore, Workloads.Arguments(cmd, new string('v', value)), 20_000, 50, 16, keys);
                for (int round = 0; round < o.Rounds; round++)
                    foreach (int pipeline in o.Pipelines)
                        foreach (int conns in o.Connections)
                            foreach (var cmd in o.Commands)
                            {
                                // At least 20 requests in flight per connection and pipeline slot, so that
                                // connection setup and ramp-up do not make the run.
                                long n = Math.Max(o.Requests * (pipeline == 1 ? 1 : 5), 20L * conns * pipeline);
                                // Interleaved: every server runs this cell before the next one starts, in an order
                                // that rotates each round, so the machine's mood falls on all of them alike.
                                for (int k = 0; k < servers.Length; k++)
                                {
                                    var s = servers[(k + round) % servers.Length];
                                    var r = Benchmark.Run(s, o.ClientCore, Workloads.Arguments(cmd, new string('v', value)), n, conns, pipeline, keys);
                                    results.Runs.Add(new CellRun(s.Name, cmd, value, keys, pipeline, conns, round, n, r));
                                    Console.WriteLine($"   r{round} {cmd,-6} P{pipeline,-2} c{conns,-4} {s.Name,-6} {r.Rps,12:N0} req/s  p50 {r.P50Ms:F3}  p99 {r.P99Ms:F3} ms  cpu {r.CpuUsPerRequest:F2} us/req" +
                                        (r.AllocBytesPerRequest is double a ? $"  alloc {a:F1} B/req" : ""));
                                }
                            }
            }
            finally
            {
                Stop(servers);
            }
        }
}

if (o.Memory)
{
    foreach (var type in Workloads.MemoryTypes)
    {
        long keys = type.StartsWith("string", StringComparison.Ordinal) ? o.MemoryKeys * 10 : o.MemoryKeys;
        var servers = StartAll();
        try
        {
            foreach (var s in servers)
            {
                long rss0 = s.RssBytes();
                long? used0 = s.InfoField("memory", "used_memory");
                Tools.Pipe(s.Port, stream => Workloads.PreloadType(stream, type, keys, 100));
                long? used1 = s.InfoField("memory", "used_memory");
                long rss1 = s.RssBytes();
                var encoding = Tools.RedisCli(s.Port, "OBJECT", "ENCODING", Workloads_KeyOf(type)).Trim();
                results.Types.Add(new TypeMemory(s.Name, type, keys, (used1 - used0) / (double?)keys, (rss1 - rss0) / (double)keys, encoding));
                Console.WriteLine($"   memory {type,-10} {s.Name,-6} used/key {(used1 - used0) / (double?)keys:F1}  rss/key {(rss1 - rss0) / (double)keys:F1}  ({encoding})");
            }
        }
        finally
        {
            Stop(servers);
        }
    }
}

results.Finished = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture);
results.LoadAfter = File.ReadAllText("/proc/loadavg").Trim();
File.WriteAllText(Path.Combine(o.Out, "results.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, IncludeFields = true }));
Report.Write(results, o.Out);
Console.WriteLine($"wrote {o.Out}/compare.md and charts");
return 0;

static string Workloads_KeyOf(string type) => type switch
{
    "hash-100" => "hash:000000000000",
    "set-100" => "set:000000000000",
    "zset-100" => "zset:000000000000",
    "list-100" => "list:000000000000",
    _ => "key:000000000000",
};

internal sealed record CellRun(string Server, string Command, int Value, long Keys, int Pipeline, int Connections, int Round, long Requests, RunResult Result);

internal sealed record GroupMemory(string Server, long Keys, int Value, long KeysWritten, double? UsedPerKey, double RssPerKey, double LoadSeconds);

internal sealed record TypeMemory(string Server, string Type, long Keys, double? UsedPerKey, double RssPerKey, string Encoding);

internal sealed class Results
{
    public string Started { get; set; } = "";
    public string Finished { get; set; } = "";
    public string LoadBefore { get; set; } = "";
    public string LoadAfter { get; set; } = "";
    public Options Options { get; set; } = null!;
    public List<CellRun> Runs { get; set; } = [];
    public List<GroupMemory> Groups { get; set; } = [];
    public List<TypeMemory> Types { get; set; } = [];
}

internal sealed class Options
{
    public string OursDll { get; set; } = "";
    public string Garnet { get; set; } = "garnet-server";
    public string Out { get; set; } = "bench/results";
    public string[] Servers { get; set; } = ["ours", "redis", "garnet"];
    public string[] Commands { get; set; } = Workloads.All;
    public int[] Values { get; set; } = [16];
    public long[] Keys { get; set; } = [100_000];
    public int[] Pipelines { get; set; } = [1, 16];
    public int[] Connections { get; set; } = [50];
    public int Rounds { get; set; } = 3;
    public long Requests { get; set; } = 50_000;
    public long CollectionCap { get; set; } = 1_000_000;
    public long MemoryKeys { get; set; } = 10_000;
    public bool Memory { get; set; } = true;
    public bool Matrix { get; set; } = true;
    public string ServerCore { get; set; } = "0";
    public string ClientCore { get; set; } = "1";
    public string? ReportFrom { get; set; }
    public string[] OursEnv { get; set; } = [];

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
            static T[] List<T>(string s, Func<string, T> parse) => [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(parse)];
            static int I(string s) => int.Parse(s, CultureInfo.InvariantCulture);
            static long L(string s) => long.Parse(s.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--ours": o.OursDll = Path.GetFullPath(Next()); break;
                case "--garnet": o.Garnet = Path.GetFullPath(Next()); break;
                case "--out": o.Out = Next(); break;
                case "--servers": o.Servers = List(Next(), s => s); break;
                case "--commands": o.Commands = List(Next(), s => s.ToUpperInvariant()); break;
                case "--values": o.Values = List(Next(), I); break;
                case "--keys": o.Keys = List(Next(), L); break;
                case "--pipelines": o.Pipelines = List(Next(), I); break;
                case "--connections": o.Connections = List(Next(), I); break;
                case "--rounds": o.Rounds = I(Next()); break;
                case "--requests": o.Requests = L(Next()); break;
                case "--collection-cap": o.CollectionCap = L(Next()); break;
                case "--memory-keys": o.MemoryKeys = L(Next()); break;
                case "--no-memory": o.Memory = false; break;
                case "--no-matrix": o.Matrix = false; break;
                case "--report": o.ReportFrom = Next(); break;
                case "--ours-env": o.OursEnv = [.. o.OursEnv, Next()]; break;
                case "--png": Report.AlsoPng = true; break;
                case "--server-core": o.ServerCore = Next(); break;
                case "--client-core": o.ClientCore = Next(); break;
                case "--full":
                    o.Values = [16, 1024];
                    o.Keys = [100_000, 10_000_000];
                    o.Pipelines = [1, 16, 64];
                    o.Connections = [1, 50, 1000];
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (o.ReportFrom is null && o.Servers.Contains("ours") && !File.Exists(o.OursDll)) throw new ArgumentException("--ours must name Demikernel.Server.dll");
        return o;
    }
}
