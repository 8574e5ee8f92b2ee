using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Udp;

/// <summary>
/// A UDP socket behind a queue descriptor: <c>PushTo</c> sends a datagram, <c>Pop</c> returns the next one with its
/// sender. Received datagrams are the NIC buffers themselves, adjusted past the headers. Unreliable by definition: a
/// push completes once the datagram is handed to the interface (or held for ARP), not when it arrives.
/// </summary>
internal sealed class UdpSocket : IoQueue
{
    private readonly NetworkInterface _iface;
    private readonly Queue<(DemiBuffer Data, IPv4Endpoint From)> _received = new();
    private OperationQueue _pops;
    private ushort _port;
    private bool _bound;

    public UdpSocket(NetworkInterface iface) => _iface = iface;

    public long Dropped { get; private set; }

    public override int Bind(InetEndpoint local)
    {
        if (!local.TryGetIPv4(out var v4)) return Errno.EAFNOSUPPORT; // the stack has IPv4 only
        if (_bound) return Errno.EINVAL;
        if (v4.Address != 0 && v4.Address != _iface.Options.LocalAddress.Value) return Errno.EADDRNOTAVAIL;
        int rc = _iface.BindUdp(this, local.Port, out _port);
        if (rc != 0) return rc;
        _bound = true;
        return 0;
    }

    public override int GetSockName(out InetEndpoint local)
    {
        local = new IPv4Endpoint(_iface.Options.LocalAddress.Value, _port);
        return 0;
    }

    public override int StartPush(Operation op) => Errno.EDESTADDRREQ;

    public override int StartPushTo(Operation op)
    {
        if (!op.Address.TryGetIPv4(out var to)) return Errno.EAFNOSUPPORT;
        if (!_bound && Bind(IPv4Endpoint.Any) is var rc && rc != 0) return rc;
        var sga = op.Sga;
        int length = sga.TotalLength;
        if (length > _iface.MaxUdpPayload) return Errno.EMSGSIZE;
        if (to.Port == 0 || to.Address == 0) return Errno.EINVAL;
        const int headers = NetworkInterface.UdpHeadersLength;
        var first = sga.First;
        if (first.Next is null && first.TryPrepend(headers))
        {
            // Zero copy: the headers go into the SGA's headroom, then the window is put back as the application left it.
            try
            {
                _iface.SendUdp(first.Span, _port, to);
            }
            finally
            {
                first.Adjust(headers);
            }
        }
        else
        {
            var frame = _iface.Pool.Rent(headers + length);
            sga.CopyTo(frame.Span[headers..]);
            _iface.Stats.TxPayloadBytesCopied += length;
            _iface.SendUdp(frame.Span, _port, to);
            _iface.Pool.Discard(frame);
        }
        op.Complete(0);
        return 0;
    }

    public override int StartPop(Operation op)
    {
        if (!_bound) return Errno.EINVAL;
        _pops.Enqueue(op);
        Drain();
        return 0;
    }

    /// <summary>Takes a received datagram (buffer already adjusted to the payload). False if the queue is full.</summary>
    internal bool Deliver(DemiBuffer data, IPv4Endpoint from)
    {
        if (_received.Count >= _iface.Options.UdpReceiveQueueLength)
        {
            Dropped++;
            return false;
        }
        _received.Enqueue((data, from));
        Drain();
        return true;
    }

    private void Drain()
    {
        while (!_pops.IsEmpty && _received.TryDequeue(out var item))
        {
            var op = _pops.Dequeue()!;
            if (op.Size > 0 && item.Data.Length > op.Size) item.Data.SetLength(op.Size); // datagram truncated, like recvfrom
            op.CompletePop(item.Data, item.From);
        }
    }

    public override void Close()
    {
        _pops.CompleteAll(Errno.ECANCELED);
        while (_received.TryDequeue(out var item)) _iface.Pool.Discard(item.Data);
        if (_bound) _iface.UnbindUdp(_port, this);
        _bound = false;
    }
}
