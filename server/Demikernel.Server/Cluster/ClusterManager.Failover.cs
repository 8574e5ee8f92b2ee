namespace Demikernel.Server.Cluster;

// Replica failover (cluster.c clusterHandleSlaveFailover and friends): a replica of a FAILed master waits
// 500-1000 ms plus a second per replica with a greater replication offset (its rank), then asks the masters for
// their vote in a new epoch (FAILOVER_AUTH_REQUEST); a majority of masters with slots (FAILOVER_AUTH_ACK) makes it
// the master of its old master's slots. CLUSTER FAILOVER: the default waits for the master to pause writes and
// send its final offset (MFSTART), FORCE skips that, TAKEOVER skips the vote.
internal sealed partial class ClusterManager
{
    private const int ManualFailoverTimeoutMs = 5000;  // CLUSTER_MF_TIMEOUT
    private const int ManualFailoverPauseMult = 2;     // CLUSTER_MF_PAUSE_MULT

    private long _mfEnd;
    private ClusterNode? _mfReplica;
    private long _mfMasterOffset = -1;
    private bool _mfCanStart;
    private long _failoverAuthTime;
    private int _failoverAuthCount;
    private bool _failoverAuthSent;
    private int _failoverAuthRank;
    private ulong _failoverAuthEpoch;
    private bool _todoHandleFailover;

    private long MyReplOffset => Myself.IsReplica ? _server.Replication.Master?.ReplOffset ?? 0 : _server.Replication.MasterReplOffset;

    public void ResetManualFailover()
    {
        if (_mfEnd != 0 && _mfReplica is not null) _server.Diagnostics.Pause.Unpause(Diagnostics.PausePurpose.Failover);
        _mfEnd = 0;
        _mfCanStart = false;
        _mfReplica = null;
        _mfMasterOffset = -1;
    }

    private void ManualFailoverCheckTimeout()
    {
        if (_mfEnd != 0 && _mfEnd < Now) ResetManualFailover();
    }

    /// <summary>CLUSTER FAILOVER [FORCE|TAKEOVER] on this replica (the checks are the caller's).</summary>
    public void StartManualFailover(bool force, bool takeover)
    {
        ResetManualFailover();
        _mfEnd = Now + ManualFailoverTimeoutMs;
        if (takeover)
        {
            BumpEpochWithoutConsensus();
            ReplaceMyMaster();
        }
        else if (force) _mfCanStart = true;
        else if (Myself.Master?.Link is { } link) Send(link, Header(ClusterMessageType.MfStart));
        Flush();
    }

    /// <summary>MFSTART from our replica: pause writes, and PING it our offset with the PAUSED flag.</summary>
    private void StartManualFailoverAsMaster(ClusterNode replica)
    {
        ResetManualFailover();
        _mfEnd = Now + ManualFailoverTimeoutMs;
        _mfReplica = replica;
        _server.Diagnostics.Pause.Pause(Now + ManualFailoverTimeoutMs * ManualFailoverPauseMult, Diagnostics.PauseMode.Write, Diagnostics.PausePurpose.Failover);
        if (replica.Link is { } link) SendPing(link, ClusterMessageType.Ping);
    }

    /// <summary>clusterHandleManualFailover: the replica may start once it has applied the paused master's offset.</summary>
    private void HandleManualFailover()
    {
        if (_mfEnd == 0 || _mfCanStart || _mfMasterOffset == -1) return;
        if (_mfMasterOffset == MyReplOffset)
        {
            _mfCanStart = true;
            _todoHandleFailover = true;
        }
    }

    private int ReplicaRank()
    {
        if (Myself.Master is not { } master) return 0;
        long mine = MyReplOffset;
        int rank = 0;
        foreach (var r in master.Replicas)
            if (r != Myself && (r.Flags & ClusterNodeFlags.NoFailover) == 0 && r.ReplOffset > mine) rank++;
        return rank;
    }

