using System.Numerics;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// The latency histogram redis-server 7.0 keeps per command for INFO latencystats: an HdrHistogram (lowest value 1,
/// highest 1e9 ns, 2 significant digits), so that percentiles land on the same bucket values redis reports. Values are
/// nanoseconds; redis records a command's whole microseconds times 1000, and so do we (<see cref="RecordMicros"/>).
/// Allocated on a command's first call (as redis does), never after.
/// </summary>
internal sealed class LatencyHistogram
{
    // hdr_init(1, 1e9, 2): sub_bucket_count = 2^ceil(log2(2 * 10^2)) = 256, unit magnitude 0.
    private const int SubBucketHalfCountMagnitude = 7;
    private const int SubBucketHalfCount = 1 << SubBucketHalfCountMagnitude;
    private const int SubBucketCount = SubBucketHalfCount * 2;
    private const long SubBucketMask = SubBucketCount - 1;
    private const long MinValue = 1;
    private const long MaxValue = 1_000_000_000;
    private static readonly int BucketCount = ComputeBucketCount();
    private readonly long[] _counts = new long[(BucketCount + 1) * SubBucketHalfCount];

    public long TotalCount { get; private set; }

    private static int ComputeBucketCount()
    {
        long smallestUntrackable = SubBucketCount;
        int buckets = 1;
        while (smallestUntrackable <= MaxValue)
        {
            smallestUntrackable <<= 1;
            buckets++;
        }
        return buckets;
    }

    /// <summary>redis's updateCommandLatencyHistogram(duration * 1000): clamped to [1, 1e9] ns.</summary>
    public void RecordMicros(long micros) => Record(Math.Clamp(micros * 1000, MinValue, MaxValue));

    public void Record(long value)
    {
        _counts[CountsIndex(value)]++;
        TotalCount++;
    }

    public void Clear()
    {
        Array.Clear(_counts);
        TotalCount = 0;
    }

    private static int BucketIndex(long value) => 64 - BitOperations.LeadingZeroCount((ulong)(value | SubBucketMask)) - (SubBucketHalfCountMagnitude + 1);

    private static int CountsIndex(long value)
    {
        int bucket = BucketIndex(value);
        int sub = (int)(value >> bucket);
        return ((bucket + 1) << SubBucketHalfCountMagnitude) + sub - SubBucketHalfCount;
    }

    private static long ValueAtIndex(int index)
    {
        int bucket = (index >> SubBucketHalfCountMagnitude) - 1;
        int sub = (index & (SubBucketHalfCount - 1)) + SubBucketHalfCount;
        if (bucket < 0)
        {
            sub -= SubBucketHalfCount;
            bucket = 0;
        }
        return (long)sub << bucket;
    }

    private static long LowestEquivalent(long value)
    {
        int bucket = BucketIndex(value);
        int sub = (int)(value >> bucket);
        return (long)sub << bucket;
    }

    private static long RangeSize(long value)
    {
        int bucket = BucketIndex(value);
        int sub = (int)(value >> bucket);
        return 1L << (sub >= SubBucketCount ? bucket + 1 : bucket);
    }

    /// <summary>
    /// LATENCY HISTOGRAM's buckets: HdrHistogram's logarithmic iteration from 1024 ns doubling (hdr_iter_log_init(h,
    /// 1024, 2)), each step reporting the highest value equivalent to where the iteration stands (in whole µs) and the
    /// count up to there; a step that adds nothing is left out, as redis's fillCommandCDF does.
    /// </summary>
    public List<(long Micros, long Cumulative)> LogBuckets()
    {
        var buckets = new List<(long, long)>();
        long level = 1024;
        long levelLowest = LowestEquivalent(level);
        int index = -1;
        long cumulative = 0, value = 0, highest = 0, previous = 0;
        while (true)
        {
            bool more = cumulative < TotalCount || (index + 1 < _counts.Length && ValueAtIndex(index + 1) > levelLowest);
            if (!more) break;
            while (true)
            {
                if (value >= levelLowest)
                {
                    level *= 2;
                    levelLowest = LowestEquivalent(level);
                    break;
                }
                index++;
                if (index >= _counts.Length) break;
                cumulative += _counts[index];
                value = ValueAtIndex(index);
                highest = LowestEquivalent(value) + RangeSize(value) - 1;
            }
            if (cumulative > previous) buckets.Add((highest / 1000, cumulative));
            previous = cumulative;
            if (index >= _counts.Length) break;
        }
        return buckets;
    }

    /// <summary>hdr_value_at_percentile: the highest value equivalent to the bucket holding that share of the counts.</summary>
    public long ValueAtPercentile(double percentile)
    {
        double requested = Math.Min(percentile, 100.0);
        long countAt = (long)(requested / 100 * TotalCount + 0.5);
        countAt = Math.Max(countAt, 1);
        long value = 0;
        long running = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            running += _counts[i];
            if (running >= countAt)
            {
                value = ValueAtIndex(i);
                break;
            }
        }
        if (percentile == 0.0) return LowestEquivalent(value);
        return LowestEquivalent(value) + RangeSize(value) - 1;
    }
}
