namespace Demikernel.Bench;

/// <summary>
/// The probes' rounds (<c>stack-rtt</c>, <c>idle-pass</c>, <c>get-spread</c>): each round timed on the wall clock and in
/// the process's CPU time, printed as it comes, and the medians at the end ("F0" for round trips, "F1" for passes).
/// </summary>
internal sealed class RoundFigures(string per, string format)
{
    private readonly List<double> _wall = [], _cpu = [];

    public void Add(string round, double wall, double cpu)
    {
        _wall.Add(wall);
        _cpu.Add(cpu);
        Console.WriteLine($"{round}: {Format(wall)} ns wall, {Format(cpu)} ns CPU per {per}");
    }

    public void PrintMedian()
    {
        _wall.Sort();
        _cpu.Sort();
        Console.WriteLine($"median {Format(_wall[_wall.Count / 2])} ns wall, {Format(_cpu[_cpu.Count / 2])} ns CPU per {per}");
    }

    private string Format(double ns) => ns.ToString(format, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Wall and CPU nanoseconds per item of one round of <paramref name="count"/> items: on a shared machine
    /// the wall clock counts other processes' time slices too.</summary>
    public static (double Wall, double Cpu) Time(System.Diagnostics.Process process, long count, Action run)
    {
        process.Refresh();
        var cpuStart = process.TotalProcessorTime;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        run();
        double wall = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalNanoseconds / count;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpuStart).TotalNanoseconds / count);
    }
}
