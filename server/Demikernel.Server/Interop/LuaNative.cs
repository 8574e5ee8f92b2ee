using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Demikernel.Server.Interop;

/// <summary>
/// The Lua 5.4 C API, bound directly to the native library the KeraLua package ships (liblua54 for linux-x64,
/// win-x64, osx, ...). Our own binding rather than KeraLua's <c>Lua</c> class: strings stay spans over Lua's own
/// memory (no managed string per argument), C functions are <c>[UnmanagedCallersOnly]</c> function pointers (no
/// delegates to keep alive), and no wrapper object is allocated per coroutine.
/// <para>
/// Rule for every callback: never let a Lua error (longjmp) cross a managed frame. Callbacks only use API calls that
/// cannot raise (type checks, pushes of small values, raw table access) and report failures by return values that a
/// Lua-side wrapper turns into <c>error()</c>; the timeout hook stops a script by yielding, which Lua 5.4 does without
/// a longjmp from inside a hook.
/// </para>
/// </summary>
internal static unsafe partial class LuaNative
{
    private const string Lib = "lua54";

    public const int RegistryIndex = -1000000 - 1000;
    public const int RidxGlobals = 2;
    public const int MultRet = -1;

    public const int TNone = -1, TNil = 0, TBoolean = 1, TLightUserData = 2, TNumber = 3, TString = 4, TTable = 5,
        TFunction = 6, TUserData = 7, TThread = 8;

    public const int Ok = 0, Yield = 1, ErrRun = 2, ErrSyntax = 3, ErrMem = 4, ErrErr = 5;

    public const int MaskCount = 1 << 3;
    public const int GcCount = 3, GcStep = 5, GcCollect = 2;

    [LibraryImport(Lib, EntryPoint = "luaL_newstate")] public static partial nint NewState();
    [LibraryImport(Lib, EntryPoint = "lua_close")] public static partial void Close(nint l);
    [LibraryImport(Lib, EntryPoint = "luaL_openlibs")] public static partial void OpenLibs(nint l);
    [LibraryImport(Lib, EntryPoint = "luaL_loadbufferx")] public static partial int LoadBufferX(nint l, byte* buffer, nuint size, byte* name, byte* mode);
    [LibraryImport(Lib, EntryPoint = "lua_pcallk")] public static partial int PCallK(nint l, int nargs, int nresults, int errfunc, nint ctx, nint k);
    [LibraryImport(Lib, EntryPoint = "lua_resume")] public static partial int Resume(nint l, nint from, int nargs, out int nresults);
    [LibraryImport(Lib, EntryPoint = "lua_newthread")] public static partial nint NewThread(nint l);
    [LibraryImport(Lib, EntryPoint = "lua_closethread")] public static partial int CloseThread(nint l, nint from);
    [LibraryImport(Lib, EntryPoint = "lua_status")] public static partial int Status(nint l);
    [LibraryImport(Lib, EntryPoint = "lua_isyieldable")] public static partial int IsYieldable(nint l);
    [LibraryImport(Lib, EntryPoint = "lua_yieldk")] public static partial int YieldK(nint l, int nresults, nint ctx, nint k);
    [LibraryImport(Lib, EntryPoint = "lua_sethook")] public static partial void SetHook(nint l, delegate* unmanaged[Cdecl]<nint, nint, void> f, int mask, int count);
    [LibraryImport(Lib, EntryPoint = "lua_gc")] public static partial int Gc(nint l, int what, int arg);

