using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Demikernel.Bench -- --filter '*'   (see bench/README.md)
// dotnet run -c Release --project bench/Demikernel.Bench -- gc-probe 1000000           (GcPauseProbe.cs)
// dotnet run -c Release --project bench/Demikernel.Bench -- catmem-probe 2000          (CatmemProbe.cs)
// dotnet run -c Release --project bench/Demikernel.Bench -- stack-rtt 2000000 5        (InetStackRoundTripBenchmarks, for perf)
// dotnet run -c Release --project bench/Demikernel.Bench -- idle-pass 10000000 5       (InetStackRoundTripBenchmarks: ns per idle pass)
// dotnet run -c Release --project bench/Demikernel.Bench -- get-spread 1000000 5000000 (KeySpaceBenchmarks.GetSpread in a loop, for perf)
if (args is ["gc-probe", ..]) Demikernel.Bench.GcPauseProbe.Run(args);
else if (args is ["catmem-probe", ..]) Demikernel.Bench.CatmemProbe.Run(args);
else if (args is ["stack-rtt", ..]) Demikernel.Bench.InetStackRoundTripBenchmarks.Probe(args);
else if (args is ["get-spread", ..]) Demikernel.Bench.KeySpaceBenchmarks.Probe(args);
else if (args is ["idle-pass", ..]) Demikernel.Bench.InetStackRoundTripBenchmarks.IdleProbe(args);
else BenchmarkSwitcher.FromAssembly(typeof(Demikernel.Bench.SchedulerBenchmarks).Assembly).Run(args);
