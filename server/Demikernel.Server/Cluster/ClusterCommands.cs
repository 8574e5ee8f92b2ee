using System.Globalization;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Cluster;

/// <summary>
/// CLUSTER's subcommands, ASKING, READONLY, READWRITE and the dispatcher's key routing (cluster.c clusterCommand,
/// getNodeByQuery, clusterRedirectClient), with redis-server 7.0.15's replies and error texts. Without
/// cluster-enabled every one answers "ERR This instance has cluster support disabled", as redis-server does.
/// </summary>
internal static class ClusterCommands
{
    /// <summary>The handler of CLUSTER &lt;sub&gt; (sub lower-case, as commands.json names it).</summary>
    public static CommandHandler For(string sub) => sub switch
    {
        "help" => Help, "meet" => Meet, "nodes" => Nodes, "myid" => MyId, "slots" => SlotsReply, "shards" => Shards,
        "flushslots" => FlushSlots, "addslots" => AddSlots, "delslots" => AddSlots, "addslotsrange" => AddSlotsRange,
        "delslotsrange" => AddSlotsRange, "setslot" => SetSlot, "bumpepoch" => BumpEpoch, "info" => Info,
        "saveconfig" => SaveConfig, "keyslot" => KeySlot, "countkeysinslot" => CountKeysInSlot,
        "getkeysinslot" => GetKeysInSlot, "forget" => Forget, "replicate" => Replicate, "slaves" => Replicas,
        "replicas" => Replicas, "count-failure-reports" => CountFailureReports, "failover" => Failover,
        "set-config-epoch" => SetConfigEpoch, "reset" => Reset, "links" => Links,
        _ => Disabled,
    };

    public static void Disabled(ref CommandContext c) => c.Reply.Error(Errors.ClusterDisabled);

    private static bool Enabled(ref CommandContext c, out ClusterManager cluster)
    {
        cluster = c.Server.Cluster!;
        if (cluster is not null) return true;
        c.Reply.Error(Errors.ClusterDisabled);
        return false;
    }

    public static void Asking(ref CommandContext c)
    {
        if (!Enabled(ref c, out _)) return;
        c.Client.Asking = true;
        c.Reply.Ok();
    }

    public static void ReadOnly(ref CommandContext c)
    {
        if (!Enabled(ref c, out _)) return;
        c.Client.ClusterReadOnly = true;
        c.Reply.Ok();
    }

    public static void ReadWrite(ref CommandContext c)
    {
        if (!Enabled(ref c, out _)) return;
        c.Client.ClusterReadOnly = false;
        c.Reply.Ok();
    }

    private static readonly string[] HelpLines =
    [
        "ADDSLOTS <slot> [<slot> ...]", "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]", "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH", "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>", "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]", "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]", "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
        "FORGET <node-id>", "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS", "    Delete current node own slots information.",
        "INFO", "    Return information about the cluster.",
        "KEYSLOT <key>", "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
        "MYID", "    Return the node id.",
        "NODES", "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]", "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>", "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)", "    Set slot state.",
        "REPLICAS <node-id>", "    Return <node-id> replicas.",
        "SAVECONFIG", "    Force saving cluster configuration on disk.",
        "SLOTS", "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS", "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS", "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
    ];

    private static void Help(ref CommandContext c)
    {
        if (!Enabled(ref c, out _)) return;
        Diagnostics.DiagnosticsCommands.ReplyHelp(ref c, "CLUSTER", HelpLines);
    }

