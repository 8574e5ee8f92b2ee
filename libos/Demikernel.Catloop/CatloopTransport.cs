using Demikernel.Runtime;

namespace Demikernel.Catloop;

/// <summary>
/// catloop: TCP-like stream sockets between endpoints of the same libOS instance, carried by memory queues. A connect
/// to a bound, listening port pairs two sockets whose pushes land in each other's receive queue by reference (zero
/// copy); a connect to any other port fails with ECONNREFUSED. It makes the whole queue API testable without a kernel.
/// </summary>
internal sealed class CatloopTransport : INetworkTransport
{
    private const ushort FirstEphemeralPort = 49152;
    private readonly Dictionary<ushort, CatloopSocket> _bound = [];
    private ushort _nextEphemeral = FirstEphemeralPort;
    // A monitor rather than a ManualResetEventSlim: the latter creates its lock object on the first Wait that really
    // blocks, so a libOS that first sleeps in steady state allocated there.
    private readonly object _gate = new();
    private bool _woken;

    public string Name => "catloop";

    public void Attach(DemiLibOS libos) { }

    public int Socket(SocketKind kind, out IoQueue? queue)
    {
        queue = null;
        if (kind != SocketKind.Stream) return Errno.EPROTONOSUPPORT;
        queue = new CatloopSocket(this);
        return 0;
    }

    // Everything completes when it is started; there is never I/O to wait for.
    public bool Poll() => false;

    /// <summary>
    /// Nothing of catloop's own can end a wait, so an idle libOS sleeps until its next timer or until another thread
    /// posts to it (<see cref="Wake"/>), instead of spinning.
    /// </summary>
    public void Block(TimeSpan? timeout)
    {
        int ms = timeout is not { } t ? Timeout.Infinite : (int)Math.Min(int.MaxValue, Math.Ceiling(Math.Max(0, t.TotalMilliseconds)));
        lock (_gate)
        {
            if (!_woken) Monitor.Wait(_gate, ms); // a wake that came in before the block ends it at once
            _woken = false;
        }
    }

    /// <summary>Ends the current or the next <see cref="Block"/>.</summary>
    public void Wake()
    {
        lock (_gate)
        {
            _woken = true;
            Monitor.Pulse(_gate);
        }
    }

    public void Dispose() { }

    internal bool TryBind(ushort port, CatloopSocket socket)
    {
        if (port == 0)
        {
            for (int i = 0; i < 65536 - FirstEphemeralPort; i++)
            {
                ushort candidate = _nextEphemeral;
                _nextEphemeral = _nextEphemeral == ushort.MaxValue ? FirstEphemeralPort : (ushort)(_nextEphemeral + 1);
                if (_bound.TryAdd(candidate, socket))
                {
                    socket.LocalPort = candidate;
                    return true;
                }
            }
            return false;
        }
        if (!_bound.TryAdd(port, socket)) return false;
        socket.LocalPort = port;
        return true;
    }

    internal void Unbind(CatloopSocket socket)
    {
        if (_bound.TryGetValue(socket.LocalPort, out var s) && s == socket) _bound.Remove(socket.LocalPort);
    }

    internal CatloopSocket? FindListener(ushort port) =>
        _bound.TryGetValue(port, out var s) && s.IsListening ? s : null;
}
