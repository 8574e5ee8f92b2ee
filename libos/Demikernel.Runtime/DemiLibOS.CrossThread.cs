using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

/// <summary>
/// The cross-thread entry points: the only sanctioned way for another thread to get something done on the libOS thread.
/// <code>
///   any thread: Post(cb, state) / RemoteCompletion.Complete(rc)
///        │  push onto _posted (lock-free stack, CAS)      then, if the libOS announced it is idle:
///        │                                                  Blocked ─CAS─▶ Signalled: transport.Wake()
///        ▼                                                  Parked  ─CAS─▶ Signalled: _park.Set()
///   libOS thread, every Poll: take the whole stack, reverse it (posting order), run each callback
/// </code>
/// Before the libOS thread blocks it announces it (<see cref="IdleBlocked"/>) and then looks at the queue once more, and
/// a poster pushes and then looks at the announcement: with a full fence on both sides one of them always sees the
/// other, so no post is left waiting for a timer. A spinning libOS polls the queue each pass and needs no signal; a
/// blocked one is signalled once, however many threads post. A signal that lands after the thread woke on its own (or
/// on a later block, after it read an old announcement) ends at most one block early: one extra pass, never a lost post.
/// </summary>
public sealed partial class DemiLibOS
{
    private const int IdleRunning = 0;   // polling or spinning: it looks at the queue on its own
    private const int IdleBlocked = 1;   // in INetworkTransport.Block, or about to be
    private const int IdleParked = 2;    // waiting in real time for external work under a virtual clock
    private const int IdleSignalled = 3; // a poster already woke it for this wait
    private const int IdleDisposed = 4;  // gone: nobody wakes it any more

    /// <summary>Posted work, newest first: pushed by any thread, taken whole by the libOS thread.</summary>
    private PostedWork? _posted;
    /// <summary>libOS thread: work taken from <see cref="_posted"/> in posting order, not run yet.</summary>
    private PostedWork? _runHead;
    private PostedWork? _runTail;
    private int _idle;
    private int _wakers; // posters between deciding to wake and having woken: Dispose waits for them
    private int _externalWork;
    private readonly ManualResetEventSlim _park = new(false, spinCount: 0);

    /// <summary>
    /// How long a libOS parked for external work under a virtual clock waits before it polls its transport again (the
    /// transport's own I/O, catnap's sockets say, cannot end the park; a post or the end of the work ends it at once).
    /// </summary>
    private static readonly TimeSpan ParkSlice = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Runs <paramref name="callback"/> on the libOS thread during its next step. Thread-safe, callable from any thread;
    /// callbacks run in the order they were posted and wake the libOS at once if it is blocked in the transport. An
    /// exception from a callback is a fault (see <see cref="Faults"/>), like one escaping a spawned coroutine. Allocates
    /// nothing in steady state when <paramref name="callback"/> is a cached delegate (a static lambda).
    /// </summary>
    public void Post<TState>(Action<TState> callback, TState state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Enqueue(PostNode<TState>.Rent(callback, state));
    }

    /// <summary>Runs <paramref name="callback"/> on the libOS thread; see <see cref="Post{TState}"/>.</summary>
    public void Post(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Enqueue(PostNode<Action>.Rent(static c => c(), callback));
    }

    /// <summary>
    /// Announces work running on another thread whose result will come back through <see cref="Post{TState}"/> or a
    /// <see cref="RemoteCompletion"/>. While any is announced, a libOS on a <see cref="VirtualTimeProvider"/> with
    /// <see cref="VirtualTimeProvider.AutoAdvance"/> that has nothing else to do at the current instant does not jump
    /// the clock to its next timer: it waits in real time for the result, so virtual time stands still while the other
    /// thread works and a run is the same however long the work takes. Under a real clock it changes nothing. Call it
    /// before the work can finish (on the libOS thread when handing the work off is simplest), and
    /// <see cref="EndExternalWork"/> once per call.
    /// </summary>
    public void BeginExternalWork() => Interlocked.Increment(ref _externalWork);

    /// <summary>
    /// Ends one <see cref="BeginExternalWork"/>. Thread-safe: call it on the libOS thread once the result has been
    /// taken, or on the worker thread after posting the result (never before: the clock could jump in between).
    /// </summary>
    public void EndExternalWork()
    {
        int left = Interlocked.Decrement(ref _externalWork);
        if (left < 0)
        {
            Interlocked.Increment(ref _externalWork);
            throw new InvalidOperationException("EndExternalWork without a matching BeginExternalWork");
        }
        if (left == 0) RequestWake(); // a parked libOS may now move the clock
    }

