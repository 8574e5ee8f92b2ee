namespace Demikernel.Server.Persistence;

/// <summary>
/// The dataset being loaded at start (redis's server.loading). Every <c>loading-process-events-interval-bytes</c> of
/// input the loader lets the libOS run once, as redis's processEventsWhileBlocked: clients are accepted and answered
/// <c>-LOADING</c> (commands flagged loading, INFO among them, run), instead of waiting unseen in the backlog. A shutdown
/// asked meanwhile stops the load, and never saves the half-loaded dataset.
/// </summary>
internal sealed class LoadingProgress(RedisServer server)
{
    private long _earlierFiles; // bytes of the files already loaded (an AOF's base and increments)
    private long _nextEventsAt = server.Config.LoadingProcessEventsIntervalBytes;

    public long StartUnix { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>Bytes to load in all (loading_total_bytes).</summary>
    public long TotalBytes { get; set; }

    /// <summary>The used-mem AUX field of the RDB being loaded (loading_rdb_used_mem): the memory the server that wrote it
    /// was using; 0 until one is read (an AOF without an RDB preamble, a file written without it).</summary>
    public long RdbUsedMemory { get; set; }

    /// <summary>Bytes loaded so far (loading_loaded_bytes).</summary>
    public long LoadedBytes { get; private set; }

    /// <summary>A loader's report: <paramref name="fileBytes"/> of the current file consumed. False: stop loading, the
    /// server is shutting down.</summary>
    public bool Advance(long fileBytes)
    {
        LoadedBytes = _earlierFiles + fileBytes;
        if (LoadedBytes >= _nextEventsAt)
        {
            _nextEventsAt = LoadedBytes + server.Config.LoadingProcessEventsIntervalBytes;
            server.LibOS.Poll();
        }
        return !server.Stopping;
    }

    /// <summary>The current file is loaded; the next one's offsets count from here.</summary>
    public void FileDone(long fileBytes) => LoadedBytes = _earlierFiles += fileBytes;

    /// <summary>INFO persistence's loading_* lines, as redis-server 7.0 prints them while loading.</summary>
    public void AppendInfo(System.Text.StringBuilder sb)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        double perc = TotalBytes > 0 ? (double)LoadedBytes / TotalBytes * 100 : 0;
        long remaining = TotalBytes > 0 ? TotalBytes - LoadedBytes : 1;
        long elapsed = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - StartUnix;
        long eta = elapsed == 0 ? 1 : elapsed * remaining / (LoadedBytes + 1); // redis's fake 1 s before any figure
        sb.Append(ci, $"loading_start_time:{StartUnix}\r\nloading_total_bytes:{TotalBytes}\r\nloading_rdb_used_mem:{RdbUsedMemory}\r\n");
        sb.Append(ci, $"loading_loaded_bytes:{LoadedBytes}\r\nloading_loaded_perc:{perc:F2}\r\nloading_eta_seconds:{eta}\r\n");
    }
}
