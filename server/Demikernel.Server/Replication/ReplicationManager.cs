// Log arguments here are built on cold paths (a replica connecting, a link changing), not per command.
#pragma warning disable CA1873
using System.Buffers;
using System.Globalization;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Persistence;
using Demikernel.Server.Logging;
using Demikernel.Server.Propagation;

namespace Demikernel.Server.Replication;

/// <summary>
/// Redis 7.0 replication (PSYNC2) on both sides: this server's replicas (<see cref="ReplicaLink"/>), its master
/// (<see cref="MasterLink"/>), the replication IDs and offsets, the backlog, WAIT and min-replicas.
/// <code>
///   master side:  effects unit ─▶ Append ─▶ EffectsStream bytes ─▶ Feed ─▶ backlog ring ─▶ each replica's sender
///                 PSYNC ─▶ +CONTINUE (from the ring) | +FULLRESYNC ─▶ BGSAVE ─▶ dump.rdb sent ─▶ the ring from the
///                 offset the BGSAVE started at
///   replica side: MasterLink ─▶ handshake ─▶ RDB loaded ─▶ each command of the master's stream run as the master
///                 client ─▶ its exact bytes fed to our own ring (chained replicas see the master's offsets)
/// </code>
/// Everything runs on the libOS thread.
/// </summary>
public sealed partial class ReplicationManager : IEffectsConsumer
{
    internal const string NullReplid = "0000000000000000000000000000000000000000";

    private readonly RedisServer _server;
    private readonly List<ReplicaLink> _replicas = [];
    private readonly ArrayBufferWriter<byte> _unitBytes = new(4096);
    private readonly List<ClientSession> _waiting = [];
    private ReplicationBacklog? _backlog;
    private long _offset; // master_repl_offset while there is no backlog
    private int _selectedDb = -1;
    private BackgroundSave? _bgsaveForSync;
    private DisklessSync? _diskless;
    private long _noReplicasSinceMs;
    private long _lastCronSecond;
    private long _cronSeconds;
    private MasterLink? _master;

    internal ReplicationManager(RedisServer server)
    {
        _server = server;
        Replid = NewReplid();
        _noReplicasSinceMs = server.NowMs;
        foreach (var db in server.Databases) db.ExpiryPolicy = ReplicaExpiry;
        server.AddCronStep("replication", Cron);
    }

    public string Replid { get; private set; }
    public string Replid2 { get; private set; } = NullReplid;
    public long SecondReplOffset { get; private set; } = -1;

    /// <summary>master_repl_offset: bytes of replication stream produced (master) or applied (replica).</summary>
    public long MasterReplOffset => _backlog?.End ?? _offset;

    public long SyncFull { get; private set; }
    public long SyncPartialOk { get; private set; }
    public long SyncPartialErr { get; private set; }

    /// <summary>The server became a replica ('S') or a master ('M'): the log's role letter follows.</summary>
    public event Action<char>? RoleChanged;

    /// <summary>True when this server is a replica (REPLICAOF host port).</summary>
    public bool IsReplica => _master is not null;

    internal MasterLink? Master => _master;

    internal IReadOnlyList<ReplicaLink> Replicas => _replicas;

    internal RedisServer Server => _server;

