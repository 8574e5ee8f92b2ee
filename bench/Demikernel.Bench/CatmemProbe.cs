using System.Diagnostics;

namespace Demikernel.Bench;

/// <summary>
/// <c>catmem-probe [batches]</c>: the setup of <see cref="CatmemRunLoopBenchmarks"/> timed by hand, for a machine too
/// busy for BenchmarkDotNet's means: batches of 200 in-process round trips (both ends' software, one thread, no second
/// core), printing the 10th and 50th percentile of the per-round-trip time. Run it against another build's libOS by
/// copying that build's Demikernel.Runtime.dll and Demikernel.Catmem.dll over this one's (the API it uses is public).
/// </summary>
internal static class CatmemProbe
{
    public static void Run(string[] args)
    {
        int batches = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
        const int PerBatch = 200;
        var bench = new CatmemRunLoopBenchmarks();
        bench.Setup();
        try
        {
            for (int i = 0; i < 20_000; i++) bench.EchoRoundTrip(); // warm-up (tiered JIT)
            var ns = new double[batches];
            for (int b = 0; b < batches; b++)
            {
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < PerBatch; i++) bench.EchoRoundTrip();
                ns[b] = (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency / PerBatch;
            }
            Array.Sort(ns);
            Console.WriteLine($"catmem in-process round trip: p10 {ns[batches / 10]:F0} ns  p50 {ns[batches / 2]:F0} ns");
        }
        finally
        {
            bench.Cleanup();
        }
    }
}
