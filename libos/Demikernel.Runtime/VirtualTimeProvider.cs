namespace Demikernel.Runtime;

/// <summary>
/// A clock that moves only when told to, for deterministic tests and simulations. With <see cref="AutoAdvance"/> set,
/// a libOS that has nothing to do jumps the clock straight to its next deadline instead of waiting for it, so tests of
/// timeouts and timers never sleep.
/// </summary>
public sealed class VirtualTimeProvider : TimeProvider
{
    private long _ticks;
    private readonly DateTimeOffset _epoch;

    public VirtualTimeProvider(DateTimeOffset? start = null)
    {
        _epoch = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    public bool AutoAdvance { get; set; } = true;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public override DateTimeOffset GetUtcNow() => _epoch.AddTicks(_ticks);

    public TimeSpan Elapsed => TimeSpan.FromTicks(_ticks);

    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        _ticks += delta.Ticks;
    }

    /// <summary>Moves the clock to <paramref name="timestamp"/> if that is later than now.</summary>
    public void AdvanceTo(long timestamp)
    {
        if (timestamp > _ticks) _ticks = timestamp;
    }
}
