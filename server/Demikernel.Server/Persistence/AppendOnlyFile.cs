using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Demikernel.Runtime;
using Demikernel.Server.Interop;
using Demikernel.Server.Propagation;
using Microsoft.Win32.SafeHandles;

namespace Demikernel.Server.Persistence;

/// <summary>The fsync policy (appendfsync).</summary>
public enum AofFsync
{
    Always,
    EverySec,
    No,
}

/// <summary>
/// Redis 7.0's multi-part append-only file: <c>dir/appenddirname/</c> holds a base written by a snapshot (an RDB image,
/// <c>.base.rdb</c>, or with aof-use-rdb-preamble no RESP commands, <c>.base.aof</c>), incremental files of RESP
/// commands, and the manifest naming them.
/// <code>
///  command effects ──▶ Append (EffectsStream: SELECT, MULTI/EXEC) ──▶ _buffer
///                                                                       │  flusher coroutine, once per run-loop step:
///  sessions about to push replies wait ◀── durable ◀── fsync ◀── write ◀┘  Yield (let every ready session append),
///  (AddWaiter)                               (always)     (one per step)     one write(), one fdatasync (always)
///  everysec: the cron asks the fsync thread for one fdatasync a second; no: the kernel decides.
///  BGREWRITEAOF: new incr file now, snapshot ─▶ new base in the background, then a new manifest; old files deleted.
/// </code>
/// A reply leaves only after the effects it may reveal were written (everysec, no) or written and fsynced (always):
/// the flusher runs before the sessions push, as redis-server flushes in beforeSleep. The fdatasync of
/// <c>always</c> and <c>everysec</c> runs on <see cref="AofSyncThread"/> (for always, its completion comes back through
/// a <see cref="RemoteCompletion"/>): the one blocking I/O allowed off the libOS thread, which meanwhile keeps serving
/// reads and packets and gathers the next group. Writes stay on the libOS thread (to the page cache, as redis-server's).
/// </summary>
internal sealed class AppendOnlyFile : IEffectsConsumer
{
    public PropagationTargets Accepts => PropagationTargets.Aof;

    private enum State
    {
        Off,
        On,
        WaitRewrite,
    }

    private readonly RedisServer _server;
    private readonly PersistenceManager _owner;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly Queue<(long Offset, AsyncSignal Signal)> _waiters = new();
    private State _state;
    private AofManifest _manifest = new();
    private SafeFileHandle? _incr;
    private string? _incrName;
    private long _incrLength;
    private int _selectedDb = -1;
    private long _written;
    private long _lastTimestamp;
    private AsyncSignal? _kick;
    private bool _flusherRunning;
    private AofSyncThread? _sync;
    private long _lastEverySecMs;
    private BackgroundSave? _rewrite;
    private long _rewriteIncrSeq;
    private string? _rewriteBaseName;
    private long _rewriteRetryAtMs;

    public AppendOnlyFile(RedisServer server, PersistenceManager owner)
    {
        _server = server;
        _owner = owner;
    }

    private ServerConfig Config => _server.Config;
    private Microsoft.Extensions.Logging.ILogger Log => _server.Log;

    public bool Enabled => _state != State.Off;

    /// <summary>Why the last write failed (MISCONF), or null.</summary>
    public string? WriteError { get; private set; }

    public bool RewriteInProgress => _rewrite is not null;
    public bool RewriteScheduled { get; private set; }

    /// <summary>A rewrite starts once no snapshot runs (a replica's dataset was replaced by its master's).</summary>
    internal void ScheduleRewrite() => RewriteScheduled = true;
    internal Snapshot? RewriteSnapshot => _rewrite?.Snapshot;
    public bool LastRewriteOk { get; private set; } = true;
    public long Rewrites { get; private set; }
    public long RewriteFailuresInARow { get; private set; }
    public long LastRewriteDurationSec { get; private set; } = -1;
    public long RewriteStartedMs => _rewrite?.StartedMs ?? 0;
    public long BaseSize { get; private set; }
    public long CurrentSize { get; private set; }
    public int BufferLength => _buffer.WrittenCount;
    public bool FsyncPending => _sync is { Pending: true };

    private string AofDir => Path.Combine(Config.Dir, Config.AppendDirName);
    private string ManifestName => Config.AppendFileName + ".manifest";

