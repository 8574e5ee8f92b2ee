using Demikernel.Runtime;

namespace Demikernel.Catmem;

/// <summary>
/// One catmem descriptor: a listener (a listener file that clients post connection ids into) or one end of a connection
/// (a connection file with a ring each way). Pushes copy into the outgoing ring and pops copy out of the incoming one,
/// both without a system call; what cannot finish at once waits on the transport's poll list.
/// </summary>
internal sealed unsafe class CatmemSocket : IoQueue
{
    private enum State : byte { Fresh, Bound, Listening, Connecting, Connected, Done }

    private readonly CatmemTransport _transport;
    private State _state;
    private ushort _port;
    private SharedSegment? _listener; // a connecting client's view of the listener, until its id is posted
    private SharedSegment? _segment; // the listener file (Bound/Listening) or the connection file (Connecting/Connected)
    private bool _isClient;
    private long _capacity;
    private SpscRing _rx, _tx;
    private OperationQueue _accepts, _pops, _pushes;
    private Operation? _connect;
    private readonly Queue<CatmemSocket> _backlog = new();
    private int _backlogLimit;
    private long _postedSeen;
    private bool _peerDead;
    private ulong _connectionId;
    private IPv4Endpoint _peer;
    private Doorbell? _peerBell; // rung after we write, read or close, in case the peer sleeps

    public CatmemSocket(CatmemTransport transport) => _transport = transport;

    /// <summary>Index in the transport's poll list, or -1.</summary>
    internal int PollIndex { get; set; } = -1;

    private bool IsListenerOwner => _state is State.Bound or State.Listening;

    public override int Bind(InetEndpoint local)
    {
        if (!local.TryGetIPv4(out var v4)) return Errno.EAFNOSUPPORT; // catmem names IPv4 endpoints only
        if (_state != State.Fresh) return Errno.EINVAL;
        if (v4.Address != 0 && v4.Address != 0x7F000001) return Errno.EADDRNOTAVAIL; // one host: loopback or any
        var segment = _transport.ClaimListenerName(local.Port, out ushort port);
        if (segment is null) return Errno.EADDRINUSE;
        _segment = segment;
        _port = port;
        _state = State.Bound;
        return 0;
    }

    public override int Listen(int backlog)
    {
        if (_state == State.Fresh && Bind(IPv4Endpoint.Any) != 0) return Errno.EADDRINUSE;
        if (_state is not (State.Bound or State.Listening)) return Errno.EINVAL;
        _backlogLimit = Math.Max(1, backlog);
        Volatile.Write(ref Layout.Listening(_segment!.Base), 1);
        _state = State.Listening;
        _transport.Watch(this);
        return 0;
    }

    public override int StartAccept(Operation op)
    {
        if (_state != State.Listening) return Errno.EINVAL;
        _accepts.Enqueue(op);
        DrainAccepts();
        return 0;
    }

    public override int StartConnect(Operation op)
    {
        if (_state is State.Connecting or State.Connected) return Errno.EISCONN;
        if (_state != State.Fresh) return Errno.EINVAL;
        if (op.Address.IsIPv6) return Errno.EAFNOSUPPORT;
        var listener = SharedSegment.TryOpen(Layout.ListenerPath(_transport.Directory, op.Address.Port), Layout.ListenerBytes);
        if (listener is null)
        {
            op.Complete(Errno.ECONNREFUSED);
            return 0;
        }
        byte* l = listener.Base;
        if (Layout.Magic(l) != Layout.ListenerMagic || Volatile.Read(ref Layout.Listening(l)) == 0 || !Layout.IsAlive(Layout.OwnerPid(l)))
        {
            listener.Dispose();
            op.Complete(Errno.ECONNREFUSED);
            return 0;
        }
        _capacity = _transport.RingCapacity;
        _connectionId = _transport.NextConnectionId();
        _port = op.Address.Port;
        var segment = SharedSegment.TryCreate(Layout.ConnectionPath(_transport.Directory, _port, _connectionId), Layout.ConnectionBytes(_capacity));
        if (segment is null)
        {
            listener.Dispose();
            return Errno.EADDRINUSE;
        }
        byte* c = segment.Base;
        Layout.Capacity(c) = _capacity;
        Layout.ClientPid(c) = Environment.ProcessId;
        Layout.ClientBell(c) = _transport.BellId;
        Volatile.Write(ref Layout.Magic(c), Layout.ConnectionMagic);
        _segment = segment;
        _listener = listener;
        _isClient = true;
        _tx = Layout.ClientToServer(c, _capacity);
        _rx = Layout.ServerToClient(c, _capacity);
        _peer = IPv4Endpoint.Loopback(_port);
        _state = State.Connecting;
        _connect = op;
        // With every slot taken by connects the listener has not picked up yet, the connect stays pending and posts
        // again on later polls (as a SYN is retransmitted), until the listener takes it, stops listening or dies.
        TryPost();
        _transport.Watch(this);
        return 0;
    }

