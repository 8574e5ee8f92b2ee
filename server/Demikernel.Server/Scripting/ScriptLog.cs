using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Scripting;

/// <summary>Log lines of scripting (event ids 500-599): redis.log's four levels and redis-server's script warnings.</summary>
internal static partial class ScriptLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Trace, Message = "{Message}")]
    public static partial void ScriptDebug(this ILogger log, string message);

    [LoggerMessage(EventId = 501, Level = LogLevel.Debug, Message = "{Message}")]
    public static partial void ScriptVerbose(this ILogger log, string message);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "{Message}")]
    public static partial void ScriptNotice(this ILogger log, string message);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void ScriptWarning(this ILogger log, string message);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Slow script detected: still in execution after {Elapsed} milliseconds. You can try killing the script using the {Command} command. Script name is: {Name}.")]
    public static partial void SlowScript(this ILogger log, long elapsed, string command, string name);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning, Message = "Lua script killed by user with SCRIPT KILL.")]
    public static partial void ScriptKilled(this ILogger log);
}