    /// <summary>Bytes of effects appended since start: the offset a reply must see durable before it leaves.</summary>
    public long Appended => _written + _buffer.WrittenCount;

    /// <summary>Written, and with appendfsync always also fsynced (except during a rewrite with
    /// no-appendfsync-on-rewrite, which skips those fsyncs as redis-server does).</summary>
    public bool IsDurable(long offset) =>
        Config.AppendFsync == AofFsync.Always && !(Config.NoAppendFsyncOnRewrite && _rewrite is not null)
            ? (_sync?.Synced ?? _written) >= offset
            : _written >= offset;

    // ------------------------------------------------------------------ effects in

    public void Append(in EffectsUnit unit)
    {
        if (_state == State.Off || (_state == State.WaitRewrite && _rewrite is null)) return;
        if (!EffectsStream.HasPart(unit, aof: true)) return;
        if (Config.AofTimestampEnabled)
        {
            long seconds = _server.CoarseNowMs / 1000;
            if (seconds != _lastTimestamp)
            {
                _lastTimestamp = seconds;
                WriteAscii($"#TS:{seconds.ToString(CultureInfo.InvariantCulture)}\r\n");
            }
        }
        EffectsStream.Write(_buffer, unit, ref _selectedDb, aof: true);
        Kick();
    }

    private void WriteAscii(string text)
    {
        var span = _buffer.GetSpan(text.Length);
        int n = Encoding.ASCII.GetBytes(text, span);
        _buffer.Advance(n);
    }

    // ------------------------------------------------------------------ replies wait for durability

    /// <summary>
    /// A reply may leave: its effects are durable under the current policy, or the AOF is off, or (everysec, no)
    /// writing failed: redis-server then still answers, keeps the effects buffered for the next attempt and refuses
    /// further writes with MISCONF. With always a reply waits until its effects are on disk.
    /// </summary>
    public bool MayReply(long offset) =>
        IsDurable(offset) || _state == State.Off || (WriteError is not null && Config.AppendFsync != AofFsync.Always);

    /// <summary>
    /// Sets <paramref name="signal"/> once a reply that may reveal effects up to <paramref name="offset"/> may leave
    /// (<see cref="MayReply"/>). The caller loops on MayReply and awaits the signal itself: an async method here would
    /// box a state machine per wait.
    /// </summary>
    public void AddWaiter(long offset, AsyncSignal signal)
    {
        signal.Reset();
        _waiters.Enqueue((offset, signal));
        Kick();
    }

    private void Kick()
    {
        if (_kick is null)
        {
            _kick = new AsyncSignal(_server.LibOS);
        }
        if (!_flusherRunning)
        {
            _flusherRunning = true;
            _server.LibOS.Spawn(FlusherAsync);
        }
        _kick.Set();
    }

    /// <summary>
    /// One write (and, with always, one fdatasync) per run-loop step for all sessions: on a kick it first yields, so
    /// that every session ready in this step runs its batch and appends, then writes everything at once.
    /// </summary>
    private async ValueTask FlusherAsync()
    {
        while (_state != State.Off || _buffer.WrittenCount > 0 || _waiters.Count > 0)
        {
            await _kick!.WaitAsync();
            await _server.LibOS.Yield();
            WriteOut();
            if (Config.AppendFsync == AofFsync.Always && _sync is { } sync && sync.Synced < _written && WriteError is null)
            {
                if (!Config.NoAppendFsyncOnRewrite || _rewrite is null) await sync.SyncAsync(_written);
            }
            WakeWaiters();
            // More effects came meanwhile: write them in the next step. After a failed write (disk full) the cron
            // retries once per tick instead, so that a server on a full disk does not spin on write().
            if (_buffer.WrittenCount > 0 && WriteError is null) _kick.Set();
        }
        _flusherRunning = false;
    }

    private void WakeWaiters()
    {
        while (_waiters.Count > 0 && MayReply(_waiters.Peek().Offset)) _waiters.Dequeue().Signal.Set();
    }

