using System.Diagnostics.Tracing;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// Every stop-the-world pause of the garbage collector, from the runtime's own GC events read in process: a pause runs
/// from GCSuspendEEBegin to GCRestartEEEnd (what the GC's ETW/EventPipe analyses call the pause). INFO memory reports
/// the longest (<c>gc_pause_max_ms</c>) and how many exceeded 5 ms; <c>GC.GetTotalPauseDuration</c> gives only the sum.
/// One listener per process, started with the first server; the runtime delivers the events on a thread of its own,
/// a handful per collection, so it costs nothing per request.
/// </summary>
internal sealed class GcPauses : EventListener
{
    private const int GCStart = 1;          // GCStart_V2: payload Count, Depth (the generation), Reason, Type
    private const int RestartEEEnd = 3;     // GCRestartEEEnd_V1
    private const int SuspendEEBegin = 9;   // GCSuspendEEBegin_V1
    private static readonly long LongPause = TimeSpan.FromMilliseconds(5).Ticks;

    private static GcPauses? s_instance;
    private long _suspendedAt;
    private long _maxTicks;
    private long _pauses;
    private long _longPauses;
    private int _generation = -1;           // of the collection in progress
    private int _maxGeneration = -1;

    /// <summary>The process's listener (created on first use).</summary>
    public static GcPauses Instance
    {
        get
        {
            if (Volatile.Read(ref s_instance) is { } listener) return listener;
            var created = new GcPauses();
            if (Interlocked.CompareExchange(ref s_instance, created, null) is { } other)
            {
                created.Dispose();
                return other;
            }
            return created;
        }
    }

    /// <summary>The longest pause seen, in milliseconds.</summary>
    public double MaxPauseMs => Interlocked.Read(ref _maxTicks) / (double)TimeSpan.TicksPerMillisecond;

    /// <summary>The generation the longest pause collected (-1 before the first, or when a pause had no collection).</summary>
    public int MaxPauseGeneration => Volatile.Read(ref _maxGeneration);

    /// <summary>Pauses seen.</summary>
    public long Pauses => Interlocked.Read(ref _pauses);

    /// <summary>Pauses longer than 5 ms.</summary>
    public long LongPauses => Interlocked.Read(ref _longPauses);

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1); // GC keyword
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        switch (e.EventId)
        {
            case GCStart when e.Payload is [_, uint depth, ..]:
                _generation = (int)depth;
                break;
            case SuspendEEBegin:
                _suspendedAt = e.TimeStamp.Ticks;
                break;
            case RestartEEEnd when _suspendedAt != 0:
                long pause = e.TimeStamp.Ticks - _suspendedAt;
                _suspendedAt = 0;
                Interlocked.Increment(ref _pauses);
                if (pause > LongPause) Interlocked.Increment(ref _longPauses);
                if (pause > Interlocked.Read(ref _maxTicks))
                {
                    Volatile.Write(ref _maxGeneration, _generation);
                    Interlocked.Exchange(ref _maxTicks, pause);
                }
                _generation = -1;
                break;
        }
    }
}
