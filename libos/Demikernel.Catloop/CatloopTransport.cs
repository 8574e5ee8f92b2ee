using Demikernel.Runtime;

namespace Demikernel.Catloop;

/// <summary>
/// catloop: TCP-like stream sockets between endpoints of the same libOS instance, carried by memory queues. A connect
/// to a bound, listening port pairs two sockets whose pushes land in each other's receive queue by reference (zero
/// copy); a connect to any other port fails with ECONNREFUSED. It makes the whole queue API testable without a kernel.
/// </summary>
public sealed class CatloopTransport : INetworkTransport
{
    private const ushort FirstEphemeralPort = 49152;
    private readonly Dictionary<ushort, CatloopSocket> _bound = [];
    private ushort _nextEphemeral = FirstEphemeralPort;
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);

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
        _wake.Wait(ms);
        // Reset after the wait, never before: a wake that came in before the block must end it. One that comes in
        // between Wait and Reset is lost, harmlessly: the libOS is awake and looks at its post queue next.
        _wake.Reset();
    }

    /// <summary>Sets the event <see cref="Block"/> waits on.</summary>
    public void Wake() => _wake.Set();

    public void Dispose() => _wake.Dispose();

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
