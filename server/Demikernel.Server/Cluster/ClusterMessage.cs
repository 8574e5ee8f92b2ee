using System.Buffers.Binary;
using System.Text;

namespace Demikernel.Server.Cluster;

/// <summary>clusterMsg's type field (cluster.h CLUSTERMSG_TYPE_*).</summary>
internal enum ClusterMessageType : ushort
{
    Ping = 0,
    Pong = 1,
    Meet = 2,
    Fail = 3,
    Publish = 4,
    FailoverAuthRequest = 5,
    FailoverAuthAck = 6,
    Update = 7,
    MfStart = 8,
    Module = 9,
    PublishShard = 10,
}

/// <summary>A node's flags as the bus carries them (cluster.h CLUSTER_NODE_*).</summary>
[Flags]
internal enum ClusterNodeFlags : ushort
{
    None = 0,
    Master = 1,
    Slave = 2,
    PFail = 4,
    Fail = 8,
    Myself = 16,
    Handshake = 32,
    NoAddr = 64,
    Meet = 128,
    MigrateTo = 256,
    NoFailover = 512,
}

/// <summary>One gossip entry of a PING, PONG or MEET (clusterMsgDataGossip, 104 bytes): what the sender knows of
/// another node. Times are whole seconds, as the bus carries them.</summary>
internal readonly record struct ClusterGossip(string NodeName, uint PingSentSeconds, uint PongReceivedSeconds, string Ip,
    ushort Port, ushort ClusterPort, ClusterNodeFlags Flags, ushort PlaintextPort);

/// <summary>
/// Redis Cluster's bus message (cluster.h clusterMsg, protocol version 1, as redis-server 7.0 writes and reads it):
/// a fixed 2256-byte header (signature "RCmb", lengths, ports, epochs and offset in network byte order; the sender's
/// name, its slot bitmap, its master's name, its announced IP) followed by the type's data. This is the header and the
/// PING/PONG/MEET data (gossip entries and the hostname extension), FAIL and UPDATE.
/// <code>
///  0 sig "RCmb" | 4 totlen u32 | 8 ver u16 | 10 port u16 | 12 type u16 | 14 count u16 | 16 currentEpoch u64
/// 24 configEpoch u64 | 32 offset u64 | 40 sender[40] | 80 myslots[2048] | 2128 slaveof[40] | 2168 myip[46]
/// 2214 extensions u16 | 2216 notused[30] | 2246 pport u16 | 2248 cport u16 | 2250 flags u16 | 2252 state u8
/// 2253 mflags[3] | 2256 data: gossip[count] (104 bytes each) then extensions (8-byte aligned: length u32, type u16,
///                              unused u16, payload) | FAIL: nodename[40] | UPDATE: configEpoch u64, nodename[40], slots[2048]
/// </code>
/// </summary>
internal sealed record ClusterMessage
{
    public const int HeaderLength = 2256;    // CLUSTERMSG_MIN_LEN
    public const int GossipLength = 104;     // sizeof(clusterMsgDataGossip)
    public const int FailLength = 40;        // sizeof(clusterMsgDataFail)
    public const int UpdateLength = 2096;    // sizeof(clusterMsgDataUpdate)
    public const int NameLength = 40;        // CLUSTER_NAMELEN
    public const int IpLength = 46;          // NET_IP_STR_LEN
    public const int SlotBytes = HashSlot.Count / 8;
    public const ushort ProtocolVersion = 1;
    public const byte FlagExtensionData = 1 << 2; // CLUSTERMSG_FLAG0_EXT_DATA (mflags[0])
    public const ushort HostnameExtension = 0;    // CLUSTERMSG_EXT_TYPE_HOSTNAME

    public ClusterMessageType Type { get; init; }
    public ushort Port { get; init; }
    public ushort PlaintextPort { get; init; }
    public ushort ClusterPort { get; init; }
    public ulong CurrentEpoch { get; init; }
    public ulong ConfigEpoch { get; init; }
    public ulong Offset { get; init; }
    public string Sender { get; init; } = "";

    /// <summary>The sender's slots (its master's, for a replica): 2048 bytes, slot s at bit s % 8 of byte s / 8.</summary>
    public byte[] Slots { get; init; } = new byte[SlotBytes];

    /// <summary>The sender's master, or null (all zero on the wire).</summary>
    public string? SlaveOf { get; init; }

    /// <summary>The IP the sender announces (cluster-announce-ip), or "" to be taken from the connection.</summary>
    public string MyIp { get; init; } = "";
    public ClusterNodeFlags Flags { get; init; }

    /// <summary>CLUSTER_OK (0) or CLUSTER_FAIL (1) as the sender sees it.</summary>
    public byte State { get; init; }

