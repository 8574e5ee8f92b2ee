using Demikernel.Runtime;

namespace Demikernel.Catnap;

/// <summary>
/// A non-blocking Linux socket behind a descriptor. Readiness flags come from edge-triggered epoll; operations are tried
/// at once and, when the kernel says EAGAIN, wait in FIFO order until the next readiness edge.
/// A pop rents its buffer only once the socket is readable ("wait for data before renting a buffer").
/// </summary>
internal sealed unsafe class CatnapSocket : IoQueue
{
    private readonly CatnapTransport _transport;
    private readonly SocketKind _kind;
    private int _fd;
    private bool _readable = true;
    // The peer shut its side (EPOLLRDHUP/EPOLLHUP seen): reads never block again, so a short read must not wait for an
    // edge. Data and FIN that arrive together give one edge; without this the EOF after them was never read and the
    // connection (with its pending pop) stayed open for good.
    private bool _peerClosed;
    private bool _writable;
    private bool _eof;
    private bool _listening;
    private const int DirectMaxPopSize = 256 * 1024;
    // Counted by the transport among the stream sockets waiting for data with a pop pending (see TryPop).
    private bool _waiting;
    private Operation? _connect;
    private OperationQueue _accepts;
    private OperationQueue _pops;
    private OperationQueue _pushes;

    /// <summary>AF_INET, AF_INET6 or AF_UNIX. Unix peers and local ends have no IP endpoint (reported as 0.0.0.0:0); an
    /// endpoint of the other IP family is refused with EAFNOSUPPORT, as Linux refuses it.</summary>
    private readonly int _family;
    private bool IsUnix => _family == LibC.AF_UNIX;

    public CatnapSocket(CatnapTransport transport, int fd, int id, SocketKind kind, bool connected, int family)
    {
        _family = family;
        _transport = transport;
        _fd = fd;
        Id = id;
        _kind = kind;
        _writable = connected || kind == SocketKind.Datagram;
    }

    public int Id { get; }

    public override int BindUnix(string path)
    {
        if (!IsUnix) return Errno.EAFNOSUPPORT;
        int length = System.Text.Encoding.UTF8.GetByteCount(path);
        if (length is 0 or > 107) return 36; // ENAMETOOLONG (or an empty path)
        var addr = new LibC.SockAddrUn { Family = LibC.AF_UNIX };
        System.Text.Encoding.UTF8.GetBytes(path, new Span<byte>(addr.Path, 108));
        return LibC.bind_unix(_fd, &addr, sizeof(ushort) + length + 1) == 0 ? 0 : LibC.LastErrno;
    }

    /// <summary>The endpoint's family is this socket's.</summary>
    private bool Fits(in InetEndpoint endpoint) => _family == (endpoint.IsIPv6 ? LibC.AF_INET6 : LibC.AF_INET);

    public override int Bind(InetEndpoint local)
    {
        if (!Fits(local)) return Errno.EAFNOSUPPORT;
        int one = 1;
        // Like redis-server: a restarted server can bind its port while old connections sit in TIME-WAIT.
        if (_kind == SocketKind.Stream) LibC.setsockopt(_fd, LibC.SOL_SOCKET, LibC.SO_REUSEADDR, &one, sizeof(int));
        int length = LibC.ToSockAddr(local, out var addr);
        return LibC.bind(_fd, &addr, length) == 0 ? 0 : LibC.LastErrno;
    }

    public override int Listen(int backlog)
    {
        if (_kind != SocketKind.Stream) return Errno.EOPNOTSUPP;
        if (LibC.listen(_fd, backlog) != 0) return LibC.LastErrno;
        _listening = true;
        return 0;
    }

    public override int StartAccept(Operation op)
    {
        if (!_listening) return Errno.EINVAL;
        _accepts.Enqueue(op);
        TryAccept();
        return 0;
    }

    public override int StartConnect(Operation op)
    {
        if (_listening || _connect is not null) return Errno.EALREADY;
        if (!Fits(op.Address)) return Errno.EAFNOSUPPORT;
        int length = LibC.ToSockAddr(op.Address, out var addr);
        if (LibC.connect(_fd, &addr, length) == 0)
        {
            _writable = true;
            op.Complete(0);
            return 0;
        }
        int errno = LibC.LastErrno;
        if (errno != Errno.EINPROGRESS) return errno;
        _connect = op;
        return 0;
    }

    public override int StartPop(Operation op)
    {
        if (_listening) return Errno.EINVAL;
        _pops.Enqueue(op);
        TryPop();
        return 0;
    }

    public override int StartPush(Operation op)
    {
        if (_listening) return Errno.EINVAL;
        if (_kind == SocketKind.Datagram) return Errno.EDESTADDRREQ;
        _pushes.Enqueue(op);
        TryPush();
        return 0;
    }

