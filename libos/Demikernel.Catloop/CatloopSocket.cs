using Demikernel.Runtime;

namespace Demikernel.Catloop;

/// <summary>One end of a catloop stream: a listener with a backlog, or a connected socket with a receive queue.</summary>
internal sealed class CatloopSocket : IoQueue
{
    private readonly CatloopTransport _transport;
    private readonly MemoryQueue _inbound = new();
    private readonly Queue<CatloopSocket> _backlog = new();
    private OperationQueue _accepts;
    private CatloopSocket? _peer;
    private uint _localAddress;
    private bool _bound;

    public CatloopSocket(CatloopTransport transport) => _transport = transport;

    public ushort LocalPort { get; set; }
    public bool IsListening { get; private set; }
    private IPv4Endpoint Local => new(_localAddress == 0 ? 0x7F000001 : _localAddress, LocalPort);

    public override int Bind(InetEndpoint local)
    {
        if (!local.TryGetIPv4(out var v4)) return Errno.EAFNOSUPPORT; // catloop's sockets are IPv4 (no AF_INET6)
        if (_bound) return Errno.EINVAL;
        if (!_transport.TryBind(local.Port, this)) return Errno.EADDRINUSE;
        _localAddress = v4.Address;
        _bound = true;
        return 0;
    }

    public override int Listen(int backlog)
    {
        if (_peer is not null) return Errno.EISCONN;
        if (!_bound && Bind(IPv4Endpoint.Any) != 0) return Errno.EADDRINUSE;
        IsListening = true; // memory has room for any backlog: connects never wait for accepts
        return 0;
    }

    public override int StartAccept(Operation op)
    {
        if (!IsListening) return Errno.EINVAL;
        _accepts.Enqueue(op);
        DrainAccepts();
        return 0;
    }

    public override int StartConnect(Operation op)
    {
        if (IsListening) return Errno.EINVAL;
        if (_peer is not null) return Errno.EISCONN;
        if (op.Address.IsIPv6) return Errno.EAFNOSUPPORT;
        var listener = _transport.FindListener(op.Address.Port);
        if (listener is null)
        {
            op.Complete(Errno.ECONNREFUSED);
            return 0;
        }
        if (!_bound && Bind(IPv4Endpoint.Any) != 0) return Errno.EADDRNOTAVAIL;
        var server = new CatloopSocket(_transport) { LocalPort = listener.LocalPort, _localAddress = listener._localAddress };
        server._peer = this;
        _peer = server;
        listener._backlog.Enqueue(server);
        listener.DrainAccepts();
        op.Complete(0);
        return 0;
    }

    private void DrainAccepts()
    {
        while (!_accepts.IsEmpty && _backlog.Count > 0)
        {
            var socket = _backlog.Dequeue();
            _accepts.Dequeue()!.CompleteAccept(socket, socket._peer!.Local);
        }
    }

    public override int StartPush(Operation op)
    {
        if (_peer is null) return Errno.ENOTCONN;
        if (_peer.IsClosed) return Errno.ECONNRESET;
        _peer._inbound.Send(op.Sga);
        op.Complete(0);
        return 0;
    }

    public override int StartPop(Operation op) => _peer is null && !_inbound.WriterClosed ? Errno.ENOTCONN : _inbound.StartPop(op);

    public override int GetSockName(out InetEndpoint local)
    {
        local = Local;
        return 0;
    }

    public override int GetPeerName(out InetEndpoint remote)
    {
        remote = _peer?.Local ?? default;
        return _peer is null ? Errno.ENOTCONN : 0;
    }

    public override int SetSockOpt(SocketOption option, int value) => 0; // nothing to tune in memory

    public override int GetSockOpt(SocketOption option, out int value)
    {
        value = 0;
        return 0;
    }

    public override void Close()
    {
        if (_bound && (IsListening || _peer is null)) _transport.Unbind(this);
        _accepts.CompleteAll(Errno.ECANCELED);
        while (_backlog.Count > 0) _backlog.Dequeue().PeerClosed();
        _inbound.Close();
        _peer?.PeerClosed();
        _peer = null;
    }

    /// <summary>The other end closed: pops see end of stream once the queued data is drained.</summary>
    private void PeerClosed() => _inbound.CloseWriter();
}
