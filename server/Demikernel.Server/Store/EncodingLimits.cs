namespace Demikernel.Server.Store;

/// <summary>
/// The size limits under which collections keep redis's compact encodings (OBJECT ENCODING, the RDB type written):
/// hash-max-listpack-entries/-value, zset-max-listpack-entries/-value, set-max-intset-entries, and
/// list-max-listpack-size (how an RDB cuts a list into quicklist nodes), and stream-node-max-bytes/-entries (where a
/// stream's nodes end). CONFIG SET changes them for the conversions
/// that follow, never converting back, as in redis-server 7.0.
/// </summary>
/// <remarks>
/// Collections are created in many places and convert inside their own mutators, which know nothing of their
/// server; a server's store runs on one thread (the libOS's), so the limits its collections read are that thread's
/// (<see cref="Current"/>, installed by the server). A thread that installed none sees redis's defaults.
/// </remarks>
internal sealed class EncodingLimits
{
    [ThreadStatic] private static EncodingLimits? t_current;

    private static readonly EncodingLimits Defaults = new();

    public static EncodingLimits Current => t_current ?? Defaults;

    /// <summary>Makes <paramref name="limits"/> the calling thread's (the server's constructor and its libOS thread).</summary>
    public static void Install(EncodingLimits limits) => t_current = limits;

    public long HashMaxListpackEntries { get; set; } = 512;
    public long HashMaxListpackValue { get; set; } = 64;
    public long ZSetMaxListpackEntries { get; set; } = 128;
    public long ZSetMaxListpackValue { get; set; } = 64;
    public long SetMaxIntsetEntries { get; set; } = 512;

    /// <summary>stream-node-max-bytes (0 = redis's 1 GB listpack limit) and stream-node-max-entries (0 = no limit):
    /// where XADD starts a stream's next node (RedisStream's StreamNodeLayout.cs).</summary>
    public long StreamNodeMaxBytes { get; set; } = 4096;
    public long StreamNodeMaxEntries { get; set; } = 100;

    /// <summary>hll-sparse-max-bytes: a HyperLogLog whose sparse form would be longer turns dense.</summary>
    public long HllSparseMaxBytes { get; set; } = HyperLogLog.SparseMaxBytes;

    /// <summary>quicklist.c's packed_threshold (DEBUG QUICKLIST-PACKED-THRESHOLD): a list element of this size or more
    /// is a plain node of its own. 1 GB by default.</summary>
    public long ListPackedThreshold { get; set; } = 1L << 30;

    /// <summary>list-max-listpack-size: negative = a node's byte limit (-1 4 kB ... -5 64 kB), positive = its entry count
    /// (with redis's 8 kB safety limit for a node of several entries).</summary>
    public int ListMaxListpackSize { get; set; } = -2;

    /// <summary>Whether a quicklist node holding <paramref name="count"/> entries in <paramref name="bytes"/> bytes
    /// may take one more of <paramref name="itemBytes"/> (quicklist.c's _quicklistNodeAllowInsert, approximately:
    /// the listpack's per-entry header counted as 11 bytes).</summary>
    public bool ListNodeAllows(int count, long bytes, int itemBytes)
    {
        if (count == 0) return true;
        long grown = bytes + itemBytes + 11;
        int fill = ListMaxListpackSize;
        if (fill < 0)
        {
            int level = Math.Min(-fill, 5);
            return grown <= 4096L << (level - 1);
        }
        return count < fill && grown <= 8192;
    }
}
