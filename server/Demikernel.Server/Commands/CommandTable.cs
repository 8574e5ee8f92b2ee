using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Demikernel.Server.Logging;

namespace Demikernel.Server.Commands;

/// <summary>
/// The command table: name → <see cref="CommandSpec"/>, looked up straight from the request bytes (ASCII
/// case-insensitive, no allocation). The dispatcher checks authentication and arity here, once, for every command.
/// </summary>
public sealed class CommandTable
{
    private readonly Dictionary<string, CommandSpec> _commands = new(AsciiIgnoreCaseComparer.Instance);

    /// <summary>The request-bytes index: open addressing, linear probing, at most half full. A dictionary's alternate
    /// lookup reaches its comparer (hash, then equality) through two interface calls on every command; this one is
    /// probed with direct, inlined calls.</summary>
    private WireName[] _byWire = new WireName[256];

    private readonly record struct WireName(uint Hash, byte[] Name, CommandSpec Spec);

    public int Count => _commands.Count;

    public IEnumerable<CommandSpec> All => _commands.Values;

    /// <summary>
    /// Adds a command (name and handler, our own flags, subcommands): it takes redis-server 7.0's metadata for that name
    /// (<see cref="CommandMetadata"/>). A command redis-server does not have must bring its own arity and flags.
    /// </summary>
    public void Add(CommandSpec spec)
    {
        string wire = spec.Name.ToLowerInvariant();
        var named = CommandMetadata.Apply(spec, wire);
        named = named with
        {
            AclId = Acl.AclCommands.IdFor(named),
            Subcommands = spec.Subcommands.Select(s =>
            {
                var sub = CommandMetadata.Apply(s, $"{wire}|{s.Name.ToLowerInvariant()}");
                return Numbered(sub with { AclId = Acl.AclCommands.IdFor(sub) });
            }).ToArray(),
        };
        named = Numbered(named);
        foreach (var s in named.Subcommands.Prepend(named))
            if (s.Arity == 0) throw new InvalidOperationException($"command {s.WireName} has no arity: redis-server has no such command, so its spec must give one");
        if (!_commands.TryAdd(spec.Name, named)) throw new InvalidOperationException($"command {spec.Name} registered twice");
        if (_commands.Count * 2 > _byWire.Length)
        {
            var old = _byWire;
            _byWire = new WireName[old.Length * 2];
            foreach (var w in old)
                if (w.Spec is not null) Index(w);
        }
        byte[] wireName = Encoding.ASCII.GetBytes(spec.Name);
        Index(new WireName(WireHash(wireName), wireName, named));
        if (spec.Name == "PING") PingHandler = spec.Handler;
    }

    /// <summary>Per-command counters (INFO commandstats, latencystats), indexed by <see cref="CommandSpec.Id"/>.</summary>
    internal Diagnostics.CommandStats Stats { get; } = new();

    private CommandSpec Numbered(CommandSpec spec)
    {
        var numbered = spec with { Id = Stats.Register(spec) };
        Stats.Replace(numbered);
        return numbered;
    }

    /// <summary>PING's handler: MISCONF refuses PING too, as redis-server does.</summary>
    internal CommandHandler? PingHandler { get; set; }

    public bool TryGet(ReadOnlySpan<byte> name, out CommandSpec spec) => (spec = Find(name)!) is not null;

    /// <summary>The command named by <paramref name="name"/> (ASCII case-insensitive), or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private CommandSpec? Find(ReadOnlySpan<byte> name)
    {
        uint hash = WireHash(name);
        var table = _byWire;
        int mask = table.Length - 1;
        for (int i = (int)hash & mask; ; i = (i + 1) & mask)
        {
            ref readonly var w = ref table[i];
            if (w.Spec is null) return null;
            if (w.Hash == hash && Ascii.EqualsIgnoreCase(name, w.Name)) return w.Spec;
        }
    }

    private void Index(WireName w)
    {
        int mask = _byWire.Length - 1;
        int i = (int)w.Hash & mask;
        while (_byWire[i].Spec is not null) i = (i + 1) & mask;
        _byWire[i] = w;
    }

    /// <summary>FNV-1a over the bytes with the ASCII case bit set: "get", "GET" and "Get" hash alike.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint WireHash(ReadOnlySpan<byte> name)
    {
        uint h = 2166136261;
        foreach (byte b in name) h = (h ^ (uint)(b | 0x20)) * 16777619;
        return h;
    }

