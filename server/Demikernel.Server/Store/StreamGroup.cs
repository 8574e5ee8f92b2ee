namespace Demikernel.Server.Store;

/// <summary>A pending (delivered, not acknowledged) entry of a consumer group.</summary>
public sealed class StreamNack(StreamId id, long deliveryTime, long deliveryCount, StreamConsumer? consumer)
{
    public StreamId Id { get; } = id;
    public long DeliveryTime { get; set; } = deliveryTime;
    public long DeliveryCount { get; set; } = deliveryCount;
    /// <summary>The owner; null only briefly while XCLAIM FORCE creates the entry.</summary>
    public StreamConsumer? Consumer { get; set; } = consumer;
}

/// <summary>A pending entries list: NACKs ordered by ID (appends at the end are O(1), lookups O(log n)).</summary>
public sealed class StreamPel
{
    private readonly SortedList<StreamId, StreamNack> _items = [];

    public int Count => _items.Count;
    public IList<StreamId> Ids => _items.Keys;
    public IList<StreamNack> Nacks => _items.Values;

    public StreamNack? Find(StreamId id) => _items.TryGetValue(id, out var n) ? n : null;

    public bool Add(StreamNack nack) => _items.TryAdd(nack.Id, nack);

    public bool Remove(StreamId id) => _items.Remove(id);

    /// <summary>Index of the first NACK with an ID ≥ <paramref name="id"/> (Count when none).</summary>
    public int LowerBound(StreamId id)
    {
        var keys = _items.Keys;
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] < id) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}

/// <summary>A consumer of a group: its name, when it was last seen, and the entries delivered to it.</summary>
public sealed class StreamConsumer(byte[] name, long seenTime)
{
    public byte[] Name { get; } = name;
    public long SeenTime { get; set; } = seenTime;
    public StreamPel Pel { get; } = new();
}

/// <summary>A consumer group: last delivered ID, logical read counter, the group PEL and its consumers (by name,
/// in byte order as Redis's radix tree lists them).</summary>
public sealed class StreamGroup(byte[] name, StreamId lastId, long entriesRead)
{
    /// <summary>Redis's SCG_INVALID_ENTRIES_READ.</summary>
    public const long InvalidEntriesRead = -1;

    public byte[] Name { get; } = name;
    public StreamId LastId { get; set; } = lastId;
    public long EntriesRead { get; set; } = entriesRead;
    public StreamPel Pel { get; } = new();
    public List<StreamConsumer> Consumers { get; } = [];

    public StreamConsumer? FindConsumer(ReadOnlySpan<byte> name)
    {
        int i = IndexOf(name);
        return i >= 0 ? Consumers[i] : null;
    }

    /// <summary>Adds a consumer; null when one of that name exists.</summary>
    public StreamConsumer? CreateConsumer(ReadOnlySpan<byte> name, long nowMs)
    {
        int i = IndexOf(name);
        if (i >= 0) return null;
        var consumer = new StreamConsumer(name.ToArray(), nowMs);
        Consumers.Insert(~i, consumer);
        return consumer;
    }

    /// <summary>Removes a consumer and its pending entries from the group PEL; returns how many it had.</summary>
    public int DeleteConsumer(StreamConsumer consumer)
    {
        int pending = consumer.Pel.Count;
        foreach (var id in consumer.Pel.Ids) Pel.Remove(id);
        int i = IndexOf(consumer.Name);
        if (i >= 0) Consumers.RemoveAt(i);
        return pending;
    }

    private int IndexOf(ReadOnlySpan<byte> name)
    {
        int lo = 0, hi = Consumers.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int cmp = Consumers[mid].Name.AsSpan().SequenceCompareTo(name);
            if (cmp == 0) return mid;
            if (cmp < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    internal StreamGroup Clone()
    {
        var copy = new StreamGroup(Name, LastId, EntriesRead);
        var map = new Dictionary<StreamConsumer, StreamConsumer>(ReferenceEqualityComparer.Instance);
        foreach (var c in Consumers)
        {
            var cc = new StreamConsumer(c.Name, c.SeenTime);
            map[c] = cc;
            copy.Consumers.Add(cc);
        }
        foreach (var n in Pel.Nacks)
        {
            var owner = n.Consumer is null ? null : map[n.Consumer];
            var nn = new StreamNack(n.Id, n.DeliveryTime, n.DeliveryCount, owner);
            copy.Pel.Add(nn);
            owner?.Pel.Add(nn);
        }
        return copy;
    }
}
