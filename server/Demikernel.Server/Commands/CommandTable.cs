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
    private readonly Dictionary<string, CommandSpec>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public CommandTable()
    {
        _lookup = _commands.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => _commands.Count;

    public IEnumerable<CommandSpec> All => _commands.Values;

    public void Add(CommandSpec spec)
    {
        var named = spec with
        {
            WireName = spec.Name.ToLowerInvariant(),
            Subcommands = spec.Subcommands.Select(s => s with { WireName = $"{spec.Name}|{s.Name}".ToLowerInvariant() }).ToArray(),
        };
        if (!_commands.TryAdd(spec.Name, named)) throw new InvalidOperationException($"command {spec.Name} registered twice");
        if (spec.Name == "PING") PingHandler = spec.Handler;
    }

    /// <summary>PING's handler: MISCONF refuses PING too, as redis-server does.</summary>
    internal CommandHandler? PingHandler { get; set; }

    public bool TryGet(ReadOnlySpan<byte> name, out CommandSpec spec) => _lookup.TryGetValue(name, out spec!);

    public bool TryGet(string name, out CommandSpec spec) => _commands.TryGetValue(name, out spec!);

    /// <summary>Runs one request: lookup, authentication, arity, subcommand, handler. Writes exactly one reply.</summary>
    public void Execute(ref CommandContext context)
    {
        var client = context.Client;
        if (!_lookup.TryGetValue(context.Arg(0), out var spec))
        {
            if (client.InMulti) client.MultiAborted = true;
            context.Reply.Error(Errors.UnknownCommand(Truncate(context.Arg(0)), ArgsPreview(ref context, 1)));
            return;
        }
        if (!client.Authenticated && (spec.Flags & CommandFlags.NoAuth) == 0 && context.Server.RequiresAuth)
        {
            if (client.InMulti) client.MultiAborted = true;
            context.Reply.Error(Errors.NoAuth);
            return;
        }
        if (!spec.ArityOk(context.Count))
        {
            if (client.InMulti) client.MultiAborted = true;
            context.Reply.Error(Errors.WrongArgCount(spec.WireName));
            return;
        }
        if (client.SubscriptionCount > 0 && client.Protocol == Resp.RespVersion.Resp2 && !PubSubCommands.AllowedWhileSubscribed(spec))
        {
            context.Reply.Error($"ERR Can't execute '{spec.WireName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return;
        }
        if (spec.Subcommands.Count > 0 && context.Count >= 2)
        {
            var sub = FindSubcommand(spec, context.Arg(1));
            if (sub is null)
            {
                if (client.InMulti) client.MultiAborted = true;
                context.Reply.Error(Errors.UnknownSubcommand(Truncate(context.Arg(1)), spec.Name));
                return;
            }
            if (!sub.ArityOk(context.Count))
            {
                if (client.InMulti) client.MultiAborted = true;
                context.Reply.Error(Errors.WrongArgCount(sub.WireName));
                return;
            }
            spec = sub;
        }
        // A script past busy-reply-threshold lets other clients in (Scripting/LuaEngine's hook): only allow_busy
        // commands run, the others get BUSY, as processCommand does while a script is timed out.
        if (context.Server.BusyScript is { } busy && (spec.Flags & CommandFlags.AllowBusy) == 0 && !ReferenceEquals(client, busy.Call.Client))
        {
            if (client.InMulti) client.MultiAborted = true;
            context.Reply.Error(busy.Run.IsFunction ? Errors.BusyFunction : Errors.BusyScript);
            return;
        }
        // redis-server's processCommand: while the last save (or an AOF write) failed, writes and PING are refused.
        if ((spec.Flags & CommandFlags.Write) != 0 || ReferenceEquals(spec.Handler, PingHandler))
        {
            if (context.Server.Persistence.WriteDeniedError is { } denied)
            {
                if (client.InMulti) client.MultiAborted = true;
                context.Reply.Error(denied);
                return;
            }
        }
        if (client.InMulti && (spec.Flags & CommandFlags.NoMulti) != 0 && !TransactionCommands.RunsInsideMulti(spec))
        {
            client.MultiAborted = true;
            context.Reply.Error("ERR Command not allowed inside a transaction");
            return;
        }
        if (client.InMulti && !TransactionCommands.RunsInsideMulti(spec))
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
        bool recording = effects.HasConsumers;
        if (recording) effects.BeginCommand(spec);
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
            if (recording) effects.EndCommand(ref context);
        }
        var blocking = context.Server.Blocking;
        if (blocking.HasReady && !client.InExec && context.Server.RunningScript is null) blocking.ServeReady();
    }

    private static CommandSpec? FindSubcommand(CommandSpec parent, ReadOnlySpan<byte> name)
    {
        foreach (var sub in parent.Subcommands)
            if (Ascii.EqualsIgnoreCase(name, sub.Name)) return sub;
        return null;
    }

    /// <summary>Redis's "with args beginning with:" list: each argument quoted, followed by a space.</summary>
    private static string ArgsPreview(ref CommandContext context, int from)
    {
        var sb = new StringBuilder();
        for (int i = from; i < context.Count && sb.Length < 128; i++) sb.Append('\'').Append(Truncate(context.Arg(i))).Append("' ");
        return sb.ToString();
    }

    private static string Truncate(ReadOnlySpan<byte> bytes) =>
        Encoding.UTF8.GetString(bytes.Length > 128 ? bytes[..128] : bytes);

    /// <summary>ASCII case-insensitive string keys that can also be probed with UTF-8 bytes.</summary>
    private sealed class AsciiIgnoreCaseComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<byte>, string>
    {
        public static readonly AsciiIgnoreCaseComparer Instance = new();

        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(string s)
        {
            uint h = 2166136261;
            foreach (char c in s) h = (h ^ (uint)(c | 0x20)) * 16777619;
            return (int)h;
        }

        public bool Equals(ReadOnlySpan<byte> alternate, string other) => Ascii.EqualsIgnoreCase(alternate, other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            uint h = 2166136261;
            foreach (byte b in alternate) h = (h ^ (uint)(b | 0x20)) * 16777619;
            return (int)h;
        }

        public string Create(ReadOnlySpan<byte> alternate) => Encoding.ASCII.GetString(alternate);
    }
}
