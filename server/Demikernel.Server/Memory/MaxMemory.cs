using System.Diagnostics;
using Demikernel.Server.Store;

namespace Demikernel.Server.Memory;

/// <summary>maxmemory-policy values (redis.conf names in <see cref="MaxMemory.PolicyName"/>).</summary>
public enum EvictionPolicy
{
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

/// <summary>What <see cref="MaxMemory.PerformEvictions"/> achieved (Redis's EVICT_OK, EVICT_RUNNING, EVICT_FAIL).</summary>
internal enum EvictionResult
{
    /// <summary>Under the limit (or no limit).</summary>
    Ok,
    /// <summary>Still over the limit, but the time budget ran out with keys left to evict: the cron goes on.</summary>
    Running,
    /// <summary>Over the limit and nothing (more) can be evicted: denyoom commands get -OOM.</summary>
    Fail,
}

/// <summary>
/// The memory bound: the used-memory figure (the store's own accounting, see <see cref="RedisDatabase.UsedMemory"/>)
/// and Redis 7.0's eviction (evict.c's performEvictions), run before every command while maxmemory is set.
/// <code>
///   used &gt; maxmemory ─▶ policy
///     *-lru / *-lfu / volatile-ttl: sample maxmemory-samples keys of every database (all keys, or keys with a TTL)
///        into a 16-slot pool ordered by score (idle ms; 255 - LFU counter; ∞ - expiry time), evict the best one still
///        present whose score has not dropped since it was sampled (one read since goes back in at its new score), repeat
///     *-random: a random key of the next database in turn
///     noeviction (or nothing left): EvictionResult.Fail ─▶ denyoom commands answer -OOM
///   every 16 evictions the time limit of maxmemory-eviction-tenacity is checked; past it the cron continues
/// </code>
/// An evicted key is deleted through the store like an expired one, so WATCH, keyspace bookkeeping and the effects log
/// (a DEL, or UNLINK with lazyfree-lazy-eviction, per key, as redis-server propagates) all see it.
/// </summary>
internal sealed class MaxMemory
{
    /// <summary>Redis's EVPOOL_SIZE.</summary>
    private const int PoolSize = 16;

    private readonly RedisServer _server;
    private readonly int[] _pool = NewPool();                  // slots, -1 = empty; ascending score: the best is last
    private readonly uint[] _poolHash = new uint[PoolSize];   // the key's hash: its slot may be reused by another key
    private readonly ulong[] _poolScore = new ulong[PoolSize];
    private readonly int[] _poolDb = new int[PoolSize];
    private int[] _samples = new int[5];
    private int _nextDb;

    public MaxMemory(RedisServer server) => _server = server;

    private static int[] NewPool()
    {
        var pool = new int[PoolSize];
        pool.AsSpan().Fill(-1);
        return pool;
    }

    /// <summary>maxmemory in bytes (0 = no limit).</summary>
    public long Limit { get; set; }

    public EvictionPolicy Policy { get; private set; }

    /// <summary>maxmemory-samples (1..int.MaxValue as in redis-server 7.0.15; the sample buffer grows to it when
    /// first used).</summary>
    public int Samples { get; set; } = 5;

    /// <summary>maxmemory-eviction-tenacity (0..100).</summary>
    public int Tenacity { get; set; } = 10;

    /// <summary>LFU parameters, shared with every database while an LFU policy is selected.</summary>
    public LfuSettings Lfu { get; } = new();

    public bool IsLfu => Policy is EvictionPolicy.AllKeysLfu or EvictionPolicy.VolatileLfu;

    /// <summary>Set when an eviction cycle stopped at its time limit with memory still over: the cron continues it.</summary>
    public bool Running { get; private set; }

    /// <summary>The result of the last check before a command (EXEC refuses a transaction of denyoom commands on Fail).</summary>
    public EvictionResult LastResult { get; private set; }

    /// <summary>redis's pre_command_oom_state with maxmemory set: the check before the running top-level command
    /// (EXEC, EVAL, FCALL) found memory over the limit.</summary>
    public bool OutOfMemoryAtCommandStart => Limit != 0 && LastResult == EvictionResult.Fail;

