using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Logging;

/// <summary>
/// One log line exactly as redis-server 7.0 writes it (serverLogRaw in server.c):
/// <code>
///   12345:M 02 Dec 2026 10:00:00.000 * Ready to accept connections
///   pid  role  local time, ms       level message
/// </code>
/// Role: <c>M</c> master, <c>C</c> before the server is set up (redis's first lines); level: see
/// <see cref="RedisLogLevels.Char"/>. A line written from a signal handler has redis's other shape,
/// <c>12345:signal-handler (1796204998) Received SIGTERM scheduling shutdown...</c> (unix seconds).
/// </summary>
public static class RedisLogFormat
{
    /// <summary>Event ids 100-109 are messages logged from a signal handler (redis's serverLogFromHandler shape).</summary>
    public static bool IsFromSignalHandler(EventId id) => id.Id is >= 100 and <= 109;

    /// <summary>redis-server formats a message into a 1024-byte buffer (LOG_MAX_LEN): longer ones are cut.</summary>
    public const int MaxMessageLength = 1023;

    public static void Append(StringBuilder line, int pid, char role, DateTimeOffset localTime, LogLevel level, string message)
    {
        line.Append(pid.ToString(CultureInfo.InvariantCulture)).Append(':').Append(role).Append(' ');
        line.Append(localTime.ToString("dd MMM yyyy HH:mm:ss.fff", CultureInfo.InvariantCulture));
        line.Append(' ').Append(RedisLogLevels.Char(level)).Append(' ');
        AppendMessage(line, message);
    }

    public static void AppendFromSignalHandler(StringBuilder line, int pid, DateTimeOffset now, string message)
    {
        line.Append(pid.ToString(CultureInfo.InvariantCulture)).Append(":signal-handler (")
            .Append(now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)).Append(") ");
        AppendMessage(line, message);
    }

    private static void AppendMessage(StringBuilder line, string message) =>
        line.Append(message, 0, Math.Min(message.Length, MaxMessageLength)).Append('\n');

    /// <summary>One whole line (tests, and callers without a builder).</summary>
    public static string Line(int pid, char role, DateTimeOffset localTime, LogLevel level, string message)
    {
        var sb = new StringBuilder(64 + message.Length);
        Append(sb, pid, role, localTime, level, message);
        return sb.ToString();
    }
}
