using System.Globalization;
using System.Text;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// LATENCY GRAPH and LATENCY DOCTOR: redis-server 7.0's ASCII sparkline of one event's samples (latency.c with
/// sparkline.c, 80 columns, 4 rows, filled) and its human-readable report with the same texts and advice rules.
/// Cold paths: built as a string per call.
/// </summary>
internal static class LatencyReport
{
    private const int GraphColumns = 80;
    private const int GraphRows = 4;
    private const string FillCharset = "_o#";

    /// <summary>LATENCY GRAPH's text for one event; <paramref name="nowSeconds"/> labels each sample with its age.</summary>
    public static string Graph(string eventName, LatencyMonitor.Series series, long nowSeconds)
    {
        var values = new List<long>();
        var labels = new List<string>();
        long min = 0, max = 0;
        for (int j = 0; j < LatencyMonitor.SeriesLength; j++)
        {
            var sample = series.Samples[(series.Index + j) % LatencyMonitor.SeriesLength];
            if (sample.Time == 0) continue;
            if (values.Count == 0) min = max = sample.Latency;
            else { max = Math.Max(max, sample.Latency); min = Math.Min(min, sample.Latency); }
            long elapsed = nowSeconds - sample.Time;
            labels.Add(elapsed < 60 ? $"{elapsed}s" : elapsed < 3600 ? $"{elapsed / 60}m" : elapsed < 86400 ? $"{elapsed / 3600}h" : $"{elapsed / 86400}d");
            values.Add(sample.Latency);
        }
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{eventName} - high {max} ms, low {min} ms (all time high {series.Max} ms)\n");
        text.Append('-', GraphColumns).Append('\n');
        for (int offset = 0; offset < values.Count; offset += GraphColumns)
        {
            if (offset != 0) text.Append('\n');
            RenderRange(text, values, labels, min, max, offset, Math.Min(GraphColumns, values.Count - offset));
        }
        return text.ToString();
    }

    /// <summary>sparklineRenderRange with SPARKLINE_FILL: the rows of bars, one blank row, then the labels written
    /// vertically, one character per row, until every label is spent.</summary>
    private static void RenderRange(StringBuilder text, List<long> values, List<string> labels, double seqMin, double seqMax,
        int offset, int length)
    {
        double relmax = seqMax - seqMin;
        if (relmax == 0) relmax = 1;
        int steps = FillCharset.Length * GraphRows;
        var chars = new char[length];
        for (int row = 0; ; row++)
        {
            bool more = false;
            Array.Fill(chars, ' ');
            for (int j = 0; j < length; j++)
            {
                // as C: (int)(relval*steps) / relmax, truncated to int again
                int step = (int)((int)((values[offset + j] - seqMin) * steps) / relmax);
                step = Math.Clamp(step, 0, steps - 1);
                if (row < GraphRows)
                {
                    more = true;
                    int index = step - ((GraphRows - row - 1) * FillCharset.Length);
                    if (index >= 0 && index < FillCharset.Length) chars[j] = FillCharset[index];
                    else if (index >= FillCharset.Length) chars[j] = '|';
                }
                else
                {
                    if (row - GraphRows < 1) { more = true; break; } // the blank row between bars and labels
                    string label = labels[offset + j];
                    int at = row - GraphRows - 1;
                    if (label.Length > at) { more = true; chars[j] = label[at]; }
                }
            }
            if (!more) return;
            text.Append(chars).Append('\n');
        }
    }

