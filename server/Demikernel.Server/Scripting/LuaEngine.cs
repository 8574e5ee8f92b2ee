using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Demikernel.Server.Commands;
using Demikernel.Server.Interop;

namespace Demikernel.Server.Scripting;

/// <summary>
/// One Lua 5.4 state with redis-server 7.0's scripting environment: the libraries it loads (string, table, math,
/// cjson, cmsgpack, bit, struct, coroutine), the <c>redis</c> API, the Lua 5.1 names scripts rely on, read-only
/// globals, and the error handler that reports the user's line. EVAL scripts and FUNCTION libraries each get their
/// own engine, as in redis-server.
/// <code>
///  main state ── registry: f_&lt;sha&gt; functions, run(), globals G (real) and env (read-only proxy = _ENV)
///  script thread (one coroutine, reused) ── resume(run, f, ...) ─▶ xpcall(f, handler, ...) ─▶ (ok, value | error table)
///      └ count hook every 100000 instructions: past busy-reply-threshold, or killed ─▶ yields (no longjmp in C#)
/// </code>
/// Everything runs on the libOS thread. Native callbacks are static <c>[UnmanagedCallersOnly]</c> functions that find
/// their engine through the state's extra space and never raise Lua errors (see <see cref="LuaNative"/>).
/// </summary>
internal sealed unsafe class LuaEngine : IDisposable
{
    private const int HookInstructions = 100_000;
    private const int GcPeriod = 50;

    private readonly RedisServer _server;
    private GCHandle _self;
    private nint _main;
    private nint _thread;
    private int _runRef;
    private int _globalsRef;
    private int _loadRef;
    private int _whereRef;
    private bool _timedOut;
    private int _gcCount;
    private ulong _rand48 = 0x1234ABCD330E;

    public LuaEngine(RedisServer server, bool functions)
    {
        _server = server;
        IsFunctionEngine = functions;
        Call = new ScriptCall(server);
        _self = GCHandle.Alloc(this);
        _main = LuaNative.NewState();
        if (_main == 0) throw new InvalidOperationException("Lua: cannot create a state");
        LuaNative.ExtraSpace(_main) = GCHandle.ToIntPtr(_self);
        LuaNative.OpenLibs(_main);
        int natives = CreateNatives();
        LoadLibraries(natives);
        Bootstrap(natives);
        _thread = LuaNative.NewThread(_main);
        _ = LuaNative.Ref(_main, LuaNative.RegistryIndex); // anchors the thread
    }

    public bool IsFunctionEngine { get; }

    /// <summary>The script or function being run.</summary>
    public ScriptRun Run { get; } = new();

    public ScriptCall Call { get; }

    internal nint MainState => _main;

    /// <summary>Memory used by the Lua state, in bytes (INFO's used_memory_lua / used_memory_vm_eval).</summary>
    public long MemoryBytes => _main == 0 ? 0 : LuaNative.Gc(_main, LuaNative.GcCount, 0) * 1024L;

    public void Dispose()
    {
        if (_main == 0) return;
        LuaNative.Close(_main);
        _main = 0;
        _thread = 0;
        if (_self.IsAllocated) _self.Free();
    }

    // ------------------------------------------------------------------ set-up

    /// <summary>The C# functions and values the Lua side is built on, anchored in the registry.</summary>
    private int CreateNatives()
    {
        var l = _main;
        LuaNative.CreateTable(l, 0, 16);
        SetNative(l, "call"u8, &NativeCall);
        SetNative(l, "sha1hex"u8, &NativeSha1Hex);
        SetNative(l, "log"u8, &NativeLog);
        SetNative(l, "setresp"u8, &NativeSetResp);
        SetNative(l, "set_repl"u8, &NativeSetRepl);
        SetNative(l, "rand48"u8, &NativeRand48);
        SetNative(l, "srand48"u8, &NativeSrand48);
        SetNative(l, "command_exists"u8, &NativeCommandExists);
        SetNative(l, "acl_check"u8, &NativeAclCheck);
        SetNative(l, "now_ms"u8, &NativeNowMs);
        LuaNative.PushLightUserData(l, 0); // cjson.null, as lua-cjson's NULL light userdata
        LuaNative.RawSetField(l, -2, "null"u8);
        LuaNative.PushString(l, ServerInfo.RedisVersion);
        LuaNative.RawSetField(l, -2, "version"u8);
        var parts = ServerInfo.RedisVersion.Split('.');
        LuaNative.PushInteger(l, (int.Parse(parts[0]) << 16) | (int.Parse(parts[1]) << 8) | int.Parse(parts[2]));
        LuaNative.RawSetField(l, -2, "version_num"u8);
        return LuaNative.Ref(l, LuaNative.RegistryIndex);
    }

