using System.Diagnostics;
using Demikernel.Server.Store;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Persistence;

/// <summary>
/// Keeps the data on disk as redis-server 7.0 does: the RDB file (SAVE, BGSAVE, save points, SHUTDOWN, FLUSHALL) and
/// the append-only file (<see cref="AppendOnlyFile"/>); loads one of them at start; reports what really happened to
/// INFO persistence, LASTSAVE and the MISCONF guard. Runs on the libOS thread; background saves are coroutines plus a
/// writer thread (see <see cref="BackgroundSave"/>).
/// </summary>
public sealed class PersistenceManager
{
    /// <summary>Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE, save points wait this long before retrying.</summary>
    private const long BgsaveRetryDelayMs = 5000;

    public const string MisconfRdbError =
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

    private readonly RedisServer _server;
    private BackgroundSave? _bgsave;
    private long _dirtyAtLastSave;
    private long _dirtyBeforeBgsave;
    private long _lastBgsaveTryMs;

    internal PersistenceManager(RedisServer server)
    {
        _server = server;
        LastSaveUnix = server.NowMs / 1000; // "At startup we consider the DB saved"
        Aof = new AppendOnlyFile(server, this);
    }

    private ILogger Log => _server.Log;
    private ServerConfig Config => _server.Config;

    /// <summary>The append-only file (off unless appendonly is yes).</summary>
    internal AppendOnlyFile Aof { get; }

    /// <summary>Unix seconds of the last successful save (LASTSAVE, rdb_last_save_time).</summary>
    public long LastSaveUnix { get; private set; }

    public bool LastBgsaveOk { get; private set; } = true;
    public long LastBgsaveDurationSec { get; private set; } = -1;
    public long RdbSaves { get; private set; }
    public long LastLoadKeysLoaded { get; private set; }
    public long LastLoadKeysExpired { get; private set; }
    public long LastPreservedBytes { get; private set; }
    public bool BgsaveScheduled { get; private set; }

    /// <summary>True while a background RDB save runs (rdb_bgsave_in_progress).</summary>
    public bool BgsaveInProgress => _bgsave is not null;

    /// <summary>The running snapshot of BGSAVE or of the AOF rewrite, if any: only one at a time, like redis-server's child.</summary>
    internal Snapshot? ActiveSnapshot => _bgsave?.Snapshot ?? Aof.RewriteSnapshot ?? _server.Replication.DisklessSnapshot;

    internal BackgroundSave? Bgsave => _bgsave;

    /// <summary>Changes since the last successful save (rdb_changes_since_last_save).</summary>
    public long Dirty => TotalChanges() - _dirtyAtLastSave;

    /// <summary>Redis's server.dirty: changes made by commands (not expiries), counted by the effects log.</summary>
    private long TotalChanges() => _server.Stats.Dirty;

    /// <summary>Applies a persistence parameter CONFIG SET changed (see <see cref="ServerConfig.ApplyHook"/>).</summary>
    internal string? ApplyConfig(string name, string old)
    {
        if (name != "appendonly" || (old == "yes") == Config.AppendOnly) return null;
        if (!Config.AppendOnly)
        {
            Aof.Stop();
            return null;
        }
        string? error = Aof.StartAtRuntime();
        if (error is null) return null;
        Log.AofWriteError(error);
        return "Unable to turn on AOF. Check server logs.";
    }

    /// <summary>The MISCONF error write commands get, or null when writes are allowed.</summary>
    public string? WriteDeniedError
    {
        get
        {
            if (Config.StopWritesOnBgsaveError && Config.SaveParams.Length > 0 && !LastBgsaveOk) return MisconfRdbError;
            if (Aof.WriteError is { } aofError) return "MISCONF Errors writing to the AOF file: " + aofError;
            return null;
        }
    }

    internal string RdbPath => Path.Combine(Config.Dir, Config.DbFilename);

    // ------------------------------------------------------------------ start

