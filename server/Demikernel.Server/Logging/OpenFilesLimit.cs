using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Logging;

/// <summary>
/// redis-server's adjustOpenFilesLimit (server.c) at start-up: the server needs maxclients + 32 file descriptors; if
/// the soft RLIMIT_NOFILE is lower it tries to raise it (stepping down by 16 until setrlimit agrees), and when it still
/// falls short it lowers maxclients and logs why, in redis's words. (The .NET runtime already raises the soft limit to
/// the hard one when it starts, so in practice this fires when the hard limit is too low.) Linux only; elsewhere, and
/// if getrlimit fails, maxclients is kept as asked.
/// </summary>
public static class OpenFilesLimit
{
    /// <summary>CONFIG_MIN_RESERVED_FDS: descriptors redis keeps for itself beyond one per client.</summary>
    public const int ReservedFds = 32;

    private const int RlimitNoFile = 7; // RLIMIT_NOFILE on Linux (x86-64, arm64)

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

#pragma warning disable SYSLIB1054 // DllImport on purpose: blittable, no unsafe code needed (LibraryImport would need it)
    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static extern int SetRLimit(int resource, in RLimit limit);
#pragma warning restore SYSLIB1054

    /// <summary>The soft limit on open files, or null if it cannot be read.</summary>
    public static ulong? Current()
    {
        if (!OperatingSystem.IsLinux()) return null;
        return GetRLimit(RlimitNoFile, out var limit) == 0 ? limit.Current : null;
    }

    /// <summary>
    /// Makes room for <paramref name="maxClients"/> clients; returns the maxclients to run with (possibly lower), or
    /// 0 when the limit is too low to start at all (redis exits then, with the message logged).
    /// </summary>
    public static int Adjust(ILogger log, int maxClients)
    {
        if (!OperatingSystem.IsLinux() || GetRLimit(RlimitNoFile, out var limit) != 0) return maxClients;
        ulong maxFiles = (ulong)maxClients + ReservedFds;
        ulong oldLimit = limit.Current;
        if (oldLimit >= maxFiles) return maxClients;
        ulong best = maxFiles;
        int error = 0;
        while (best > oldLimit)
        {
            const ulong step = 16;
            var wanted = new RLimit { Current = best, Max = best };
            if (SetRLimit(RlimitNoFile, wanted) == 0) break;
            error = Marshal.GetLastPInvokeError();
            if (best < step)
            {
                best = oldLimit;
                break;
            }
            best -= step;
        }
        if (best < oldLimit) best = oldLimit;
        if (best >= maxFiles)
        {
            log.IncreasedOpenFiles(maxFiles, oldLimit);
            return maxClients;
        }
        if (best <= ReservedFds)
        {
            log.OpenFilesTooFew(oldLimit, maxFiles);
            return 0;
        }
        int reduced = (int)(best - ReservedFds);
        log.MaxClientsNeedFiles(maxClients, maxFiles);
        log.CannotSetOpenFiles(maxFiles, Marshal.GetPInvokeErrorMessage(error));
        log.MaxClientsReduced(best, reduced);
        return reduced;
    }
}
