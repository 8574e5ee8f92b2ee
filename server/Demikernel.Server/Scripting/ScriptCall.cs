using System.Buffers.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Interop;

namespace Demikernel.Server.Scripting;

/// <summary>
/// The one place where a script runs a command (redis.call / redis.pcall), as redis-server's scriptCall: the
/// arguments on the Lua stack become a request frame, the script's checks run (command known, arity, noscript,
/// read-only scripts, write refused while persistence fails), then the dispatcher runs it for the script's own
/// client (its database, its RESP version) and the reply is parsed back into a Lua value.
/// <code>
///  Lua args ─▶ frame (reused buffer) ─▶ checks ─▶ CommandTable.Execute(script client) ─▶ reply bytes ─▶ Lua value
/// </code>
/// Effects nest inside the script's frame like EXEC's commands; blocked clients are served after the script (the
/// script client counts as "in EXEC", which also makes blocking commands answer at once, as in redis).
/// </summary>
internal sealed class ScriptCall
{
    private readonly RedisServer _server;
    private readonly ReplyBuffer _reply;
    private readonly RespArgs _args = new(16);
    private readonly RespRequestScanner _scanner = new();
    private byte[] _frame = new byte[512];
    private byte[] _replyCopy = new byte[512];

    public ScriptCall(RedisServer server)
    {
        _server = server;
        _reply = new ReplyBuffer(server.LibOS);
        Client = new ClientState(0, default, default, default, server.NowMs) { Authenticated = true, InExec = true, Name = null, IsScript = true };
    }

    /// <summary>The client scripts run their commands as (redis's lua_client / function client).</summary>
    public ClientState Client { get; }

    /// <summary>
    /// Runs the command whose arguments are on the stack (1..top) and leaves the Lua result; when the result is an
    /// error (a rejected call or an error reply) also <c>true</c>, for redis.call to raise it. Returns the number of
    /// values pushed.
    /// </summary>
    public int Run(nint l, ScriptRun run)
    {
        int argc = LuaNative.GetTop(l);
        if (argc == 0) return Fail(l, "Please specify at least one argument for this redis lib call");
        if (!BuildFrame(l, argc)) return Fail(l, "Lua redis lib command arguments must be strings or integers");
        LuaNative.SetTop(l, 0);

        _scanner.Reset();
        _scanner.TryScan(_frame, _args, out int frameLength, out _);
        var frame = _frame.AsSpan(0, frameLength);
        var name = _args.Get(frame, 0);
        if (!_server.Commands.TryGet(name, out var spec)) return Fail(l, "Unknown Redis command called from script");
        if (spec.Subcommands.Length > 0 && argc >= 2)
        {
            var sub = spec.Subcommand(_args.Get(frame, 1));
            if (sub is null) return Fail(l, "Unknown Redis command called from script");
            spec = sub;
        }
        if (!spec.ArityOk(argc)) return Fail(l, "Wrong number of args calling Redis command from script");
        if ((spec.Flags & CommandFlags.NoScript) != 0 && !_server.Diagnostics.DisableDenyScripts) return Fail(l, "This Redis command is not allowed from script");
        var context = new CommandContext(frame, _args, Client, _server, _reply) { FrameLength = frameLength };
        // scriptVerifyACL: the call is checked against the caller's user (the script client itself may run anything)
        if (run.Caller is { User.Unrestricted: false } caller && _server.Acl.CheckScriptCall(caller, spec, ref context) is { } aclDenied)
            return Fail(l, aclDenied);
        if (run.ReadOnly && (spec.Flags & (CommandFlags.Write | CommandFlags.MayReplicate)) != 0)
            return Fail(l, "Write commands are not allowed from read-only scripts.");
        bool write = (spec.Flags & CommandFlags.Write) != 0;
        if (write && !run.WriteDirty && _server.Persistence.WriteDeniedError is { } denied) return Fail(l, "-" + denied);
        // scriptVerifyOOM: out of memory when the script started (the dispatcher's check of EVAL/FCALL), a denyoom
        // call is refused until the script has written; after that, stopping half-way would break its atomicity.
        if ((spec.Flags & CommandFlags.DenyOom) != 0 && !run.AllowOom && !run.WriteDirty && _server.Memory.OutOfMemoryAtCommandStart &&
            run.Caller is { MustObey: false })
            return Fail(l, "-" + CommandTable.OomError);
        if (write) run.WriteDirty = true;

        Client.Database = run.Database;
        Client.Protocol = run.Resp3 ? RespVersion.Resp3 : RespVersion.Resp2;
        _reply.Version = Client.Protocol;
        var effects = _server.Effects;
        if (effects.HasConsumers) effects.NextCommandTargets = (Propagation.PropagationTargets)(run.ReplFlags & 3); // redis.set_repl
        _server.Commands.Execute(ref context);
        effects.NextCommandTargets = Propagation.PropagationTargets.Both; // also when the call was refused before it ran
        run.Database = Client.Database; // SELECT inside a script stays for the script's later calls

        var sga = _reply.Take();
        try
        {
            ReadOnlySpan<byte> bytes;
            if (sga.SegmentCount == 1) bytes = sga.Span[..sga.TotalLength];
            else
            {
                int total = sga.TotalLength;
                if (_replyCopy.Length < total) _replyCopy = new byte[Math.Max(total, _replyCopy.Length * 2)];
                sga.CopyTo(_replyCopy);
                bytes = _replyCopy.AsSpan(0, total);
            }
            LuaReplies.PushReply(l, bytes);
            if (bytes[0] == (byte)'-')
            {
                LuaNative.PushBoolean(l, 1);
                return 2;
            }
            return 1;
        }
        finally
        {
            _server.LibOS.SgaFree(sga);
            if (_replyCopy.Length > 1 << 20) _replyCopy = new byte[512];
            if (_frame.Length > 1 << 20) _frame = new byte[512];
        }
    }

