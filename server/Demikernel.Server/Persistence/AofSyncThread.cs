using Demikernel.Runtime;
using Demikernel.Server.Interop;
using Microsoft.Win32.SafeHandles;

namespace Demikernel.Server.Persistence;

/// <summary>
/// The AOF's fdatasync, off the libOS thread (redis-server's bio fsync thread): requests are (file, offset) pairs
/// served in order; <see cref="Synced"/> is the highest offset known to be on disk. An old incremental file handed
/// over by <see cref="Use"/> is synced and closed here too, so switching files never blocks the libOS thread.
/// </summary>
internal sealed class AofSyncThread
{
    private readonly Queue<(SafeFileHandle Handle, long Offset, bool Close, bool Notify)> _requests = new();
    private readonly DemiLibOS _libos;
    private readonly RemoteCompletion _done;
    private readonly Thread _thread;
    private SafeFileHandle? _current;
    private long _synced;
    private long _requested;
    private volatile string? _lastError;

    public AofSyncThread(DemiLibOS libos)
    {
        _libos = libos;
        _done = new RemoteCompletion(libos);
        _thread = new Thread(Run) { IsBackground = true, Name = "aof-fsync" };
        _thread.Start();
    }

    /// <summary>Offset of the effects stream known to be on disk.</summary>
    public long Synced => Volatile.Read(ref _synced);

    public bool Pending
    {
        get
        {
            lock (_requests) return _requests.Count > 0;
        }
    }

    /// <summary>The last fdatasync failure (taken and cleared by the cron).</summary>
    public string? LastError => _lastError;

    public void ClearError() => _lastError = null;

    /// <summary>Switches to a new file; everything written so far (<paramref name="writtenSoFar"/>) went to the old one,
    /// which is synced and closed in the background before any later request is served.</summary>
    public void Use(SafeFileHandle handle, long writtenSoFar)
    {
        var old = _current;
        _current = handle;
        if (old is not null) Enqueue(old, writtenSoFar, close: true, notify: false);
        else MarkSynced(writtenSoFar);
    }

    /// <summary>everysec: one fdatasync of the current file in the background.</summary>
    public void RequestInBackground(long offset)
    {
        if (_current is { } h && offset > Volatile.Read(ref _requested)) Enqueue(h, offset, close: false, notify: false);
    }

    /// <summary>
    /// always: completes on the libOS thread once the effects up to <paramref name="offset"/> are on disk. The
    /// fdatasync runs on this thread, so the libOS keeps serving (reads, packets) meanwhile; one caller at a time (the
    /// AOF's flusher).
    /// </summary>
    public ValueTask<int> SyncAsync(long offset)
    {
        if (_current is not { } h || Synced >= offset) return new ValueTask<int>(0);
        _libos.BeginExternalWork(); // a virtual clock must not jump while the disk works
        Enqueue(h, offset, close: false, notify: true);
        return _done.WaitAsync();
    }

    /// <summary>Records that everything up to <paramref name="offset"/> is on disk (synced on the caller's thread).</summary>
    public void MarkSynced(long offset)
    {
        long seen;
        do seen = Volatile.Read(ref _synced);
        while (offset > seen && Interlocked.CompareExchange(ref _synced, offset, seen) != seen);
    }

    private void Enqueue(SafeFileHandle handle, long offset, bool close, bool notify)
    {
        lock (_requests)
        {
            _requests.Enqueue((handle, offset, close, notify));
            if (offset > _requested) Volatile.Write(ref _requested, offset);
            Monitor.PulseAll(_requests);
        }
    }

    private void Run()
    {
        while (true)
        {
            (SafeFileHandle Handle, long Offset, bool Close, bool Notify) request;
            lock (_requests)
            {
                while (_requests.Count == 0) Monitor.Wait(_requests);
                request = _requests.Peek();
            }
            try
            {
                if (!request.Handle.IsClosed) Posix.DataSync(request.Handle);
                MarkSynced(request.Offset);
            }
            catch (IOException e)
            {
                _lastError = e.Message;
            }
            if (request.Close) request.Handle.Dispose();
            lock (_requests)
            {
                _requests.Dequeue();
                Monitor.PulseAll(_requests);
            }
            if (request.Notify)
            {
                _done.Complete();
                _libos.EndExternalWork();
            }
        }
    }
}
