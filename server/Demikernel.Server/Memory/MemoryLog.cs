using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Memory;

/// <summary>Log lines of the memory bound (event ids 500-509), with redis-server's texts.</summary>
#pragma warning disable SYSLIB1012 // "WARNING: ..." is part of redis-server's text
internal static partial class MemoryLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "WARNING: the new maxmemory value set via CONFIG SET ({MaxMemory}) is smaller than the current memory usage ({Used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.")]
    public static partial void MaxMemoryBelowUsage(this ILogger log, long maxMemory, long used);
}
