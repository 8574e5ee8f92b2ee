namespace Demikernel.Server;

/// <summary>The classes of client-output-buffer-limit (redis's getClientType, masters counted as normal).</summary>
public enum ClientClass
{
    Normal = 0,
    /// <summary>Replicas (and MONITOR in redis, which lists them as normal); this server has none yet.</summary>
    Replica = 1,
    /// <summary>A client with at least one channel or pattern subscription.</summary>
    PubSub = 2,
}

/// <summary>One class's output buffer limits: 0 = no limit.</summary>
public readonly record struct OutputBufferLimit(long Hard, long Soft, long SoftSeconds)
{
    /// <summary>redis-server 7.0's defaults: normal 0 0 0, slave 256mb 64mb 60, pubsub 32mb 8mb 60.</summary>
    public static readonly OutputBufferLimit[] Defaults =
    [
        new(0, 0, 0),
        new(256L << 20, 64L << 20, 60),
        new(32L << 20, 8L << 20, 60),
    ];
}

internal static class ClientClassNames
{
    /// <summary>The name CONFIG GET prints (redis still says "slave").</summary>
    public static string ConfigName(this ClientClass cls) => cls switch
    {
        ClientClass.Replica => "slave",
        ClientClass.PubSub => "pubsub",
        _ => "normal",
    };
}

/// <summary>
/// How a client's output is checked against its class's limit, as redis's checkClientOutputBufferLimits: the hard limit
/// at once; the soft one once it has held continuously for more than its seconds (counted from the first time it was
/// seen over, reset whenever a check finds it under).
/// </summary>
internal struct OutputLimitState
{
    private long _softSinceSeconds;

    public bool Exceeded(in OutputBufferLimit limit, long used, long nowSeconds)
    {
        bool hard = limit.Hard != 0 && used >= limit.Hard;
        bool soft = limit.Soft != 0 && used >= limit.Soft;
        if (!soft)
        {
            _softSinceSeconds = 0;
            return hard;
        }
        if (_softSinceSeconds == 0)
        {
            _softSinceSeconds = nowSeconds;
            return hard;
        }
        return hard || nowSeconds - _softSinceSeconds > limit.SoftSeconds;
    }
}
