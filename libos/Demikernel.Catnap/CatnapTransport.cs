using Demikernel.Runtime;

namespace Demikernel.Catnap;

/// <summary>
/// catnap: the libOS over Linux sockets. Every socket is non-blocking and registered once, edge-triggered, with one
/// epoll instance; <see cref="Poll"/> (epoll_wait with a zero timeout) runs on the libOS thread each scheduler pass and
/// hands readiness to the sockets, which then make progress on their pending operations. An eventfd in the same epoll
/// set lets another thread end a <see cref="Block"/> (<see cref="Wake"/>).
/// </summary>
internal sealed unsafe class CatnapTransport : IWaitableTransport
{
    private const int MaxEvents = 256;
    /// <summary>The epoll data of the wake eventfd; socket ids are small indices, so it never names a socket.</summary>
    private const ulong WakeId = ulong.MaxValue;
    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly LibC.EpollEvent[] _events = GC.AllocateArray<LibC.EpollEvent>(MaxEvents, pinned: true);
    private CatnapSocket?[] _byId = new CatnapSocket?[64];
    private readonly Stack<int> _freeIds = new();
    private int _nextId;
    private DemiLibOS? _libos;

    public CatnapTransport()
    {
        _epoll = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        if (_epoll < 0) throw new InvalidOperationException($"catnap: epoll_create1 failed: {Errno.Name(LibC.LastErrno)}");
        _wakeFd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (_wakeFd < 0)
        {
            int e = LibC.LastErrno;
            LibC.close(_epoll);
            throw new InvalidOperationException($"catnap: eventfd failed: {Errno.Name(e)}");
        }
        // Level-triggered: it stays readable until Dispatch drains it, so a wake that lands before epoll_wait is seen.
        var ev = new LibC.EpollEvent { Events = LibC.EPOLLIN, Data = WakeId };
        if (LibC.epoll_ctl(_epoll, LibC.EPOLL_CTL_ADD, _wakeFd, &ev) != 0)
        {
            int e = LibC.LastErrno;
            LibC.close(_wakeFd);
            LibC.close(_epoll);
            throw new InvalidOperationException($"catnap: epoll_ctl(ADD eventfd) failed: {Errno.Name(e)}");
        }
    }

    public string Name => "catnap";

    internal DemiLibOS LibOS => _libos ?? throw new InvalidOperationException("catnap transport is not attached to a libOS");

    /// <summary>Sockets registered with epoll (open descriptors of this transport).</summary>
    public int OpenSockets => _nextId - _freeIds.Count;

    public void Attach(DemiLibOS libos) => _libos = libos;

    public int Socket(SocketKind kind, out IoQueue? queue)
    {
        queue = null;
        int type = (kind == SocketKind.Stream ? LibC.SOCK_STREAM : LibC.SOCK_DGRAM) | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC;
        int fd = LibC.socket(LibC.AF_INET, type, 0);
        if (fd < 0) return LibC.LastErrno;
        queue = Adopt(fd, kind, connected: false);
        return 0;
    }

    /// <summary>An IPv6 socket (AF_INET6). IPV6_V6ONLY is set, as redis-server sets it on its IPv6 listeners, so "*" and
    /// "::*" can both be bound at one port; IPv4 peers never show up as IPv4-mapped IPv6 addresses.</summary>
    public int SocketInet6(SocketKind kind, out IoQueue? queue)
    {
        queue = null;
        int type = (kind == SocketKind.Stream ? LibC.SOCK_STREAM : LibC.SOCK_DGRAM) | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC;
        int fd = LibC.socket(LibC.AF_INET6, type, 0);
        if (fd < 0) return LibC.LastErrno;
        int one = 1;
        unsafe
        {
            if (LibC.setsockopt(fd, LibC.IPPROTO_IPV6, LibC.IPV6_V6ONLY, &one, sizeof(int)) != 0)
            {
                int errno = LibC.LastErrno;
                LibC.close(fd);
                return errno;
            }
        }
        queue = Adopt(fd, kind, connected: false, LibC.AF_INET6);
        return 0;
    }