    /// <summary>Bytes used by the server's accounting: every database's keys and values, and its clients.</summary>
    public long Used
    {
        get
        {
            long used = Overhead;
            foreach (var db in _server.Databases) used += db.UsedMemory;
            return used;
        }
    }

    /// <summary>What is not the dataset: the clients' memory as last measured, and the replication backlog.</summary>
    public long Overhead => ClientsNormal + ClientsReplicas + _server.Replication.BacklogMemory;

    /// <summary>mem_clients_normal: what normal and pub/sub clients hold (CLIENT LIST's tot-mem summed), as the cron
    /// last measured it (redis's clientsCron also measures clients between commands, not on every allocation).</summary>
    public long ClientsNormal { get; private set; }

    /// <summary>mem_clients_slaves: the same for replicas.</summary>
    public long ClientsReplicas { get; private set; }

    /// <summary>mem_not_counted_for_evict: the replicas' output buffers, which eviction does not count (redis's
    /// freeMemoryGetNotCountedMemory), so feeding replicas cannot make the master evict its keys.</summary>
    public long NotCountedForEvict { get; private set; }

    /// <summary>The cron's measure of every client's memory (one pass, a few additions per client).</summary>
    internal void MeasureClients()
    {
        long normal = 0, replicas = 0, replicaOutput = 0;
        foreach (var session in _server.Clients)
        {
            long bytes = session.TotalMemory(0);
            if (session.Client.IsReplica)
            {
                replicas += bytes;
                replicaOutput += session.OutputMemory;
            }
            else normal += bytes;
        }
        ClientsNormal = normal;
        ClientsReplicas = replicas;
        NotCountedForEvict = replicaOutput;
    }

    private long _peak;

    /// <summary>used_memory_peak: the largest <see cref="Used"/> seen by the cron or INFO.</summary>
    public long UpdatePeak(long used) => _peak = Math.Max(_peak, used);

    public static string PolicyName(EvictionPolicy p) => p switch
    {
        EvictionPolicy.AllKeysLru => "allkeys-lru",
        EvictionPolicy.AllKeysLfu => "allkeys-lfu",
        EvictionPolicy.AllKeysRandom => "allkeys-random",
        EvictionPolicy.VolatileLru => "volatile-lru",
        EvictionPolicy.VolatileLfu => "volatile-lfu",
        EvictionPolicy.VolatileRandom => "volatile-random",
        EvictionPolicy.VolatileTtl => "volatile-ttl",
        _ => "noeviction",
    };

    public static EvictionPolicy ParsePolicy(string name) => name switch
    {
        "allkeys-lru" => EvictionPolicy.AllKeysLru,
        "allkeys-lfu" => EvictionPolicy.AllKeysLfu,
        "allkeys-random" => EvictionPolicy.AllKeysRandom,
        "volatile-lru" => EvictionPolicy.VolatileLru,
        "volatile-lfu" => EvictionPolicy.VolatileLfu,
        "volatile-random" => EvictionPolicy.VolatileRandom,
        "volatile-ttl" => EvictionPolicy.VolatileTtl,
        _ => EvictionPolicy.NoEviction,
    };

    /// <summary>Selects a policy: databases keep LFU counters in the access field while an LFU policy is on.</summary>
    public void SetPolicy(EvictionPolicy policy)
    {
        if (policy != Policy) _pool.AsSpan().Fill(-1); // scores of another policy mean nothing now
        Policy = policy;
        var lfu = IsLfu ? Lfu : null;
        bool lru = Policy is EvictionPolicy.AllKeysLru or EvictionPolicy.VolatileLru;
        foreach (var db in _server.Databases)
        {
            db.Lfu = lfu;
            db.LruPolicy = lru;
        }
    }

    /// <summary>Before a command: nothing to do while under the limit (one sum over the databases).</summary>
    /// <summary>CLIENT PAUSE: nothing is evicted until this time (redis's performEvictions while paused); 0 = not paused.</summary>
    internal long PausedUntilMs;

    public EvictionResult Check()
    {
        var result = Limit == 0 || Used - NotCountedForEvict <= Limit || (PausedUntilMs != 0 && _server.NowMs < PausedUntilMs) ? EvictionResult.Ok : PerformEvictions();
        LastResult = result;
        return result;
    }

