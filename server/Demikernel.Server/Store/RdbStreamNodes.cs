namespace Demikernel.Server.Store;

/// <summary>
/// Node-level access to a stream for DUMP/RESTORE (<see cref="RdbStream"/>): each chunk is one RDB listpack node,
/// and a restored node becomes one chunk again, so XINFO's radix-tree-keys and approximate trimming survive a round
/// trip. Tombstones keep their slot (ID) but have no data.
/// </summary>
public sealed partial class RedisStream
{
    /// <summary>Number of nodes (chunks) including any without live entries.</summary>
    internal int NodeCount => _chunks.Count;

    /// <summary>The slots of node <paramref name="index"/>: IDs in order, data null for deleted entries.</summary>
    internal void GetNode(int index, out ReadOnlySpan<StreamId> ids, out ReadOnlySpan<byte[]?> data) => GetNode(index, out ids, out data, out _);

    /// <summary>As above, with the entry whose field names are the node's master fields.</summary>
    internal void GetNode(int index, out ReadOnlySpan<StreamId> ids, out ReadOnlySpan<byte[]?> data, out byte[] master)
    {
        var c = _chunks[index];
        master = c.Master;
        ids = c.Ids.AsSpan(0, c.Count);
        data = c.Data.AsSpan(0, c.Count);
    }

    /// <summary>Appends a decoded node (arrays are taken over; IDs ascending and above every earlier node's, at least
    /// one live slot). <paramref name="master"/> holds the master fields (values unused); <paramref name="lpBytes"/>
    /// is the listpack's size with its counters <paramref name="lpLive"/> and <paramref name="lpDeleted"/>, so later
    /// appends fill the node as redis-server fills it. Counters are set separately with <see cref="SetRestoredCounters"/>.</summary>
    internal void AppendRestoredNode(StreamId[] ids, byte[]?[] data, int count, byte[] master, long lpBytes, long lpLive, long lpDeleted)
    {
        var c = new Chunk(0)
        {
            Ids = ids, Data = data, Count = count, Master = master,
            LpFixed = lpBytes - ListpackSize.Integer(lpLive) - ListpackSize.Integer(lpDeleted),
        };
        for (int i = 0; i < count; i++)
        {
            if (data[i] is not { } d) continue;
            c.Live++;
            c.Bytes += d.Length;
        }
        _chunks.Add(c);
        _chunkBytes += c.MemoryBytes;
    }

    /// <summary>Live entries over all nodes (what <see cref="Length"/> must equal after a restore).</summary>
    internal long CountLiveEntries()
    {
        long n = 0;
        foreach (var c in _chunks) n += c.Live;
        return n;
    }

    internal void SetRestoredCounters(long length, StreamId lastId, StreamId firstId, StreamId maxDeletedId, long entriesAdded)
    {
        Length = length;
        LastId = lastId;
        FirstId = firstId;
        MaxDeletedId = maxDeletedId;
        EntriesAdded = entriesAdded;
    }

    /// <summary>The first live entry's ID (0-0 when empty), as Redis derives it when loading an RDB 9 stream.</summary>
    internal StreamId FirstLiveEntryId() => FirstLiveId();
}