    /// <summary>write() of everything buffered to the current incremental file; on failure keep it and report MISCONF.</summary>
    private void WriteOut()
    {
        if (_buffer.WrittenCount == 0 || _incr is null) return;
        try
        {
            RandomAccess.Write(_incr, _buffer.WrittenSpan, _incrLength);
        }
        catch (IOException e)
        {
            if (WriteError is null) Log.AofWriteError(e.Message);
            WriteError = Strerror(e);
            try
            {
                RandomAccess.SetLength(_incr, _incrLength); // drop a partial write, as redis-server truncates
            }
            catch (IOException)
            {
            }
            return;
        }
        int n = _buffer.WrittenCount;
        _incrLength += n;
        _written += n;
        CurrentSize += n;
        _buffer.ResetWrittenCount();
        if (WriteError is not null)
        {
            WriteError = null;
            Log.AofWriteRecovered();
        }
    }

    private static string Strerror(IOException e)
    {
        // .NET's message is "No space left on device : 'path'"; MISCONF shows strerror only.
        string m = e.Message;
        int colon = m.IndexOf(" : '", StringComparison.Ordinal);
        return colon > 0 ? m[..colon] : m;
    }

    // ------------------------------------------------------------------ start, stop

    /// <summary>At start with appendonly yes: load the files named by the manifest (creating them when there are
    /// none), then open the last incremental file for appending. Null or the reason the server must not start.</summary>
    public string? LoadAndOpenAtStartup()
    {
        var started = Stopwatch.GetTimestamp();
        string dir = AofDir;
        string manifestPath = Path.Combine(dir, ManifestName);
        try
        {
            string legacy = Path.Combine(Config.Dir, Config.AppendFileName);
            if (!File.Exists(manifestPath) && File.Exists(legacy))
            {
                // redis-server 7.0's upgrade of a single pre-7.0 appendonly.aof: the manifest names it as the base
                // (keeping its name), then it moves into the directory; it is loaded below like any base.
                Directory.CreateDirectory(dir);
                new AofManifest { Base = new AofFileInfo(Config.AppendFileName, 1, AofFileKind.Base) }.Persist(dir, ManifestName);
                File.Move(legacy, Path.Combine(dir, Config.AppendFileName));
                Posix.SyncDirectory(dir);
                Log.AofUpgraded(Config.AppendFileName, dir);
            }
            if (!File.Exists(manifestPath))
            {
                Directory.CreateDirectory(dir);
                _manifest = new AofManifest();
                string baseName = AofManifest.BaseName(Config.AppendFileName, _manifest.NextBaseSeq, rdb: Config.AofUseRdbPreamble);
                WriteBaseNow(Path.Combine(dir, baseName));
                _manifest.Base = new AofFileInfo(baseName, 1, AofFileKind.Base);
                Log.AofBaseCreatedAtStart(baseName);
                OpenNewIncr("server start", persist: true);
                BaseSize = CurrentSize = new FileInfo(Path.Combine(dir, baseName)).Length;
                Activate();
                return null;
            }
            var manifest = AofManifest.Parse(File.ReadAllText(manifestPath), out string? problem);
            if (manifest is null) return problem;
            _manifest = manifest;
            string? error = LoadFiles(dir);
            if (error is not null) return error;
            if (_manifest.Incremental.Count == 0) OpenNewIncr("server start", persist: true);
            else OpenIncrForAppend(_manifest.Incremental[^1].Name);
            DeleteHistory(dir);
            Activate();
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Log.AofLoaded(seconds);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Can't open or create the append-only files in {dir}: {e.Message}";
        }
    }

