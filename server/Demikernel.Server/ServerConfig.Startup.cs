using System.Globalization;

namespace Demikernel.Server;

/// <summary>What became of one redis.conf or command-line directive at start-up.</summary>
public enum DirectiveResult
{
    Applied,
    /// <summary>Redis accepts it and ignores it (its deprecated directives), so do we.</summary>
    Ignored,
    /// <summary>A bad value or a directive redis-server does not know: the start stops (redis's message).</summary>
    Error,
    /// <summary>redis-server 7.0 has it, this server does not implement it (or only its default value).</summary>
    Unsupported,
}

// Start-up: directives from redis.conf, the YAML's server section and the command line.
public sealed partial class ServerConfig
{
    /// <summary>redis-server 7.0.15's configuration parameters (config.c's table, aliases included).</summary>
    internal static readonly HashSet<string> RedisParameters = new(
        """
        acl-pubsub-default aclfile acllog-max-len active-defrag-cycle-max active-defrag-cycle-min
        active-defrag-ignore-bytes active-defrag-max-scan-fields active-defrag-threshold-lower
        active-defrag-threshold-upper active-expire-effort activedefrag activerehashing always-show-logo
        aof-disable-auto-gc aof-load-truncated aof-rewrite-incremental-fsync aof-timestamp-enabled
        aof-use-rdb-preamble aof_rewrite_cpulist appenddirname appendfilename appendfsync appendonly
        auto-aof-rewrite-min-size auto-aof-rewrite-percentage bgsave_cpulist bind bind-source-addr bio_cpulist
        busy-reply-threshold client-output-buffer-limit client-query-buffer-limit cluster-allow-pubsubshard-when-down
        cluster-allow-reads-when-down cluster-allow-replica-migration cluster-announce-bus-port
        cluster-announce-hostname cluster-announce-ip cluster-announce-port cluster-announce-tls-port
        cluster-config-file cluster-enabled cluster-link-sendbuf-limit cluster-migration-barrier cluster-node-timeout
        cluster-port cluster-preferred-endpoint-type cluster-replica-no-failover cluster-replica-validity-factor
        cluster-require-full-coverage cluster-slave-no-failover cluster-slave-validity-factor crash-log-enabled
        crash-memcheck-enabled daemonize databases dbfilename dir disable-thp dynamic-hz enable-debug-command
        enable-module-command enable-protected-configs hash-max-listpack-entries hash-max-listpack-value
        hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz ignore-warnings io-threads
        io-threads-do-reads jemalloc-bg-thread key-load-delay latency-monitor-threshold latency-tracking
        latency-tracking-info-percentiles lazyfree-lazy-eviction lazyfree-lazy-expire lazyfree-lazy-server-del
        lazyfree-lazy-user-del lazyfree-lazy-user-flush lfu-decay-time lfu-log-factor list-compress-depth
        list-max-listpack-size list-max-ziplist-size loading-process-events-interval-bytes logfile loglevel
        lua-time-limit masterauth masteruser maxclients maxmemory maxmemory-clients maxmemory-eviction-tenacity
        maxmemory-policy maxmemory-samples min-replicas-max-lag min-replicas-to-write min-slaves-max-lag
        min-slaves-to-write no-appendfsync-on-rewrite notify-keyspace-events oom-score-adj oom-score-adj-values
        pidfile port proc-title-template propagation-error-behavior protected-mode proto-max-bulk-len
        rdb-del-sync-files rdb-key-save-delay rdb-save-incremental-fsync rdbchecksum rdbcompression repl-backlog-size
        repl-backlog-ttl repl-disable-tcp-nodelay repl-diskless-load repl-diskless-sync repl-diskless-sync-delay
        repl-diskless-sync-max-replicas repl-ping-replica-period repl-ping-slave-period repl-timeout
        replica-announce-ip replica-announce-port replica-announced replica-ignore-disk-write-errors
        replica-ignore-maxmemory replica-lazy-flush replica-priority replica-read-only replica-serve-stale-data
        replicaof requirepass sanitize-dump-payload save server_cpulist set-max-intset-entries set-proc-title
        shutdown-on-sigint shutdown-on-sigterm shutdown-timeout slave-announce-ip slave-announce-port
        slave-ignore-maxmemory slave-lazy-flush slave-priority slave-read-only slave-serve-stale-data slaveof
        slowlog-log-slower-than slowlog-max-len socket-mark-id stop-writes-on-bgsave-error stream-node-max-bytes
        stream-node-max-entries supervised syslog-enabled syslog-facility syslog-ident tcp-backlog tcp-keepalive
        timeout tls-auth-clients tls-ca-cert-dir tls-ca-cert-file tls-cert-file tls-ciphers tls-ciphersuites
        tls-client-cert-file tls-client-key-file tls-client-key-file-pass tls-cluster tls-dh-params-file tls-key-file
        tls-key-file-pass tls-port tls-prefer-server-ciphers tls-protocols tls-replication tls-session-cache-size
        tls-session-cache-timeout tls-session-caching tracking-table-max-keys unixsocket unixsocketperm
        use-exit-on-panic watchdog-period zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries
        zset-max-ziplist-value
        """.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    /// <summary>Directives redis.conf has besides parameters (handled by redis's loader itself; include is read by
    /// <see cref="RedisConfFile"/>).</summary>
    private static readonly HashSet<string> RedisFileDirectives = new(StringComparer.Ordinal) { "rename-command", "user", "loadmodule", "sentinel" };

    /// <summary>redis 7.0's deprecated directives, accepted and ignored with one argument.</summary>
    private static readonly HashSet<string> DeprecatedIgnored = new(StringComparer.Ordinal) { "list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands" };

    /// <summary>Parameters that take several words (`save 900 1`, `bind a b`); the others take exactly one.</summary>
    private static readonly HashSet<string> MultiArgParameters = new(StringComparer.Ordinal) { "save", "bind", "client-output-buffer-limit", "replicaof", "latency-tracking-info-percentiles" };

    /// <summary>Shown in CONFIG GET with the one value this server implements; another value at start is refused.</summary>
    private static readonly Dictionary<string, string> OnlyValue = new(StringComparer.Ordinal)
    {
        ["daemonize"] = "no", ["io-threads"] = "1",
    };

    /// <summary>A fresh server's values (ServerOptions' defaults, bind as redis-server's): what CONFIG REWRITE leaves out and what a
    /// not-yet-applied parameter may be set to at start.</summary>
    internal static IReadOnlyDictionary<string, string> Defaults => LazyDefaults.Value;

    private static readonly Lazy<Dictionary<string, string>> LazyDefaults =
        new(() => new ServerConfig(new ServerOptions { Bind = ServerOptions.RedisDefaultBind })._values.ToDictionary(StringComparer.Ordinal));

    /// <summary>The save points collected from `save` lines so far: redis's first `save` line at start replaces the
    /// built-in ones, later ones add to it, and `save ""` clears them.</summary>
    private List<string>? _startupSave;

    /// <summary>The next `save` line replaces the save points loaded so far instead of adding to them.</summary>
    public void StartNewSource() => _startupSave = null;

    /// <summary>
    /// Applies one start-up directive (name lower-cased or not, its words after the name) as redis-server 7.0's
    /// config loader does: immutable parameters may be set here; a bad value is an error with redis's text; a
    /// parameter redis has and we do not (or one we show but do not act on, set to other than its default) is
    /// <see cref="DirectiveResult.Unsupported"/>. <paramref name="message"/> says why for the last two.
    /// </summary>
    public DirectiveResult LoadDirective(string name, IReadOnlyList<string> args, out string? message)
    {
        message = null;
        name = name.ToLowerInvariant();
        if (name == "user" && args.Count >= 1)
        {
            // redis's ACLAppendUserForLoading: checked now, loaded when the server starts
            if (Acl.AclRegistry.ValidateUserLine(args) is { } userError)
            {
                message = userError;
                return DirectiveResult.Error;
            }
            if (UserLines.Exists(l => l[0] == args[0]))
            {
                message = $"Error in user declaration '{args[0]}': Duplicate user found. A user can only be defined once in config files";
                return DirectiveResult.Error;
            }
            UserLines.Add([.. args]);
            return DirectiveResult.Applied;
        }
        string key = Canonical(name);
        if (!_values.TryGetValue(key, out string? old))
        {
            if (DeprecatedIgnored.Contains(name) && args.Count == 1) return DirectiveResult.Ignored;
            if (RedisParameters.Contains(name) || RedisFileDirectives.Contains(name) || name.Contains('.'))
            {
                message = name.Contains('.') && !RedisParameters.Contains(name)
                    ? "module configuration: this server has no modules"
                    : $"'{name}' is not implemented by this server";
                return DirectiveResult.Unsupported;
            }
            message = "Bad directive or wrong number of arguments";
            return DirectiveResult.Error;
        }
        string value;
        if (MultiArgParameters.Contains(key))
        {
            // as redis: one non-empty word is split again, so --save "900 1 300 10" works
            IReadOnlyList<string> words = args.Count == 1 && args[0].Length > 0 ? RedisConfFile.SplitArgs(args[0]) ?? [args[0]] : args;
            if (words.Count == 1 && words[0].Length == 0) words = [];
            if (key == "save")
            {
                if (Persistence.RdbImage.ParseSaveParams(string.Join(' ', words)) is null)
                {
                    message = "Invalid save parameters";
                    return DirectiveResult.Error;
                }
                if (_startupSave is null || words.Count == 0) _startupSave = [];
                _startupSave.AddRange(words);
                words = _startupSave;
            }
            value = string.Join(' ', words);
        }
        else if (args.Count != 1)
        {
            message = "wrong number of arguments";
            return DirectiveResult.Error;
        }
        else value = args[0];
        _values[key] = value;
        if (Validate(key) is { } error)
        {
            _values[key] = old;
            message = error;
            return DirectiveResult.Error;
        }
        NormalizeMemory(key);
        if ((NotAppliedYet.Contains(key) || OnlyValue.ContainsKey(key)) && _values[key] != Defaults[key])
        {
            message = $"'{name} {value}' is not implemented by this server (only its default '{Defaults[key]}' is)";
            _values[key] = old;
            return DirectiveResult.Unsupported;
        }
        Apply();
        return DirectiveResult.Applied;
    }

    /// <summary>The start-up settings as loaded (those <see cref="ServerOptions"/> carries), over <paramref name="options"/>.</summary>
    public ServerOptions ToOptions(ServerOptions options) => options with
    {
        Port = int.Parse(_values["port"], CultureInfo.InvariantCulture),
        Bind = _values["bind"],
        ProtectedMode = ProtectedMode,
        Databases = int.Parse(_values["databases"], CultureInfo.InvariantCulture),
        RequirePass = RequirePass,
        MaxClients = MaxClients,
        Timeout = Timeout,
        Hz = Hz,
        ProtoMaxBulkLen = ProtoMaxBulkLen,
        ClientQueryBufferLimit = ParseMemory(_values["client-query-buffer-limit"]) ?? options.ClientQueryBufferLimit,
        TcpKeepAlive = TcpKeepAlive,
        Dir = Dir,
        DbFilename = DbFilename,
        Save = _values["save"],
        AppendOnly = AppendOnly,
        AppendFsync = _values["appendfsync"],
        LogLevel = _values["loglevel"],
        LogFile = _values["logfile"],
    };
}