    private static string NewReplid() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));

    // ------------------------------------------------------------------ the stream

    /// <summary>A replica feeds its master's stream on, never its own effects.</summary>
    public PropagationTargets Accepts => _master is null ? PropagationTargets.Replicas : PropagationTargets.None;

    /// <summary>The effects of a write (IEffectsConsumer): on a master, into the stream. A replica proxies its
    /// master's stream instead (<see cref="FeedFromMaster"/>), so its own effects are not fed.</summary>
    public void Append(in EffectsUnit unit)
    {
        if (_backlog is null || _master is not null || !EffectsStream.HasPart(unit, aof: false)) return;
        _unitBytes.ResetWrittenCount();
        EffectsStream.Write(_unitBytes, unit, ref _selectedDb, aof: false);
        Feed(_unitBytes.WrittenSpan);
    }

    /// <summary>Bytes of the master's stream this replica applied: proxied verbatim, so offsets agree along a chain.</summary>
    internal void FeedFromMaster(ReadOnlySpan<byte> bytes)
    {
        if (_backlog is null) _offset += bytes.Length;
        else Feed(bytes);
    }

    private void Feed(ReadOnlySpan<byte> bytes)
    {
        var backlog = _backlog!;
        backlog.Append(bytes, OldestNeeded());
        foreach (var replica in _replicas)
            if (replica.State == ReplicaState.Online) replica.Wake();
    }

    /// <summary>The lowest stream position a replica still has to send (long.MaxValue when none).</summary>
    internal long OldestNeeded()
    {
        long oldest = long.MaxValue;
        foreach (var replica in _replicas)
            if (replica.State != ReplicaState.WaitBgsaveStart && replica.Position < oldest) oldest = replica.Position;
        return oldest;
    }

    internal ReplicationBacklog? Backlog => _backlog;

    private void CreateBacklog()
    {
        _backlog = new ReplicationBacklog(_server.Config.ReplBacklogSize, _offset);
        _server.Effects.Add(this);
    }

    private void FreeBacklog()
    {
        if (_backlog is null) return;
        _offset = _backlog.End;
        _backlog = null;
        _server.Effects.Remove(this);
    }

    /// <summary>The backlog ring's bytes, 0 without a backlog (mem_replication_backlog).</summary>
    internal long BacklogMemory => _backlog?.AllocatedBytes ?? 0;

    /// <summary>DEBUG CHANGE-REPL-ID: a new replication ID and no second one (replicas then need a full sync).</summary>
    internal void ChangeReplicationId()
    {
        _server.Log.ChangingReplicationIds();
        NewHistory();
    }

    /// <summary>redis's changeReplicationId + clearReplicationId2.</summary>
    private void NewHistory()
    {
        Replid = NewReplid();
        Replid2 = NullReplid;
        SecondReplOffset = -1;
    }

    // ------------------------------------------------------------------ master side: SYNC / PSYNC

    /// <summary>SYNC and PSYNC (syncCommand). The replies go out through the replica's sender, in order.</summary>
    internal void Sync(ref CommandContext c, bool psync)
    {
        var client = c.Client;
        if (client.IsReplica) return; // ignored, as redis does for a client already a replica
        if (psync && c.Count > 3 && c.ArgIs(3, "FAILOVER"u8) && TakeOverFromFailingMaster(ref c) is { } failoverError)
        {
            c.Reply.Error(failoverError);
            return;
        }
        if (_failover != FailoverState.None)
        {
            c.Reply.Error("NOMASTERLINK Can't SYNC while failing over");
            return;
        }
        if (_master is not null && _master.State != MasterLinkState.Connected)
        {
            c.Reply.Error("NOMASTERLINK Can't SYNC while not connected with my master");
            return;
        }
        if (client.Session is not { } session)
        {
            c.Reply.Error("ERR Replica can't be attached to a client without a connection");
            return;
        }
        var link = client.PendingReplica ?? new ReplicaLink(this, session);
        client.PendingReplica = null;
        string peer = link.Describe();
        _server.Log.ReplicaAsksForSync(peer);
        if (psync)
        {
            string replid = c.ArgString(1);
            if (!long.TryParse(c.Arg(2), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long psyncOffset))
            {
                c.Reply.Error("ERR value is not an integer or out of range");
                return;
            }
            if (TryPartialResync(link, replid, psyncOffset, peer)) return;
            if (replid != "?") SyncPartialErr++;
        }
        else
        {
            link.OldProtocol = true; // SYNC: no +FULLRESYNC line, the payload at once
        }
        SyncFull++;
        client.IsReplica = true;
        link.State = ReplicaState.WaitBgsaveStart;
        link.WaitStartMs = _server.NowMs;
        _replicas.Add(link);
        if (_replicas.Count == 1 && _backlog is null) StartHistory();
        // A disk BGSAVE for replicas already running can serve this one too: same start offset, same file (a
        // diskless transfer cannot: this replica waits for the next one).
        foreach (var other in _replicas)
        {
            if (other == link || other.State != ReplicaState.WaitBgsaveEnd || _bgsaveForSync is null) continue;
            link.StartFullSync(other.Position, Replid);
            _server.Log.WaitingForEndOfBgsave();
            link.Start();
            return;
        }
        link.Start();
        StartBgsaveForReplication();
    }

    /// <summary>The first replica of a server without a backlog: a new history starts, with a backlog (syncCommand).</summary>
    internal void StartHistory()
    {
        NewHistory();
        CreateBacklog();
        _server.Log.BacklogCreated(Replid, Replid2);
    }

    /// <summary>masterTryPartialResynchronization: +CONTINUE and the backlog from the offset asked for, or false.</summary>
    private bool TryPartialResync(ReplicaLink link, string replid, long psyncOffset, string peer)
    {
        if (!replid.Equals(Replid, StringComparison.OrdinalIgnoreCase)
            && (!replid.Equals(Replid2, StringComparison.OrdinalIgnoreCase) || psyncOffset > SecondReplOffset))
        {
            if (replid != "?")
            {
                if (!replid.Equals(Replid, StringComparison.OrdinalIgnoreCase) && !replid.Equals(Replid2, StringComparison.OrdinalIgnoreCase))
                    _server.Log.PartialResyncNotAcceptedReplid(peer, replid, Replid, Replid2);
                else _server.Log.PartialResyncNotAcceptedOffset(peer, SecondReplOffset, psyncOffset);
            }
            else _server.Log.FullResyncRequested(peer);
            return false;
        }
        var backlog = _backlog;
        if (backlog is null || psyncOffset < backlog.FirstOffset || psyncOffset > backlog.FirstOffset + backlog.HistLen)
        {
            _server.Log.UnableToPartialResync(peer, psyncOffset);
            if (backlog is not null && psyncOffset > backlog.End) _server.Log.WarningOffsetInTheFuture(peer);
            return false;
        }
        link.Client.IsReplica = true;
        link.State = ReplicaState.Online;
        link.AckTimeMs = _server.NowMs;
        link.Position = psyncOffset - 1;
        link.PendingReply = link.CapaPsync2 ? $"+CONTINUE {Replid}\r\n" : "+CONTINUE\r\n";
        _replicas.Add(link);
        SyncPartialOk++;
        _server.Log.PartialResyncAccepted(peer, backlog.End - link.Position, psyncOffset);
        link.Start();
        RefreshGoodReplicas();
        return true;
    }

    /// <summary>Starts the BGSAVE that replicas waiting for one need, unless another snapshot runs (the cron retries).</summary>
    private void StartBgsaveForReplication()
    {
        if (_bgsaveForSync is not null || _diskless is not null || _server.Persistence.ActiveSnapshot is not null) return;
        int waiting = 0;
        bool allEof = true;
        long oldest = long.MaxValue;
        foreach (var r in _replicas)
        {
            if (r.State != ReplicaState.WaitBgsaveStart) continue;
            waiting++;
            allEof &= r.CapaEof;
            oldest = Math.Min(oldest, r.WaitStartMs);
        }
        if (waiting == 0) return;
        var config = _server.Config;
        if (config.ReplDisklessSync && allEof)
        {
            // repl-diskless-sync-delay: wait for more replicas to join, unless repl-diskless-sync-max-replicas came
            bool full = config.ReplDisklessSyncMaxReplicas > 0 && waiting >= config.ReplDisklessSyncMaxReplicas;
            if (!full && _server.NowMs - oldest < config.ReplDisklessSyncDelay * 1000L) return;
            StartDisklessSync();
            return;
        }
        _server.Log.StartingBgsaveForSync();
        long offset = MasterReplOffset;
        _selectedDb = -1; // the stream after the file starts with a SELECT
        if (!_server.Persistence.StartBackgroundSave() || _server.Persistence.Bgsave is not { } job)
        {
            foreach (var r in _replicas.ToArray())
                if (r.State == ReplicaState.WaitBgsaveStart) r.Close("BGSAVE for replication failed");
            return;
        }
        _bgsaveForSync = job;
        foreach (var r in _replicas)
            if (r.State == ReplicaState.WaitBgsaveStart) r.StartFullSync(offset, Replid);
    }

    /// <summary>The snapshot of a diskless transfer, while it runs (only one snapshot runs at a time).</summary>
    internal Persistence.Snapshot? DisklessSnapshot => _diskless?.Snapshot;

    private void StartDisklessSync()
    {
        _server.Log.StartingDisklessSync();
        long offset = MasterReplOffset;
        _selectedDb = -1;
        var snapshot = Persistence.Snapshot.Begin(_server.Databases, _server.NowMs, _server.UsedMemory, aofBase: false,
            _server.Config.RdbCompression, _server.Functions.Codes(), SaveInfo());
        var targets = _replicas.Where(r => r.State == ReplicaState.WaitBgsaveStart).ToArray();
        var job = new DisklessSync(this, snapshot, targets, offset, Replid, _server.Config.RdbChecksum);
        _diskless = job;
        _server.LibOS.Spawn(async () =>
        {
            try
            {
                await job.RunAsync();
            }
            finally
            {
                if (_diskless == job) _diskless = null;
                _server.Log.DisklessSyncDone();
            }
        });
    }

    /// <summary>The BGSAVE ended: its file goes to the replicas waiting for it, or they are dropped.</summary>
    private void BgsaveForSyncDone()
    {
        var job = _bgsaveForSync!;
        _bgsaveForSync = null;
        if (job.Outcome != SaveOutcome.Ok)
        {
            _server.Log.SyncBgsaveFailed();
            foreach (var r in _replicas.ToArray())
                if (r.State == ReplicaState.WaitBgsaveEnd) r.Close("BGSAVE for replication failed");
            return;
        }
        string path = _server.Persistence.RdbPath;
        foreach (var r in _replicas.ToArray())
        {
            if (r.State != ReplicaState.WaitBgsaveEnd) continue;
            try
            {
                r.SendFile(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _server.Log.SyncFileOpenFailed(e.Message);
                r.Close("cannot open the RDB");
            }
        }
    }

    /// <summary>A replica finished loading the file (its first ACK) or the sender sent it all: it is online.</summary>
    internal void ReplicaOnline(ReplicaLink link)
    {
        _server.Log.SyncSucceeded(link.Describe());
        RefreshGoodReplicas();
    }

    /// <summary>The replica's connection ended (its session ended, or it was dropped).</summary>
    internal void OnClientClosed(ClientState client)
    {
        if (!client.IsReplica && client.PendingReplica is null) return;
        for (int i = 0; i < _replicas.Count; i++)
        {
            var r = _replicas[i];
            if (r.Client != client) continue;
            _replicas.RemoveAt(i);
            r.Closed();
            _server.Log.ConnectionWithReplicaLost(r.Describe());
            break;
        }
        client.PendingReplica?.Closed();
        client.PendingReplica = null;
        if (_replicas.Count == 0) _noReplicasSinceMs = _server.NowMs;
        RefreshGoodReplicas();
    }

    // ------------------------------------------------------------------ REPLCONF

    internal void ReplConf(ref CommandContext c)
    {
        if (c.Count % 2 == 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var client = c.Client;
        for (int i = 1; i < c.Count; i += 2)
        {
            if (c.ArgIs(i, "LISTENING-PORT"u8))
            {
                if (!long.TryParse(c.Arg(i + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long port))
                {
                    c.Reply.Error("ERR value is not an integer or out of range");
                    return;
                }
                Pending(client).ListeningPort = (int)port;
            }
            else if (c.ArgIs(i, "IP-ADDRESS"u8))
            {
                string ip = c.ArgString(i + 1);
                if (ip.Length >= 46)
                {
                    c.Reply.Error($"ERR REPLCONF ip-address provided by replica instance is too long: {ip.Length} bytes");
                    return;
                }
                Pending(client).AnnouncedIp = ip;
            }
            else if (c.ArgIs(i, "CAPA"u8))
            {
                if (c.ArgIs(i + 1, "EOF"u8)) Pending(client).CapaEof = true;
                else if (c.ArgIs(i + 1, "PSYNC2"u8)) Pending(client).CapaPsync2 = true;
                // anything else is ignored, as redis ignores capabilities it does not know
            }
            else if (c.ArgIs(i, "ACK"u8))
            {
                // From a replica only; never answered (replconfCommand).
                if (!client.IsReplica) return;
                if (!long.TryParse(c.Arg(i + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long offset)) return;
                var link = Find(client);
                if (link is null) return;
                if (offset > link.AckOffset) link.AckOffset = offset;
                link.AckTimeMs = _server.NowMs;
                link.Acknowledged();
                CheckWaiting();
                return;
            }
            else if (c.ArgIs(i, "GETACK"u8))
            {
                // Only the master's own link acts on it (MasterLink answers); a normal client gets no reply either.
                if (client.IsMaster) _master?.SendAck();
                return;
            }
            else if (c.ArgIs(i, "RDB-ONLY"u8) || c.ArgIs(i, "RDB-FILTER-ONLY"u8))
            {
                c.Reply.Error($"ERR Unrecognized REPLCONF option: {c.ArgString(i)}");
                return;
            }
            else
            {
                c.Reply.Error($"ERR Unrecognized REPLCONF option: {c.ArgString(i)}");
                return;
            }
        }
        c.Reply.Ok();
    }

    private ReplicaLink Pending(ClientState client) =>
        Find(client) ?? (client.PendingReplica ??= new ReplicaLink(this, client.Session!));

    private ReplicaLink? Find(ClientState client)
    {
        foreach (var r in _replicas)
            if (r.Client == client) return r;
        return null;
    }

    // ------------------------------------------------------------------ WAIT, min-replicas

    /// <summary>Replicas whose last ACK is at or past <paramref name="offset"/> (replicationCountAcksByOffset).</summary>
    internal int CountAcks(long offset)
    {
        int count = 0;
        foreach (var r in _replicas)
            if (r.State == ReplicaState.Online && r.AckOffset >= offset) count++;
        return count;
    }

    /// <summary>WAIT numreplicas timeout.</summary>
    internal void Wait(ref CommandContext c)
    {
        if (_master is not null)
        {
            c.Reply.Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(1), out long numReplicas))
        {
            c.Reply.Error("ERR value is not an integer or out of range");
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long timeout))
        {
            c.Reply.Error("ERR timeout is not an integer or out of range");
            return;
        }
        if (timeout < 0)
        {
            c.Reply.Error("ERR timeout is negative");
            return;
        }
        var client = c.Client;
        long offset = c.IsRetry && client.BlockState is WaitState w ? w.Offset : client.ReplOffset;
        int acks = CountAcks(offset);
        if (acks >= numReplicas || client.InExec || client.Session is null)
        {
            c.Reply.Integer(acks);
            return;
        }
        client.BlockState = new WaitState(offset, numReplicas);
        c.Block([], timeout, BlockTimeoutReply.ReplicaAcks, BlockedOn.ReplicaAcks);
        if (!client.Blocked) return;
        if (!c.IsRetry)
        {
            _waiting.Add(client.Session);
            // GETACK goes out once this step's commands have run (redis: in beforeSleep), so it is not counted in
            // the offset of the client that asked, and several WAITs share one.
            if (!_getAckScheduled)
            {
                _getAckScheduled = true;
                _server.LibOS.Spawn(RequestAcksSoon);
            }
        }
    }

    /// <summary>A WAIT timed out: the number of replicas that acknowledged its offset.</summary>
    internal void AnswerWaitTimeout(object? blockState, ReplyBuffer reply)
    {
        long offset = blockState is WaitState w ? w.Offset : MasterReplOffset;
        reply.Integer(CountAcks(offset));
    }

    /// <summary>Wakes the WAITing clients whose replicas acknowledged enough.</summary>
    private void CheckWaiting()
    {
        for (int i = _waiting.Count - 1; i >= 0; i--)
        {
            var session = _waiting[i];
            var client = session.Client;
            if (!client.Blocked || client.BlockState is not WaitState w)
            {
                _waiting.RemoveAt(i);
                continue;
            }
            if (CountAcks(w.Offset) < w.NumReplicas) continue;
            _waiting.RemoveAt(i);
            session.RetryBlocked();
        }
    }

    private static ReadOnlySpan<byte> GetAck => "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"u8;
    private static ReadOnlySpan<byte> Ping => "*1\r\n$4\r\nPING\r\n"u8;

    private bool _getAckScheduled;

    private async ValueTask RequestAcksSoon()
    {
        await _server.LibOS.Yield();
        _getAckScheduled = false;
        RequestAcks();
    }

    /// <summary>REPLCONF GETACK * into the stream (replicationRequestAckFromSlaves).</summary>
    private void RequestAcks()
    {
        if (_backlog is not null && _master is null && _replicas.Count > 0) Feed(GetAck);
    }

    /// <summary>repl_good_slaves_count: online replicas whose last ACK is at most min-replicas-max-lag seconds old.</summary>
    public int GoodReplicas { get; private set; }

    private void RefreshGoodReplicas()
    {
        long now = _server.NowMs / 1000;
        int good = 0;
        foreach (var r in _replicas)
            if (r.State == ReplicaState.Online && now - r.AckTimeMs / 1000 <= _server.Config.MinReplicasMaxLag) good++;
        GoodReplicas = good;
    }

    // ------------------------------------------------------------------ what clients may run

    internal const string ReadOnlyError = "READONLY You can't write against a read only replica.";
    internal const string MasterDownError = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
    internal const string NoReplicasError = "NOREPLICAS Not enough good replicas to write.";

    /// <summary>True when replication has something to say about commands (a replica, or min-replicas-to-write set):
    /// the dispatcher then asks <see cref="Refusal"/>.</summary>
    internal bool Guarding => _master is not null || _server.Config.MinReplicasToWrite > 0;

    /// <summary>processCommand's replication checks, in its order: NOREPLICAS, READONLY, MASTERDOWN. Also sets how
    /// the store treats expired keys for the command about to run (a replica does not delete them itself).
    /// <paramref name="flags"/> are the call's (getCommandFlags: a script's declared flags for EVAL and FCALL).</summary>
    internal string? Refusal(ClientState client, CommandFlags flags)
    {
        bool write = (flags & CommandFlags.Write) != 0;
        if (_master is null)
        {
            ReplicaExpiry.Mode = Store.ExpiryMode.Delete;
            if (write && _server.Config.MinReplicasToWrite > 0 && _server.Config.MinReplicasMaxLag > 0 && GoodReplicas < _server.Config.MinReplicasToWrite && !client.IsMaster)
                return NoReplicasError;
            return null;
        }
        if (client.IsMaster)
        {
            ReplicaExpiry.Mode = Store.ExpiryMode.Keep; // the master's commands see its keys as they are until it DELs them
            return null;
        }
        // Reads do not delete what has expired (the master will); a write that may run deletes it first, as
        // redis's lookupKeyWrite does on a writable replica, so nothing is ever added next to a hidden key.
        ReplicaExpiry.Mode = write || !_server.Config.ReplicaReadOnly ? Store.ExpiryMode.Delete : Store.ExpiryMode.Hide;
        if (write && _server.Config.ReplicaReadOnly) return ReadOnlyError;
        if (_master.State != MasterLinkState.Connected && !_server.Config.ReplicaServeStaleData && (flags & CommandFlags.Stale) == 0)
            return MasterDownError;
        return null;
    }

    /// <summary>The store's expiry policy for the running command, shared by every database.</summary>
    internal Store.ReplicaExpiryPolicy ReplicaExpiry { get; } = new();

    // ------------------------------------------------------------------ REPLICAOF

    internal void ReplicaOf(ref CommandContext c)
    {
        if (_failover != FailoverState.None)
        {
            c.Reply.Error("ERR REPLICAOF not allowed while failing over.");
            return;
        }
        if (c.ArgIs(1, "NO"u8) && c.ArgIs(2, "ONE"u8))
        {
            if (_master is not null)
            {
                _server.Log.MasterModeEnabled(ClientInfo.Describe(c.Client, _server.NowMs, 0));
                Promote();
            }
            c.Reply.Ok();
            return;
        }
        if (c.Client.IsReplica)
        {
            c.Reply.Error("ERR Command is not valid when client is a replica.");
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long port) || port is < 0 or > 65535)
        {
            c.Reply.Error("ERR Invalid master port");
            return;
        }
        string host = c.ArgString(1);
        if (_master is not null && _master.Host.Equals(host, StringComparison.OrdinalIgnoreCase) && _master.Port == port)
        {
            _server.Log.AlreadyConnected();
            c.Reply.SimpleString("OK Already connected to specified master");
            return;
        }
        SetMaster(host, (int)port);
        _server.Log.ReplicaOfEnabled(host, (int)port, ClientInfo.Describe(c.Client, _server.NowMs, 0));
        c.Reply.Ok();
    }

    /// <summary>replicationSetMaster: drop the old link, our replicas resync with us, connect to the new master.</summary>
    internal void SetMaster(string host, int port)
    {
        bool wasMaster = _master is null;
        var old = _master;
        old?.Stop();
        long downSince = old is null ? 0 : old.State == MasterLinkState.Connected ? _server.NowMs : old.DownSinceMs;
        // Our history continues as a cached master (replicationCacheMasterUsingMyself): PSYNC from our own offset.
        long offset = MasterReplOffset;
        string replid = Replid;
        DisconnectReplicas();
        CancelWaiting();
        _master = new MasterLink(this, host, port, wasMaster ? replid : _master!.CachedReplid ?? replid, offset) { DownSinceMs = downSince };
        RoleChanged?.Invoke('S');
        _server.Config.SetReplicaOf(host, port);
        _master.Start();
    }

    /// <summary>A cluster replica elected (or reset) becomes a master as REPLICAOF NO ONE makes it one.</summary>
    internal void PromoteForCluster()
    {
        if (_master is not null) Promote();
    }

    /// <summary>REPLICAOF NO ONE: the master's replid becomes replid2, valid up to our offset, and a new history starts,
    /// so replicas of either can PSYNC to us (shiftReplicationId).</summary>
    private void Promote()
    {
        var master = _master!;
        _master = null;
        master.Stop();
        RoleChanged?.Invoke('M');
        _server.Config.SetReplicaOf(null, 0);
        Replid2 = Replid;
        SecondReplOffset = MasterReplOffset + 1;
        Replid = NewReplid();
        _server.Log.NewReplicationIds(Replid, Replid2, SecondReplOffset);
        _selectedDb = -1;
        // Our replicas must learn the new replid (they PSYNC again and get +CONTINUE with it).
        DisconnectReplicas();
        if (_backlog is null) CreateBacklog();
        ReplicaExpiry.Mode = Store.ExpiryMode.Delete;
    }

    /// <summary>The master link adopted a history: after a full sync its replid and offset, a fresh backlog.</summary>
    internal void AdoptMasterHistory(string replid, long offset)
    {
        FreeBacklog();
        Replid = replid;
        Replid2 = NullReplid;
        SecondReplOffset = -1;
        _offset = offset;
        CreateBacklog();
    }

    /// <summary>+CONTINUE with another replid (the master was promoted): ours shifts as the master's did.</summary>
    internal void MasterReplidChanged(string replid)
    {
        Replid2 = Replid;
        SecondReplOffset = MasterReplOffset + 1;
        Replid = replid;
        _server.Log.MasterReplidChanged(replid, Replid2, SecondReplOffset);
        DisconnectReplicas();
    }

    /// <summary>Our replicas reconnect and PSYNC (disconnectSlaves).</summary>
    internal void DisconnectReplicas()
    {
        foreach (var r in _replicas.ToArray()) r.Close(null);
    }

    private void CancelWaiting()
    {
        foreach (var session in _waiting.ToArray())
            if (session.Client.Blocked && session.Client.BlockState is WaitState) session.UnblockWithError("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
        _waiting.Clear();
    }

    /// <summary>CLIENT KILL TYPE master: the link to the master drops (and reconnects, resuming with PSYNC).</summary>
    internal int KillMasterClient()
    {
        if (_master is not { State: MasterLinkState.Connected } master) return 0;
        master.Drop("killed by CLIENT KILL");
        return 1;
    }

    // ------------------------------------------------------------------ cron

    private void Cron()
    {
        long now = _server.NowMs;
        if (_bgsaveForSync is not null && !ReferenceEquals(_server.Persistence.Bgsave, _bgsaveForSync)) BgsaveForSyncDone();
        if (_bgsaveForSync is null && _diskless is null) StartBgsaveForReplication();
        UpdateFailover();
        long second = now / 1000;
        if (second == _lastCronSecond) return;
        _lastCronSecond = second;
        _cronSeconds++;
        _master?.Cron(now);
        // PING replicas every repl-ping-replica-period seconds, in the stream (replicationCron).
        // Not while a failover waits for replicas to catch up (redis's manual_failover_in_progress): the PING would move
        // the offset they must reach.
        if (_master is null && _replicas.Count > 0 && _backlog is not null && _failover == FailoverState.None && _cronSeconds % _server.Config.ReplPingReplicaPeriod == 0) Feed(Ping);
        long timeoutMs = _server.Config.ReplTimeout * 1000L;
        for (int i = 0; i < _replicas.Count; i++) // Close only kills the session: the list changes when it has ended
        {
            var r = _replicas[i];
            if (r.State == ReplicaState.Online && !r.OldProtocol && now - r.AckTimeMs > timeoutMs)
            {
                _server.Log.ReplicaTimedOut(r.Describe());
                r.Close(null);
            }
            else r.KeepAlive();
        }
        // Without replicas for repl-backlog-ttl seconds, a master frees its backlog and starts a new history.
        if (_replicas.Count == 0 && _master is null && _backlog is not null && _server.Config.ReplBacklogTtl > 0
            && now - _noReplicasSinceMs > _server.Config.ReplBacklogTtl * 1000)
        {
            NewHistory();
            FreeBacklog();
            _server.Log.BacklogFreed(_server.Config.ReplBacklogTtl);
        }
        _backlog?.Release(OldestNeeded());
        if (_backlog is not null && _backlog.Size != _server.Config.ReplBacklogSize) _backlog.Resize(_server.Config.ReplBacklogSize);
        RefreshGoodReplicas();
    }

    // ------------------------------------------------------------------ ROLE, INFO

    internal void Role(ref CommandContext c)
    {
        if (_master is null)
        {
            c.Reply.ArrayHeader(3);
            c.Reply.Bulk("master"u8);
            c.Reply.Integer(MasterReplOffset);
            int online = 0;
            foreach (var r in _replicas) if (r.State == ReplicaState.Online) online++;
            c.Reply.ArrayHeader(online);
            foreach (var r in _replicas)
            {
                if (r.State != ReplicaState.Online) continue;
                c.Reply.ArrayHeader(3);
                c.Reply.Bulk(r.Ip);
                c.Reply.Bulk(r.ListeningPort.ToString(CultureInfo.InvariantCulture));
                c.Reply.Bulk(r.AckOffset.ToString(CultureInfo.InvariantCulture));
            }
            return;
        }
        var m = _master;
        c.Reply.ArrayHeader(5);
        c.Reply.Bulk("slave"u8);
        c.Reply.Bulk(m.Host);
        c.Reply.Integer(m.Port);
        c.Reply.Bulk(m.State switch
        {
            MasterLinkState.Connect => "connect",
            MasterLinkState.Connecting => "connecting",
            MasterLinkState.Handshake => "handshake",
            MasterLinkState.Transfer => "sync",
            MasterLinkState.Connected => "connected",
            _ => "unknown",
        });
        c.Reply.Integer(m.State == MasterLinkState.Connected ? m.ReplOffset : -1);
    }

    /// <summary>INFO replication, field for field as redis-server 7.0.15 writes it.</summary>
    internal void WriteInfo(StringBuilder sb)
    {
        void Line(string name, object value) => sb.Append(name).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");
        long now = _server.NowMs;
        sb.Append("# Replication\r\n");
        Line("role", _master is null ? "master" : "slave");
        if (_master is { } m)
        {
            Line("master_host", m.Host);
            Line("master_port", m.Port);
            Line("master_link_status", m.State == MasterLinkState.Connected ? "up" : "down");
            Line("master_last_io_seconds_ago", m.State == MasterLinkState.Connected ? (now - m.LastIoMs) / 1000 : -1);
            Line("master_sync_in_progress", m.State == MasterLinkState.Transfer ? 1 : 0);
            Line("slave_read_repl_offset", m.HasOffset ? m.ReadReplOffset : 1);
            Line("slave_repl_offset", m.HasOffset ? m.ReplOffset : 1);
            if (m.State == MasterLinkState.Transfer)
            {
                long total = m.TransferSize, read = m.TransferRead;
                Line("master_sync_total_bytes", total);
                Line("master_sync_read_bytes", read);
                Line("master_sync_left_bytes", total - read);
                Line("master_sync_perc", (total > 0 ? (double)read / total * 100 : 0).ToString("F2", CultureInfo.InvariantCulture));
                Line("master_sync_last_io_seconds_ago", (now - m.LastIoMs) / 1000);
            }
            // whole seconds on both sides, as redis's unixtime - repl_down_since
            if (m.State != MasterLinkState.Connected) Line("master_link_down_since_seconds", m.DownSinceMs > 0 ? now / 1000 - m.DownSinceMs / 1000 : -1);
            Line("slave_priority", _server.Config.ReplicaPriority);
            Line("slave_read_only", _server.Config.ReplicaReadOnly ? 1 : 0);
            Line("replica_announced", _server.Config.ReplicaAnnounced ? 1 : 0);
        }
        Line("connected_slaves", _replicas.Count);
        if (_server.Config.MinReplicasToWrite > 0 && _server.Config.MinReplicasMaxLag > 0) Line("min_slaves_good_slaves", GoodReplicas);
        int id = 0;
        foreach (var r in _replicas)
        {
            long lag = r.State == ReplicaState.Online ? now / 1000 - r.AckTimeMs / 1000 : 0;
            sb.Append(CultureInfo.InvariantCulture, $"slave{id++}:ip={r.Ip},port={r.ListeningPort},state={r.StateName},offset={r.AckOffset},lag={lag}\r\n");
        }
        Line("master_failover_state", FailoverStateName);
        Line("master_replid", Replid);
        Line("master_replid2", Replid2);
        Line("master_repl_offset", MasterReplOffset);
        Line("second_repl_offset", SecondReplOffset);
        Line("repl_backlog_active", _backlog is null ? 0 : 1);
        Line("repl_backlog_size", _server.Config.ReplBacklogSize);
        Line("repl_backlog_first_byte_offset", _backlog?.FirstOffset ?? 0);
        Line("repl_backlog_histlen", _backlog?.HistLen ?? 0);
    }

    /// <summary>rdbPopulateSaveInfo: what a BGSAVE records about the stream (a replica loading it starts in that
    /// database), or null without replication.</summary>
    internal Store.RdbReplicationInfo? SaveInfo()
    {
        if (_master is { State: MasterLinkState.Connected } m) return new(m.StreamDb, Replid, MasterReplOffset);
        if (_master is null && _backlog is not null) return new(_selectedDb < 0 ? 0 : _selectedDb, Replid, MasterReplOffset);
        return null;
    }

    /// <summary>Start-up: replicaof in the configuration.</summary>
    internal void StartFromConfig()
    {
        var words = _server.Config.ReplicaOf.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 2) SetMaster(words[0], int.Parse(words[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Shutdown: the master link stops.</summary>
    internal void Stop()
    {
        _master?.Stop();
        if (_diskless is { Snapshot.Complete: false } job) job.Snapshot.Abandon();
    }

    private sealed record WaitState(long Offset, long NumReplicas);
}
