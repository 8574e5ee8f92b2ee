using System.Globalization;
using System.Text;
using Demikernel.Runtime;

namespace Demikernel.Server.Replication;

/// <summary>redis's SLAVE_STATE_*: where a replica of ours is in its synchronisation.</summary>
internal enum ReplicaState : byte
{
    /// <summary>Waiting for a BGSAVE to start (another snapshot runs).</summary>
    WaitBgsaveStart,
    /// <summary>+FULLRESYNC sent; the BGSAVE that will be its payload runs; the stream since its start is kept.</summary>
    WaitBgsaveEnd,
    /// <summary>The RDB file is being sent.</summary>
    SendBulk,
    /// <summary>Fed from the stream.</summary>
    Online,
}

/// <summary>
/// One replica of this server, on the master side: its connection is an ordinary client session (which reads its
/// REPLCONF ACKs and runs them), and a sender coroutine of its own writes everything the replica receives:
/// <code>
///   +FULLRESYNC / +CONTINUE ─▶ (full: "\n" keep-alives while the BGSAVE runs ─▶ $len + dump.rdb)
///   ─▶ loop: the ring's bytes from Position to End, 64 KB per push ─▶ wait for more
/// </code>
/// The stream is copied from the shared ring into libOS buffers only as the socket takes it, so a replica costs no
/// copy of its own output until then (and a slow one holds the ring, bounded by client-output-buffer-limit replica).
/// </summary>
internal sealed class ReplicaLink
{
    private const int Chunk = 64 * 1024;

    private readonly ReplicationManager _manager;
    private readonly ClientSession _session;
    private AsyncSignal? _signal;
    private bool _closed;
    private bool _running;
    private FileStream? _file;
    private bool _keepAlive;

    public ReplicaLink(ReplicationManager manager, ClientSession session)
    {
        _manager = manager;
        _session = session;
    }

    public ClientState Client => _session.Client;

    /// <summary>The replica's connection: pushes go through it (and its TLS session, on tls-port).</summary>
    internal ClientSession Session => _session;
    public ReplicaState State { get; set; }

    /// <summary>Next stream position to send (the replica has everything before it, or will once pushed).</summary>
    public long Position { get; set; }

    public long AckOffset { get; set; }
    public long AckTimeMs { get; set; }
    public int ListeningPort { get; set; }
    public string? AnnouncedIp { get; set; }
    public bool CapaEof { get; set; }
    public bool CapaPsync2 { get; set; }
    public bool OldProtocol { get; set; }

    /// <summary>The line to send before anything else (+FULLRESYNC or +CONTINUE).</summary>
    public string? PendingReply { get; set; }

    public string Ip => AnnouncedIp ?? IpOf(Client.Peer);

    private static string IpOf(InetEndpoint e) => e.AddressText;

    /// <summary>redis's replicationGetSlaveName: "ip:listening-port" ("[ipv6]:listening-port", anetFormatAddr), or the
    /// address.</summary>
    public string Describe() => ListeningPort != 0
        ? (Ip.Contains(':') ? "[" + Ip + "]:" : Ip + ":") + ListeningPort.ToString(CultureInfo.InvariantCulture)
        : Client.Peer.ToString();

    public string StateName => State switch
    {
        ReplicaState.WaitBgsaveStart or ReplicaState.WaitBgsaveEnd => "wait_bgsave",
        ReplicaState.SendBulk => "send_bulk",
        _ => "online",
    };

    /// <summary>The BGSAVE this replica's payload comes from started at stream position <paramref name="offset"/>.</summary>
    public void StartFullSync(long offset, string replid)
    {
        State = ReplicaState.WaitBgsaveEnd;
        Position = offset;
        if (!OldProtocol) PendingReply = string.Create(CultureInfo.InvariantCulture, $"+FULLRESYNC {replid} {offset}\r\n");
        Wake();
    }

    /// <summary>Diskless: the transfer (<see cref="DisklessSync"/>) writes this replica's socket until it is sent.</summary>
    public void StartDisklessSync(long offset)
    {
        State = ReplicaState.WaitBgsaveEnd;
        Position = offset;
        Diskless = true;
        PendingReply = null;
    }

    /// <summary>The diskless payload is out: the replica is online, and the stream follows its first REPLCONF ACK.</summary>
    public void DisklessSent()
    {
        Diskless = false;
        State = ReplicaState.Online;
        StreamOnAck = true;
        AckTimeMs = _manager.Server.NowMs;
        _manager.ReplicaOnline(this);
    }

    /// <summary>
    /// After a diskless transfer nothing more is sent until the replica's first ACK (redis's
    /// repl_start_cmd_stream_on_ack): a replica reading an EOF-marked payload looks for the mark at the end of what it
    /// has read, so stream bytes arriving in the same read would hide the mark.
    /// </summary>
    public bool StreamOnAck { get; private set; }

    /// <summary>REPLCONF ACK arrived: a stream held for it starts.</summary>
    public void Acknowledged()
    {
        if (!StreamOnAck) return;
        StreamOnAck = false;
        Wake();
    }

    public bool Diskless { get; private set; }

    public bool Alive => !_closed;

    /// <summary>When it started waiting for a full sync (repl-diskless-sync-delay counts from the first one).</summary>
    public long WaitStartMs { get; set; }

    public void SendFile(FileStream file)
    {
        _file = file;
        State = ReplicaState.SendBulk;
        Wake();
    }

