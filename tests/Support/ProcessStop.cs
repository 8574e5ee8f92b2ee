using System.Diagnostics;

namespace Demikernel.Tests.Support;

/// <summary>Ending a child process a test started with redirected output.</summary>
public static class ProcessStop
{
    /// <summary>
    /// Kills <paramref name="process"/>'s whole tree (a forked child, such as redis-server's BGSAVE, would hold the
    /// output pipe open), waits up to <paramref name="timeout"/>, then lets its output readers finish: disposing the
    /// process while they flush crashes the test host. A process that exits in between is fine. The caller disposes it.
    /// </summary>
    public static void Stop(Process process, TimeSpan timeout)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            if (process.WaitForExit(timeout)) process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // exited in between
        }
    }
}
