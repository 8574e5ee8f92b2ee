using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using Demikernel.Server.Interop;
using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>
/// Writes a snapshot (an RDB image, or an AOF base in command form) to <c>temp name</c>, appends the CRC64 trailer when
/// the format has one (RDB), fsyncs, renames it over the final name and fsyncs the directory, so that a crash leaves either the old file or the complete new one. Used directly by SAVE
/// and SHUTDOWN (on the libOS thread, which blocks as redis-server's SAVE does) and by <see cref="BackgroundFileWriter"/>.
/// </summary>
internal sealed class RdbFileWriter : IDisposable
{
    private readonly FileStream _file;
    /// <summary>rdb-save-incremental-fsync / aof-rewrite-incremental-fsync: fsync every 4 MB (REDIS_AUTOSYNC_BYTES), so
    /// the final fsync does not meet a mountain of dirty pages at once.</summary>
    private const long AutoSyncBytes = 4L << 20;

    private readonly bool _checksum;
    private readonly bool _incrementalFsync;
    private readonly bool _trailer;
    private long _unsynced;
    private ulong _crc;
    private bool _done;

    /// <param name="checksum">rdbchecksum: compute the CRC64 (else the trailer is 8 zero bytes).</param>
    /// <param name="incrementalFsync">fsync every 4 MB while writing.</param>
    /// <param name="trailer">Append the 8-byte trailer at all (false for a file without one, an AOF in command form).</param>
    public RdbFileWriter(string tempPath, string finalPath, bool checksum, bool incrementalFsync, bool trailer = true)
    {
        TempPath = tempPath;
        FinalPath = finalPath;
        _incrementalFsync = incrementalFsync;
        _trailer = trailer;
        _checksum = checksum && trailer;
        _file = new FileStream(tempPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
    }

    public string TempPath { get; }
    public string FinalPath { get; }

    public void Write(ReadOnlySpan<byte> data)
    {
        if (_checksum) _crc = RdbCrc64.Compute(_crc, data);
        _file.Write(data);
        _unsynced += data.Length;
        if (_incrementalFsync && _unsynced >= AutoSyncBytes)
        {
            _file.Flush(flushToDisk: true);
            _unsynced = 0;
        }
    }

    /// <summary>CRC trailer if any (zero when rdbchecksum is off, as redis-server writes), fsync, rename, directory
    /// fsync.</summary>
    public void Commit()
    {
        if (_trailer)
        {
            Span<byte> crc = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(crc, _checksum ? _crc : 0);
            _file.Write(crc);
        }
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(TempPath, FinalPath, overwrite: true);
        Posix.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(FinalPath))!);
        _done = true;
    }

    /// <summary>Closes and deletes the temporary file unless <see cref="Commit"/> succeeded.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        try
        {
            _file.Dispose();
        }
        catch (IOException)
        {
            // the disk is what failed; the temp file is removed below
        }
        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// An <see cref="RdbFileWriter"/> on its own thread: the libOS thread hands it serialized chunks (copied into pooled
/// arrays) and never waits for the disk. This thread is one of the documented exceptions to the one-thread rule: it
/// touches nothing but its file and its queue. <see cref="Finished"/> is polled by the server cron, as redis-server
/// polls for its child in serverCron.
/// </summary>
internal sealed class BackgroundFileWriter
{
    private readonly BlockingCollection<(byte[]? Chunk, int Length)> _queue = new();
    private readonly Thread _thread;
    private readonly Func<RdbFileWriter> _open;
    private long _pendingBytes;
    private volatile bool _finished;
    private volatile string? _error;

    /// <param name="open">Opens the file on the writer thread (so even opening never blocks the libOS thread).</param>
    public BackgroundFileWriter(string name, Func<RdbFileWriter> open)
    {
        _open = open;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Bytes handed over and not yet written.</summary>
    public long PendingBytes => Interlocked.Read(ref _pendingBytes);

    public bool Finished => _finished;

    /// <summary>Null when the file was committed; the reason otherwise (valid once <see cref="Finished"/>).</summary>
    public string? Error => _error;

    /// <summary>Size of the committed file.</summary>
    public long FileSize { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        if (_error is not null) return; // failed already: drop, the save is reported as failed
        var chunk = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(chunk);
        Interlocked.Add(ref _pendingBytes, data.Length);
        _queue.Add((chunk, data.Length));
    }

    /// <summary>No more data: commit the file (or give up when <paramref name="commit"/> is false).</summary>
    public void Complete(bool commit)
    {
        if (!commit) _queue.Add((null, -1));
        _queue.CompleteAdding();
    }

    private void Run()
    {
        RdbFileWriter? file = null;
        bool abort = false;
        try
        {
            file = _open();
            foreach (var (chunk, length) in _queue.GetConsumingEnumerable())
            {
                if (chunk is null)
                {
                    abort = true;
                    continue;
                }
                try
                {
                    if (_error is null && !abort) file.Write(chunk.AsSpan(0, length));
                }
                finally
                {
                    Interlocked.Add(ref _pendingBytes, -length);
                    ArrayPool<byte>.Shared.Return(chunk);
                }
            }
            if (abort) _error ??= "aborted";
            else
            {
                file.Commit();
                FileSize = new FileInfo(file.FinalPath).Length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _error = e.Message;
            // keep draining so the producer's chunks return to the pool
            foreach (var (chunk, length) in _queue.GetConsumingEnumerable())
            {
                if (chunk is null) continue;
                Interlocked.Add(ref _pendingBytes, -length);
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }
        finally
        {
            file?.Dispose();
            _finished = true;
        }
    }
}
