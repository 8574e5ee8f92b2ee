namespace Demikernel.Server.Store;

/// <summary>How XADD/XTRIM trim a stream.</summary>
public enum StreamTrimStrategy : byte
{
    None,
    MaxLen,
    MinId,
}

/// <summary>
/// A stream: entries ordered by ID in chunks shaped like Redis's listpack nodes, plus the stream's counters and its
/// consumer groups.
/// <code>
///   _chunks (ordered by first ID; binary search finds a chunk, then a slot)
///   [0] Ids: 1-0 1-1 2-0 ...   Data: [e] [null] [e] ...   null = deleted (tombstone), ID kept for search
///   [1] Ids: 9-0 ...           appends go to the last chunk: O(1) amortised
/// </code>
/// A chunk is one of redis-server's nodes (a listpack in its radix tree): a new one starts exactly where redis's
/// starts one, by stream-node-max-entries and by the listpack's byte size against stream-node-max-bytes
/// (StreamNodeLayout.cs). A chunk is removed when its last live entry goes (XDEL) or as a whole by trimming;
/// approximate trimming ("~") removes whole chunks only, as redis removes whole nodes, so its results are redis's.
/// </summary>
public sealed partial class RedisStream : RedisObject
{
    private readonly List<Chunk> _chunks = [];
    private List<StreamGroup>? _groups;
    private long _chunkBytes; // Σ Chunk.MemoryBytes (memory accounting)

    public override RedisType Type => RedisType.Stream;
    public override string Encoding => "stream";

    /// <summary>Live entries.</summary>
    public long Length { get; private set; }

    /// <summary>The last ID ever generated (or set by XSETID).</summary>
    public StreamId LastId { get; set; }

    /// <summary>The first live entry's ID as recorded (0-0 when empty).</summary>
    public StreamId FirstId { get; private set; }

    /// <summary>The greatest ID deleted with XDEL.</summary>
    public StreamId MaxDeletedId { get; set; }

    /// <summary>Entries ever added.</summary>
    public long EntriesAdded { get; set; }

    /// <summary>Internal nodes (XINFO radix-tree-keys).</summary>
    public int ChunkCount => _chunks.Count;

    /// <summary>Consumer groups in name order.</summary>
    public IReadOnlyList<StreamGroup> Groups => (IReadOnlyList<StreamGroup>?)_groups ?? [];

    // ------------------------------------------------------------------ entries

    /// <summary>The ID an auto-generated XADD would use at <paramref name="nowMs"/>; false when exhausted.</summary>
    public bool TryNextId(long nowMs, out StreamId id)
    {
        ulong ms = (ulong)Math.Max(0, nowMs);
        if (ms > LastId.Ms)
        {
            id = new(ms, 0);
            return true;
        }
        return LastId.TryIncrement(out id);
    }

    /// <summary>Appends an entry whose ID is greater than <see cref="LastId"/> (the caller checks). A new node starts
    /// where redis-server's streamAppendItem starts one (see StreamNodeLayout.cs).</summary>
    public void Append(StreamId id, byte[] data)
    {
        int bytes = data.Length;
        Chunk? last = _chunks.Count > 0 ? _chunks[^1] : null;
        if (last is null || NodeIsFull(last, data))
        {
            // The first node grows from small (most streams are short); later ones start at a node's usual size.
            last = new Chunk(_chunks.Count == 0 ? 4 : InitialNodeCapacity()) { Master = data, LpFixed = MasterLpBytes(data) };
            _chunks.Add(last);
            _chunkBytes += last.MemoryBytes;
        }
        _chunkBytes -= last.MemoryBytes;
        last.LpFixed += EntryLpBytes(last, id, data);
        last.Add(id, data, bytes);
        _chunkBytes += last.MemoryBytes;
        Length++;
        EntriesAdded++;
        LastId = id;
        if (Length == 1) FirstId = id;
    }

    /// <summary>The entry's data, or null when no live entry has that ID.</summary>
    public byte[]? Get(StreamId id)
    {
        int ci = ChunkFor(id);
        if (ci < 0) return null;
        var chunk = _chunks[ci];
        int si = chunk.LowerBound(id);
        return si < chunk.Count && chunk.Ids[si] == id ? chunk.Data[si] : null;
    }

    public bool Contains(StreamId id) => Get(id) is not null;

