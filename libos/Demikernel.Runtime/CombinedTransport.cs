using System.Runtime.InteropServices;

namespace Demikernel.Runtime;

/// <summary>
/// Several transports under one libOS, on its one thread: a server listens on its network transport (catnap) and on
/// catmem at once, so a co-located client reaches it through shared memory while others come over TCP.
/// <code>
///   DemiLibOS ── Socket(kind)            ──▶ member 0 (the primary: catnap, ...)
///             ── Socket("catmem", kind)  ──▶ the member of that name
///             ── Poll  ──▶ every cheap member each pass; a member whose poll is a system call every 16th pass
///                           (every 128th once it has been quiet a while; every pass while it keeps finding work,
///                           and on the pass after a sleep)
///             ── Block ──▶ each member arms its wake-up (BeginWait), then one ppoll(2) over all WaitFds
/// </code>
/// Descriptors share the libOS's one table; once made, a socket's queue talks to its own transport only, so nothing
/// routes on the data path. A member that cannot sleep on a descriptor (no <see cref="IWaitableTransport"/>) makes
/// the combination nap in the primary's Block for at most <see cref="FallbackNap"/> instead.
/// </summary>
internal sealed unsafe partial class CombinedTransport : INetworkTransport
{
    /// <summary>How often (in passes) a member whose poll is a system call is polled while others spin: catnap's
    /// epoll_wait (0.3-0.4 µs here) costs about half a catmem round trip and an idle pass ~50 ns, so polling it every
    /// pass would make the spin mostly system calls; one pass in 16 delays a TCP request by under a microsecond.</summary>
    public const int CostlyPollEvery = 16;

    /// <summary>Once such a member has found nothing in <see cref="QuietAfter"/> polls in a row (a few hundred µs of
    /// spinning with no TCP traffic), it is polled one pass in 128 only, until it finds work again: a catmem-only load
    /// then pays for epoll_wait on ~5% of its spin instead of ~40%. A TCP request that comes meanwhile waits a few
    /// µs more if the server is spinning; a sleeping server is woken at once by the ppoll either way.</summary>
    public const int CostlyPollEveryQuiet = 128;

    public const int QuietAfter = 256;

    /// <summary>The longest sleep when some member cannot be woken through a descriptor.</summary>
    public static readonly TimeSpan FallbackNap = TimeSpan.FromMilliseconds(1);

    private readonly INetworkTransport[] _members;
    private readonly IWaitableTransport[]? _waitable; // all members, when every one can sleep on a descriptor
    private readonly bool[] _costly;
    private readonly bool[] _busy;
    private readonly PollFd[] _fds;
    private int _passes;
    private int _quietPolls; // polls of the costly members in a row that found nothing
    private bool _pollAll = true;

    public CombinedTransport(IReadOnlyList<INetworkTransport> members)
    {
        if (members.Count < 2) throw new ArgumentException("a combination needs two transports or more", nameof(members));
        if (members.Select(m => m.Name).Distinct(StringComparer.Ordinal).Count() != members.Count)
            throw new ArgumentException("each transport may appear once", nameof(members));
        _members = [.. members];
        _costly = new bool[_members.Length];
        _busy = new bool[_members.Length];
        _fds = GC.AllocateArray<PollFd>(_members.Length, pinned: true);
        if (_members.All(m => m is IWaitableTransport))
        {
            _waitable = [.. _members.Cast<IWaitableTransport>()];
            for (int i = 0; i < _waitable.Length; i++) _costly[i] = _waitable[i].PollIsSystemCall;
        }
    }

    /// <summary>The primary's name: what the libOS reports as its own (<c>INFO</c>, logs).</summary>
    public string Name => _members[0].Name;

    public IReadOnlyList<string> Names => _members.Select(m => m.Name).ToArray();

    /// <summary>The member of that name, or null.</summary>
    public INetworkTransport? Find(string name) => Array.Find(_members, m => string.Equals(m.Name, name, StringComparison.Ordinal));

    public void Attach(DemiLibOS libos)
    {
        foreach (var member in _members) member.Attach(libos);
    }

    public int Socket(SocketKind kind, out IoQueue? queue) => _members[0].Socket(kind, out queue);

    public int SocketUnix(out IoQueue? queue) => _members[0].SocketUnix(out queue);

    public int SocketInet6(SocketKind kind, out IoQueue? queue) => _members[0].SocketInet6(kind, out queue);

    public bool Poll()
    {
        bool costlyTurn = _pollAll || ++_passes >= (_quietPolls >= QuietAfter ? CostlyPollEveryQuiet : CostlyPollEvery);
        if (costlyTurn)
        {
            _passes = 0;
            _pollAll = false;
        }
        bool progress = false;
        for (int i = 0; i < _members.Length; i++)
        {
            if (!_costly[i])
            {
                progress |= _members[i].Poll();
                continue;
            }
            if (!costlyTurn && !_busy[i]) continue;
            bool moved = _busy[i] = _members[i].Poll();
            _quietPolls = moved ? 0 : _quietPolls + 1;
            progress |= moved;
        }
        return progress;
    }

    public void EndPass()
    {
        foreach (var member in _members) member.EndPass();
    }

    public void Block(TimeSpan? timeout)
    {
        _pollAll = true; // whatever woke us, every member is polled on the next pass
        if (_waitable is null)
        {
            _members[0].Block(timeout is { } t && t < FallbackNap ? t : FallbackNap);
            return;
        }
        int armed = 0;
        bool sleep = true;
        try
        {
            for (; armed < _waitable.Length && sleep; armed++) sleep = _waitable[armed].BeginWait(ref timeout);
            if (!sleep || timeout is { } t && t <= TimeSpan.Zero) return;
            for (int i = 0; i < _waitable.Length; i++) _fds[i] = new PollFd { Fd = _waitable[i].WaitFd, Events = PollIn };
            TimeSpec ts = default;
            if (timeout is { } limit)
            {
                ts.Seconds = limit.Ticks / TimeSpan.TicksPerSecond;
                ts.Nanoseconds = limit.Ticks % TimeSpan.TicksPerSecond * 100;
            }
            fixed (PollFd* fds = _fds)
                ppoll(fds, (nuint)_fds.Length, timeout is null ? null : &ts, null); // EINTR: a spurious wake-up, harmless
        }
        finally
        {
            for (int i = 0; i < armed; i++) _waitable[i].EndWait();
        }
    }

    /// <summary>Another thread posted work: the primary's wake-up ends the ppoll (its WaitFd turns readable) or its nap.</summary>
    public void Wake() => _members[0].Wake();

    public bool TryGetNextDeadline(out long due)
    {
        due = long.MaxValue;
        bool any = false;
        foreach (var member in _members)
        {
            if (member.TryGetNextDeadline(out long d) && d < due)
            {
                due = d;
                any = true;
            }
        }
        return any;
    }

    public void Dispose()
    {
        foreach (var member in _members) member.Dispose();
    }

    private const short PollIn = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ppoll(PollFd* fds, nuint count, TimeSpec* timeout, void* sigmask);
}
