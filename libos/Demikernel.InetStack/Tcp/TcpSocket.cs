using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// A stream socket behind a queue descriptor: unbound, bound, listening (<see cref="TcpListener"/>) or connected
/// (<see cref="TcpControlBlock"/>). Closing the descriptor never waits: a connection finishes its FIN exchange and
/// TIME-WAIT detached from it.
/// </summary>
internal sealed class TcpSocket : IoQueue
{
    private readonly TcpLayer _tcp;
    private TcpListener? _listener;
    private TcpControlBlock? _tcb;
    private ushort _port;
    private bool _bound;
    private KeepAliveSettings _keepAlive;

    public TcpSocket(TcpLayer tcp)
    {
        _tcp = tcp;
        _keepAlive = KeepAliveSettings.From(tcp.Options);
    }

    /// <summary>An accepted connection.</summary>
    public TcpSocket(TcpLayer tcp, TcpControlBlock tcb)
    {
        _tcp = tcp;
        _tcb = tcb;
        _port = tcb.Tuple.LocalPort;
        _keepAlive = tcb.KeepAliveSettings;
    }

    internal TcpControlBlock? ControlBlock => _tcb;
    public TcpState State => _tcb?.State ?? TcpState.Closed;

    private Ipv4Address LocalAddress => _tcp.Interface.Options.LocalAddress;

    public override int Bind(InetEndpoint local)
    {
        if (!local.TryGetIPv4(out var v4)) return Errno.EAFNOSUPPORT; // the stack has IPv4 only
        if (_bound || _tcb is not null) return Errno.EINVAL;
        if (v4.Address != 0 && v4.Address != LocalAddress.Value) return Errno.EADDRNOTAVAIL;
        int rc = _tcp.BindPort(local.Port, out _port);
        if (rc != 0) return rc;
        _bound = true;
        return 0;
    }

    public override int Listen(int backlog)
    {
        if (_tcb is not null) return Errno.EISCONN;
        if (_listener is not null) return 0;
        if (!_bound && Bind(IPv4Endpoint.Any) is var rc && rc != 0) return rc;
        _listener = new TcpListener(_tcp, _port, backlog, _keepAlive);
        _tcp.AddListener(_port, _listener);
        return 0;
    }

    public override int StartAccept(Operation op) => _listener is null ? Errno.EINVAL : _listener.StartAccept(op);

    public override int StartConnect(Operation op)
    {
        if (_listener is not null) return Errno.EINVAL;
        if (_tcb is not null) return _tcb.State == TcpState.SynSent ? Errno.EALREADY : Errno.EISCONN;
        if (!op.Address.TryGetIPv4(out var remote)) return Errno.EAFNOSUPPORT;
        if (remote.Port == 0 || remote.Address == 0) return Errno.EINVAL;
        if (!_bound && Bind(IPv4Endpoint.Any) is var rc && rc != 0) return rc;
        _bound = false; // the port now belongs to the connection, which releases it when it ends
        var tuple = new TcpLayer.FourTuple(_port, new Ipv4Address(remote.Address), remote.Port);
        _tcb = TcpControlBlock.Active(_tcp, tuple, op);
        _tcb.KeepAliveSettings = _keepAlive;
        return 0;
    }

    public override int StartPush(Operation op) => _tcb is null ? Errno.ENOTCONN : _tcb.StartPush(op);

    public override int StartPop(Operation op) => _tcb is null ? Errno.ENOTCONN : _tcb.StartPop(op);

    public override int GetSockName(out InetEndpoint local)
    {
        local = new IPv4Endpoint(LocalAddress.Value, _port);
        return 0;
    }

    public override int GetPeerName(out InetEndpoint remote)
    {
        remote = _tcb?.Remote ?? default;
        return _tcb is null ? Errno.ENOTCONN : 0;
    }

    /// <summary>TCP_NODELAY and SO_REUSEADDR are how the stack always works (no Nagle, no port reuse check to relax);
    /// keepalive is per socket (<see cref="KeepAliveSettings"/>); anything else is ENOPROTOOPT.</summary>
    public override int SetSockOpt(SocketOption option, int value)
    {
        if (option is SocketOption.TcpNoDelay or SocketOption.ReuseAddress) return 0;
        if (!KeepAliveSettings.Covers(option)) return Errno.ENOPROTOOPT;
        int rc = _keepAlive.Set(option, value);
        if (rc != 0) return rc;
        if (_tcb is not null) _tcb.KeepAliveSettings = _keepAlive;
        if (_listener is not null) _listener.KeepAlive = _keepAlive;
        return 0;
    }

    public override int GetSockOpt(SocketOption option, out int value)
    {
        if (KeepAliveSettings.Covers(option))
        {
            value = _keepAlive.Get(option);
            return 0;
        }
        value = option == SocketOption.TcpNoDelay ? 1 : 0;
        return option is SocketOption.TcpNoDelay or SocketOption.ReuseAddress ? 0 : Errno.ENOPROTOOPT;
    }

    public override void Close()
    {
        if (_listener is not null)
        {
            _tcp.RemoveListener(_port);
            _listener.Close();
            _listener = null;
        }
        if (_bound) _tcp.ReleasePort(_port);
        _bound = false;
        _tcb?.CloseFromApplication();
    }
}
