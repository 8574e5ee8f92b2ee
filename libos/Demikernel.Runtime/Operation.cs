using System.Threading.Tasks.Sources;

namespace Demikernel.Runtime;

/// <summary>
/// One asynchronous operation (push, pop, accept, connect, close): the object behind a <see cref="QToken"/> and behind
/// the <see cref="ValueTask{QResult}"/> of the async surface. Operations are pooled by their libOS and reused; the token
/// generation makes stale qtokens harmless.
/// <para>
/// Completion never runs application code inline: a transport calls <see cref="Complete(int)"/>, and if an awaiter is
/// attached the operation wakes itself on the scheduler, which then resumes the awaiting coroutine on the libOS thread.
/// </para>
/// </summary>
internal sealed class Operation : IValueTaskSource<QResult>, IRunnable
{
    private ManualResetValueTaskSourceCore<QResult> _core;
    private readonly DemiLibOS _libos;
    private TaskHandle _handle;

    internal Operation(DemiLibOS libos, int slot)
    {
        _libos = libos;
        Slot = slot;
        Generation = 1;
        _core.RunContinuationsAsynchronously = false;
    }

    internal int Slot { get; }
    internal uint Generation { get; private set; }
    internal bool InUse { get; private set; }
    internal bool IsAwaited { get; set; }
    internal QToken Token => new(Slot, Generation);

    public OpCode Kind { get; private set; }
    public QDesc Qd { get; private set; }
    public bool IsCompleted { get; private set; }
    public QResult Result { get; private set; }

    /// <summary>The SGA being pushed (PUSH/PUSHTO).</summary>
    public Sga Sga { get; internal set; }
    /// <summary>Bytes of <see cref="Sga"/> already written, for transports that push in several steps.</summary>
    public int Progress { get; set; }
    /// <summary>Remote address for CONNECT and PUSHTO.</summary>
    public InetEndpoint Address { get; internal set; }
    /// <summary>Largest number of bytes a POP may return (0 = transport default).</summary>
    public int Size { get; internal set; }

    /// <summary>Intrusive link for a transport's queue of pending operations.</summary>
    public Operation? Next { get; set; }

    // Intrusive links (slots in the libOS's operation table, -1 for none) for its list of completed, not yet claimed
    // operations (WaitNext).
    internal int DonePrev = -1;
    internal int DoneNext = -1;
    internal bool InDoneList;

    /// <summary>Starts a free operation: everything but the kind and descriptor is as <see cref="Free"/> (or the constructor) left it.</summary>
    internal void Start(OpCode kind, QDesc qd)
    {
        // The scheduler slot is taken only once a coroutine awaits the operation (AsValueTask), the one case where
        // completion must wake something, and held until it is freed: so the scheduler's task count is what waits
        // now, and an operation that completes at once (a push the ring or socket takes whole, a qtoken claimed by
        // Wait) costs no slot at all.
        InUse = true;
        Kind = kind;
        Qd = qd;
    }

    /// <summary>Completes the operation with an errno (0 = success).</summary>
    public void Complete(int ret) => Finish(new QResult(Kind, Qd, Token, ret));

    /// <summary>Completes a POP with data (or an empty SGA for end of stream) and, for datagrams, the sender.</summary>
    public void CompletePop(DemiBuffer? data, InetEndpoint from = default)
    {
        data?.AddAppRef();
        Finish(new QResult(OpCode.Pop, Qd, Token, 0, new Sga(data), default, from));
    }

    /// <summary>Completes an ACCEPT with the new connection's queue, which the libOS registers under a new descriptor.</summary>
    public void CompleteAccept(IoQueue accepted, InetEndpoint peer)
    {
        var qd = _libos.Register(accepted);
        Finish(new QResult(OpCode.Accept, Qd, Token, 0, default, qd, peer));
    }

    private void Finish(in QResult result)
    {
        if (IsCompleted) return;
        IsCompleted = true;
        Result = result;
        Next = null;
        // The push no longer needs the bytes: drop the libOS's reference taken in Push.
        if (Kind is OpCode.Push) Sga.Head?.ReleaseLibRef();
        if (IsAwaited) _libos.Scheduler.Wake(_handle);
        else _libos.OnCompleted(this);
    }

    /// <summary>Back to the state <see cref="Start"/> expects: every field an operation sets, cleared once, here.</summary>
    internal void Free()
    {
        if (_handle.IsValid)
        {
            _libos.Scheduler.Remove(_handle);
            _handle = default;
        }
        // Only an awaited operation (AsValueTask) used the value-task core; its version moves on, so a stale ValueTask
        // of this use is refused. The others never touched it.
        if (IsAwaited) _core.Reset();
        InUse = false;
        IsCompleted = false;
        IsAwaited = false;
        _delivered = false;
        Result = default;
        Sga = default;
        Progress = 0;
        Address = default;
        Size = 0;
        Next = null;
        unchecked { Generation++; }
        if (Generation == 0) Generation = 1;
    }

    private bool _delivered;

    void IRunnable.Run()
    {
        if (!IsCompleted || !IsAwaited || _delivered) return;
        _delivered = true;
        _core.SetResult(Result);
    }

    QResult IValueTaskSource<QResult>.GetResult(short token)
    {
        var result = _core.GetResult(token);
        _libos.Release(this);
        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<QResult>.GetStatus(short token) => _core.GetStatus(token);

    // The continuation always resumes on the libOS thread through the scheduler: never on a captured
    // SynchronizationContext (a test runner's, say) or the thread pool.
    void IValueTaskSource<QResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~(ValueTaskSourceOnCompletedFlags.UseSchedulingContext | ValueTaskSourceOnCompletedFlags.FlowExecutionContext));

    internal ValueTask<QResult> AsValueTask()
    {
        IsAwaited = true;
        _handle = _libos.Scheduler.Insert(this);
        return new ValueTask<QResult>(this, _core.Version);
    }
}
