using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

/// <summary>
/// One libOS instance: the PDPIX queue API over one transport, with its scheduler, buffer pool and descriptor table.
/// <code>
///   application ── Socket/Bind/Listen/Accept/Connect/Push/Pop/Close ──▶ IoQueue (transport socket | MemoryQueue)
///        ▲                                                                  │ completes Operation
///        └── Wait/WaitAny/WaitNext  or  await *Async ◀── Scheduler ◀────────┘
/// </code>
/// Single-threaded: the thread that calls <c>Wait*</c> or <see cref="Run"/> does all the OS work (polling the
/// transport, firing timers, resuming coroutines). Other threads get in only through <see cref="Post{TState}"/> and
/// <see cref="RemoteCompletion"/> (DemiLibOS.CrossThread.cs). Errors are errno values, never exceptions.
/// </summary>
public sealed partial class DemiLibOS : IDisposable
{
    private readonly INetworkTransport _transport;
    private IoQueue?[] _queues = new IoQueue?[64];
    private readonly Stack<int> _freeQds = new();
    private int _nextQd;
    // Operations by slot; the free ones' slots in a stack, and the completed, unclaimed ones in a list linked by slot
    // (WaitNext): slots, not references, so renting, freeing and completing an operation store no object reference
    // (each such store in a heap object is a GC write barrier call).
    private Operation[] _ops = new Operation[64];
    private int _opCount;
    private int[] _freeOps = new int[64];
    private int _freeOpCount;
    private int _doneHead = -1;
    private int _doneTail = -1;
    private readonly long _spinTicks;
    private readonly long _idlePollEndTicks; // spin budget + idle-poll window, in Stopwatch ticks; 0 with no idle polling
    private readonly bool _systemClock; // TimeProvider.System: its timestamps are Stopwatch's
    private readonly bool _virtualClock;
    private readonly List<Exception> _faults = [];

    /// <summary>Made by a backend's factory (through the facade's registry), never by an application.</summary>
    internal DemiLibOS(INetworkTransport transport, LibOSOptions? options = null)
    {
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        Options = options ?? new LibOSOptions();
        Scheduler = new Scheduler(Options.Time);
        Pool = new BufferPool(Options.Headroom);
        if (Options.SpinBudget < TimeSpan.Zero || Options.IdlePollInterval < TimeSpan.Zero || Options.IdlePollWindow < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "the spin budget and the idle-poll interval and window must not be negative");
        _spinTicks = (long)(Options.SpinBudget.TotalSeconds * Stopwatch.Frequency);
        if (Options.IdlePollInterval > TimeSpan.Zero)
            _idlePollEndTicks = _spinTicks + (long)(Options.IdlePollWindow.TotalSeconds * Stopwatch.Frequency);
        _systemClock = ReferenceEquals(Scheduler.Time, TimeProvider.System);
        _virtualClock = Scheduler.Time is VirtualTimeProvider;
        transport.Attach(this);
    }

    public string Name => _transport.Name;
    public LibOSOptions Options { get; }
    internal Scheduler Scheduler { get; }
    internal BufferPool Pool { get; }
    public TimeProvider Time => Scheduler.Time;
    internal INetworkTransport Transport => _transport;

    /// <summary>Read-only counters for INFO and leak checks (the scheduler and pool themselves are backend-facing).</summary>
    public LibOSCounters Counters => new(Scheduler.Count, Scheduler.PendingTimers, Scheduler.Runs, Pool.Outstanding, OpenDescriptors, OutstandingOperations);

    /// <summary>The kinds of task on the scheduler now and how many of each (type names), for leak reports.</summary>
    public IReadOnlyDictionary<string, int> ScheduledTaskKinds() =>
        Scheduler.Snapshot().GroupBy(t => t.GetType().Name).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Exceptions that escaped spawned coroutines (they end the coroutine, never the libOS).</summary>
    public IReadOnlyList<Exception> Faults => _faults;

    // ------------------------------------------------------------------ control path

    public int Socket(SocketKind kind, out QDesc qd)
    {
        qd = QDesc.Invalid;
        if (kind is not (SocketKind.Stream or SocketKind.Datagram)) return Errno.EPROTONOSUPPORT;
        int rc = _transport.Socket(kind, out var queue);
        if (rc != 0) return rc;
        qd = Register(queue!);
        return 0;
    }