    public override int StartPushTo(Operation op)
    {
        if (_kind != SocketKind.Datagram) return StartPush(op);
        // Datagrams go out whole or not at all: gather into one send.
        var head = op.Sga.First;
        if (!Fits(op.Address)) return Errno.EAFNOSUPPORT;
        int toLength = LibC.ToSockAddr(op.Address, out var to);
        nint sent;
        if (head.Next is null)
        {
            fixed (byte* p = head.Span) sent = LibC.sendto(_fd, p, (nuint)head.Length, LibC.MSG_NOSIGNAL, &to, toLength);
        }
        else
        {
            byte[] flat = op.Sga.ToArray();
            fixed (byte* p = flat) sent = LibC.sendto(_fd, p, (nuint)flat.Length, LibC.MSG_NOSIGNAL, &to, toLength);
        }
        op.Complete(sent >= 0 ? 0 : LibC.LastErrno);
        return 0;
    }

    public void OnReadiness(uint events)
    {
        if ((events & (LibC.EPOLLIN | LibC.EPOLLRDHUP | LibC.EPOLLHUP | LibC.EPOLLERR)) != 0) _readable = true;
        if ((events & (LibC.EPOLLRDHUP | LibC.EPOLLHUP | LibC.EPOLLERR)) != 0) _peerClosed = true;
        if ((events & (LibC.EPOLLOUT | LibC.EPOLLHUP | LibC.EPOLLERR)) != 0) _writable = true;
        if (_connect is not null && _writable) FinishConnect();
        if (_listening) TryAccept();
        else
        {
            TryPop();
            TryPush();
        }
    }

    private void FinishConnect()
    {
        var op = _connect!;
        _connect = null;
        int err = 0, len = sizeof(int);
        LibC.getsockopt(_fd, LibC.SOL_SOCKET, LibC.SO_ERROR, &err, &len);
        if (err != 0) _writable = false;
        op.Complete(err);
    }

    private void TryAccept()
    {
        while (_readable && !_accepts.IsEmpty)
        {
            LibC.SockAddrIn6 addr;
            int len = sizeof(LibC.SockAddrIn6);
            int fd = LibC.accept4(_fd, &addr, &len, LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC);
            if (fd < 0)
            {
                int errno = LibC.LastErrno;
                if (errno == Errno.EAGAIN) { _readable = false; return; }
                if (errno is Errno.ECONNABORTED or Errno.EINTR) continue;
                _accepts.Dequeue()!.Complete(errno);
                continue;
            }
            var socket = _transport.Adopt(fd, SocketKind.Stream, connected: true, _family);
            // a Unix peer's sockaddr_un does not fit (and means nothing) in an IP endpoint
            _accepts.Dequeue()!.CompleteAccept(socket, IsUnix ? default : LibC.FromSockAddr(addr));
        }
    }

    /// <summary>Tries the pending pops; then tells the transport whether this socket now waits for data (a pop pending,
    /// the kernel buffer drained), which is what lets a lone waiting socket be read directly.</summary>
    private bool TryPop()
    {
        bool completed = TryPopCore();
        // A pop bigger than the pool's classes would allocate its buffer on every direct try: those wait for edges only.
        bool waiting = _fd >= 0 && _kind == SocketKind.Stream && !_readable && !_eof && _pops.Peek is { Size: <= DirectMaxPopSize };
        if (waiting != _waiting)
        {
            _waiting = waiting;
            _transport.NoteWaiting(this, waiting);
        }
        return completed;
    }

    /// <summary>
    /// A recv tried without an edge (the transport's direct mode, see <see cref="CatnapTransport.Poll"/>): EAGAIN puts
    /// the socket back to waiting. True if a pop completed.
    /// </summary>
    internal bool PollDirect()
    {
        _readable = true;
        return TryPop();
    }

    private bool TryPopCore()
    {
        bool completed = false;
        while (!_pops.IsEmpty)
        {
            if (_eof)
            {
                _pops.Dequeue()!.CompletePop(null);
                completed = true;
                continue;
            }
            if (!_readable) return completed;
            var op = _pops.Peek!;
            var buffer = _transport.LibOS.Pool.Rent(op.Size);
            nint n;
            LibC.SockAddrIn6 from = default;
            fixed (byte* p = buffer.Span)
            {
                if (_kind == SocketKind.Datagram)
                {
                    int len = sizeof(LibC.SockAddrIn6);
                    n = LibC.recvfrom(_fd, p, (nuint)buffer.Length, 0, &from, &len);
                }
                else
                {
                    n = LibC.recv_nonblocking(_fd, p, (nuint)buffer.Length, 0);
                }
            }
            if (n > 0)
            {
                buffer.SetLength((int)n);
                _pops.Dequeue();
                op.CompletePop(buffer, LibC.FromSockAddr(from));
                completed = true;
                // A short read means the kernel buffer is drained; the next edge tells us when more arrives.
                if (n < op.Size && _kind == SocketKind.Stream && !_peerClosed) _readable = false;
                continue;
            }
            _transport.LibOS.Pool.Discard(buffer);
            if (n == 0 && _kind == SocketKind.Stream)
            {
                _eof = true;
                continue;
            }
            int errno = LibC.LastErrno;
            if (errno == Errno.EAGAIN) { _readable = false; return completed; }
            if (errno == Errno.EINTR) continue;
            _pops.Dequeue()!.Complete(errno);
            completed = true;
        }
        return completed;
    }

