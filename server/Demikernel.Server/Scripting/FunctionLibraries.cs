using System.Text;

namespace Demikernel.Server.Scripting;

/// <summary>One function of a library (redis's functionInfo).</summary>
internal sealed class LuaFunction(string name, FunctionLibrary library, int functionRef, string? description, ScriptFlags flags)
{
    public string Name { get; } = name;
    public FunctionLibrary Library { get; } = library;
    public int FunctionRef { get; } = functionRef;
    public string? Description { get; } = description;
    public ScriptFlags Flags { get; } = flags;
}

/// <summary>A library loaded by FUNCTION LOAD (redis's functionLibInfo): its name, whole code and functions.</summary>
internal sealed class FunctionLibrary(string name, byte[] code)
{
    public string Name { get; } = name;
    public byte[] Code { get; } = code;
    public List<LuaFunction> Functions { get; } = [];
}

/// <summary>
/// The libraries of FUNCTION LOAD and their functions, run by a Lua engine of their own (created on first use), as
/// redis-server's functions.c with its one engine, "LUA".
/// </summary>
internal sealed class FunctionLibraries(RedisServer server) : IDisposable
{
    private static readonly System.Buffers.SearchValues<char> NameChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    /// <summary>How long FUNCTION LOAD may run a library's code (redis's LOAD_TIMEOUT_MS).</summary>
    public const int LoadTimeoutMs = 500;
    private readonly Dictionary<string, FunctionLibrary> _libraries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LuaFunction> _functions = new(StringComparer.Ordinal);
    private LuaEngine? _engine;

    public LuaEngine Engine => _engine ??= new LuaEngine(server, functions: true);

    public IEnumerable<FunctionLibrary> Libraries => _libraries.Values;

    public int LibraryCount => _libraries.Count;

    public int FunctionCount => _functions.Count;

