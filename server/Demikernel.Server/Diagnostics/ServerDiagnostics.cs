using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// What the server records about its own work for operators: error counts, the slow log, the samples behind
/// instantaneous_*, MONITOR's clients and the latency monitor. The command table's per-command counters live with the
/// table (<see cref="CommandTable.Stats"/>); the dispatcher calls <see cref="AfterCall"/> only when a command is slow
/// or someone monitors.
/// </summary>
public sealed class ServerDiagnostics
{
    private readonly RedisServer _server;

    internal ServerDiagnostics(RedisServer server)
    {
        _server = server;
        Pause = new ClientPause(server);
        server.AddCronStep("instantaneous-metrics", () =>
            Instantaneous.Tick(server.NowMs, server.Stats.CommandsProcessed, server.Stats.NetInputBytes, server.Stats.NetOutputBytes));
        ApplyConfig();
        server.Config.Changed += (name, _) =>
        {
            if (name is "slowlog-log-slower-than" or "slowlog-max-len" or "latency-monitor-threshold" or "latency-tracking"
                or "latency-tracking-info-percentiles") ApplyConfig();
        };
    }

    /// <summary>latency-tracking-info-percentiles as numbers.</summary>
    internal double[] InfoPercentiles { get; private set; } = [];

    private void ApplyConfig()
    {
        var config = _server.Config;
        string Get(string name) => config.Match(name).First().Value;
        SlowLog.SlowerThanMicros = long.Parse(Get("slowlog-log-slower-than"), CultureInfo.InvariantCulture);
        SlowLog.MaxLength = long.Parse(Get("slowlog-max-len"), CultureInfo.InvariantCulture);
        Latency.ThresholdMs = long.Parse(Get("latency-monitor-threshold"), CultureInfo.InvariantCulture);
        _server.Commands.Stats.LatencyTracking = Get("latency-tracking") == "yes";
        InfoPercentiles = Percentiles.Parse(Get("latency-tracking-info-percentiles"));
    }

    internal ErrorStats Errors { get; } = new();
    internal SlowLog SlowLog { get; } = new();
    internal InstantaneousMetrics Instantaneous { get; } = new();
    internal LatencyMonitor Latency { get; } = new();
    internal ClientPause Pause { get; }

    /// <summary>DEBUG SET-ACTIVE-EXPIRE: false stops the cron's active expiry (redis's active_expire_enabled).</summary>
    internal bool ActiveExpire { get; set; } = true;

    /// <summary>DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE, FUNCTION RESTORE and RDB loading skip the CRC64 check.</summary>
    internal bool SkipChecksumValidation { get; set; }

    /// <summary>DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call commands flagged noscript.</summary>
    internal bool DisableDenyScripts { get; set; }

    /// <summary>Sessions in MONITOR mode, in the order they asked.</summary>
    internal List<ClientSession> Monitors { get; } = [];

    /// <summary>CONFIG RESETSTAT's share: error counts and the instantaneous samples (the table resets its own).</summary>
    internal void ResetStats()
    {
        Errors.Reset();
        var s = _server.Stats;
        Instantaneous.Reset(_server.NowMs, s.CommandsProcessed, s.NetInputBytes, s.NetOutputBytes);
    }

    /// <summary>latencyAddSampleIfNeeded for a call: "fast-command" for commands flagged fast, else "command".</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void LatencySample(CommandSpec spec, long micros) =>
        Latency.AddIfNeeded((spec.Flags & CommandFlags.Fast) != 0 ? "fast-command" : "command", micros / 1000, _server.NowMs / 1000);

    /// <summary>The cron's active expiry pass ended: its time is LATENCY's "expire-cycle" event, as redis's
    /// activeExpireCycle samples it.</summary>
    internal void ExpireCycleDone(long startTimestamp)
    {
        if (Latency.ThresholdMs == 0) return;
        long ms = (long)System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
        Latency.AddIfNeeded("expire-cycle", ms, _server.NowMs / 1000);
    }

    /// <summary>EVAL and FCALL are shown to monitors before they run (their own flags say skip_monitor), so that the
    /// commands the script runs come after them, as in redis-server 7.0.</summary>
    internal static bool MonitoredBeforeRun(CommandSpec spec) =>
        spec.Name is "EVAL" or "EVALSHA" or "EVAL_RO" or "EVALSHA_RO" or "FCALL" or "FCALL_RO";

    /// <summary>The slow log's and MONITOR's share of a finished call (cold: only when one of them wants it).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void AfterCall(ref CommandContext c, CommandSpec spec, long micros, bool slow, bool monitor)
    {
        if (slow)
        {
            var args = RedactedArgs(ref c);
            var client = c.Client;
            SlowLog.Add(args, _server.NowMs / 1000, micros, client.IsScript ? "?:0" : client.Address, client.Name ?? "");
        }
        if (monitor) FeedMonitors(ref c);
    }

    /// <summary>redis's replicationFeedMonitors: one "+secs.usecs [db addr] "arg" ..." line to every monitor.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void FeedMonitors(ref CommandContext c)
    {
        var client = c.Client;
        long micros = (_server.LibOS.Time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var line = new StringBuilder("+");
        line.Append(CultureInfo.InvariantCulture, $"{micros / 1_000_000}.{micros % 1_000_000:D6} ");
        line.Append(CultureInfo.InvariantCulture, $"[{client.Database} {(client.IsScript ? "lua" : client.UnixSocketPath is { } path ? "unix:" + path : client.Catmem ? client.Address : client.Peer.ToString())}] ");
        var args = RedactedArgs(ref c);
        for (int j = 0; j < args.Count; j++)
        {
            line.Append(ClientInfo.Repr(args[j]));
            if (j != args.Count - 1) line.Append(' ');
        }
        line.Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(line.ToString());
        foreach (var monitor in Monitors) monitor.DeliverRaw(bytes);
    }

    private static readonly byte[] Redacted = "(redacted)"u8.ToArray();

    /// <summary>The request's arguments with AUTH's password (and HELLO's AUTH user and password) replaced by
    /// "(redacted)", as redis's redactClientCommandArgument hides them from MONITOR and the slow log.</summary>
    private static List<byte[]> RedactedArgs(ref CommandContext c)
    {
        var args = new List<byte[]>(c.Count);
        for (int i = 0; i < c.Count; i++) args.Add(c.Arg(i).ToArray());
        if (c.ArgIs(0, "AUTH"u8))
        {
            for (int i = 1; i < args.Count; i++) args[i] = Redacted;
        }
        else if (c.ArgIs(0, "HELLO"u8))
        {
            for (int i = 2; i < args.Count; i++)
            {
                if (c.ArgIs(i, "AUTH"u8) && i + 2 < args.Count)
                {
                    args[i + 1] = Redacted;
                    args[i + 2] = Redacted;
                    i += 2;
                }
                else if (c.ArgIs(i, "SETNAME"u8)) i++;
            }
        }
        return args;
    }
}
