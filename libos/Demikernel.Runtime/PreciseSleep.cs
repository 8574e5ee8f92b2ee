using System.Runtime.InteropServices;

namespace Demikernel.Runtime;

/// <summary>
/// Sleeps of some microseconds that last about as long as asked. Linux stretches a thread's timed sleeps by its timer
/// slack, 50 µs by default, so that wake-ups coalesce: on this kind of VM a 20 µs sleep took 91 µs, and 37 µs with a
/// slack of 1 ns (the rest is the VM's timer). The first sleep on a thread sets that thread's slack to 1 ns, which only
/// makes its later timed waits more precise.
/// </summary>
internal static unsafe partial class PreciseSleep
{
    private const int ClockMonotonic = 1;
    private const int PrSetTimerSlack = 29;

    [ThreadStatic] private static bool t_slackSet;

    public static void For(TimeSpan span)
    {
        if (span <= TimeSpan.Zero) return;
        if (!t_slackSet)
        {
            t_slackSet = true;
            _ = prctl(PrSetTimerSlack, 1, 0, 0, 0); // an old kernel without it: the sleep is merely longer
        }
        long ns = span.Ticks * 100;
        var ts = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
        _ = clock_nanosleep(ClockMonotonic, 0, &ts, null); // EINTR ends it early: the caller polls, then sleeps again
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc")]
    private static partial int clock_nanosleep(int clock, int flags, TimeSpec* request, TimeSpec* remain);

    [LibraryImport("libc")]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
