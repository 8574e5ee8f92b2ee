using System.Diagnostics;
using Demikernel.Runtime;

namespace Demikernel.Catmem;

/// <summary>
/// catmem: stream sockets between processes on one host over shared memory (Demikernel's catmem, with the socket
/// calls of the queue API instead of <c>create_pipe</c>/<c>open_pipe</c>). A port names a listener file in the
/// shared-memory directory; a connect creates a connection file with one lock-free SPSC byte ring each way and posts
/// its id to the listener. After that, push and pop are memory copies into and out of the rings: no system call on the
/// data path, no kernel in between.
/// <code>
///   process A (client)                 /dev/shm                          process B (server)
///   Push ──copy──▶ ring client→server ─────────────────────────────────▶ Pop (poll sees tail move)
///   Pop  ◀──────── ring server→client ◀──copy── Push
/// </code>
/// Waiting: the libOS spins for its spin budget first (pops and pushes are polled every step), then sleeps on its
/// <see cref="Doorbell"/> (a futex in shared memory) until a peer rings it, a timer is due or <see cref="MaxBlock"/>
/// passes (to look for dead peers).
/// </summary>
internal sealed partial class CatmemTransport : INetworkTransport
{
    /// <summary>The longest an idle libOS sleeps before it looks whether its peers still live (a doorbell ends it sooner).</summary>
    public static readonly TimeSpan MaxBlock = TimeSpan.FromMilliseconds(50);

    private static readonly long PeerCheckTicks = Stopwatch.Frequency / 50; // 20 ms
    private const ushort FirstEphemeralPort = 49152;

    private static int s_bells;
    private readonly List<CatmemSocket> _watched = [];
    private readonly Doorbell _bell;
    private readonly Dictionary<ulong, Doorbell?> _peerBells = [];
    private readonly Func<bool> _poll;
    private uint _nextSeq;
    private long _lastPeerCheck;
    private DemiLibOS? _libos;

    public CatmemTransport(string directory, long ringCapacity)
    {
        Directory = directory;
        RingCapacity = ringCapacity;
        SweepStale(directory);
        _bell = Doorbell.Create(directory, ((ulong)(uint)Environment.ProcessId << 32) | (uint)Interlocked.Increment(ref s_bells));
        _poll = Poll;
    }