    /// <summary>
    /// Creates a socket of an address family: <see cref="System.Net.Sockets.AddressFamily.InterNetwork"/> (as
    /// <see cref="Socket(SocketKind, out QDesc)"/>), <see cref="System.Net.Sockets.AddressFamily.InterNetworkV6"/>
    /// (catnap only; its sockets are IPv6-only, IPV6_V6ONLY, as redis-server's listeners) or
    /// <see cref="System.Net.Sockets.AddressFamily.Unix"/> (stream only, as <see cref="SocketUnix"/>). EAFNOSUPPORT
    /// where the libOS has no such family.
    /// </summary>
    public int Socket(System.Net.Sockets.AddressFamily family, SocketKind kind, out QDesc qd)
    {
        qd = QDesc.Invalid;
        switch (family)
        {
            case System.Net.Sockets.AddressFamily.InterNetwork:
                return Socket(kind, out qd);
            case System.Net.Sockets.AddressFamily.Unix:
                return kind == SocketKind.Stream ? SocketUnix(out qd) : Errno.EPROTONOSUPPORT;
            case System.Net.Sockets.AddressFamily.InterNetworkV6:
                if (kind is not (SocketKind.Stream or SocketKind.Datagram)) return Errno.EPROTONOSUPPORT;
                int rc = _transport.SocketInet6(kind, out var queue);
                if (rc != 0) return rc;
                qd = Register(queue!);
                return 0;
            default:
                return Errno.EAFNOSUPPORT;
        }
    }

    /// <summary>
    /// Creates a Unix-domain stream socket (bind it with <see cref="BindUnix"/>, then Listen/Accept/Pop/Push as any
    /// stream; accepted peers have no IP address: <see cref="QResult"/>'s address is 0.0.0.0:0). EAFNOSUPPORT on a
    /// libOS without AF_UNIX.
    /// </summary>
    public int SocketUnix(out QDesc qd)
    {
        qd = QDesc.Invalid;
        int rc = _transport.SocketUnix(out var queue);
        if (rc != 0) return rc;
        qd = Register(queue!);
        return 0;
    }

    /// <summary>Binds a socket made by <see cref="SocketUnix"/> to a filesystem path.</summary>
    public int BindUnix(QDesc qd, string path) => TryGet(qd, out var q) ? q.BindUnix(path) : Errno.EBADF;

    /// <summary>Creates an in-process memory queue (push/pop like a channel).</summary>
    public int Queue(out QDesc qd)
    {
        qd = Register(new MemoryQueue());
        return 0;
    }

    public int Bind(QDesc qd, InetEndpoint local) => TryGet(qd, out var q) ? q.Bind(local) : Errno.EBADF;

    public int Listen(QDesc qd, int backlog) =>
        !TryGet(qd, out var q) ? Errno.EBADF : backlog <= 0 ? Errno.EINVAL : q.Listen(backlog);

    public int GetSockName(QDesc qd, out InetEndpoint local)
    {
        local = default;
        return TryGet(qd, out var q) ? q.GetSockName(out local) : Errno.EBADF;
    }

    public int GetPeerName(QDesc qd, out InetEndpoint remote)
    {
        remote = default;
        return TryGet(qd, out var q) ? q.GetPeerName(out remote) : Errno.EBADF;
    }

    public int SetSockOpt(QDesc qd, SocketOption option, int value) => TryGet(qd, out var q) ? q.SetSockOpt(option, value) : Errno.EBADF;

    public int GetSockOpt(QDesc qd, SocketOption option, out int value)
    {
        value = 0;
        return TryGet(qd, out var q) ? q.GetSockOpt(option, out value) : Errno.EBADF;
    }

    /// <summary>Closes a descriptor at once: its pending operations complete with ECANCELED.</summary>
    public int Close(QDesc qd)
    {
        if (!TryGet(qd, out var q)) return Errno.EBADF;
        _queues[qd.Value] = null;
        _freeQds.Push(qd.Value);
        q.IsClosed = true;
        q.Close();
        return 0;
    }

    // ------------------------------------------------------------------ data path (qtokens)

    public int Accept(QDesc qd, out QToken qt) => StartOp(qd, OpCode.Accept, default, default, 0, out qt);

    public int Connect(QDesc qd, InetEndpoint remote, out QToken qt) => StartOp(qd, OpCode.Connect, default, remote, 0, out qt);

