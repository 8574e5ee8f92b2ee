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

    /// <summary>
    /// Bytes this value holds on the managed heap, estimated in O(1) from sizes the collection keeps as it changes
    /// (see <see cref="MemoryCost"/>). Read by the database's accounting when the value is stored or changed. Every
    /// type of the store overrides it; the default (an empty object) is for values made up by tests.
    /// </summary>
    internal virtual long MemoryBytes => MemoryCost.ObjectHeader + MemoryCost.Reference;

    /// <summary>What the owning database counted for this value when it last looked (<see cref="MemoryBytes"/> then),
    /// or -1 while no database counts it (not stored, or its key was removed).</summary>
    internal long Charged = -1;
}
