using System.Text;

namespace Demikernel.Server.Logging;

/// <summary>
/// Where log lines go: standard output, or a file opened for appending (redis.conf's <c>logfile</c>; empty = stdout).
/// <code>
///   libOS thread: Write(line) ─▶ pending text (lock held for an append, nothing else) ─▶ wakes the writer
///   writer thread: takes everything pending ─▶ one write ─▶ flush  (file: open O_APPEND, write, flush, close)
/// </code>
/// redis-server writes each line with fprintf + fflush, opening and closing the file around every line (so logrotate
/// can move it). Here a background thread does the same per batch: each batch of lines is written and flushed as soon
/// as it is queued, the file is opened and closed around each batch, and the libOS thread never waits on a disk or a
/// full pipe. If the writer falls far behind (more than <see cref="MaxPendingChars"/> queued), new lines are dropped
/// and counted, and a line saying how many precedes the next one written. Nothing here throws to the caller; a file
/// that cannot be opened loses its lines, as in redis-server.
/// </summary>
public sealed class LogSink : IDisposable
{
    public const int MaxPendingChars = 4 << 20;

    private readonly object _gate = new();
    private readonly string? _path;
    private readonly Stream? _stdout;
    private readonly Thread _writer;
    private StringBuilder _pending = new();
    private StringBuilder _spare = new();
    private bool _writing;
    private bool _disposed;
    private long _dropped;

    /// <param name="path">redis.conf's logfile: null or empty for standard output.</param>
    /// <param name="stdout">Where "standard output" lines go (tests); the process's standard output by default.</param>
    public LogSink(string? path = null, Stream? stdout = null)
    {
        _path = string.IsNullOrEmpty(path) ? null : Path.GetFullPath(path);
        _stdout = _path is null ? stdout ?? Console.OpenStandardOutput() : null;
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "redis-log writer" };
        _writer.Start();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>The file lines are appended to, or null for standard output.</summary>
    public string? FilePath => _path;

    /// <summary>Lines dropped because the writer could not keep up.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues text (whole lines, each ending in '\n'). Never blocks on I/O, never throws.</summary>
    public void Write(StringBuilder lines)
    {
        try
        {
            lock (_gate)
            {
                if (_disposed) return;
                if (_pending.Length + lines.Length > MaxPendingChars)
                {
                    _dropped++;
                    return;
                }
                bool wake = _pending.Length == 0;
                _pending.Append(lines);
                if (wake) Monitor.Pulse(_gate);
            }
        }
        catch (Exception)
        {
            // Logging never fails its caller (OutOfMemoryException while appending, at worst).
        }
    }

    public void Write(string lines) => Write(new StringBuilder(lines));

    /// <summary>Waits until every line queued so far is written and flushed; false if that took longer than <paramref name="timeout"/>.</summary>
    public bool Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (_pending.Length > 0 || _writing)
            {
                if (!_writer.IsAlive) return false;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_gate, left);
            }
            return true;
        }
    }

    private void WriterLoop()
    {
        while (true)
        {
            StringBuilder batch;
            long dropped;
            lock (_gate)
            {
                while (_pending.Length == 0 && !_disposed) Monitor.Wait(_gate);
                if (_pending.Length == 0) return; // disposed and drained
                batch = _pending;
                _pending = _spare;
                _spare = batch;
                dropped = _dropped;
                _dropped = 0;
                _writing = true;
            }
            try
            {
                if (dropped > 0) batch.Insert(0, $"(redis-log: {dropped} lines dropped, the log writer could not keep up)\n");
                WriteOut(batch);
            }
            catch (Exception)
            {
                // A log that cannot be written loses the lines (redis-server: "if (!fp) return;").
            }
            finally
            {
                batch.Clear();
                lock (_gate)
                {
                    _writing = false;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private void WriteOut(StringBuilder batch)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(batch.ToString());
        if (_path is null)
        {
            _stdout!.Write(bytes);
            _stdout.Flush();
            return;
        }
        using var file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        file.Write(bytes);
        file.Flush();
    }

    private void OnProcessExit(object? sender, EventArgs e) => Flush(TimeSpan.FromSeconds(2));

    /// <summary>Writes what is queued (up to 5 s), then stops the writer.</summary>
    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        Flush(TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        _writer.Join(TimeSpan.FromSeconds(5));
    }
}