    /// <summary>Announced external work that has not ended (see <see cref="BeginExternalWork"/>).</summary>
    public int ExternalWorkPending => Volatile.Read(ref _externalWork);

    internal void Enqueue(PostedWork work)
    {
        var head = Volatile.Read(ref _posted);
        while (true)
        {
            work.Next = head;
            var seen = Interlocked.CompareExchange(ref _posted, work, head);
            if (seen == head) break;
            head = seen;
        }
        RequestWake();
    }

    /// <summary>Wakes the libOS thread if it announced that it blocks or parks; nothing if it runs or was signalled.</summary>
    private void RequestWake()
    {
        int idle = Volatile.Read(ref _idle);
        if (idle is not (IdleBlocked or IdleParked)) return;
        Interlocked.Increment(ref _wakers);
        // Fails if it woke up, someone else signalled, or it was disposed in between.
        if (Interlocked.CompareExchange(ref _idle, IdleSignalled, idle) == idle)
        {
            if (idle == IdleBlocked) _transport.Wake();
            else _park.Set();
        }
        Interlocked.Decrement(ref _wakers);
    }

    /// <summary>
    /// Stops waking for good and waits for a poster that is still inside <see cref="INetworkTransport.Wake"/>, so the
    /// transport's wake descriptor is never written after it was closed (its number could be reused by then).
    /// </summary>
    private void StopWaking()
    {
        Interlocked.Exchange(ref _idle, IdleDisposed);
        var spin = new SpinWait();
        while (Volatile.Read(ref _wakers) != 0) spin.SpinOnce();
    }

    /// <summary>True while the libOS thread waits in the transport or parks (for tests that post to a sleeping libOS).</summary>
    internal bool IsBlocked => Volatile.Read(ref _idle) is IdleBlocked or IdleParked;

    private bool HasPostedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _runHead is not null || Volatile.Read(ref _posted) is not null;
    }

    /// <summary>libOS thread: runs every callback posted so far, in posting order. True if any ran.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RunPosted()
    {
        if (Volatile.Read(ref _posted) is not null) TakePosted();
        if (_runHead is null) return false;
        // Callbacks that post again go to _posted and run in the next step. A callback that re-enters the run loop
        // (Wait, RunUntil) lets the callbacks after it run inside that loop: this list first, then newer posts, so
        // callbacks still start in posting order.
        var hostContext = EnterLoop();
        try
        {
            while (_runHead is { } work)
            {
                _runHead = work.Next;
                if (_runHead is null) _runTail = null;
                work.Next = null;
                try
                {
                    work.Invoke();
                }
                catch (Exception e)
                {
                    ReportFault(e);
                }
            }
        }
        finally
        {
            ExitLoop(hostContext);
        }
        return true;
    }

    private void TakePosted()
    {
        var newest = Interlocked.Exchange(ref _posted, null);
        PostedWork? oldest = null;
        for (var node = newest; node is not null;)
        {
            var next = node.Next;
            node.Next = oldest;
            oldest = node;
            node = next;
        }
        if (oldest is null) return;
        if (_runTail is null) _runHead = oldest;
        else _runTail.Next = oldest;
        _runTail = newest;
    }

    /// <summary>Blocks in the transport unless work was posted; a post from now on wakes it through <see cref="INetworkTransport.Wake"/>.</summary>
    private void BlockInTransport(TimeSpan? timeout)
    {
        Interlocked.Exchange(ref _idle, IdleBlocked);
        if (!HasPostedWork) _transport.Block(timeout);
        Interlocked.Exchange(ref _idle, IdleRunning);
    }

    /// <summary>
    /// Waits in real time, with a virtual clock standing still, for a post or the end of external work (or one
    /// <see cref="ParkSlice"/>, after which the run loop polls the transport again).
    /// </summary>
    private void ParkForExternalWork()
    {
        _park.Reset();
        Interlocked.Exchange(ref _idle, IdleParked);
        if (!HasPostedWork && Volatile.Read(ref _externalWork) > 0) _park.Wait(ParkSlice);
        Interlocked.Exchange(ref _idle, IdleRunning);
    }
}
