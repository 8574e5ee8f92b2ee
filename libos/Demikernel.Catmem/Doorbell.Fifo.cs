using System.Runtime.InteropServices;

namespace Demikernel.Catmem;

/// <summary>
/// The doorbell's second way to sleep, for a catmem transport combined with others under one libOS (catnap beside
/// catmem in the server): a futex cannot sit in a ppoll with catnap's epoll descriptor, so the owner then sleeps on a
/// FIFO, <c>demikernel-catmem-bell.{pid}.{n}.fifo</c> next to the bell file, and raises the flag with
/// <see cref="SleepingOnFifo"/> instead of 1. A peer that sees that value writes one byte to the FIFO instead of waking
/// the futex. The same Dekker pairing of flag and data holds, so no wake-up is lost; and, as with the futex, an awake
/// owner costs its peers a fence and a load, never a system call.
/// </summary>
internal sealed unsafe partial class Doorbell
{
    private const int SleepingOnFifo = 2;
    private const int ORdOnly = 0, OWrOnly = 1, ONonBlock = 0x800, OCloExec = 0x80000, EExist = 17;

    private int _fifoRead = -1;  // owner: the read end, open for life (so the peers' non-blocking opens for writing succeed)
    private int _fifoWrite = -1; // owner: its own write end (RingAlways); peer: the owner's FIFO (-2: it is gone)
    private bool _fifoOwner;

    private string FifoPath => _segment.Path + ".fifo";

    /// <summary>Owner: the FIFO's read end, readable while a peer has rung it; made on first use.</summary>
    public int FifoFd
    {
        get
        {
            if (_fifoRead < 0) CreateFifo();
            return _fifoRead;
        }
    }

    private void CreateFifo()
    {
        string path = FifoPath;
        if (mkfifo(path, 0x1b6) != 0) // 0666, less the umask, as the shared files FileStream creates
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EExist) throw new IOException($"catmem: mkfifo {path} failed (errno {errno})");
            File.Delete(path); // a dead process with our pid left it
            if (mkfifo(path, 0x1b6) != 0) throw new IOException($"catmem: mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        _fifoOwner = true;
        _fifoRead = open(path, ORdOnly | ONonBlock | OCloExec);
        if (_fifoRead < 0) throw new IOException($"catmem: open {path} failed (errno {Marshal.GetLastPInvokeError()})");
        _fifoWrite = open(path, OWrOnly | ONonBlock | OCloExec);
    }

    /// <summary>Owner, before its last look at the rings: peers ring the FIFO from now on (a full fence, as in Sleep).</summary>
    public void ArmFifo() => Interlocked.Exchange(ref Sleeping, SleepingOnFifo);

    /// <summary>Owner, after the sleep: peers stop ringing; what they wrote is drained.</summary>
    public void DisarmFifo()
    {
        Volatile.Write(ref Sleeping, 0);
        byte* buffer = stackalloc byte[64];
        while (read(_fifoRead, buffer, 64) == 64) { }
    }

    private void RingFifo()
    {
        if (_fifoWrite == -2) return;
        if (_fifoWrite < 0 && (_fifoWrite = open(FifoPath, OWrOnly | ONonBlock | OCloExec)) < 0)
        {
            _fifoWrite = -2; // the owner made it before raising the flag: missing means the owner is gone
            return;
        }
        byte one = 1;
        write(_fifoWrite, &one, 1); // EAGAIN: the FIFO is full, so readable already
    }

    private void RingOwnFifo()
    {
        if (!_fifoOwner || _fifoWrite < 0) return;
        byte one = 1;
        write(_fifoWrite, &one, 1);
    }

    private void UnlinkFifo()
    {
        if (!_fifoOwner) return;
        try { File.Delete(FifoPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void CloseFifo()
    {
        if (_fifoRead >= 0) _ = close(_fifoRead);
        if (_fifoWrite >= 0) _ = close(_fifoWrite);
        _fifoRead = _fifoWrite = -1;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