    private string? LoadFiles(string dir)
    {
        var loader = new AofLoader(_server);
        var files = new List<AofFileInfo>();
        if (_manifest.Base is { } b) files.Add(b);
        files.AddRange(_manifest.Incremental);
        long total = 0;
        var progress = _server.Loading;
        if (progress is not null)
        {
            foreach (var f in files)
            {
                var info = new FileInfo(Path.Combine(dir, f.Name));
                if (info.Exists) progress.TotalBytes += info.Length;
            }
        }
        for (int i = 0; i < files.Count; i++)
        {
            var f = files[i];
            string path = Path.Combine(dir, f.Name);
            if (!File.Exists(path)) return $"The AOF file {f.Name} doesn't exist";
            var t0 = Stopwatch.GetTimestamp();
            var data = File.ReadAllBytes(path);
            total += data.Length;
            if (f.Kind == AofFileKind.Base) BaseSize = data.Length;
            if (data.Length == 0) continue;
            if (f.Kind == AofFileKind.Base && data.AsSpan().StartsWith("REDIS"u8)) Log.AofReadingRdbBase();
            var result = loader.Load(data, f.Name, allowRdb: f.Kind == AofFileKind.Base, progress is null ? null : progress.Advance);
            progress?.FileDone(data.Length);
            if (result.Ok && result.ValidLength < data.Length)
            {
                // a torn annotation line at the end: cut it off so that appended commands start on a line of their own
                using (var h = File.OpenHandle(path, FileMode.Open, FileAccess.Write)) RandomAccess.SetLength(h, result.ValidLength);
                total -= data.Length - result.ValidLength;
            }
            if (!result.Ok)
            {
                bool last = i == files.Count - 1;
                if (!result.Truncated) return result.Error;
                if (!last || !Config.AofLoadTruncated)
                {
                    return result.Error + ". You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. " +
                        "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.";
                }
                loader.ResetTransaction();
                Log.AofShortRead(f.Name);
                Log.AofTruncating(f.Name, result.ValidLength);
                using (var h = File.OpenHandle(path, FileMode.Open, FileAccess.Write)) RandomAccess.SetLength(h, result.ValidLength);
                total -= data.Length - result.ValidLength;
                Log.AofLoadedTruncated(f.Name);
            }
            double fileSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            Log.AofFileLoaded(f.Kind == AofFileKind.Base ? "base" : "incr", f.Name, fileSeconds);
        }
        CurrentSize = total;
        return null;
    }

    private void Activate()
    {
        _state = State.On;
        _selectedDb = -1;
        _server.Effects.Add(this);
    }

    /// <summary>CONFIG SET appendonly yes at runtime: a rewrite writes the base; effects go to a new incremental file
    /// from the moment it starts (redis-server's AOF_WAIT_REWRITE). Null or an error text.</summary>
    public string? StartAtRuntime()
    {
        if (_state != State.Off) return null;
        try
        {
            Directory.CreateDirectory(AofDir);
            string manifestPath = Path.Combine(AofDir, ManifestName);
            _manifest = File.Exists(manifestPath) ? AofManifest.Parse(File.ReadAllText(manifestPath), out _) ?? new AofManifest() : new AofManifest();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Can't create the append-only directory {AofDir}: {e.Message}";
        }
        _state = State.WaitRewrite;
        _server.Effects.Add(this);
        if (_owner.ActiveSnapshot is not null) RewriteScheduled = true;
        else StartRewrite();
        return null;
    }

    /// <summary>CONFIG SET appendonly no: flush, fsync, close; the files stay.</summary>
    public void Stop()
    {
        if (_state == State.Off) return;
        KillRewrite();
        FlushForShutdown();
        _state = State.Off;
        _server.Effects.Remove(this);
        _incr = null; // FlushForShutdown synced it; the sync thread closes it with the next switch

        WriteError = null;
        WakeWaiters();
        Log.AofStopped();
    }

    /// <summary>Writes what is buffered and fsyncs it (SHUTDOWN, appendonly no).</summary>
    public void FlushForShutdown()
    {
        if (_state == State.Off || _incr is null) return;
        WriteOut();
        Log.AofFsyncOnShutdown();
        try
        {
            Posix.DataSync(_incr);
            _sync?.MarkSynced(_written);
        }
        catch (IOException e)
        {
            Log.AofFsyncError(e.Message);
        }
        WakeWaiters();
    }

    // ------------------------------------------------------------------ files

    /// <summary>The base made at start-up when there is no manifest (redis-server's synchronous rewriteAppendOnlyFile):
    /// an RDB image, or commands with aof-use-rdb-preamble no.</summary>
    private void WriteBaseNow(string path)
    {
        long now = _server.NowMs;
        bool rdb = Config.AofUseRdbPreamble;
        using var file = new RdbFileWriter(path + ".tmp", path, Config.RdbChecksum, Config.AofRewriteIncrementalFsync, trailer: rdb);
        if (rdb) RdbImage.WriteAll(_server.Databases, now, _server.UsedMemory, aofBase: true, Config.RdbCompression, file, _server.Functions.Codes());
        else RdbImage.WriteAll(_server.Databases, now, Config.RdbCompression, CommandFormat(now), file);
        file.Commit();
    }

