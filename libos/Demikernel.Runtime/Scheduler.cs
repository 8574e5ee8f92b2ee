using System.Numerics;
using System.Runtime.CompilerServices;

namespace Demikernel.Runtime;

/// <summary>Something the scheduler can run: a coroutine step, a completion to deliver, a background poller.</summary>
internal interface IRunnable
{
    void Run();
}

/// <summary>A task's slot in the scheduler and the generation that makes stale handles harmless.</summary>
internal readonly record struct TaskHandle(int Slot, uint Generation)
{
    public bool IsValid => Generation != 0;
}

/// <summary>
/// The cooperative, single-threaded scheduler of one libOS instance.
/// <code>
///   slots:   [ t0 t1 ... t63 | t64 ... t127 | ... ]      tasks live in a slab (free list of slot indices)
///   ready:   [ page0 bits    | page1 bits   | ... ]      one 64-bit word per page of 64 tasks; a wake is one OR
///   summary: [ bit per page ]                          so a pass skips idle pages 64 at a time
///   timers:  min-heap of (due, handle) over an injected TimeProvider
/// </code>
/// A pass runs every task that was ready when it reached the task's page, lowest slot first, at most once: a task woken
/// while its page runs waits for the next pass, so no task can starve the others or the transport's poll.
/// Nothing here allocates in steady state.
/// </summary>
internal sealed class Scheduler
{
    private IRunnable?[] _tasks = new IRunnable?[64];
    private uint[] _generations = new uint[64];
    private ulong[] _ready = new ulong[1];
    private ulong[] _summary = new ulong[1];
    private int[] _freeSlots = new int[64];
    private int _freeCount;
    private int _highWater;
    private readonly TimerHeap _timers = new();

    public Scheduler(TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
    }

    public TimeProvider Time { get; }

    /// <summary>Tasks currently inserted.</summary>
    public int Count { get; private set; }

    /// <summary>Total task runs, for statistics and tests.</summary>
    public long Runs { get; private set; }

    public int PendingTimers => _timers.Count;

    public TaskHandle Insert(IRunnable task, bool ready = false)
    {
        ArgumentNullException.ThrowIfNull(task);
        int slot = _freeCount > 0 ? _freeSlots[--_freeCount] : _highWater++;
        if (slot >= _tasks.Length) GrowSlots();
        _tasks[slot] = task;
        uint gen = _generations[slot] + 1;
        if (gen == 0) gen = 1;
        _generations[slot] = gen;
        Count++;
        var handle = new TaskHandle(slot, gen);
        if (ready) Wake(handle);
        return handle;
    }

    /// <summary>Removes a task; a stale handle is ignored.</summary>
    public bool Remove(TaskHandle handle)
    {
        int slot = handle.Slot;
        if ((uint)slot >= (uint)_highWater || _generations[slot] != handle.Generation || _tasks[slot] is null) return false;
        _tasks[slot] = null;
        _ready[slot >> 6] &= ~(1UL << slot);
        _generations[slot]++;
        if (_generations[slot] == 0) _generations[slot] = 1;
        if (_freeCount == _freeSlots.Length) Array.Resize(ref _freeSlots, _freeSlots.Length * 2);
        _freeSlots[_freeCount++] = slot;
        Count--;
        return true;
    }

    /// <summary>Marks a task runnable. Waking a task twice before it runs runs it once; a stale handle is ignored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Wake(TaskHandle handle)
    {
        int slot = handle.Slot;
        if ((uint)slot >= (uint)_highWater || _generations[slot] != handle.Generation) return;
        int page = slot >> 6;
        _ready[page] |= 1UL << slot;
        _summary[page >> 6] |= 1UL << page;
    }

    /// <summary>The tasks inserted now, by slot (diagnostics and leak tests; allocates).</summary>
    public IReadOnlyList<IRunnable> Snapshot()
    {
        var tasks = new List<IRunnable>(Count);
        for (int i = 0; i < _highWater; i++)
            if (_tasks[i] is { } task) tasks.Add(task);
        return tasks;
    }

    public bool HasReady
    {
        get
        {
            foreach (ulong word in _summary)
                if (word != 0) return true;
            return false;
        }
    }

