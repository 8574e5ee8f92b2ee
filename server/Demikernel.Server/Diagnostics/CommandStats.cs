using System.Diagnostics;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// INFO commandstats and latencystats: per command (and subcommand) calls, time, rejected and failed calls, and the
/// latency histogram, in arrays indexed by <see cref="CommandSpec.Id"/>. Recording a call is a few array writes;
/// nothing is allocated but a command's histogram, on its first call (as redis does).
/// </summary>
internal sealed class CommandStats
{
    private CommandSpec[] _specs = [];
    private long[] _calls = [];
    private long[] _ticks = [];
    private long[] _rejected = [];
    private long[] _failed = [];
    private LatencyHistogram?[] _histograms = [];

    /// <summary>latency-tracking: per-command histograms are updated.</summary>
    public bool LatencyTracking { get; set; } = true;

    /// <summary>Gives <paramref name="spec"/> the next id (done by the command table as it takes commands).</summary>
    public int Register(CommandSpec spec)
    {
        int id = _specs.Length;
        Array.Resize(ref _specs, id + 1);
        Array.Resize(ref _calls, id + 1);
        Array.Resize(ref _ticks, id + 1);
        Array.Resize(ref _rejected, id + 1);
        Array.Resize(ref _failed, id + 1);
        Array.Resize(ref _histograms, id + 1);
        _specs[id] = spec;
        return id;
    }

    /// <summary>A spec the table replaced (the same command, now with its subcommands' ids): same slot.</summary>
    public void Replace(CommandSpec spec) => _specs[spec.Id] = spec;

    /// <summary>One completed call: its Stopwatch ticks, whether it answered an error.</summary>
    public void Record(int id, long ticks, long micros, bool failed)
    {
        _calls[id]++;
        _ticks[id] += ticks;
        if (failed) _failed[id]++;
        if (LatencyTracking) (_histograms[id] ??= new LatencyHistogram()).RecordMicros(micros);
    }

    public void Rejected(int id) => _rejected[id]++;

    public LatencyHistogram? Histogram(int id) => _histograms[id];

    public void Reset()
    {
        Array.Clear(_calls);
        Array.Clear(_ticks);
        Array.Clear(_rejected);
        Array.Clear(_failed);
        // redis frees the histograms: a command shows up in latencystats again once it is called
        Array.Clear(_histograms);
    }

    public static long TicksToMicros(long ticks) => (long)(ticks * (1_000_000.0 / Stopwatch.Frequency));

    /// <summary>Commands with anything to show, in name order (redis: its dictionary's order).</summary>
    public IEnumerable<(CommandSpec Spec, long Calls, long Micros, long Rejected, long Failed, LatencyHistogram? Histogram)> Entries()
    {
        var ids = Enumerable.Range(0, _specs.Length).OrderBy(i => _specs[i].WireName, StringComparer.Ordinal);
        foreach (int i in ids)
            yield return (_specs[i], _calls[i], TicksToMicros(_ticks[i]), _rejected[i], _failed[i], _histograms[i]);
    }
}
