using Demikernel.Server.Store;

namespace Demikernel.Server.Cluster;

/// <summary>
/// Database 0's keys by hash slot (redis's slots_to_keys), kept through the store's change hook, so CLUSTER
/// COUNTKEYSINSLOT and GETKEYSINSLOT cost the slot's keys, not the keyspace. Loads (RDB at start, a full
/// resynchronisation) fill the store without announcing keys one by one: the index notices that its count no longer
/// matches the database's and rebuilds itself on the next use.
/// </summary>
internal sealed class SlotKeyIndex(RedisDatabase db) : IKeyspaceObserver
{
    private readonly HashSet<byte[]>?[] _slots = new HashSet<byte[]>?[HashSlot.Count];
    private long _total;
    private bool _stale = true;

    public void KeyChanged(RedisDatabase changed, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type)
    {
        if (changed != db || _stale) return;
        int slot = HashSlot.Of(key);
        var set = _slots[slot];
        switch (change)
        {
            case KeyChange.Added or KeyChange.Modified or KeyChange.TypeChanged:
                set ??= _slots[slot] = new HashSet<byte[]>(ByteKeyComparer.Instance);
                if (!set.GetAlternateLookup<ReadOnlySpan<byte>>().Contains(key) && set.Add(key.ToArray())) _total++;
                break;
            default:
                if (set is not null && set.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(key)) _total--;
                break;
        }
    }

    public void ContentsReplacing(RedisDatabase changed, RedisDatabase? incoming)
    {
        if (changed != db) return;
        Array.Clear(_slots);
        _total = 0;
        _stale = incoming is not null && incoming.Count > 0;
    }

    private void Refresh()
    {
        if (!_stale && _total == db.Count) return;
        Array.Clear(_slots);
        _total = 0;
        foreach (var view in db.Entries)
        {
            var key = view.Key.ToArray();
            int slot = HashSlot.Of(key);
            (_slots[slot] ??= new HashSet<byte[]>(ByteKeyComparer.Instance)).Add(key);
            _total++;
        }
        _stale = false;
    }

    public int Count(int slot)
    {
        Refresh();
        return _slots[slot]?.Count ?? 0;
    }

    /// <summary>Up to <paramref name="max"/> keys of the slot.</summary>
    public IEnumerable<byte[]> KeysIn(int slot, long max)
    {
        Refresh();
        if (_slots[slot] is not { } set) yield break;
        foreach (var k in set)
        {
            if (max-- <= 0) yield break;
            yield return k;
        }
    }

    /// <summary>delKeysInSlot: every key of the slot deleted (announced as DELs, as redis propagates them).</summary>
    public int DeleteKeysInSlot(int slot)
    {
        Refresh();
        if (_slots[slot] is not { } set) return 0;
        int n = 0;
        foreach (var k in set.ToArray())
            if (db.Delete(k)) n++;
        return n;
    }
}