    /// <summary>clusterHandleSlaveFailover.</summary>
    private void HandleReplicaFailover()
    {
        long now = Now;
        int quorum = Size / 2 + 1;
        bool manual = _mfEnd != 0 && _mfCanStart;
        long authTimeout = Math.Max(NodeTimeout * 2, 2000);
        long authRetry = authTimeout * 2;
        if (Myself.IsMaster || Myself.Master is not { } master || (!master.Failed && !manual)
            || (_server.Config.ClusterReplicaNoFailover && !manual) || master.SlotCount == 0)
            return;
        // the data's age: how long since the master was last heard (beyond the node timeout)
        var link = _server.Replication.Master;
        long dataAge = link is null ? long.MaxValue / 4
            : link.State == Replication.MasterLinkState.Connected ? now - link.LastIoMs
            : link.DownSinceMs == 0 ? 0 : now - link.DownSinceMs;
        if (dataAge > NodeTimeout) dataAge -= NodeTimeout;
        int factor = _server.Config.ClusterReplicaValidityFactor;
        if (factor != 0 && dataAge > _server.Config.ReplPingReplicaPeriod * 1000L + NodeTimeout * factor && !manual) return;
        long authAge = now - _failoverAuthTime;
        if (authAge > authRetry)
        {
            _failoverAuthTime = now + 500 + Random.Shared.Next(500);
            _failoverAuthCount = 0;
            _failoverAuthSent = false;
            _failoverAuthRank = ReplicaRank();
            _failoverAuthTime += _failoverAuthRank * 1000L;
            if (_mfEnd != 0)
            {
                _failoverAuthTime = now;
                _failoverAuthRank = 0;
                _todoHandleFailover = true;
            }
            _server.Log.ElectionDelayed(_failoverAuthTime - now, _failoverAuthRank, MyReplOffset);
            BroadcastPong(localReplicasOnly: true);
            return;
        }
        if (!_failoverAuthSent && _mfEnd == 0)
        {
            int rank = ReplicaRank();
            if (rank > _failoverAuthRank)
            {
                _failoverAuthTime += (rank - _failoverAuthRank) * 1000L;
                _failoverAuthRank = rank;
            }
        }
        if (now < _failoverAuthTime || authAge > authTimeout) return;
        if (!_failoverAuthSent)
        {
            CurrentEpoch++;
            _failoverAuthEpoch = CurrentEpoch;
            _server.Log.ElectionStarted(CurrentEpoch);
            var request = Header(ClusterMessageType.FailoverAuthRequest);
            if (_mfEnd != 0) request = request with { MessageFlags = (byte)(request.MessageFlags | 2) }; // FORCEACK
            Broadcast(request);
            _failoverAuthSent = true;
            _todoSave = _todoUpdateState = true;
            return;
        }
        if (_failoverAuthCount >= quorum)
        {
            if (Myself.ConfigEpoch < _failoverAuthEpoch) Myself.ConfigEpoch = _failoverAuthEpoch;
            _server.Log.FailoverWon(Myself.ConfigEpoch);
            ReplaceMyMaster();
        }
    }

    /// <summary>clusterFailoverReplaceYourMaster: master of the old master's slots, replication off, everyone told.</summary>
    private void ReplaceMyMaster()
    {
        if (Myself.IsMaster || Myself.Master is not { } old) return;
        SetNodeAsMaster(Myself);
        _server.Replication.PromoteForCluster();
        for (int j = 0; j < HashSlot.Count; j++)
            if (old.HasSlot(j))
            {
                DeleteSlot(j);
                AddSlot(Myself, j);
            }
        UpdateState();
        SaveConfig(fsync: true);
        BroadcastPong();
        ResetManualFailover();
    }

    /// <summary>clusterSendFailoverAuthIfNeeded: one vote per epoch, for a replica of a FAILed master (or a manual
    /// failover's FORCEACK), not twice for the same master within two node timeouts, and only when its claimed
    /// slots are not served with a greater epoch.</summary>
    private void SendFailoverAuthIfNeeded(ClusterNode node, ClusterMessage request)
    {
        if (Myself.IsReplica || Myself.SlotCount == 0) return;
        if (request.CurrentEpoch < CurrentEpoch || LastVoteEpoch == CurrentEpoch) return;
        bool forceAck = (request.MessageFlags & 2) != 0;
        if (node.IsMaster || node.Master is not { } master || (!master.Failed && !forceAck)) return;
        if (Now - master.VotedTime < NodeTimeout * 2) return;
        for (int j = 0; j < HashSlot.Count; j++)
        {
            if (!request.HasSlot(j) || Slots[j] is null) continue;
            if (Slots[j]!.ConfigEpoch > request.ConfigEpoch) return;
        }
        LastVoteEpoch = CurrentEpoch;
        master.VotedTime = Now;
        _todoSave = true;
        Send(node.Link, Header(ClusterMessageType.FailoverAuthAck));
        _server.Log.VoteGranted(node.Name, CurrentEpoch);
    }

    /// <summary>clusterHandleSlaveMigration: a replica of the master with the most replicas moves to an orphaned
    /// master (one that lost its last replica), keeping cluster-migration-barrier replicas behind.</summary>
    private void HandleReplicaMigration(int maxReplicas)
    {
        if (State != StateOk || Myself.Master is not { } master) return;
        int okReplicas = master.Replicas.Count(r => !r.Failed && !r.TimedOut);
        if (okReplicas <= _server.Config.ClusterMigrationBarrier) return;
        // the candidate is the replica with the smallest name among those of the masters with the most replicas
        ClusterNode candidate = Myself;
        ClusterNode? target = null;
        foreach (var node in _nodes.Values)
        {
            int ok = 0;
            bool isOrphaned = true;
            if (node.IsReplica || node.Failed) isOrphaned = false;
            if ((node.Flags & ClusterNodeFlags.MigrateTo) == 0) isOrphaned = false;
            if (node.IsMaster) ok = node.Replicas.Count(r => !r.Failed && !r.TimedOut);
            if (ok > 0) isOrphaned = false;
            if (isOrphaned && target is null && node.SlotCount > 0) target = node;
            if (ok == maxReplicas)
                foreach (var r in node.Replicas)
                    if (string.CompareOrdinal(r.Name, candidate.Name) < 0) candidate = r;
        }
        if (target is not null && candidate == Myself && Now - target.FailTime > 5000) // CLUSTER_SLAVE_MIGRATION_DELAY
        {
            _server.Log.BecomingReplica(target.Name);
            SetMyMaster(target);
        }
    }
}