    /// <summary>XDEL of one ID: true when a live entry was deleted (updates the recorded first ID and max deleted ID).</summary>
    public bool Delete(StreamId id)
    {
        int ci = ChunkFor(id);
        if (ci < 0) return false;
        var chunk = _chunks[ci];
        int si = chunk.LowerBound(id);
        if (si >= chunk.Count || chunk.Ids[si] != id || chunk.Data[si] is null) return false;
        _chunkBytes -= chunk.MemoryBytes;
        chunk.DeadBytes += chunk.Data[si]!.Length;
        chunk.Data[si] = null;
        chunk.Live--;
        Length--;
        if (chunk.Live == 0) _chunks.RemoveAt(ci);
        else _chunkBytes += chunk.MemoryBytes;
        if (id > MaxDeletedId) MaxDeletedId = id;
        if (Length == 0) FirstId = default;
        else if (id == FirstId) FirstId = FirstLiveId();
        return true;
    }

    /// <summary>Trims from the oldest entries; returns how many were removed. <paramref name="limit"/> 0 = none
    /// (only meaningful with <paramref name="approx"/>).</summary>
    public long Trim(StreamTrimStrategy strategy, long maxLen, StreamId minId, bool approx, long limit)
    {
        if (strategy == StreamTrimStrategy.None) return 0;
        long deleted = 0;
        while (_chunks.Count > 0)
        {
            if (strategy == StreamTrimStrategy.MaxLen && Length <= maxLen) break;
            var chunk = _chunks[0];
            if (limit > 0 && deleted + chunk.Live > limit) break;
            bool removeWhole = strategy == StreamTrimStrategy.MaxLen
                ? Length - chunk.Live >= maxLen
                : chunk.Ids[chunk.Count - 1] < minId;
            if (removeWhole)
            {
                _chunkBytes -= chunk.MemoryBytes;
                _chunks.RemoveAt(0);
                Length -= chunk.Live;
                deleted += chunk.Live;
                continue;
            }
            if (approx) break;
            _chunkBytes -= chunk.MemoryBytes;
            for (int i = 0; i < chunk.Count; i++)
            {
                bool stop = strategy == StreamTrimStrategy.MaxLen ? Length <= maxLen : chunk.Ids[i] >= minId;
                if (stop) break;
                if (chunk.Data[i] is null) continue;
                chunk.DeadBytes += chunk.Data[i]!.Length;
                chunk.Data[i] = null;
                chunk.Live--;
                Length--;
                deleted++;
            }
            _chunkBytes += chunk.MemoryBytes;
            break;
        }
        if (deleted > 0) FirstId = Length == 0 ? default : FirstLiveId();
        return deleted;
    }

    /// <summary>The last live entry's ID (0-0 when empty).</summary>
    public StreamId LastLiveId()
    {
        var e = Range(StreamId.Min, StreamId.Max, reverse: true);
        return e.MoveNext() ? e.Id : default;
    }

    /// <summary>The first ID of the first chunk, deleted or not (Redis's streamGetEdgeID without skipping
    /// tombstones), <see cref="StreamId.Max"/> when the stream is empty: what an approximate MINID trim propagates.</summary>
    public StreamId FirstIdWithTombstones() => _chunks.Count > 0 ? _chunks[0].Ids[0] : StreamId.Max;

    private StreamId FirstLiveId()
    {
        var e = Range(StreamId.Min, StreamId.Max, reverse: false);
        return e.MoveNext() ? e.Id : default;
    }

    /// <summary>Live entries with <paramref name="start"/> ≤ ID ≤ <paramref name="end"/>, oldest first or newest first.</summary>
    public RangeEnumerator Range(StreamId start, StreamId end, bool reverse) => new(this, start, end, reverse);