    /// <summary>
    /// Loads the data at start: the AOF when appendonly is yes, otherwise the RDB file if it exists. Returns null or
    /// the reason the server must not start (an unreadable file is never silently ignored).
    /// </summary>
    public string? LoadAtStartup()
    {
        var started = Stopwatch.GetTimestamp();
        _server.Loading = new LoadingProgress(_server);
        try
        {
            if (Config.AppendOnly) return Aof.LoadAndOpenAtStartup();
            string path = RdbPath;
            if (!File.Exists(path)) return null;
            Log.LoadingRdb(path);
            var result = LoadRdbFile(path, out string? problem, progress: _server.Loading);
            if (problem is not null) return problem;
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Log.RdbLoaded(seconds, result.KeysLoaded, result.ExpiredSkipped);
            return null;
        }
        finally
        {
            _server.Loading = null;
        }
    }

    internal RdbLoadResult LoadRdbFile(string path, out string? problem, bool replaceDuplicates = false, LoadingProgress? progress = null)
    {
        problem = null;
        byte[] image;
        try
        {
            var info = new FileInfo(path);
            if (info.Length > Array.MaxLength)
            {
                problem = $"RDB file '{path}' is {info.Length} bytes; files over {Array.MaxLength} bytes cannot be loaded yet";
                return default;
            }
            image = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"Can't read the RDB file '{path}': {e.Message}";
            return default;
        }
        if (progress is not null) progress.TotalBytes = image.Length;
        var result = RdbLoader.Load(image, _server.Databases, _server.NowMs, verifyChecksum: !_server.Diagnostics.SkipChecksumValidation, replaceDuplicates ? _server.Functions.LoadFromRdbReplacing : _server.Functions.LoadFromRdb, replaceDuplicates, progress is null ? null : progress.Advance,
            progress is null ? null : usedMem => progress.RdbUsedMemory = usedMem);
        if (!result.Ok)
        {
            problem = $"Failed loading the RDB file '{path}': {result.Error}"; // the loader left the databases empty
            return result;
        }
        if (result.BytesUsed != image.Length)
        {
            problem = $"Failed loading the RDB file '{path}': {image.Length - result.BytesUsed} unexpected bytes after the end of the RDB at offset {result.BytesUsed}";
            foreach (var db in _server.Databases) db.Clear(); // never start with half a dataset
            return result;
        }
        LastLoadKeysLoaded = result.KeysLoaded;
        LastLoadKeysExpired = result.ExpiredSkipped;
        _dirtyAtLastSave = TotalChanges();
        return result;
    }

    // ------------------------------------------------------------------ SAVE / BGSAVE

    /// <summary>SAVE: writes the RDB file on the libOS thread (clients wait, as with redis-server). Null or an error text.</summary>
    public string? Save()
    {
        if (_bgsave is not null) return "ERR Background save already in progress";
        return SaveNow() ? null : "ERR";
    }

    /// <summary>Writes the RDB file synchronously; logs and records the outcome.</summary>
    private bool SaveNow()
    {
        long now = _server.NowMs;
        long dirty = TotalChanges();
        string final = RdbPath;
        string temp = Path.Combine(Config.Dir, $"temp-{Environment.ProcessId}.rdb");
        try
        {
            using var file = new RdbFileWriter(temp, final, Config.RdbChecksum, Config.RdbSaveIncrementalFsync);
            RdbImage.WriteAll(_server.Databases, now, _server.UsedMemory, aofBase: false, Config.RdbCompression, file, _server.Functions.Codes());
            file.Commit();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.SaveFailed(e.Message);
            LastBgsaveOk = false; // redis-server's rdbSave failure also makes writes fail with MISCONF
            return false;
        }
        Log.DbSaved();
        _dirtyAtLastSave = dirty;
        LastSaveUnix = now / 1000;
        LastBgsaveOk = true;
        RdbSaves++;
        return true;
    }