    /// <summary>
    /// Removes what processes that died without closing left in the directory: their doorbells and unaccepted
    /// connection files (the pid is in the name) and their listener files (the pid is in the header).
    /// </summary>
    private static unsafe void SweepStale(string directory)
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "demikernel-catmem*"))
        {
            string[] parts = System.IO.Path.GetFileName(path).Split('.');
            int pid = 0;
            if (parts is ["demikernel-catmem-bell", var bellPid, ..] && parts.Length is 3 or 4) pid = int.TryParse(bellPid, out int p) ? p : 0;
            else if (parts is ["demikernel-catmem", _, var clientPid, _]) pid = int.TryParse(clientPid, out int p) ? p : 0;
            else if (parts is ["demikernel-catmem", _])
            {
                using var listener = SharedSegment.TryOpen(path, Layout.ListenerBytes);
                if (listener is not null) pid = Layout.OwnerPid(listener.Base);
                if (pid == 0) continue; // being created right now
            }
            if (pid > 0 && !Layout.IsAlive(pid))
            {
                try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }

    /// <summary>This transport's doorbell, which peers ring after writing to it (see <see cref="Doorbell"/>).</summary>
    internal ulong BellId => _bell.Id;

    /// <summary>A peer's doorbell, mapped once per peer transport; null if it cannot be opened (the peer is gone).</summary>
    internal Doorbell? PeerBell(ulong id)
    {
        if (id == 0) return null;
        if (!_peerBells.TryGetValue(id, out var bell)) _peerBells[id] = bell = Doorbell.Open(Directory, id);
        return bell;
    }

    public string Name => "catmem";

    /// <summary>Where the shared files live (tmpfs: <c>/dev/shm</c> by default).</summary>
    public string Directory { get; }

    /// <summary>Bytes of each ring of the connections this process opens (a power of two).</summary>
    public long RingCapacity { get; }

    /// <summary>Set by a socket that moved bytes or completed an operation during a poll.</summary>
    internal bool Moved { get; set; }

    internal DemiLibOS LibOS => _libos ?? throw new InvalidOperationException("catmem transport is not attached");

    public void Attach(DemiLibOS libos) => _libos = libos;

    public int Socket(SocketKind kind, out IoQueue? queue)
    {
        queue = null;
        if (kind != SocketKind.Stream) return Errno.EPROTONOSUPPORT;
        queue = new CatmemSocket(this);
        return 0;
    }

    internal ulong NextConnectionId() => ((ulong)(uint)Environment.ProcessId << 32) | ++_nextSeq;

    /// <summary>Creates the listener file for <paramref name="port"/> (0: a free ephemeral port); replaces a stale one
    /// whose owner died; null if a live process holds it.</summary>
    internal unsafe SharedSegment? ClaimListenerName(ushort port, out ushort claimed)
    {
        claimed = 0;
        if (port != 0) return TryClaim(port, ref claimed);
        int start = Random.Shared.Next(FirstEphemeralPort, 65536);
        for (int i = 0; i < 65536 - FirstEphemeralPort; i++)
        {
            ushort candidate = (ushort)(FirstEphemeralPort + (start - FirstEphemeralPort + i) % (65536 - FirstEphemeralPort));
            if (TryClaim(candidate, ref claimed) is { } segment) return segment;
        }
        return null;
    }

    private unsafe SharedSegment? TryClaim(ushort port, ref ushort claimed)
    {
        string path = Layout.ListenerPath(Directory, port);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (SharedSegment.TryCreate(path, Layout.ListenerBytes) is { } segment)
            {
                Layout.OwnerPid(segment.Base) = Environment.ProcessId;
                Layout.OwnerBell(segment.Base) = BellId;
                Volatile.Write(ref Layout.Magic(segment.Base), Layout.ListenerMagic);
                claimed = port;
                return segment;
            }
            // The name exists: in use if its owner lives (or is still writing its header), stale otherwise.
            using var existing = SharedSegment.TryOpen(path, Layout.ListenerBytes);
            if (existing is null) continue; // vanished meanwhile: try again
            int owner = Layout.OwnerPid(existing.Base);
            if (owner == 0 || Layout.IsAlive(owner)) return null;
            existing.Unlink();
        }
        return null;
    }

    internal void Watch(CatmemSocket socket)
    {
        if (socket.PollIndex >= 0) return;
        socket.PollIndex = _watched.Count;
        _watched.Add(socket);
    }

    internal void Unwatch(CatmemSocket socket)
    {
        int i = socket.PollIndex;
        if (i < 0) return;
        var last = _watched[^1];
        _watched[i] = last;
        last.PollIndex = i;
        _watched.RemoveAt(_watched.Count - 1);
        socket.PollIndex = -1;
    }

    /// <summary>Moves every watched socket's rings; a socket with nothing left to wait for leaves the list.</summary>
    public bool Poll()
    {
        bool progress = false;
        for (int i = _watched.Count - 1; i >= 0; i--)
        {
            if (i >= _watched.Count) continue; // a completion closed sockets meanwhile
            var socket = _watched[i];
            if (socket.Progress()) Unwatch(socket);
        }
        progress = Moved;
        Moved = false;
        return progress;
    }

    /// <summary>
    /// Sleeps on the doorbell for at most <see cref="MaxBlock"/> (or the timeout) unless a last poll finds work. Every
    /// 20 ms of idleness it also looks whether the peers of waiting sockets still run.
    /// </summary>
    public void Block(TimeSpan? timeout)
    {
        CheckPeersIfDue();
        var wait = timeout is { } t && t < MaxBlock ? t : MaxBlock;
        if (wait <= TimeSpan.Zero) return;
        _bell.Sleep(wait, _poll);
    }

    /// <summary>Another thread of this process posted work: ring our own bell.</summary>
    public void Wake() => _bell.RingAlways();

    public void Dispose()
    {
        _bell.Unlink();
        _bell.Dispose();
        foreach (var bell in _peerBells.Values) bell?.Dispose();
        _peerBells.Clear();
    }
}
