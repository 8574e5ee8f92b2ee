using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// The passive side of a listening socket: answers SYNs with SYN-ACKs (a control block in SYN-RECEIVED per embryonic
/// connection), queues established connections up to the backlog and hands them to accepts.
/// </summary>
internal sealed class TcpListener
{
    private readonly TcpLayer _tcp;
    private readonly Queue<TcpControlBlock> _ready = new();
    private OperationQueue _accepts;
    private int _embryonic;

    public TcpListener(TcpLayer tcp, ushort port, int backlog, KeepAliveSettings keepAlive)
    {
        _tcp = tcp;
        Port = port;
        Backlog = backlog;
        KeepAlive = keepAlive;
    }

    public ushort Port { get; }
    public int Backlog { get; }
    /// <summary>The listening socket's keepalive, which a connection takes when its SYN arrives (as Linux's children).</summary>
    public KeepAliveSettings KeepAlive { get; set; }

    public void ReceiveOnListen(in TcpRepr segment, Ipv4Address remote)
    {
        var flags = segment.Flags;
        if ((flags & TcpFlags.Rst) != 0) return;
        if ((flags & TcpFlags.Ack) != 0)
        {
            _tcp.SendResetFor(segment, remote);
            return;
        }
        if ((flags & TcpFlags.Syn) == 0) return;
        if (_ready.Count + _embryonic >= Backlog) return; // full: drop the SYN, the client retries
        var tuple = new TcpLayer.FourTuple(Port, remote, segment.SourcePort);
        var tcb = TcpControlBlock.Passive(_tcp, tuple, segment, this);
        _embryonic++;
        _tcp.AddConnection(tcb);
    }

    /// <summary>An embryonic connection completed its handshake.</summary>
    public void Established(TcpControlBlock tcb)
    {
        _embryonic--;
        _ready.Enqueue(tcb);
        Drain();
    }

    /// <summary>An embryonic connection died (RST, timeout).</summary>
    public void Aborted() => _embryonic--;

    public int StartAccept(Operation op)
    {
        _accepts.Enqueue(op);
        Drain();
        return 0;
    }

    private void Drain()
    {
        while (!_accepts.IsEmpty && _ready.TryDequeue(out var tcb))
        {
            var socket = new TcpSocket(_tcp, tcb);
            _accepts.Dequeue()!.CompleteAccept(socket, tcb.Remote);
        }
    }

    public void Close()
    {
        _accepts.CompleteAll(Errno.ECANCELED);
        while (_ready.TryDequeue(out var tcb)) tcb.Abort(0, sendReset: true);
    }
}
