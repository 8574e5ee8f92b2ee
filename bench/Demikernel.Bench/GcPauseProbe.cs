using System.Diagnostics;
using System.Globalization;
using Demikernel.Server.Store;

namespace Demikernel.Bench;

/// <summary>
/// What a full blocking collection costs with N keys in the heap, without the network and the machine's other load in
/// the way: fills a <see cref="RedisDatabase"/> with N keys of 16 B and values of 16 B (the compact keyspace), then
/// forces full blocking collections and reports their pauses (the runtime's own figure,
/// <c>GCMemoryInfo.PauseDurations</c>); then the same N keys in the shape of the store before issue 14 (one 80-byte
/// object and two arrays per key, chained from a bucket array), for comparison. The minimum over the runs is the GC's
/// work; the maximum adds whatever preemption the shared machine inflicted.
/// <code>
///   DOTNET_gcConcurrent=0 dotnet run -c Release --project bench/Demikernel.Bench -- gc-probe 1000000 [runs]
/// </code>
/// </summary>
internal static class GcPauseProbe
{
    /// <summary>The shape of a key before the compact keyspace: RedisEntry's fields then (80 bytes with the header).</summary>
    private sealed class OldEntry(byte[] key, byte[] value, uint hash)
    {
        public readonly uint Hash = hash;
        public OldEntry? Next;
        public int ExpiresSlot = -1;
        public long ExpireAt;
        public byte[] Bytes = value;
        public int Length = value.Length;
        public byte Form;
        public object? Obj;
        public long AccessMs;
        public byte SnapshotMark;
        public byte[] Key = key;
        public byte Type;
    }

    public static void Run(string[] args)
    {
        int keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        int runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;
        Console.WriteLine($"{keys:N0} keys (16 B keys, 16 B values); {runs} forced full blocking collections each; server GC {System.Runtime.GCSettings.IsServerGC}, latency mode {System.Runtime.GCSettings.LatencyMode}");

        var db = new RedisDatabase(0, TimeProvider.System);
        Span<byte> key = stackalloc byte[16];
        var value = "vvvvvvvvvvvvvvvv"u8;
        var fill = Stopwatch.StartNew();
        for (int i = 0; i < keys; i++)
        {
            "key:"u8.CopyTo(key);
            i.TryFormat(key[4..], out _, "D12", CultureInfo.InvariantCulture);
            db.SetString(key, value);
        }
        fill.Stop();
        Report("compact keyspace", fill.Elapsed, runs, $"used_memory {db.UsedMemory / (double)keys:F1} B/key");
        GC.KeepAlive(db);
        db = null;
        GC.Collect();

        var buckets = new OldEntry?[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)keys)];
        fill.Restart();
        for (int i = 0; i < keys; i++)
        {
            "key:"u8.CopyTo(key);
            i.TryFormat(key[4..], out _, "D12", CultureInfo.InvariantCulture);
            uint hash = RedisDatabase.HashOf(key);
            ref var head = ref buckets[hash & (uint)(buckets.Length - 1)];
            head = new OldEntry(key.ToArray(), value.ToArray(), hash) { Next = head };
        }
        fill.Stop();
        Report("an object per key (before)", fill.Elapsed, runs, "");
        GC.KeepAlive(buckets);
    }

    private static void Report(string name, TimeSpan fill, int runs, string extra)
    {
        var pauses = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
            var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            pauses.Add(info.PauseDurations[0].TotalMilliseconds);
        }
        pauses.Sort();
        var heap = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-28} fill {fill.TotalSeconds,5:F1} s  heap {heap.HeapSizeBytes / 1048576.0,7:F0} MB  full GC pause min {pauses[0],7:F2} ms  median {pauses[pauses.Count / 2],7:F2} ms  max {pauses[^1],7:F2} ms  {extra}"));
    }
}
