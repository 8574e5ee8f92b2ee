namespace Demikernel.Runtime;

// A libOS over several transports (CombinedTransport): the application picks one per socket by name.
public sealed partial class DemiLibOS
{
    /// <summary>The transports this libOS runs, the primary (<see cref="Name"/>, where <see cref="Socket(SocketKind, out QDesc)"/>
    /// goes) first; more than one when the facade combined them (<c>LibOS.Create(name, config, time, also)</c>).</summary>
    public IReadOnlyList<string> TransportNames => _transport is CombinedTransport combined ? combined.Names : [_transport.Name];

    /// <summary>
    /// Creates a socket on the transport named <paramref name="transport"/> (one of <see cref="TransportNames"/>, such
    /// as <c>catmem</c> beside a <c>catnap</c> primary). EAFNOSUPPORT if this libOS does not run that transport. The
    /// socket then behaves as any other descriptor of the libOS.
    /// </summary>
    public int Socket(string transport, SocketKind kind, out QDesc qd)
    {
        qd = QDesc.Invalid;
        var target = _transport is CombinedTransport combined ? combined.Find(transport)
            : string.Equals(_transport.Name, transport, StringComparison.Ordinal) ? _transport : null;
        if (target is null) return Errno.EAFNOSUPPORT;
        if (kind is not (SocketKind.Stream or SocketKind.Datagram)) return Errno.EPROTONOSUPPORT;
        int rc = target.Socket(kind, out var queue);
        if (rc != 0) return rc;
        qd = Register(queue!);
        return 0;
    }
}