    /// <summary>cjson, cmsgpack, bit and struct, written in Lua over 5.4's string.pack and integer operators.</summary>
    private void LoadLibraries(int natives)
    {
        foreach (var name in new[] { "bit.lua", "struct.lua", "cmsgpack.lua", "cjson.lua" })
        {
            var code = ReadResource(name) ?? throw new InvalidOperationException($"Lua: library {name} is not embedded");
            _ = LuaNative.Load(_main, code, "@__redis_internal\0"u8);
            _ = LuaNative.RawGetI(_main, LuaNative.RegistryIndex, natives);
            if (LuaNative.PCall(_main, 1, 0, 0) != LuaNative.Ok)
                throw new InvalidOperationException($"Lua: library {name} failed: {LuaNative.ToManagedString(_main, -1)}");
        }
    }

    private void Bootstrap(int natives)
    {
        var l = _main;
        if (LuaNative.Load(l, ReadResource("Bootstrap.lua")!, "@__redis_internal\0"u8) != LuaNative.Ok)
            throw new InvalidOperationException("Lua: bootstrap does not compile: " + LuaNative.ToManagedString(l, -1));
        _ = LuaNative.RawGetI(l, LuaNative.RegistryIndex, natives);
        LuaNative.PushString(l, IsFunctionEngine ? "function" : "eval");
        if (LuaNative.PCall(l, 2, 5, 0) != LuaNative.Ok)
            throw new InvalidOperationException("Lua: bootstrap failed: " + LuaNative.ToManagedString(l, -1));
        // Stack: env, run, G, load_library (nil for EVAL), where.
        _whereRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        _loadRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        _globalsRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        _runRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
        LuaNative.RawSetI(l, LuaNative.RegistryIndex, LuaNative.RidxGlobals); // chunks loaded from now on see env
        LuaNative.SetTop(l, 0);
    }

    private static void SetNative(nint l, ReadOnlySpan<byte> name, delegate* unmanaged[Cdecl]<nint, int> f)
    {
        LuaNative.PushFunction(l, f);
        LuaNative.RawSetField(l, -2, name);
    }