    /// <summary>Pushes an SGA. The libOS holds the buffers until the qtoken completes, so the caller may free it at once.</summary>
    public int Push(QDesc qd, in Sga sga, out QToken qt) => StartOp(qd, OpCode.Push, sga, default, 0, out qt);

    public int PushTo(QDesc qd, in Sga sga, InetEndpoint to, out QToken qt) => StartOp(qd, OpCode.Push, sga, to, 1, out qt);

    /// <summary>Pops data; <paramref name="size"/> bounds the result (0 = default). An empty result means end of stream.</summary>
    public int Pop(QDesc qd, out QToken qt, int size = 0) => StartOp(qd, OpCode.Pop, default, default, size, out qt);

    /// <summary>Closes a descriptor as an operation, for symmetry with Demikernel's async close.</summary>
    public int CloseAsync(QDesc qd, out QToken qt)
    {
        qt = QToken.Invalid;
        if (!TryGet(qd, out _)) return Errno.EBADF;
        var op = RentOp();
        op.Start(OpCode.Close, qd);
        qt = op.Token;
        op.Complete(Close(qd));
        return 0;
    }

    private int StartOp(QDesc qd, OpCode kind, in Sga sga, InetEndpoint address, int size, out QToken qt)
    {
        qt = QToken.Invalid;
        if (!TryGet(qd, out var q)) return Errno.EBADF;
        var op = RentOp();
        int rc = Begin(op, q, qd, kind, sga, address, size);
        if (rc != 0)
        {
            FreeOp(op);
            return rc;
        }
        qt = op.Token;
        return 0;
    }

    /// <summary>Starts <paramref name="op"/> on <paramref name="q"/>; on refusal the op is left unstarted for the caller to free.</summary>
    private int Begin(Operation op, IoQueue q, QDesc qd, OpCode kind, in Sga sga, InetEndpoint address, int size)
    {
        if (kind == OpCode.Push)
        {
            if (!sga.IsValid) return Errno.EINVAL;
            if (sga.Head!.Length == 0 && sga.TotalLength == 0) return Errno.EINVAL; // walk the chain only when the first segment is empty
        }
        op.Start(kind, qd);
        op.Address = address;
        op.Size = size > 0 ? size : Options.DefaultPopSize;
        int rc;
        switch (kind)
        {
            case OpCode.Accept: rc = q.StartAccept(op); break;
            case OpCode.Connect: rc = q.StartConnect(op); break;
            case OpCode.Pop: rc = q.StartPop(op); break;
            case OpCode.Push:
                op.Sga = sga;
                sga.Head!.AddLibRef();
                rc = size == 1 ? q.StartPushTo(op) : q.StartPush(op);
                if (rc != 0)
                {
                    op.Sga = default;
                    sga.Head.ReleaseLibRef();
                }
                // The last task of a pass pushing: nothing else in this pass can join the device's batch, so what it
                // queued goes out now (EndPass), not after the task has gone on to its next pop and the pass has wound
                // down. That tail (about 0.1-0.15 µs on catnip over memif) would otherwise be on every request's
                // round trip, at each end. What the task queues after this still goes out at the end of the pass.
                else if (Scheduler.RunningLastTask) _transport.EndPass();
                break;
            default: rc = Errno.EINVAL; break;
        }
        if (rc != 0) UnlinkDone(op);
        return rc;
    }

    // ------------------------------------------------------------------ waiting

    /// <summary>Waits for one operation. Returns 0 and its result, ETIMEDOUT, or EINVAL for an unknown qtoken.</summary>
    public int Wait(QToken qt, out QResult result, TimeSpan? timeout = null)
    {
        result = default;
        if (!TryGetOp(qt, out var op)) return Errno.EINVAL;
        if (!op.IsCompleted)
        {
            long deadline = Deadline(timeout);
            while (!op.IsCompleted)
            {
                if (!Step(deadline)) return Errno.ETIMEDOUT;
            }
        }
        result = Take(op);
        return 0;
    }

    /// <summary>Waits for the first of several operations; <paramref name="index"/> tells which one completed.</summary>
    public int WaitAny(ReadOnlySpan<QToken> qts, out QResult result, out int index, TimeSpan? timeout = null)
    {
        result = default;
        index = -1;
        for (int i = 0; i < qts.Length; i++)
            if (!TryGetOp(qts[i], out _)) return Errno.EINVAL;
        long deadline = Deadline(timeout);
        while (true)
        {
            for (int i = 0; i < qts.Length; i++)
            {
                TryGetOp(qts[i], out var op);
                if (op!.IsCompleted)
                {
                    index = i;
                    result = Take(op);
                    return 0;
                }
            }
            if (!Step(deadline)) return Errno.ETIMEDOUT;
        }
    }

