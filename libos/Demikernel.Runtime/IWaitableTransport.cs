namespace Demikernel.Runtime;

/// <summary>
/// A transport that can sleep beside others in one system call (<see cref="CombinedTransport"/>): it names a file
/// descriptor that becomes readable when it may have work, and arms/disarms whatever makes that happen. catnap's is its
/// epoll instance (readable when any socket or its wake eventfd is); catmem's is a FIFO its peers write one byte to,
/// instead of waking a futex, while it sleeps this way.
/// </summary>
internal interface IWaitableTransport : INetworkTransport
{
    /// <summary>Readable (POLLIN) when <see cref="INetworkTransport.Poll"/> may make progress; valid for the transport's life.</summary>
    int WaitFd { get; }

    /// <summary>True if <see cref="INetworkTransport.Poll"/> costs a system call (catnap's epoll_wait): while another
    /// member spins, such a member is polled only every few passes (<see cref="CombinedTransport.CostlyPollEvery"/>).</summary>
    bool PollIsSystemCall { get; }

    /// <summary>
    /// The libOS is about to sleep on <see cref="WaitFd"/>: arm the wake-up and look once more for work. False if work
    /// was found (then nobody sleeps). May shorten <paramref name="timeout"/> (catmem looks for dead peers every 50 ms).
    /// <see cref="EndWait"/> follows in either case.
    /// </summary>
    bool BeginWait(ref TimeSpan? timeout);

    /// <summary>The sleep is over: disarm and drain <see cref="WaitFd"/>.</summary>
    void EndWait();
}