    /// <summary>Posts the connection id to the listener once; the listener's mapping is dropped when posted.</summary>
    private void TryPost()
    {
        if (_listener is not { } listener) return;
        byte* l = listener.Base;
        if (Volatile.Read(ref Layout.Listening(l)) == 0)
        {
            _peerDead = true; // it stopped listening: refused
            return;
        }
        for (int i = 0; i < Layout.Slots; i++)
        {
            if (Interlocked.CompareExchange(ref Layout.Slot(l, i), _connectionId, 0) == 0)
            {
                Interlocked.Increment(ref Layout.Posted(l));
                _transport.PeerBell(Layout.OwnerBell(l))?.Ring();
                listener.Dispose();
                _listener = null;
                return;
            }
        }
    }

    private void FailConnect(int errno)
    {
        var op = _connect!;
        _connect = null;
        _listener?.Dispose();
        _listener = null;
        _segment!.Unlink();
        _segment.Dispose();
        _segment = null;
        _state = State.Fresh;
        op.Complete(errno);
    }

    public override int StartPush(Operation op)
    {
        if (_state != State.Connected) return _state == State.Connecting ? Errno.ENOTCONN : Errno.ENOTCONN;
        _pushes.Enqueue(op);
        if (!PushProgress()) _transport.Watch(this);
        return 0;
    }

    public override int StartPop(Operation op)
    {
        if (_state != State.Connected) return Errno.ENOTCONN;
        _pops.Enqueue(op);
        if (!PopProgress()) _transport.Watch(this);
        return 0;
    }

    /// <summary>Moves whatever can move; true once nothing is left to wait for (the transport stops polling it).</summary>
    internal bool Progress()
    {
        switch (_state)
        {
            case State.Listening:
                TakeConnects();
                DrainAccepts();
                return false; // a listener always watches for connects
            case State.Connecting:
                TryPost();
                if (Volatile.Read(ref Layout.Accepted(_segment!.Base)) != 0)
                {
                    _state = State.Connected;
                    _peerBell = _transport.PeerBell(Layout.ServerBell(_segment.Base));
                    var op = _connect!;
                    _connect = null;
                    _transport.Moved = true;
                    op.Complete(0);
                    return _pops.IsEmpty && _pushes.IsEmpty;
                }
                if (_peerDead)
                {
                    _transport.Moved = true;
                    FailConnect(Errno.ECONNREFUSED);
                }
                return _state != State.Connecting;
            case State.Connected:
                bool popsDone = PopProgress();
                bool pushesDone = PushProgress();
                return popsDone && pushesDone;
            default:
                return true;
        }
    }

    private bool PopProgress()
    {
        while (_pops.Peek is { } op)
        {
            // Read "closed" before the count: bytes written before the close are then all visible.
            bool closed = _rx.IsClosed;
            long ready = _rx.Available(op.Size);
            if (ready > 0)
            {
                int n = (int)Math.Min(ready, op.Size);
                var buffer = _transport.LibOS.Pool.Rent(n);
                _rx.Read(buffer.Span);
                _peerBell?.Ring(); // space freed: a peer waiting to push may sleep
                _pops.Dequeue();
                op.CompletePop(buffer);
            }
            else if (closed)
            {
                _pops.Dequeue();
                op.CompletePop(null);
            }
            else if (_peerDead)
            {
                _pops.Dequeue();
                op.Complete(Errno.ECONNRESET);
            }
            else return false;
            _transport.Moved = true;
        }
        return true;
    }

    private bool PushProgress()
    {
        while (_pushes.Peek is { } op)
        {
            if (_peerDead || Volatile.Read(ref PeerGone) != 0)
            {
                _pushes.Dequeue();
                op.Complete(Errno.ECONNRESET);
                _transport.Moved = true;
                continue;
            }
            // op.Progress counts the bytes of the SGA already in the ring.
            int skip = op.Progress;
            for (var segment = op.Sga.First; segment is not null; segment = segment.Next)
            {
                var span = segment.Span;
                if (skip >= span.Length)
                {
                    skip -= span.Length;
                    continue;
                }
                int n = _tx.Write(span[skip..]);
                op.Progress += n;
                if (n > 0)
                {
                    _transport.Moved = true;
                    _peerBell?.Ring();
                }
                if (n < span.Length - skip) return false; // ring full: the rest waits for the consumer
                skip = 0;
            }
            _pushes.Dequeue();
            op.Complete(0);
            _transport.Moved = true;
        }
        return true;
    }

    private ref int PeerGone => ref _isClient ? ref Layout.ServerGone(_segment!.Base) : ref Layout.ClientGone(_segment!.Base);

    private ref int MyGone => ref _isClient ? ref Layout.ClientGone(_segment!.Base) : ref Layout.ServerGone(_segment!.Base);