    /// <summary>BGSAVE [SCHEDULE]: the reply redis-server gives (status or error text).</summary>
    public (bool Ok, string Text) BackgroundSaveCommand(bool schedule, bool inExec)
    {
        // a diskless transfer to replicas is redis's RDB child too
        if (_bgsave is not null || _server.Replication.DisklessSnapshot is not null) return (false, "ERR Background save already in progress");
        if (Aof.RewriteInProgress || inExec)
        {
            if (schedule || inExec)
            {
                BgsaveScheduled = true;
                return (true, "Background saving scheduled");
            }
            return (false, "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        return StartBackgroundSave() ? (true, "Background saving started") : (false, "ERR");
    }

    /// <summary>Starts BGSAVE (the caller checked that no snapshot runs).</summary>
    internal bool StartBackgroundSave()
    {
        long now = _server.NowMs;
        _lastBgsaveTryMs = now;
        _dirtyBeforeBgsave = TotalChanges();
        var snapshot = Snapshot.Begin(_server.Databases, now, _server.UsedMemory, aofBase: false, Config.RdbCompression, _server.Functions.Codes(),
            _server.Replication.SaveInfo());
        string final = RdbPath;
        string temp = Path.Combine(Config.Dir, $"temp-{Environment.ProcessId}-bg.rdb");
        bool checksum = Config.RdbChecksum, incremental = Config.RdbSaveIncrementalFsync;
        var writer = new BackgroundFileWriter("bgsave", () => new RdbFileWriter(temp, final, checksum, incremental));
        _bgsave = new BackgroundSave(snapshot, writer, now);
        BgsaveScheduled = false;
        _server.LibOS.Spawn(() => _bgsave.RunAsync(_server.LibOS));
        Log.BackgroundSavingStarted();
        return true;
    }

    /// <summary>Stops a running BGSAVE without a file (FLUSHALL, SHUTDOWN), as killRDBChild does.</summary>
    internal void KillBackgroundSave()
    {
        if (_bgsave is null) return;
        _bgsave.Kill();
    }

    private void FinishBackgroundSave()
    {
        var job = _bgsave!;
        _bgsave = null;
        long now = _server.NowMs;
        LastPreservedBytes = job.Snapshot.PreservedBytes;
        switch (job.Outcome)
        {
            case SaveOutcome.Ok:
                Log.BackgroundSavingSucceeded(job.Snapshot.KeysWritten, job.FileSize, job.Snapshot.PreservedBytes);
                _dirtyAtLastSave = _dirtyBeforeBgsave;
                LastSaveUnix = now / 1000;
                LastBgsaveOk = true;
                RdbSaves++;
                break;
            case SaveOutcome.Failed:
                Log.BackgroundSavingFailed(job.Error ?? "unknown error");
                LastBgsaveOk = false;
                break;
            case SaveOutcome.Killed:
                Log.BackgroundSavingKilled();
                break;
        }
        LastBgsaveDurationSec = (now - job.StartedMs) / 1000;
    }

    // ------------------------------------------------------------------ cron, FLUSHALL, SHUTDOWN

    /// <summary>serverCron's persistence part: finished saves, save points, scheduled saves, the AOF's periodic work.</summary>
    internal void Cron()
    {
        long now = _server.NowMs;
        if (_bgsave is { Finished: true }) FinishBackgroundSave();
        Aof.Cron(now);
        if (ActiveSnapshot is not null) return;
        if (BgsaveScheduled)
        {
            StartBackgroundSave();
            return;
        }
        if (Aof.RewriteScheduled)
        {
            Aof.StartRewrite();
            return;
        }
        long dirty = Dirty;
        foreach (var (seconds, changes) in Config.SaveParams)
        {
            if (dirty >= changes && now / 1000 - LastSaveUnix > seconds &&
                (LastBgsaveOk || now - _lastBgsaveTryMs > BgsaveRetryDelayMs))
            {
                Log.SavePointReached(changes, seconds);
                StartBackgroundSave();
                return;
            }
        }
        Aof.MaybeAutoRewrite();
    }

    /// <summary>FLUSHALL: kills a running BGSAVE and, when save points are configured, saves the empty dataset now.</summary>
    internal void OnFlushAll()
    {
        KillBackgroundSave();
        if (Config.SaveParams.Length > 0) SaveNow();
    }

    /// <summary>
    /// SHUTDOWN's persistence: kill a background save, fsync the AOF, save the RDB when save points are configured
    /// (or <paramref name="save"/> is true) unless <paramref name="save"/> is false. Returns false when saving failed
    /// and the server must keep running (unless forced).
    /// </summary>
    internal bool PrepareForShutdown(bool? save, bool force)
    {
        KillBackgroundSave();
        Aof.KillRewrite();
        Aof.FlushForShutdown();
        bool wantSave = save ?? Config.SaveParams.Length > 0;
        if (wantSave)
        {
            Log.SavingFinalRdb();
            if (!SaveNow() && !force)
            {
                Log.ShutdownSaveFailed();
                return false;
            }
        }
        return true;
    }
}
