using System.Globalization;

namespace Demikernel.Server;

/// <summary>The Redis Cluster parameters (see Cluster/README.md), in the one parameter table.</summary>
public sealed partial class ServerConfig
{
    /// <summary>Shown with redis's defaults; another value is refused (not implemented): TLS on the bus, a send
    /// buffer limit on bus links, sharded pub/sub rules when down, endpoints other than the IP.</summary>
    internal static string[] ClusterNotApplied =>
    [
        "cluster-announce-tls-port", "cluster-allow-pubsubshard-when-down", "cluster-link-sendbuf-limit", "cluster-preferred-endpoint-type",
    ];

    /// <summary>Set at start only (redis's IMMUTABLE_CONFIG).</summary>
    internal static bool IsClusterImmutable(string key) => key is "cluster-config-file" or "cluster-port";

    private void AddClusterDefaults()
    {
        _values["cluster-config-file"] = "nodes.conf";
        _values["cluster-port"] = "0";
        _values["cluster-node-timeout"] = "15000";
        _values["cluster-announce-ip"] = "";
        _values["cluster-announce-port"] = "0";
        _values["cluster-announce-bus-port"] = "0";
        _values["cluster-announce-tls-port"] = "0";
        _values["cluster-announce-hostname"] = "";
        _values["cluster-require-full-coverage"] = "yes";
        _values["cluster-allow-reads-when-down"] = "no";
        _values["cluster-allow-pubsubshard-when-down"] = "yes";
        _values["cluster-replica-validity-factor"] = "10";
        _values["cluster-migration-barrier"] = "1";
        _values["cluster-allow-replica-migration"] = "yes";
        _values["cluster-replica-no-failover"] = "no";
        _values["cluster-link-sendbuf-limit"] = "0";
        _values["cluster-preferred-endpoint-type"] = "ip";
    }

    /// <summary>cluster-enabled: Redis Cluster mode (the bus, slots, redirections).</summary>
    public bool ClusterEnabled { get; private set; }
    public string ClusterConfigFile { get; private set; } = "nodes.conf";

    /// <summary>cluster-port: the bus port; 0 means the client port + 10000.</summary>
    public int ClusterPort { get; private set; }
    public long ClusterNodeTimeout { get; private set; } = 15000;
    public string? ClusterAnnounceIp { get; private set; }
    public int ClusterAnnouncePort { get; private set; }
    public int ClusterAnnounceBusPort { get; private set; }
    public string? ClusterAnnounceHostname { get; private set; }
    public bool ClusterRequireFullCoverage { get; private set; } = true;
    public bool ClusterAllowReadsWhenDown { get; private set; }
    public int ClusterReplicaValidityFactor { get; private set; } = 10;
    public int ClusterMigrationBarrier { get; private set; } = 1;
    public bool ClusterAllowReplicaMigration { get; private set; } = true;
    public bool ClusterReplicaNoFailover { get; private set; }

    private string? ValidateCluster(string key, string v)
    {
        switch (key)
        {
            case "cluster-port" or "cluster-announce-port" or "cluster-announce-bus-port" or "cluster-announce-tls-port":
                return Range(v, 0, 65535);
            case "cluster-node-timeout":
                return Range(v, 0, long.MaxValue);
            case "cluster-replica-validity-factor" or "cluster-migration-barrier":
                return Range(v, 0, int.MaxValue);
            case "cluster-require-full-coverage" or "cluster-allow-reads-when-down" or "cluster-allow-replica-migration"
                or "cluster-replica-no-failover" or "cluster-allow-pubsubshard-when-down":
                return YesNo(key, v);
            case "cluster-announce-hostname":
                // redis's isValidAuxString / updateClusterHostname
                if (v.Length >= 256) return "Hostnames must be less than 256 characters";
                foreach (char ch in v)
                    if (!char.IsAsciiLetterOrDigit(ch) && ch != '-' && ch != '.')
                        return "Hostnames may only contain alphanumeric characters, hyphens or dots";
                return null;
            case "cluster-link-sendbuf-limit":
                if (ParseMemory(v) is not { } bytes || bytes < 0) return "argument must be a memory value";
                _values[key] = bytes.ToString(CultureInfo.InvariantCulture);
                return null;
            case "cluster-preferred-endpoint-type":
                if (v is not ("ip" or "hostname" or "unknown-endpoint")) return "argument(s) must be one of the following: ip, hostname, unknown-endpoint";
                return null;
            default:
                return null;
        }
    }

    private void ApplyCluster()
    {
        ClusterEnabled = _values["cluster-enabled"] == "yes";
        ClusterConfigFile = _values["cluster-config-file"];
        ClusterPort = int.Parse(_values["cluster-port"], CultureInfo.InvariantCulture);
        ClusterNodeTimeout = long.Parse(_values["cluster-node-timeout"], CultureInfo.InvariantCulture);
        ClusterAnnounceIp = _values["cluster-announce-ip"] is { Length: > 0 } ip ? ip : null;
        ClusterAnnouncePort = int.Parse(_values["cluster-announce-port"], CultureInfo.InvariantCulture);
        ClusterAnnounceBusPort = int.Parse(_values["cluster-announce-bus-port"], CultureInfo.InvariantCulture);
        ClusterAnnounceHostname = _values["cluster-announce-hostname"] is { Length: > 0 } h ? h : null;
        ClusterRequireFullCoverage = _values["cluster-require-full-coverage"] == "yes";
        ClusterAllowReadsWhenDown = _values["cluster-allow-reads-when-down"] == "yes";
        ClusterReplicaValidityFactor = int.Parse(_values["cluster-replica-validity-factor"], CultureInfo.InvariantCulture);
        ClusterMigrationBarrier = int.Parse(_values["cluster-migration-barrier"], CultureInfo.InvariantCulture);
        ClusterAllowReplicaMigration = _values["cluster-allow-replica-migration"] == "yes";
        ClusterReplicaNoFailover = _values["cluster-replica-no-failover"] == "yes";
    }
}
