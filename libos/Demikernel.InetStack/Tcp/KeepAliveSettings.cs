using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// One socket's keepalive: SO_KEEPALIVE and Linux's TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT. A socket starts from
/// the stack's <c>tcp_socket_options.keepalive</c>; setsockopt changes its own, and a listener's pass to the
/// connections it accepts, as Linux's do. Idle and interval are whole seconds, as in Linux's options.
/// </summary>
internal struct KeepAliveSettings
{
    // Linux's bounds (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT); setsockopt refuses values outside with EINVAL.
    private const int MaxSeconds = 32767;
    private const int MaxProbes = 127;

    public bool Enabled;
    public TimeSpan Idle;
    public TimeSpan Interval;
    public int Probes;

    public static KeepAliveSettings From(TcpOptions options) => new()
    {
        Enabled = options.KeepAliveIdle is not null,
        Idle = options.KeepAliveIdle ?? TimeSpan.FromHours(2), // Linux's tcp_keepalive_time, used once enabled
        Interval = options.KeepAliveInterval,
        Probes = options.KeepAliveProbes,
    };

    public static bool Covers(SocketOption option) =>
        option is SocketOption.KeepAlive or SocketOption.TcpKeepIdle or SocketOption.TcpKeepInterval or SocketOption.TcpKeepCount;

    /// <summary>Sets one of the options <see cref="Covers"/>: 0, or EINVAL for a value Linux refuses.</summary>
    public int Set(SocketOption option, int value)
    {
        switch (option)
        {
            case SocketOption.KeepAlive:
                Enabled = value != 0;
                return 0;
            case SocketOption.TcpKeepIdle when value is >= 1 and <= MaxSeconds:
                Idle = TimeSpan.FromSeconds(value);
                return 0;
            case SocketOption.TcpKeepInterval when value is >= 1 and <= MaxSeconds:
                Interval = TimeSpan.FromSeconds(value);
                return 0;
            case SocketOption.TcpKeepCount when value is >= 1 and <= MaxProbes:
                Probes = value;
                return 0;
            default:
                return Errno.EINVAL;
        }
    }

    public readonly int Get(SocketOption option) => option switch
    {
        SocketOption.KeepAlive => Enabled ? 1 : 0,
        SocketOption.TcpKeepIdle => (int)Idle.TotalSeconds,
        SocketOption.TcpKeepInterval => (int)Interval.TotalSeconds,
        _ => Probes,
    };
}
