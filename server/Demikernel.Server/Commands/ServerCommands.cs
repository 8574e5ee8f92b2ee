using System.Globalization;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Logging;
using Demikernel.Server.Memory;

namespace Demikernel.Server.Commands;

/// <summary>Server commands: INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, COMMAND, ROLE, LASTSAVE, CLUSTER.</summary>
public static class ServerCommands
{
    private const CommandFlags Admin = CommandFlags.Admin | CommandFlags.NoScript | CommandFlags.Loading | CommandFlags.Stale;

    public static void Register(CommandTable table)
    {
        table.Add(new("INFO", Info));
        table.Add(new("DBSIZE", DbSize));
        table.Add(new("FLUSHDB", FlushDb));
        table.Add(new("FLUSHALL", FlushAll));
        table.Add(new("SWAPDB", SwapDb));
        table.Add(new("TIME", Time));
        table.Add(new("ROLE", Role));
        LolwutCommand.Register(table);
        table.Add(new("CONFIG", Help)
        {
            Subcommands =
            [
                new("GET", ConfigGet),
                new("SET", ConfigSet),
                new("RESETSTAT", ConfigResetStat),
                new("REWRITE", ConfigRewrite),
                new("HELP", Help),
            ],
        });
        table.Add(new("COMMAND", CommandIntrospection.All)
        {
            Subcommands =
            [
                new("COUNT", CommandIntrospection.Count),
                new("INFO", CommandIntrospection.Info),
                new("DOCS", CommandIntrospection.Docs),
                new("LIST", CommandIntrospection.List),
                new("GETKEYS", CommandIntrospection.GetKeys),
                new("GETKEYSANDFLAGS", CommandIntrospection.GetKeysAndFlags),
                new("HELP", Help),
            ],
        });
        // Every CLUSTER subcommand of redis-server 7.0 (Cluster/ClusterCommands.cs); without cluster-enabled each
        // refuses as a server without cluster support does (after the dispatcher's arity check, as redis-server).
        table.Add(new("CLUSTER", ClusterDisabled)
        {
            Subcommands = CommandMetadata.All.Values.Where(m => m.WireName.StartsWith("cluster|", StringComparison.Ordinal))
                .Select(m => new CommandSpec(m.Name.ToUpperInvariant(), Cluster.ClusterCommands.For(m.Name))).ToArray(),
        });
        table.Add(new("READONLY", Cluster.ClusterCommands.ReadOnly));
        table.Add(new("READWRITE", Cluster.ClusterCommands.ReadWrite));
        table.Add(new("ASKING", Cluster.ClusterCommands.Asking));
        table.Add(new("MIGRATE", Cluster.MigrateSockets.Migrate));
        table.Add(new("RESTORE-ASKING", GenericCommands.Restore));
    }

    // ---------------------------------------------------------------- INFO