    /// <summary>
    /// False when <see cref="RunReady"/> has nothing to do: no task woken and no outer pass to hand back (the common
    /// case of a spinning loop, tested inline).
    /// </summary>
    public bool MayHaveReady
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var summary = _summary;
            return _heldSummary >= 0 || summary.Length != 1 || summary[0] != 0;
        }
    }

    /// <summary>
    /// True while a pass runs its last task: nothing else was ready when the pass began, or what was has run. (Tasks
    /// woken meanwhile belong to the next pass.) False outside a pass, and when the pass holds more than one summary
    /// word of ready pages (over 4,096 tasks), where finding the last one is not worth the walk.
    /// </summary>
    public bool RunningLastTask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _heldSummary >= 0 && (_heldBits | _heldPages) == 0 && _summary.Length == 1;
    }

    /// <summary>Runs every ready task once. Returns the number of tasks run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int RunReady() => MayHaveReady ? RunReadyTasks() : 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunReadyTasks()
    {
        // A task may run a pass of its own (a long script serving other clients through DemiLibOS.Poll, as
        // redis-server's processEventsWhileBlocked): what the pass below snapshotted and has not run yet is handed back
        // as ready first, or those tasks would wait for the long task to end.
        if (_heldSummary >= 0) ReturnHeld();
        int depth = _passDepth++;
        int ran = 0;
        try
        {
            for (int s = 0; s < _summary.Length; s++)
            {
                // Snapshot the pages that are ready now: a page woken again during this pass waits for the next one.
                ulong pages = _summary[s];
                _summary[s] = 0;
                while (pages != 0)
                {
                    int page = (s << 6) + BitOperations.TrailingZeroCount(pages);
                    pages &= pages - 1;
                    ulong bits = _ready[page];
                    _ready[page] = 0;
                    while (bits != 0)
                    {
                        int slot = (page << 6) + BitOperations.TrailingZeroCount(bits);
                        bits &= bits - 1;
                        var task = _tasks[slot];
                        if (task is null) continue;
                        ran++;
                        _heldSummary = s;
                        _heldPage = page;
                        _heldPages = pages;
                        _heldBits = bits;
                        task.Run();
                        _heldSummary = -1;
                        if ((_returned & (1UL << depth)) != 0)
                        {
                            _returned &= ~(1UL << depth); // a nested pass took over what this one still held
                            bits = 0;
                            pages = 0;
                        }
                    }
                }
            }
        }
        finally
        {
            _passDepth = depth;
            _heldSummary = -1;
        }
        Runs += ran;
        return ran;
    }

    // The running pass's snapshot not yet run (published around each task.Run, so a nested pass can hand it back).
    private int _passDepth;
    private int _heldSummary = -1;
    private int _heldPage;
    private ulong _heldPages;
    private ulong _heldBits;
    private ulong _returned;

    private void ReturnHeld()
    {
        if (_heldBits != 0)
        {
            _ready[_heldPage] |= _heldBits;
            _summary[_heldPage >> 6] |= 1UL << _heldPage;
        }
        _summary[_heldSummary] |= _heldPages;
        if (_passDepth > 0 && _passDepth <= 64) _returned |= 1UL << (_passDepth - 1);
        _heldSummary = -1;
    }

    // ---- timers ----

    /// <summary>Current time of the injected clock, in <see cref="TimeProvider.TimestampFrequency"/> ticks.</summary>
    public long Now => Time.GetTimestamp();

    public long TicksFrom(TimeSpan span) => (long)(span.Ticks * (Time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));

    public TimeSpan SpanFromTicks(long ticks) => TimeSpan.FromTicks((long)(ticks * (TimeSpan.TicksPerSecond / (double)Time.TimestampFrequency)));

    /// <summary>Wakes <paramref name="handle"/> once the clock reaches <paramref name="dueTimestamp"/>.</summary>
    public void WakeAt(TaskHandle handle, long dueTimestamp) => _timers.Push(dueTimestamp, handle);

    public void WakeAfter(TaskHandle handle, TimeSpan delay) => WakeAt(handle, Now + TicksFrom(delay));

    /// <summary>Wakes the tasks whose timers are due; returns how many fired.</summary>
    public int FireTimers() => _timers.Count == 0 ? 0 : FireTimers(Now);

    /// <summary>Wakes the tasks whose timers are due at <paramref name="now"/> (a clock reading the caller already has).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FireTimers(long now) => now < _timers.NextDue ? 0 : FireDueTimers(now);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int FireDueTimers(long now)
    {
        int fired = 0;
        while (_timers.TryPopDue(now, out var handle))
        {
            Wake(handle);
            fired++;
        }
        return fired;
    }

    /// <summary>Timestamp of the earliest pending timer, if any.</summary>
    public bool TryGetNextDeadline(out long due) => _timers.TryPeek(out due);

    private void GrowSlots()
    {
        int n = _tasks.Length * 2;
        Array.Resize(ref _tasks, n);
        Array.Resize(ref _generations, n);
        Array.Resize(ref _ready, n >> 6);
        Array.Resize(ref _summary, Math.Max(1, ((n >> 6) + 63) >> 6));
    }

    /// <summary>A binary min-heap of (due, handle); stale handles are ignored when they fire.</summary>
    private sealed class TimerHeap
    {
        private (long Due, TaskHandle Handle)[] _items = new (long, TaskHandle)[16];

        public int Count { get; private set; }

        /// <summary>The earliest due time, <see cref="long.MaxValue"/> when empty: one compare tells a pass none is due.</summary>
        public long NextDue { get; private set; } = long.MaxValue;

        public void Push(long due, TaskHandle handle)
        {
            if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
            int i = Count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (_items[parent].Due <= due) break;
                _items[i] = _items[parent];
                i = parent;
            }
            _items[i] = (due, handle);
            NextDue = _items[0].Due;
        }

        public bool TryPeek(out long due)
        {
            due = Count > 0 ? _items[0].Due : 0;
            return Count > 0;
        }

        public bool TryPopDue(long now, out TaskHandle handle)
        {
            if (Count == 0 || _items[0].Due > now)
            {
                handle = default;
                return false;
            }
            handle = _items[0].Handle;
            var last = _items[--Count];
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= Count) break;
                if (child + 1 < Count && _items[child + 1].Due < _items[child].Due) child++;
                if (last.Due <= _items[child].Due) break;
                _items[i] = _items[child];
                i = child;
            }
            if (Count > 0) _items[i] = last;
            NextDue = Count > 0 ? _items[0].Due : long.MaxValue;
            return true;
        }
    }
}