    /// <summary>The command form of a base, with the timestamp annotation when aof-timestamp-enabled.</summary>
    private AofCommandFormat CommandFormat(long nowMs) => new(Config.AofTimestampEnabled ? nowMs / 1000 : -1, _server.Functions.Codes());

    /// <summary>Opens a fresh incremental file; in the ON state it joins the manifest at once (persisted), while a
    /// first rewrite is pending (WAIT_REWRITE) it stays out of the manifest until the base exists.</summary>
    private void OpenNewIncr(string reason, bool persist)
    {
        long seq = _manifest.NextIncrSeq++;
        string name = AofManifest.IncrName(Config.AppendFileName, seq);
        var handle = File.OpenHandle(Path.Combine(AofDir, name), FileMode.Create, FileAccess.Write, FileShare.Read);
        SwitchIncr(handle, name, 0);
        _rewriteIncrSeq = seq;
        if (persist)
        {
            _manifest.Incremental.Add(new AofFileInfo(name, seq, AofFileKind.Incremental));
            _manifest.Persist(AofDir, ManifestName);
        }
        Posix.SyncDirectory(AofDir);
        Log.AofIncrCreated(name, reason);
    }

    private void OpenIncrForAppend(string name)
    {
        string path = Path.Combine(AofDir, name);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        SwitchIncr(handle, name, RandomAccess.GetLength(handle));
    }

    private void SwitchIncr(SafeFileHandle handle, string name, long length)
    {
        _incr = handle;
        _incrName = name;
        _incrLength = length;
        _selectedDb = -1; // a new file starts with SELECT
        _sync ??= new AofSyncThread(_server.LibOS);
        _sync.Use(handle, _written); // the old file is synced and closed on the sync thread
    }

    private void DeleteHistory(string dir)
    {
        if (_manifest.History.Count == 0 || Config.AofDisableAutoGc) return; // aof-disable-auto-gc keeps them, listed as history
        foreach (var h in _manifest.History)
        {
            Log.AofRemovingHistory(h.Name);
            try
            {
                File.Delete(Path.Combine(dir, h.Name));
            }
            catch (IOException)
            {
            }
        }
        _manifest.History.Clear();
        _manifest.Persist(dir, ManifestName);
    }

    // ------------------------------------------------------------------ rewrite