    public LuaFunction? FindFunction(ReadOnlySpan<byte> name)
    {
        if (name.Length > 256) return _functions.GetValueOrDefault(Encoding.UTF8.GetString(name));
        Span<char> chars = stackalloc char[256];
        int n = Encoding.UTF8.GetChars(name, chars);
        return _functions.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..n], out var f) ? f : null;
    }

    public FunctionLibrary? FindLibrary(string name) => _libraries.GetValueOrDefault(name);

    /// <summary>
    /// FUNCTION LOAD (functionsCreateWithLibraryCtx): the metadata line, the engine, collisions, then the code runs
    /// and registers its functions, within <paramref name="timeoutMs"/> (0: no limit; redis limits only the FUNCTION
    /// LOAD command of a client it need not obey, to 500 ms). Returns the library's name, or null and redis's error text.
    /// </summary>
    public string? Load(byte[] code, bool replace, out string? error, int timeoutMs = 0)
    {
        if (!TryParseMetadata(code, out string? engine, out string? name, out int shebangLength, out error)) return null;
        if (name!.Length == 0 || name.AsSpan().ContainsAnyExcept(NameChars))
        {
            error = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
            return null;
        }
        if (!string.Equals(engine, "lua", StringComparison.OrdinalIgnoreCase))
        {
            error = $"ERR Engine '{engine}' not found";
            return null;
        }
        _libraries.TryGetValue(name, out var old);
        if (old is not null && !replace)
        {
            error = $"ERR Library '{name}' already exists";
            return null;
        }
        var registrations = Engine.LoadLibrary(code.AsSpan(shebangLength), timeoutMs, out string loadError);
        if (registrations is null)
        {
            error = loadError;
            return null;
        }
        if (registrations.Count == 0)
        {
            error = "ERR No functions registered";
            return null;
        }
        foreach (var r in registrations)
        {
            if (_functions.TryGetValue(r.Name, out var existing) && existing.Library != old)
            {
                foreach (var drop in registrations) Engine.Release(drop.FunctionRef);
                error = $"ERR Function {r.Name} already exists";
                return null;
            }
        }
        if (old is not null) Remove(old);
        var library = new FunctionLibrary(name, code);
        foreach (var r in registrations)
        {
            var function = new LuaFunction(r.Name, library, r.FunctionRef, r.Description, r.Flags);
            library.Functions.Add(function);
            _functions[r.Name] = function;
        }
        _libraries[name] = library;
        return name;
    }

    /// <summary>The libraries' code, for an RDB (FUNCTION2) or an AOF rewrite (FUNCTION LOAD); the arrays are never
    /// changed, so a background snapshot may keep them.</summary>
    public byte[][] Codes() => _libraries.Count == 0 ? [] : _libraries.Values.Select(l => l.Code).ToArray();

    /// <summary>A library from an RDB file: null, or the error that fails the load (rdbFunctionLoad).</summary>
    public string? LoadFromRdb(byte[] code) => Load(code, replace: false, out string? error) is null ? error : null;

    /// <summary>The same, replacing a library of the same name (an RDB loaded with RDBFLAGS_ALLOW_DUP).</summary>
    public string? LoadFromRdbReplacing(byte[] code) => Load(code, replace: true, out string? error) is null ? error : null;

    /// <summary>FUNCTION DUMP: each library as FUNCTION2 and its code, then the RDB version and CRC64 (as DUMP).</summary>
    public byte[] Dump(bool compress)
    {
        var w = new Store.RdbWriter { Compress = compress };
        foreach (var library in _libraries.Values)
        {
            w.Byte(Store.RdbFormat.OpFunction2);
            w.String(library.Code);
        }
        return w.FinishDump();
    }

    /// <summary>
    /// FUNCTION RESTORE with a policy (APPEND, REPLACE, FLUSH): all or nothing, as redis-server loads the payload
    /// into a new context and joins it. Null on success, else the error text.
    /// </summary>
    public string? Restore(ReadOnlySpan<byte> payload, string policy)
    {
        if (!Store.RdbSerializer.Verify(payload, server.Diagnostics.SkipChecksumValidation)) return "ERR DUMP payload version or checksum are wrong";
        var codes = new List<byte[]>();
        var r = new Store.RdbReader(payload[..^10]);
        while (r.Remaining > 0)
        {
            if (!r.TryByte(out byte type)) return "ERR can not read data type";
            if (type != Store.RdbFormat.OpFunction2) return "ERR given type is not a function";
            if (!r.TryString(out var code)) return "ERR failed loading the given functions payload";
            codes.Add(code);
        }
        var before = Codes();
        if (policy == "FLUSH") Flush();
        string? error = null;
        foreach (var code in codes)
        {
            if (policy == "APPEND" && TryParseMetadata(code, out _, out string? name, out _, out _) && _libraries.ContainsKey(name!))
            {
                error = $"ERR Library {name} already exists";
                break;
            }
            if (Load(code, replace: policy == "REPLACE", out string? loadError) is null)
            {
                error = loadError;
                break;
            }
        }
        if (error is not null)
        {
            // Back to the libraries as they were (their code registers the same functions again).
            Flush();
            foreach (var code in before) Load(code, replace: false, out _);
        }
        return error;
    }

    public bool Delete(string name)
    {
        if (!_libraries.TryGetValue(name, out var library)) return false;
        Remove(library);
        return true;
    }

    private void Remove(FunctionLibrary library)
    {
        _libraries.Remove(library.Name);
        foreach (var f in library.Functions)
        {
            _functions.Remove(f.Name);
            _engine?.Release(f.FunctionRef);
        }
    }

    public void Flush()
    {
        _libraries.Clear();
        _functions.Clear();
        _engine?.Dispose();
        _engine = null;
    }

    public void Dispose() => Flush();

    /// <summary>functionExtractLibMetaData: <c>#!&lt;engine&gt; name=&lt;library&gt;</c>.</summary>
    private static bool TryParseMetadata(byte[] code, out string? engine, out string? name, out int shebangLength, out string? error)
    {
        engine = name = null;
        shebangLength = 0;
        error = null;
        if (!code.AsSpan().StartsWith("#!"u8))
        {
            error = "ERR Missing library metadata";
            return false;
        }
        int end = Array.IndexOf(code, (byte)'\n');
        if (end < 0)
        {
            error = "ERR Invalid library metadata";
            return false;
        }
        shebangLength = end;
        var parts = Encoding.UTF8.GetString(code, 0, end).Split([' ', '\t', '\r', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            error = "ERR Invalid library metadata";
            return false;
        }
        engine = parts[0][2..];
        for (int i = 1; i < parts.Length; i++)
        {
            if (parts[i].StartsWith("name=", StringComparison.OrdinalIgnoreCase))
            {
                if (name is not null)
                {
                    error = "ERR Invalid metadata value, name argument was given multiple times";
                    return false;
                }
                name = parts[i][5..];
                continue;
            }
            error = "ERR Invalid metadata value given: " + parts[i];
            return false;
        }
        if (name is null)
        {
            error = "ERR Library name was not given";
            return false;
        }
        return true;
    }
}