    public void Start()
    {
        if (_running) return;
        _running = true;
        _signal = new AsyncSignal(_manager.Server.LibOS);
        _manager.Server.LibOS.Spawn(RunAsync);
    }

    public void Wake() => _signal?.Set();

    /// <summary>Once a second: a newline while the replica waits for its payload (replicationCron), so it does not time out.</summary>
    public void KeepAlive()
    {
        if (State == ReplicaState.WaitBgsaveStart || (State == ReplicaState.WaitBgsaveEnd && !Diskless))
        {
            _keepAlive = true;
            Wake();
        }
    }

    /// <summary>Drops the replica's connection (it will reconnect, and PSYNC).</summary>
    public void Close(string? why)
    {
        if (why is not null) _manager.Server.Log.ClosingReplica(Describe(), why);
        _session.Kill();
        Closed();
    }

    /// <summary>The connection ended: the sender stops.</summary>
    public void Closed()
    {
        if (_closed) return;
        _closed = true;
        Wake();
    }

    private async ValueTask RunAsync()
    {
        var libos = _manager.Server.LibOS;
        var qd = Client.Qd;
        try
        {
            while (!_closed)
            {
                if (PendingReply is { } reply)
                {
                    PendingReply = null;
                    if (!await PushAsync(libos, qd, Encoding.ASCII.GetBytes(reply))) break;
                    continue;
                }
                if (_keepAlive)
                {
                    _keepAlive = false;
                    // checked right before the push: a diskless transfer owns the socket from its first push on
                    if ((State == ReplicaState.WaitBgsaveStart || (State == ReplicaState.WaitBgsaveEnd && !Diskless)) && !await PushAsync(libos, qd, "\n"u8.ToArray())) break;
                    continue;
                }
                if (State == ReplicaState.SendBulk && _file is { } file)
                {
                    if (!await SendFileAsync(libos, qd, file)) break;
                    _file = null;
                    file.Dispose();
                    State = ReplicaState.Online;
                    AckTimeMs = _manager.Server.NowMs;
                    _manager.ReplicaOnline(this);
                    continue;
                }
                if (State == ReplicaState.Online && !StreamOnAck && _manager.Backlog is { } backlog && Position < backlog.End)
                {
                    if (!await SendStreamAsync(libos, qd, backlog)) break;
                    continue;
                }
                await _signal!.WaitAsync();
            }
        }
        finally
        {
            _file?.Dispose();
            _file = null;
            _closed = true;
            _signal?.Dispose();
            _signal = null;
        }
    }

    private async ValueTask<bool> PushAsync(DemiLibOS libos, QDesc qd, byte[] bytes)
    {
        var sga = libos.SgaAlloc(bytes.Length);
        bytes.CopyTo(sga.Span);
        var pushed = await _session.Push(sga);
        libos.SgaFree(sga);
        return pushed.Succeeded;
    }

    private async ValueTask<bool> SendFileAsync(DemiLibOS libos, QDesc qd, FileStream file)
    {
        long length = file.Length;
        if (!await PushAsync(libos, qd, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"${length}\r\n")))) return false;
        long sent = 0;
        while (sent < length && !_closed)
        {
            int n = (int)Math.Min(Chunk, length - sent);
            var sga = libos.SgaAlloc(n);
            // The file is in the page cache (just written): a short blocking read, as redis's sendBulkToSlave reads.
            int read = file.Read(sga.Span[..n]);
            if (read <= 0)
            {
                libos.SgaFree(sga);
                return false;
            }
            if (read < n) sga = Trim(libos, sga, read);
            var pushed = await _session.Push(sga);
            libos.SgaFree(sga);
            if (!pushed.Succeeded) return false;
            sent += read;
            _manager.Server.Stats.NetOutputBytes += read;
        }
        return !_closed;
    }

    private static Sga Trim(DemiLibOS libos, Sga sga, int length)
    {
        var exact = libos.SgaAlloc(length);
        sga.Span[..length].CopyTo(exact.Span);
        libos.SgaFree(sga);
        return exact;
    }

    /// <summary>Pushes the ring's bytes from <see cref="Position"/> on, one chunk at a time (no allocation: pooled
    /// buffers, pooled awaitables, a pooled state machine).</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendStreamAsync(DemiLibOS libos, QDesc qd, ReplicationBacklog backlog)
    {
        while (!_closed && Position < backlog.End)
        {
            if (Position < backlog.HeldStart)
            {
                Close("its output fell behind the replication buffer");
                return false;
            }
            int n = (int)Math.Min(Chunk, backlog.End - Position);
            var sga = libos.SgaAlloc(n);
            backlog.CopyTo(Position, sga.Span[..n]);
            Position += n;
            _manager.Server.Stats.NetOutputBytes += n;
            var push = _session.Push(sga);
            var pushed = push.IsCompleted ? push.Result : await push;
            libos.SgaFree(sga);
            if (!pushed.Succeeded) return false;
            CheckLag(backlog);
        }
        return true;
    }

    /// <summary>client-output-buffer-limit replica: the bytes this replica has not been sent yet.</summary>
    private void CheckLag(ReplicationBacklog backlog)
    {
        var limit = _manager.Server.Config.OutputLimits[(int)ClientClass.Replica];
        if (limit.Hard > 0 && backlog.End - Position > limit.Hard) Close("it overcame the replica output buffer limit");
    }
}