    /// <summary>
    /// Waits until up to <c>results.Length</c> operations (any qtoken not awaited by a coroutine) have completed,
    /// or the timeout passes with at least one. Returns 0 with <paramref name="count"/> &gt; 0, or ETIMEDOUT.
    /// </summary>
    public int WaitNext(Span<QResult> results, out int count, TimeSpan? timeout = null)
    {
        count = 0;
        if (results.IsEmpty) return Errno.EINVAL;
        long deadline = Deadline(timeout);
        while (true)
        {
            while (count < results.Length && _doneHead >= 0) results[count++] = Take(_ops[_doneHead]);
            if (count == results.Length) return 0;
            if (!Step(deadline)) return count > 0 ? 0 : Errno.ETIMEDOUT;
        }
    }

    /// <summary>
    /// Runs one pass of OS work without blocking: posted callbacks, transport poll, timers, ready tasks. True if anything
    /// happened.
    /// </summary>
    public bool Poll() => Pass(Scheduler.Now);

    /// <summary>
    /// The clock reading of the pass in progress (the step's, which idle steps reuse for a few passes): what a transport's
    /// <see cref="INetworkTransport.Poll"/> may take as "now" instead of reading the clock again.
    /// </summary>
    internal long PassTimestamp { get; private set; }

    /// <summary>
    /// One pass with a clock reading the caller already took (the run loop reads the clock once per step). Each stage's
    /// "nothing to do" test is inlined here, so an idle pass makes no call but the transport's poll.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Pass(long now)
    {
        PassTimestamp = now;
        bool progress = HasPostedWork && RunPosted();
        progress |= _transport.Poll();
        progress |= Scheduler.FireTimers(now) > 0;
        if (Scheduler.MayHaveReady) progress |= RunReadyTasks() > 0;
        if (progress) _transport.EndPass();
        return progress;
    }

    /// <summary>Runs the ready tasks (coroutine steps) with no SynchronizationContext (see <see cref="EnterLoop"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunReadyTasks()
    {
        var hostContext = EnterLoop();
        try
        {
            return Scheduler.RunReady();
        }
        finally
        {
            ExitLoop(hostContext);
        }
    }

