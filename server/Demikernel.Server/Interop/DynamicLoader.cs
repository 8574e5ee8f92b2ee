using System.Runtime.InteropServices;

namespace Demikernel.Server.Interop;

/// <summary>
/// dlopen/dlsym/dlclose/dlerror from glibc (2.34+ exports them from libc), for MODULE LOAD: the library is opened and
/// its entry point looked up exactly as redis-server does, so a path fails with the same dlerror text in the log.
/// </summary>
internal static partial class DynamicLoader
{
    private const string Lib = "libc";
    private const int RtldNow = 2; // RTLD_NOW | RTLD_LOCAL (0)

    [LibraryImport(Lib, EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlOpen(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "dlsym", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlSym(nint handle, string symbol);

    [LibraryImport(Lib, EntryPoint = "dlclose")]
    private static partial int DlClose(nint handle);

    [LibraryImport(Lib, EntryPoint = "dlerror")]
    private static partial nint DlError();

    /// <summary>Opens <paramref name="path"/> (RTLD_NOW | RTLD_LOCAL); 0 and dlerror's text on failure.</summary>
    public static nint Open(string path, out string? error)
    {
        DlError(); // clear a stale error
        nint handle = DlOpen(path, RtldNow);
        error = handle == 0 ? Marshal.PtrToStringUTF8(DlError()) ?? "unknown dlopen error" : null;
        return handle;
    }

    public static bool HasSymbol(nint handle, string symbol) => DlSym(handle, symbol) != 0;

    /// <summary>dlclose; false when it failed (nothing to do about it for a library we only probed).</summary>
    public static bool Close(nint handle) => DlClose(handle) == 0;
}
