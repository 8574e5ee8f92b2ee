using System.Text;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Logging;

/// <summary>
/// An <see cref="ILoggerProvider"/> that writes redis-server's log lines (<see cref="RedisLogFormat"/>) to a
/// <see cref="LogSink"/>, filtered by a <see cref="LogLevelSwitch"/> that CONFIG SET loglevel changes live. Categories
/// are ignored: redis-server's lines have none. Use it through a LoggerFactory (Program.cs) or directly:
/// <code>
///   using var logging = new RedisLoggerProvider(new LogSink(logfile), new LogLevelSwitch(level));
///   using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logging));
///   var server = new RedisServer(libos, options, factory.CreateLogger("Demikernel.Server"), logging.Level);
/// </code>
/// Exceptions are written after their line, one stack frame a line. Logging never throws into the caller.
/// </summary>
public sealed class RedisLoggerProvider : ILoggerProvider
{
    private readonly RedisLogger _logger;
    private readonly bool _ownsSink;

    public RedisLoggerProvider(LogSink sink, LogLevelSwitch? level = null, TimeProvider? time = null, bool ownsSink = true)
    {
        Sink = sink;
        Level = level ?? new LogLevelSwitch();
        Time = time ?? TimeProvider.System;
        _ownsSink = ownsSink;
        _logger = new RedisLogger(this);
    }

    /// <summary>The provider for redis.conf's two settings: <paramref name="loglevel"/> by name, <paramref name="logfile"/> empty for stdout.</summary>
    public static RedisLoggerProvider Create(string loglevel, string? logfile)
    {
        if (!RedisLogLevels.TryParse(loglevel, out var level))
            throw new ArgumentException($"loglevel '{loglevel}' must be one of {string.Join(", ", RedisLogLevels.Names)}", nameof(loglevel));
        return new RedisLoggerProvider(new LogSink(logfile), new LogLevelSwitch(level));
    }

    public LogSink Sink { get; }

    public LogLevelSwitch Level { get; }

    public TimeProvider Time { get; }

    /// <summary>The process id written at the start of each line.</summary>
    public int ProcessId { get; init; } = Environment.ProcessId;

    /// <summary>
    /// The role character: 'M' (master). redis-server writes 'C' for its first lines, before the server is set up
    /// (its pid is not recorded yet); Program.cs does the same around the start banner.
    /// </summary>
    public char Role { get; set; } = 'M';

    public ILogger CreateLogger(string categoryName) => _logger;

    public void Dispose()
    {
        if (_ownsSink) Sink.Dispose();
    }

    private sealed class RedisLogger(RedisLoggerProvider provider) : ILogger
    {
        [ThreadStatic] private static StringBuilder? t_line;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => provider.Level.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!provider.Level.IsEnabled(logLevel)) return;
            try
            {
                string message = formatter(state, exception);
                var line = t_line ??= new StringBuilder(256);
                line.Clear();
                if (RedisLogFormat.IsFromSignalHandler(eventId))
                    RedisLogFormat.AppendFromSignalHandler(line, provider.ProcessId, provider.Time.GetUtcNow(), message);
                else
                    RedisLogFormat.Append(line, provider.ProcessId, provider.Role, provider.Time.GetLocalNow(), logLevel, message);
                if (exception is not null) AppendException(line, exception);
                provider.Sink.Write(line);
                if (line.Capacity > 16 * 1024) t_line = null; // do not keep a huge builder after a long stack
            }
            catch (Exception)
            {
                // A formatter or a clock that throws loses its line; the caller goes on.
            }
        }

        private static void AppendException(StringBuilder line, Exception exception)
        {
            foreach (var text in exception.ToString().Split('\n'))
                line.Append("    ").Append(text.TrimEnd('\r')).Append('\n');
        }
    }
}