    /// <summary>LATENCY DOCTOR's report (createLatencyReport).</summary>
    public static string Doctor(LatencyMonitor latency, long nowSeconds, long slowlogSlowerThanMicros, string appendFsync, int hz,
        long anonHugePagesBytes)
    {
        var report = new StringBuilder();
        if (!latency.Events.Any() && latency.ThresholdMs == 0)
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";

        var advice = new HashSet<string>(StringComparer.Ordinal);
        int advices = 0, eventNumber = 0;
        void Advise(params string[] names)
        {
            foreach (string name in names) advice.Add(name);
            advices += names.Length;
        }
        foreach (var (name, series) in latency.Events)
        {
            eventNumber++;
            if (eventNumber == 1)
                report.Append("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            var (samples, avg, mad, period) = Analyze(series, nowSeconds);
            report.Append(CultureInfo.InvariantCulture,
                $"{eventNumber}. {name}: {samples} latency spikes (average {avg}ms, mean deviation {mad}ms, period {((double)period / samples).ToString("F2", CultureInfo.InvariantCulture)} sec). Worst all time event {series.Max}ms.");
            switch (name.ToLowerInvariant())
            {
                case "command":
                    if (slowlogSlowerThanMicros < 0) Advise("slowlog-enabled");
                    else if (slowlogSlowerThanMicros / 1000 > latency.ThresholdMs) Advise("slowlog-tuning");
                    Advise("slowlog-inspect", "large-objects");
                    break;
                case "fast-command": Advise("scheduler"); break;
                case "aof-write-pending-fsync": Advise("local-disk", "disk-contention", "ssd", "data-writeback"); break;
                case "aof-write-active-child": Advise("no-appendfsync", "data-writeback", "ssd"); break;
                case "aof-write-alone": Advise("local-disk", "data-writeback", "ssd"); break;
                case "aof-fsync-always": Advise("relax-fsync"); break;
                case "aof-fstat" or "rdb-unlink-temp-file": Advise("disk-contention", "local-disk"); break;
                case "aof-rewrite-diff-write" or "aof-rename": Advise("write-load-info", "data-writeback", "ssd", "local-disk"); break;
                case "expire-cycle": Advise("hz", "large-objects"); break;
                case "eviction-del": Advise("large-objects"); break;
                case "eviction-cycle": Advise("mass-eviction"); break;
            }
            report.Append('\n');
        }
        if (anonHugePagesBytes > 0) Advise("disable-thp");

        if (eventNumber == 0 && advices == 0)
        {
            report.Append("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
            return report.ToString();
        }
        if (eventNumber > 0 && advices == 0)
        {
            report.Append("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
            return report.ToString();
        }
        report.Append("\nI have a few advices for you:\n\n");
        long suggested = latency.ThresholdMs * 1000;
        if (advice.Contains("slowlog-enabled"))
            report.Append(CultureInfo.InvariantCulture, $"- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {suggested}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n");
        if (advice.Contains("slowlog-tuning"))
            report.Append(CultureInfo.InvariantCulture, $"- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {suggested}'.\n");
        if (advice.Contains("slowlog-inspect"))
            report.Append("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        if (advice.Contains("scheduler"))
            report.Append("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
                + "  1) Lower the system load.\n"
                + "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                + "  3) Check if you have a \"noisy neighbour\" problem.\n"
                + "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
                + "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        if (advice.Contains("local-disk"))
            report.Append("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
        if (advice.Contains("ssd"))
            report.Append("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
        if (advice.Contains("data-writeback"))
            report.Append("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
        if (advice.Contains("disk-contention"))
            report.Append("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
        if (advice.Contains("no-appendfsync"))
            report.Append("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
        if (advice.Contains("relax-fsync") && appendFsync == "always")
            report.Append("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
        if (advice.Contains("write-load-info"))
            report.Append("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
        if (advice.Contains("hz") && hz < 100)
            report.Append("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        if (advice.Contains("large-objects"))
            report.Append("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        if (advice.Contains("mass-eviction"))
            report.Append("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
        if (advice.Contains("disable-thp"))
            report.Append("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        return report.ToString();
    }

    /// <summary>analyzeLatencyForEvent: sample count, integer average and mean absolute deviation, and the seconds
    /// since the oldest sample (at least 1).</summary>
    private static (int Samples, long Avg, long Mad, long Period) Analyze(LatencyMonitor.Series series, long nowSeconds)
    {
        int samples = 0;
        long sum = 0, oldest = 0;
        foreach (var (time, value) in series.Samples)
        {
            if (time == 0) continue;
            samples++;
            sum += value;
            if (oldest == 0 || time < oldest) oldest = time;
        }
        if (samples == 0) return (0, 0, 0, 0);
        long avg = sum / samples;
        long period = Math.Max(1, nowSeconds - oldest);
        long deviations = 0;
        foreach (var (time, value) in series.Samples)
            if (time != 0) deviations += Math.Abs(avg - value);
        return (samples, avg, deviations / samples, period);
    }

    /// <summary>THPGetAnonHugePagesSize: the process's anonymous transparent huge pages, from /proc/self/smaps_rollup
    /// (0 where the file does not exist).</summary>
    public static long AnonHugePagesBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/smaps_rollup"))
            {
                if (!line.StartsWith("AnonHugePages:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