    /// <summary>A Unix-domain stream socket (AF_UNIX): bound to a path, listened on and accepted like TCP.</summary>
    public int SocketUnix(out IoQueue? queue)
    {
        queue = null;
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) return LibC.LastErrno;
        queue = Adopt(fd, SocketKind.Stream, connected: false, LibC.AF_UNIX);
        return 0;
    }

    internal CatnapSocket Adopt(int fd, SocketKind kind, bool connected, int family = LibC.AF_INET)
    {
        int id = _freeIds.Count > 0 ? _freeIds.Pop() : _nextId++;
        if (id >= _byId.Length) Array.Resize(ref _byId, _byId.Length * 2);
        var socket = new CatnapSocket(this, fd, id, kind, connected, family);
        _byId[id] = socket;
        var ev = new LibC.EpollEvent
        {
            Events = LibC.EPOLLIN | LibC.EPOLLOUT | LibC.EPOLLRDHUP | LibC.EPOLLET,
            Data = (ulong)id,
        };
        if (LibC.epoll_ctl(_epoll, LibC.EPOLL_CTL_ADD, fd, &ev) != 0)
            throw new InvalidOperationException($"catnap: epoll_ctl(ADD) failed: {Errno.Name(LibC.LastErrno)}");
        return socket;
    }

    internal void Forget(CatnapSocket socket)
    {
        _byId[socket.Id] = null;
        _freeIds.Push(socket.Id);
    }

    // ---- the one waiting reader, read directly ----
    // With one connection waiting for data (pipeline 1 to one peer), spinning through epoll costs the round trip an
    // epoll_wait that returns the event before the recv that takes the data: two system calls where one does. So while
    // exactly one stream socket has a pop waiting for data, each pass tries its recv directly (EAGAIN when nothing came)
    // and runs epoll_wait only every EpollEveryPasses passes, for everything else (accepts, the wake eventfd, other
    // sockets' writability). Edges are never ignored: an EPOLLIN that epoll reports later still means data is there, and
    // an edge whose data a direct recv already took comes back as EPOLLOUT alone (tcp_poll), which costs nothing. With
    // two or more waiting readers (many connections) a pass is one epoll_wait, as before: one recv per waiting socket
    // per pass would cost more than the epoll round it saves.

    /// <summary>Every how many passes a pass in direct mode also runs epoll_wait.</summary>
    private const int EpollEveryPasses = 4;
    private int _waitingReaders;
    private CatnapSocket? _hot;
    private int _passesToEpoll;

    /// <summary>Stream sockets with a pop waiting for data (diagnostics and tests).</summary>
    internal int WaitingReaders => _waitingReaders;

    /// <summary>Called by a socket when it starts or stops waiting for data with a pop pending.</summary>
    internal void NoteWaiting(CatnapSocket socket, bool waiting)
    {
        if (waiting)
        {
            _waitingReaders++;
            _hot = socket;
        }
        else
        {
            _waitingReaders--;
            if (_hot == socket) _hot = null; // another may still wait; it becomes the hot one when it waits anew
        }
    }

    public bool Poll()
    {
        if (_waitingReaders == 1 && _hot is { } hot)
        {
            bool progress = hot.PollDirect();
            if (--_passesToEpoll > 0) return progress;
            _passesToEpoll = EpollEveryPasses;
            return (Dispatch(0) > 0) | progress;
        }
        return Dispatch(0) > 0;
    }

    public void Block(TimeSpan? timeout)
    {
        int ms = timeout is not { } t ? -1 : (int)Math.Min(int.MaxValue, Math.Ceiling(t.TotalMilliseconds));
        Dispatch(ms);
    }

    // Sleeping beside other transports (CombinedTransport): the epoll instance itself is readable while any socket
    // (or the wake eventfd) has an event, so it sits in the combination's ppoll and the next Poll dispatches the events.
    public int WaitFd => _epoll;

    public bool PollIsSystemCall => true;

    public bool BeginWait(ref TimeSpan? timeout) => true;

    public void EndWait() { }

    /// <summary>
    /// Ends a <see cref="Block"/> in progress, or the next one: adds 1 to the eventfd (one write; the counter coalesces
    /// wakes until <see cref="Dispatch"/> drains it). Thread-safe.
    /// </summary>
    public void Wake()
    {
        ulong one = 1;
        LibC.write(_wakeFd, &one, sizeof(ulong)); // EAGAIN only if the counter is near 2^64: it is readable then anyway
    }

    private int Dispatch(int timeoutMs)
    {
        int n;
        fixed (LibC.EpollEvent* events = _events)
            n = timeoutMs == 0
                ? LibC.epoll_wait_nowait(_epoll, events, MaxEvents, 0)
                : LibC.epoll_wait(_epoll, events, MaxEvents, timeoutMs);
        int sockets = 0;
        for (int i = 0; i < n; i++)
        {
            var ev = _events[i];
            if (ev.Data == WakeId)
            {
                ulong count;
                LibC.read(_wakeFd, &count, sizeof(ulong)); // drains it; the posted work itself is the libOS's to run
                continue;
            }
            sockets++;
            if (ev.Data < (ulong)_byId.Length && _byId[(int)ev.Data] is { } socket)
                socket.OnReadiness(ev.Events);
        }
        return sockets;
    }

    public void Dispose()
    {
        LibC.close(_wakeFd);
        LibC.close(_epoll);
    }
}
