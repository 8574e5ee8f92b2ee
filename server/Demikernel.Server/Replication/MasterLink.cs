using System.Globalization;
using System.Net;
using System.Text;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server.Commands;
using Store = Demikernel.Server.Store;

namespace Demikernel.Server.Replication;

/// <summary>redis's REPL_STATE_*, as ROLE names them.</summary>
internal enum MasterLinkState : byte { Connect, Connecting, Handshake, Transfer, Connected }

/// <summary>
/// The replica side: one coroutine that connects to the master through the libOS queue API, as a client would, and
/// keeps the link up:
/// <code>
///   connect ─▶ PING ─▶ [AUTH] ─▶ REPLCONF listening-port ─▶ REPLCONF capa eof capa psync2 ─▶ PSYNC replid offset+1
///     +CONTINUE [replid] ─▶ stream                    +FULLRESYNC replid offset ─▶ $len / $EOF:mark payload ─▶ flush,
///                                                      load (RdbLoader) ─▶ stream
///   stream: each complete command run by the master client (no replies; REPLCONF GETACK answered with an ACK),
///           its bytes counted in the offset and fed to our own replicas verbatim
///   lost link ─▶ retry every second, PSYNC from where we are (the cached master)
/// </code>
/// </summary>
internal sealed class MasterLink
{
    private const int Chunk = 64 * 1024;

    private readonly ReplicationManager _manager;
    private readonly RedisServer _server;
    private readonly ClientState _client;
    private readonly ReplyBuffer _reply;
    private readonly RespRequestScanner _scanner = new();
    private readonly RespArgs _args = new(16);
    private bool _stopped;
    private QDesc _qd = QDesc.Invalid;
    private byte[] _buffer = new byte[Chunk];
    private int _start;
    private int _end;
    private string? _replid;

    public MasterLink(ReplicationManager manager, string host, int port, string replid, long offset)
    {
        _manager = manager;
        _server = manager.Server;
        Host = host;
        Port = port;
        _replid = replid;
        ReplOffset = ReadReplOffset = offset;
        HasOffset = true; // our own history is the cached master: PSYNC from it (replicationCacheMasterUsingMyself)
        _client = new ClientState(0, default, default, default, _server.NowMs) { Authenticated = true, IsMaster = true, MustObey = true, Name = "" };
        _reply = new ReplyBuffer(_server.LibOS);
        DownSinceMs = 0;
    }

    public string Host { get; }
    public int Port { get; }
    public MasterLinkState State { get; private set; } = MasterLinkState.Connect;

    /// <summary>slave_repl_offset: the master's stream applied so far.</summary>
    public long ReplOffset { get; private set; }

    /// <summary>slave_read_repl_offset: read so far (applied or still in the buffer).</summary>
    public long ReadReplOffset { get; private set; }

    public bool HasOffset { get; private set; }
    public long LastIoMs { get; private set; }
    /// <summary>When the link that was up went down (0: up, or never connected since this server was a master).
    /// Carried over from the previous link when REPLICAOF names another master, as redis's repl_down_since.</summary>
    public long DownSinceMs { get; internal set; }
    public long TransferSize { get; private set; }
    public long TransferRead { get; private set; }

    /// <summary>The database the master's stream has selected (the master client's).</summary>
    public int StreamDb => _client.Database;

    /// <summary>The master's replid we followed, for the next PSYNC.</summary>
    public string? CachedReplid => _replid;

    public void Start() => _server.LibOS.Spawn(RunAsync);

    public void Stop()
    {
        _stopped = true;
        CloseSocket();
    }

    /// <summary>Drops the connection (it comes back and resumes with PSYNC).</summary>
    public void Drop(string why)
    {
        _server.Log.MasterLinkDropped(why);
        CloseSocket();
    }

    private void CloseSocket()
    {
        if (!_qd.IsValid) return;
        _server.LibOS.Close(_qd);
        _qd = QDesc.Invalid;
    }

    /// <summary>Once a second: REPLCONF ACK, and the link's timeout.</summary>
    public void Cron(long now)
    {
        if (State == MasterLinkState.Connected)
        {
            if (now - LastIoMs > _server.Config.ReplTimeout * 1000L)
            {
                _server.Log.MasterTimedOut();
                CloseSocket();
                return;
            }
            SendAck();
        }
    }

    /// <summary>REPLCONF ACK &lt;offset&gt; to the master (every second, and on GETACK).</summary>
    public void SendAck()
    {
        if (State != MasterLinkState.Connected || !_qd.IsValid) return;
        string offset = ReplOffset.ToString(CultureInfo.InvariantCulture);
        Send(string.Create(CultureInfo.InvariantCulture, $"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${offset.Length}\r\n{offset}\r\n"));
    }

