using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace Demikernel.Bench;

/// <summary>
/// What the key space adds to a GET: <see cref="Keys"/> keys of 32-byte values, read in a shuffled order (as the load
/// generator picks them), each request written into one buffer (as requests arrive in a receive buffer the server has
/// just used). With one key every line the lookup touches is in cache; with 10,000 (the latency benchmarks' key space)
/// and 1,000,000 each lookup walks memory the last requests did not touch: the bucket, the key's slot, its slab block.
/// </summary>
[MemoryDiagnoser]
public class KeySpaceBenchmarks
{
    private readonly byte[] _request = "*2\r\n$3\r\nGET\r\n$10\r\nkey:000000\r\n"u8.ToArray();
    private RequestRunner _runner = null!;
    private int[] _order = [];
    private int _next;

    [Params(1, 10_000, 1_000_000)]
    public int Keys { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _runner = new RequestRunner();
        string value = new('v', 32);
        for (int i = 0; i < Keys; i++) _runner.Run(System.Text.Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$10\r\nkey:{i:D6}\r\n$32\r\n{value}\r\n"));
        _order = Enumerable.Range(0, Keys).ToArray();
        new Random(42).Shuffle(_order);
    }

    [GlobalCleanup]
    public void Cleanup() => _runner.Dispose();

    /// <summary>A GET of the next key in the shuffled order.</summary>
    [Benchmark]
    public int GetSpread()
    {
        int key = _order[_next];
        _next = _next + 1 == _order.Length ? 0 : _next + 1;
        var digits = _request.AsSpan(_request.Length - 8, 6);
        for (int d = digits.Length - 1; d >= 0; d--, key /= 10) digits[d] = (byte)('0' + key % 10);
        return _runner.Run(_request);
    }

    /// <summary><c>get-spread [keys] [gets]</c>: <see cref="GetSpread"/> in a plain loop (to run under perf), three
    /// rounds, printing nanoseconds per GET and their median.</summary>
    internal static void Probe(string[] args)
    {
        var bench = new KeySpaceBenchmarks { Keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000 };
        long gets = args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : 5_000_000;
        bench.Setup();
        for (int i = 0; i < 200_000; i++) bench.GetSpread(); // tiered JIT
        var figures = new RoundFigures($"GET over {bench.Keys} keys", "F1");
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        for (int round = 1; round <= 3; round++)
        {
            var (ns, cpuNs) = RoundFigures.Time(process, gets, () =>
            {
                for (long i = 0; i < gets; i++) bench.GetSpread();
            });
            figures.Add($"round {round}", ns, cpuNs);
        }
        figures.PrintMedian();
        bench.Cleanup();
    }
}
