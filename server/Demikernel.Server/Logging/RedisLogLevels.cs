using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Logging;

/// <summary>
/// redis.conf's <c>loglevel</c> names and MEL's levels, one to one:
/// <code>
///   debug ─▶ Trace '.'    verbose ─▶ Debug '-'    notice ─▶ Information '*'    warning ─▶ Warning (and above) '#'
/// </code>
/// redis-server 7.0.15 knows these four only ("nothing" came with 7.2: 7.0.15 refuses it, at start-up and in CONFIG
/// SET); <see cref="LogLevel.None"/> switches the log off for embedders.
/// </summary>
public static class RedisLogLevels
{
    /// <summary>The names CONFIG SET loglevel and --loglevel accept, in Redis's order (ASCII case-insensitive).</summary>
    public static readonly IReadOnlyList<string> Names = ["debug", "verbose", "notice", "warning"];

    /// <summary>The MEL level for a redis.conf name; false for anything else.</summary>
    public static bool TryParse(string? name, out LogLevel level)
    {
        switch (name?.ToLowerInvariant())
        {
            case "debug": level = LogLevel.Trace; return true;
            case "verbose": level = LogLevel.Debug; return true;
            case "notice": level = LogLevel.Information; return true;
            case "warning": level = LogLevel.Warning; return true;
            default: level = LogLevel.Information; return false;
        }
    }

    /// <summary>The redis.conf name of a minimum level.</summary>
    public static string Name(LogLevel level) => level switch
    {
        LogLevel.Trace => "debug",
        LogLevel.Debug => "verbose",
        LogLevel.Information => "notice",
        LogLevel.None => "none",
        _ => "warning",
    };

    /// <summary>The character redis-server writes for a line's level.</summary>
    public static char Char(LogLevel level) => level switch
    {
        LogLevel.Trace => '.',
        LogLevel.Debug => '-',
        LogLevel.Information => '*',
        _ => '#',
    };
}

/// <summary>
/// The minimum level lines must have, shared by the logger provider (which reads it on every IsEnabled) and the
/// server (CONFIG SET loglevel writes it, from the libOS thread). Changes take effect at the next line.
/// </summary>
public sealed class LogLevelSwitch(LogLevel minimum = LogLevel.Information)
{
    private volatile int _minimum = (int)minimum;

    public LogLevel Minimum
    {
        get => (LogLevel)_minimum;
        set => _minimum = (int)value;
    }

    /// <summary>Applies a redis.conf level name; false (and no change) if it is not one.</summary>
    public bool TrySet(string name)
    {
        if (!RedisLogLevels.TryParse(name, out var level)) return false;
        Minimum = level;
        return true;
    }

    public bool IsEnabled(LogLevel level) => level != LogLevel.None && (int)level >= _minimum;
}
