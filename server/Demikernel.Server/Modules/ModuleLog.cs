using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Modules;

/// <summary>MODULE LOAD/LOADEX's log lines, with redis-server 7.0.15's texts and levels.</summary>
internal static partial class ModuleLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Module {Path} failed to load: {Reason}")]
    public static partial void ModuleLoadFailed(this ILogger log, string path, string reason);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Module {Path} does not export RedisModule_OnLoad() symbol. Module not loaded.")]
    public static partial void ModuleWithoutOnLoad(this ILogger log, string path);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "CONFIG specified without name value pair")]
    public static partial void LoadexConfigWithoutPair(this ILogger log);

    [LoggerMessage(EventId = 603, Level = LogLevel.Information, Message = "Syntax Error from arguments to loadex around {Argument}.")]
    public static partial void LoadexSyntaxError(this ILogger log, string argument);
}
