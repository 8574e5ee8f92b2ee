using System.Threading.Tasks.Sources;

namespace Demikernel.Runtime;

/// <summary>
/// A spawned coroutine: the scheduler starts it, and wakes it again when the <see cref="ValueTask"/> it returned
/// completes, to observe the outcome. Continuations inside the coroutine are resumed by the operations it awaits.
/// </summary>
internal sealed class Coroutine : IRunnable
{
    private readonly DemiLibOS _libos;
    private readonly Func<ValueTask> _body;
    private readonly Action _wake;
    private TaskHandle _handle;
    private ValueTask _task;
    private bool _started;
    private bool _hooked;

    public Coroutine(DemiLibOS libos, Func<ValueTask> body)
    {
        _libos = libos;
        _body = body;
        _wake = () => _libos.Scheduler.Wake(_handle);
    }

    public void Start() => _handle = _libos.Scheduler.Insert(this, ready: true);

    public void Run()
    {
        if (!_started)
        {
            _started = true;
            try
            {
#pragma warning disable CA2012 // the coroutine's ValueTask is kept to be observed exactly once, when it completes
                _task = _body();
#pragma warning restore CA2012
            }
            catch (Exception e)
            {
                Finish(e);
                return;
            }
        }
        if (_task.IsCompleted)
        {
            Exception? fault = null;
            try
            {
                _task.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                fault = e;
            }
            Finish(fault);
        }
        else if (!_hooked)
        {
            _hooked = true;
            _task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_wake);
        }
    }

    private void Finish(Exception? fault)
    {
        _libos.Scheduler.Remove(_handle);
        if (fault is not null) _libos.ReportFault(fault);
    }
}

/// <summary>A pooled timer awaitable behind <see cref="DemiLibOS.Delay"/> and <see cref="DemiLibOS.Yield"/>.</summary>
internal sealed class DelaySource : IValueTaskSource, IRunnable
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private readonly DemiLibOS _libos;
    private readonly TaskHandle _handle;
    private bool _pending;

    private DelaySource(DemiLibOS libos)
    {
        _libos = libos;
        _core.RunContinuationsAsynchronously = false;
        _handle = libos.Scheduler.Insert(this);
    }

    public static DelaySource Rent(DemiLibOS libos) => libos.DelayPool.TryPop(out var d) ? d : new DelaySource(libos);

    public ValueTask Start(TimeSpan delay)
    {
        _pending = true;
        if (delay <= TimeSpan.Zero) _libos.Scheduler.Wake(_handle);
        else _libos.Scheduler.WakeAfter(_handle, delay);
        return new ValueTask(this, _core.Version);
    }

    public void Run()
    {
        if (!_pending) return;
        _pending = false;
        _core.SetResult(true);
    }

    public void GetResult(short token)
    {
        _core.GetResult(token);
        _core.Reset();
        _libos.DelayPool.Push(this);
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~(ValueTaskSourceOnCompletedFlags.UseSchedulingContext | ValueTaskSourceOnCompletedFlags.FlowExecutionContext));
}
