using System.Globalization;

namespace Demikernel.Server;

/// <summary>The replication parameters (see Replication/README.md), in the one parameter table.</summary>
public sealed partial class ServerConfig
{
    private static readonly Dictionary<string, string> ReplicationAliases = new(StringComparer.Ordinal)
    {
        ["slaveof"] = "replicaof",
        ["repl-ping-slave-period"] = "repl-ping-replica-period",
        ["min-slaves-to-write"] = "min-replicas-to-write",
        ["min-slaves-max-lag"] = "min-replicas-max-lag",
        ["slave-announce-ip"] = "replica-announce-ip",
        ["slave-announce-port"] = "replica-announce-port",
        ["cluster-slave-validity-factor"] = "cluster-replica-validity-factor",
        ["cluster-slave-no-failover"] = "cluster-replica-no-failover",
        ["slave-lazy-flush"] = "replica-lazy-flush",
    };

    private void AddReplicationDefaults()
    {
        _values["replicaof"] = "";
        _values["replica-lazy-flush"] = "no";
        _values["masterauth"] = "";
        _values["masteruser"] = "";
        _values["repl-backlog-size"] = "1048576";
        _values["repl-backlog-ttl"] = "3600";
        _values["repl-ping-replica-period"] = "10";
        _values["repl-timeout"] = "60";
        _values["min-replicas-max-lag"] = "10";
        _values["repl-diskless-sync"] = "yes";
        _values["repl-diskless-sync-delay"] = "5";
        _values["repl-diskless-sync-max-replicas"] = "0";
        _values["replica-announce-ip"] = "";
        _values["replica-announce-port"] = "0";
        _values["replica-announced"] = "yes";
    }

    /// <summary>replicaof "host port" at start (empty: a master); REPLICAOF changes it at runtime.</summary>
    public string ReplicaOf => _values["replicaof"];

    /// <summary>REPLICAOF / SLAVEOF moved the server: CONFIG GET replicaof and CONFIG REWRITE follow.</summary>
    internal void SetReplicaOf(string? host, int port) =>
        _values["replicaof"] = host is null ? "" : string.Create(CultureInfo.InvariantCulture, $"{host} {port}");

    public string? MasterAuth { get; private set; }
    public string? MasterUser { get; private set; }
    public long ReplBacklogSize { get; private set; }
    public long ReplBacklogTtl { get; private set; }
    public int ReplPingReplicaPeriod { get; private set; }
    public int ReplTimeout { get; private set; }
    public int MinReplicasToWrite { get; private set; }
    public int MinReplicasMaxLag { get; private set; }
    public bool ReplicaReadOnly { get; private set; }
    public bool ReplicaServeStaleData { get; private set; }

    /// <summary>repl-diskless-sync: full synchronisations stream the snapshot to the replicas' sockets.</summary>
    public bool ReplDisklessSync { get; private set; }
    public int ReplDisklessSyncDelay { get; private set; }
    public int ReplDisklessSyncMaxReplicas { get; private set; }

    /// <summary>replica-priority (alias slave-priority): reported as slave_priority in INFO replication, where
    /// Sentinel reads it to pick the replica to promote (lower first, 0 never).</summary>
    public int ReplicaPriority { get; private set; }

    /// <summary>replica-announce-ip / -port (aliases slave-announce-*): what this server, as a replica, tells its
    /// master to show (REPLCONF ip-address / listening-port at the next handshake); empty / 0: the connection's
    /// address and our own port.</summary>
    public string? ReplicaAnnounceIp { get; private set; }
    public int ReplicaAnnouncePort { get; private set; }

    /// <summary>replica-announced: INFO's replica_announced; Sentinel leaves a replica that says 0 out of SENTINEL
    /// REPLICAS.</summary>
    public bool ReplicaAnnounced { get; private set; }

    /// <summary>Validation of the replication parameters (null: not one of them, or fine).</summary>
    private string? ValidateReplication(string key, string v)
    {
        switch (key)
        {
            case "replicaof":
            {
                var words = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0) return null;
                // redis-server: "replicaof no one" in a file means no master
                if (words.Length == 2 && words[0].Equals("no", StringComparison.OrdinalIgnoreCase) && words[1].Equals("one", StringComparison.OrdinalIgnoreCase))
                {
                    _values[key] = "";
                    return null;
                }
                if (words.Length != 2) return "wrong number of arguments";
                if (!int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 0 or > 65535) return "Invalid master port";
                _values[key] = $"{words[0]} {port}";
                return null;
            }
            case "repl-backlog-size":
                if (ParseMemory(v) is not { } bytes) return "argument must be a memory value";
                if (bytes < 1) return $"argument must be between 1 and {long.MaxValue} inclusive";
                _values[key] = bytes.ToString(CultureInfo.InvariantCulture);
                return null;
            case "repl-backlog-ttl" or "min-replicas-to-write" or "min-replicas-max-lag" or "repl-diskless-sync-delay" or "repl-diskless-sync-max-replicas":
                return Range(v, 0, int.MaxValue);
            case "repl-ping-replica-period" or "repl-timeout":
                return Range(v, 1, int.MaxValue);
            case "replica-priority":
                return Range(v, 0, int.MaxValue);
            case "replica-announce-port":
                return Range(v, 0, 65535);
            case "replica-announced":
                return YesNo(key, v);
            default:
                return null;
        }
    }

    private void ApplyReplication()
    {
        MasterAuth = _values["masterauth"] is { Length: > 0 } auth ? auth : null;
        MasterUser = _values["masteruser"] is { Length: > 0 } user ? user : null;
        // resizeReplicationBacklog: never below CONFIG_REPL_BACKLOG_MIN_SIZE (16 KB)
        ReplBacklogSize = Math.Max(16 * 1024, long.Parse(_values["repl-backlog-size"], CultureInfo.InvariantCulture));
        ReplBacklogTtl = long.Parse(_values["repl-backlog-ttl"], CultureInfo.InvariantCulture);
        ReplPingReplicaPeriod = int.Parse(_values["repl-ping-replica-period"], CultureInfo.InvariantCulture);
        ReplTimeout = int.Parse(_values["repl-timeout"], CultureInfo.InvariantCulture);
        MinReplicasToWrite = int.Parse(_values["min-replicas-to-write"], CultureInfo.InvariantCulture);
        MinReplicasMaxLag = int.Parse(_values["min-replicas-max-lag"], CultureInfo.InvariantCulture);
        ReplicaReadOnly = _values["replica-read-only"] == "yes";
        ReplicaServeStaleData = _values["replica-serve-stale-data"] == "yes";
        ReplDisklessSync = _values["repl-diskless-sync"] == "yes";
        ReplDisklessSyncDelay = int.Parse(_values["repl-diskless-sync-delay"], CultureInfo.InvariantCulture);
        ReplDisklessSyncMaxReplicas = int.Parse(_values["repl-diskless-sync-max-replicas"], CultureInfo.InvariantCulture);
        ReplicaPriority = int.Parse(_values["replica-priority"], CultureInfo.InvariantCulture);
        ReplicaAnnounceIp = _values["replica-announce-ip"] is { Length: > 0 } ip ? ip : null;
        ReplicaAnnouncePort = int.Parse(_values["replica-announce-port"], CultureInfo.InvariantCulture);
        ReplicaAnnounced = _values["replica-announced"] == "yes";
    }
}
