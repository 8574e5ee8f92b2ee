using System.Globalization;

using Demikernel.Server.Store;

namespace Demikernel.Server;

/// <summary>
/// The parameters CONFIG GET and CONFIG SET see, by redis.conf name. The ones the server acts on are typed properties;
/// the rest are kept as text with Redis's defaults so that clients and tools that read them (replica-read-only,
/// save, appendonly, ...) get what redis-server would answer.
/// </summary>
public sealed partial class ServerConfig
{
    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["slave-read-only"] = "replica-read-only",
        ["slave-serve-stale-data"] = "replica-serve-stale-data",
        ["slave-priority"] = "replica-priority",
        ["hash-max-ziplist-entries"] = "hash-max-listpack-entries",
        ["hash-max-ziplist-value"] = "hash-max-listpack-value",
        ["zset-max-ziplist-entries"] = "zset-max-listpack-entries",
        ["zset-max-ziplist-value"] = "zset-max-listpack-value",
        ["list-max-ziplist-size"] = "list-max-listpack-size",
        ["lua-time-limit"] = "busy-reply-threshold",
    };

    public ServerConfig(ServerOptions options)
    {
        _values["port"] = options.Port.ToString(CultureInfo.InvariantCulture);
        _values["bind"] = options.Bind;
        _values["databases"] = options.Databases.ToString(CultureInfo.InvariantCulture);
        _values["requirepass"] = options.RequirePass ?? "";
        _values["maxclients"] = options.MaxClients.ToString(CultureInfo.InvariantCulture);
        _values["timeout"] = options.Timeout.ToString(CultureInfo.InvariantCulture);
        _values["hz"] = options.Hz.ToString(CultureInfo.InvariantCulture);
        _values["dynamic-hz"] = "yes";
        _values["proto-max-bulk-len"] = options.ProtoMaxBulkLen.ToString(CultureInfo.InvariantCulture);
        _values["client-query-buffer-limit"] = options.ClientQueryBufferLimit.ToString(CultureInfo.InvariantCulture);
        _values["client-output-buffer-limit"] = FormatOutputLimits(OutputBufferLimit.Defaults);
        _values["save"] = options.Save;
        _values["appendonly"] = options.AppendOnly ? "yes" : "no";
        _values["appendfsync"] = options.AppendFsync;
        _values["appendfilename"] = "appendonly.aof";
        _values["appenddirname"] = "appendonlydir";
        _values["auto-aof-rewrite-percentage"] = "100";
        _values["auto-aof-rewrite-min-size"] = "67108864";
        _values["aof-load-truncated"] = "yes";
        _values["aof-use-rdb-preamble"] = "yes";
        _values["aof-timestamp-enabled"] = "no";
        _values["aof-disable-auto-gc"] = "no";
        _values["no-appendfsync-on-rewrite"] = "no";
        _values["aof-rewrite-incremental-fsync"] = "yes";
        _values["rdb-save-incremental-fsync"] = "yes";
        _values["rdbcompression"] = "yes";
        _values["rdbchecksum"] = "yes";
        _values["stop-writes-on-bgsave-error"] = "yes";
        _values["replica-read-only"] = "yes";
        _values["replica-serve-stale-data"] = "yes";
        _values["replica-priority"] = "100";
        _values["maxmemory"] = "0";
        _values["maxmemory-policy"] = "noeviction";
        _values["maxmemory-samples"] = "5";
        _values["maxmemory-eviction-tenacity"] = "10";
        _values["maxmemory-clients"] = "0";
        _values["lfu-log-factor"] = "10";
        _values["lfu-decay-time"] = "1";
        _values["tcp-keepalive"] = options.TcpKeepAlive.ToString(CultureInfo.InvariantCulture);
        _values["tcp-backlog"] = "511";
        _values["protected-mode"] = options.ProtectedMode ? "yes" : "no";
        _values["unixsocket"] = "";
        _values["unixsocketperm"] = "0";
        _values["daemonize"] = "no";
        _values["loglevel"] = options.LogLevel;
        _values["logfile"] = options.LogFile;
        _values["dir"] = Path.GetFullPath(options.Dir ?? Environment.CurrentDirectory);
        _values["dbfilename"] = options.DbFilename;
        _values["cluster-enabled"] = "no";
        _values["lazyfree-lazy-eviction"] = "no";
        _values["lazyfree-lazy-expire"] = "no";
        _values["lazyfree-lazy-server-del"] = "no";
        _values["lazyfree-lazy-user-del"] = "no";
        _values["lazyfree-lazy-user-flush"] = "no";
        _values["notify-keyspace-events"] = "";
        _values["tracking-table-max-keys"] = "1000000";
        _values["slowlog-log-slower-than"] = "10000";
        _values["slowlog-max-len"] = "128";
        _values["latency-monitor-threshold"] = "0";
        _values["latency-tracking"] = "yes";
        _values["enable-debug-command"] = "no";
        _values["enable-module-command"] = "no";
        _values["latency-tracking-info-percentiles"] = "50 99 99.9";
        _values["hash-max-listpack-entries"] = "512";
        _values["hash-max-listpack-value"] = "64";
        _values["list-max-listpack-size"] = "-2";
        _values["list-compress-depth"] = "0";
        _values["set-max-intset-entries"] = "512";
        _values["zset-max-listpack-entries"] = "128";
        _values["zset-max-listpack-value"] = "64";
        _values["active-expire-effort"] = "1";
        _values["stream-node-max-bytes"] = "4096";
        _values["hll-sparse-max-bytes"] = "3000";
        _values["stream-node-max-entries"] = "100";
        _values["io-threads"] = "1";
        _values["min-replicas-to-write"] = "0";
        _values["busy-reply-threshold"] = "5000";
        _values["loading-process-events-interval-bytes"] = "2097152";
        _values["aclfile"] = "";
        _values["acllog-max-len"] = "128";
        _values["acl-pubsub-default"] = "resetchannels";
        AddReplicationDefaults();
        AddTlsDefaults();
        AddClusterDefaults();
        AddCatmemDefaults();
        Apply();
    }

    public string? RequirePass { get; private set; }

    /// <summary>protected-mode: without a password, only clients from 127.0.0.1 are served (see RedisServer's accept loop).</summary>
    public bool ProtectedMode { get; private set; }

    /// <summary>unixsocket: a path to listen on as well (AF_UNIX, catnap only), or null; unixsocketperm its mode (0 = as created).</summary>
    public string? UnixSocket => _values["unixsocket"] is { Length: > 0 } path ? path : null;
    public int UnixSocketPerm => Convert.ToInt32(_values["unixsocketperm"], 8);
    public int MaxClients { get; private set; }

    /// <summary>A parameter's current text (CONFIG GET's), or null for a name the table does not have.</summary>
    public string? Get(string name) => _values.TryGetValue(Canonical(name), out var v) ? v : null;

    /// <summary>aclfile: where ACL LOAD/SAVE read and write users (empty: none).</summary>
    public string AclFile => _values["aclfile"];

    /// <summary>The `user` lines of redis.conf (name and rules), checked as they were read, loaded when the server
    /// starts (Acl/AclRegistry.LoadAtStartup).</summary>
    public List<IReadOnlyList<string>> UserLines { get; } = [];
    public int Timeout { get; private set; }
    public long ProtoMaxBulkLen { get; private set; }

    /// <summary>client-query-buffer-limit: a client whose unparsed input grows past it is closed (existing ones too).</summary>
    public long ClientQueryBufferLimit { get; private set; }

    /// <summary>tcp-keepalive seconds for connections accepted from now on (0 = off), as redis's anetKeepAlive.</summary>
    public int TcpKeepAlive { get; private set; }

    /// <summary>client-output-buffer-limit per class, indexed by <see cref="ClientClass"/>.</summary>
    public OutputBufferLimit[] OutputLimits { get; private set; } = [.. OutputBufferLimit.Defaults];

    /// <summary>Server cron frequency (1..500).</summary>
    public int Hz { get; private set; }

    /// <summary>active-expire-effort, 1-10: how hard active expiry works per cron tick.</summary>
    public int ActiveExpireEffort { get; private set; } = 1;

    /// <summary>dynamic-hz: the cron runs faster with many clients (see <see cref="RedisServer.EffectiveHz"/>).</summary>
    public bool DynamicHz { get; private set; }

    // persistence (see Persistence/)
    public string Dir { get; private set; } = "";
    public string DbFilename { get; private set; } = "dump.rdb";
    public (long Seconds, long Changes)[] SaveParams { get; private set; } = [];
    public bool RdbCompression { get; private set; }
    public bool RdbChecksum { get; private set; }
    public bool StopWritesOnBgsaveError { get; private set; }
    public bool AppendOnly { get; private set; }
    public string AppendFileName { get; private set; } = "appendonly.aof";
    public string AppendDirName { get; private set; } = "appendonlydir";
    public Persistence.AofFsync AppendFsync { get; private set; }
    public long AutoAofRewritePercentage { get; private set; }
    public long AutoAofRewriteMinSize { get; private set; }
    public bool AofLoadTruncated { get; private set; }
    public bool AofUseRdbPreamble { get; private set; }
    public bool AofTimestampEnabled { get; private set; }
    public bool AofDisableAutoGc { get; private set; }
    public bool NoAppendFsyncOnRewrite { get; private set; }
    public bool AofRewriteIncrementalFsync { get; private set; }
    public bool RdbSaveIncrementalFsync { get; private set; }

    /// <summary>
    /// Called with (name, old value) after a parameter's new value passed validation and before it is kept: the
    /// owner applies it (starting the AOF, ...) and returns an error text to refuse it, which rolls the value back.
    /// </summary>
    public Func<string, string, string?>? ApplyHook { get; set; }
    public bool LazyFreeLazyExpire { get; private set; }

    /// <summary>lazyfree-lazy-eviction: an evicted key is propagated as UNLINK instead of DEL and counted as freed
    /// lazily (Store/LazyFree.cs says what that means here).</summary>
    public bool LazyFreeLazyEviction { get; private set; }

    // memory bound (see Memory/MaxMemory.cs)
    public long MaxMemory { get; private set; }
    public Memory.EvictionPolicy MaxMemoryPolicy { get; private set; }
    public int MaxMemorySamples { get; private set; }
    public int MaxMemoryEvictionTenacity { get; private set; }
    public int LfuLogFactor { get; private set; }
    public int LfuDecayTime { get; private set; }
    public bool LazyFreeLazyUserDel { get; private set; }

    /// <summary>lazyfree-lazy-user-flush: FLUSHALL/FLUSHDB (and SCRIPT/FUNCTION FLUSH) without SYNC/ASYNC are ASYNC.</summary>
    public bool LazyFreeLazyUserFlush { get; private set; }

    /// <summary>replica-lazy-flush: a replica empties its data asynchronously before loading a full sync.</summary>
    public bool ReplicaLazyFlush { get; private set; }

    /// <summary>Lazy freeing's parameters and lazyfreed_objects, shared by the databases (Store/LazyFree.cs).</summary>
    internal Store.LazyFree LazyFree { get; } = new();

    /// <summary>busy-reply-threshold (alias lua-time-limit), ms: past it a running script lets other clients in to
    /// get BUSY replies and to SCRIPT KILL / FUNCTION KILL it; 0 = never.</summary>
    public long BusyReplyThresholdMs { get; private set; }

    /// <summary>loading-process-events-interval-bytes: while loading at start, clients are served every so many bytes.</summary>
    public long LoadingProcessEventsIntervalBytes { get; private set; }

    /// <summary>notify-keyspace-events: the classes of keyspace notifications published (Notifications/).</summary>
    public Notifications.NotifyClass NotifyKeyspaceEvents { get; private set; }

    /// <summary>tracking-table-max-keys: the tracking table's bound (0 = none), enforced by invalidating keys.</summary>
    public long TrackingTableMaxKeys { get; private set; }

    public IEnumerable<KeyValuePair<string, string>> All => _values;

    /// <summary>After CONFIG SET changed a parameter: its canonical name and new value (live settings hook in here).</summary>
    public event Action<string, string>? Changed;

    /// <summary>The collections' encoding limits (hash/zset-max-listpack-*, set-max-intset-entries,
    /// list-max-listpack-size), installed for the server's thread by <see cref="RedisServer"/>.</summary>
    internal Store.EncodingLimits EncodingLimits { get; } = new();

    /// <summary>Parameters CONFIG GET shows with redis-server's defaults that the server does not act on yet.</summary>
    private static readonly HashSet<string> NotAppliedYet = new(
    [
        "maxmemory-clients", "tcp-backlog", .. TlsNotApplied, .. ClusterNotApplied,
        // lists here are rings of elements, not quicklists of listpack nodes: there is no interior node to LZF-compress
        // (server README, "What is missing from Redis 7.0")
        "list-compress-depth",
    ], StringComparer.Ordinal);

    public static string Canonical(string name)
    {
        name = name.ToLowerInvariant();
        return Aliases.TryGetValue(name, out var target) ? target : ReplicationAliases.GetValueOrDefault(name, name);
    }

    /// <summary>redis's HIDDEN_CONFIG parameters: CONFIG GET shows them only when asked for by name.</summary>
    private static readonly HashSet<string> Hidden = new(["loading-process-events-interval-bytes"], StringComparer.Ordinal);

    /// <summary>Parameters matching a glob pattern (CONFIG GET), aliases included under the name asked for.</summary>
    public IEnumerable<KeyValuePair<string, string>> Match(string pattern)
    {
        pattern = pattern.ToLowerInvariant();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in _values)
            if ((Hidden.Contains(name) ? pattern == name : Glob.IsMatch(pattern, name)) && seen.Add(name)) yield return new(name, value);
        foreach (var (alias, target) in Aliases.Concat(ReplicationAliases))
            if (Glob.IsMatch(pattern, alias) && seen.Add(alias)) yield return new(alias, _values[target]);
    }

    /// <summary>Started with port 0 (any free port, for tests): CONFIG GET port shows the port the server got, so a
    /// later CONFIG SET bind listens there (a runtime port 0 means no TCP, as in redis-server).</summary>
    internal void SetBoundPort(int port) => _values["port"] = port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Sets a parameter; returns an error text (Redis's) or null.</summary>
    public string? Set(string name, string value) => SetMany([(name, value)]);

    /// <summary>Why CONFIG SET refuses to change a known parameter at runtime (Redis's text), or null if it may.</summary>
    private static string? RuntimeRefusal(string key)
    {
        if (key is "databases" or "unixsocket" or "replicaof" or "unixsocketperm" or "daemonize" or "io-threads" or "cluster-enabled" or "rdbchecksum" or "enable-debug-command" or "enable-module-command"
            or "appendfilename" or "appenddirname" or "logfile" or "aclfile")
            return "can't set immutable config";
        if (IsClusterImmutable(key) || IsCatmemImmutable(key)) return "can't set immutable config";
        // Kept for CONFIG GET (clients read them) but not acted on yet: refused with redis-server's text for a parameter
        // that cannot change at runtime, rather than accepted and ignored. Each leaves this list when it is applied.
        if (NotAppliedYet.Contains(key)) return "can't set immutable config";
        // redis-server 7.0 refuses these at runtime unless enable-protected-configs is set (it is not, by default)
        if (key is "dir" or "dbfilename") return "can't set protected config";
        return null;
    }

    /// <summary>
    /// CONFIG SET with one or more parameters, all or nothing, as redis-server 7.0's configSetCommand: every name is
    /// looked up and checked first (the first problem in argument order is the answer); then each value is validated
    /// and stored (a bad one restores all); then the new values are applied (an apply error restores every old value
    /// and applies them again). Returns Redis's error text or null.
    /// </summary>
    public string? SetMany(IReadOnlyList<(string Name, string Value)> pairs)
    {
        var keys = new string[pairs.Count];
        for (int i = 0; i < pairs.Count; i++)
        {
            string name = pairs[i].Name;
            string key = keys[i] = Canonical(name);
            if (!_values.ContainsKey(key)) return $"ERR Unknown option or number of arguments for CONFIG SET - '{name}'";
            if (RuntimeRefusal(key) is { } refusal) return Failed(name, refusal);
            // The same spelling twice (any case); an alias and its target are two parameters for redis 7.0.
            for (int j = 0; j < i; j++)
                if (pairs[j].Name.Equals(name, StringComparison.OrdinalIgnoreCase)) return Failed(name, "duplicate parameter");
        }
        var old = new string[pairs.Count];
        for (int i = 0; i < pairs.Count; i++) old[i] = _values[keys[i]];
        for (int i = 0; i < pairs.Count; i++)
        {
            _values[keys[i]] = pairs[i].Value;
            if (Validate(keys[i]) is { } error)
            {
                Restore(keys, old, i + 1);
                return Failed(pairs[i].Name.ToLowerInvariant(), error);
            }
            NormalizeMemory(keys[i]);
        }
        Apply();
        // Apply step: the owner's hook (starting the AOF, ...) for each value that changed, in argument order.
        for (int i = 0; i < pairs.Count; i++)
        {
            if (old[i] == _values[keys[i]] || ApplyHook?.Invoke(keys[i], old[i]) is not { } applyError) continue;
            var applied = new string[pairs.Count];
            for (int j = 0; j < pairs.Count; j++) applied[j] = _values[keys[j]];
            Restore(keys, old, pairs.Count);
            Apply();
            // Undo what the hooks before this one did, as redis-server re-runs its apply functions on the old values.
            for (int j = 0; j < i; j++)
                if (applied[j] != old[j]) ApplyHook?.Invoke(keys[j], applied[j]);
            return Failed(pairs[i].Name.ToLowerInvariant(), applyError);
        }
        for (int i = 0; i < pairs.Count; i++)
            if (old[i] != _values[keys[i]]) Changed?.Invoke(keys[i], _values[keys[i]]);
        return null;
    }

    private static string Failed(string name, string reason) => $"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}";

    private void Restore(string[] keys, string[] old, int count)
    {
        for (int i = count - 1; i >= 0; i--) _values[keys[i]] = old[i];
    }

    /// <summary>Parameters in bytes that redis.conf and CONFIG SET take with units (1mb, 2gb) and CONFIG GET shows in bytes.</summary>
    private static readonly HashSet<string> MemoryParameters = new(StringComparer.Ordinal)
    {
        "maxmemory", "proto-max-bulk-len", "client-query-buffer-limit", "auto-aof-rewrite-min-size", "repl-backlog-size",
        "stream-node-max-bytes", "hll-sparse-max-bytes",
    };

    private void NormalizeMemory(string key)
    {
        if (MemoryParameters.Contains(key) && ParseMemory(_values[key]) is { } bytes)
            _values[key] = bytes.ToString(CultureInfo.InvariantCulture);
    }

    private string? Validate(string key)
    {
        string v = _values[key];
        switch (key)
        {
            case "maxclients":
                return Range(v, 1, 4294967295);
            case "timeout" or "tcp-keepalive":
                return Range(v, 0, int.MaxValue);
            case "proto-max-bulk-len" or "client-query-buffer-limit":
                // redis-server 7.0: memory values from 1mb to LONG_MAX
                if (ParseMemory(v) is not { } bytes) return "argument must be a memory value";
                if (bytes < 1024 * 1024) return $"argument must be between {1024 * 1024} and {long.MaxValue} inclusive";
                _values[key] = bytes.ToString(CultureInfo.InvariantCulture); // CONFIG GET shows bytes, as redis
                return null;
            case "client-output-buffer-limit":
                if (ParseOutputLimits(v, OutputLimits, out var limits) is { } limitError) return limitError;
                _values[key] = FormatOutputLimits(limits);
                return null;
            case "busy-reply-threshold":
                return Range(v, 0, long.MaxValue);
            case "loading-process-events-interval-bytes":
                return Range(v, 1024, int.MaxValue);
            case "acllog-max-len":
                return Range(v, 0, long.MaxValue);
            case "acl-pubsub-default":
                if (v.ToLowerInvariant() is not ("allchannels" or "resetchannels")) return "argument(s) must be one of the following: allchannels, resetchannels";
                _values[key] = v.ToLowerInvariant();
                return null;
            case "tracking-table-max-keys":
                return Range(v, 0, long.MaxValue);
            case "notify-keyspace-events":
                // shown normalised, as redis's keyspaceEventsFlagsToString ("KEA" -> "AKE")
                if (Notifications.NotifyFlags.Parse(v) is not { } classes) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
                _values[key] = Notifications.NotifyFlags.Format(classes);
                return null;
            case "hz":
                // redis-server 7.0 takes any int and clamps it to 1..500 (CONFIG_MIN_HZ, CONFIG_MAX_HZ), as CONFIG GET then shows
                if (Range(v, 0, int.MaxValue) is { } hzError) return hzError;
                _values[key] = Math.Clamp(long.Parse(v, CultureInfo.InvariantCulture), 1, 500).ToString(CultureInfo.InvariantCulture);
                return null;
            case "maxmemory-samples":
                return Range(v, 1, int.MaxValue);
            case "maxmemory-eviction-tenacity":
                return Range(v, 0, 100);
            case "lfu-log-factor" or "lfu-decay-time":
                return Range(v, 0, int.MaxValue);
            case "maxmemory":
                // kept in bytes, as CONFIG GET shows it after CONFIG SET maxmemory 50mb
                if (ParseMemory(v) is not { } maxBytes) return "argument must be a memory value";
                _values[key] = maxBytes.ToString(CultureInfo.InvariantCulture);
                return null;
            case "slowlog-log-slower-than":
                return Range(v, -1, long.MaxValue);
            case "slowlog-max-len" or "latency-monitor-threshold":
                return Range(v, 0, long.MaxValue);
            case "enable-debug-command" or "enable-module-command":
                _values[key] = v = v.ToLowerInvariant();
                return v is "no" or "yes" or "local" ? null : "argument(s) must be one of the following: no, yes, local";
            case "latency-tracking-info-percentiles":
                return Diagnostics.Percentiles.Validate(v, out var shown) is { } percentileError ? percentileError : SetShown(key, shown);
            case "hash-max-listpack-entries" or "hash-max-listpack-value" or "set-max-intset-entries"
                or "zset-max-listpack-entries" or "zset-max-listpack-value":
                // size_t parameters in redis 7.0: any integer beyond the range (even past 64 bits) is out of range
                return System.Text.RegularExpressions.Regex.IsMatch(v, "^-?[0-9]+$") && !long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
                    ? $"argument must be between 0 and {long.MaxValue} inclusive"
                    : Range(v, 0, long.MaxValue);
            case "active-expire-effort":
                return Range(v, 1, 10);
            case "stream-node-max-bytes" or "hll-sparse-max-bytes":
                return ParseMemory(v) is null ? "argument must be a memory value" : null; // shown in bytes (NormalizeMemory)
            case "stream-node-max-entries":
                return Range(v, 0, long.MaxValue);
            case "tcp-backlog":
                return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? null : "argument couldn't be parsed into an integer";
            case "list-max-listpack-size":
                return Range(v, int.MinValue, int.MaxValue);
            case "list-compress-depth":
                return Range(v, 0, int.MaxValue);
            case "save":
                return Persistence.RdbImage.ParseSaveParams(v) is null ? "Invalid save parameters" : null;
            case "auto-aof-rewrite-percentage":
                return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? null : "argument couldn't be parsed into an integer";
            case "auto-aof-rewrite-min-size":
                return ParseMemory(v) is not null ? null : "argument must be a memory value";
            case "appendonly" or "aof-load-truncated" or "aof-use-rdb-preamble" or "aof-timestamp-enabled" or "aof-disable-auto-gc"
                or "no-appendfsync-on-rewrite" or "aof-rewrite-incremental-fsync" or "rdb-save-incremental-fsync" or "rdbcompression" or "rdbchecksum" or "stop-writes-on-bgsave-error"
                or "replica-read-only" or "replica-serve-stale-data" or "protected-mode" or "repl-diskless-sync"
                or "lazyfree-lazy-eviction" or "lazyfree-lazy-expire" or "lazyfree-lazy-server-del" or "lazyfree-lazy-user-del"
                or "lazyfree-lazy-user-flush" or "replica-lazy-flush"
                or "latency-tracking" or "dynamic-hz":
                return YesNo(key, v);
            case "maxmemory-policy":
                _values[key] = v = v.ToLowerInvariant(); // an enum: case-insensitive, shown in lower case
                return v is "volatile-lru" or "allkeys-lru" or "volatile-lfu" or "allkeys-lfu" or "volatile-random"
                    or "allkeys-random" or "volatile-ttl" or "noeviction" ? null : "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";
            case "appendfsync":
                return v is "always" or "everysec" or "no" ? null : "argument(s) must be one of the following: everysec, always, no";
            case "port":
                return Range(v, 0, 65535);
            case "unixsocketperm":
                // redis: an octal number 0..0777, shown in octal
                long perm;
                try
                {
                    perm = Convert.ToInt64(v, 8);
                }
                catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
                {
                    return "argument couldn't be parsed as an octal number";
                }
                if (perm is < 0 or > 511) return "argument must be between 0 and 777 inclusive";
                _values[key] = Convert.ToString(perm, 8);
                return null;
            case "bind":
                // redis's CONFIG_BINDADDR_MAX; the addresses themselves are checked when the server listens
                return v.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > 16 ? "Too many bind addresses specified." : null;
            case "databases":
                return Range(v, 1, int.MaxValue);
            case "io-threads":
                return Range(v, 1, 128);
            case "daemonize" or "cluster-enabled":
                return YesNo(key, v);
            case "dir":
                // redis-server chdir()s at start: the directory must exist (strerror of ENOENT)
                if (!Directory.Exists(v)) return "No such file or directory";
                _values[key] = Path.GetFullPath(v);
                return null;
            case "dbfilename":
                return v.Contains('/') ? "dbfilename can't be a path, just a filename" : null;
            case "appendfilename":
                return v.Contains('/') ? "appendfilename can't be a path, just a filename" : null;
            case "appenddirname":
                return v.Contains('/') ? "appenddirname can't be a path, just a directory name" : null;
            case "loglevel":
                // redis-server 7.0.15's enum: case-insensitive, stored lower-case; "nothing" is 7.2's.
                if (Logging.RedisLogLevels.TryParse(v, out _))
                {
                    _values[key] = v.ToLowerInvariant();
                    return null;
                }
                return "argument(s) must be one of the following: debug, verbose, notice, warning";
            default:
                return ValidateReplication(key, v) ?? ValidateTls(key, v) ?? ValidateCluster(key, v) ?? ValidateCatmem(key, v);
        }
    }

    private string? SetShown(string key, string shown)
    {
        _values[key] = shown;
        return null;
    }

    /// <summary>A boolean parameter: yes or no in any case, kept in lower case.</summary>
    private string? YesNo(string key, string v)
    {
        if (!v.Equals("yes", StringComparison.OrdinalIgnoreCase) && !v.Equals("no", StringComparison.OrdinalIgnoreCase))
            return "argument must be 'yes' or 'no'";
        _values[key] = v.ToLowerInvariant();
        return null;
    }

    /// <summary>redis-server's check of a bounded integer parameter: parsed first, then its range.</summary>
    private static string? Range(string v, long min, long max)
    {
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return "argument couldn't be parsed into an integer";
        return n < min || n > max ? $"argument must be between {min} and {max} inclusive" : null;
    }

    /// <summary>
    /// redis-server's updateClientOutputBufferLimit: groups of "class hard soft seconds" (class normal, replica or
    /// slave, pubsub); classes not named keep their <paramref name="current"/> limits; any bad group refuses all.
    /// </summary>
    public static string? ParseOutputLimits(string text, OutputBufferLimit[] current, out OutputBufferLimit[] limits)
    {
        limits = [.. current];
        var args = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (args.Length % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
        for (int i = 0; i < args.Length; i += 4)
        {
            ClientClass? cls = args[i].ToLowerInvariant() switch
            {
                "normal" => ClientClass.Normal,
                "slave" or "replica" => ClientClass.Replica,
                "pubsub" => ClientClass.PubSub,
                _ => null, // "master" too: redis refuses it here
            };
            if (cls is null) return "Invalid client class specified in buffer limit configuration.";
            if (ParseMemory(args[i + 1]) is not { } hard || ParseMemory(args[i + 2]) is not { } soft
                || !long.TryParse(args[i + 3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long seconds) || seconds < 0)
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            limits[(int)cls] = new OutputBufferLimit(hard, soft, seconds);
        }
        return null;
    }

    /// <summary>CONFIG GET's form: "normal H S s slave H S s pubsub H S s".</summary>
    public static string FormatOutputLimits(OutputBufferLimit[] limits) => string.Join(' ',
        limits.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"{((ClientClass)i).ConfigName()} {l.Hard} {l.Soft} {l.SoftSeconds}")));

    /// <summary>Parses redis.conf memory units (1k, 5mb, 1gb, plain bytes).</summary>
    public static long? ParseMemory(string text)
    {
        text = text.Trim().ToLowerInvariant();
        long mul = 1;
        foreach (var (suffix, m) in new (string, long)[] { ("kb", 1024), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000), ("b", 1) })
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                mul = m;
                text = text[..^suffix.Length];
                break;
            }
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n * mul : null;
    }

    private void Apply()
    {
        RequirePass = _values["requirepass"] is { Length: > 0 } p ? p : null;
        EncodingLimits.HashMaxListpackEntries = long.Parse(_values["hash-max-listpack-entries"], CultureInfo.InvariantCulture);
        EncodingLimits.HashMaxListpackValue = long.Parse(_values["hash-max-listpack-value"], CultureInfo.InvariantCulture);
        EncodingLimits.ZSetMaxListpackEntries = long.Parse(_values["zset-max-listpack-entries"], CultureInfo.InvariantCulture);
        EncodingLimits.ZSetMaxListpackValue = long.Parse(_values["zset-max-listpack-value"], CultureInfo.InvariantCulture);
        EncodingLimits.SetMaxIntsetEntries = long.Parse(_values["set-max-intset-entries"], CultureInfo.InvariantCulture);
        EncodingLimits.ListMaxListpackSize = int.Parse(_values["list-max-listpack-size"], CultureInfo.InvariantCulture);
        EncodingLimits.StreamNodeMaxBytes = ParseMemory(_values["stream-node-max-bytes"]) ?? 4096;
        EncodingLimits.StreamNodeMaxEntries = long.Parse(_values["stream-node-max-entries"], CultureInfo.InvariantCulture);
        EncodingLimits.HllSparseMaxBytes = ParseMemory(_values["hll-sparse-max-bytes"]) ?? HyperLogLog.SparseMaxBytes;
        ProtectedMode = _values["protected-mode"] == "yes";
        MaxClients = (int)Math.Min(long.Parse(_values["maxclients"], CultureInfo.InvariantCulture), int.MaxValue); // up to UINT_MAX, as redis
        Timeout = int.Parse(_values["timeout"], CultureInfo.InvariantCulture);
        Hz = int.Parse(_values["hz"], CultureInfo.InvariantCulture);
        DynamicHz = _values["dynamic-hz"] == "yes";
        ActiveExpireEffort = int.Parse(_values["active-expire-effort"], CultureInfo.InvariantCulture);
        ProtoMaxBulkLen = ParseMemory(_values["proto-max-bulk-len"]) ?? 512L * 1024 * 1024;
        ClientQueryBufferLimit = ParseMemory(_values["client-query-buffer-limit"]) ?? 1024L * 1024 * 1024;
        TcpKeepAlive = int.Parse(_values["tcp-keepalive"], CultureInfo.InvariantCulture);
        if (ParseOutputLimits(_values["client-output-buffer-limit"], OutputLimits, out var outputLimits) is null) OutputLimits = outputLimits;
        LazyFreeLazyExpire = _values["lazyfree-lazy-expire"] == "yes";
        LazyFreeLazyEviction = _values["lazyfree-lazy-eviction"] == "yes";
        MaxMemory = long.Parse(_values["maxmemory"], CultureInfo.InvariantCulture);
        MaxMemoryPolicy = Memory.MaxMemory.ParsePolicy(_values["maxmemory-policy"]);
        MaxMemorySamples = int.Parse(_values["maxmemory-samples"], CultureInfo.InvariantCulture);
        MaxMemoryEvictionTenacity = int.Parse(_values["maxmemory-eviction-tenacity"], CultureInfo.InvariantCulture);
        LfuLogFactor = int.Parse(_values["lfu-log-factor"], CultureInfo.InvariantCulture);
        LfuDecayTime = int.Parse(_values["lfu-decay-time"], CultureInfo.InvariantCulture);
        Dir = _values["dir"];
        DbFilename = _values["dbfilename"];
        SaveParams = Persistence.RdbImage.ParseSaveParams(_values["save"]) ?? [];
        RdbCompression = _values["rdbcompression"] == "yes";
        RdbChecksum = _values["rdbchecksum"] == "yes";
        StopWritesOnBgsaveError = _values["stop-writes-on-bgsave-error"] == "yes";
        AppendOnly = _values["appendonly"] == "yes";
        AppendFileName = _values["appendfilename"];
        AppendDirName = _values["appenddirname"];
        AppendFsync = _values["appendfsync"] switch
        {
            "always" => Persistence.AofFsync.Always,
            "no" => Persistence.AofFsync.No,
            _ => Persistence.AofFsync.EverySec,
        };
        AutoAofRewritePercentage = long.Parse(_values["auto-aof-rewrite-percentage"], CultureInfo.InvariantCulture);
        AutoAofRewriteMinSize = ParseMemory(_values["auto-aof-rewrite-min-size"]) ?? 64L << 20;
        AofLoadTruncated = _values["aof-load-truncated"] == "yes";
        AofUseRdbPreamble = _values["aof-use-rdb-preamble"] == "yes";
        AofTimestampEnabled = _values["aof-timestamp-enabled"] == "yes";
        AofDisableAutoGc = _values["aof-disable-auto-gc"] == "yes";
        NoAppendFsyncOnRewrite = _values["no-appendfsync-on-rewrite"] == "yes";
        AofRewriteIncrementalFsync = _values["aof-rewrite-incremental-fsync"] == "yes";
        RdbSaveIncrementalFsync = _values["rdb-save-incremental-fsync"] == "yes";
        LazyFreeLazyUserDel = _values["lazyfree-lazy-user-del"] == "yes";
        LazyFreeLazyUserFlush = _values["lazyfree-lazy-user-flush"] == "yes";
        ReplicaLazyFlush = _values["replica-lazy-flush"] == "yes";
        LazyFree.LazyServerDel = _values["lazyfree-lazy-server-del"] == "yes";
        LazyFree.LazyExpire = LazyFreeLazyExpire;
        LazyFree.LazyEviction = LazyFreeLazyEviction;
        BusyReplyThresholdMs = long.Parse(_values["busy-reply-threshold"], CultureInfo.InvariantCulture);
        LoadingProcessEventsIntervalBytes = long.Parse(_values["loading-process-events-interval-bytes"], CultureInfo.InvariantCulture);
        ApplyReplication();
        ApplyCluster();
        TrackingTableMaxKeys = long.Parse(_values["tracking-table-max-keys"], CultureInfo.InvariantCulture);
        NotifyKeyspaceEvents = Notifications.NotifyFlags.Parse(_values["notify-keyspace-events"]) ?? Notifications.NotifyClass.None;
    }
}
