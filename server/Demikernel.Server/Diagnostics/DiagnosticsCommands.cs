using System.Globalization;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Diagnostics;

/// <summary>The operator's commands: SLOWLOG, LATENCY, MONITOR, and CLIENT REPLY (registered by CLIENT).</summary>
internal static class DiagnosticsCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("SLOWLOG", UnknownOrHelp)
        {
            Subcommands =
            [
                new("GET", SlowLogGet),
                new("LEN", SlowLogLen),
                new("RESET", SlowLogReset),
                new("HELP", SlowLogHelp),
            ],
        });
        table.Add(new("LATENCY", UnknownOrHelp)
        {
            Subcommands =
            [
                new("LATEST", LatencyLatest),
                new("HISTORY", LatencyHistory),
                new("RESET", LatencyReset),
                new("HISTOGRAM", LatencyHistogramCommand),
                new("DOCTOR", LatencyDoctor),
                new("GRAPH", LatencyGraph),
                new("HELP", LatencyHelp),
            ],
        });
        table.Add(new("MONITOR", Monitor));
        MemoryCommands.Register(table);
        DebugCommands.Register(table);
    }

    // The container commands' arity makes them run only with a subcommand, which the table resolves first.
    private static void UnknownOrHelp(ref CommandContext c) => c.Reply.Error(Errors.UnknownSubcommand(c.ArgString(1), c.Command.Name));

    /// <summary>redis's addReplyHelp: "NAME &lt;subcommand&gt; ..." header, the lines, then HELP.</summary>
    internal static void ReplyHelp(ref CommandContext c, string command, string[] lines)
    {
        c.Reply.ArrayHeader(lines.Length + 3);
        c.Reply.SimpleString($"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        foreach (var line in lines) c.Reply.SimpleString(line);
        c.Reply.SimpleString("HELP"u8);
        c.Reply.SimpleString("    Prints this help."u8);
    }

    // ---------------------------------------------------------------- SLOWLOG

    private static void SlowLogGet(ref CommandContext c)
    {
        var log = c.Server.Diagnostics.SlowLog;
        long count = 10;
        if (c.Count == 3)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(2), out count) || count < -1)
            {
                c.Reply.Error("ERR count should be greater than or equal to -1");
                return;
            }
            if (count == -1) count = log.Count;
        }
        int sent = (int)Math.Min(count, log.Count);
        c.Reply.ArrayHeader(sent);
        foreach (var entry in log.Newest)
        {
            if (sent-- == 0) break;
            c.Reply.ArrayHeader(6);
            c.Reply.Integer(entry.Id);
            c.Reply.Integer(entry.UnixSeconds);
            c.Reply.Integer(entry.Micros);
            c.Reply.ArrayHeader(entry.Args.Length);
            foreach (var arg in entry.Args) c.Reply.Bulk(arg);
            c.Reply.Bulk(entry.Peer);
            c.Reply.Bulk(entry.Name);
        }
    }

    private static void SlowLogLen(ref CommandContext c) => c.Reply.Integer(c.Server.Diagnostics.SlowLog.Count);

    private static void SlowLogReset(ref CommandContext c)
    {
        c.Server.Diagnostics.SlowLog.Reset();
        c.Reply.Ok();
    }

    private static void SlowLogHelp(ref CommandContext c) => ReplyHelp(ref c, "SLOWLOG",
    [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ]);

    // ---------------------------------------------------------------- LATENCY

    private static void LatencyLatest(ref CommandContext c)
    {
        var latency = c.Server.Diagnostics.Latency;
        var events = latency.Events.ToList();
        c.Reply.ArrayHeader(events.Count);
        foreach (var (name, series) in events)
        {
            var last = series.Last;
            c.Reply.ArrayHeader(4);
            c.Reply.Bulk(name);
            c.Reply.Integer(last.Time);
            c.Reply.Integer(last.Latency);
            c.Reply.Integer(series.Max);
        }
    }

    private static void LatencyHistory(ref CommandContext c)
    {
        var series = c.Server.Diagnostics.Latency.Find(c.ArgString(2));
        if (series is null)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        var samples = new List<(long Time, long Latency)>();
        for (int j = 0; j < LatencyMonitor.SeriesLength; j++)
        {
            var sample = series.Samples[(series.Index + j) % LatencyMonitor.SeriesLength];
            if (sample.Time != 0) samples.Add(sample);
        }
        c.Reply.ArrayHeader(samples.Count);
        foreach (var (time, value) in samples)
        {
            c.Reply.ArrayHeader(2);
            c.Reply.Integer(time);
            c.Reply.Integer(value);
        }
    }

    private static void LatencyReset(ref CommandContext c)
    {
        var latency = c.Server.Diagnostics.Latency;
        if (c.Count == 2)
        {
            c.Reply.Integer(latency.Reset(null));
            return;
        }
        int resets = 0;
        for (int j = 2; j < c.Count; j++) resets += latency.Reset(c.ArgString(j));
        c.Reply.Integer(resets);
    }

    private static void LatencyGraph(ref CommandContext c)
    {
        string name = c.ArgString(2);
        if (c.Server.Diagnostics.Latency.Find(name) is not { } series)
        {
            c.Reply.Error($"ERR No samples available for event '{name}'");
            return;
        }
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(LatencyReport.Graph(name, series, c.Server.NowMs / 1000)));
    }

    private static void LatencyDoctor(ref CommandContext c)
    {
        var config = c.Server.Config;
        string Get(string name) => config.Match(name).First().Value;
        string report = LatencyReport.Doctor(c.Server.Diagnostics.Latency, c.Server.NowMs / 1000,
            c.Server.Diagnostics.SlowLog.SlowerThanMicros, Get("appendfsync"),
            int.Parse(Get("hz"), CultureInfo.InvariantCulture), LatencyReport.AnonHugePagesBytes());
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(report));
    }

    private static void LatencyHelp(ref CommandContext c)
    {
        ReplyHelp(ref c, "LATENCY",
        [
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ]);
    }

    /// <summary>LATENCY HISTOGRAM [command ...]: per command with a histogram, its calls and cumulative buckets
    /// (µs → count); a container name stands for its subcommands too; unknown names are skipped.</summary>
    private static void LatencyHistogramCommand(ref CommandContext c)
    {
        var table = c.Server.Commands;
        var specs = new List<CommandSpec>();
        void AddWithSubcommands(CommandSpec spec)
        {
            specs.Add(spec);
            foreach (var sub in spec.Subcommands.OrderBy(s => s.WireName, StringComparer.Ordinal)) specs.Add(sub);
        }
        if (c.Count == 2)
        {
            foreach (var spec in table.All.OrderBy(s => s.WireName, StringComparer.Ordinal)) AddWithSubcommands(spec);
        }
        else
        {
            for (int j = 2; j < c.Count; j++)
            {
                string name = c.ArgString(j);
                int bar = name.IndexOf('|');
                if (!table.TryGet(bar < 0 ? name : name[..bar], out var spec)) continue;
                if (bar < 0)
                {
                    AddWithSubcommands(spec);
                    continue;
                }
                var sub = spec.Subcommands.FirstOrDefault(s => s.Name.Equals(name[(bar + 1)..], StringComparison.OrdinalIgnoreCase));
                if (sub is not null) specs.Add(sub);
            }
        }
        var stats = table.Stats;
        var withData = specs.Where(s => stats.Histogram(s.Id) is not null).ToList();
        c.Reply.MapHeader(withData.Count);
        foreach (var spec in withData)
        {
            var histogram = stats.Histogram(spec.Id)!;
            c.Reply.Bulk(spec.WireName);
            c.Reply.MapHeader(2);
            c.Reply.Bulk("calls"u8);
            c.Reply.Integer(histogram.TotalCount);
            c.Reply.Bulk("histogram_usec"u8);
            var buckets = histogram.LogBuckets();
            c.Reply.MapHeader(buckets.Count);
            foreach (var (micros, cumulative) in buckets)
            {
                c.Reply.Integer(micros);
                c.Reply.Integer(cumulative);
            }
        }
    }

    // ---------------------------------------------------------------- MONITOR, CLIENT REPLY

    private static void Monitor(ref CommandContext c)
    {
        var client = c.Client;
        // redis refuses clients that expect one reply per command (CLIENT_DENY_BLOCKING: in EXEC, in a script)
        if (client.InExec || client.IsScript)
        {
            c.Reply.Error("ERR MONITOR isn't allowed for DENY BLOCKING client");
            return;
        }
        if (client.Monitoring) return; // already monitoring: redis ignores it, no reply
        client.Monitoring = true;
        if (client.Session is { } session) c.Server.Diagnostics.Monitors.Add(session);
        c.Reply.Ok();
    }

    /// <summary>RESET's share: out of MONITOR mode, replies back on (redis's clearClientConnectionState).</summary>
    internal static void OnReset(ClientState client, RedisServer server)
    {
        client.ReplyMode = ReplyMode.On;
        if (!client.Monitoring) return;
        client.Monitoring = false;
        if (client.Session is { } session) server.Diagnostics.Monitors.Remove(session);
    }

    /// <summary>CLIENT PAUSE timeout [WRITE|ALL] (ms; redis's getTimeoutFromObjectOrReply texts).</summary>
    internal static void ClientPause(ref CommandContext c)
    {
        if (c.Count > 4)
        {
            SubcommandSyntaxError(ref c);
            return;
        }
        var mode = PauseMode.All;
        if (c.Count == 4)
        {
            if (c.ArgIs(3, "WRITE"u8)) mode = PauseMode.Write;
            else if (!c.ArgIs(3, "ALL"u8))
            {
                c.Reply.Error("ERR CLIENT PAUSE mode must be WRITE or ALL");
                return;
            }
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long ms))
        {
            c.Reply.Error("ERR timeout is not an integer or out of range");
            return;
        }
        if (ms < 0)
        {
            c.Reply.Error("ERR timeout is negative");
            return;
        }
        long now = c.Server.NowMs;
        c.Server.Diagnostics.Pause.Pause(ms > 0 ? (ms > long.MaxValue - now ? long.MaxValue : now + ms) : 0, mode);
        c.Reply.Ok();
    }

    internal static void ClientUnpause(ref CommandContext c)
    {
        c.Server.Diagnostics.Pause.Unpause();
        c.Reply.Ok();
    }

    /// <summary>CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when the client was blocked and is now answered, else 0.</summary>
    internal static void ClientUnblock(ref CommandContext c)
    {
        if (c.Count > 4)
        {
            SubcommandSyntaxError(ref c);
            return;
        }
        bool error = false;
        if (c.Count == 4)
        {
            if (c.ArgIs(3, "ERROR"u8)) error = true;
            else if (!c.ArgIs(3, "TIMEOUT"u8))
            {
                c.Reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return;
            }
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long id))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        foreach (var session in c.Server.Clients)
        {
            if (session.Client.Id != id) continue;
            c.Reply.Integer(session.UnblockByCommand(error) ? 1 : 0);
            return;
        }
        c.Reply.Integer(0);
    }

    /// <summary>redis's addReplySubcommandSyntaxError (the subcommand as typed, cut to 128 bytes).</summary>
    private static void SubcommandSyntaxError(ref CommandContext c)
    {
        string sub = c.ArgString(1);
        if (sub.Length > 128) sub = sub[..128];
        c.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {c.ArgString(0).ToUpperInvariant()} HELP.");
    }

    /// <summary>CLIENT REPLY ON|OFF|SKIP: ON answers OK; OFF and SKIP answer nothing (the session drops replies).</summary>
    internal static void ClientReply(ref CommandContext c)
    {
        var client = c.Client;
        if (c.ArgIs(2, "ON"u8))
        {
            client.ReplyMode = ReplyMode.On;
            c.Reply.Ok();
        }
        else if (c.ArgIs(2, "OFF"u8))
        {
            client.ReplyMode = ReplyMode.Off;
        }
        else if (c.ArgIs(2, "SKIP"u8))
        {
            if (client.ReplyMode != ReplyMode.Off) client.ReplyMode = ReplyMode.SkipNext;
        }
        else
        {
            c.Reply.Error(Errors.Syntax);
        }
    }
}
