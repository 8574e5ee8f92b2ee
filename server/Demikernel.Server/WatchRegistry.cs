using Demikernel.Server.Store;

namespace Demikernel.Server;

/// <summary>
/// WATCH bookkeeping: which clients watch which keys of which database. A subscriber of the keyspace's change hook:
/// when a watched key changes (write, delete, expiry, eviction, rename, move, flush, swap) its watchers' transactions
/// break (redis-server's touchWatchedKey / touchAllWatchedKeysInDb). A database nobody watches costs one array read.
/// </summary>
public sealed class WatchRegistry : IKeyspaceObserver
{
    private readonly Dictionary<byte[], List<ClientState>>?[] _byDb;
    private readonly RedisDatabase[] _databases;

    public WatchRegistry(RedisDatabase[] databases)
    {
        _databases = databases;
        _byDb = new Dictionary<byte[], List<ClientState>>?[databases.Length];
    }

    public void Watch(ClientState client, int db, ReadOnlySpan<byte> key)
    {
        foreach (var w in client.Watched)
            if (w.Db == db && key.SequenceEqual(w.Key)) return;
        var map = _byDb[db] ??= new Dictionary<byte[], List<ClientState>>(ByteKeyComparer.Instance);
        byte[] copy = key.ToArray();
        if (!map.TryGetValue(copy, out var clients)) map[copy] = clients = [];
        clients.Add(client);
        client.Watched.Add((db, copy, _databases[db].IsLive(key)));
    }

    /// <summary>Forgets every key the client watches (UNWATCH, EXEC, DISCARD, disconnect).</summary>
    public void UnwatchAll(ClientState client)
    {
        foreach (var (db, key, _) in client.Watched)
        {
            var map = _byDb[db];
            if (map is null || !map.TryGetValue(key, out var clients)) continue;
            clients.Remove(client);
            if (clients.Count == 0) map.Remove(key);
            if (map.Count == 0) _byDb[db] = null;
        }
        client.Watched.Clear();
        client.WatchBroken = false;
    }

    /// <summary>True if a watched key changed or expired since WATCH.</summary>
    public bool IsBroken(ClientState client)
    {
        if (client.WatchBroken) return true;
        foreach (var (db, key, existed) in client.Watched)
            if (existed && !_databases[db].IsLive(key)) return true; // expired since WATCH: no lazy deletion here
        return client.WatchBroken;
    }

    public void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type)
    {
        var map = _byDb[db.Index];
        if (map is null) return;
        if (map.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var clients))
            foreach (var c in clients) c.WatchBroken = true;
    }

    /// <summary>
    /// FLUSHDB/SWAPDB, as touchAllWatchedKeysInDb: a watched key present before or after breaks its watchers, except an
    /// expired key that goes away or stays expired, or a missing key that is replaced by an expired one (no logical change).
    /// </summary>
    public void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming)
    {
        var map = _byDb[db.Index];
        if (map is null) return;
        foreach (var (key, clients) in map)
        {
            bool before = db.Contains(key), after = incoming is not null && incoming.Contains(key);
            if (!before && !after) continue;
            bool liveBefore = before && db.IsLive(key), liveAfter = after && incoming!.IsLive(key);
            if (!liveBefore && !liveAfter) continue;
            foreach (var c in clients) c.WatchBroken = true;
        }
    }
}