    private void TryPush()
    {
        const int MaxIov = 64;
        var iov = stackalloc LibC.IoVec[MaxIov];
        while (_writable && _pushes.Peek is { } op)
        {
            // Gather the segments not yet written (op.Progress bytes are done) into one writev.
            int count = 0, skip = op.Progress;
            for (DemiBuffer? b = op.Sga.First; b is not null && count < MaxIov; b = b.Next)
            {
                if (skip >= b.Length) { skip -= b.Length; continue; }
                iov[count].Base = (byte*)b.DataAddress + skip;
                iov[count].Length = (nuint)(b.Length - skip);
                skip = 0;
                count++;
            }
            nint n = LibC.writev(_fd, iov, count);
            if (n < 0)
            {
                int errno = LibC.LastErrno;
                if (errno == Errno.EAGAIN) { _writable = false; return; }
                if (errno == Errno.EINTR) continue;
                _pushes.Dequeue();
                op.Complete(errno);
                continue;
            }
            op.Progress += (int)n;
            if (op.Progress >= op.Sga.TotalLength)
            {
                _pushes.Dequeue();
                op.Complete(0);
            }
            else
            {
                _writable = false; // partial write: the socket buffer is full until the next EPOLLOUT edge
            }
        }
    }

    public override int GetSockName(out InetEndpoint local)
    {
        LibC.SockAddrIn6 addr;
        int len = sizeof(LibC.SockAddrIn6);
        local = default;
        if (IsUnix) return 0;
        if (LibC.getsockname(_fd, &addr, &len) != 0) return LibC.LastErrno;
        local = LibC.FromSockAddr(addr);
        return 0;
    }

    public override int GetPeerName(out InetEndpoint remote)
    {
        LibC.SockAddrIn6 addr;
        int len = sizeof(LibC.SockAddrIn6);
        remote = default;
        if (IsUnix) return 0;
        if (LibC.getpeername(_fd, &addr, &len) != 0) return LibC.LastErrno;
        remote = LibC.FromSockAddr(addr);
        return 0;
    }

    public override int SetSockOpt(SocketOption option, int value)
    {
        if (!Map(option, out int level, out int name)) return Errno.ENOPROTOOPT;
        if (option == SocketOption.Linger)
        {
            var linger = new LibC.Linger { OnOff = value >= 0 ? 1 : 0, Seconds = Math.Max(0, value) };
            return LibC.setsockopt(_fd, level, name, &linger, sizeof(LibC.Linger)) == 0 ? 0 : LibC.LastErrno;
        }
        return LibC.setsockopt(_fd, level, name, &value, sizeof(int)) == 0 ? 0 : LibC.LastErrno;
    }

    public override int GetSockOpt(SocketOption option, out int value)
    {
        value = 0;
        if (!Map(option, out int level, out int name)) return Errno.ENOPROTOOPT;
        if (option == SocketOption.Linger)
        {
            LibC.Linger linger;
            int llen = sizeof(LibC.Linger);
            if (LibC.getsockopt(_fd, level, name, &linger, &llen) != 0) return LibC.LastErrno;
            value = linger.OnOff != 0 ? linger.Seconds : -1;
            return 0;
        }
        int v, len = sizeof(int);
        if (LibC.getsockopt(_fd, level, name, &v, &len) != 0) return LibC.LastErrno;
        value = v != 0 ? v : 0;
        return 0;
    }

    private static bool Map(SocketOption option, out int level, out int name)
    {
        (level, name) = option switch
        {
            SocketOption.Linger => (LibC.SOL_SOCKET, LibC.SO_LINGER),
            SocketOption.TcpNoDelay => (LibC.IPPROTO_TCP, LibC.TCP_NODELAY),
            SocketOption.ReusePort => (LibC.SOL_SOCKET, LibC.SO_REUSEPORT),
            SocketOption.KeepAlive => (LibC.SOL_SOCKET, LibC.SO_KEEPALIVE),
            SocketOption.ReuseAddress => (LibC.SOL_SOCKET, LibC.SO_REUSEADDR),
            SocketOption.TcpKeepIdle => (LibC.IPPROTO_TCP, LibC.TCP_KEEPIDLE),
            SocketOption.TcpKeepInterval => (LibC.IPPROTO_TCP, LibC.TCP_KEEPINTVL),
            SocketOption.TcpKeepCount => (LibC.IPPROTO_TCP, LibC.TCP_KEEPCNT),
            _ => (0, 0),
        };
        return name != 0;
    }

    public override void Close()
    {
        if (_fd < 0) return;
        LibC.close(_fd); // also removes it from the epoll set
        _fd = -1;
        if (_waiting)
        {
            _waiting = false;
            _transport.NoteWaiting(this, false);
        }
        _transport.Forget(this);
        _connect?.Complete(Errno.ECANCELED);
        _connect = null;
        _accepts.CompleteAll(Errno.ECANCELED);
        _pops.CompleteAll(Errno.ECANCELED);
        _pushes.CompleteAll(Errno.ECANCELED);
    }
}
