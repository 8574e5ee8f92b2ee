using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Demikernel.Bench -- --filter '*'   (see bench/README.md)
// dotnet run -c Release --project bench/Demikernel.Bench -- gc-probe 1000000           (GcPauseProbe.cs)
if (args is ["gc-probe", ..]) Demikernel.Bench.GcPauseProbe.Run(args);
else BenchmarkSwitcher.FromAssembly(typeof(Demikernel.Bench.SchedulerBenchmarks).Assembly).Run(args);
