namespace Demikernel.Resp;

/// <summary>Protocol limits, defaulting to redis-server 7.0's.</summary>
public readonly record struct RespLimits
{
    public RespLimits()
    {
    }

    /// <summary>Largest accepted bulk string (Redis proto-max-bulk-len, default 512 MiB).</summary>
    public long MaxBulkLength { get; init; } = 512L * 1024 * 1024;

    /// <summary>Largest accepted multibulk count (arguments per request).</summary>
    public int MaxMultiBulkLength { get; init; } = 1024 * 1024;

    /// <summary>Longest inline request / count line without a newline (Redis PROTO_INLINE_MAX_SIZE, 64 KiB).</summary>
    public int MaxInlineLength { get; init; } = 64 * 1024;

    /// <summary>
    /// Largest query buffer a client may accumulate (Redis client-query-buffer-limit, 1 GiB). Not checked by the
    /// scanner: the connection owner compares its buffered byte count against it and closes the connection.
    /// </summary>
    public long QueryBufferLimit { get; init; } = 1024L * 1024 * 1024;

    /// <summary>The redis-server defaults.</summary>
    public static RespLimits Default => new();
}
