namespace Demikernel.Server.Diagnostics;

/// <summary>
/// LATENCY's time series, as redis-server's latency.c: per event name ("command", "fast-command", ...) the last 160
/// samples (unix second, milliseconds), one per second (a later sample in the same second keeps the higher value), and
/// the all-time maximum. A sample is taken only when latency-monitor-threshold is set and the latency reaches it.
/// </summary>
internal sealed class LatencyMonitor
{
    public const int SeriesLength = 160;

    internal sealed class Series
    {
        public readonly (long Time, long Latency)[] Samples = new (long, long)[SeriesLength];
        public int Index;
        public long Max;

        public (long Time, long Latency) Last => Samples[(Index + SeriesLength - 1) % SeriesLength];
    }

    // Insertion order stands in for the order of redis's dictionary (which is a hash order).
    private readonly Dictionary<string, Series> _events = new(StringComparer.Ordinal);

    /// <summary>latency-monitor-threshold in milliseconds (0: off).</summary>
    public long ThresholdMs { get; set; }

    public IEnumerable<KeyValuePair<string, Series>> Events => _events;

    public Series? Find(string name) => _events.GetValueOrDefault(name);

    /// <summary>latencyAddSampleIfNeeded.</summary>
    public void AddIfNeeded(string name, long latencyMs, long unixSeconds)
    {
        if (ThresholdMs != 0 && latencyMs >= ThresholdMs) Add(name, latencyMs, unixSeconds);
    }

    public void Add(string name, long latencyMs, long unixSeconds)
    {
        if (!_events.TryGetValue(name, out var ts)) _events[name] = ts = new Series();
        if (latencyMs > ts.Max) ts.Max = latencyMs;
        int prev = (ts.Index + SeriesLength - 1) % SeriesLength;
        if (ts.Samples[prev].Time == unixSeconds)
        {
            if (latencyMs > ts.Samples[prev].Latency) ts.Samples[prev].Latency = latencyMs;
            return;
        }
        ts.Samples[ts.Index] = (unixSeconds, latencyMs);
        ts.Index = (ts.Index + 1) % SeriesLength;
    }

    /// <summary>Drops one event's series (or all, for null); returns how many were dropped.</summary>
    public int Reset(string? name)
    {
        if (name is null)
        {
            int n = _events.Count;
            _events.Clear();
            return n;
        }
        return _events.Remove(name) ? 1 : 0;
    }
}
