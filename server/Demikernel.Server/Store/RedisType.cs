namespace Demikernel.Server.Store;

/// <summary>The type of a key's value, as TYPE and SCAN TYPE name it. New types add a member and a name here.</summary>
public enum RedisType : byte
{
    String = 0,
    List = 1,
    Set = 2,
    ZSet = 3,
    Hash = 4,
    Stream = 5,
}

public static class RedisTypeNames
{
    /// <summary>Redis's name for the type (TYPE's reply, SCAN's TYPE filter).</summary>
    public static string Name(this RedisType type) => type switch
    {
        RedisType.String => "string",
        RedisType.List => "list",
        RedisType.Set => "set",
        RedisType.ZSet => "zset",
        RedisType.Hash => "hash",
        RedisType.Stream => "stream",
        _ => "unknown",
    };

    /// <summary>The type's name as UTF-8 bytes (no allocation on the reply path).</summary>
    public static ReadOnlySpan<byte> NameUtf8(this RedisType type) => type switch
    {
        RedisType.String => "string"u8,
        RedisType.List => "list"u8,
        RedisType.Set => "set"u8,
        RedisType.ZSet => "zset"u8,
        RedisType.Hash => "hash"u8,
        RedisType.Stream => "stream"u8,
        _ => "unknown"u8,
    };
}

/// <summary>
/// What a store operation did. Handlers map these to replies; the store never throws for a client's mistake.
/// </summary>
public enum StoreStatus : byte
{
    /// <summary>Done.</summary>
    Ok = 0,
    /// <summary>The key does not exist (or has expired).</summary>
    NotFound,
    /// <summary>The key holds a value of another type (WRONGTYPE).</summary>
    WrongType,
    /// <summary>A condition stopped the operation: NX and the key exists, XX and it does not, the destination of
    /// RENAMENX/MOVE/COPY exists.</summary>
    NotDone,
    /// <summary>The stored value is not an integer in range (INCR on "abc").</summary>
    NotInteger,
    /// <summary>The stored value is not a valid float (INCRBYFLOAT on "abc").</summary>
    NotFloat,
    /// <summary>The integer result would overflow 64 bits.</summary>
    Overflow,
    /// <summary>The float result would be NaN or infinite.</summary>
    NaNOrInfinity,
    /// <summary>The resulting string would exceed the size limit (proto-max-bulk-len).</summary>
    TooLarge,
    /// <summary>Source and destination are the same key in the same database (MOVE, COPY).</summary>
    SameObject,
}
