using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Persistence;

/// <summary>The persistence messages, worded as redis-server 7.0 words them where it has an equivalent.</summary>
internal static partial class PersistenceLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Fatal error loading the DB: {reason}. Exiting.")]
    public static partial void FatalLoadError(this ILogger log, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Loading RDB file {path}")]
    public static partial void LoadingRdb(this ILogger log, string path);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "DB loaded from disk: {seconds:F3} seconds ({keys} keys loaded, {expired} expired keys skipped)")]
    public static partial void RdbLoaded(this ILogger log, double seconds, long keys, long expired);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "DB saved on disk")]
    public static partial void DbSaved(this ILogger log);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Write error saving DB on disk: {reason}")]
    public static partial void SaveFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Background saving started")]
    public static partial void BackgroundSavingStarted(this ILogger log);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Background saving terminated with success ({keys} keys, {bytes} bytes; {preserved} bytes written ahead for keys changed during the save)")]
    public static partial void BackgroundSavingSucceeded(this ILogger log, long keys, long bytes, long preserved);

    [LoggerMessage(EventId = 207, Level = LogLevel.Warning, Message = "Background saving error: {reason}")]
    public static partial void BackgroundSavingFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Background saving terminated by a kill (FLUSHALL or shutdown)")]
    public static partial void BackgroundSavingKilled(this ILogger log);

    [LoggerMessage(EventId = 209, Level = LogLevel.Information, Message = "{changes} changes in {seconds} seconds. Saving...")]
    public static partial void SavePointReached(this ILogger log, long changes, long seconds);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Saving the final RDB snapshot before exiting.")]
    public static partial void SavingFinalRdb(this ILogger log);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning, Message = "Error trying to save the DB, can't exit.")]
    public static partial void ShutdownSaveFailed(this ILogger log);

    [LoggerMessage(EventId = 399, Level = LogLevel.Information, Message = "Moved the old-style AOF file {name} into {dir} as the base of a multi-part AOF")]
    public static partial void AofUpgraded(this ILogger log, string name, string dir);

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Calling fsync() on the AOF file.")]
    public static partial void AofFsyncOnShutdown(this ILogger log);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Creating AOF base file {name} on server start")]
    public static partial void AofBaseCreatedAtStart(this ILogger log, string name);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Creating AOF incr file {name} on {reason}")]
    public static partial void AofIncrCreated(this ILogger log, string name, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Reading RDB base file on AOF loading...")]
    public static partial void AofReadingRdbBase(this ILogger log);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "DB loaded from {kind} file {name}: {seconds:F3} seconds")]
    public static partial void AofFileLoaded(this ILogger log, string kind, string name, double seconds);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "DB loaded from append only file: {seconds:F3} seconds")]
    public static partial void AofLoaded(this ILogger log, double seconds);

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "!!! Warning: short read while loading the AOF file {name}!!!")]
    public static partial void AofShortRead(this ILogger log, string name);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "!!! Truncating the AOF {name} at offset {offset} !!!")]
    public static partial void AofTruncating(this ILogger log, string name, long offset);

    [LoggerMessage(EventId = 308, Level = LogLevel.Warning, Message = "AOF {name} loaded anyway because aof-load-truncated is enabled")]
    public static partial void AofLoadedTruncated(this ILogger log, string name);

    [LoggerMessage(EventId = 309, Level = LogLevel.Warning, Message = "Revert incomplete MULTI/EXEC transaction in AOF file {name}")]
    public static partial void AofRevertMulti(this ILogger log, string name);

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Background append only file rewriting started")]
    public static partial void AofRewriteStarted(this ILogger log);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "Background AOF rewrite terminated with success")]
    public static partial void AofRewriteSucceeded(this ILogger log);

    [LoggerMessage(EventId = 312, Level = LogLevel.Information, Message = "Successfully renamed the temporary AOF base file into {name}")]
    public static partial void AofBaseRenamed(this ILogger log, string name);

    [LoggerMessage(EventId = 313, Level = LogLevel.Information, Message = "Removing the history file {name}")]
    public static partial void AofRemovingHistory(this ILogger log, string name);

    [LoggerMessage(EventId = 314, Level = LogLevel.Information, Message = "Background AOF rewrite finished successfully")]
    public static partial void AofRewriteFinished(this ILogger log);

    [LoggerMessage(EventId = 315, Level = LogLevel.Warning, Message = "Background AOF rewrite failed: {reason}")]
    public static partial void AofRewriteFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 316, Level = LogLevel.Warning, Message = "Background AOF rewrite terminated by a kill")]
    public static partial void AofRewriteKilled(this ILogger log);

    [LoggerMessage(EventId = 317, Level = LogLevel.Information, Message = "Starting automatic rewriting of AOF on {growth}% growth")]
    public static partial void AofAutoRewrite(this ILogger log, long growth);

    [LoggerMessage(EventId = 318, Level = LogLevel.Warning, Message = "Error writing to the AOF file: {reason}")]
    public static partial void AofWriteError(this ILogger log, string reason);

    [LoggerMessage(EventId = 319, Level = LogLevel.Warning, Message = "AOF write error looks solved, Redis can write again.")]
    public static partial void AofWriteRecovered(this ILogger log);

    [LoggerMessage(EventId = 320, Level = LogLevel.Warning, Message = "Can't persist the AOF fsync: {reason}")]
    public static partial void AofFsyncError(this ILogger log, string reason);

    [LoggerMessage(EventId = 321, Level = LogLevel.Information, Message = "Background append only file rewriting scheduled")]
    public static partial void AofRewriteScheduledLog(this ILogger log);

    [LoggerMessage(EventId = 322, Level = LogLevel.Information, Message = "Append only file is now off; AOF files are kept")]
    public static partial void AofStopped(this ILogger log);
}
