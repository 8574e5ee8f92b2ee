using System.Diagnostics;
using Demikernel.Runtime;

namespace Demikernel.Catmem;

// Sleeping beside other transports (Runtime's CombinedTransport: the server's catnap listener and its catmem one under
// one libOS). The doorbell then sleeps on its FIFO (Doorbell.Fifo.cs), which sits in one ppoll with catnap's epoll fd.
internal sealed partial class CatmemTransport : IWaitableTransport
{
    public int WaitFd => _bell.FifoFd;

    /// <summary>A poll reads the rings' counters: no system call, so it runs every pass of a combined libOS.</summary>
    public bool PollIsSystemCall => false;

    public bool BeginWait(ref TimeSpan? timeout)
    {
        CheckPeersIfDue();
        if (timeout is not { } t || t > MaxBlock) timeout = MaxBlock;
        _ = WaitFd; // the FIFO exists before any peer can see the flag
        _bell.ArmFifo();
        return !Poll(); // the last look after the flag is up: what a peer published before it is seen here
    }

    public void EndWait() => _bell.DisarmFifo();

    /// <summary>Every 20 ms of idleness: do the peers of waiting sockets still run?</summary>
    private void CheckPeersIfDue()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _lastPeerCheck <= PeerCheckTicks) return;
        _lastPeerCheck = now;
        foreach (var socket in _watched) socket.CheckPeer();
    }
}
