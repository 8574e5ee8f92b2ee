using System.Globalization;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Memory;

namespace Demikernel.Server.Commands;

/// <summary>Server commands: INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, COMMAND, ROLE, LASTSAVE, CLUSTER.</summary>
public static class ServerCommands
{
    private const CommandFlags Admin = CommandFlags.Admin | CommandFlags.NoScript | CommandFlags.Loading | CommandFlags.Stale;

    public static void Register(CommandTable table)
    {
        table.Add(new("INFO", -1, CommandFlags.Loading | CommandFlags.Stale | CommandFlags.Sentinel, 0, 0, 0, "server", "Returns information and statistics about the server.", "1.0.0", Info));
        table.Add(new("DBSIZE", 1, CommandFlags.ReadOnly | CommandFlags.Fast, 0, 0, 0, "server", "Returns the number of keys in the database.", "1.0.0", DbSize));
        table.Add(new("FLUSHDB", -1, CommandFlags.Write, 0, 0, 0, "server", "Removes all keys from the current database.", "1.0.0", FlushDb));
        table.Add(new("FLUSHALL", -1, CommandFlags.Write, 0, 0, 0, "server", "Removes all keys from all databases.", "1.0.0", FlushAll));
        table.Add(new("TIME", 1, CommandFlags.Loading | CommandFlags.Stale | CommandFlags.Fast, 0, 0, 0, "server", "Returns the server time.", "2.6.0", Time));
        table.Add(new("ROLE", 1, CommandFlags.NoScript | CommandFlags.Loading | CommandFlags.Stale | CommandFlags.Fast, 0, 0, 0, "server", "Returns the replication role.", "2.8.12", Role));
        table.Add(new("CONFIG", -2, CommandFlags.None, 0, 0, 0, "server", "A container for server configuration commands.", "2.0.0", Help)
        {
            Subcommands =
            [
                new("GET", -3, Admin, 0, 0, 0, "server", "Returns the effective values of configuration parameters.", "2.0.0", ConfigGet),
                new("SET", -4, Admin, 0, 0, 0, "server", "Sets configuration parameters in-flight.", "2.0.0", ConfigSet),
                new("RESETSTAT", 2, Admin, 0, 0, 0, "server", "Resets the server's statistics.", "2.0.0", ConfigResetStat),
                new("REWRITE", 2, Admin, 0, 0, 0, "server", "Persists the effective configuration to file.", "2.8.0", ConfigRewrite),
                new("HELP", 2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns helpful text about the different subcommands.", "5.0.0", Help),
            ],
        });
        table.Add(new("COMMAND", -1, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns detailed information about all commands.", "2.8.13", CommandAll)
        {
            Subcommands =
            [
                new("COUNT", 2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns a count of commands.", "2.8.13", CommandCount),
                new("INFO", -2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns information about one, multiple or all commands.", "2.8.13", CommandInfo),
                new("DOCS", -2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns documentary information about one, multiple or all commands.", "7.0.0", CommandDocs),
                new("LIST", -2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns a list of command names.", "7.0.0", CommandList),
                new("GETKEYS", -3, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Extracts the key names from an arbitrary command.", "2.8.13", CommandGetKeys),
                new("HELP", 2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, "server", "Returns helpful text about the different subcommands.", "5.0.0", Help),
            ],
        });
        table.Add(new("CLUSTER", -2, CommandFlags.None, 0, 0, 0, "cluster", "A container for Redis Cluster commands.", "3.0.0", ClusterDisabled));
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

    private static bool FlushMode(ref CommandContext c)
    {
        if (c.Count == 1) return true;
        if (c.Count == 2 && (c.ArgIs(1, "ASYNC"u8) || c.ArgIs(1, "SYNC"u8))) return true;
        c.Reply.Error(Errors.Syntax);
        return false;
    }

    private static void FlushDb(ref CommandContext c)
    {
        if (!FlushMode(ref c)) return;
        c.Db.Clear();
        c.ForcePropagation(); // propagated even when the database was already empty, as redis-server does
        c.Reply.Ok();
    }

    private static void FlushAll(ref CommandContext c)
    {
        if (!FlushMode(ref c)) return;
        foreach (var db in c.Server.Databases) db.Clear();
        c.Server.Persistence.OnFlushAll();
        c.ForcePropagation();
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

    private static void Role(ref CommandContext c)
    {
        c.Reply.ArrayHeader(3);
        c.Reply.Bulk("master"u8);
        c.Reply.Integer(0);
        c.Reply.ArrayHeader(0);
    }

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
        if ((c.Count - 2) % 2 != 0)
        {
            c.Reply.Error(Errors.WrongArgCount("config|set"));
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 2; i < c.Count; i += 2)
        {
            if (!names.Add(ServerConfig.Canonical(c.ArgString(i))))
            {
                c.Reply.Error($"ERR CONFIG SET failed (possibly related to argument '{c.ArgString(i)}') - duplicate parameter");
                return;
            }
        }
        for (int i = 2; i < c.Count; i += 2)
        {
            string? error = c.Server.Config.Set(c.ArgString(i), c.ArgString(i + 1));
            if (error is not null)
            {
                c.Reply.Error(error);
                return;
            }
        }
        c.Reply.Ok();
    }

    private static void ConfigResetStat(ref CommandContext c)
    {
        var s = c.Server.Stats;
        s.CommandsProcessed = s.ConnectionsReceived = s.RejectedConnections = 0;
        s.KeyspaceHits = s.KeyspaceMisses = s.ExpiredKeys = s.NetInputBytes = s.NetOutputBytes = 0;
        c.Reply.Ok();
    }

    private static void ConfigRewrite(ref CommandContext c) => c.Reply.Error("ERR The server is running without a config file");

    // ---------------------------------------------------------------- COMMAND

    private static void CommandAll(ref CommandContext c)
    {
        var all = c.Server.Commands.All.OrderBy(s => s.Name, StringComparer.Ordinal).ToArray();
        c.Reply.ArrayHeader(all.Length);
        foreach (var spec in all) WriteInfo(c.Reply, spec);
    }

    private static void CommandCount(ref CommandContext c) => c.Reply.Integer(c.Server.Commands.Count);

    private static void CommandList(ref CommandContext c)
    {
        if (c.Count != 2)
        {
            c.Reply.Error(Errors.Syntax); // FILTERBY is not supported
            return;
        }
        var names = c.Server.Commands.All.SelectMany(s => s.Subcommands.Select(x => x.WireName).Prepend(s.WireName)).ToArray();
        c.Reply.ArrayHeader(names.Length);
        foreach (var n in names) c.Reply.Bulk(n);
    }

    private static void CommandInfo(ref CommandContext c)
    {
        if (c.Count == 2)
        {
            CommandAll(ref c);
            return;
        }
        c.Reply.ArrayHeader(c.Count - 2);
        for (int i = 2; i < c.Count; i++)
        {
            if (Find(c.Server.Commands, c.ArgString(i)) is { } spec) WriteInfo(c.Reply, spec);
            else c.Reply.NullArray();
        }
    }

    private static CommandSpec? Find(CommandTable table, string name)
    {
        int bar = name.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0) return table.TryGet(name, out var spec) ? spec : null;
        if (!table.TryGet(name[..bar], out var parent)) return null;
        return parent.Subcommands.FirstOrDefault(s => s.Name.Equals(name[(bar + 1)..], StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>One COMMAND INFO entry in Redis 7's shape: name, arity, flags, first, last, step, ACL categories, tips, key specs, subcommands.</summary>
    private static void WriteInfo(ReplyBuffer reply, CommandSpec spec)
    {
        reply.ArrayHeader(10);
        reply.Bulk(spec.WireName);
        reply.Integer(spec.Arity);
        var flags = spec.FlagNames().ToArray();
        reply.SetHeader(flags.Length);
        foreach (var f in flags) reply.SimpleString(f);
        reply.Integer(spec.FirstKey);
        reply.Integer(spec.LastKey);
        reply.Integer(spec.Step);
        var categories = Categories(spec).ToArray();
        reply.SetHeader(categories.Length);
        foreach (var cat in categories) reply.SimpleString(cat);
        reply.SetHeader(0); // tips
        if (spec.FirstKey > 0)
        {
            reply.ArrayHeader(1);
            reply.MapHeader(4);
            reply.Bulk("flags"u8);
            reply.SetHeader(0);
            reply.Bulk("begin_search"u8);
            reply.MapHeader(2);
            reply.Bulk("type"u8);
            reply.Bulk("index"u8);
            reply.Bulk("spec"u8);
            reply.MapHeader(1);
            reply.Bulk("index"u8);
            reply.Integer(spec.FirstKey);
            reply.Bulk("find_keys"u8);
            reply.MapHeader(2);
            reply.Bulk("type"u8);
            reply.Bulk("range"u8);
            reply.Bulk("spec"u8);
            reply.MapHeader(3);
            reply.Bulk("lastkey"u8);
            reply.Integer(spec.LastKey < 0 ? spec.LastKey : spec.LastKey - spec.FirstKey);
            reply.Bulk("keystep"u8);
            reply.Integer(spec.Step);
            reply.Bulk("limit"u8);
            reply.Integer(0);
            reply.Bulk("notes"u8);
            reply.Bulk(""u8);
        }
        else
        {
            reply.ArrayHeader(0);
        }
        reply.ArrayHeader(spec.Subcommands.Count);
        foreach (var sub in spec.Subcommands) WriteInfo(reply, sub);
    }

    private static IEnumerable<string> Categories(CommandSpec spec)
    {
        if (spec.Flags.HasFlag(CommandFlags.Write)) yield return "@write";
        if (spec.Flags.HasFlag(CommandFlags.ReadOnly)) yield return "@read";
        if (spec.Flags.HasFlag(CommandFlags.Admin)) yield return "@admin";
        if (spec.Flags.HasFlag(CommandFlags.Admin)) yield return "@dangerous";
        if (spec.Flags.HasFlag(CommandFlags.PubSub)) yield return "@pubsub";
        if (spec.Flags.HasFlag(CommandFlags.Fast)) yield return "@fast";
        else yield return "@slow";
        if (spec.Flags.HasFlag(CommandFlags.Blocking)) yield return "@blocking";
        yield return "@" + spec.Group switch
        {
            "generic" => "keyspace",
            "server" => "admin",
            "cluster" => "admin",
            var g => g,
        };
    }

    private static void CommandDocs(ref CommandContext c)
    {
        List<CommandSpec> specs = [];
        if (c.Count == 2) specs.AddRange(c.Server.Commands.All);
        else
            for (int i = 2; i < c.Count; i++)
                if (Find(c.Server.Commands, c.ArgString(i)) is { } s) specs.Add(s);
        c.Reply.MapHeader(specs.Count);
        foreach (var spec in specs)
        {
            c.Reply.Bulk(spec.WireName);
            WriteDocs(c.Reply, spec);
        }
    }

    private static void WriteDocs(ReplyBuffer reply, CommandSpec spec)
    {
        bool hasSubs = spec.Subcommands.Count > 0;
        reply.MapHeader(hasSubs ? 5 : 4);
        reply.Bulk("summary"u8);
        reply.Bulk(spec.Summary);
        reply.Bulk("since"u8);
        reply.Bulk(spec.Since);
        reply.Bulk("group"u8);
        reply.Bulk(spec.Group);
        reply.Bulk("complexity"u8);
        reply.Bulk(spec.Complexity);
        if (!hasSubs) return;
        reply.Bulk("subcommands"u8);
        reply.MapHeader(spec.Subcommands.Count);
        foreach (var sub in spec.Subcommands)
        {
            reply.Bulk(sub.WireName);
            WriteDocs(reply, sub);
        }
    }

    private static void CommandGetKeys(ref CommandContext c)
    {
        if (!c.Server.Commands.TryGet(c.Arg(2), out var spec))
        {
            c.Reply.Error("ERR Invalid command specified");
            return;
        }
        int argc = c.Count - 2;
        if (!spec.ArityOk(argc))
        {
            c.Reply.Error("ERR Invalid number of arguments specified for command");
            return;
        }
        if (spec.FirstKey <= 0)
        {
            c.Reply.Error("ERR The command has no key arguments");
            return;
        }
        int last = spec.LastKey < 0 ? argc + spec.LastKey : spec.LastKey;
        var keys = new List<int>();
        for (int k = spec.FirstKey; k <= last && k < argc; k += Math.Max(1, spec.Step)) keys.Add(k + 2);
        c.Reply.ArrayHeader(keys.Count);
        foreach (int k in keys) c.Reply.Bulk(c.Arg(k));
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
                "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
                "HELP", "    Print this help.",
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

    private static readonly string[] DefaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"];

    public static string Render(RedisServer server, IReadOnlySet<string> requested)
    {
        bool all = requested.Count == 0 || requested.Contains("all") || requested.Contains("everything") || requested.Contains("default");
        var sb = new StringBuilder();
        foreach (var section in DefaultSections)
        {
            if (!all && !requested.Contains(section)) continue;
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
                Line("redis_mode", "standalone");
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
                Line("hz", server.Config.Hz);
                Line("configured_hz", server.Config.Hz);
                Line("executable", Environment.ProcessPath ?? "");
                Line("config_file", server.Options.ConfigFile ?? "");
                break;
            case "clients":
                sb.Append("# Clients\r\n");
                Line("connected_clients", server.Clients.Count);
                Line("cluster_connections", 0);
                Line("maxclients", server.Config.MaxClients);
                Line("client_recent_max_input_buffer", 0);
                Line("client_recent_max_output_buffer", 0);
                Line("blocked_clients", server.Blocking.BlockedClients);
                Line("tracking_clients", 0);
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
                Line("mem_not_counted_for_evict", 0);
                Line("mem_clients_normal", server.Clients.Count * (long)MaxMemory.ClientBytes);
                Line("mem_allocator", "dotnet-gc");
                // Allocation accounting from outside: sample total_allocated_bytes before and after a load run.
                Line("total_allocated_bytes", GC.GetTotalAllocatedBytes(precise: false));
                Line("gc_gen0_collections", GC.CollectionCount(0));
                Line("gc_gen1_collections", GC.CollectionCount(1));
                Line("gc_gen2_collections", GC.CollectionCount(2));
                Line("gc_heap_size_bytes", GC.GetGCMemoryInfo().HeapSizeBytes);
                Line("gc_pause_time_total_ms", (long)GC.GetTotalPauseDuration().TotalMilliseconds);
                Line("libos_buffers_outstanding", server.LibOS.Pool.Outstanding);
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
                Line("instantaneous_ops_per_sec", 0);
                Line("total_net_input_bytes", s.NetInputBytes);
                Line("total_net_output_bytes", s.NetOutputBytes);
                Line("rejected_connections", s.RejectedConnections);
                Line("expired_keys", s.ExpiredKeys);
                Line("evicted_keys", s.EvictedKeys);
                Line("keyspace_hits", s.KeyspaceHits);
                Line("keyspace_misses", s.KeyspaceMisses);
                Line("pubsub_channels", server.PubSub.ChannelCount);
                Line("pubsub_patterns", server.PubSub.PatternCount);
                Line("libos_scheduler_runs", server.LibOS.Scheduler.Runs);
                break;
            }
            case "replication":
                sb.Append("# Replication\r\n");
                Line("role", "master");
                Line("connected_slaves", 0);
                Line("master_failover_state", "no-failover");
                Line("master_replid", server.RunId);
                Line("master_replid2", "0000000000000000000000000000000000000000");
                Line("master_repl_offset", 0);
                Line("second_repl_offset", -1);
                Line("repl_backlog_active", 0);
                Line("repl_backlog_size", 1048576);
                Line("repl_backlog_first_byte_offset", 0);
                Line("repl_backlog_histlen", 0);
                break;
            case "cpu":
            {
                sb.Append("# CPU\r\n");
                var p = System.Diagnostics.Process.GetCurrentProcess();
                Line("used_cpu_sys", p.PrivilegedProcessorTime.TotalSeconds.ToString("F6", ci));
                Line("used_cpu_user", p.UserProcessorTime.TotalSeconds.ToString("F6", ci));
                break;
            }
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