    /// <summary>mflags[0] (PAUSED 1, FORCEACK 2, EXT_DATA 4); the other two bytes are unused by 7.0.</summary>
    public byte MessageFlags { get; init; }

    public IReadOnlyList<ClusterGossip> Gossip { get; init; } = [];

    /// <summary>The hostname extension (cluster-announce-hostname), or null.</summary>
    public string? Hostname { get; init; }

    /// <summary>FAIL: the failed node; UPDATE: the node whose slots are given.</summary>
    public string? AboutNode { get; init; }

    /// <summary>UPDATE: the config epoch and slots of <see cref="AboutNode"/>.</summary>
    public ulong AboutConfigEpoch { get; init; }
    public byte[]? AboutSlots { get; init; }

    /// <summary>PUBLISH: the channel and the message (clusterMsgDataPublish: lengths, then both back to back).</summary>
    public byte[]? Channel { get; init; }
    public byte[]? Payload { get; init; }

    public bool HasSlot(int slot) => (Slots[slot >> 3] & (1 << (slot & 7))) != 0;

    public static void SetSlot(byte[] slots, int slot) => slots[slot >> 3] |= (byte)(1 << (slot & 7));

    /// <summary>The length of the message as written by <see cref="Write"/>.</summary>
    public int Length => HeaderLength + Type switch
    {
        ClusterMessageType.Ping or ClusterMessageType.Pong or ClusterMessageType.Meet => GossipLength * Gossip.Count + HostnameExtensionLength,
        ClusterMessageType.Fail => FailLength,
        ClusterMessageType.Update => UpdateLength,
        ClusterMessageType.Publish or ClusterMessageType.PublishShard => 8 + (Channel?.Length ?? 0) + (Payload?.Length ?? 0),
        _ => 0,
    };

    private int HostnameExtensionLength => Hostname is { Length: > 0 } h ? 8 + Align8(Encoding.ASCII.GetByteCount(h) + 1) : 0;

    private static int Align8(int n) => (n + 7) / 8 * 8;

    /// <summary>Writes the message (exactly <see cref="Length"/> bytes) as clusterBuildMessageHdr and clusterSendPing
    /// do; the buffer must be at least that long. Supported types: PING, PONG, MEET, FAIL, UPDATE and the data-less
    /// FAILOVER_AUTH_REQUEST / _ACK / MFSTART.</summary>
    public int Write(Span<byte> to)
    {
        if (Type is not (ClusterMessageType.Ping or ClusterMessageType.Pong or ClusterMessageType.Meet or ClusterMessageType.Fail
            or ClusterMessageType.Update or ClusterMessageType.Publish or ClusterMessageType.PublishShard or ClusterMessageType.FailoverAuthRequest or ClusterMessageType.FailoverAuthAck or ClusterMessageType.MfStart))
            throw new NotSupportedException($"writing {Type} messages");
        int length = Length;
        to = to[..length];
        to.Clear();
        "RCmb"u8.CopyTo(to);
        BinaryPrimitives.WriteUInt32BigEndian(to[4..], (uint)length);
        BinaryPrimitives.WriteUInt16BigEndian(to[8..], ProtocolVersion);
        BinaryPrimitives.WriteUInt16BigEndian(to[10..], Port);
        BinaryPrimitives.WriteUInt16BigEndian(to[12..], (ushort)Type);
        bool ping = Type is ClusterMessageType.Ping or ClusterMessageType.Pong or ClusterMessageType.Meet;
        BinaryPrimitives.WriteUInt16BigEndian(to[14..], ping ? (ushort)Gossip.Count : (ushort)0);
        BinaryPrimitives.WriteUInt64BigEndian(to[16..], CurrentEpoch);
        BinaryPrimitives.WriteUInt64BigEndian(to[24..], ConfigEpoch);
        BinaryPrimitives.WriteUInt64BigEndian(to[32..], Offset);
        WriteName(to.Slice(40, NameLength), Sender);
        Slots.AsSpan(0, SlotBytes).CopyTo(to[80..]);
        if (SlaveOf is not null) WriteName(to.Slice(2128, NameLength), SlaveOf);
        WriteText(to.Slice(2168, IpLength - 1), MyIp);
        bool hostname = ping && Hostname is { Length: > 0 };
        BinaryPrimitives.WriteUInt16BigEndian(to[2214..], hostname ? (ushort)1 : (ushort)0);
        BinaryPrimitives.WriteUInt16BigEndian(to[2246..], PlaintextPort);
        BinaryPrimitives.WriteUInt16BigEndian(to[2248..], ClusterPort);
        BinaryPrimitives.WriteUInt16BigEndian(to[2250..], (ushort)Flags);
        to[2252] = State;
        to[2253] = (byte)(hostname ? MessageFlags | FlagExtensionData : MessageFlags & ~FlagExtensionData);
        var data = to[HeaderLength..];
        switch (Type)
        {
            case ClusterMessageType.Ping or ClusterMessageType.Pong or ClusterMessageType.Meet:
                for (int i = 0; i < Gossip.Count; i++) WriteGossip(data.Slice(i * GossipLength, GossipLength), Gossip[i]);
                if (hostname)
                {
                    var ext = data[(Gossip.Count * GossipLength)..];
                    BinaryPrimitives.WriteUInt32BigEndian(ext, (uint)HostnameExtensionLength);
                    BinaryPrimitives.WriteUInt16BigEndian(ext[4..], HostnameExtension);
                    WriteText(ext[8..], Hostname!); // NUL-terminated and padded: the buffer was cleared
                }
                break;
            case ClusterMessageType.Fail:
                WriteName(data[..NameLength], AboutNode ?? throw new InvalidOperationException("FAIL needs the failed node"));
                break;
            case ClusterMessageType.Publish or ClusterMessageType.PublishShard:
            {
                var channel = Channel ?? [];
                var payload = Payload ?? [];
                BinaryPrimitives.WriteUInt32BigEndian(data, (uint)channel.Length);
                BinaryPrimitives.WriteUInt32BigEndian(data[4..], (uint)payload.Length);
                channel.CopyTo(data[8..]);
                payload.CopyTo(data[(8 + channel.Length)..]);
                break;
            }
            case ClusterMessageType.Update:
                BinaryPrimitives.WriteUInt64BigEndian(data, AboutConfigEpoch);
                WriteName(data.Slice(8, NameLength), AboutNode ?? throw new InvalidOperationException("UPDATE needs the node"));
                (AboutSlots ?? throw new InvalidOperationException("UPDATE needs the slots")).AsSpan(0, SlotBytes).CopyTo(data[48..]);
                break;
        }
        return length;
    }