    /// <summary>BGREWRITEAOF: the reply redis-server gives.</summary>
    public (bool Ok, string Text) RewriteCommand()
    {
        if (_rewrite is not null) return (false, "ERR Background append only file rewriting already in progress");
        if (_owner.ActiveSnapshot is not null)
        {
            RewriteScheduled = true;
            return (true, "Background append only file rewriting scheduled");
        }
        return StartRewrite() ? (true, "Background append only file rewriting started") : (false, "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }

    /// <summary>Starts a rewrite: effects switch to a new incremental file now; a snapshot writes the new base.</summary>
    internal bool StartRewrite()
    {
        RewriteScheduled = false;
        if (_rewrite is not null || _owner.ActiveSnapshot is not null) return false;
        long now = _server.NowMs;
        try
        {
            Directory.CreateDirectory(AofDir);
            WriteOut();
            OpenNewIncr("background rewrite", persist: _state == State.On);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.AofRewriteFailed(e.Message);
            LastRewriteOk = false;
            RewriteFailuresInARow++;
            return false;
        }
        bool rdb = Config.AofUseRdbPreamble;
        _rewriteBaseName = AofManifest.BaseName(Config.AppendFileName, _manifest.NextBaseSeq, rdb);
        string final = Path.Combine(AofDir, _rewriteBaseName);
        string temp = Path.Combine(Config.Dir, $"temp-rewriteaof-bg-{Environment.ProcessId}.aof");
        bool checksum = Config.RdbChecksum, incremental = Config.AofRewriteIncrementalFsync;
        var snapshot = rdb
            ? Snapshot.Begin(_server.Databases, now, _server.UsedMemory, aofBase: true, Config.RdbCompression, _server.Functions.Codes())
            : Snapshot.Begin(_server.Databases, now, Config.RdbCompression, CommandFormat(now));
        var writer = new BackgroundFileWriter("aof-rewrite", () => new RdbFileWriter(temp, final, checksum, incremental, trailer: rdb));
        _rewrite = new BackgroundSave(snapshot, writer, now);
        _server.LibOS.Spawn(() => _rewrite.RunAsync(_server.LibOS));
        Log.AofRewriteStarted();
        return true;
    }

    internal void KillRewrite() => _rewrite?.Kill();

    private void FinishRewrite()
    {
        var job = _rewrite!;
        _rewrite = null;
        long now = _server.NowMs;
        LastRewriteDurationSec = (now - job.StartedMs) / 1000;
        switch (job.Outcome)
        {
            case SaveOutcome.Ok:
                Log.AofRewriteSucceeded();
                try
                {
                    InstallNewBase(job);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Log.AofRewriteFailed(e.Message);
                    LastRewriteOk = false;
                    RewriteFailuresInARow++;
                    return;
                }
                LastRewriteOk = true;
                RewriteFailuresInARow = 0;
                Rewrites++;
                Log.AofRewriteFinished();
                break;
            case SaveOutcome.Failed:
                Log.AofRewriteFailed(job.Error ?? "unknown error");
                LastRewriteOk = false;
                RewriteFailuresInARow++;
                if (_state == State.WaitRewrite) _rewriteRetryAtMs = now + 1000;
                break;
            case SaveOutcome.Killed:
                Log.AofRewriteKilled();
                break;
        }
    }

    /// <summary>The new base replaces the old one; the incremental file opened at the rewrite's start becomes the
    /// only one; the rest become history and are deleted once the new manifest is on disk.</summary>
    private void InstallNewBase(BackgroundSave job)
    {
        string dir = AofDir;
        Log.AofBaseRenamed(_rewriteBaseName!);
        if (_manifest.Base is { } oldBase) _manifest.History.Add(oldBase with { Kind = AofFileKind.History });
        foreach (var incr in _manifest.Incremental)
            if (incr.Seq != _rewriteIncrSeq) _manifest.History.Add(incr with { Kind = AofFileKind.History });
        _manifest.Incremental.RemoveAll(i => i.Seq != _rewriteIncrSeq);
        _manifest.Base = new AofFileInfo(_rewriteBaseName!, _manifest.NextBaseSeq, AofFileKind.Base);
        if (_manifest.Incremental.Count == 0 && _incrName is not null)
            _manifest.Incremental.Add(new AofFileInfo(_incrName, _rewriteIncrSeq, AofFileKind.Incremental));
        _manifest.Persist(dir, ManifestName);
        BaseSize = job.FileSize;
        CurrentSize = BaseSize + _incrLength;
        if (_state == State.WaitRewrite) _state = State.On;
        DeleteHistory(dir);
    }

    // ------------------------------------------------------------------ cron

    internal void Cron(long nowMs)
    {
        if (_rewrite is { Finished: true }) FinishRewrite();
        if (_state == State.Off) return;
        if (_buffer.WrittenCount > 0) Kick(); // retry after a write error; active-expiry deletions
        if (_state == State.WaitRewrite && _rewrite is null && nowMs >= _rewriteRetryAtMs && _owner.ActiveSnapshot is null) StartRewrite();
        if (Config.AppendFsync == AofFsync.EverySec && nowMs - _lastEverySecMs >= 1000 && _sync is { } sync && sync.Synced < _written)
        {
            if (!Config.NoAppendFsyncOnRewrite || _rewrite is null)
            {
                _lastEverySecMs = nowMs;
                sync.RequestInBackground(_written);
            }
        }
        if (_sync?.LastError is { } fsyncError)
        {
            Log.AofFsyncError(fsyncError);
            WriteError ??= fsyncError;
            _sync.ClearError();
        }
    }

    /// <summary>auto-aof-rewrite-percentage / auto-aof-rewrite-min-size.</summary>
    internal void MaybeAutoRewrite()
    {
        if (_state != State.On || _rewrite is not null) return;
        long percentage = Config.AutoAofRewritePercentage;
        if (percentage <= 0 || CurrentSize <= Config.AutoAofRewriteMinSize) return;
        long baseSize = Math.Max(BaseSize, 1);
        long growth = CurrentSize * 100 / baseSize - 100;
        if (growth < percentage) return;
        Log.AofAutoRewrite(growth);
        StartRewrite();
    }
}
