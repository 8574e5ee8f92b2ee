using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Replication;

/// <summary>Replication's log lines (event ids 400-499), worded as redis-server 7.0's replication.c words them.</summary>
internal static partial class ReplicationLog
{
    // ---- master side
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Replica {peer} asks for synchronization")]
    public static partial void ReplicaAsksForSync(this ILogger log, string peer);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{replid}' and '{replid2}') ({peer})")]
    public static partial void PartialResyncNotAcceptedReplid(this ILogger log, string peer, string asked, string replid, string replid2);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Partial resynchronization not accepted: Requested offset for second ID was {asked}, but I can reply up to {second} ({peer})")]
    public static partial void PartialResyncNotAcceptedOffset(this ILogger log, string peer, long second, long asked);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Full resync requested by replica {peer}")]
    public static partial void FullResyncRequested(this ILogger log, string peer);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Unable to partial resync with replica {peer} for lack of backlog (Replica request was: {offset}).")]
    public static partial void UnableToPartialResync(this ILogger log, string peer, long offset);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "Replica {peer} tried to PSYNC with an offset that is greater than the master replication offset.")]
    public static partial void WarningOffsetInTheFuture(this ILogger log, string peer);

    [LoggerMessage(EventId = 406, Level = LogLevel.Information, Message = "Partial resynchronization request from {peer} accepted. Sending {bytes} bytes of backlog starting from offset {offset}.")]
    public static partial void PartialResyncAccepted(this ILogger log, string peer, long bytes, long offset);

    [LoggerMessage(EventId = 407, Level = LogLevel.Information, Message = "Replication backlog created, my new replication IDs are '{replid}' and '{replid2}'")]
    public static partial void BacklogCreated(this ILogger log, string replid, string replid2);

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "Waiting for end of BGSAVE for SYNC")]
    public static partial void WaitingForEndOfBgsave(this ILogger log);

    [LoggerMessage(EventId = 409, Level = LogLevel.Information, Message = "Starting BGSAVE for SYNC with target: disk")]
    public static partial void StartingBgsaveForSync(this ILogger log);

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "SYNC failed. BGSAVE child returned an error")]
    public static partial void SyncBgsaveFailed(this ILogger log);

    [LoggerMessage(EventId = 411, Level = LogLevel.Warning, Message = "SYNC failed. Can't open/stat DB after BGSAVE: {reason}")]
    public static partial void SyncFileOpenFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 412, Level = LogLevel.Information, Message = "Synchronization with replica {peer} succeeded")]
    public static partial void SyncSucceeded(this ILogger log, string peer);

    [LoggerMessage(EventId = 413, Level = LogLevel.Information, Message = "Connection with replica {peer} lost.")]
    public static partial void ConnectionWithReplicaLost(this ILogger log, string peer);

    [LoggerMessage(EventId = 414, Level = LogLevel.Information, Message = "MASTER MODE enabled (user request from '{client}')")]
    public static partial void MasterModeEnabled(this ILogger log, string client);

    [LoggerMessage(EventId = 415, Level = LogLevel.Information, Message = "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")]
    public static partial void AlreadyConnected(this ILogger log);

    [LoggerMessage(EventId = 416, Level = LogLevel.Information, Message = "REPLICAOF {host}:{port} enabled (user request from '{client}')")]
    public static partial void ReplicaOfEnabled(this ILogger log, string host, int port, string client);

    [LoggerMessage(EventId = 417, Level = LogLevel.Information, Message = "Setting secondary replication ID to {replid2}, valid up to offset: {offset}. New replication ID is {replid}")]
    public static partial void NewReplicationIds(this ILogger log, string replid, string replid2, long offset);

    [LoggerMessage(EventId = 418, Level = LogLevel.Information, Message = "Master replication ID changed to {replid}; the old one, {replid2}, is valid up to offset {offset}")]
    public static partial void MasterReplidChanged(this ILogger log, string replid, string replid2, long offset);

    [LoggerMessage(EventId = 419, Level = LogLevel.Warning, Message = "Disconnecting timedout replica (streaming sync): {peer}")]
    public static partial void ReplicaTimedOut(this ILogger log, string peer);

    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "Replication backlog freed after {seconds} seconds without connected replicas.")]
    public static partial void BacklogFreed(this ILogger log, long seconds);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "Closing replica {peer}: {why}")]
    public static partial void ClosingReplica(this ILogger log, string peer, string why);

    [LoggerMessage(EventId = 422, Level = LogLevel.Information, Message = "Starting BGSAVE for SYNC with target: replicas sockets")]
    public static partial void StartingDisklessSync(this ILogger log);

    [LoggerMessage(EventId = 423, Level = LogLevel.Information, Message = "Diskless rdb transfer done")]
    public static partial void DisklessSyncDone(this ILogger log);

    // ---- replica side
    [LoggerMessage(EventId = 440, Level = LogLevel.Information, Message = "Connecting to MASTER {host}:{port}")]
    public static partial void ConnectingToMaster(this ILogger log, string host, int port);

    [LoggerMessage(EventId = 441, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync started")]
    public static partial void SyncStarted(this ILogger log);

    [LoggerMessage(EventId = 442, Level = LogLevel.Information, Message = "Master replied to PING, replication can continue...")]
    public static partial void MasterRepliedToPing(this ILogger log);

    [LoggerMessage(EventId = 443, Level = LogLevel.Information, Message = "(Non critical) Master does not understand REPLCONF {option}: {reply}")]
    public static partial void MasterRefusedReplconf(this ILogger log, string option, string reply);

    [LoggerMessage(EventId = 444, Level = LogLevel.Information, Message = "Trying a partial resynchronization (request {replid}:{offset}).")]
    public static partial void TryingPartialResync(this ILogger log, string replid, string offset);

    [LoggerMessage(EventId = 445, Level = LogLevel.Information, Message = "Partial resynchronization not possible (no cached master)")]
    public static partial void FullResyncNeeded(this ILogger log);

    [LoggerMessage(EventId = 446, Level = LogLevel.Information, Message = "Full resync from master: {replid}:{offset}")]
    public static partial void FullResyncFromMaster(this ILogger log, string replid, long offset);

    [LoggerMessage(EventId = 447, Level = LogLevel.Information, Message = "Successful partial resynchronization with master.")]
    public static partial void SuccessfulPartialResync(this ILogger log);

    [LoggerMessage(EventId = 448, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")]
    public static partial void MasterReplicaSyncSucceededPartial(this ILogger log);

    [LoggerMessage(EventId = 449, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")]
    public static partial void ReceivingStreamedRdb(this ILogger log);

    [LoggerMessage(EventId = 450, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync: receiving {size} bytes from master to disk")]
    public static partial void ReceivingRdb(this ILogger log, long size);

    [LoggerMessage(EventId = 451, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync: Flushing old data")]
    public static partial void FlushingOldData(this ILogger log);

    [LoggerMessage(EventId = 452, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync: Loading DB in memory")]
    public static partial void LoadingDbInMemory(this ILogger log);

    [LoggerMessage(EventId = 453, Level = LogLevel.Information, Message = "MASTER <-> REPLICA sync: Finished with success")]
    public static partial void MasterReplicaSyncSucceeded(this ILogger log);

    [LoggerMessage(EventId = 454, Level = LogLevel.Information, Message = "Connection with master lost.")]
    public static partial void ConnectionWithMasterLost(this ILogger log);

    [LoggerMessage(EventId = 455, Level = LogLevel.Warning, Message = "MASTER timeout: no data nor PING received...")]
    public static partial void MasterTimedOut(this ILogger log);

    [LoggerMessage(EventId = 456, Level = LogLevel.Warning, Message = "{reason}")]
    public static partial void MasterLinkFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 460, Level = LogLevel.Information, Message = "FAILOVER requested to {host}:{port}.")]
    public static partial void FailoverRequested(this ILogger log, string host, long port);

    [LoggerMessage(EventId = 466, Level = LogLevel.Information, Message = "FAILOVER requested to any replica.")]
    public static partial void FailoverRequestedToAny(this ILogger log);

    [LoggerMessage(EventId = 461, Level = LogLevel.Information, Message = "FAILOVER to {host}:{port} time out exceeded, failing over.")]
    public static partial void FailoverForced(this ILogger log, string? host, int port);

    [LoggerMessage(EventId = 462, Level = LogLevel.Information, Message = "Failover target {host}:{port} is synced, failing over.")]
    public static partial void FailoverTargetSynced(this ILogger log, string? host, int port);

    [LoggerMessage(EventId = 463, Level = LogLevel.Information, Message = "FAILOVER to {host}:{port} aborted: {why}")]
    public static partial void FailoverAborted(this ILogger log, string host, int port, string why);

    [LoggerMessage(EventId = 467, Level = LogLevel.Information, Message = "FAILOVER to any replica aborted: {why}")]
    public static partial void FailoverToAnyAborted(this ILogger log, string why);

    [LoggerMessage(EventId = 464, Level = LogLevel.Warning, Message = "Failover request received for replid {replid}.")]
    public static partial void FailoverRequestReceived(this ILogger log, string replid);

    [LoggerMessage(EventId = 465, Level = LogLevel.Information, Message = "MASTER MODE enabled (failover request from '{client}')")]
    public static partial void MasterModeOnFailover(this ILogger log, string client);

    [LoggerMessage(EventId = 457, Level = LogLevel.Information, Message = "Connection with master dropped: {why}")]
    public static partial void MasterLinkDropped(this ILogger log, string why);
}