    /// <summary>Redis's evictionTimeLimitUs: 50 µs per step up to 10, then +15% per step; 100 = no limit.</summary>
    private long TimeLimitTicks()
    {
        double us = Tenacity <= 10 ? 50.0 * Tenacity : Tenacity < 100 ? 500.0 * Math.Pow(1.15, Tenacity - 10.0) : double.MaxValue;
        return us >= long.MaxValue / (double)Stopwatch.Frequency ? long.MaxValue : (long)(us * Stopwatch.Frequency / 1_000_000);
    }

    /// <summary>Evicts until the used memory is under the limit, nothing is left to evict, or the time limit passed.</summary>
    public EvictionResult PerformEvictions()
    {
        long used = Used - NotCountedForEvict;
        if (Limit == 0 || used <= Limit)
        {
            Running = false;
            return EvictionResult.Ok;
        }
        if (Policy == EvictionPolicy.NoEviction) return EvictionResult.Fail;
        long toFree = used - Limit, freed = 0;
        long started = Stopwatch.GetTimestamp(), limit = TimeLimitTicks();
        int evicted = 0;
        bool timedOut = false;
        while (freed < toFree)
        {
            var (db, victim) = Pick();
            if (victim < 0)
            {
                Running = false;
                return EvictionResult.Fail;
            }
            freed += db!.Evict(victim);
            _server.Stats.EvictedKeys++;
            if (++evicted % 16 == 0 && Stopwatch.GetTimestamp() - started > limit)
            {
                timedOut = true;
                break;
            }
        }
        Running = timedOut;
        if (timedOut && !_continuing)
        {
            _continuing = true;
            _server.LibOS.Spawn(ContinueEvictions);
        }
        return timedOut ? EvictionResult.Running : EvictionResult.Ok;
    }

    private bool _continuing;

    /// <summary>
    /// After CONFIG SET lowered maxmemory: eviction starts on the next scheduler pass (or before the next command,
    /// whichever comes first), outside any command, so that each evicted key is propagated as a unit of its own, as
    /// redis-server's performEvictions does (it runs inside CONFIG SET but flushes every DEL at once).
    /// </summary>
    public void EvictSoon()
    {
        if (_continuing) return;
        _continuing = true;
        _server.LibOS.Spawn(ContinueEvictions);
    }

    /// <summary>
    /// Redis's evictionTimeProc: after a cycle ran out of time, more cycles run between the other coroutines' turns
    /// (one per scheduler pass) until memory is under the limit or nothing is left to evict.
    /// </summary>
    private async ValueTask ContinueEvictions()
    {
        try
        {
            do await _server.LibOS.Yield();
            while (!_server.Stopping && PerformEvictions() == EvictionResult.Running);
        }
        finally
        {
            _continuing = false;
        }
    }

    /// <summary>The cron's share: the peak, and a cycle left unfinished (should the continuation have stopped).</summary>
    public void Cron()
    {
        MeasureClients();
        if (Running && !_continuing) PerformEvictions();
        UpdatePeak(Used);
    }