    public bool TryGet(string name, out CommandSpec spec) => _commands.TryGetValue(name, out spec!);

    /// <summary>Runs one request: lookup, authentication, arity, subcommand, handler. Writes exactly one reply.</summary>
    public void Execute(ref CommandContext context)
    {
        var client = context.Client;
        long mark = context.ClockMark;
        context.ClockMark = 0; // a call refused below ends no timed run
        // Errors written to a client are counted (INFO errorstats); a script's redis.call()s answer the script, which
        // answers its caller: counted there.
        if (context.Reply.Errors is null && !client.IsScript) context.Reply.Errors = context.Server.Diagnostics.Errors;
        if (Find(context.Arg(0)) is not { } spec)
        {
            if (client.InMulti) client.MultiAborted = true;
            UnknownCommand(ref context);
            return;
        }
        if (!client.Authenticated && (spec.Flags & CommandFlags.NoAuth) == 0 && context.Server.RequiresAuth)
        {
            if (client.InMulti) client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            context.Reply.Error(Errors.NoAuth);
            return;
        }
        if (!spec.ArityOk(context.Count))
        {
            if (client.InMulti) client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            context.Reply.Error(Errors.WrongArgCount(spec.WireName));
            return;
        }
        if (client.SubscriptionCount > 0 && client.Protocol == Resp.RespVersion.Resp2 && (spec.Flags & CommandFlags.AllowedWhileSubscribed) == 0)
        {
            Stats.Rejected(spec.Id);
            context.Reply.Error($"ERR Can't execute '{spec.WireName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return;
        }
        if (spec.Subcommands.Length > 0 && context.Count >= 2)
        {
            var sub = spec.Subcommand(context.Arg(1));
            if (sub is null)
            {
                if (client.InMulti) client.MultiAborted = true;
                UnknownSubcommand(ref context, spec.Name);
                return;
            }
            if (!sub.ArityOk(context.Count))
            {
                if (client.InMulti) client.MultiAborted = true;
                Stats.Rejected(sub.Id);
                context.Reply.Error(Errors.WrongArgCount(sub.WireName));
                return;
            }
            spec = sub;
        }
        // processCommand's order: no_multi, then ACL, then memory, busy scripts, persistence errors
        if (client.InMulti && (spec.Flags & CommandFlags.NoMulti) != 0)
        {
            client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            context.Reply.Error("ERR Command not allowed inside a transaction");
            return;
        }
        // ACL (redis-server's processCommand runs ACLCheckAllPerm here): a user with every permission costs one branch.
        if (!client.User.Unrestricted && !context.Server.Acl.Allow(ref context, spec))
        {
            if (client.InMulti) client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            return;
        }
        // Cluster mode: keys of a slot served elsewhere are redirected (MOVED, ASK, CROSSSLOT, ...; Cluster/).
        if (context.Server.Cluster is { } cluster && Cluster.ClusterCommands.Redirects(ref context, spec, cluster))
        {
            if (client.InMulti) client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            return;
        }
        // A client in MONITOR mode is a replica for redis-server: it may not touch the keyspace.
        if (client.Monitoring && (spec.Flags & (CommandFlags.Write | CommandFlags.ReadOnly | CommandFlags.MayReplicate)) != 0)
        {
            Stats.Rejected(spec.Id);
            context.Reply.Error("ERR Replica can't interact with the keyspace");
            return;
        }
        // redis-server's processCommand: with maxmemory set, evict first; when that fails, denyoom commands (and, inside
        // MULTI, anything but EXEC, DISCARD, QUIT, RESET) are refused. Not for the commands EXEC replays, nor for a
        // client that must be obeyed (redis-server loads its AOF and applies its master's stream without processCommand).
        // Memory.LastResult keeps the outcome for the whole command: scripts' denyoom calls read it (pre_command_oom_state).
        if (context.Server.Memory.Limit != 0 && !client.InExec && !client.MustObey && MemoryRefuses(ref context, spec))
        {
            Stats.Rejected(spec.Id);
            return;
        }
        // While the dataset loads at start only commands flagged loading run (processCommand's LOADING check); the
        // loader's own client is obeyed.
        if (context.Server.Loading is not null && (spec.Flags & CommandFlags.Loading) == 0 && !client.MustObey)
        {
            if (client.InMulti) client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            context.Reply.Error(Errors.Loading);
            return;
        }
        // A script past busy-reply-threshold lets other clients in (Scripting/LuaEngine's hook): only allow_busy
        // commands run, the others get BUSY, as processCommand does while a script is timed out.
        if (context.Server.BusyScript is { } busy && (spec.Flags & CommandFlags.AllowBusy) == 0 && !ReferenceEquals(client, busy.Call.Client))
        {
            if (client.InMulti) client.MultiAborted = true;
            Stats.Rejected(spec.Id);
            context.Reply.Error(busy.Run.IsFunction ? Errors.BusyFunction : Errors.BusyScript);
            return;
        }
        // redis-server's processCommand: while the last save (or an AOF write) failed, writes and PING are refused.
        if (context.Server.Persistence.WriteDeniedError is { } denied && !client.MustObey)
        {
            if ((FlagsOf(ref context, spec) & CommandFlags.Write) != 0 || ReferenceEquals(spec.Handler, PingHandler))
            {
                if (client.InMulti) client.MultiAborted = true;
                Stats.Rejected(spec.Id);
                context.Reply.Error(denied);
                return;
            }
        }
        // Replication's checks (NOREPLICAS, READONLY, MASTERDOWN), only on a replica or with min-replicas-to-write.
        if (context.Server.Replication.Guarding && ReplicationRefuses(ref context, spec))
        {
            Stats.Rejected(spec.Id);
            return;
        }
        // CLIENT PAUSE: held, not refused; the session runs the request again when the pause ends
        if (context.Server.Diagnostics.Pause.Mode != Diagnostics.PauseMode.None && context.Server.Diagnostics.Pause.Holds(ref context, spec))
        {
            client.PauseHeld = true;
            return;
        }
        if (client.InMulti && (spec.Flags & CommandFlags.RunsInMulti) == 0)
        {
            client.MultiQueue.Add(context.Buffer[..context.FrameLength].ToArray());
            context.Reply.Raw("+QUEUED\r\n"u8);
            return;
        }
        context.Command = spec;
        context.Server.Stats.CommandsProcessed++;
        client.LastCommand = spec.WireName;
        int replyMark = context.Reply.Length;
        var effects = context.Server.Effects;
        var diagnostics = context.Server.Diagnostics;
        bool recording = effects.HasConsumers;
        if (recording) effects.BeginCommand(spec);
        context.Server.Tracking.BeforeCommand(client);
        if (diagnostics.Monitors.Count > 0 && Diagnostics.ServerDiagnostics.MonitoredBeforeRun(spec) && !context.IsRetry && !client.NoStats)
            diagnostics.FeedMonitors(ref context);
        // Failed = an error since the start of this call or the end of the
        // last call nested in it (redis's prev_err_count), so EXEC is not failed by its commands' errors.
        var errors = diagnostics.Errors;
        errors.Mark = errors.Total;
        long started = mark != 0 ? mark : Stopwatch.GetTimestamp();
        try
        {
            spec.Handler(ref context);
        }
        catch (Exception e)
        {
            CommandFailures.Answer(ref context, replyMark, e); // answered and logged; the connection goes on
        }
        finally
        {
            if (recording)
            {
                effects.EndCommand(ref context);
                client.ReplOffset = context.Server.Replication.MasterReplOffset; // redis's c->woff, for WAIT
            }
        }
        context.Server.Tracking.AfterCommand(ref context, spec);
        long ended = Stopwatch.GetTimestamp();
        context.ClockMark = ended;
        long ticks = ended - started;
        bool failed = errors.Total > errors.Mark;
        errors.Mark = errors.Total;
        if (!client.NoStats) Completed(ref context, spec, ticks, failed);
        var blocking = context.Server.Blocking;
        if (blocking.HasReady && !client.InExec && context.Server.RunningScript is null) blocking.ServeReady();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool ReplicationRefuses(ref CommandContext context, CommandSpec spec)
    {
        if (context.Client.InExec || context.Server.Replication.Refusal(context.Client, FlagsOf(ref context, spec)) is not { } error) return false;
        if (context.Client.InMulti) context.Client.MultiAborted = true;
        context.Reply.Error(error);
        return true;
    }

    /// <summary>
    /// A call's counters (redis's call(): commandstats, latency histogram, slow log, latency monitor, MONITOR). A call
    /// that left its client blocked is counted when it is served. Only array writes here; the slow log and MONITOR
    /// are out of line and only when they want the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Completed(ref CommandContext context, CommandSpec spec, long ticks, bool failed)
    {
        var diagnostics = context.Server.Diagnostics;
        bool counted = !context.Client.Blocked;
        long micros = Diagnostics.CommandStats.TicksToMicros(ticks);
        if (counted) Stats.Record(spec.Id, ticks, micros, failed);
        bool slow = counted && diagnostics.SlowLog.Wants(micros) && (spec.Flags & CommandFlags.SkipSlowlog) == 0;
        bool monitor = diagnostics.Monitors.Count > 0 && !context.IsRetry && (spec.Flags & (CommandFlags.SkipMonitor | CommandFlags.Admin)) == 0;
        if (counted && diagnostics.Latency.ThresholdMs != 0) diagnostics.LatencySample(spec, micros);
        if (slow || monitor) diagnostics.AfterCall(ref context, spec, micros, slow, monitor);
    }

    internal const string OomError = "OOM command not allowed when used memory > 'maxmemory'.";

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool MemoryRefuses(ref CommandContext context, CommandSpec spec)
    {
        if (context.Server.Memory.Check() != Memory.EvictionResult.Fail) return false;
        var client = context.Client;
        bool refuse = (FlagsOf(ref context, spec) & CommandFlags.DenyOom) != 0 ||
                      (client.InMulti && spec.Name is not ("EXEC" or "DISCARD" or "QUIT" or "RESET"));
        if (!refuse) return false;
        if (client.InMulti) client.MultiAborted = true;
        context.Reply.Error(OomError);
        return true;
    }

    /// <summary>This call's flags (getCommandFlags): a script's declared flags for EVAL and FCALL.</summary>
    private static CommandFlags FlagsOf(ref CommandContext context, CommandSpec spec) =>
        spec.FlagsFor is { } resolve ? resolve(ref context, spec.Flags) : spec.Flags;

    /// <summary>
    /// redis-server's "unknown command '%.128s', with args beginning with: " followed by each argument as
    /// <c>'%.*s' </c> while the list is under 128 bytes (each cut to what is left of 128). The bytes are echoed as
    /// they came (printf stops at a NUL); the error writer turns CR and LF into spaces.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UnknownCommand(ref CommandContext context)
    {
        var text = new List<byte>(256);
        text.AddRange("ERR unknown command '"u8);
        AppendC(text, context.Arg(0), 128);
        text.AddRange("', with args beginning with: "u8);
        int previewStart = text.Count;
        for (int i = 1; i < context.Count && text.Count - previewStart < 128; i++)
        {
            text.Add((byte)'\'');
            AppendC(text, context.Arg(i), 128 - (text.Count - 1 - previewStart));
            text.AddRange("' "u8);
        }
        context.Reply.Error(CollectionsMarshal.AsSpan(text));
    }

    /// <summary>redis-server's "unknown subcommand '%.128s'. Try CMD HELP.", the argument's bytes as they came.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UnknownSubcommand(ref CommandContext context, string command)
    {
        var text = new List<byte>(192);
        text.AddRange("ERR unknown subcommand '"u8);
        AppendC(text, context.Arg(1), 128);
        text.AddRange("'. Try "u8);
        text.AddRange(Encoding.ASCII.GetBytes(command.ToUpperInvariant()));
        text.AddRange(" HELP."u8);
        context.Reply.Error(CollectionsMarshal.AsSpan(text));
    }

    /// <summary>printf's <c>%.Ns</c>: at most <paramref name="max"/> bytes, stopping at a NUL.</summary>
    private static void AppendC(List<byte> text, ReadOnlySpan<byte> value, int max)
    {
        int nul = value.IndexOf((byte)0);
        if (nul >= 0) value = value[..nul];
        if (value.Length > max) value = value[..Math.Max(max, 0)];
        text.AddRange(value);
    }

    /// <summary>ASCII case-insensitive string keys.</summary>
    private sealed class AsciiIgnoreCaseComparer : IEqualityComparer<string>
    {
        public static readonly AsciiIgnoreCaseComparer Instance = new();

        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(string s)
        {
            uint h = 2166136261;
            foreach (char c in s) h = (h ^ (uint)(c | 0x20)) * 16777619;
            return (int)h;
        }
    }
}