    /// <summary>Index of the chunk that may hold <paramref name="id"/> (the last chunk starting at or before it), or -1.</summary>
    private int ChunkFor(StreamId id)
    {
        int lo = 0, hi = _chunks.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_chunks[mid].Ids[0] <= id)
            {
                found = mid;
                lo = mid + 1;
            }
            else hi = mid - 1;
        }
        return found;
    }

    /// <summary>Walks live entries of a range without allocating (a struct; copy it to walk twice).</summary>
    public struct RangeEnumerator
    {
        private readonly RedisStream _s;
        private readonly StreamId _start, _end;
        private readonly bool _reverse;
        private int _ci, _si;
        private bool _started;

        internal RangeEnumerator(RedisStream s, StreamId start, StreamId end, bool reverse)
        {
            _s = s;
            _start = start;
            _end = end;
            _reverse = reverse;
            _ci = -1;
            _si = -1;
            _started = false;
            Id = default;
            Data = null!;
        }

        public StreamId Id { get; private set; }
        public byte[] Data { get; private set; }

        public bool MoveNext()
        {
            var chunks = _s._chunks;
            if (_start > _end) return false;
            if (!_started)
            {
                _started = true;
                if (!_reverse)
                {
                    _ci = Math.Max(0, _s.ChunkFor(_start));
                    if (_ci >= chunks.Count) return false;
                    _si = chunks[_ci].LowerBound(_start) - 1;
                }
                else
                {
                    _ci = _s.ChunkFor(_end);
                    if (_ci < 0) return false;
                    _si = chunks[_ci].UpperBound(_end);
                }
            }
            if (!_reverse)
            {
                while (_ci < chunks.Count)
                {
                    var c = chunks[_ci];
                    while (++_si < c.Count)
                    {
                        var id = c.Ids[_si];
                        if (id > _end)
                        {
                            _ci = chunks.Count;
                            return false;
                        }
                        if (c.Data[_si] is { } d)
                        {
                            Id = id;
                            Data = d;
                            return true;
                        }
                    }
                    _ci++;
                    _si = -1;
                }
                return false;
            }
            while (_ci >= 0)
            {
                var c = chunks[_ci];
                while (--_si >= 0)
                {
                    var id = c.Ids[_si];
                    if (id < _start)
                    {
                        _ci = -1;
                        return false;
                    }
                    if (c.Data[_si] is { } d)
                    {
                        Id = id;
                        Data = d;
                        return true;
                    }
                }
                if (--_ci >= 0) _si = chunks[_ci].Count;
            }
            return false;
        }
    }

    // ------------------------------------------------------------------ groups

    public StreamGroup? FindGroup(ReadOnlySpan<byte> name)
    {
        int i = GroupIndex(name);
        return i >= 0 ? _groups![i] : null;
    }

    /// <summary>Creates a group; null when the name exists.</summary>
    public StreamGroup? CreateGroup(ReadOnlySpan<byte> name, StreamId lastId, long entriesRead)
    {
        int i = GroupIndex(name);
        if (i >= 0) return null;
        _groups ??= [];
        var g = new StreamGroup(name.ToArray(), lastId, entriesRead);
        _groups.Insert(~i, g);
        return g;
    }

    public bool DestroyGroup(ReadOnlySpan<byte> name)
    {
        int i = GroupIndex(name);
        if (i < 0) return false;
        _groups!.RemoveAt(i);
        return true;
    }

    private int GroupIndex(ReadOnlySpan<byte> name)
    {
        if (_groups is null) return -1;
        int lo = 0, hi = _groups.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int cmp = _groups[mid].Name.AsSpan().SequenceCompareTo(name);
            if (cmp == 0) return mid;
            if (cmp < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>True when a deleted entry may lie in [start, end] (Redis streamRangeHasTombstones).</summary>
    public bool RangeHasTombstones(StreamId start, StreamId end)
    {
        if (Length == 0 || MaxDeletedId.IsZero) return false;
        if (FirstId > MaxDeletedId) return false;
        return start <= MaxDeletedId && MaxDeletedId <= end;
    }

    /// <summary>The logical read counter of <paramref name="id"/>, or <see cref="StreamGroup.InvalidEntriesRead"/>
    /// when it cannot be known (Redis streamEstimateDistanceFromFirstEverEntry).</summary>
    public long EstimateDistanceFromFirstEverEntry(StreamId id)
    {
        if (EntriesAdded == 0) return 0;
        if (Length == 0 && id <= LastId) return EntriesAdded;
        int cmpLast = id.CompareTo(LastId);
        if (cmpLast == 0) return EntriesAdded;
        if (cmpLast > 0) return StreamGroup.InvalidEntriesRead;
        if (MaxDeletedId.IsZero || MaxDeletedId < FirstId)
        {
            int cmpFirst = id.CompareTo(FirstId);
            if (cmpFirst < 0) return EntriesAdded - Length;
            if (cmpFirst == 0) return EntriesAdded - Length + 1;
        }
        return StreamGroup.InvalidEntriesRead;
    }

    /// <summary>A group's lag (entries not yet delivered), or null when it cannot be computed.</summary>
    public long? Lag(StreamGroup g)
    {
        if (EntriesAdded == 0) return 0;
        if (g.EntriesRead != StreamGroup.InvalidEntriesRead && !RangeHasTombstones(g.LastId, StreamId.Max))
            return EntriesAdded - g.EntriesRead;
        long read = EstimateDistanceFromFirstEverEntry(g.LastId);
        return read != StreamGroup.InvalidEntriesRead ? EntriesAdded - read : null;
    }

    /// <summary>Moves a group past an entry it delivers (Redis's bookkeeping in streamReplyWithRange).</summary>
    public void Deliver(StreamGroup g, StreamId id)
    {
        if (id <= g.LastId) return;
        if (g.EntriesRead != StreamGroup.InvalidEntriesRead && !RangeHasTombstones(id, StreamId.Max)) g.EntriesRead++;
        else if (EntriesAdded != 0) g.EntriesRead = EstimateDistanceFromFirstEverEntry(id);
        g.LastId = id;
    }

    // ------------------------------------------------------------------ copy

    /// <summary>Chunks and their entries, plus consumer groups (O(groups + consumers): a stream has few).</summary>
    internal override long MemoryBytes
    {
        get
        {
            long bytes = 96 + MemoryCost.Array(_chunks.Capacity, MemoryCost.Reference) + _chunkBytes;
            if (_groups is null) return bytes;
            foreach (var g in _groups)
            {
                // a NACK (object) is in the group's PEL and its consumer's (two sorted-list slots each)
                bytes += 120 + MemoryCost.ByteArray(g.Name.Length) + g.Pel.Count * (48L + 2 * 24);
                foreach (var consumer in g.Consumers) bytes += 96 + MemoryCost.ByteArray(consumer.Name.Length);
            }
            return bytes;
        }
    }

    public override RedisObject Clone()
    {
        var copy = new RedisStream
        {
            Length = Length,
            LastId = LastId,
            FirstId = FirstId,
            MaxDeletedId = MaxDeletedId,
            EntriesAdded = EntriesAdded,
            _chunkBytes = _chunkBytes,
        };
        foreach (var c in _chunks) copy._chunks.Add(c.Clone());
        if (_groups is not null)
        {
            copy._groups = new List<StreamGroup>(_groups.Count);
            foreach (var g in _groups) copy._groups.Add(g.Clone());
        }
        return copy;
    }

    /// <summary>One node (redis's listpack): slots in ID order; a null data slot is a tombstone.</summary>
    private sealed class Chunk
    {
        public StreamId[] Ids;
        public byte[]?[] Data;
        public int Count;
        public int Live;
        public int Bytes;
        public int DeadBytes; // of the entries deleted since (their arrays are gone)

        /// <summary>The entry whose field names are the node's master fields (redis's master entry): the node's
        /// first entry, kept even when deleted. Only its field names are read.</summary>
        public byte[] Master = [];

        /// <summary>The node's listpack size in bytes as redis-server would have it, except its two counters (live
        /// and deleted entries), whose sizes change with their values: see <see cref="LpBytes"/>.</summary>
        public long LpFixed;

        /// <summary>lpBytes of the node in redis-server: a deletion only flips a flag of the same size, so the
        /// counters are all that changes.</summary>
        public long LpBytes => LpFixed + ListpackSize.Integer(Live) + ListpackSize.Integer(Count - Live);

        /// <summary>The chunk, its arrays and its live entries' data.</summary>
        public long MemoryBytes =>
            48 + MemoryCost.Array(Ids.Length, 16) + MemoryCost.Array(Data.Length, MemoryCost.Reference) +
            MemoryCost.ByteArrays(Live, Bytes - DeadBytes);

        public Chunk(int capacity)
        {
            Ids = new StreamId[capacity];
            Data = new byte[]?[capacity];
        }

        public void Add(StreamId id, byte[] data, int bytes)
        {
            if (Count == Ids.Length)
            {
                int size = Math.Max(4, Ids.Length * 2);
                Array.Resize(ref Ids, size);
                Array.Resize(ref Data, size);
            }
            Ids[Count] = id;
            Data[Count] = data;
            Count++;
            Live++;
            Bytes += bytes;
        }

        /// <summary>First slot with ID ≥ id.</summary>
        public int LowerBound(StreamId id)
        {
            int lo = 0, hi = Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (Ids[mid] < id) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        /// <summary>First slot with ID > id.</summary>
        public int UpperBound(StreamId id)
        {
            int lo = 0, hi = Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (Ids[mid] <= id) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        public Chunk Clone() => new(0)
        {
            Ids = (StreamId[])Ids.Clone(),
            Data = (byte[]?[])Data.Clone(),
            Count = Count,
            Live = Live,
            Bytes = Bytes,
            DeadBytes = DeadBytes,
            Master = Master,
            LpFixed = LpFixed,
        };
    }
}
