using System.Globalization;
using System.Text;

namespace Demikernel.Server.Persistence;

/// <summary>INFO persistence, field for field as redis-server 7.0 prints it, from what really happened.</summary>
internal static class PersistenceInfo
{
    public static void Append(StringBuilder sb, RedisServer server, long nowMs)
    {
        var p = server.Persistence;
        var aof = p.Aof;
        var snapshot = p.ActiveSnapshot;
        var ci = CultureInfo.InvariantCulture;
        void Line(string name, object value) => sb.Append(name).Append(':').Append(Convert.ToString(value, ci)).Append("\r\n");
        sb.Append("# Persistence\r\n");
        Line("loading", server.Loading is null ? 0 : 1);
        Line("async_loading", 0);
        // No fork: "copy-on-write" is what a running snapshot serialized ahead of its walk for keys changed meanwhile.
        Line("current_cow_peak", snapshot?.PreservedBytes ?? 0);
        Line("current_cow_size", snapshot?.PreservedBytes ?? 0);
        Line("current_cow_size_age", 0);
        Line("current_fork_perc", snapshot is null || snapshot.KeysTotal == 0 ? "0.00" : (100.0 * snapshot.KeysWritten / snapshot.KeysTotal).ToString("F2", ci));
        Line("current_save_keys_processed", snapshot?.KeysWritten ?? 0);
        Line("current_save_keys_total", snapshot?.KeysTotal ?? 0);
        Line("rdb_changes_since_last_save", p.Dirty);
        Line("rdb_bgsave_in_progress", p.BgsaveInProgress ? 1 : 0);
        Line("rdb_last_save_time", p.LastSaveUnix);
        Line("rdb_last_bgsave_status", p.LastBgsaveOk ? "ok" : "err");
        Line("rdb_last_bgsave_time_sec", p.LastBgsaveDurationSec);
        Line("rdb_current_bgsave_time_sec", p.Bgsave is { } job ? (nowMs - job.StartedMs) / 1000 : -1);
        Line("rdb_saves", p.RdbSaves);
        Line("rdb_last_cow_size", p.LastPreservedBytes);
        Line("rdb_last_load_keys_expired", p.LastLoadKeysExpired);
        Line("rdb_last_load_keys_loaded", p.LastLoadKeysLoaded);
        Line("aof_enabled", aof.Enabled ? 1 : 0);
        Line("aof_rewrite_in_progress", aof.RewriteInProgress ? 1 : 0);
        Line("aof_rewrite_scheduled", aof.RewriteScheduled ? 1 : 0);
        Line("aof_last_rewrite_time_sec", aof.LastRewriteDurationSec);
        Line("aof_current_rewrite_time_sec", aof.RewriteInProgress ? (nowMs - aof.RewriteStartedMs) / 1000 : -1);
        Line("aof_last_bgrewrite_status", aof.LastRewriteOk ? "ok" : "err");
        Line("aof_rewrites", aof.Rewrites);
        Line("aof_rewrites_consecutive_failures", aof.RewriteFailuresInARow);
        Line("aof_last_write_status", aof.WriteError is null ? "ok" : "err");
        Line("aof_last_cow_size", 0);
        Line("module_fork_in_progress", 0);
        Line("module_fork_last_cow_size", 0);
        if (aof.Enabled)
        {
            Line("aof_current_size", aof.CurrentSize);
            Line("aof_base_size", aof.BaseSize);
            Line("aof_pending_rewrite", aof.RewriteScheduled ? 1 : 0);
            Line("aof_buffer_length", aof.BufferLength);
            Line("aof_pending_bio_fsync", aof.FsyncPending ? 1 : 0);
            Line("aof_delayed_fsync", 0);
        }
        server.Loading?.AppendInfo(sb);
    }
}
