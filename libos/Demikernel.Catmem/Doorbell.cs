using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demikernel.Catmem;

/// <summary>
/// How a sleeping catmem libOS is woken by another process: one small shared file per transport,
/// <c>demikernel-catmem-bell.{pid}.{n}</c>, holding a futex word and a "sleeping" flag. The owner, before it blocks,
/// raises the flag, polls its rings once more, and waits on the futex; a peer that has just written to a ring (or
/// freed space, accepted, connected, closed) looks at the flag and, only if it is up, bumps the word and wakes the
/// futex. The flag store and the peer's data store are each followed by a full fence before the other side's load
/// (Dekker), so either the sleeper sees the data or the writer sees the flag: no lost wake-up, and no system call on
/// the data path while the peer is awake.
/// <code>
///   +0 sequence (futex word, i32)   +4 sleeping (i32: 0 awake, 1 on the futex, 2 on the FIFO: Doorbell.Fifo.cs)
/// </code>
/// </summary>
internal sealed unsafe partial class Doorbell : IDisposable
{
    public const int Bytes = 64;
    private const int FutexWait = 0, FutexWake = 1; // not the _PRIVATE variants: the word is shared between processes
    private const long SysFutex = 202; // x86-64

    private readonly SharedSegment _segment;

    private Doorbell(SharedSegment segment, ulong id)
    {
        _segment = segment;
        Id = id;
    }

    /// <summary>pid in the high half, a per-process number in the low half; 0 = none.</summary>
    public ulong Id { get; }

    private ref int Sequence => ref Unsafe.AsRef<int>(_segment.Base);
    private ref int Sleeping => ref Unsafe.AsRef<int>(_segment.Base + 4);

    public static string PathOf(string directory, ulong id) =>
        System.IO.Path.Combine(directory, $"demikernel-catmem-bell.{(uint)(id >> 32)}.{(uint)id}");

    /// <summary>Creates this process's bell (replacing a leftover of the same name).</summary>
    public static Doorbell Create(string directory, ulong id)
    {
        string path = PathOf(directory, id);
        var segment = SharedSegment.TryCreate(path, Bytes);
        if (segment is null)
        {
            File.Delete(path); // a dead process with our pid left it
            segment = SharedSegment.TryCreate(path, Bytes) ?? throw new IOException($"cannot create {path}");
        }
        return new Doorbell(segment, id);
    }

    /// <summary>Maps a peer's bell; null if it is gone.</summary>
    public static Doorbell? Open(string directory, ulong id) =>
        id == 0 ? null : SharedSegment.TryOpen(PathOf(directory, id), Bytes) is { } s ? new Doorbell(s, id) : null;

    /// <summary>Peer side, after publishing something: wakes the owner if it sleeps. Costs a fence and a load otherwise.</summary>
    public void Ring()
    {
        Interlocked.MemoryBarrier(); // our ring store before the flag load (store-load needs a full fence)
        int sleeping = Volatile.Read(ref Sleeping);
        if (sleeping == 0) return;
        if (sleeping == SleepingOnFifo)
        {
            RingFifo(); // the owner sleeps in a ppoll with other transports (Doorbell.Fifo.cs)
            return;
        }
        Interlocked.Increment(ref Sequence);
        Futex(ref Sequence, FutexWake, int.MaxValue, null);
    }

    /// <summary>Wakes the owner whatever the flag says (another thread of the owner's process posted to it).</summary>
    public void RingAlways()
    {
        Interlocked.Increment(ref Sequence);
        Futex(ref Sequence, FutexWake, int.MaxValue, null);
        RingOwnFifo();
    }

    /// <summary>
    /// Owner side: raises the flag, runs <paramref name="recheck"/> (a poll of the rings), and sleeps on the futex for
    /// up to <paramref name="timeout"/> only if it found nothing.
    /// </summary>
    public void Sleep(TimeSpan timeout, Func<bool> recheck)
    {
        int sequence = Volatile.Read(ref Sequence);
        Interlocked.Exchange(ref Sleeping, 1); // a full fence: the flag is visible before we look at the rings
        try
        {
            if (recheck()) return;
            var ts = new TimeSpec { Seconds = (long)timeout.TotalSeconds, Nanoseconds = (long)(timeout.Ticks % TimeSpan.TicksPerSecond * 100) };
            Futex(ref Sequence, FutexWait, sequence, &ts); // returns at once if the sequence moved since we read it
        }
        finally
        {
            Volatile.Write(ref Sleeping, 0);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static void Futex(ref int word, int op, int value, TimeSpec* timeout)
    {
        fixed (int* p = &word) syscall(SysFutex, (nint)p, op, value, (nint)timeout, 0, 0);
    }

    // syscall(2) is variadic in C; on x86-64 integer arguments pass the same way either side, which is how this call
    // stays correct without a C shim.
    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, nint a1, long a2, long a3, nint a4, long a5, long a6);

    public void Unlink()
    {
        _segment.Unlink();
        UnlinkFifo();
    }

    public void Dispose()
    {
        CloseFifo();
        _segment.Dispose();
    }
}
