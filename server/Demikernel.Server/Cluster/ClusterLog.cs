using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Cluster;

/// <summary>The cluster's log lines (event ids 900-999), worded as redis-server 7.0's cluster.c words them.</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "No cluster configuration found, I'm {name}")]
    public static partial void NoClusterConfig(this ILogger log, string name);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "Node configuration loaded, I'm {name}")]
    public static partial void ConfigLoaded(this ILogger log, string name);

    [LoggerMessage(EventId = 902, Level = LogLevel.Warning, Message = "{error}")]
    public static partial void ConfigError(this ILogger log, string error);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "IP address for this node updated to {ip}")]
    public static partial void IpUpdated(this ILogger log, string ip);

    [LoggerMessage(EventId = 904, Level = LogLevel.Warning, Message = "Cluster state changed: {state}")]
    public static partial void StateChanged(this ILogger log, string state);

    [LoggerMessage(EventId = 905, Level = LogLevel.Information, Message = "Marking node {name} as failing (quorum reached).")]
    public static partial void MarkingFailing(this ILogger log, string name);

    [LoggerMessage(EventId = 906, Level = LogLevel.Information, Message = "FAIL message received from {sender} about {about}")]
    public static partial void FailReceived(this ILogger log, string sender, string about);

    [LoggerMessage(EventId = 907, Level = LogLevel.Information, Message = "Clear FAIL state for node {name}: {why}")]
    public static partial void ClearFail(this ILogger log, string name, string why);

    [LoggerMessage(EventId = 908, Level = LogLevel.Debug, Message = "configEpoch collision with node {name}. configEpoch set to {epoch}")]
    public static partial void EpochCollision(this ILogger log, string name, ulong epoch);

    [LoggerMessage(EventId = 909, Level = LogLevel.Warning, Message = "Configuration change detected. Reconfiguring myself as a replica of {name}")]
    public static partial void BecomingReplica(this ILogger log, string name);

    [LoggerMessage(EventId = 910, Level = LogLevel.Warning, Message = "Unable to listen on the cluster bus port {port}: {error}")]
    public static partial void CannotListen(this ILogger log, int port, string error);

    [LoggerMessage(EventId = 911, Level = LogLevel.Warning, Message = "configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH")]
    public static partial void EpochSet(this ILogger log, ulong epoch);

    [LoggerMessage(EventId = 912, Level = LogLevel.Warning, Message = "Failover election won: I'm the new master. configEpoch set to {epoch} after successful failover")]
    public static partial void FailoverWon(this ILogger log, ulong epoch);

    [LoggerMessage(EventId = 913, Level = LogLevel.Warning, Message = "Start of election delayed for {delay} milliseconds (rank #{rank}, offset {offset}).")]
    public static partial void ElectionDelayed(this ILogger log, long delay, int rank, long offset);

    [LoggerMessage(EventId = 914, Level = LogLevel.Warning, Message = "Failover auth granted to {name} for epoch {epoch}")]
    public static partial void VoteGranted(this ILogger log, string name, ulong epoch);

    [LoggerMessage(EventId = 915, Level = LogLevel.Warning, Message = "Starting a failover election for epoch {epoch}.")]
    public static partial void ElectionStarted(this ILogger log, ulong epoch);

    [LoggerMessage(EventId = 916, Level = LogLevel.Warning, Message = "Could not save the cluster configuration: {error}")]
    public static partial void SaveFailed(this ILogger log, string error);
}