    [LibraryImport(Lib, EntryPoint = "lua_gettop")] public static partial int GetTop(nint l);
    [LibraryImport(Lib, EntryPoint = "lua_settop")] public static partial void SetTop(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_pushvalue")] public static partial void PushValue(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_rotate")] public static partial void Rotate(nint l, int index, int n);
    [LibraryImport(Lib, EntryPoint = "lua_checkstack")] public static partial int CheckStack(nint l, int n);
    [LibraryImport(Lib, EntryPoint = "lua_xmove")] public static partial void XMove(nint from, nint to, int n);
    [LibraryImport(Lib, EntryPoint = "lua_absindex")] public static partial int AbsIndex(nint l, int index);

    [LibraryImport(Lib, EntryPoint = "lua_type")] public static partial int Type(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_isinteger")] public static partial int IsInteger(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_isnumber")] public static partial int IsNumber(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_isstring")] public static partial int IsString(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_tonumberx")] public static partial double ToNumberX(nint l, int index, int* isnum);
    [LibraryImport(Lib, EntryPoint = "lua_tointegerx")] public static partial long ToIntegerX(nint l, int index, int* isnum);
    [LibraryImport(Lib, EntryPoint = "lua_toboolean")] public static partial int ToBoolean(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_tolstring")] public static partial byte* ToLString(nint l, int index, out nuint length);
    [LibraryImport(Lib, EntryPoint = "lua_rawlen")] public static partial nuint RawLen(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_tothread")] public static partial nint ToThread(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_topointer")] public static partial nint ToPointer(nint l, int index);

    [LibraryImport(Lib, EntryPoint = "lua_pushnil")] public static partial void PushNil(nint l);
    [LibraryImport(Lib, EntryPoint = "lua_pushnumber")] public static partial void PushNumber(nint l, double n);
    [LibraryImport(Lib, EntryPoint = "lua_pushinteger")] public static partial void PushInteger(nint l, long n);
    [LibraryImport(Lib, EntryPoint = "lua_pushlstring")] public static partial nint PushLString(nint l, byte* s, nuint length);
    [LibraryImport(Lib, EntryPoint = "lua_pushboolean")] public static partial void PushBoolean(nint l, int b);
    [LibraryImport(Lib, EntryPoint = "lua_pushcclosure")] public static partial void PushCClosure(nint l, delegate* unmanaged[Cdecl]<nint, int> f, int n);
    [LibraryImport(Lib, EntryPoint = "lua_pushthread")] public static partial int PushThread(nint l);
    [LibraryImport(Lib, EntryPoint = "lua_pushlightuserdata")] public static partial void PushLightUserData(nint l, nint p);

    [LibraryImport(Lib, EntryPoint = "lua_createtable")] public static partial void CreateTable(nint l, int narr, int nrec);
    [LibraryImport(Lib, EntryPoint = "lua_rawget")] public static partial int RawGet(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_rawgeti")] public static partial int RawGetI(nint l, int index, long n);
    [LibraryImport(Lib, EntryPoint = "lua_rawset")] public static partial void RawSet(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_rawseti")] public static partial void RawSetI(nint l, int index, long n);
    [LibraryImport(Lib, EntryPoint = "lua_next")] public static partial int Next(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_getmetatable")] public static partial int GetMetatable(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "lua_setmetatable")] public static partial int SetMetatable(nint l, int index);
    [LibraryImport(Lib, EntryPoint = "luaL_ref")] public static partial int Ref(nint l, int t);
    [LibraryImport(Lib, EntryPoint = "luaL_unref")] public static partial void Unref(nint l, int t, int r);

    // ---- helpers over the raw API ----

    /// <summary>The state's extra space (LUA_EXTRASPACE, one pointer, right before the state): the owner's handle.
    /// Threads get a copy of the main thread's at creation.</summary>
    public static ref nint ExtraSpace(nint l) => ref *(nint*)(l - sizeof(nint));

    public static void Pop(nint l, int n) => SetTop(l, -n - 1);

    public static void Remove(nint l, int index)
    {
        Rotate(l, index, -1);
        Pop(l, 1);
    }

    public static void Insert(nint l, int index) => Rotate(l, index, 1);

    public static ReadOnlySpan<byte> ToSpan(nint l, int index)
    {
        byte* p = ToLString(l, index, out nuint length);
        return p is null ? default : new ReadOnlySpan<byte>(p, checked((int)length));
    }

    public static void PushBytes(nint l, ReadOnlySpan<byte> s)
    {
        fixed (byte* p = s) PushLString(l, p == null ? (byte*)&p : p, (nuint)s.Length);
    }

    /// <summary>Pushes an ASCII/UTF-8 literal (cold paths).</summary>
    public static void PushString(nint l, string s)
    {
        int max = Encoding.UTF8.GetMaxByteCount(s.Length);
        Span<byte> buffer = max <= 256 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(s, buffer);
        PushBytes(l, buffer[..n]);
    }

    public static string ToManagedString(nint l, int index) => Encoding.UTF8.GetString(ToSpan(l, index));

    public static double ToNumber(nint l, int index) => ToNumberX(l, index, null);

    public static long ToInteger(nint l, int index) => ToIntegerX(l, index, null);

    /// <summary>t[k] = v for a string key, raw (no metamethods); the value is on the top of the stack.</summary>
    public static void RawSetField(nint l, int table, ReadOnlySpan<byte> key)
    {
        table = AbsIndex(l, table);
        PushBytes(l, key);
        Insert(l, -2);
        RawSet(l, table);
    }

    /// <summary>Pushes t[k] for a string key, raw; returns its type.</summary>
    public static int RawGetField(nint l, int table, ReadOnlySpan<byte> key)
    {
        table = AbsIndex(l, table);
        PushBytes(l, key);
        return RawGet(l, table);
    }

    public static void PushFunction(nint l, delegate* unmanaged[Cdecl]<nint, int> f) => PushCClosure(l, f, 0);

    /// <summary>Loads a chunk; its status (LUA_OK, or an error message on the stack).</summary>
    public static int Load(nint l, ReadOnlySpan<byte> code, ReadOnlySpan<byte> chunkNameZ)
    {
        fixed (byte* c = code)
        fixed (byte* n = chunkNameZ)
        fixed (byte* mode = "t\0"u8)
            return LoadBufferX(l, c == null ? (byte*)&c : c, (nuint)code.Length, n, mode);
    }

    public static int PCall(nint l, int nargs, int nresults, int errfunc) => PCallK(l, nargs, nresults, errfunc, 0, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Yield0(nint l) => YieldK(l, 0, 0, 0);
}