    private static void Info(ref CommandContext c)
    {
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < c.Count; i++) sections.Add(c.ArgString(i));
        string text = ServerInfo.Render(c.Server, sections);
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(text));
    }

    private static void DbSize(ref CommandContext c) => c.Reply.Integer(c.Db.Count);

    /// <summary>FLUSHALL/FLUSHDB [ASYNC|SYNC]: false after an error reply; <paramref name="async"/> defaults to
    /// lazyfree-lazy-user-flush (an asynchronous flush counts its keys in lazyfreed_objects, Store/LazyFree.cs).</summary>
    private static bool FlushMode(ref CommandContext c, out bool async)
    {
        async = c.Server.Config.LazyFreeLazyUserFlush;
        if (c.Count == 1) return true;
        if (c.Count == 2 && (c.ArgIs(1, "ASYNC"u8) || c.ArgIs(1, "SYNC"u8)))
        {
            async = c.ArgIs(1, "ASYNC"u8);
            return true;
        }
        c.Reply.Error(Errors.Syntax);
        return false;
    }

    private static void FlushDb(ref CommandContext c)
    {
        if (!FlushMode(ref c, out bool async)) return;
        if (async) c.Server.Config.LazyFree.FlushedAsync(c.Db.Count);
        c.Db.Clear();
        c.Server.Tracking.Flushed();
        c.ForcePropagation(); // propagated even when the database was already empty, as redis-server does
        c.Reply.Ok();
    }

    private static void FlushAll(ref CommandContext c)
    {
        if (!FlushMode(ref c, out bool async)) return;
        foreach (var db in c.Server.Databases)
        {
            if (async) c.Server.Config.LazyFree.FlushedAsync(db.Count);
            db.Clear();
        }
        c.Server.Tracking.Flushed();
        c.Server.Persistence.OnFlushAll();
        c.ForcePropagation();
        c.Reply.Ok();
    }

    /// <summary>SWAPDB index1 index2: the two databases exchange their keys; WATCH and blocked clients of both hear
    /// of it through the change hook (touchAllWatchedKeysInDb, scanDatabaseForReadyKeys), and it always propagates.</summary>
    private static void SwapDb(ref CommandContext c)
    {
        var dbs = c.Server.Databases;
        if (!RedisNumbers.TryParseInt64(c.Arg(1), out long first) || first is < int.MinValue or > int.MaxValue)
        {
            c.Reply.Error("ERR invalid first DB index");
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long second) || second is < int.MinValue or > int.MaxValue)
        {
            c.Reply.Error("ERR invalid second DB index");
            return;
        }
        if (first < 0 || first >= dbs.Length || second < 0 || second >= dbs.Length)
        {
            c.Reply.Error("ERR DB index is out of range");
            return;
        }
        dbs[first].SwapContents(dbs[second]);
        c.ForcePropagation(); // redis-server counts a change even for SWAPDB 0 0
        c.Reply.Ok();
    }

    private static void Time(ref CommandContext c)
    {
        var now = c.Server.LibOS.Time.GetUtcNow();
        long micros = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        c.Reply.ArrayHeader(2);
        c.Reply.Bulk(micros / 1_000_000);
        c.Reply.Bulk(micros % 1_000_000);
    }

    private static void Role(ref CommandContext c) => c.Server.Replication.Role(ref c);

    private static void ClusterDisabled(ref CommandContext c) => c.Reply.Error(Errors.ClusterDisabled);

    // ---------------------------------------------------------------- CONFIG

    private static void ConfigGet(ref CommandContext c)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 2; i < c.Count; i++)
            foreach (var (name, value) in c.Server.Config.Match(c.ArgString(i))) found[name] = value;
        c.Reply.MapHeader(found.Count);
        foreach (var (name, value) in found)
        {
            c.Reply.Bulk(name);
            c.Reply.Bulk(value);
        }
    }

    private static void ConfigSet(ref CommandContext c)
    {
        // CONFIG SET name value [name value ...]: an odd count is redis-server 7.0's syntax error (arity caught the rest)
        if ((c.Count - 2) % 2 != 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var pairs = new (string Name, string Value)[(c.Count - 2) / 2];
        for (int i = 0; i < pairs.Length; i++) pairs[i] = (c.ArgString(2 + 2 * i), c.ArgString(3 + 2 * i));
        // all or nothing (ServerConfig.SetMany)
        if (c.Server.Config.SetMany(pairs) is { } error) c.Reply.Error(error);
        else c.Reply.Ok();
    }

    private static void ConfigResetStat(ref CommandContext c)
    {
        var s = c.Server.Stats;
        s.CommandsProcessed = s.ConnectionsReceived = s.RejectedConnections = 0;
        s.KeyspaceHits = s.KeyspaceMisses = s.ExpiredKeys = s.NetInputBytes = s.NetOutputBytes = 0;
        Diagnostics.DiagnosticsInfo.ResetStats(c.Server);
        c.Reply.Ok();
    }

    /// <summary>CONFIG REWRITE: the redis.conf the server was started from (ServerConfig.Rewrite). A YAML --config is
    /// not rewritten (its layout is Demikernel's, not redis.conf's): refused with a reason instead.</summary>
    private static void ConfigRewrite(ref CommandContext c)
    {
        var options = c.Server.Options;
        if (options.RedisConfFile is not { } path)
        {
            c.Reply.Error(options.ConfigFile is { } yaml
                ? $"ERR Rewriting config file: the server was started from the YAML configuration '{yaml}', which CONFIG REWRITE does not rewrite (start it from a redis.conf)"
                : "ERR The server is running without a config file");
            return;
        }
        if (c.Server.Config.Rewrite(path) is { } error)
        {
            c.Server.Log.ConfigRewriteFailed(error);
            c.Reply.Error($"ERR Rewriting config file: {error}");
            return;
        }
        c.Server.Log.ConfigRewritten();
        c.Reply.Ok();
    }

    private static void Help(ref CommandContext c)
    {
        string[] lines = c.ArgIs(0, "CONFIG"u8)
            ? [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                "RESETSTAT", "    Reset statistics reported by the INFO command.",
                "REWRITE", "    Rewrite the configuration file.",
                "HELP", "    Print this help.",
            ]
            : [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)", "    Return details about all Redis commands.",
                "COUNT", "    Return the total number of commands in this Redis server.",
                "LIST", "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all", "    commands are returned.",
                "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all", "    commands are returned.",
                "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
                "HELP", "    Prints this help.",
            ];
        c.Reply.ArrayHeader(lines.Length);
        foreach (var line in lines) c.Reply.SimpleString(line);
    }
}