    private static void Meet(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (c.Count is not (4 or 5))
        {
            c.Reply.Error(Errors.WrongArgCount("cluster|meet"));
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(3), out long port))
        {
            c.Reply.Error($"ERR Invalid TCP base port specified: {c.ArgString(3)}");
            return;
        }
        long cport = port + 10000;
        if (c.Count == 5 && !RedisNumbers.TryParseInt64(c.Arg(4), out cport))
        {
            c.Reply.Error($"ERR Invalid TCP bus port specified: {c.ArgString(4)}");
            return;
        }
        if (!cluster.StartHandshake(c.ArgString(2), port, cport))
        {
            c.Reply.Error($"ERR Invalid node address specified: {c.ArgString(2)}:{c.ArgString(3)}");
            return;
        }
        c.Reply.Ok();
    }

    private static string NodesText(ClusterManager cluster)
    {
        var sb = new StringBuilder();
        foreach (var n in cluster.Nodes) sb.Append(NodesConfig.FormatNode(cluster.Describe(n))).Append('\n');
        return sb.ToString();
    }

    private static void Nodes(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(NodesText(cluster)));
    }

    private static void MyId(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        c.Reply.Bulk(cluster.Myself.Name);
    }

    /// <summary>isReplicaAvailable: not FAILed, and with some replication offset.</summary>
    private static bool ReplicaAvailable(ClusterNode n, RedisServer server)
    {
        if (n.Failed) return false;
        long offset = n.IsMyself ? server.Replication.Master?.ReplOffset ?? 0 : n.ReplOffset;
        return offset != 0;
    }

    private static void NodeEntry(ref CommandContext c, ClusterNode n)
    {
        c.Reply.ArrayHeader(4);
        c.Reply.Bulk(n.Ip);
        c.Reply.Integer(n.Port);
        c.Reply.Bulk(n.Name);
        if (n.Hostname is { Length: > 0 } h)
        {
            c.Reply.MapHeader(1);
            c.Reply.Bulk("hostname");
            c.Reply.Bulk(h);
        }
        else c.Reply.MapHeader(0);
    }

    /// <summary>CLUSTER SLOTS: each range of consecutive slots of one master, the master, then its available replicas.</summary>
    private static void SlotsReply(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        var ranges = new List<(int Start, int End, ClusterNode Node)>();
        int start = -1;
        for (int j = 0; j <= HashSlot.Count; j++)
        {
            var owner = j < HashSlot.Count ? cluster.Slots[j] : null;
            if (start >= 0 && (j == HashSlot.Count || owner != cluster.Slots[start]))
            {
                ranges.Add((start, j - 1, cluster.Slots[start]!));
                start = -1;
            }
            if (owner is not null && start < 0) start = j;
        }
        c.Reply.ArrayHeader(ranges.Count);
        foreach (var (s, e, node) in ranges)
        {
            var server = c.Server;
            var replicas = node.Replicas.Where(r => ReplicaAvailable(r, server)).ToArray();
            c.Reply.ArrayHeader(3 + replicas.Length);
            c.Reply.Integer(s);
            c.Reply.Integer(e);
            NodeEntry(ref c, node);
            foreach (var r in replicas) NodeEntry(ref c, r);
        }
    }

    /// <summary>CLUSTER SHARDS: per master, its slot ranges and its nodes with their details.</summary>
    private static void Shards(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        // every master (clusterReplyShards), with its replicas
        var masters = cluster.Nodes.Where(n => n.IsMaster).ToArray();
        c.Reply.ArrayHeader(masters.Length);
        foreach (var m in masters)
        {
            c.Reply.MapHeader(2);
            c.Reply.Bulk("slots");
            var ranges = m.SlotRanges();
            c.Reply.ArrayHeader(ranges.Count * 2);
            foreach (var (s, e) in ranges)
            {
                c.Reply.Integer(s);
                c.Reply.Integer(e);
            }
            c.Reply.Bulk("nodes");
            c.Reply.ArrayHeader(1 + m.Replicas.Count);
            ShardNode(ref c, cluster, m);
            foreach (var r in m.Replicas) ShardNode(ref c, cluster, r);
        }
    }

    private static void ShardNode(ref CommandContext c, ClusterManager cluster, ClusterNode n)
    {
        bool hostname = n.Hostname is { Length: > 0 };
        c.Reply.MapHeader(6 + (hostname ? 1 : 0) + (n.Port != 0 ? 1 : 0));
        c.Reply.Bulk("id");
        c.Reply.Bulk(n.Name);
        if (n.Port != 0)
        {
            c.Reply.Bulk("port");
            c.Reply.Integer(n.Port);
        }
        c.Reply.Bulk("ip");
        c.Reply.Bulk(n.Ip);
        c.Reply.Bulk("endpoint");
        c.Reply.Bulk(n.Ip);
        if (hostname)
        {
            c.Reply.Bulk("hostname");
            c.Reply.Bulk(n.Hostname!);
        }
        c.Reply.Bulk("role");
        c.Reply.Bulk(n.IsReplica ? "replica" : "master");
        long offset = n.IsMyself ? (n.IsReplica ? c.Server.Replication.Master?.ReplOffset ?? 0 : c.Server.Replication.MasterReplOffset) : n.ReplOffset;
        c.Reply.Bulk("replication-offset");
        c.Reply.Integer(offset);
        c.Reply.Bulk("health");
        string health = n.Failed ? "fail" : n.IsReplica && offset == 0 ? "loading" : "online";
        c.Reply.Bulk(health);
    }

    private static void FlushSlots(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (c.Server.Databases[0].Count != 0)
        {
            c.Reply.Error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
            return;
        }
        for (int j = 0; j < HashSlot.Count; j++)
            if (cluster.Slots[j] == cluster.Myself) cluster.DeleteSlot(j);
        Done(ref c, cluster);
    }

    private static void Done(ref CommandContext c, ClusterManager cluster)
    {
        cluster.RequestSave();
        cluster.RequestUpdateState();
        cluster.Flush();
        c.Reply.Ok();
    }

    /// <summary>CLUSTER SETSLOT's node argument: a known master, or null after redis's error reply.</summary>
    private static ClusterNode? MasterNamedOrReply(ref CommandContext c, ClusterManager cluster, int index)
    {
        if (cluster.Lookup(c.Arg(index)) is not { } n)
        {
            c.Reply.Error($"ERR I don't know about node {c.ArgString(index)}");
            return null;
        }
        if (n.IsReplica)
        {
            c.Reply.Error("ERR Target node is not a master");
            return null;
        }
        return n;
    }

    private static int SlotOrReply(ref CommandContext c, int index)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(index), out long slot) || slot is < 0 or >= HashSlot.Count)
        {
            c.Reply.Error("ERR Invalid or out of range slot");
            return -1;
        }
        return (int)slot;
    }

    private static bool CheckAssignments(ref CommandContext c, ClusterManager cluster, byte[] marks, bool del, int start, int end)
    {
        for (int s = start; s <= end; s++)
        {
            if (del && cluster.Slots[s] is null)
            {
                c.Reply.Error($"ERR Slot {s} is already unassigned");
                return false;
            }
            if (!del && cluster.Slots[s] is not null)
            {
                c.Reply.Error($"ERR Slot {s} is already busy");
                return false;
            }
            if (marks[s]++ == 1)
            {
                c.Reply.Error($"ERR Slot {s} specified multiple times");
                return false;
            }
        }
        return true;
    }

    private static void UpdateSlots(ClusterManager cluster, byte[] marks, bool del)
    {
        for (int j = 0; j < HashSlot.Count; j++)
        {
            if (marks[j] == 0) continue;
            cluster.ImportingFrom[j] = null; // now the real owner (or nobody)
            if (del) cluster.DeleteSlot(j);
            else cluster.AddSlot(cluster.Myself, j);
        }
    }

    private static void AddSlots(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        bool del = c.ArgIs(1, "DELSLOTS"u8);
        var marks = new byte[HashSlot.Count];
        for (int j = 2; j < c.Count; j++)
            if (SlotOrReply(ref c, j) < 0) return;
        for (int j = 2; j < c.Count; j++)
        {
            int slot = SlotOrReply(ref c, j);
            if (!CheckAssignments(ref c, cluster, marks, del, slot, slot)) return;
        }
        UpdateSlots(cluster, marks, del);
        Done(ref c, cluster);
    }

    private static void AddSlotsRange(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        bool del = c.ArgIs(1, "DELSLOTSRANGE"u8);
        if (c.Count % 2 == 1)
        {
            c.Reply.Error(Errors.WrongArgCount(del ? "cluster|delslotsrange" : "cluster|addslotsrange"));
            return;
        }
        var marks = new byte[HashSlot.Count];
        for (int j = 2; j < c.Count; j += 2)
        {
            int start = SlotOrReply(ref c, j);
            if (start < 0) return;
            int end = SlotOrReply(ref c, j + 1);
            if (end < 0) return;
            if (start > end)
            {
                c.Reply.Error($"ERR start slot number {start} is greater than end slot number {end}");
                return;
            }
            if (!CheckAssignments(ref c, cluster, marks, del, start, end)) return;
        }
        UpdateSlots(cluster, marks, del);
        Done(ref c, cluster);
    }

    private static void SetSlot(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (cluster.Myself.IsReplica)
        {
            c.Reply.Error("ERR Please use SETSLOT only with masters.");
            return;
        }
        int slot = SlotOrReply(ref c, 2);
        if (slot < 0) return;
        var me = cluster.Myself;
        if (c.ArgIs(3, "MIGRATING"u8) && c.Count == 5)
        {
            if (cluster.Slots[slot] != me)
            {
                c.Reply.Error($"ERR I'm not the owner of hash slot {slot}");
                return;
            }
            if (MasterNamedOrReply(ref c, cluster, 4) is not { } n) return;
            cluster.MigratingTo[slot] = n;
        }
        else if (c.ArgIs(3, "IMPORTING"u8) && c.Count == 5)
        {
            if (cluster.Slots[slot] == me)
            {
                c.Reply.Error($"ERR I'm already the owner of hash slot {slot}");
                return;
            }
            if (MasterNamedOrReply(ref c, cluster, 4) is not { } n) return;
            cluster.ImportingFrom[slot] = n;
        }
        else if (c.ArgIs(3, "STABLE"u8) && c.Count == 4)
        {
            cluster.ImportingFrom[slot] = null;
            cluster.MigratingTo[slot] = null;
        }
        else if (c.ArgIs(3, "NODE"u8) && c.Count == 5)
        {
            if (cluster.Lookup(c.Arg(4)) is not { } n)
            {
                c.Reply.Error($"ERR Unknown node {c.ArgString(4)}");
                return;
            }
            if (n.IsReplica)
            {
                c.Reply.Error("ERR Target node is not a master");
                return;
            }
            int keys = cluster.Keys.Count(slot);
            if (cluster.Slots[slot] == me && n != me && keys != 0)
            {
                c.Reply.Error($"ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot.");
                return;
            }
            if (keys == 0 && cluster.MigratingTo[slot] is not null) cluster.MigratingTo[slot] = null;
            bool wasMine = cluster.Slots[slot] == me;
            cluster.DeleteSlot(slot);
            cluster.AddSlot(n, slot);
            if (wasMine && n != me && me.SlotCount == 0 && c.Server.Config.ClusterAllowReplicaMigration)
            {
                c.Server.Log.BecomingReplica(n.Name);
                cluster.SetMyMaster(n);
            }
            if (n == me && cluster.ImportingFrom[slot] is not null)
            {
                cluster.BumpEpochWithoutConsensus();
                cluster.ImportingFrom[slot] = null;
                cluster.BroadcastPong();
            }
        }
        else
        {
            c.Reply.Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
            return;
        }
        Done(ref c, cluster);
    }

    private static void BumpEpoch(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        bool bumped = cluster.BumpEpochWithoutConsensus();
        c.Reply.SimpleString(string.Create(CultureInfo.InvariantCulture, $"{(bumped ? "BUMPED" : "STILL")} {cluster.Myself.ConfigEpoch}"));
    }

    private static readonly string[] MessageTypeNames =
        ["ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"];

    /// <summary>CLUSTER INFO's text (also INFO's view of the cluster).</summary>
    public static string InfoText(ClusterManager cluster)
    {
        int assigned = 0, ok = 0, pfail = 0, fail = 0;
        foreach (var n in cluster.Slots)
        {
            if (n is null) continue;
            assigned++;
            if (n.Failed) fail++;
            else if (n.TimedOut) pfail++;
            else ok++;
        }
        var me = cluster.Myself;
        ulong myEpoch = me.IsReplica && me.Master is not null ? me.Master.ConfigEpoch : me.ConfigEpoch;
        var sb = new StringBuilder();
        var ic = CultureInfo.InvariantCulture;
        sb.Append(ic, $"cluster_state:{(cluster.State == ClusterManager.StateOk ? "ok" : "fail")}\r\n");
        sb.Append(ic, $"cluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{ok}\r\ncluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\n");
        sb.Append(ic, $"cluster_known_nodes:{cluster.Nodes.Count}\r\ncluster_size:{cluster.Size}\r\n");
        sb.Append(ic, $"cluster_current_epoch:{cluster.CurrentEpoch}\r\ncluster_my_epoch:{myEpoch}\r\n");
        long sent = 0, received = 0;
        for (int i = 0; i < MessageTypeNames.Length; i++)
        {
            if (cluster.MessagesSent[i] == 0) continue;
            sent += cluster.MessagesSent[i];
            sb.Append(ic, $"cluster_stats_messages_{MessageTypeNames[i]}_sent:{cluster.MessagesSent[i]}\r\n");
        }
        sb.Append(ic, $"cluster_stats_messages_sent:{sent}\r\n");
        for (int i = 0; i < MessageTypeNames.Length; i++)
        {
            if (cluster.MessagesReceived[i] == 0) continue;
            received += cluster.MessagesReceived[i];
            sb.Append(ic, $"cluster_stats_messages_{MessageTypeNames[i]}_received:{cluster.MessagesReceived[i]}\r\n");
        }
        sb.Append(ic, $"cluster_stats_messages_received:{received}\r\n");
        sb.Append("total_cluster_links_buffer_limit_exceeded:0\r\n");
        return sb.ToString();
    }

    private static void Info(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(InfoText(cluster)));
    }

    private static void SaveConfig(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (cluster.SaveConfig(fsync: true) is { } error) c.Reply.Error($"ERR error saving the cluster node config: {error}");
        else c.Reply.Ok();
    }

    private static void KeySlot(ref CommandContext c)
    {
        if (!Enabled(ref c, out _)) return;
        c.Reply.Integer(HashSlot.Of(c.Arg(2)));
    }

    private static void CountKeysInSlot(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long slot))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (slot is < 0 or >= HashSlot.Count)
        {
            c.Reply.Error("ERR Invalid slot");
            return;
        }
        c.Reply.Integer(cluster.Keys.Count((int)slot));
    }

    private static void GetKeysInSlot(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long slot) || !RedisNumbers.TryParseInt64(c.Arg(3), out long max))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (slot is < 0 or >= HashSlot.Count || max < 0)
        {
            c.Reply.Error("ERR Invalid slot or number of keys");
            return;
        }
        var keys = cluster.Keys.KeysIn((int)slot, max).ToArray();
        c.Reply.ArrayHeader(keys.Length);
        foreach (var k in keys) c.Reply.Bulk(k);
    }

    private static void Forget(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (cluster.Lookup(c.Arg(2)) is not { } n)
        {
            c.Reply.Error($"ERR Unknown node {c.ArgString(2)}");
            return;
        }
        if (n == cluster.Myself)
        {
            c.Reply.Error("ERR I tried hard but I can't forget myself...");
            return;
        }
        if (cluster.Myself.IsReplica && cluster.Myself.Master == n)
        {
            c.Reply.Error("ERR Can't forget my master!");
            return;
        }
        cluster.Forget(n);
        Done(ref c, cluster);
    }

    private static void Replicate(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (cluster.Lookup(c.Arg(2)) is not { } n)
        {
            c.Reply.Error($"ERR Unknown node {c.ArgString(2)}");
            return;
        }
        if (n == cluster.Myself)
        {
            c.Reply.Error("ERR Can't replicate myself");
            return;
        }
        if (n.IsReplica)
        {
            c.Reply.Error("ERR I can only replicate a master, not a replica.");
            return;
        }
        if (cluster.Myself.IsMaster && (cluster.Myself.SlotCount != 0 || c.Server.Databases[0].Count != 0))
        {
            c.Reply.Error("ERR To set a master the node must be empty and without assigned slots.");
            return;
        }
        cluster.SetMyMaster(n);
        Done(ref c, cluster);
    }

    private static void Replicas(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (cluster.Lookup(c.Arg(2)) is not { } n)
        {
            c.Reply.Error($"ERR Unknown node {c.ArgString(2)}");
            return;
        }
        if (n.IsReplica)
        {
            c.Reply.Error("ERR The specified node is not a master");
            return;
        }
        c.Reply.ArrayHeader(n.Replicas.Count);
        foreach (var r in n.Replicas) c.Reply.Bulk(NodesConfig.FormatNode(cluster.Describe(r)));
    }

    private static void CountFailureReports(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (cluster.Lookup(c.Arg(2)) is not { } n)
        {
            c.Reply.Error($"ERR Unknown node {c.ArgString(2)}");
            return;
        }
        c.Reply.Integer(cluster.ValidFailReports(n));
    }

    private static void Failover(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        bool force = false, takeover = false;
        if (c.Count == 3)
        {
            if (c.ArgIs(2, "FORCE"u8)) force = true;
            else if (c.ArgIs(2, "TAKEOVER"u8)) force = takeover = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var me = cluster.Myself;
        if (me.IsMaster)
        {
            c.Reply.Error("ERR You should send CLUSTER FAILOVER to a replica");
            return;
        }
        if (me.Master is null)
        {
            c.Reply.Error("ERR I'm a replica but my master is unknown to me");
            return;
        }
        if (!force && (me.Master.Failed || me.Master.Link is null))
        {
            c.Reply.Error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
            return;
        }
        cluster.StartManualFailover(force, takeover);
        c.Reply.Ok();
    }

    private static void SetConfigEpoch(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long epoch))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (epoch < 0) c.Reply.Error($"ERR Invalid config epoch specified: {epoch}");
        else if (cluster.Nodes.Count > 1) c.Reply.Error("ERR The user can assign a config epoch only when the node does not know any other node.");
        else if (cluster.Myself.ConfigEpoch != 0) c.Reply.Error("ERR Node config epoch is already non-zero");
        else
        {
            cluster.Myself.ConfigEpoch = (ulong)epoch;
            c.Server.Log.EpochSet((ulong)epoch);
            if (cluster.CurrentEpoch < (ulong)epoch) cluster.CurrentEpoch = (ulong)epoch;
            Done(ref c, cluster);
        }
    }

    private static void Reset(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        bool hard = false;
        if (c.Count == 3)
        {
            if (c.ArgIs(2, "HARD"u8)) hard = true;
            else if (!c.ArgIs(2, "SOFT"u8))
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (cluster.Myself.IsMaster && c.Server.Databases[c.Client.Database].Count != 0)
        {
            c.Reply.Error("ERR CLUSTER RESET can't be called with master nodes containing keys");
            return;
        }
        cluster.Reset(hard);
        c.Reply.Ok();
    }

    /// <summary>CLUSTER LINKS: each open link (direction, node, creation time, events, buffers).</summary>
    private static void Links(ref CommandContext c)
    {
        if (!Enabled(ref c, out var cluster)) return;
        var links = new List<(ClusterLink Link, ClusterNode Node)>();
        foreach (var n in cluster.Nodes)
        {
            if (n.Link is { Closed: false } o) links.Add((o, n));
            if (n.InboundLink is { Closed: false } i) links.Add((i, n));
        }
        c.Reply.ArrayHeader(links.Count);
        foreach (var (link, node) in links)
        {
            c.Reply.MapHeader(6);
            c.Reply.Bulk("direction");
            c.Reply.Bulk(link.Inbound ? "from" : "to");
            c.Reply.Bulk("node");
            c.Reply.Bulk(node.Name);
            c.Reply.Bulk("create-time");
            c.Reply.Integer(link.CreatedMs);
            c.Reply.Bulk("events");
            c.Reply.Bulk(link.Inbound ? "r" : "rw");
            c.Reply.Bulk("send-buffer-allocated");
            c.Reply.Integer(0);
            c.Reply.Bulk("send-buffer-used");
            c.Reply.Integer(0);
        }
    }

    // ------------------------------------------------------------------ routing

    [ThreadStatic] private static List<(int Position, KeyFlags Flags)>? t_keys;

    /// <summary>
    /// processCommand's cluster redirection (getNodeByQuery + clusterRedirectClient): true when the command was
    /// answered with MOVED, ASK, CROSSSLOT, TRYAGAIN or CLUSTERDOWN instead of running here. Commands of our master's
    /// stream and commands without keys run. ASKING lasts one command.
    /// </summary>
    public static bool Redirects(ref CommandContext c, CommandSpec spec, ClusterManager cluster)
    {
        var client = c.Client;
        bool asking = client.Asking;
        if (!client.InMulti && spec.Name != "ASKING") client.Asking = false;
        if (client.MustObey || client.IsMaster) return false;
        if ((spec.Flags & CommandFlags.MovableKeys) == 0 && spec.KeySpecs.Count == 0) return false;
        bool pubsubShard = spec.Name is "SSUBSCRIBE" or "SUNSUBSCRIBE" or "SPUBLISH";
        var query = new SlotQuery(cluster, c.Server.Databases[0], pubsubShard);
        if (query.AddKeysOf(ref c, spec) is { } error)
        {
            c.Reply.Error(error);
            return true;
        }
        return Decide(ref c, ref query, spec.Flags, spec.Flags, asking, spec.Name == "MIGRATE");
    }

    /// <summary>
    /// getNodeByQuery for EXEC: the queued commands' keys together must be of one slot served here (each was checked
    /// alone when queued; commands of different slots meet only now). True when EXEC was answered with the redirection
    /// or error instead (the caller discards the transaction, as processCommand does).
    /// </summary>
    public static bool ExecRedirects(ref CommandContext c, ClusterManager cluster)
    {
        var client = c.Client;
        if (client.MustObey || client.IsMaster) return false;
        var query = new SlotQuery(cluster, c.Server.Databases[0], pubsubShard: false);
        CommandFlags queuedFlags = 0; // redis's mstate.cmd_flags: each queued command's getCommandFlags
        for (var queued = new QueuedCommands(ref c); queued.MoveNext();)
        {
            var spec = queued.Spec;
            queuedFlags |= queued.Flags;
            if ((spec.Flags & CommandFlags.MovableKeys) == 0 && spec.KeySpecs.Count == 0) continue;
            var call = new CommandContext(queued.Frame, queued.Args, client, c.Server, c.Reply) { FrameLength = queued.Length };
            if (query.AddKeysOf(ref call, spec) is { } error)
            {
                c.Reply.Error(error);
                return true;
            }
        }
        // getCommandFlags of EXEC is EXEC's own (no write) for the cluster-down check; a replica's READONLY client is
        // served only when no queued command writes (a queued script counting with its declared flags).
        return Decide(ref c, ref query, CommandFlags.None, queuedFlags, client.Asking, isMigrate: false);
    }

    /// <summary>The keys of one command, or of a transaction's commands, on their way to one slot (getNodeByQuery's
    /// loop). The first key is a view into its request, which outlives the query.</summary>
    private ref struct SlotQuery(ClusterManager cluster, Store.RedisDatabase db, bool pubsubShard)
    {
        public readonly bool PubsubShard = pubsubShard;
        public int Slot = -1;
        public ClusterNode? Owner;
        public bool MultipleKeys, Migrating, Importing;
        public int Missing, Existing;
        private ReadOnlySpan<byte> _first;

        /// <summary>Adds the command's keys: null, or the error that ends the query (CLUSTERDOWN, CROSSSLOT).</summary>
        public string? AddKeysOf(ref CommandContext c, CommandSpec spec)
        {
            var keys = t_keys ??= [];
            keys.Clear();
            KeyFinder.Find(spec, ref c, keys);
            foreach (var (pos, _) in keys)
            {
                var key = c.Arg(pos);
                int s = HashSlot.Of(key);
                if (Slot < 0)
                {
                    _first = key;
                    Slot = s;
                    Owner = cluster.Slots[s];
                    if (Owner is null) return "CLUSTERDOWN Hash slot not served";
                    if (Owner == cluster.Myself && cluster.MigratingTo[s] is not null) Migrating = true;
                    else if (cluster.ImportingFrom[s] is not null) Importing = true;
                }
                else if (!key.SequenceEqual(_first))
                {
                    if (s != Slot) return "CROSSSLOT Keys in request don't hash to the same slot";
                    MultipleKeys = true;
                }
                if ((Migrating || Importing) && !PubsubShard)
                {
                    if (db.IsLive(key)) Existing++;
                    else Missing++;
                }
            }
            return null;
        }
    }

    /// <summary>The rest of getNodeByQuery once the keys are in: <paramref name="flags"/> are the command's own
    /// (getCommandFlags), <paramref name="writeFlags"/> also a transaction's queued ones (is_write_command).</summary>
    private static bool Decide(ref CommandContext c, ref SlotQuery q, CommandFlags flags, CommandFlags writeFlags, bool asking, bool isMigrate)
    {
        if (q.Owner is null) return false; // no key at all
        var cluster = c.Server.Cluster!;
        int slot = q.Slot;
        if (cluster.State != ClusterManager.StateOk)
        {
            if (q.PubsubShard || !c.Server.Config.ClusterAllowReadsWhenDown)
            {
                c.Reply.Error("CLUSTERDOWN The cluster is down");
                return true;
            }
            if ((flags & CommandFlags.Write) != 0)
            {
                c.Reply.Error("CLUSTERDOWN The cluster is down and only accepts read commands");
                return true;
            }
        }
        if ((q.Migrating || q.Importing) && isMigrate) return false;
        if (q.Migrating && q.Missing > 0)
        {
            if (q.Existing > 0) c.Reply.Error("TRYAGAIN Multiple keys request during rehashing of slot");
            else Redirect(ref c, "ASK", slot, cluster.MigratingTo[slot]!);
            return true;
        }
        if (q.Importing && (asking || (flags & CommandFlags.Asking) != 0))
        {
            if (q.MultipleKeys && q.Missing > 0)
            {
                c.Reply.Error("TRYAGAIN Multiple keys request during rehashing of slot");
                return true;
            }
            return false;
        }
        if ((c.Client.ClusterReadOnly || q.PubsubShard) && (writeFlags & CommandFlags.Write) == 0 && cluster.Myself.IsReplica && cluster.Myself.Master == q.Owner)
            return false;
        if (q.Owner == cluster.Myself) return false;
        Redirect(ref c, "MOVED", slot, q.Owner);
        return true;
    }

    private static void Redirect(ref CommandContext c, string kind, int slot, ClusterNode n) =>
        c.Reply.Error(string.Create(CultureInfo.InvariantCulture, $"{kind} {slot} {n.Ip}:{n.Port}"));
}
