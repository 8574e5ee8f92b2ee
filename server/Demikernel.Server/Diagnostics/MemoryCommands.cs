using System.Globalization;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP, answered from the store's own accounting (the figures
/// INFO memory and maxmemory use, see Memory/README.md), never from invented allocator numbers.
/// </summary>
internal static class MemoryCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("MEMORY", static (ref CommandContext c) => c.Reply.Error(Errors.UnknownSubcommand(c.ArgString(1), "MEMORY")))
        {
            Subcommands =
            [
                new("USAGE", Usage),
                new("STATS", Stats),
                new("DOCTOR", Doctor),
                new("MALLOC-STATS", MallocStats),
                new("PURGE", Purge),
                new("HELP", Help),
            ],
        });
    }

    /// <summary>
    /// MEMORY USAGE key [SAMPLES count]: the key's bytes by the store's accounting. The accounting is exact (each
    /// collection keeps its size as it changes), so SAMPLES is checked as redis checks it but sampling changes nothing.
    /// </summary>
    private static void Usage(ref CommandContext c)
    {
        for (int j = 3; j < c.Count; j++)
        {
            if (c.ArgIs(j, "SAMPLES"u8) && j + 1 < c.Count)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out long samples))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (samples < 0)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        // seen in place: a compact key is measured as it is stored, not as the object a Find would make of it
        if (!c.Db.TryLookup(c.Arg(2), LookupFlags.NoTouch, out var key))
        {
            c.Reply.Null();
            return;
        }
        c.Reply.Integer(RedisDatabase.CostOf(key, c.Db.ObjectAt(key.Slot)));
    }

    /// <summary>MEMORY STATS: the fields of redis's that the accounting knows (allocator internals are left out).</summary>
    private static void Stats(ref CommandContext c)
    {
        var server = c.Server;
        var memory = server.Memory;
        long used = memory.Used;
        long peak = memory.UpdatePeak(used);
        long rss = Environment.WorkingSet;
        var dbs = server.Databases.Where(db => db.Count > 0).ToList();
        long overhead = memory.Overhead;
        long keys = 0;
        foreach (var db in server.Databases)
        {
            overhead += db.MainTableBytes + db.ExpiresTableBytes;
            keys += db.Count;
        }
        long dataset = used - overhead;
        var r = c.Reply;
        r.MapHeader(15 + dbs.Count);
        r.Bulk("peak.allocated"u8); r.Integer(peak);
        r.Bulk("total.allocated"u8); r.Integer(used);
        r.Bulk("startup.allocated"u8); r.Integer(0);
        r.Bulk("replication.backlog"u8); r.Integer(server.Replication.BacklogMemory);
        r.Bulk("clients.slaves"u8); r.Integer(memory.ClientsReplicas);
        r.Bulk("clients.normal"u8); r.Integer(memory.ClientsNormal);
        foreach (var db in dbs)
        {
            r.Bulk(string.Create(CultureInfo.InvariantCulture, $"db.{db.Index}"));
            r.MapHeader(2);
            r.Bulk("overhead.hashtable.main"u8); r.Integer(db.MainTableBytes);
            r.Bulk("overhead.hashtable.expires"u8); r.Integer(db.ExpiresTableBytes);
        }
        r.Bulk("overhead.total"u8); r.Integer(overhead);
        r.Bulk("keys.count"u8); r.Integer(keys);
        r.Bulk("keys.bytes-per-key"u8); r.Integer(keys == 0 ? 0 : dataset / keys);
        r.Bulk("dataset.bytes"u8); r.Integer(dataset);
        r.Bulk("dataset.percentage"u8); r.Double(used == 0 ? 0 : dataset * 100.0 / used);
        r.Bulk("peak.percentage"u8); r.Double(peak == 0 ? 0 : used * 100.0 / peak);
        r.Bulk("rss"u8); r.Integer(rss);
        r.Bulk("fragmentation"u8); r.Double(used == 0 ? 0 : rss / (double)used);
        r.Bulk("fragmentation.bytes"u8); r.Integer(rss - used);
    }

    private const long EmptyBelow = 5L << 20;

    /// <summary>MEMORY DOCTOR: redis's report, with the checks the accounting can make (peak, RSS against used
    /// memory, client buffers, cached scripts); the allocator-internal ones have no counterpart here.</summary>
    private static void Doctor(ref CommandContext c)
    {
        var server = c.Server;
        var memory = server.Memory;
        long used = memory.Used;
        long peak = memory.UpdatePeak(used);
        long rss = Environment.WorkingSet;
        bool empty = used < EmptyBelow;
        bool bigPeak = used > 0 && (double)peak / used > 1.5;
        bool highFrag = used > 0 && rss / (double)used > 1.4 && rss - used > 10 << 20;
        long clients = server.Clients.Count;
        long clientOutput = 0;
        foreach (var session in server.Clients) clientOutput += session.OutputMemory;
        bool bigClients = clients > 0 && clientOutput / clients > 1024 * 200;
        int reports = empty ? 1 : (bigPeak ? 1 : 0) + (highFrag ? 1 : 0) + (bigClients ? 1 : 0);
        string text;
        if (reports == 0)
            text = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
        else if (empty)
            text = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
        else
        {
            var s = new StringBuilder("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
            if (bigPeak)
                s.Append(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
            if (highFrag)
                s.Append(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"dotnet-gc\".\n\n");
            if (bigClients)
                s.Append(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
            s.Append("I'm here to keep you safe, Sam. I want to help you.\n");
            text = s.ToString();
        }
        c.Reply.Verbatim("txt"u8, Encoding.ASCII.GetBytes(text));
    }

    /// <summary>MEMORY MALLOC-STATS: redis's answer for an allocator without a statistics report.</summary>
    private static void MallocStats(ref CommandContext c) => c.Reply.Verbatim("txt"u8, "Stats not supported for the current allocator"u8);

    /// <summary>MEMORY PURGE: what "give dirty pages back" means for the GC: a full, compacting collection.</summary>
    private static void Purge(ref CommandContext c)
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        c.Reply.Ok();
    }

    private static void Help(ref CommandContext c) => DiagnosticsCommands.ReplyHelp(ref c, "MEMORY",
    [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ]);
}