    /// <summary>Listener: maps the connections clients posted, up to the backlog, and tells them they are accepted.</summary>
    private void TakeConnects()
    {
        byte* l = _segment!.Base;
        long posted = Volatile.Read(ref Layout.Posted(l));
        if (posted == _postedSeen || _backlog.Count >= _backlogLimit) return;
        bool all = true;
        for (int i = 0; i < Layout.Slots && _backlog.Count < _backlogLimit; i++)
        {
            ulong id = Volatile.Read(ref Layout.Slot(l, i));
            if (id == 0) continue;
            Volatile.Write(ref Layout.Slot(l, i), 0); // only the listener empties slots
            if (CatmemSocket.Adopt(_transport, _port, id) is { } accepted) _backlog.Enqueue(accepted);
            _transport.Moved = true;
        }
        for (int i = 0; i < Layout.Slots && all; i++) all = Volatile.Read(ref Layout.Slot(l, i)) == 0;
        // Remember the count only when every posted connect was taken; a full backlog leaves some for later.
        if (all) _postedSeen = posted;
    }

    /// <summary>Server side of a posted connect: maps its file, unlinks the name, marks it accepted.</summary>
    private static CatmemSocket? Adopt(CatmemTransport transport, ushort port, ulong id)
    {
        var segment = SharedSegment.TryOpen(Layout.ConnectionPath(transport.Directory, port, id), Layout.ConnectionHeaderBytes);
        if (segment is null) return null; // the client gave up (closed) before we got here
        byte* c = segment.Base;
        long capacity = Layout.Capacity(c);
        if (Layout.Magic(c) != Layout.ConnectionMagic || capacity < SpscRing.MinCapacity || (capacity & (capacity - 1)) != 0 ||
            segment.Length < Layout.ConnectionBytes(capacity) || Volatile.Read(ref Layout.ClientGone(c)) != 0)
        {
            segment.Unlink();
            segment.Dispose();
            return null;
        }
        segment.Unlink(); // both ends have it mapped: nothing stays behind in /dev/shm, whoever dies
        Layout.ServerPid(c) = Environment.ProcessId;
        Layout.ServerBell(c) = transport.BellId;
        var socket = new CatmemSocket(transport)
        {
            _segment = segment,
            _capacity = capacity,
            _rx = Layout.ClientToServer(c, capacity),
            _tx = Layout.ServerToClient(c, capacity),
            _port = port,
            _connectionId = id,
            _state = State.Connected,
            _peer = new IPv4Endpoint(0x7F000001, (ushort)(uint)id),
        };
        Volatile.Write(ref Layout.Accepted(c), 1);
        socket._peerBell = transport.PeerBell(Layout.ClientBell(c));
        socket._peerBell?.Ring();
        return socket;
    }

    private void DrainAccepts()
    {
        while (!_accepts.IsEmpty && _backlog.Count > 0)
        {
            var socket = _backlog.Dequeue();
            _transport.Moved = true;
            _accepts.Dequeue()!.CompleteAccept(socket, socket._peer);
        }
    }

    /// <summary>Called by the transport now and then while idle: a peer (or listener) process that died without
    /// closing resets the connection.</summary>
    internal void CheckPeer()
    {
        if (_segment is null) return;
        byte* c = _segment.Base;
        switch (_state)
        {
            case State.Connecting:
                var listener = SharedSegment.TryOpen(Layout.ListenerPath(_transport.Directory, _port), Layout.ListenerBytes);
                if (listener is null) _peerDead = true;
                else
                {
                    using (listener) _peerDead = !Layout.IsAlive(Layout.OwnerPid(listener.Base));
                }
                break;
            case State.Connected:
                _peerDead = !Layout.IsAlive(_isClient ? Layout.ServerPid(c) : Layout.ClientPid(c));
                break;
        }
    }

    public override int GetSockName(out InetEndpoint local)
    {
        local = _state is State.Fresh ? default : IPv4Endpoint.Loopback(_isClient ? (ushort)(uint)_connectionId : _port);
        return 0;
    }

    public override int GetPeerName(out InetEndpoint remote)
    {
        remote = _state == State.Connected ? _peer : default;
        return _state == State.Connected ? 0 : Errno.ENOTCONN;
    }

    public override int SetSockOpt(SocketOption option, int value) => 0; // nothing to tune in shared memory

    public override int GetSockOpt(SocketOption option, out int value)
    {
        value = 0;
        return 0;
    }

    public override void Close()
    {
        _transport.Unwatch(this);
        _accepts.CompleteAll(Errno.ECANCELED);
        _pops.CompleteAll(Errno.ECANCELED);
        _pushes.CompleteAll(Errno.ECANCELED);
        if (_connect is { } connect)
        {
            _connect = null;
            connect.Complete(Errno.ECANCELED);
        }
        while (_backlog.Count > 0) _backlog.Dequeue().Close();
        _listener?.Dispose();
        _listener = null;
        if (_segment is { } segment)
        {
            if (IsListenerOwner)
            {
                Volatile.Write(ref Layout.Listening(segment.Base), 0);
                segment.Unlink();
            }
            else if (_state == State.Connecting)
            {
                Volatile.Write(ref MyGone, 1);
                segment.Unlink(); // not adopted yet; the listener skips an id whose file is gone
            }
            else if (_state == State.Connected)
            {
                _tx.Close(); // end of stream for the peer once it has read what we wrote
                Volatile.Write(ref MyGone, 1);
                _peerBell?.Ring();
            }
            segment.Dispose();
            _segment = null;
        }
        _state = State.Done;
    }
}
