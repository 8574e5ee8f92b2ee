using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Tls;

/// <summary>TLS log lines in redis-server 7.0's words (event ids 530-539).</summary>
internal static partial class TlsLog
{
    /// <summary>One of tlsConfigure's reasons (Failed to load certificate: ..., No tls-cert-file configured!, ...).</summary>
    [LoggerMessage(EventId = 530, Level = LogLevel.Warning, Message = "{Reason}")]
    public static partial void TlsConfigureFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 531, Level = LogLevel.Warning, Message = "Failed to configure TLS. Check logs for more info.")]
    public static partial void FailedToConfigureTls(this ILogger log);

    [LoggerMessage(EventId = 532, Level = LogLevel.Warning, Message = "Failed listening on port {Port} (TLS), aborting.")]
    public static partial void FailedListeningTls(this ILogger log, int port);

    /// <summary>clientAcceptHandler when the handshake failed (the reason is SslStream's, not OpenSSL's error string).</summary>
    [LoggerMessage(EventId = 533, Level = LogLevel.Warning, Message = "Error accepting a client connection: {Reason}")]
    public static partial void ErrorAcceptingClient(this ILogger log, string reason);
}
