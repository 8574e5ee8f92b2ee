using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Demikernel.Bench -- --filter '*'   (see bench/README.md)
BenchmarkSwitcher.FromAssembly(typeof(Demikernel.Bench.SchedulerBenchmarks).Assembly).Run(args);
