using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Udp;
using Demikernel.Runtime;

namespace Demikernel.InetStack;

/// <summary>
/// Our TCP/IP stack as a libOS transport: sockets over an <see cref="IPhysicalLayer"/>. The libOS's poll drains the
/// device in bursts and runs each frame through the interface; timers (ARP retries) are scheduler tasks. Everything
/// runs on the libOS thread.
/// <code>
///   DemiLibOS ── Socket/Push/Pop ──▶ InetStackTransport ── UdpSocket, TcpSocket
///        │ Poll                               │
///        └──────────────▶ phy.Receive ─▶ NetworkInterface ─▶ ARP / IPv4 / ICMP / UDP
/// </code>
/// </summary>
internal sealed class InetStackTransport : INetworkTransport
{
    private readonly IPhysicalLayer _phy;
    private readonly DemiBuffer?[] _burst;
    private DemiLibOS? _libos;

    public InetStackTransport(IPhysicalLayer phy, InetStackOptions options, TimeProvider time)
    {
        _phy = phy ?? throw new ArgumentNullException(nameof(phy));
        Interface = new NetworkInterface(phy, options, time);
        _burst = new DemiBuffer?[Math.Max(1, phy.Capabilities.MaxBurst)];
    }

    public string Name => "inetstack";

    public NetworkInterface Interface { get; }

    public void Attach(DemiLibOS libos)
    {
        if (_libos is not null) throw new InvalidOperationException("the transport is already attached to a libOS");
        if (libos.Time != Interface.Time) throw new ArgumentException("the libOS and the stack must share one clock", nameof(libos));
        _libos = libos;
        Interface.Attach(libos);
        _phy.Attach(libos);
    }

    public int Socket(SocketKind kind, out IoQueue? queue)
    {
        queue = null;
        if (_libos is null) return Errno.EINVAL;
        switch (kind)
        {
            case SocketKind.Datagram:
                queue = new UdpSocket(Interface);
                return 0;
            case SocketKind.Stream:
                queue = new Tcp.TcpSocket(Interface.Tcp);
                return 0;
            default:
                return Errno.EPROTONOSUPPORT;
        }
    }

    public bool Poll()
    {
        if (_libos is null) return false;
        Interface.Tcp.FlushPassAcks(); // the previous pass is over
        int n = _phy.Receive(_libos.Pool, _burst);
        if (n == 0) return false;
        // The whole burst at one instant: the pass's own clock reading (the libOS read it just before this poll).
        long outer = Interface.FreezeClock(_libos.PassTimestamp);
        try
        {
            for (int i = 0; i < n; i++)
            {
                var frame = _burst[i]!;
                _burst[i] = null;
                Interface.Receive(frame);
            }
        }
        finally
        {
            Interface.ThawClock(outer);
        }
        return true;
    }

    /// <summary>
    /// The pass is over: the device sends what the pass queued (catnip: one tx_burst) instead of at the next poll. The
    /// ACKs held for the end of the pass still wait for the next poll: an application that answers outside the pass
    /// (a blocking Wait, then a push) then still gets its ACK carried by the answer; sending them here cost an extra
    /// pure ACK per request there (InetStackRoundTripBenchmarks: 3 frames per round trip, +25% CPU).
    /// </summary>
    public void EndPass()
    {
        if (_libos is not null) _phy.FlushTransmit();
    }

    public void Block(TimeSpan? timeout)
    {
        Interface.Tcp.FlushPassAcks();
        _phy.Block(timeout);
    }

    /// <summary>The device's wake: the stack blocks only in the device.</summary>
    public void Wake() => _phy.Wake();

    public bool TryGetNextDeadline(out long due) => _phy.TryGetNextDeadline(out due);

    public void Dispose() => _phy.Dispose();
}