    /// <summary>
    /// Application code (a ready coroutine, a posted callback, the main of <see cref="Run"/>) runs with no
    /// SynchronizationContext: awaits inside it resume inline on this thread, never on a context the host installed (a
    /// UI's or a test runner's) nor on the thread pool. The host's context comes off the thread around that code only,
    /// and <see cref="ExitLoop"/> puts it back: a pass that runs none reads no thread-static (that read was a good part
    /// of an idle pass). The transport's poll and timers run no application code (completions only wake tasks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static SynchronizationContext? EnterLoop()
    {
        var hostContext = SynchronizationContext.Current;
        if (hostContext is not null) SynchronizationContext.SetSynchronizationContext(null);
        return hostContext;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExitLoop(SynchronizationContext? hostContext)
    {
        if (hostContext is not null) SynchronizationContext.SetSynchronizationContext(hostContext);
    }

    /// <summary>Starts <paramref name="main"/> on this thread and runs the libOS until it completes.</summary>
    public void Run(Func<ValueTask> main)
    {
        var task = WithoutHostContext(main);
        while (!task.IsCompleted) Step(long.MaxValue);
        task.GetAwaiter().GetResult();
    }

    public T Run<T>(Func<ValueTask<T>> main)
    {
        var task = WithoutHostContext(main);
        while (!task.IsCompleted) Step(long.MaxValue);
        return task.GetAwaiter().GetResult();
    }

    private static TTask WithoutHostContext<TTask>(Func<TTask> start)
    {
        var hostContext = EnterLoop();
        try
        {
            return start();
        }
        finally
        {
            ExitLoop(hostContext);
        }
    }

    /// <summary>Runs the libOS until <paramref name="done"/> returns true or the timeout passes; false on timeout.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan? timeout = null)
    {
        long deadline = Deadline(timeout);
        while (!done())
            if (!Step(deadline)) return done();
        return true;
    }

    private long _idleSince;

    /// <summary>
    /// Idle steps in a row that may reuse the last clock reading under the system clock (see <see cref="StepClock"/>):
    /// at most this many spins (well under a microsecond each) between readings, so a timer fires, a deadline passes
    /// and the spin budget ends at most that many spins late.
    /// </summary>
    private const int IdleStepsPerClockRead = 16;

    private long _stepNow;
    private int _clockReuses;

    /// <summary>
    /// One step of the run loop: poll; if nothing happened, spin for the budget, then (with an idle-poll interval) sleep
    /// an interval between polls for the idle-poll window, then block in the transport until the next timer or
    /// <paramref name="deadline"/>. Returns false once the deadline has passed.
    /// </summary>
    /// <remarks>
    /// Not inlined into <see cref="RunUntil"/>: a server's RunUntil runs for the life of the process, so the JIT only
    /// ever compiles its loop through on-stack replacement, without profile data, and every pass then made interface
    /// calls through dispatch stubs (the transport's Poll and EndPass) and a virtual call for the clock. A method of
    /// its own is tiered as any other, and its profile lets the JIT guard for the one transport and clock there are.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Step(long deadline)
    {
        long now = StepClock(out bool reused);
        if (Pass(now))
        {
            _idleSince = 0;
            _clockReuses = 0; // the work may have taken a while: the next step reads the clock again
            return true;
        }
        if (now >= deadline) return false;
        // Spinning is about real wake-up latency; under a virtual clock it would only burn time.
        if (!_virtualClock)
        {
            // The system TimeProvider's timestamps are Stopwatch's, so the reading above serves the spin budget too.
            long t = _systemClock ? now : Stopwatch.GetTimestamp();
            if (_idleSince == 0) _idleSince = t;
            if (t - _idleSince < _spinTicks) return true;
            if (t - _idleSince < _idlePollEndTicks) return IdlePoll(deadline, now, reused);
        }
        return Idle(deadline, now, reused);
    }

    /// <summary>
    /// An idle step inside the idle-poll window: sleep one interval, or less if a timer or the deadline comes sooner,
    /// then let the next step poll. Unlike <see cref="Idle"/> it leaves the idle start alone, so the steps after it
    /// neither spin again nor restart the window.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool IdlePoll(long deadline, long now, bool reused)
    {
        if (reused)
        {
            now = Scheduler.Now; // a reused reading would make the sleep too long by its age
            _stepNow = now;
            if (now >= deadline) return false;
        }
        _clockReuses = 0; // after the sleep, the next step reads the clock again
        if (HasPostedWork) return true;
        var sleep = Options.IdlePollInterval;
        long wake = NextWake(deadline, now);
        if (wake != long.MaxValue)
        {
            var untilWake = Scheduler.SpanFromTicks(Math.Max(0, wake - now));
            if (untilWake < sleep) sleep = untilWake;
        }
        PreciseSleep.For(sleep);
        return true;
    }

    /// <summary>The end of an idle step once spinning is over: block in the transport (or move a virtual clock).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Idle(long deadline, long now, bool reused)
    {
        if (reused)
        {
            // About to block: a reused reading would make the block too long by its age.
            now = Scheduler.Now;
            _stepNow = now;
            if (now >= deadline) return false;
        }
        if (Time is VirtualTimeProvider { AutoAdvance: true } virtualTime)
        {
            // Let the transport finish what is due at this instant (a simulated network runs its other hosts here)
            // before asking when the next thing happens; then jump the clock there instead of waiting. While another
            // thread does announced work (BeginExternalWork), the clock stands still and the thread waits for it.
            _transport.Block(TimeSpan.Zero);
            long at = Scheduler.Now;
            long next = NextWake(deadline, at);
            if (Volatile.Read(ref _externalWork) > 0)
            {
                if (next > at && !Scheduler.HasReady) ParkForExternalWork();
            }
            else if (next != long.MaxValue) virtualTime.AdvanceTo(next);
        }
        else
        {
            long wake = NextWake(deadline, now);
            BlockInTransport(wake == long.MaxValue ? null : Scheduler.SpanFromTicks(Math.Max(0, wake - now)));
        }
        _idleSince = 0;
        _clockReuses = 0;
        return true;
    }

    /// <summary>
    /// The step's clock reading. A spinning loop that reads the clock every pass spends a third or more of each pass in
    /// clock_gettime (about 40 ns through the vDSO on this kind of VM, with the P/Invoke around it), and every nanosecond
    /// of a pass is wake-up latency: a request that arrives mid-pass waits for the pass to end. So under the system
    /// clock, idle steps in a row reuse one reading <see cref="IdleStepsPerClockRead"/> times; a step after one that did
    /// work, or after blocking, reads it again, and so does an idle step about to block (a stale reading would make the
    /// block longer by its age). Any other clock (a virtual one in tests) is read every step, so runs under it stay exact.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long StepClock(out bool reused)
    {
        if (_clockReuses > 0)
        {
            _clockReuses--;
            reused = true;
            return _stepNow;
        }
        reused = false;
        long now = Scheduler.Now;
        _stepNow = now;
        if (_systemClock) _clockReuses = IdleStepsPerClockRead - 1;
        return now;
    }

    /// <summary>The earliest of the caller's deadline, the next timer and the transport's own next event.</summary>
    private long NextWake(long deadline, long now)
    {
        long wake = deadline;
        if (Scheduler.TryGetNextDeadline(out long timer) && timer < wake) wake = timer;
        if (_transport.TryGetNextDeadline(out long transportDue) && transportDue < wake) wake = Math.Max(now, transportDue);
        return wake;
    }

    private long Deadline(TimeSpan? timeout)
    {
        if (timeout is not { } t) return long.MaxValue;
        if (t <= TimeSpan.Zero) return Scheduler.Now;
        long ticks = Scheduler.TicksFrom(t);
        long now = Scheduler.Now;
        return ticks > long.MaxValue - now ? long.MaxValue : now + ticks;
    }

    // ------------------------------------------------------------------ async surface

    public ValueTask<QResult> AcceptAsync(QDesc qd) => StartAsync(qd, OpCode.Accept, default, default, 0);

    public ValueTask<QResult> ConnectAsync(QDesc qd, InetEndpoint remote) => StartAsync(qd, OpCode.Connect, default, remote, 0);

    public ValueTask<QResult> PushAsync(QDesc qd, in Sga sga) => StartAsync(qd, OpCode.Push, sga, default, 0);

    public ValueTask<QResult> PushToAsync(QDesc qd, in Sga sga, InetEndpoint to) => StartAsync(qd, OpCode.Push, sga, to, 1);

    public ValueTask<QResult> PopAsync(QDesc qd, int size = 0) => StartAsync(qd, OpCode.Pop, default, default, size);

    private ValueTask<QResult> StartAsync(QDesc qd, OpCode kind, in Sga sga, InetEndpoint address, int size)
    {
        if (!TryGet(qd, out var q)) return new ValueTask<QResult>(new QResult(kind, qd, default, Errno.EBADF));
        var op = RentOp();
        int rc = Begin(op, q, qd, kind, sga, address, size);
        if (rc != 0)
        {
            FreeOp(op);
            return new ValueTask<QResult>(new QResult(kind, qd, default, rc));
        }
        if (op.IsCompleted)
        {
            var result = op.Result;
            Release(op);
            return new ValueTask<QResult>(result);
        }
        // From here on completions go to the awaiter, never to the WaitNext list.
        return op.AsValueTask();
    }

    /// <summary>Starts a coroutine on the scheduler. It first runs in the next scheduler pass.</summary>
    public void Spawn(Func<ValueTask> coroutine) => new Coroutine(this, coroutine).Start();

    /// <summary>Completes after <paramref name="delay"/> of the libOS clock.</summary>
    public ValueTask Delay(TimeSpan delay) => DelaySource.Rent(this).Start(delay);

    /// <summary>Lets every other ready task run once before the caller continues.</summary>
    public ValueTask Yield() => DelaySource.Rent(this).Start(TimeSpan.Zero);

    internal readonly Stack<DelaySource> DelayPool = new();

    internal void ReportFault(Exception e) => _faults.Add(e);

    // ------------------------------------------------------------------ memory

    /// <summary>Allocates an SGA of one segment of <paramref name="size"/> bytes from the pinned pool.</summary>
    public Sga SgaAlloc(int size)
    {
        var buffer = Pool.RentForApplication(size);
        buffer.AddAppRef();
        return new Sga(buffer);
    }

    /// <summary>Allocates a multi-segment SGA with the given segment lengths.</summary>
    public Sga SgaAlloc(ReadOnlySpan<int> segmentLengths)
    {
        if (segmentLengths.IsEmpty) throw new ArgumentException("an SGA needs at least one segment", nameof(segmentLengths));
        var head = Pool.RentForApplication(segmentLengths[0]);
        var tail = head;
        for (int i = 1; i < segmentLengths.Length; i++)
        {
            var next = Pool.RentForApplication(segmentLengths[i]);
            tail.Next = next;
            tail = next;
        }
        head.AddAppRef();
        return new Sga(head);
    }

    /// <summary>
    /// Adds a segment of <paramref name="size"/> bytes to the end of an SGA the application owns and returns it. The
    /// segment lives and dies with the SGA (reference counts ride on the first segment).
    /// </summary>
    public DemiBuffer SgaAppend(in Sga sga, int size)
    {
        var last = sga.First;
        while (last.Next is not null) last = last.Next;
        var segment = Pool.RentForApplication(size);
        last.Next = segment;
        return segment;
    }

    /// <summary>Gives an SGA back. EINVAL if it was already freed (stale handle or double free).</summary>
    public int SgaFree(in Sga sga)
    {
        if (sga.Head is null) return 0; // the empty SGA of an end-of-stream pop
        if (!sga.IsValid) return Errno.EINVAL;
        return sga.Head.ReleaseAppRef() ? 0 : Errno.EINVAL;
    }

    // ------------------------------------------------------------------ internals

    internal QDesc Register(IoQueue queue)
    {
        int slot;
        if (_freeQds.Count > 0) slot = _freeQds.Pop();
        else
        {
            slot = _nextQd++;
            if (slot == _queues.Length) Array.Resize(ref _queues, _queues.Length * 2);
        }
        _queues[slot] = queue;
        queue.Qd = new QDesc(slot);
        return queue.Qd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGet(QDesc qd, out IoQueue queue)
    {
        if ((uint)qd.Value < (uint)_queues.Length && _queues[qd.Value] is { } q)
        {
            queue = q;
            return true;
        }
        queue = null!;
        return false;
    }

    /// <summary>The queue behind a descriptor, for transports and tests.</summary>
    internal IoQueue? GetQueue(QDesc qd) => TryGet(qd, out var q) ? q : null;

    public int OpenDescriptors => _nextQd - _freeQds.Count;
    public int OutstandingOperations => _opCount - _freeOpCount;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Operation RentOp()
    {
        if (_freeOpCount > 0) return _ops[_freeOps[--_freeOpCount]];
        return NewOp();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Operation NewOp()
    {
        if (_opCount == _ops.Length)
        {
            Array.Resize(ref _ops, _ops.Length * 2);
            Array.Resize(ref _freeOps, _ops.Length);
        }
        var op = new Operation(this, _opCount);
        _ops[_opCount++] = op;
        return op;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FreeOp(Operation op)
    {
        op.Free();
        _freeOps[_freeOpCount++] = op.Slot;
    }

    private bool TryGetOp(QToken qt, out Operation op)
    {
        int slot = qt.Slot;
        if ((uint)slot < (uint)_opCount && _ops[slot] is { InUse: true } o && o.Generation == qt.Generation && !o.IsAwaited)
        {
            op = o;
            return true;
        }
        op = null!;
        return false;
    }

    private QResult Take(Operation op)
    {
        var result = op.Result;
        Release(op);
        return result;
    }

    internal void Release(Operation op)
    {
        UnlinkDone(op);
        FreeOp(op);
    }

    /// <summary>A non-awaited operation completed: remember it for WaitNext.</summary>
    internal void OnCompleted(Operation op)
    {
        int slot = op.Slot;
        op.InDoneList = true;
        op.DonePrev = _doneTail;
        op.DoneNext = -1;
        if (_doneTail < 0) _doneHead = slot;
        else _ops[_doneTail].DoneNext = slot;
        _doneTail = slot;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UnlinkDone(Operation op)
    {
        if (op.InDoneList) Unlink(op);
    }

    private void Unlink(Operation op)
    {
        int prev = op.DonePrev, next = op.DoneNext;
        if (prev < 0) _doneHead = next;
        else _ops[prev].DoneNext = next;
        if (next < 0) _doneTail = prev;
        else _ops[next].DonePrev = prev;
        op.DonePrev = op.DoneNext = -1;
        op.InDoneList = false;
    }

    public void Dispose()
    {
        for (int i = 0; i < _queues.Length; i++)
            if (_queues[i] is not null) Close(new QDesc(i));
        StopWaking();
        _transport.Dispose();
        _park.Dispose();
    }
}