    private static int Fail(nint l, string message)
    {
        LuaNative.SetTop(l, 0);
        Span<byte> text = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(message.Length)];
        int n = System.Text.Encoding.UTF8.GetBytes(message, text);
        LuaReplies.PushErrorTable(l, text[..n], fromReply: false);
        LuaNative.PushBoolean(l, 1);
        return 2;
    }

    /// <summary>Encodes the stack's arguments as a RESP request; false when one is neither a string nor a number.</summary>
    private bool BuildFrame(nint l, int argc)
    {
        int at = 0;
        Ensure(ref at, 16);
        _frame[at++] = (byte)'*';
        Utf8Formatter.TryFormat(argc, _frame.AsSpan(at), out int w);
        at += w;
        _frame[at++] = (byte)'\r';
        _frame[at++] = (byte)'\n';
        Span<byte> number = stackalloc byte[40];
        for (int i = 1; i <= argc; i++)
        {
            scoped ReadOnlySpan<byte> arg;
            int type = LuaNative.Type(l, i);
            if (type == LuaNative.TNumber) arg = number[..LuaReplies.FormatNumber(l, i, number)];
            else if (type == LuaNative.TString) arg = LuaNative.ToSpan(l, i);
            else return false;
            Ensure(ref at, arg.Length + 32);
            _frame[at++] = (byte)'$';
            Utf8Formatter.TryFormat(arg.Length, _frame.AsSpan(at), out w);
            at += w;
            _frame[at++] = (byte)'\r';
            _frame[at++] = (byte)'\n';
            arg.CopyTo(_frame.AsSpan(at));
            at += arg.Length;
            _frame[at++] = (byte)'\r';
            _frame[at++] = (byte)'\n';
        }
        return true;
    }

    private void Ensure(ref int at, int more)
    {
        if (at + more > _frame.Length) Array.Resize(ref _frame, Math.Max(_frame.Length * 2, at + more));
    }
}
