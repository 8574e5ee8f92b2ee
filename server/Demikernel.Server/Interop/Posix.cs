using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Demikernel.Server.Interop;

/// <summary>
/// The few POSIX calls durability needs that .NET does not expose: fsync of a directory (so a rename survives a
/// crash) and fdatasync of a file that another thread keeps appending to (FileStream is not thread-safe).
/// </summary>
internal static partial class Posix
{
    private const string Lib = "libc";
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport(Lib, EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(nint fd);

    [LibraryImport(Lib, EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);

    private const int SigInt = 2;
    private const nint SigDfl = 0;

    /// <summary>
    /// A process started in the background by a non-interactive shell inherits SIGINT ignored, and the .NET runtime
    /// then installs no handler for it (it respects an inherited SIG_IGN, as nohup expects). redis-server handles
    /// SIGINT whatever it inherited, so the default disposition is restored before the runtime's handler is asked for.
    /// </summary>
    public static void RestoreDefaultSigint() => _ = Signal(SigInt, SigDfl);

    /// <summary>fsync of a directory, so that files created or renamed in it are durable. Throws IOException on failure.</summary>
    public static void SyncDirectory(string path)
    {
        int fd = Open(path, ORdOnly | ODirectory);
        if (fd < 0) throw new IOException($"cannot open directory '{path}' to fsync it: {Marshal.GetLastPInvokeErrorMessage()}");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory '{path}' failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>fdatasync: the file's data (and the metadata needed to read it back) reach the disk. Thread-safe.</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (Fdatasync(handle.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
