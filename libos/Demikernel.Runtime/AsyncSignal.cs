using System.Threading.Tasks.Sources;

namespace Demikernel.Runtime;

/// <summary>
/// A reusable, allocation-free wake-up for one waiting coroutine at a time: <see cref="WaitAsync"/> completes with
/// true when another coroutine calls <see cref="Set"/>, or with false when the optional deadline of the libOS clock
/// passes first. Continuations run on the libOS thread through the scheduler.
/// <para>
/// The signal holds a task slot in the scheduler from construction until <see cref="Dispose"/>: an owner that goes
/// away (a client session) disposes it, or the slot stays taken for the life of the libOS. A <see cref="Set"/> after
/// disposal is ignored (the scheduler's generation makes the old handle stale), so a late waker needs no guard.
/// </para>
/// </summary>
public sealed class AsyncSignal : IValueTaskSource<bool>, IRunnable, IDisposable
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private readonly DemiLibOS _libos;
    private readonly TaskHandle _handle;
    private bool _waiting;
    private bool _set;
    private long _deadline = long.MaxValue;
    private bool _disposed;

    public AsyncSignal(DemiLibOS libos)
    {
        _libos = libos;
        _core.RunContinuationsAsynchronously = false;
        _handle = libos.Scheduler.Insert(this);
    }

    public bool IsWaiting => _waiting;

    /// <summary>Waits for <see cref="Set"/> or, when given, until <paramref name="timeout"/> has passed.</summary>
    public ValueTask<bool> WaitAsync(TimeSpan? timeout = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_waiting) throw new InvalidOperationException("an AsyncSignal has one waiter at a time");
        if (_set)
        {
            _set = false;
            return new ValueTask<bool>(true);
        }
        _waiting = true;
        _deadline = long.MaxValue;
        if (timeout is { } t)
        {
            _deadline = _libos.Scheduler.Now + _libos.Scheduler.TicksFrom(t);
            _libos.Scheduler.WakeAt(_handle, _deadline);
        }
        return new ValueTask<bool>(this, _core.Version);
    }

    /// <summary>Wakes the waiter (or the next waiter, if nobody waits yet).</summary>
    public void Set()
    {
        _set = true;
        if (_waiting) _libos.Scheduler.Wake(_handle);
    }

    /// <summary>Drops a pending <see cref="Set"/> that nobody consumed.</summary>
    public void Reset() => _set = false;

    /// <summary>
    /// Gives the signal's scheduler slot back. Call it once nobody waits any more (a waiter still parked would never
    /// be resumed); later <see cref="Set"/> calls are ignored.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _libos.Scheduler.Remove(_handle);
    }

    void IRunnable.Run()
    {
        if (!_waiting) return;
        if (_set)
        {
            _set = false;
            _waiting = false;
            _core.SetResult(true);
        }
        else if (_libos.Scheduler.Now >= _deadline)
        {
            _waiting = false;
            _core.SetResult(false);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token)
    {
        bool result = _core.GetResult(token);
        _core.Reset();
        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~(ValueTaskSourceOnCompletedFlags.UseSchedulingContext | ValueTaskSourceOnCompletedFlags.FlowExecutionContext));
}