/// <summary>The text of INFO, section by section, with redis-server's field names.</summary>
public static class ServerInfo
{
    // Behaviour is matched against redis-server 7.0.15 (the reference on Debian 12); say so to clients.
    public const string RedisVersion = "7.0.15";

    // redis-server 7.0's order; commandstats and latencystats are not in "default", only in "all"/"everything"
    private static readonly string[] Sections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"];

    public static string Render(RedisServer server, IReadOnlySet<string> requested)
    {
        bool all = requested.Contains("all") || requested.Contains("everything");
        bool defaults = all || requested.Count == 0 || requested.Contains("default");
        var sb = new StringBuilder();
        foreach (var section in Sections)
        {
            bool wanted = section is "commandstats" or "latencystats" ? all : defaults;
            if (!wanted && !requested.Contains(section)) continue;
            if (sb.Length > 0) sb.Append("\r\n");
            Append(sb, server, section);
        }
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, RedisServer server, string section)
    {
        var ci = CultureInfo.InvariantCulture;
        long now = server.NowMs;
        void Line(string name, object value) => sb.Append(name).Append(':').Append(Convert.ToString(value, ci)).Append("\r\n");
        switch (section)
        {
            case "server":
                sb.Append("# Server\r\n");
                Line("redis_version", RedisVersion);
                Line("redis_git_sha1", "00000000");
                Line("redis_git_dirty", 0);
                Line("redis_build_id", "demikernel-dotnet");
                Line("redis_mode", server.Cluster is null ? "standalone" : "cluster");
                Line("os", $"{Environment.OSVersion.Platform} {Environment.OSVersion.Version} {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}");
                Line("arch_bits", IntPtr.Size * 8);
                Line("multiplexing_api", server.LibOS.Name);
                Line("libos", server.LibOS.Name);
                Line("dotnet_version", Environment.Version);
                Line("process_id", Environment.ProcessId);
                Line("run_id", server.RunId);
                Line("tcp_port", server.ListenEndpoint.Port);
                Line("server_time_usec", now * 1000);
                Line("uptime_in_seconds", (now - server.StartedMs) / 1000);
                Line("uptime_in_days", (now - server.StartedMs) / 86_400_000);
                Line("hz", server.EffectiveHz);
                Line("configured_hz", server.Config.Hz);
                Line("executable", Environment.ProcessPath ?? "");
                Line("config_file", server.Options.ConfigFile ?? "");
                break;
            case "clients":
                sb.Append("# Clients\r\n");
                Line("connected_clients", server.Clients.Count);
                Line("cluster_connections", server.Cluster is { } cluster ? (cluster.Nodes.Count - 1) * 2 : 0); // redis's getClusterConnectionsCount
                Line("maxclients", server.Config.MaxClients);
                Line("client_recent_max_input_buffer", 0);
                Line("client_recent_max_output_buffer", 0);
                Line("blocked_clients", server.Blocking.BlockedClients);
                Line("tracking_clients", server.Tracking.TrackingClients);
                Line("clients_in_timeout_table", 0);
                break;
            case "memory":
            {
                sb.Append("# Memory\r\n");
                // used_memory is the store's own accounting (keys, values, their structures, clients), not the GC heap
                var memory = server.Memory;
                long used = memory.Used;
                long peak = memory.UpdatePeak(used);
                long dataset = used - memory.Overhead;
                long rss = Environment.WorkingSet;
                Line("used_memory", used);
                Line("used_memory_human", Human(used));
                Line("used_memory_rss", rss);
                Line("used_memory_rss_human", Human(rss));
                Line("used_memory_peak", peak);
                Line("used_memory_peak_human", Human(peak));
                Line("used_memory_peak_perc", $"{(peak == 0 ? 0 : used * 100.0 / peak):F2}%");
                Line("used_memory_overhead", memory.Overhead);
                Line("used_memory_dataset", dataset);
                Line("used_memory_dataset_perc", $"{(used == 0 ? 0 : dataset * 100.0 / used):F2}%");
                Line("maxmemory", memory.Limit);
                Line("maxmemory_human", Human(memory.Limit));
                Line("maxmemory_policy", MaxMemory.PolicyName(memory.Policy));
                Line("mem_fragmentation_ratio", (used == 0 ? 0 : rss / (double)used).ToString("F2", ci));
                Line("mem_fragmentation_bytes", rss - used);
                Line("mem_not_counted_for_evict", memory.NotCountedForEvict);
                Line("mem_replication_backlog", server.Replication.BacklogMemory);
                Line("mem_total_replication_buffers", server.Replication.BacklogMemory); // one ring for the backlog and the replicas
                Line("mem_clients_slaves", memory.ClientsReplicas);
                Line("mem_clients_normal", memory.ClientsNormal);
                Line("mem_allocator", "dotnet-gc");
                Line("lazyfree_pending_objects", 0); // nothing waits to be freed here (Store/LazyFree.cs)
                Line("lazyfreed_objects", server.Config.LazyFree.FreedObjects);
                // Allocation accounting from outside: sample total_allocated_bytes before and after a load run.
                Line("total_allocated_bytes", GC.GetTotalAllocatedBytes(precise: false));
                Line("gc_gen0_collections", GC.CollectionCount(0));
                Line("gc_gen1_collections", GC.CollectionCount(1));
                Line("gc_gen2_collections", GC.CollectionCount(2));
                Line("gc_heap_size_bytes", GC.GetGCMemoryInfo().HeapSizeBytes);
                Line("gc_pause_time_total_ms", (long)GC.GetTotalPauseDuration().TotalMilliseconds);
                Line("gc_pause_max_ms", Diagnostics.GcPauses.Instance.MaxPauseMs.ToString("F2", ci));
                Line("gc_pause_max_generation", Diagnostics.GcPauses.Instance.MaxPauseGeneration);
                Line("gc_pauses_over_5ms", Diagnostics.GcPauses.Instance.LongPauses);
                Line("libos_buffers_outstanding", server.LibOS.Counters.BuffersOutstanding);
                break;
            }
            case "persistence":
                Persistence.PersistenceInfo.Append(sb, server, now);
                break;
            case "stats":
            {
                var s = server.Stats;
                sb.Append("# Stats\r\n");
                Line("total_connections_received", s.ConnectionsReceived);
                Line("total_commands_processed", s.CommandsProcessed);
                var instantaneous = server.Diagnostics.Instantaneous;
                Line("instantaneous_ops_per_sec", instantaneous.OpsPerSec);
                Line("total_net_input_bytes", s.NetInputBytes);
                Line("total_net_output_bytes", s.NetOutputBytes);
                Line("instantaneous_input_kbps", (instantaneous.InputBytesPerSec / 1024.0).ToString("F2", ci));
                Line("instantaneous_output_kbps", (instantaneous.OutputBytesPerSec / 1024.0).ToString("F2", ci));
                Line("rejected_connections", s.RejectedConnections);
                Line("sync_full", server.Replication.SyncFull);
                Line("sync_partial_ok", server.Replication.SyncPartialOk);
                Line("sync_partial_err", server.Replication.SyncPartialErr);
                Line("expired_keys", s.ExpiredKeys);
                Line("evicted_keys", s.EvictedKeys);
                Line("keyspace_hits", s.KeyspaceHits);
                Line("keyspace_misses", s.KeyspaceMisses);
                Line("pubsub_channels", server.PubSub.ChannelCount);
                Line("pubsub_patterns", server.PubSub.PatternCount);
                Line("pubsubshard_channels", server.PubSub.ShardChannels.Count());
                Line("tracking_total_keys", server.Tracking.TotalKeys);
                Line("tracking_total_items", server.Tracking.TotalItems);
                Line("tracking_total_prefixes", server.Tracking.TotalPrefixes);
                Line("total_error_replies", server.Diagnostics.Errors.Total);
                Line("libos_scheduler_runs", server.LibOS.Counters.SchedulerRuns);
                break;
            }
            case "replication":
                server.Replication.WriteInfo(sb);
                break;
            case "cpu":
            {
                sb.Append("# CPU\r\n");
                var p = System.Diagnostics.Process.GetCurrentProcess();
                Line("used_cpu_sys", p.PrivilegedProcessorTime.TotalSeconds.ToString("F6", ci));
                Line("used_cpu_user", p.UserProcessorTime.TotalSeconds.ToString("F6", ci));
                break;
            }
            case "commandstats":
                Diagnostics.DiagnosticsInfo.CommandStats(sb, server);
                break;
            case "errorstats":
                Diagnostics.DiagnosticsInfo.ErrorStats(sb, server);
                break;
            case "latencystats":
                Diagnostics.DiagnosticsInfo.LatencyStats(sb, server);
                break;
            case "cluster":
                sb.Append("# Cluster\r\n");
                Line("cluster_enabled", server.Cluster is null ? 0 : 1);
                break;
            case "keyspace":
                sb.Append("# Keyspace\r\n");
                foreach (var db in server.Databases)
                    if (db.Count > 0)
                        Line($"db{db.Index}", $"keys={db.Count},expires={db.ExpiresCount},avg_ttl={db.AverageTtlMs}");
                break;
        }
    }

    private static string Human(long bytes) =>
        bytes >= 1 << 30 ? $"{bytes / (double)(1 << 30):F2}G" :
        bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):F2}M" :
        bytes >= 1 << 10 ? $"{bytes / 1024.0:F2}K" : $"{bytes}B";
}
