namespace Demikernel.Server.Store;

/// <summary>
/// Where a stream's nodes begin and end, as redis-server 7.0's t_stream.c decides it, so that approximate trimming
/// ("~", which removes whole nodes only), XINFO's radix-tree figures and the RDB's nodes (each chunk is written as one
/// STREAM_LISTPACKS_2 node) are redis's. One definition: a chunk is a node.
/// <code>
///   XADD appends to the last node unless
///     lpBytes(node) + Σ len(fields and values) ≥ stream-node-max-bytes   (0 or over 1 GB: 1 GB)
///     or live + deleted entries ≥ stream-node-max-entries                (0: no limit)
///   lpBytes(node) = header 7
///                 + master entry: count, deleted, #fields, field_1..field_n, 0
///                 + per entry: flags, ms - master ms, seq - master seq,
///                              values (same field names as the master) or #fields, fields and values,
///                              lp-count
/// </code>
/// The master fields are those of the node's first entry. A deletion (XDEL, exact trimming) only sets a flag of the
/// same size, so only the two counters change a node's size after it is written (<see cref="Chunk.LpBytes"/>).
/// </summary>
public sealed partial class RedisStream
{
    /// <summary>redis's STREAM_LISTPACK_MAX_SIZE: a node's byte limit when stream-node-max-bytes is 0 or above it.</summary>
    private const long ListpackMaxSize = 1L << 30;

    /// <summary>Whether XADD starts a new node instead of appending <paramref name="data"/> to <paramref name="last"/>.</summary>
    private static bool NodeIsFull(Chunk last, byte[] data)
    {
        var limits = EncodingLimits.Current;
        long maxBytes = limits.StreamNodeMaxBytes;
        if (maxBytes == 0 || maxBytes > ListpackMaxSize) maxBytes = ListpackMaxSize;
        long payload = data.Length - 4 - 8L * StreamEntry.Pairs(data); // the fields' and values' own bytes
        if (last.LpBytes + payload >= maxBytes) return true;
        long maxEntries = limits.StreamNodeMaxEntries;
        return maxEntries != 0 && last.Count >= maxEntries;
    }

    /// <summary>Slots a new node's arrays start with (they grow when stream-node-max-entries is larger or 0).</summary>
    private static int InitialNodeCapacity()
    {
        long maxEntries = EncodingLimits.Current.StreamNodeMaxEntries;
        return maxEntries == 0 ? 16 : (int)Math.Clamp(maxEntries, 4, 128);
    }

    /// <summary>A new node's listpack with its master entry, the two counters left out.</summary>
    private static long MasterLpBytes(byte[] first)
    {
        int pairs = StreamEntry.Pairs(first);
        long bytes = ListpackSize.Empty + ListpackSize.Integer(pairs) + ListpackSize.Integer(0);
        int offset = 4;
        for (int p = 0; p < pairs; p++)
        {
            bytes += ListpackSize.String(StreamEntry.Next(first, ref offset));
            StreamEntry.Next(first, ref offset);
        }
        return bytes;
    }

    /// <summary>The listpack bytes of one entry appended to <paramref name="node"/> (the first one when it is empty).</summary>
    private static long EntryLpBytes(Chunk node, StreamId id, byte[] data)
    {
        var master = node.Count == 0 ? id : node.Ids[0];
        bool same = node.Count == 0 || RdbStream.SameFields(data, node.Master);
        int pairs = StreamEntry.Pairs(data);
        long bytes = ListpackSize.Integer(same ? 2 : 0)
            + ListpackSize.Integer(unchecked((long)(id.Ms - master.Ms)))
            + ListpackSize.Integer(unchecked((long)(id.Seq - master.Seq)))
            + ListpackSize.Integer(same ? pairs + 3 : pairs * 2 + 4);
        if (!same) bytes += ListpackSize.Integer(pairs);
        int offset = 4;
        for (int p = 0; p < pairs; p++)
        {
            var field = StreamEntry.Next(data, ref offset);
            if (!same) bytes += ListpackSize.String(field);
            bytes += ListpackSize.String(StreamEntry.Next(data, ref offset));
        }
        return bytes;
    }

    /// <summary>The LIMIT of an approximate trim given without one: 100 nodes' worth of entries, within redis's
    /// bounds (10000 when stream-node-max-entries is 0, at most 1000000).</summary>
    internal static long DefaultApproxTrimLimit()
    {
        long limit = unchecked(100 * EncodingLimits.Current.StreamNodeMaxEntries); // wraps as redis's long long does
        if (limit <= 0) limit = 10000;
        return Math.Min(limit, 1000000);
    }

    /// <summary>XINFO's radix-tree-nodes: the nodes of redis's radix tree holding the nodes' master IDs (16-byte
    /// big-endian keys). rax keeps its tree compressed on insertion and deletion, so for keys of one length the count
    /// is that of the compressed trie: a chain without branches is one node, a branch point one node, a key's end a
    /// leaf node; the empty tree is its root.</summary>
    public long RadixTreeNodes() => _chunks.Count == 0 ? 1 : TrieNodes(0, _chunks.Count, 0);

    private long TrieNodes(int lo, int hi, int depth)
    {
        if (depth == 16) return 1; // the leaf a key ends in (keys are distinct: one key here)
        var first = _chunks[lo].Ids[0];
        var last = _chunks[hi - 1].Ids[0];
        int common = depth;
        while (common < 16 && KeyByte(first, common) == KeyByte(last, common)) common++;
        if (common > depth) return 1 + TrieNodes(lo, hi, common); // a compressed node (sorted: first and last suffice)
        long nodes = 1; // a branch point, one child per distinct byte
        for (int i = lo; i < hi;)
        {
            byte b = KeyByte(_chunks[i].Ids[0], depth);
            int j = i + 1;
            while (j < hi && KeyByte(_chunks[j].Ids[0], depth) == b) j++;
            nodes += TrieNodes(i, j, depth + 1);
            i = j;
        }
        return nodes;
    }

    private static byte KeyByte(StreamId id, int index) =>
        index < 8 ? (byte)(id.Ms >> (56 - 8 * index)) : (byte)(id.Seq >> (56 - 8 * (index - 8)));
}
