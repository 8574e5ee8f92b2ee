using Demikernel.Server.Store;

namespace Demikernel.Server;

/// <summary>
/// WATCH bookkeeping: which clients watch which keys of which database. A database's
/// <see cref="RedisDatabase.KeyModified"/> hook is set only while some key of it is watched, so unwatched databases pay
/// nothing; when a watched key changes (write, delete, expiry, rename, move, flush) its watchers' transactions break.
/// </summary>
public sealed class WatchRegistry
{
    private readonly Dictionary<byte[], List<ClientState>>?[] _byDb;
    private readonly RedisDatabase[] _databases;
    private readonly KeyModifiedHandler _onModified;

    public WatchRegistry(RedisDatabase[] databases)
    {
        _databases = databases;
        _byDb = new Dictionary<byte[], List<ClientState>>?[databases.Length];
        _onModified = OnModified;
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
        _databases[db].KeyModified = _onModified;
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
            if (map.Count == 0)
            {
                _byDb[db] = null;
                _databases[db].KeyModified = null;
            }
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

    private void OnModified(RedisDatabase db, ReadOnlySpan<byte> key)
    {
        var map = _byDb[db.Index];
        if (map is null) return;
        if (map.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var clients))
            foreach (var c in clients) c.WatchBroken = true;
    }
}
