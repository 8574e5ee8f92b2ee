using System.Security.Cryptography;
using System.Text;

namespace Demikernel.Server.Scripting;

/// <summary>A script in the EVAL cache (redis's luaScript): its body, shebang flags and compiled function.</summary>
internal sealed class LuaScript(string sha, byte[] body, ScriptFlags flags, int functionRef)
{
    public string Sha { get; } = sha;
    public byte[] Body { get; } = body;
    public ScriptFlags Flags { get; } = flags;
    public int FunctionRef { get; } = functionRef;
}

/// <summary>
/// The EVAL script cache and its Lua engine (created on first use, dropped whole by SCRIPT FLUSH as redis-server
/// resets its Lua state). Lookups by SHA1 take the hex digits as a span: no allocation on EVALSHA or a cached EVAL.
/// </summary>
internal sealed class EvalScripts(RedisServer server) : IDisposable
{
    private readonly Dictionary<string, LuaScript> _scripts = new(StringComparer.Ordinal);
    private LuaEngine? _engine;

    public LuaEngine Engine => _engine ??= new LuaEngine(server, functions: false);

    public bool HasEngine => _engine is not null;

    public int Count => _scripts.Count;

    /// <summary>Bytes of the cached bodies and their SHAs (INFO's used_memory_scripts_eval, roughly).</summary>
    public long BodyBytes { get; private set; }

    /// <summary>Finds a script by its 40 hex digits, any case.</summary>
    public LuaScript? Find(ReadOnlySpan<byte> sha)
    {
        if (sha.Length != 40) return null;
        Span<char> lower = stackalloc char[40];
        for (int i = 0; i < 40; i++)
        {
            byte b = sha[i];
            lower[i] = (char)(b is >= (byte)'A' and <= (byte)'Z' ? b + 32 : b);
        }
        return _scripts.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(lower, out var script) ? script : null;
    }

    /// <summary>Finds a cached script by its body (no compilation).</summary>
    public LuaScript? FindBody(ReadOnlySpan<byte> body)
    {
        Span<byte> hex = stackalloc byte[40];
        Sha1Hex(body, hex);
        return Find(hex);
    }

    /// <summary>The SHA1 of <paramref name="body"/> as 40 lower-case hex digits.</summary>
    public static void Sha1Hex(ReadOnlySpan<byte> body, Span<byte> hex)
    {
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // scripts are named by their SHA1 in the protocol, not for security
        SHA1.HashData(body, hash);
#pragma warning restore CA5350
        LuaEngine.ToHex(hash, hex);
    }

    /// <summary>
    /// Finds or compiles <paramref name="body"/> (luaCreateFunction): a shebang is parsed for flags, and the code is
    /// compiled without it but with its line feed, so line numbers stay the user's. Null and a redis error text
    /// (without the leading '-') when it fails.
    /// </summary>
    public LuaScript? GetOrCreate(ReadOnlySpan<byte> body, out string? error)
    {
        Span<byte> hex = stackalloc byte[40];
        Sha1Hex(body, hex);
        error = null;
        if (Find(hex) is { } known) return known;
        if (!Shebang.TryParse(body, out var flags, out int shebangLength, out error)) return null;
        int? functionRef = Engine.Compile(body[shebangLength..], "@user_script\0"u8, out string compileError);
        if (functionRef is null)
        {
            error = "ERR Error compiling script (new function): " + compileError;
            return null;
        }
        var script = new LuaScript(Encoding.ASCII.GetString(hex), body.ToArray(), flags, functionRef.Value);
        _scripts[script.Sha] = script;
        BodyBytes += body.Length + 40;
        return script;
    }

    /// <summary>SCRIPT FLUSH: every script goes, and the Lua state with them (globals a script leaked included).</summary>
    public void Flush()
    {
        _scripts.Clear();
        BodyBytes = 0;
        _engine?.Dispose();
        _engine = null;
    }

    public void Dispose() => Flush();
}

/// <summary>The <c>#!lua [flags=a,b]</c> line of a script (evalExtractShebangFlags).</summary>
internal static class Shebang
{
    public static bool TryParse(ReadOnlySpan<byte> body, out ScriptFlags flags, out int length, out string? error)
    {
        flags = ScriptFlags.EvalCompat;
        length = 0;
        error = null;
        if (!body.StartsWith("#!"u8)) return true;
        int end = body.IndexOf((byte)'\n');
        if (end < 0)
        {
            error = "ERR Invalid script shebang";
            return false;
        }
        length = end;
        var parts = Encoding.UTF8.GetString(body[..end]).Split([' ', '\t', '\r', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            error = "ERR Invalid engine in script shebang";
            return false;
        }
        if (parts[0] != "#!lua")
        {
            error = "ERR Unexpected engine in script shebang: " + parts[0];
            return false;
        }
        flags = ScriptFlags.None;
        for (int i = 1; i < parts.Length; i++)
        {
            if (!parts[i].StartsWith("flags=", StringComparison.Ordinal))
            {
                error = "ERR Unknown lua shebang option: " + parts[i];
                return false;
            }
            string list = parts[i][6..];
            if (list.Length == 0) continue;
            foreach (var name in list.Split(','))
            {
                var flag = Parse(name);
                if (flag is null)
                {
                    error = "ERR Unexpected flag in script shebang: " + name;
                    return false;
                }
                flags |= flag.Value;
            }
        }
        return true;
    }

    public static ScriptFlags? Parse(string name) => name switch
    {
        "no-writes" => ScriptFlags.NoWrites,
        "allow-oom" => ScriptFlags.AllowOom,
        "allow-stale" => ScriptFlags.AllowStale,
        "no-cluster" => ScriptFlags.NoCluster,
        "allow-cross-slot-keys" => ScriptFlags.AllowCrossSlot,
        _ => null,
    };
}
