using Microsoft.Extensions.Logging;

namespace Demikernel.Server;

/// <summary>Log lines about clients, in redis-server 7.0's words (event ids 500-519).</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 510, Level = LogLevel.Warning, Message = "Client {Client} scheduled to be closed ASAP for overcoming of output buffer limits.")]
    public static partial void OutputBufferLimitReached(this ILogger log, string client);

    [LoggerMessage(EventId = 511, Level = LogLevel.Warning, Message = "Closing client that reached max query buffer length: {Client} (qbuf initial bytes: {Bytes})")]
    public static partial void QueryBufferLimitReached(this ILogger log, string client, string bytes);

    /// <summary>redis logs it at verbose (MEL Debug).</summary>
    [LoggerMessage(EventId = 512, Level = LogLevel.Debug, Message = "Closing idle client")]
    public static partial void ClosingIdleClient(this ILogger log);

    [LoggerMessage(EventId = 513, Level = LogLevel.Warning, Message = "tcp-keepalive {Seconds} is not applied: the {LibOS} libOS has no TCP keepalive options (errno {Errno})")]
    public static partial void KeepAliveUnsupported(this ILogger log, int seconds, string libOS, string errno);
}
