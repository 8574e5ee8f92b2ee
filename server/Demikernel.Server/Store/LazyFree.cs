namespace Demikernel.Server.Store;

/// <summary>
/// redis-server 7.0's lazy freeing (lazyfree.c) as this server can honour it: which removed values count as freed
/// lazily (INFO lazyfreed_objects), under which parameters.
/// <code>
///   removed by            lazily when                         counted in lazyfreed_objects
///   UNLINK                always                              1 per value of free effort > 64
///   DEL                   lazyfree-lazy-user-del              idem
///   expiry                lazyfree-lazy-expire                idem
///   eviction              lazyfree-lazy-eviction              idem
///   overwrite, RENAME/COPY/RESTORE destination, other deletes
///                         lazyfree-lazy-server-del            idem
///   FLUSHALL/FLUSHDB      ASYNC, or no flag and lazyfree-lazy-user-flush      every key of the databases flushed
///   a replica's full sync replica-lazy-flush                  every key of every database
///   free effort: list = quicklist nodes, hash table set/hash = fields, skiplist zset = members,
///                stream = radix-tree nodes + groups × (1 + the first group's PEL), anything else 1
/// </code>
/// <para><b>What "freed lazily" means here.</b> redis-server hands a big value to a background thread so that the
/// command does not spend the time walking its allocations. In .NET no command ever walks a value to free it: a
/// removed value is unlinked from the keyspace in O(1) and the garbage collector reclaims it (its background
/// collection runs on its own threads), so every removal here already is what redis calls lazy, and nothing waits in
/// a queue: <c>lazyfree_pending_objects</c> is always 0. What the parameters change is therefore what they change
/// for a client: the counter (exactly the values redis-server would have handed to its thread), the UNLINK or DEL
/// that expiry and eviction propagate (Propagation/EffectsLog), and the default mode of FLUSHALL/FLUSHDB.</para>
/// </summary>
public sealed class LazyFree
{
    /// <summary>redis's LAZYFREE_THRESHOLD: a value of this effort or less is freed at once even when lazy.</summary>
    public const long Threshold = 64;

    public bool LazyServerDel { get; set; }
    public bool LazyExpire { get; set; }
    public bool LazyEviction { get; set; }

    /// <summary>INFO lazyfreed_objects (reset by CONFIG RESETSTAT).</summary>
    public long FreedObjects { get; private set; }

    public void ResetStats() => FreedObjects = 0;

    /// <summary>A value left the keyspace; <paramref name="lazy"/> says whether redis would free it lazily.</summary>
    internal void Released(RedisObject? value, bool lazy)
    {
        if (lazy && value is not null && Effort(value) > Threshold) FreedObjects++;
    }

    /// <summary>A database emptied asynchronously (emptyDbAsync): each of its keys counts.</summary>
    public void FlushedAsync(long keys) => FreedObjects += keys;

    /// <summary>redis's lazyfreeGetFreeEffort (stops counting a list's nodes past the threshold).</summary>
    public static long Effort(RedisObject value) => value switch
    {
        RedisList list => QuicklistNodes(list, Threshold + 1),
        RedisSet set => set.Encoding == "hashtable" ? set.Count : 1,
        RedisSortedSet zset => zset.IsSkiplistEncoded ? zset.Count : 1,
        RedisHash hash => hash.IsHashTable ? hash.Count : 1,
        RedisStream stream => stream.RadixTreeNodes() + (stream.Groups.Count == 0 ? 0 : stream.Groups.Count * (1L + stream.Groups[0].Pel.Count)),
        _ => 1,
    };

    /// <summary>The quicklist nodes redis-server would hold the list in under list-max-listpack-size (as the RDB
    /// writer cuts them), counted up to <paramref name="atMost"/>.</summary>
    private static long QuicklistNodes(RedisList list, long atMost)
    {
        if (list.Count == 0) return 0;
        if (list.Count < atMost) return list.Count; // never more nodes than elements: the exact count is not needed
        var limits = EncodingLimits.Current;
        long nodes = 0; // closed nodes, as RdbFormat.WriteList cuts them
        int count = 0;
        long size = RdbFormat.EmptyListpack;
        for (int i = 0; i < list.Count && nodes < atMost; i++)
        {
            var item = list[i];
            if (item.Length >= limits.ListPackedThreshold)
            {
                nodes += count > 0 ? 2 : 1; // the open node, then the element's own plain node
                size = RdbFormat.EmptyListpack;
                count = 0;
                continue;
            }
            if (!limits.ListNodeAllows(count, size, item.Length))
            {
                nodes++;
                size = RdbFormat.EmptyListpack;
                count = 0;
            }
            size += ListpackWriter.EntrySize(item);
            count++;
        }
        if (count > 0) nodes++;
        return nodes;
    }
}