    private static byte[]? ReadResource(string name)
    {
        using var stream = typeof(LuaEngine).Assembly.GetManifestResourceStream(name);
        if (stream is null) return null;
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    // ------------------------------------------------------------------ compiling

    /// <summary>
    /// Compiles <paramref name="code"/> as chunk "@user_script"; on success the function is anchored in the
    /// registry and its reference returned, otherwise null and the compiler's message in <paramref name="error"/>.
    /// </summary>
    public int? Compile(ReadOnlySpan<byte> code, ReadOnlySpan<byte> chunkNameZ, out string error)
    {
        var l = _main;
        if (LuaNative.Load(l, code, chunkNameZ) != LuaNative.Ok)
        {
            // Lua 5.4 writes "near <eof>" where redis's Lua 5.1 wrote "near '<eof>'".
            error = LuaNative.ToManagedString(l, -1).Replace("near <eof>", "near '<eof>'");
            LuaNative.SetTop(l, 0);
            return null;
        }
        error = "";
        return LuaNative.Ref(l, LuaNative.RegistryIndex);
    }

    /// <summary>A function a library registered: its name, anchored callback, description and flags.</summary>
    internal readonly record struct Registration(string Name, int FunctionRef, string? Description, ScriptFlags Flags);

    /// <summary>
    /// FUNCTION LOAD's engine part (luaEngineCreate): compiles the library's code as "@user_function" and runs it
    /// with only the library API as globals, stopped with "FUNCTION LOAD timeout" after <paramref name="timeoutMs"/>
    /// (0: no limit); returns the functions it registered, or null and redis's error text.
    /// </summary>
    public List<Registration>? LoadLibrary(ReadOnlySpan<byte> code, int timeoutMs, out string error)
    {
        var l = _main;
        error = "";
        if (LuaNative.Load(l, code, "@user_function\0"u8) != LuaNative.Ok)
        {
            error = "ERR Error compiling function: " + LuaNative.ToManagedString(l, -1).Replace("near <eof>", "near '<eof>'");
            LuaNative.SetTop(l, 0);
            return null;
        }
        _ = LuaNative.RawGetI(l, LuaNative.RegistryIndex, _loadRef);
        LuaNative.Insert(l, -2);
        LuaNative.PushInteger(l, timeoutMs);
        try
        {
            if (LuaNative.PCall(l, 2, 2, 0) != LuaNative.Ok)
            {
                error = "ERR Error registering functions: " + LuaNative.ToManagedString(l, -1);
                return null;
            }
            if (LuaNative.ToBoolean(l, 1) == 0)
            {
                string message = LuaNative.ToManagedString(l, 2);
                error = "ERR Error registering functions: " + message;
                return null;
            }
            var result = new List<Registration>();
            int n = (int)LuaNative.RawLen(l, 2);
            for (int i = 1; i <= n; i++)
            {
                _ = LuaNative.RawGetI(l, 2, i);
                string name = FieldString(l, "name"u8)!;
                string? description = FieldString(l, "desc"u8);
                var flags = ScriptFlags.None;
                _ = LuaNative.RawGetField(l, -1, "flags"u8);
                int count = (int)LuaNative.RawLen(l, -1);
                for (int f = 1; f <= count; f++)
                {
                    _ = LuaNative.RawGetI(l, -1, f);
                    flags |= Shebang.Parse(LuaNative.ToManagedString(l, -1)) ?? ScriptFlags.None;
                    LuaNative.Pop(l, 1);
                }
                LuaNative.Pop(l, 1);
                _ = LuaNative.RawGetField(l, -1, "fn"u8);
                int functionRef = LuaNative.Ref(l, LuaNative.RegistryIndex);
                LuaNative.Pop(l, 1);
                result.Add(new Registration(name, functionRef, description, flags));
            }
            return result;
        }
        finally
        {
            LuaNative.SetTop(l, 0);
        }
    }

    public void Release(int functionRef)
    {
        if (_main != 0) LuaNative.Unref(_main, LuaNative.RegistryIndex, functionRef);
    }

    // ------------------------------------------------------------------ running

    /// <summary>
    /// Runs an EVAL script (KEYS and ARGV as globals) or a function (keys and args as its two arguments) and writes
    /// its reply. <see cref="Run"/> must be prepared by the caller (flags, name, database).
    /// </summary>
    public void Execute(int functionRef, ref CommandContext c, int firstKey, int numKeys, int firstArg, int numArgs)
    {
        var t = _thread;
        var run = Run;
        run.Running = true;
        run.WriteDirty = false;
        run.Resp3 = false;
        run.KillRequested = false;
        run.ReplFlags = 3;
        run.StartTimestamp = Stopwatch.GetTimestamp();
        Call.Client.Database = run.Database;
        try
        {
            LuaNative.SetTop(t, 0);
            _ = LuaNative.CheckStack(t, 8);
            _ = LuaNative.RawGetI(t, LuaNative.RegistryIndex, _runRef);
            _ = LuaNative.RawGetI(t, LuaNative.RegistryIndex, functionRef);
            PushArray(t, ref c, firstKey, numKeys);
            PushArray(t, ref c, firstArg, numArgs);
            int nargs;
            if (IsFunctionEngine)
            {
                nargs = 3;
            }
            else
            {
                _ = LuaNative.RawGetI(t, LuaNative.RegistryIndex, _globalsRef);
                LuaNative.Rotate(t, -3, 1);             // run f G KEYS ARGV
                LuaNative.RawSetField(t, -3, "ARGV"u8);
                LuaNative.RawSetField(t, -2, "KEYS"u8);
                LuaNative.Pop(t, 1);
                nargs = 1;
            }
            _timedOut = false;
            _server.RunningScript = this;
            if (_server.Config.BusyReplyThresholdMs > 0) LuaNative.SetHook(t, &Hook, LuaNative.MaskCount, HookInstructions);
            int status = LuaNative.Resume(t, _main, nargs, out int nresults);
            while (status == LuaNative.Yield)
            {
                // The hook stopped the script: it has just timed out (keep the caller's command for FUNCTION STATS),
                // or it is being killed (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE).
                if (run.KillRequested || _server.Stopping)
                {
                    LuaNative.SetHook(t, null, 0, 0);
                    WriteKilled(t, ref c);
                    _ = LuaNative.CloseThread(t, _main);
                    return;
                }
                if (run.CallerArgs is null)
                {
                    var args = new string[c.Count];
                    for (int i = 0; i < args.Length; i++) args[i] = c.ArgString(i);
                    run.CallerArgs = args;
                }
                LuaNative.SetTop(t, 0);
                status = LuaNative.Resume(t, _main, 0, out nresults);
            }
            LuaNative.SetHook(t, null, 0, 0);
            if (status != LuaNative.Ok)
            {
                string message = LuaNative.Type(t, -1) == LuaNative.TString ? LuaNative.ToManagedString(t, -1) : "execution failure";
                if (message.Length > 100) message = message[..100];
                c.Reply.Error($"ERR Error running script {run.Name}, {message}");
                _ = LuaNative.CloseThread(t, _main);
                return;
            }
            if (nresults < 2) LuaNative.SetTop(t, 2);
            LuaNative.SetTop(t, 2);
            if (LuaNative.ToBoolean(t, 1) != 0) LuaReplies.WriteReply(t, c.Reply, run.Resp3);
            else WriteError(t, ref c);
        }
        finally
        {
            LuaNative.SetTop(t, 0);
            run.Running = false;
            run.Caller = null;
            run.CallerArgs = null;
            _server.RunningScript = null;
            _server.BusyScript = null;
            if (++_gcCount == GcPeriod)
            {
                _gcCount = 0;
                _ = LuaNative.Gc(_main, LuaNative.GcStep, GcPeriod);
            }
        }
    }

    /// <summary>"Script killed by user with SCRIPT KILL..." at the line the script was stopped, as redis's hook raises it.</summary>
    private void WriteKilled(nint t, ref CommandContext c)
    {
        var l = _main;
        _ = LuaNative.RawGetI(l, LuaNative.RegistryIndex, _whereRef);
        _ = LuaNative.PushThread(t);
        LuaNative.XMove(t, l, 1);
        string? source = null, line = null;
        if (LuaNative.PCall(l, 1, 2, 0) == LuaNative.Ok)
        {
            if (LuaNative.IsString(l, -2) != 0) source = LuaNative.ToManagedString(l, -2);
            if (LuaNative.IsString(l, -1) != 0) line = LuaNative.ToManagedString(l, -1);
        }
        LuaNative.SetTop(l, 0);
        var text = "ERR Script killed by user with SCRIPT KILL...";
        if (source is not null && line is not null) text += $" script: {Run.Name}, on {source}:{line}.";
        c.Reply.Error(text);
    }

    /// <summary>
    /// Called every 100000 instructions: past busy-reply-threshold the server goes on serving other clients from
    /// here (redis's processEventsWhileBlocked): they get BUSY, or run SCRIPT KILL / FUNCTION KILL / FUNCTION STATS /
    /// SHUTDOWN NOSAVE. True when the script must stop where it is (yield).
    /// </summary>
    private bool OnHook(nint l)
    {
        var run = Run;
        if (run.KillRequested || _server.Stopping) return true;
        long elapsedMs = (long)Stopwatch.GetElapsedTime(run.StartTimestamp).TotalMilliseconds;
        if (elapsedMs < _server.Config.BusyReplyThresholdMs) return false;
        if (!_timedOut)
        {
            _timedOut = true;
            _server.BusyScript = this;
            _server.Log.SlowScript(elapsedMs, run.IsFunction ? "FUNCTION KILL" : "SCRIPT KILL", run.Name);
            return true; // once: Execute keeps the caller's command for FUNCTION STATS, then resumes
        }
        _server.LibOS.Poll();
        if (run.KillRequested || _server.Stopping)
        {
            _server.Log.ScriptKilled();
            LuaNative.SetHook(l, &Hook, LuaNative.MaskCount, 1); // stop at the first instruction where it can
            return true;
        }
        return false;
    }

    private static void PushArray(nint t, ref CommandContext c, int first, int count)
    {
        LuaNative.CreateTable(t, count, 0);
        for (int i = 0; i < count; i++)
        {
            LuaNative.PushBytes(t, c.Arg(first + i));
            LuaNative.RawSetI(t, -2, i + 1);
        }
    }

    /// <summary>The error table on the top: "-&lt;err&gt; script: &lt;name&gt;, on &lt;source&gt;:&lt;line&gt;." as redis 7.0.</summary>
    private void WriteError(nint t, ref CommandContext c)
    {
        if (LuaNative.Type(t, -1) != LuaNative.TTable)
        {
            string what = LuaNative.IsString(t, -1) != 0 ? LuaNative.ToManagedString(t, -1) : "execution failure";
            if (what.Length > 100) what = what[..100];
            c.Reply.Error($"ERR Error running script {Run.Name}, {what}");
            return;
        }
        string message = FieldString(t, "err"u8) ?? "";
        string? source = FieldString(t, "source"u8);
        string? line = FieldString(t, "line"u8);
        var text = new StringBuilder(message.Length + 96).Append(message);
        if (source is not null && line is not null) text.Append(" script: ").Append(Run.Name).Append(", on ").Append(source).Append(':').Append(line).Append('.');
        c.Reply.Error(SanitizeLine(text.ToString()));
    }

    private static string? FieldString(nint t, ReadOnlySpan<byte> name)
    {
        LuaNative.RawGetField(t, -1, name);
        string? s = LuaNative.IsString(t, -1) != 0 ? LuaNative.ToManagedString(t, -1) : null;
        LuaNative.Pop(t, 1);
        return s;
    }

    internal static string SanitizeLine(string s) => s.Replace('\r', ' ').Replace('\n', ' ');

    // ------------------------------------------------------------------ native functions

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static LuaEngine From(nint l) => Unsafe.As<LuaEngine>(GCHandle.FromIntPtr(LuaNative.ExtraSpace(l)).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeCall(nint l)
    {
        try
        {
            var engine = From(l);
            if (!engine.Run.Running)
            {
                LuaNative.SetTop(l, 0);
                LuaReplies.PushErrorTable(l, "redis.call/pcall can only be called inside a script invocation"u8, fromReply: false);
                LuaNative.PushBoolean(l, 1);
                return 2;
            }
            return engine.Call.Run(l, engine.Run);
        }
        catch (Exception e)
        {
            return NativeFailed(l, e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int NativeFailed(nint l, Exception e)
    {
        try
        {
            From(l)._server.Log.ScriptWarning("Script native call failed: " + e.GetType().Name + ": " + e.Message);
        }
        catch
        {
            // nothing more can be done from inside a Lua callback
        }
        LuaNative.SetTop(l, 0);
        LuaReplies.PushErrorTable(l, "internal error in a script call (see the server log)"u8, fromReply: false);
        LuaNative.PushBoolean(l, 1);
        return 2;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeSha1Hex(nint l)
    {
        try
        {
            var data = LuaNative.ToSpan(l, 1);
            Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // redis.sha1hex is SHA1 by definition, not for security
            SHA1.HashData(data, hash);
#pragma warning restore CA5350
            Span<byte> hex = stackalloc byte[40];
            ToHex(hash, hex);
            LuaNative.PushBytes(l, hex);
            return 1;
        }
        catch
        {
            return 0;
        }
    }

    internal static void ToHex(ReadOnlySpan<byte> hash, Span<byte> hex)
    {
        const string digits = "0123456789abcdef";
        for (int i = 0; i < hash.Length; i++)
        {
            hex[2 * i] = (byte)digits[hash[i] >> 4];
            hex[2 * i + 1] = (byte)digits[hash[i] & 15];
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeLog(nint l)
    {
        try
        {
            var engine = From(l);
            long level = LuaNative.ToInteger(l, 1);
            string message = LuaNative.ToManagedString(l, 2);
            var log = engine._server.Log;
            switch (level)
            {
                case 0: log.ScriptDebug(message); break;
                case 1: log.ScriptVerbose(message); break;
                case 2: log.ScriptNotice(message); break;
                default: log.ScriptWarning(message); break;
            }
        }
        catch
        {
            // logging never fails a script
        }
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeSetResp(nint l)
    {
        try
        {
            From(l).Run.Resp3 = LuaNative.ToInteger(l, 1) == 3;
        }
        catch
        {
            // cannot fail
        }
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeSetRepl(nint l)
    {
        try
        {
            From(l).Run.ReplFlags = (int)LuaNative.ToInteger(l, 1);
        }
        catch
        {
            // cannot fail
        }
        return 0;
    }

    /// <summary>A monotonic clock in milliseconds, for FUNCTION LOAD's time limit.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeNowMs(nint l)
    {
        LuaNative.PushInteger(l, Environment.TickCount64);
        return 1;
    }

    /// <summary>redisLrand48: 48-bit linear congruential generator, the top 31 bits.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeRand48(nint l)
    {
        try
        {
            var engine = From(l);
            var x = (engine._rand48 * 0x5DEECE66DUL + 0xB) & 0xFFFF_FFFF_FFFFUL;
            engine._rand48 = x;
            LuaNative.PushInteger(l, (long)(x >> 17));
            return 1;
        }
        catch
        {
            return 0;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeSrand48(nint l)
    {
        try
        {
            var seed = (uint)(int)LuaNative.ToInteger(l, 1);
            From(l)._rand48 = ((ulong)seed << 16) | 0x330E;
        }
        catch
        {
            // cannot fail
        }
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeCommandExists(nint l)
    {
        try
        {
            LuaNative.PushBoolean(l, From(l)._server.Commands.TryGet(LuaNative.ToSpan(l, 1), out _) ? 1 : 0);
            return 1;
        }
        catch
        {
            return 0;
        }
    }

    /// <summary>redis.acl_check_cmd's check: true/false for the caller's user, nil when no such command (lookupCommand:
    /// a container's subcommand when one is given).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int NativeAclCheck(nint l)
    {
        try
        {
            var engine = From(l);
            int argc = LuaNative.GetTop(l);
            var args = new byte[argc][];
            Span<byte> number = stackalloc byte[40];
            for (int i = 1; i <= argc; i++)
                args[i - 1] = LuaNative.Type(l, i) == LuaNative.TNumber ? number[..LuaReplies.FormatNumber(l, i, number)].ToArray() : LuaNative.ToSpan(l, i).ToArray();
            var server = engine._server;
            if (!server.Commands.TryGet(args[0], out var spec)) return 0;
            if (spec.Subcommands.Length > 0 && argc >= 2)
            {
                var sub = spec.Subcommand(args[1]);
                if (sub is null) return 0;
                spec = sub;
            }
            var user = engine.Run.Caller?.User ?? Acl.AclUser.Superuser;
            var list = new ArrayArguments(args);
            bool allowed = user.Unrestricted || user.Check(spec, ref list, server.Acl.KeyScratch, out _) == Acl.AclResult.Ok;
            LuaNative.PushBoolean(l, allowed ? 1 : 0);
            return 1;
        }
        catch
        {
            return 0;
        }
    }

    /// <summary>The count hook: yields (stopping the script where it is) when the script must be looked at.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Hook(nint l, nint debug)
    {
        try
        {
            var engine = From(l);
            if (engine.OnHook(l) && LuaNative.IsYieldable(l) != 0) LuaNative.Yield0(l);
        }
        catch
        {
            // a hook cannot report anything
        }
    }

}