    private void Send(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var sga = _server.LibOS.SgaAlloc(bytes.Length);
        bytes.CopyTo(sga.Span);
        // Started now, so the master receives our requests in order; the buffer is freed once the push completes.
        var libos = _server.LibOS;
        libos.Spawn(CompleteAfter(libos.PushAsync(_qd, sga), libos, sga));
    }

    private static Func<ValueTask> CompleteAfter(ValueTask<QResult> push, DemiLibOS libos, Sga sga) => async () =>
    {
        await push;
        libos.SgaFree(sga);
    };

    private async ValueTask RunAsync()
    {
        while (!_stopped)
        {
            try
            {
                await ConnectAndSyncAsync();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _server.Log.MasterLinkFailed(e.Message);
            }
            CloseSocket();
            // Down since the link that was up was lost (replicationHandleMasterDisconnection); failed attempts
            // before it ever came up leave it as it was (-1 in INFO when never connected).
            if (State == MasterLinkState.Connected) DownSinceMs = _server.NowMs;
            if (State == MasterLinkState.Connected) _server.Log.ConnectionWithMasterLost();
            State = MasterLinkState.Connect;
            // The cached master keeps its selected database: a +CONTINUE resumes the stream where it was.
            if (_stopped) break;
            await _server.LibOS.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private async ValueTask ConnectAndSyncAsync()
    {
        State = MasterLinkState.Connecting;
        _start = _end = 0;
        _server.Log.ConnectingToMaster(Host, Port);
        if (!TryResolve(out var endpoint))
        {
            _server.Log.MasterLinkFailed($"cannot resolve {Host}");
            return;
        }
        if (_server.LibOS.Socket(endpoint.Family, SocketKind.Stream, out var qd) is var rc && rc != 0)
        {
            _server.Log.MasterLinkFailed($"Unable to connect to MASTER: {Errno.Name(rc)}");
            return;
        }
        _qd = qd;
        var connected = await _server.LibOS.ConnectAsync(qd, endpoint);
        if (!connected.Succeeded)
        {
            _server.Log.MasterLinkFailed($"Error condition on socket for SYNC: {Errno.Name(connected.Ret)}");
            return;
        }
        _server.LibOS.SetSockOpt(qd, SocketOption.TcpNoDelay, 1);
        _server.Log.SyncStarted();
        State = MasterLinkState.Handshake;
        LastIoMs = _server.NowMs;

        string? line = await CommandAsync(Request("PING"));
        if (line is null) return;
        if (line.StartsWith('-') && !line.StartsWith("-NOAUTH", StringComparison.Ordinal) && !line.StartsWith("-NOPERM", StringComparison.Ordinal)
            && !line.StartsWith("-ERR operation not permitted", StringComparison.Ordinal))
        {
            _server.Log.MasterLinkFailed($"Error reply to PING from master: '{line}'");
            return;
        }
        _server.Log.MasterRepliedToPing();
        if (_server.Config.MasterAuth is { } password)
        {
            line = await CommandAsync(_server.Config.MasterUser is { } user ? Request("AUTH", user, password) : Request("AUTH", password));
            if (line is null) return;
            if (line.StartsWith('-'))
            {
                _server.Log.MasterLinkFailed($"Unable to AUTH to MASTER: {line}");
                return;
            }
        }
        var config = _server.Config;
        int announcePort = config.ReplicaAnnouncePort != 0 ? config.ReplicaAnnouncePort : _server.ListenEndpoint.Port;
        line = await CommandAsync(Request("REPLCONF", "listening-port", announcePort.ToString(CultureInfo.InvariantCulture)));
        if (line is null) return;
        if (line.StartsWith('-')) _server.Log.MasterRefusedReplconf("listening-port", line);
        if (config.ReplicaAnnounceIp is { } announceIp)
        {
            line = await CommandAsync(Request("REPLCONF", "ip-address", announceIp));
            if (line is null) return;
            if (line.StartsWith('-')) _server.Log.MasterRefusedReplconf("ip-address", line);
        }
        line = await CommandAsync(Request("REPLCONF", "capa", "eof", "capa", "psync2"));
        if (line is null) return;
        if (line.StartsWith('-')) _server.Log.MasterRefusedReplconf("capa", line);

        string psyncReplid = HasOffset && _replid is not null ? _replid : "?";
        string psyncOffset = HasOffset && _replid is not null ? (ReplOffset + 1).ToString(CultureInfo.InvariantCulture) : "-1";
        if (psyncReplid != "?") _server.Log.TryingPartialResync(psyncReplid, psyncOffset);
        else _server.Log.FullResyncNeeded();
        // A master handing over (FAILOVER) asks its target to become the master in the same PSYNC.
        bool failover = _manager.FailoverInProgress;
        if (!SendRaw(failover ? Request("PSYNC", psyncReplid, psyncOffset, "FAILOVER") : Request("PSYNC", psyncReplid, psyncOffset)))
        {
            if (failover) _manager.AbortFailover("Write error to failover target");
            return;
        }
        do line = await ReadLineAsync();
        while (line is { Length: 0 }); // newlines: the master keeps the link alive before answering
        if (line is null) return;
        if (failover) _manager.FailoverPsyncAnswered(line.StartsWith("+FULLRESYNC", StringComparison.Ordinal) || line.StartsWith("+CONTINUE", StringComparison.Ordinal));
        if (line.StartsWith("+FULLRESYNC", StringComparison.Ordinal))
        {
            var words = line.Split(' ');
            if (words.Length < 3 || !long.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
            {
                _server.Log.MasterLinkFailed($"Bad FULLRESYNC reply: '{line}'");
                return;
            }
            _server.Log.FullResyncFromMaster(words[1], offset);
            if (!await FullSyncAsync(words[1], offset)) return;
        }
        else if (line.StartsWith("+CONTINUE", StringComparison.Ordinal))
        {
            string newReplid = line.Length > 10 ? line[10..].Trim() : _replid!;
            _server.Log.SuccessfulPartialResync();
            if (!newReplid.Equals(_replid, StringComparison.OrdinalIgnoreCase))
            {
                _manager.MasterReplidChanged(newReplid);
                _replid = newReplid;
            }
            _server.Log.MasterReplicaSyncSucceededPartial();
        }
        else
        {
            _server.Log.MasterLinkFailed($"Unexpected reply to PSYNC from master: {line}");
            return;
        }
        State = MasterLinkState.Connected;
        DownSinceMs = 0;
        SendAck();
        await StreamAsync();
    }

    private bool TryResolve(out InetEndpoint endpoint)
    {
        endpoint = default;
        if (!IPAddress.TryParse(Host, out var address))
        {
            try
            {
                // as getaddrinfo's first answer would be, IPv4 before IPv6
                var addresses = Dns.GetHostAddresses(Host);
                address = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    ?? addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
            if (address is null) return false;
        }
        if (address.AddressFamily is not (System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6)) return false;
        endpoint = InetEndpoint.FromIPAddress(address, Port);
        return true;
    }

    private static string Request(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return sb.ToString();
    }

    private async ValueTask<string?> CommandAsync(string request)
    {
        if (!SendRaw(request)) return null;
        return await ReadLineAsync();
    }

    private bool SendRaw(string request)
    {
        if (!_qd.IsValid) return false;
        Send(request);
        return true;
    }

    /// <summary>Reads more bytes into the buffer; false at EOF or error.</summary>
    private async ValueTask<bool> FillAsync()
    {
        if (!_qd.IsValid) return false;
        var popped = await _server.LibOS.PopAsync(_qd);
        if (!popped.Succeeded || popped.Sga.IsEmpty)
        {
            if (popped.Succeeded) _server.LibOS.SgaFree(popped.Sga);
            return false;
        }
        int length = popped.Sga.TotalLength;
        if (_start > 0 && _end + length > _buffer.Length)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end + length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _end + length));
        popped.Sga.CopyTo(_buffer.AsSpan(_end));
        _server.LibOS.SgaFree(popped.Sga);
        _end += length;
        _server.Stats.NetInputBytes += length;
        LastIoMs = _server.NowMs;
        return true;
    }

    /// <summary>One line without its CRLF (or LF), or null when the connection ended.</summary>
    private async ValueTask<string?> ReadLineAsync()
    {
        while (true)
        {
            int lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                int len = lf > 0 && _buffer[_start + lf - 1] == '\r' ? lf - 1 : lf;
                string line = Encoding.UTF8.GetString(_buffer, _start, len);
                _start += lf + 1;
                return line;
            }
            if (!await FillAsync()) return null;
        }
    }

    /// <summary>Receives the RDB ($len or $EOF:mark), empties the databases and loads it.</summary>
    private async ValueTask<bool> FullSyncAsync(string replid, long offset)
    {
        State = MasterLinkState.Transfer;
        string? header;
        do header = await ReadLineAsync();
        while (header is { Length: 0 });
        if (header is null) return false;
        if (header.StartsWith('-'))
        {
            _server.Log.MasterLinkFailed($"MASTER aborted replication with an error: {header[1..]}");
            return false;
        }
        if (!header.StartsWith('$'))
        {
            _server.Log.MasterLinkFailed($"Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?");
            return false;
        }
        // Our replicas will need a full resync too (replicationAttachToNewMaster).
        _manager.DisconnectReplicas();
        byte[] payload;
        if (header.StartsWith("$EOF:", StringComparison.Ordinal))
        {
            byte[] mark = Encoding.ASCII.GetBytes(header[5..]);
            _server.Log.ReceivingStreamedRdb();
            var received = new MemoryStream();
            while (true)
            {
                received.Write(_buffer, _start, _end - _start);
                TransferRead += _end - _start;
                _start = _end = 0;
                if (received.Length >= mark.Length && received.GetBuffer().AsSpan((int)received.Length - mark.Length, mark.Length).SequenceEqual(mark)) break;
                if (!await FillAsync()) return false;
            }
            payload = received.GetBuffer().AsSpan(0, (int)received.Length - mark.Length).ToArray();
        }
        else
        {
            if (!long.TryParse(header.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out long size) || size > Array.MaxLength)
            {
                _server.Log.MasterLinkFailed($"Bad payload length from MASTER: '{header}'");
                return false;
            }
            _server.Log.ReceivingRdb(size);
            TransferSize = size;
            TransferRead = 0;
            payload = new byte[size];
            while (TransferRead < size)
            {
                if (_end == _start && !await FillAsync()) return false;
                int n = (int)Math.Min(size - TransferRead, _end - _start);
                _buffer.AsSpan(_start, n).CopyTo(payload.AsSpan((int)TransferRead));
                _start += n;
                TransferRead += n;
            }
        }
        _server.Log.FlushingOldData();
        _server.Persistence.KillBackgroundSave(); // its image is of the data about to go
        foreach (var db in _server.Databases)
        {
            if (_server.Config.ReplicaLazyFlush) _server.Config.LazyFree.FlushedAsync(db.Count); // emptyData(EMPTYDB_ASYNC)
            db.Clear();
        }
        _server.Functions.Flush();
        _server.Log.LoadingDbInMemory();
        var result = Store.RdbLoader.Load(payload, _server.Databases, _server.NowMs, verifyChecksum: !_server.Diagnostics.SkipChecksumValidation, _server.Functions.LoadFromRdb);
        if (!result.Ok)
        {
            _server.Log.MasterLinkFailed($"Failed trying to load the MASTER synchronization DB from socket: {result.Error}");
            foreach (var db in _server.Databases) db.Clear();
            return false;
        }
        _replid = replid;
        ReplOffset = ReadReplOffset = offset;
        HasOffset = true;
        _client.Database = result.ReplStreamDb is >= 0 and var streamDb && streamDb < _server.Databases.Length ? streamDb : 0;
        _manager.AdoptMasterHistory(replid, offset);
        // The AOF holds the old dataset: it is rewritten from the new one (redis's restartAOFAfterSYNC).
        var aof = _server.Persistence.Aof;
        if (aof.Enabled)
        {
            if (aof.RewriteInProgress || _server.Persistence.ActiveSnapshot is not null) aof.ScheduleRewrite();
            else aof.StartRewrite();
        }
        _server.Log.MasterReplicaSyncSucceeded();
        return true;
    }

    /// <summary>The stream: every complete command is run by the master client and then counted and proxied.</summary>
    private async ValueTask StreamAsync()
    {
        while (!_stopped)
        {
            if (_start < _end)
            {
                ReadReplOffset = ReplOffset + (_end - _start);
                int consumed = Apply(_buffer.AsSpan(_start, _end - _start), out bool bad);
                _start += consumed;
                if (bad) return;
            }
            if (_start == _end) _start = _end = 0;
            if (!await FillAsync()) return;
            ReadReplOffset = ReplOffset + (_end - _start);
        }
    }

    private int Apply(ReadOnlySpan<byte> data, out bool bad)
    {
        bad = false;
        int offset = 0;
        while (offset < data.Length)
        {
            // The master's keep-alive newlines count in the offset like any byte.
            if (data[offset] == '\n')
            {
                offset++;
                ReplOffset++;
                _manager.FeedFromMaster("\n"u8);
                continue;
            }
            var status = _scanner.TryScan(data[offset..], _args, out int consumed, out _);
            if (status == RespScanStatus.NeedMoreData) break;
            if (status == RespScanStatus.Error)
            {
                _server.Log.MasterLinkFailed("Protocol error in the master's stream");
                bad = true;
                return offset;
            }
            var frame = data.Slice(offset, consumed);
            if (_args.Count > 0)
            {
                _reply.Version = RespVersion.Resp2;
                var context = new CommandContext(frame, _args, _client, _server, _reply) { FrameLength = consumed };
                _server.Commands.Execute(ref context);
                _reply.Discard(); // the master client gets no replies
            }
            offset += consumed;
            ReplOffset += consumed;
            _manager.FeedFromMaster(frame);
        }
        return offset;
    }
}