    private static void WriteGossip(Span<byte> to, in ClusterGossip g)
    {
        WriteName(to[..NameLength], g.NodeName);
        BinaryPrimitives.WriteUInt32BigEndian(to[40..], g.PingSentSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(to[44..], g.PongReceivedSeconds);
        WriteText(to.Slice(48, IpLength - 1), g.Ip);
        BinaryPrimitives.WriteUInt16BigEndian(to[94..], g.Port);
        BinaryPrimitives.WriteUInt16BigEndian(to[96..], g.ClusterPort);
        BinaryPrimitives.WriteUInt16BigEndian(to[98..], (ushort)g.Flags);
        BinaryPrimitives.WriteUInt16BigEndian(to[100..], g.PlaintextPort);
    }

    private static void WriteName(Span<byte> to, string name)
    {
        if (name.Length != NameLength) throw new ArgumentException($"a node name has {NameLength} characters", nameof(name));
        Encoding.ASCII.GetBytes(name, to);
    }

    private static void WriteText(Span<byte> to, string text)
    {
        int n = Encoding.ASCII.GetByteCount(text);
        if (n > to.Length) throw new ArgumentException("too long for its field", nameof(text));
        Encoding.ASCII.GetBytes(text, to);
    }

    /// <summary>
    /// The length of the message at the start of <paramref name="received"/> once its first 8 bytes are there
    /// (clusterReadHandler's check of the signature and of the minimum length), 0 when fewer than 8 bytes are
    /// there, or -1 for a stream that is not the cluster bus (the link is then closed).
    /// </summary>
    public static int FrameLength(ReadOnlySpan<byte> received)
    {
        if (received.Length < 8) return 0;
        if (!received[..4].SequenceEqual("RCmb"u8)) return -1;
        uint totlen = BinaryPrimitives.ReadUInt32BigEndian(received[4..]);
        return totlen < HeaderLength || totlen > int.MaxValue ? -1 : (int)totlen;
    }

    /// <summary>
    /// Reads one complete message (<see cref="FrameLength"/> bytes) with clusterProcessPacket's checks: version 1,
    /// the length the type implies (gossip count, 8-byte aligned extensions inside the message). Null when redis
    /// would drop it.
    /// </summary>
    public static ClusterMessage? Read(ReadOnlySpan<byte> m)
    {
        if (m.Length < HeaderLength || FrameLength(m) != m.Length) return null;
        if (BinaryPrimitives.ReadUInt16BigEndian(m[8..]) != ProtocolVersion) return null;
        var type = (ClusterMessageType)BinaryPrimitives.ReadUInt16BigEndian(m[12..]);
        ushort count = BinaryPrimitives.ReadUInt16BigEndian(m[14..]);
        ushort extensions = BinaryPrimitives.ReadUInt16BigEndian(m[2214..]);
        byte mflags = m[2253];
        var data = m[HeaderLength..];
        var gossip = new List<ClusterGossip>();
        string? hostname = null, about = null;
        ulong aboutEpoch = 0;
        byte[]? aboutSlots = null, channelBytes = null, payloadBytes = null;
        switch (type)
        {
            case ClusterMessageType.Ping or ClusterMessageType.Pong or ClusterMessageType.Meet:
            {
                long expected = (long)GossipLength * count;
                if (data.Length < expected) return null;
                for (int i = 0; i < count; i++) gossip.Add(ReadGossip(data.Slice(i * GossipLength, GossipLength)));
                var ext = data[(int)expected..];
                if ((mflags & FlagExtensionData) != 0)
                {
                    for (int i = 0; i < extensions; i++)
                    {
                        if (ext.Length < 8) return null;
                        uint extLength = BinaryPrimitives.ReadUInt32BigEndian(ext);
                        if (extLength % 8 != 0 || extLength < 8 || extLength > ext.Length) return null;
                        if (BinaryPrimitives.ReadUInt16BigEndian(ext[4..]) == HostnameExtension) hostname = ReadText(ext[8..(int)extLength]);
                        expected += extLength;
                        ext = ext[(int)extLength..];
                    }
                }
                if (data.Length != expected) return null;
                break;
            }
            case ClusterMessageType.Fail:
                if (data.Length != FailLength) return null;
                about = ReadText(data[..NameLength]);
                break;
            case ClusterMessageType.Update:
                if (data.Length != UpdateLength) return null;
                aboutEpoch = BinaryPrimitives.ReadUInt64BigEndian(data);
                about = ReadText(data.Slice(8, NameLength));
                aboutSlots = data.Slice(48, SlotBytes).ToArray();
                break;
            case ClusterMessageType.FailoverAuthRequest or ClusterMessageType.FailoverAuthAck or ClusterMessageType.MfStart:
                if (data.Length != 0) return null;
                break;
            case ClusterMessageType.Publish or ClusterMessageType.PublishShard:
            {
                if (data.Length < 8) return null;
                long channelLength = BinaryPrimitives.ReadUInt32BigEndian(data), payloadLength = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                // explen: sizeof(clusterMsgDataPublish) (16) - 8 + the two lengths
                if (data.Length != 8 + channelLength + payloadLength) return null;
                channelBytes = data.Slice(8, (int)channelLength).ToArray();
                payloadBytes = data.Slice(8 + (int)channelLength, (int)payloadLength).ToArray();
                break;
            }
            // MODULE and unknown types: read as a header only (their data is not decoded here)
        }
        string slaveOf = ReadText(m.Slice(2128, NameLength));
        return new ClusterMessage
        {
            Type = type,
            Port = BinaryPrimitives.ReadUInt16BigEndian(m[10..]),
            CurrentEpoch = BinaryPrimitives.ReadUInt64BigEndian(m[16..]),
            ConfigEpoch = BinaryPrimitives.ReadUInt64BigEndian(m[24..]),
            Offset = BinaryPrimitives.ReadUInt64BigEndian(m[32..]),
            Sender = ReadText(m.Slice(40, NameLength)),
            Slots = m.Slice(80, SlotBytes).ToArray(),
            SlaveOf = slaveOf.Length == 0 ? null : slaveOf,
            MyIp = ReadText(m.Slice(2168, IpLength)),
            PlaintextPort = BinaryPrimitives.ReadUInt16BigEndian(m[2246..]),
            ClusterPort = BinaryPrimitives.ReadUInt16BigEndian(m[2248..]),
            Flags = (ClusterNodeFlags)BinaryPrimitives.ReadUInt16BigEndian(m[2250..]),
            State = m[2252],
            MessageFlags = mflags,
            Gossip = gossip,
            Hostname = hostname,
            AboutNode = about,
            AboutConfigEpoch = aboutEpoch,
            AboutSlots = aboutSlots,
            Channel = channelBytes,
            Payload = payloadBytes,
        };
    }

    private static ClusterGossip ReadGossip(ReadOnlySpan<byte> g) => new(
        ReadText(g[..NameLength]),
        BinaryPrimitives.ReadUInt32BigEndian(g[40..]),
        BinaryPrimitives.ReadUInt32BigEndian(g[44..]),
        ReadText(g.Slice(48, IpLength)),
        BinaryPrimitives.ReadUInt16BigEndian(g[94..]),
        BinaryPrimitives.ReadUInt16BigEndian(g[96..]),
        (ClusterNodeFlags)BinaryPrimitives.ReadUInt16BigEndian(g[98..]),
        BinaryPrimitives.ReadUInt16BigEndian(g[100..]));

    /// <summary>A fixed-size C string field: up to its first NUL.</summary>
    private static string ReadText(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? field : field[..end]);
    }
}
