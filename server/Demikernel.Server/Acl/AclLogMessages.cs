using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Acl;

/// <summary>ACL's log lines (event ids 520-529), redis-server's texts.</summary>
internal static partial class AclLogMessages
{
    [LoggerMessage(EventId = 520, Level = LogLevel.Warning, Message = "Saving ACL file for ACL SAVE: {Reason}")]
    public static partial void AclSaveFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 521, Level = LogLevel.Warning, Message = "{Reason}")]
    public static partial void AclStartupFailed(this ILogger log, string reason);
}
