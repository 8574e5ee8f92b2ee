using Demikernel.Runtime;

namespace Demikernel.Server.Cluster;

/// <summary>What this node knows of one cluster node (cluster.h clusterNode), itself included.</summary>
internal sealed class ClusterNode(string name, ClusterNodeFlags flags, long nowMs)
{
    public string Name { get; set; } = name;
    public ClusterNodeFlags Flags { get; set; } = flags;
    public long CreatedMs { get; } = nowMs;
    public string Ip { get; set; } = "";
    public int Port { get; set; }
    public int PlaintextPort { get; set; }
    public int ClusterPort { get; set; }
    public string? Hostname { get; set; }
    public ulong ConfigEpoch { get; set; }

    /// <summary>The slots it serves (a master), slot s at bit s % 8 of byte s / 8, as the bus carries them.</summary>
    public byte[] Slots { get; } = new byte[ClusterMessage.SlotBytes];
    public int SlotCount { get; set; }
    public ClusterNode? Master { get; set; }
    public List<ClusterNode> Replicas { get; } = [];

    /// <summary>Unix milliseconds of our pending PING (0: none), the last PONG, the last data at all.</summary>
    public long PingSent { get; set; }
    public long PongReceived { get; set; }
    public long DataReceived { get; set; }
    public long FailTime { get; set; }
    public long VotedTime { get; set; }
    public long ReplOffset { get; set; }

    /// <summary>Masters that reported it PFAIL or FAIL in their gossip, and when (clusterNodeFailReport).</summary>
    public List<(ClusterNode Reporter, long TimeMs)> FailReports { get; } = [];

    /// <summary>Our connection to its bus (outbound) and its connection to ours (inbound).</summary>
    public ClusterLink? Link { get; set; }
    public ClusterLink? InboundLink { get; set; }

    /// <summary>In a PING's gossip already (clusterSendPing's last_in_ping_gossip).</summary>
    public long LastInPingGossip { get; set; }

    public bool IsMaster => (Flags & ClusterNodeFlags.Master) != 0;
    public bool IsReplica => (Flags & ClusterNodeFlags.Slave) != 0;
    public bool IsMyself => (Flags & ClusterNodeFlags.Myself) != 0;
    public bool InHandshake => (Flags & ClusterNodeFlags.Handshake) != 0;
    public bool HasAddress => (Flags & ClusterNodeFlags.NoAddr) == 0;
    public bool TimedOut => (Flags & ClusterNodeFlags.PFail) != 0;
    public bool Failed => (Flags & ClusterNodeFlags.Fail) != 0;

    public bool HasSlot(int slot) => (Slots[slot >> 3] & (1 << (slot & 7))) != 0;

    public bool SetSlot(int slot)
    {
        if (HasSlot(slot)) return false;
        Slots[slot >> 3] |= (byte)(1 << (slot & 7));
        SlotCount++;
        return true;
    }

    public bool ClearSlot(int slot)
    {
        if (!HasSlot(slot)) return false;
        Slots[slot >> 3] &= (byte)~(1 << (slot & 7));
        SlotCount--;
        return true;
    }

    /// <summary>Owned slots as inclusive ranges.</summary>
    public List<(int Start, int End)> SlotRanges()
    {
        var ranges = new List<(int, int)>();
        int start = -1;
        for (int j = 0; j <= HashSlot.Count; j++)
        {
            bool has = j < HashSlot.Count && HasSlot(j);
            if (has && start < 0) start = j;
            if (!has && start >= 0)
            {
                ranges.Add((start, j - 1));
                start = -1;
            }
        }
        return ranges;
    }
}

/// <summary>One bus connection (cluster.h clusterLink): outbound ones are ours to a node, inbound ones are a node's
/// to our listener (their node is learnt from the first message naming a known sender).</summary>
internal sealed class ClusterLink(QDesc qd, ClusterNode? node, bool inbound, long nowMs)
{
    public QDesc Qd { get; set; } = qd;
    public ClusterNode? Node { get; set; } = node;
    public bool Inbound { get; } = inbound;
    public long CreatedMs { get; } = nowMs;

    /// <summary>The peer's address (an inbound link's accepted address, an outbound link's node address).</summary>
    public InetEndpoint Peer { get; set; }
    public bool Closed { get; set; }
    public bool Connected { get; set; }
}
