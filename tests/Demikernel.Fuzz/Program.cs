using Demikernel.Fuzz;

// Demikernel.Fuzz TARGET              under the libFuzzer driver (driver/dotnet-libfuzzer.c sets the IPC variables):
//                                     SharpFuzz's runner feeds inputs from shared memory, an escaping exception is a crash
// Demikernel.Fuzz TARGET FILE|DIR...  replays inputs (a crash artifact, a corpus) and exits 1 on the first failure
// Demikernel.Fuzz list                the target names
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: Demikernel.Fuzz TARGET [FILE|DIR ...] | list");
    return 2;
}
if (args[0] == "list")
{
    foreach (var t in FuzzTargets.All) Console.WriteLine($"{t.Name,-16} {t.Description}");
    return 0;
}
var target = FuzzTargets.Find(args[0]);
if (target is null)
{
    Console.Error.WriteLine($"unknown target '{args[0]}' (try: list)");
    return 2;
}
if (args.Length == 1 && Environment.GetEnvironmentVariable("__LIBFUZZER_SHM_ID") is not null)
{
    SharpFuzz.Fuzzer.LibFuzzer.Run(target.Run);
    return 0;
}
int failures = 0, inputs = 0;
foreach (var path in args.Skip(1).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
{
    inputs++;
    try
    {
        target.Run(File.ReadAllBytes(path));
    }
    catch (Exception e)
    {
        failures++;
        Console.Error.WriteLine($"FAILED {path}: {e}");
    }
}
Console.WriteLine($"{target.Name}: {inputs} inputs, {failures} failed");
return failures == 0 ? 0 : 1;
