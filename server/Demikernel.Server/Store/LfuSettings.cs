using System.Runtime.CompilerServices;

namespace Demikernel.Server.Store;

/// <summary>
/// Redis's LFU approximation (evict.c) on the entry's access field: under an LFU maxmemory policy
/// <see cref="RedisEntry.AccessMs"/> holds, as Redis's 24-bit lru field does,
/// <code>
///   bits 8..23: last decrement time, minutes since the epoch mod 65536   bits 0..7: logarithmic counter (0..255)
/// </code>
/// An access increments the counter with probability 1 / ((counter - 5) × lfu-log-factor + 1) (new keys start at 5);
/// the counter loses one per lfu-decay-time minutes without access. Switching between LRU and LFU policies at run
/// time leaves the old field as it is, as in Redis ("will take some time to adjust").
/// </summary>
internal sealed class LfuSettings
{
    /// <summary>Redis's LFU_INIT_VAL.</summary>
    public const int InitialCounter = 5;

    /// <summary>lfu-log-factor (default 10).</summary>
    public int LogFactor { get; set; } = 10;

    /// <summary>lfu-decay-time in minutes (default 1; 0 = never decay).</summary>
    public int DecayTime { get; set; } = 1;

    public static long Minutes(long unixMs) => (unixMs / 60_000) & 0xFFFF;

    public static long Pack(long minutes, int counter) => (minutes << 8) | (uint)counter;

    /// <summary>LFUDecrAndReturn: the counter of <paramref name="field"/> less the decay periods elapsed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Decayed(long field, long nowMinutes)
    {
        long ldt = (field >> 8) & 0xFFFF;
        int counter = (int)(field & 0xFF);
        if (DecayTime == 0) return counter;
        long elapsed = nowMinutes >= ldt ? nowMinutes - ldt : 65535 - ldt + nowMinutes;
        long periods = elapsed / DecayTime;
        return periods == 0 ? counter : periods > counter ? 0 : counter - (int)periods;
    }

    /// <summary>LFULogIncr with a uniform 32-bit draw <paramref name="random"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Increment(int counter, uint random)
    {
        if (counter == 255) return 255;
        double baseval = Math.Max(0, counter - InitialCounter);
        double p = 1.0 / (baseval * LogFactor + 1);
        return random * (1.0 / uint.MaxValue) < p ? counter + 1 : counter;
    }
}
