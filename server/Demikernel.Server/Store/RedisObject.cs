namespace Demikernel.Server.Store;

/// <summary>
/// A value that is not a string: lists, sets, sorted sets, hashes, streams each derive from this. Strings are kept
/// inline in <see cref="RedisEntry"/> (no extra object per key) and never use this class.
/// </summary>
/// <remarks>
/// A collection is changed in place by its commands; after a change the handler calls
/// <see cref="RedisDatabase.NotifyModified(RedisEntry)"/> (WATCH), and deletes the key when the collection becomes
/// empty, as Redis does.
/// </remarks>
public abstract class RedisObject
{
    /// <summary>The Redis type this object implements.</summary>
    public abstract RedisType Type { get; }

    /// <summary>OBJECT ENCODING's answer ("listpack", "quicklist", "hashtable", "intset", "skiplist", ...).</summary>
    public abstract string Encoding { get; }

    /// <summary>A deep copy for COPY.</summary>
    public abstract RedisObject Clone();
}