    private (RedisDatabase? Db, int Slot) Pick()
    {
        var dbs = _server.Databases;
        bool volatileOnly = Policy is EvictionPolicy.VolatileLru or EvictionPolicy.VolatileLfu or EvictionPolicy.VolatileRandom or EvictionPolicy.VolatileTtl;
        if (Policy is EvictionPolicy.AllKeysRandom or EvictionPolicy.VolatileRandom)
        {
            for (int i = 0; i < dbs.Length; i++)
            {
                var db = dbs[_nextDb = (_nextDb + 1) % dbs.Length];
                int s = volatileOnly ? db.RandomSlotWithTtl() : db.Count > 0 ? db.RandomSlot() : -1;
                if (s >= 0) return (db, s);
            }
            return (null, -1);
        }
        while (true)
        {
            long keys = 0;
            for (int i = 0; i < dbs.Length; i++)
            {
                var db = dbs[i];
                long n = volatileOnly ? db.ExpiresCount : db.Count;
                if (n == 0) continue;
                keys += n;
                Populate(i, db, volatileOnly);
            }
            if (keys == 0) return (null, -1);
            for (int k = PoolSize - 1; k >= 0; k--)
            {
                int s = _pool[k];
                if (s < 0) continue;
                int dbIndex = _poolDb[k];
                var db = dbs[dbIndex];
                _pool[k] = -1;
                // a ghost (deleted, or no longer with a TTL under volatile-*) is skipped
                if (!db.Holds(s, _poolHash[k]) || (volatileOnly && db.ExpireAtOf(s) < 0)) continue;
                // A score is taken when the key is sampled and the pool outlives a cycle, so a key read (or given a
                // later TTL) since then would be evicted on its old merit: redis-server does so. Here it goes back
                // in at its current score instead, and the next best is tried. Every entry right of k is empty now,
                // so the reinsertion lands at or left of k and the scan restarts.
                ulong score = Score(db, s, db.NowMs);
                if (score >= _poolScore[k]) return (db, s);
                Insert(dbIndex, s, _poolHash[k], score);
                k = PoolSize;
            }
        }
    }

    private ulong Score(RedisDatabase db, int slot, long now) => Policy switch
    {
        EvictionPolicy.AllKeysLru or EvictionPolicy.VolatileLru => (ulong)Math.Max(0, now - db.AccessAt(slot)),
        EvictionPolicy.AllKeysLfu or EvictionPolicy.VolatileLfu => (ulong)(255 - Lfu.Decayed(db.AccessAt(slot), LfuSettings.Minutes(now))),
        _ => ulong.MaxValue - (ulong)Math.Max(0, db.ExpireAtOf(slot)),
    };

    /// <summary>evictionPoolPopulate: sampled keys enter the pool when better than its worst (or when it has room).</summary>
    private void Populate(int dbIndex, RedisDatabase db, bool withTtl)
    {
        if (_samples.Length < Samples) _samples = new int[Math.Min(Samples, 1 << 20)];
        var samples = _samples.AsSpan(0, Math.Min(Samples, _samples.Length));
        int count = db.Sample(samples, withTtl);
        long now = db.NowMs;
        for (int j = 0; j < count; j++)
        {
            int e = samples[j];
            if (InPool(dbIndex, e)) continue; // sampled again: it is in already (Pick rescoring it before eviction)
            Insert(dbIndex, e, db.HashAt(e), Score(db, e, now));
        }
    }

    /// <summary>Puts a key in the pool by score, when better than its worst or when it has room (the pool is filled
    /// from the left; the best is last).</summary>
    private void Insert(int dbIndex, int slot, uint hash, ulong score)
    {
        int k = 0;
        while (k < PoolSize && _pool[k] >= 0 && _poolScore[k] < score) k++;
        if (k == 0 && _pool[PoolSize - 1] >= 0) return; // worse than all, and no room
        if (k < PoolSize && _pool[k] < 0)
        {
            // an empty slot at k
        }
        else if (_pool[PoolSize - 1] < 0)
        {
            Array.Copy(_pool, k, _pool, k + 1, PoolSize - k - 1);
            Array.Copy(_poolHash, k, _poolHash, k + 1, PoolSize - k - 1);
            Array.Copy(_poolScore, k, _poolScore, k + 1, PoolSize - k - 1);
            Array.Copy(_poolDb, k, _poolDb, k + 1, PoolSize - k - 1);
        }
        else
        {
            // full: drop the worst (leftmost) and insert before k
            k--;
            Array.Copy(_pool, 1, _pool, 0, k);
            Array.Copy(_poolHash, 1, _poolHash, 0, k);
            Array.Copy(_poolScore, 1, _poolScore, 0, k);
            Array.Copy(_poolDb, 1, _poolDb, 0, k);
        }
        _pool[k] = slot;
        _poolHash[k] = hash;
        _poolScore[k] = score;
        _poolDb[k] = dbIndex;
    }

    private bool InPool(int dbIndex, int slot)
    {
        for (int k = 0; k < PoolSize; k++)
            if (_pool[k] == slot && _poolDb[k] == dbIndex) return true;
        return false;
    }
}
