namespace Demikernel.Runtime;

/// <summary>
/// A queue behind a descriptor: a socket of some transport, or a memory queue. Operations start here and complete later
/// through <see cref="Operation"/>. A <c>Start*</c> method returns 0 when the operation was taken (it may already have
/// completed) or an errno when it was refused outright.
/// </summary>
internal abstract class IoQueue
{
    public QDesc Qd { get; internal set; }

    /// <summary>Set once <see cref="Close"/> ran; the descriptor is gone from the table by then.</summary>
    public bool IsClosed { get; internal set; }

    public virtual int Bind(InetEndpoint local) => Errno.EOPNOTSUPP;

    /// <summary>Binds a Unix-domain stream socket to a path (only transports with AF_UNIX have such sockets).</summary>
    public virtual int BindUnix(string path) => Errno.EAFNOSUPPORT;
    public virtual int Listen(int backlog) => Errno.EOPNOTSUPP;
    public virtual int StartAccept(Operation op) => Errno.EOPNOTSUPP;
    public virtual int StartConnect(Operation op) => Errno.EOPNOTSUPP;
    public virtual int StartPush(Operation op) => Errno.EOPNOTSUPP;
    public virtual int StartPushTo(Operation op) => Errno.EOPNOTSUPP;
    public virtual int StartPop(Operation op) => Errno.EOPNOTSUPP;
    public virtual int GetSockName(out InetEndpoint local) { local = default; return Errno.EOPNOTSUPP; }
    public virtual int GetPeerName(out InetEndpoint remote) { remote = default; return Errno.EOPNOTSUPP; }
    public virtual int SetSockOpt(SocketOption option, int value) => Errno.ENOPROTOOPT;
    public virtual int GetSockOpt(SocketOption option, out int value) { value = 0; return Errno.ENOPROTOOPT; }

    /// <summary>Releases the queue. Every pending operation must complete (ECANCELED) before this returns.</summary>
    public abstract void Close();
}

/// <summary>A FIFO of pending operations linked through <see cref="Operation.Next"/>: no allocation per operation.</summary>
internal struct OperationQueue
{
    private Operation? _head;
    private Operation? _tail;

    public readonly bool IsEmpty => _head is null;
    public readonly Operation? Peek => _head;

    public void Enqueue(Operation op)
    {
        op.Next = null;
        if (_tail is null) _head = _tail = op;
        else
        {
            _tail.Next = op;
            _tail = op;
        }
    }

    public Operation? Dequeue()
    {
        var op = _head;
        if (op is null) return null;
        _head = op.Next;
        if (_head is null) _tail = null;
        op.Next = null;
        return op;
    }

    /// <summary>Completes every queued operation with <paramref name="errno"/>.</summary>
    public void CompleteAll(int errno)
    {
        while (Dequeue() is { } op) op.Complete(errno);
    }
}

/// <summary>The seam under the libOS: a transport creates sockets and makes I/O progress when polled.</summary>
internal interface INetworkTransport : IDisposable
{
    string Name { get; }

    /// <summary>Called once when the libOS that owns the transport is created.</summary>
    void Attach(DemiLibOS libos);

    /// <summary>Creates a socket queue, or returns an errno.</summary>
    int Socket(SocketKind kind, out IoQueue? queue);

    /// <summary>Creates a Unix-domain stream socket (AF_UNIX), or returns an errno: EAFNOSUPPORT where the transport
    /// has none (only catnap, over the kernel's sockets, has them).</summary>
    int SocketUnix(out IoQueue? queue)
    {
        queue = null;
        return Errno.EAFNOSUPPORT;
    }

    /// <summary>Creates an IPv6 socket (AF_INET6, IPv6-only), or returns an errno: EAFNOSUPPORT where the transport has
    /// no IPv6 (catpowder's InetStack and catmem). Sockets of <see cref="Socket"/> are IPv4: their Bind, Connect and
    /// PushTo answer EAFNOSUPPORT for an IPv6 endpoint.</summary>
    int SocketInet6(SocketKind kind, out IoQueue? queue)
    {
        queue = null;
        return Errno.EAFNOSUPPORT;
    }

    /// <summary>Makes I/O progress without blocking; true if anything happened.</summary>
    bool Poll();

    /// <summary>
    /// The end of a libOS pass that did work (after the ready coroutines ran): a transport that batches its output sends
    /// what the pass produced now rather than at the next <see cref="Poll"/>, which would come only after the next
    /// step's clock read and posted work (a few hundred ns of a round trip, on each end). Default: nothing.
    /// </summary>
    void EndPass() { }

    /// <summary>
    /// Blocks until I/O may be possible, <paramref name="timeout"/> passes (null = no limit) or <see cref="Wake"/> is
    /// called.
    /// </summary>
    void Block(TimeSpan? timeout);

    /// <summary>
    /// Makes a <see cref="Block"/> in progress return promptly, or the next one if the libOS thread is about to block.
    /// Thread-safe: called from other threads (a post to the libOS). The libOS calls it only after announcing that it
    /// blocks, at most once per block, so it need not coalesce; a wake that arrives after the block ended may make the
    /// next <see cref="Block"/> return early, which is harmless. A transport whose Block never waits does nothing.
    /// </summary>
    void Wake();

    /// <summary>
    /// The earliest timestamp (of the libOS clock) at which the transport has work of its own, such as a frame in flight
    /// on a simulated link; the run loop never lets a virtual clock jump past it.
    /// </summary>
    bool TryGetNextDeadline(out long due)
    {
        due = 0;
        return false;
    }
}
