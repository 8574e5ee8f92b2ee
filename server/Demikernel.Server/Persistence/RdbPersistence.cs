using System.Diagnostics;
using System.Globalization;
using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>Why a background save ended (redis-server's child exit: success, error, or killed).</summary>
internal enum SaveOutcome
{
    Ok,
    Failed,
    Killed,
}

/// <summary>
/// A background save in progress: the <see cref="Snapshot"/> is stepped in slices by a coroutine on the libOS thread
/// and its bytes go to a <see cref="BackgroundFileWriter"/> thread. BGSAVE, the AOF rewrite and (later) replication's
/// full sync each run one of these over their own file or stream.
/// </summary>
internal sealed class BackgroundSave
{
    /// <summary>Serialization time per slice before the coroutine yields to clients and packets.</summary>
    private static readonly long SliceTicks = Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>Output handed to the writer thread and not yet on disk, above which the slices pause.</summary>
    private const long MaxPendingBytes = 64L << 20;

    private readonly Snapshot _snapshot;
    private readonly BackgroundFileWriter _writer;
    private bool _killed;

    public BackgroundSave(Snapshot snapshot, BackgroundFileWriter writer, long startedMs)
    {
        _snapshot = snapshot;
        _writer = writer;
        StartedMs = startedMs;
    }

    public long StartedMs { get; }
    public Snapshot Snapshot => _snapshot;
    public bool Finished => _writer.Finished;
    public string? Error => _writer.Error;
    public long FileSize => _writer.FileSize;

    public SaveOutcome Outcome => _killed ? SaveOutcome.Killed : _writer.Error is null ? SaveOutcome.Ok : SaveOutcome.Failed;

    /// <summary>The coroutine: slices until the snapshot is complete, then lets the writer commit the file.</summary>
    public async ValueTask RunAsync(Runtime.DemiLibOS libos)
    {
        while (!_snapshot.Complete)
        {
            long start = Stopwatch.GetTimestamp();
            do _snapshot.Step(256);
            while (!_snapshot.Complete && Stopwatch.GetTimestamp() - start < SliceTicks);
            Hand();
            if (_snapshot.Complete) break;
            if (_writer.PendingBytes > MaxPendingBytes) await libos.Delay(TimeSpan.FromMilliseconds(1));
            else await libos.Yield();
        }
        Hand();
        _writer.Complete(commit: !_killed);
    }

    /// <summary>Stops the save without a file, as redis-server kills its child (FLUSHALL, SHUTDOWN).</summary>
    public void Kill()
    {
        if (_killed) return;
        _killed = true;
        if (!_snapshot.Complete) _snapshot.Abandon();
    }

    private void Hand()
    {
        var bytes = _snapshot.Drain();
        if (!_killed) _writer.Write(bytes);
        _snapshot.Drained();
    }
}

/// <summary>Writes images of the databases in one go: RDB for SAVE and SHUTDOWN, either format for the AOF base made
/// at start-up.</summary>
internal static class RdbImage
{
    /// <summary>An RDB image (see <see cref="WriteAll{TFormat}"/>).</summary>
    public static void WriteAll(RedisDatabase[] databases, long nowMs, long usedMemory, bool aofBase, bool compress, RdbFileWriter output,
        byte[][]? functions = null) =>
        WriteAll(databases, nowMs, compress, new RdbSnapshotFormat(nowMs / 1000, usedMemory, aofBase, functions,
            access: RdbKeyAccess.Of(databases, nowMs)), output);

    /// <summary>
    /// Writes every live key of every database to <paramref name="output"/> in <paramref name="format"/>, on the
    /// calling thread. Unlike a <see cref="Snapshot"/> this needs no marks, so it can run while a background snapshot
    /// is in progress (SAVE during an AOF rewrite).
    /// </summary>
    public static void WriteAll<TFormat>(RedisDatabase[] databases, long nowMs, bool compress, TFormat format, RdbFileWriter output)
        where TFormat : struct, ISnapshotFormat
    {
        var w = new RdbWriter { Compress = compress };
        format.WriteHeader(w);
        foreach (var db in databases)
        {
            if (db.Count == 0) continue;
            format.WriteSelectDb(w, db.Index, db.Count, db.ExpiresCount);
            foreach (var e in db.Entries)
            {
                if (e.HasExpire && e.ExpireAtMs < nowMs) continue;
                format.WriteKey(w, e);
                if (w.Size >= 1 << 16)
                {
                    output.Write(w.Written);
                    w.Clear();
                }
            }
        }
        format.WriteEnd(w);
        output.Write(w.Written);
    }

    /// <summary>redis-server's "save" parameter: pairs of seconds and changes; null when malformed.</summary>
    public static (long Seconds, long Changes)[]? ParseSaveParams(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length % 2 != 0) return null;
        var result = new (long, long)[parts.Length / 2];
        for (int i = 0; i < result.Length; i++)
        {
            if (!long.TryParse(parts[2 * i], NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) ||
                !long.TryParse(parts[2 * i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out long changes))
            {
                return null;
            }
            result[i] = (seconds, changes);
        }
        return result;
    }
}
