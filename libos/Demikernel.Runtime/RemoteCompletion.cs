using System.Threading.Tasks.Sources;

namespace Demikernel.Runtime;

/// <summary>
/// Work handed to the libOS thread from another thread: a node of the post queue (see <see cref="DemiLibOS.Post{TState}"/>).
/// <see cref="Next"/> links it while it is queued; a node is in at most one queue at a time.
/// </summary>
internal abstract class PostedWork
{
    internal PostedWork? Next;

    /// <summary>Runs on the libOS thread, once per post.</summary>
    internal abstract void Invoke();
}

/// <summary>
/// A pooled node carrying one <c>Post(callback, state)</c>. Nodes are rented on the posting thread and returned on the
/// libOS thread before the callback runs, so the pool (one per <typeparamref name="TState"/>, shared by every libOS
/// instance, guarded by a lock neither side holds for more than a few instructions) sees both threads.
/// </summary>
internal sealed class PostNode<TState> : PostedWork
{
    // Enough for every completion a libOS has in flight; a burst beyond it is garbage-collected, not hoarded.
    private const int MaxPooled = 1024;
    private static readonly Lock s_lock = new();
    private static PostNode<TState>? s_free;
    private static int s_pooled;

    private Action<TState>? _callback;
    private TState _state = default!;

    public static PostNode<TState> Rent(Action<TState> callback, TState state)
    {
        PostNode<TState>? node;
        lock (s_lock)
        {
            node = s_free;
            if (node is not null)
            {
                s_free = (PostNode<TState>?)node.Next;
                node.Next = null;
                s_pooled--;
            }
        }
        node ??= new PostNode<TState>();
        node._callback = callback;
        node._state = state;
        return node;
    }

    internal override void Invoke()
    {
        var callback = _callback!;
        var state = _state;
        // Back to the pool first: the node is free whether or not the callback throws, and holds no reference to state.
        _callback = null;
        _state = default!;
        lock (s_lock)
        {
            if (s_pooled < MaxPooled)
            {
                Next = s_free;
                s_free = this;
                s_pooled++;
            }
        }
        callback(state);
    }
}

/// <summary>
/// An awaitable for the libOS thread that another thread completes: a coroutine awaits <see cref="WaitAsync"/>, a
/// worker thread (an fsync, a file writer) calls <see cref="Complete"/> with an errno-style result when it is done.
/// <code>
///   libOS thread                                   worker thread
///   int rc = await done.WaitAsync();  ◀─ post ──  done.Complete(rc)   (wakes the libOS if it is blocked)
///      └ resumed by the scheduler on the libOS thread, never on the thread pool
/// </code>
/// Reusable and allocation-free: one completion per wait, one wait at a time. A completion that arrives before the wait
/// is kept, and the next <see cref="WaitAsync"/> returns it at once. Under a <see cref="VirtualTimeProvider"/> pair the
/// hand-off with <see cref="DemiLibOS.BeginExternalWork"/> and <see cref="DemiLibOS.EndExternalWork"/> so the clock does
/// not jump while the worker runs.
/// </summary>
public sealed class RemoteCompletion : IValueTaskSource<int>, IRunnable
{
    private const int Open = 0;
    private const int Completed = 1;

    private ManualResetValueTaskSourceCore<int> _core;
    private readonly DemiLibOS _libos;
    private readonly TaskHandle _handle;
    private readonly Delivery _delivery;
    private int _state;      // any thread: Open until Complete is accepted, back to Open when the libOS consumes it
    private int _result;     // written by the completer before it posts; read on the libOS thread after the post ran
    private bool _delivered; // libOS thread: the posted completion has arrived and nobody has taken it yet
    private bool _armed;     // libOS thread: a WaitAsync is waiting for the result
    private bool _awaiting;  // libOS thread: a WaitAsync's ValueTask has not been consumed yet

    public RemoteCompletion(DemiLibOS libos)
    {
        _libos = libos ?? throw new ArgumentNullException(nameof(libos));
        _core.RunContinuationsAsynchronously = false;
        _handle = libos.Scheduler.Insert(this);
        _delivery = new Delivery(this);
    }

    /// <summary>
    /// Completes the current (or next) wait with <paramref name="result"/>. Thread-safe, allocation-free. Returns false,
    /// and changes nothing, if a completion is already pending that the libOS has not handed to a waiter yet.
    /// </summary>
    public bool Complete(int result = 0)
    {
        if (Interlocked.CompareExchange(ref _state, Completed, Open) != Open) return false;
        _result = result;
        _libos.Enqueue(_delivery); // the post publishes _result to the libOS thread
        return true;
    }

    /// <summary>libOS thread: waits for <see cref="Complete"/> and returns its result.</summary>
    public ValueTask<int> WaitAsync()
    {
        if (_awaiting) throw new InvalidOperationException("a RemoteCompletion has one waiter at a time");
        if (_delivered)
        {
            _delivered = false;
            int result = _result;
            Volatile.Write(ref _state, Open);
            return new ValueTask<int>(result);
        }
        _awaiting = true;
        _armed = true;
        return new ValueTask<int>(this, _core.Version);
    }

    /// <summary>The posted completion arrived on the libOS thread.</summary>
    private void Deliver()
    {
        _delivered = true;
        if (_armed) _libos.Scheduler.Wake(_handle);
    }

    void IRunnable.Run()
    {
        if (!_armed || !_delivered) return;
        _armed = false;
        _delivered = false;
        int result = _result;
        Volatile.Write(ref _state, Open); // the worker may complete the next round from here on
        _core.SetResult(result);
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        int result = _core.GetResult(token);
        _core.Reset();
        _awaiting = false;
        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~(ValueTaskSourceOnCompletedFlags.UseSchedulingContext | ValueTaskSourceOnCompletedFlags.FlowExecutionContext));

    private sealed class Delivery(RemoteCompletion owner) : PostedWork
    {
        internal override void Invoke() => owner.Deliver();
    }
}
