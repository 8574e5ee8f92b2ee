using System.Globalization;
using System.Net;
using System.Text;
using Demikernel.Runtime;

namespace Demikernel.Server.Cluster;

/// <summary>
/// Redis Cluster mode (cluster.c's clusterState and bus), on the server thread and the libOS queue API only:
/// <code>
///  listener (cluster port) ─▶ inbound links ─┐                    ┌─▶ PONG replies, UPDATE, FAIL broadcasts
///  cron (every 100 ms) ─▶ outbound links ────┴─▶ ProcessPacket ───┤
///    connect / PING / MEET, timeouts, PFAIL                       └─▶ nodes, slots, epochs ─▶ nodes.conf (fsync)
/// </code>
/// Failure detection, epochs and slot ownership follow cluster.c 7.0: PFAIL after cluster-node-timeout without a
/// PONG, FAIL when a majority of masters report it, slots moving to the claim with the greater configEpoch, equal
/// epochs resolved by the smaller node name bumping.
/// </summary>
internal sealed partial class ClusterManager
{
    public const byte StateOk = 0, StateFail = 1;
    private const int WritableDelayMs = 2000;   // CLUSTER_WRITABLE_DELAY
    private const int FailReportValidityMult = 2;
    private const int FailUndoTimeMult = 2;

    private readonly RedisServer _server;
    private readonly Dictionary<string, ClusterNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _blacklist = new(StringComparer.Ordinal);
    private readonly List<QDesc> _listeners = [];
    private readonly List<ClusterLink> _inbound = [];
    private long _lastCronMs;
    private long _iteration;
    private long _firstStateCallMs;
    private long _amongMinorityMs;
    private bool _todoSave, _todoUpdateState;

    public ClusterManager(RedisServer server)
    {
        _server = server;
        Myself = null!;
        Keys = new SlotKeyIndex(server.Databases[0]);
        server.Databases[0].Subscribe(Keys);
    }

    public ClusterNode Myself { get; private set; }
    public ulong CurrentEpoch { get; set; }
    public ulong LastVoteEpoch { get; set; }
    public byte State { get; private set; } = StateFail;
    public int Size { get; private set; }
    public ClusterNode?[] Slots { get; } = new ClusterNode?[HashSlot.Count];
    public ClusterNode?[] MigratingTo { get; } = new ClusterNode?[HashSlot.Count];
    public ClusterNode?[] ImportingFrom { get; } = new ClusterNode?[HashSlot.Count];
    public long[] MessagesSent { get; } = new long[11];
    public long[] MessagesReceived { get; } = new long[11];
    public int PFailNodes { get; private set; }
    public IReadOnlyCollection<ClusterNode> Nodes => _nodes.Values;
    internal SlotKeyIndex Keys { get; }

    private long Now => _server.NowMs;
    private long NodeTimeout => _server.Config.ClusterNodeTimeout;
    private string ConfigPath => Path.Combine(_server.Config.Dir, _server.Config.ClusterConfigFile);

    public ClusterNode? Lookup(ReadOnlySpan<byte> name) => name.Length == ClusterMessage.NameLength
        ? _nodes.GetValueOrDefault(Encoding.ASCII.GetString(name)) : null;

    public ClusterNode? Lookup(string name) => _nodes.GetValueOrDefault(name);

    // ------------------------------------------------------------------ start, nodes.conf

    /// <summary>clusterInit: loads nodes.conf (or creates this node and writes it), listens on the bus port.
    /// Returns an error text when the server must not start.</summary>
    public string? Start()
    {
        if (!LoadConfig(out string? error))
        {
            if (error is not null) return error;
            Myself = new ClusterNode(RandomName(), ClusterNodeFlags.Myself | ClusterNodeFlags.Master, Now);
            AddNode(Myself);
            _server.Log.NoClusterConfig(Myself.Name);
            if (SaveConfig(fsync: true) is { } saveError) return $"Unrecoverable error: can't create the cluster config file {ConfigPath}: {saveError}";
        }
        int busPort = BusPort;
        if (busPort > 65535)
            return "Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.";
        int rc = _server.ListenAll(busPort, _listeners);
        if (rc != 0)
        {
            foreach (var l in _listeners) _server.LibOS.Close(l);
            _listeners.Clear();
            _server.Log.CannotListen(busPort, System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(rc));
            return $"Failed listening on port {busPort} (cluster), aborting.";
        }
        foreach (var listener in _listeners)
        {
            var l = listener;
            _server.LibOS.Spawn(() => _server.Supervise("cluster bus accept loop", () => AcceptLoop(l)));
        }
        Myself.Port = _server.Config.ClusterAnnouncePort != 0 ? _server.Config.ClusterAnnouncePort : _server.ListenEndpoint.Port;
        Myself.ClusterPort = AnnouncedBusPort;
        Myself.Hostname = _server.Config.ClusterAnnounceHostname;
        _server.AddCronStep("cluster", CronStep);
        // (a replica in nodes.conf starts replicating from the first cron: clusterCron's "replication still off")
        UpdateState();
        return null;
    }

    /// <summary>The bus port: cluster-port, else the client port + 10000.</summary>
    public int BusPort => _server.Config.ClusterPort != 0 ? _server.Config.ClusterPort : _server.ListenEndpoint.Port + 10000;

    private int AnnouncedBusPort => _server.Config.ClusterAnnounceBusPort != 0 ? _server.Config.ClusterAnnounceBusPort : BusPort;

    public void Stop()
    {
        foreach (var l in _listeners) _server.LibOS.Close(l);
        _listeners.Clear();
        foreach (var n in _nodes.Values)
        {
            CloseLink(n.Link);
            CloseLink(n.InboundLink);
        }
        foreach (var l in _inbound.ToArray()) CloseLink(l);
    }

    private static string RandomName() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));

    /// <summary>clusterLoadConfig: false with no error when there is no file (a new node).</summary>
    private bool LoadConfig(out string? error)
    {
        error = null;
        string text;
        try
        {
            if (!File.Exists(ConfigPath)) return false;
            text = File.ReadAllText(ConfigPath);
        }
        catch (IOException e)
        {
            error = $"Loading the cluster node config from {ConfigPath}: {e.Message}";
            return false;
        }
        if (text.Trim().Length == 0) return false; // an empty file is a new node, as redis
        var config = NodesConfig.Parse(text, out error);
        if (config is null) return false;
        foreach (var e in config.Nodes)
        {
            var n = new ClusterNode(e.Name, e.Flags & ~(ClusterNodeFlags.PFail), Now)
            {
                Ip = e.Ip, Port = e.Port, ClusterPort = e.ClusterPort, Hostname = e.Hostname, ConfigEpoch = e.ConfigEpoch,
                PingSent = e.PingSent, PongReceived = e.PongReceived,
            };
            if (n.IsMyself) Myself = n;
            _nodes[n.Name] = n;
        }
        foreach (var e in config.Nodes)
        {
            var n = _nodes[e.Name];
            if (e.Master is { } m)
            {
                if (!_nodes.TryGetValue(m, out var master))
                {
                    master = new ClusterNode(m, ClusterNodeFlags.None, Now);
                    _nodes[m] = master;
                }
                n.Master = master;
                master.Replicas.Add(n);
            }
            foreach (var (start, end) in e.Slots)
                for (int s = start; s <= end; s++) AddSlot(n, s);
            foreach (var (slot, migrating, other) in e.Moving)
            {
                if (!_nodes.TryGetValue(other, out var o)) continue;
                if (migrating) MigratingTo[slot] = o;
                else ImportingFrom[slot] = o;
            }
        }
        CurrentEpoch = Math.Max(config.CurrentEpoch, _nodes.Values.Max(n => n.ConfigEpoch));
        LastVoteEpoch = config.LastVoteEpoch;
        _server.Log.ConfigLoaded(Myself.Name);
        return true;
    }

    /// <summary>clusterSaveConfig: every node but those in handshake, then the vars line; written to a temporary file,
    /// fsynced when asked, renamed over the old one. Null or the error.</summary>
    public string? SaveConfig(bool fsync)
    {
        _todoSave = false;
        var config = new NodesConfig { CurrentEpoch = CurrentEpoch, LastVoteEpoch = LastVoteEpoch };
        foreach (var n in _nodes.Values)
            if (!n.InHandshake) config.Nodes.Add(Describe(n, forFile: true));
        string tmp = ConfigPath + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
            {
                f.Write(Encoding.UTF8.GetBytes(config.Format()));
                f.Flush(fsync);
            }
            File.Move(tmp, ConfigPath, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.SaveFailed(e.Message);
            return e.Message;
        }
    }

    /// <summary>A node as a CLUSTER NODES line's fields (clusterGenNodeDescription).</summary>
    public ClusterNodeEntry Describe(ClusterNode n, bool forFile = false)
    {
        var moving = new List<(int, bool, string)>();
        if (n.IsMyself)
            for (int s = 0; s < HashSlot.Count; s++)
            {
                if (MigratingTo[s] is { } to) moving.Add((s, true, to.Name));
                else if (ImportingFrom[s] is { } from) moving.Add((s, false, from.Name));
            }
        return new ClusterNodeEntry
        {
            Name = n.Name, Ip = n.Ip, Port = n.Port, ClusterPort = n.ClusterPort, Hostname = n.Hostname,
            Flags = n.Flags, Master = n.Master?.Name, PingSent = n.PingSent, PongReceived = n.PongReceived,
            ConfigEpoch = n.IsReplica && n.Master is not null ? n.Master.ConfigEpoch : n.ConfigEpoch,
            Connected = n.Link is { Connected: true } || n.IsMyself, Slots = n.IsMaster ? n.SlotRanges() : [], Moving = moving,
        };
    }

    // ------------------------------------------------------------------ nodes and slots

    private void AddNode(ClusterNode n) => _nodes[n.Name] = n;

    /// <summary>clusterDelNode: its slots' migrating/importing states, failure reports it made, its links.</summary>
    public void DeleteNode(ClusterNode n)
    {
        for (int j = 0; j < HashSlot.Count; j++)
        {
            if (ImportingFrom[j] == n) ImportingFrom[j] = null;
            if (MigratingTo[j] == n) MigratingTo[j] = null;
            if (Slots[j] == n) DeleteSlot(j);
        }
        foreach (var other in _nodes.Values) other.FailReports.RemoveAll(r => r.Reporter == n);
        _nodes.Remove(n.Name);
        if (n.Master is { } m) m.Replicas.Remove(n);
        foreach (var r in n.Replicas) if (r.Master == n) r.Master = null;
        CloseLink(n.Link);
        CloseLink(n.InboundLink);
        n.Link = n.InboundLink = null;
        _todoSave = _todoUpdateState = true;
    }

    public bool AddSlot(ClusterNode n, int slot)
    {
        if (Slots[slot] is not null) return false;
        n.SetSlot(slot);
        Slots[slot] = n;
        return true;
    }

    public bool DeleteSlot(int slot)
    {
        if (Slots[slot] is not { } n) return false;
        n.ClearSlot(slot);
        Slots[slot] = null;
        return true;
    }

    private void DeleteNodeSlots(ClusterNode n)
    {
        for (int j = 0; j < HashSlot.Count; j++)
            if (n.HasSlot(j)) DeleteSlot(j);
    }

    /// <summary>clusterBlacklistAddNode: a forgotten node is not re-added from gossip for a minute.</summary>
    public void Forget(ClusterNode n)
    {
        long now = Now / 1000;
        foreach (var (k, until) in _blacklist.ToArray()) if (until < now) _blacklist.Remove(k);
        _blacklist[n.Name] = now + 60;
        DeleteNode(n);
    }

    private bool Blacklisted(string name) => _blacklist.TryGetValue(name, out long until) && until >= Now / 1000;

    private void SetNodeAsMaster(ClusterNode n)
    {
        if (n.IsMaster) return;
        if (n.Master is { } old)
        {
            old.Replicas.Remove(n);
            if (n != Myself) old.Flags |= ClusterNodeFlags.MigrateTo;
        }
        n.Flags = (n.Flags & ~ClusterNodeFlags.Slave) | ClusterNodeFlags.Master;
        n.Master = null;
        _todoSave = _todoUpdateState = true;
    }

    /// <summary>clusterSetMaster: this node becomes a replica of <paramref name="n"/> and replicates from it.</summary>
    public void SetMyMaster(ClusterNode n)
    {
        if (Myself.IsMaster)
        {
            Myself.Flags = (Myself.Flags & ~(ClusterNodeFlags.Master | ClusterNodeFlags.MigrateTo)) | ClusterNodeFlags.Slave;
            Array.Clear(MigratingTo);
            Array.Clear(ImportingFrom);
        }
        else Myself.Master?.Replicas.Remove(Myself);
        Myself.Master = n;
        if (!n.Replicas.Contains(Myself)) n.Replicas.Add(Myself);
        _server.Replication.SetMaster(n.Ip, n.Port);
        ResetManualFailover();
        _todoSave = _todoUpdateState = true;
    }

    /// <summary>clusterBumpConfigEpochWithoutConsensus: a new epoch unless ours is already the greatest and unique.</summary>
    public bool BumpEpochWithoutConsensus()
    {
        ulong max = _nodes.Values.Max(n => n.ConfigEpoch);
        if (Myself.ConfigEpoch == 0 || Myself.ConfigEpoch != max || _nodes.Values.Count(n => n.ConfigEpoch == max) > 1)
        {
            CurrentEpoch++;
            Myself.ConfigEpoch = CurrentEpoch;
            SaveConfig(fsync: true);
            return true;
        }
        return false;
    }

    /// <summary>clusterStartHandshake: false for an address that is not an IP (EINVAL); true also when the same
    /// handshake is already in progress.</summary>
    public bool StartHandshake(string ip, long port, long cport)
    {
        if (!IPAddress.TryParse(ip, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || port is <= 0 or > 65535 || cport is <= 0 or > 65535)
            return false;
        string norm = address.ToString();
        foreach (var n in _nodes.Values)
            if (n.InHandshake && n.Ip == norm && n.Port == port && n.ClusterPort == cport) return true;
        var node = new ClusterNode(RandomName(), ClusterNodeFlags.Handshake | ClusterNodeFlags.Meet, Now)
        {
            Ip = norm, Port = (int)port, ClusterPort = (int)cport,
        };
        AddNode(node);
        return true;
    }

    /// <summary>clusterReset: soft keeps the name and epochs, hard makes a new node with epochs 0.</summary>
    public void Reset(bool hard)
    {
        if (Myself.IsReplica)
        {
            Myself.Master?.Replicas.Remove(Myself);
            Myself.Master = null;
            Myself.Flags = (Myself.Flags & ~ClusterNodeFlags.Slave) | ClusterNodeFlags.Master;
            _server.Replication.PromoteForCluster();
            _server.Databases[0].Clear();
        }
        Array.Clear(MigratingTo);
        Array.Clear(ImportingFrom);
        DeleteNodeSlots(Myself);
        foreach (var n in _nodes.Values.ToArray())
            if (n != Myself) DeleteNode(n);
        if (hard)
        {
            CurrentEpoch = LastVoteEpoch = 0;
            Myself.ConfigEpoch = 0;
            _nodes.Remove(Myself.Name);
            Myself.Name = RandomName();
            AddNode(Myself);
        }
        SaveConfig(fsync: true);
        UpdateState();
    }

    // ------------------------------------------------------------------ the bus: listener and links

    private async ValueTask AcceptLoop(QDesc listener)
    {
        while (!_server.Stopping)
        {
            var accepted = await _server.LibOS.AcceptAsync(listener);
            if (!accepted.Succeeded)
            {
                if (_server.Stopping || !_listeners.Contains(listener)) return;
                continue;
            }
            var link = new ClusterLink(accepted.AcceptedQd, null, inbound: true, Now) { Peer = accepted.Address, Connected = true };
            _server.LibOS.SetSockOpt(link.Qd, SocketOption.TcpNoDelay, 1);
            _inbound.Add(link);
            _server.LibOS.Spawn(() => ReadLoop(link));
        }
    }

    private async ValueTask ConnectLink(ClusterLink link, ClusterNode node)
    {
        if (!IPAddress.TryParse(node.Ip, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            FreeLink(link);
            return;
        }
        var endpoint = IPv4Endpoint.FromIPAddress(ip, node.ClusterPort);
        link.Peer = endpoint;
        var connected = await _server.LibOS.ConnectAsync(link.Qd, endpoint);
        if (link.Closed) return;
        if (!connected.Succeeded)
        {
            if (node.PingSent == 0) node.PingSent = Now;
            FreeLink(link);
            return;
        }
        link.Connected = true;
        _server.LibOS.SetSockOpt(link.Qd, SocketOption.TcpNoDelay, 1);
        // clusterLinkConnectHandler: a MEET for a node met through CLUSTER MEET, else a PING; the pending ping's
        // time is kept so a reconnection does not hide a node that stopped answering
        long oldPingSent = node.PingSent;
        SendPing(link, (node.Flags & ClusterNodeFlags.Meet) != 0 ? ClusterMessageType.Meet : ClusterMessageType.Ping);
        if (oldPingSent != 0) node.PingSent = oldPingSent;
        node.Flags &= ~ClusterNodeFlags.Meet;
        await ReadLoop(link);
    }

    private async ValueTask ReadLoop(ClusterLink link)
    {
        byte[] buffer = new byte[ClusterMessage.HeaderLength * 2];
        int length = 0;
        var libos = _server.LibOS;
        try
        {
            while (!link.Closed)
            {
                var popped = await libos.PopAsync(link.Qd);
                if (!popped.Succeeded || popped.Sga.IsEmpty)
                {
                    if (popped.Succeeded) libos.SgaFree(popped.Sga);
                    break;
                }
                int n = popped.Sga.TotalLength;
                if (length + n > buffer.Length) Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + n));
                popped.Sga.CopyTo(buffer.AsSpan(length));
                libos.SgaFree(popped.Sga);
                length += n;
                int start = 0;
                while (!link.Closed)
                {
                    int frame = ClusterMessage.FrameLength(buffer.AsSpan(start, length - start));
                    if (frame < 0) goto done;
                    if (frame == 0 || length - start < frame) break;
                    ProcessPacket(link, buffer.AsSpan(start, frame));
                    start += frame;
                }
                if (start > 0)
                {
                    buffer.AsSpan(start, length - start).CopyTo(buffer);
                    length -= start;
                }
            }
        done:;
        }
        finally
        {
            FreeLink(link);
        }
    }

    private void CloseLink(ClusterLink? link)
    {
        if (link is null || link.Closed) return;
        link.Closed = true;
        _server.LibOS.Close(link.Qd);
    }

    /// <summary>freeClusterLink: closed, and unhooked from its node.</summary>
    private void FreeLink(ClusterLink link)
    {
        CloseLink(link);
        _inbound.Remove(link);
        if (link.Node is { } n)
        {
            if (n.Link == link) n.Link = null;
            if (n.InboundLink == link) n.InboundLink = null;
        }
    }

    private void Send(ClusterLink? link, ClusterMessage message)
    {
        if (link is null || link.Closed || !link.Connected) return;
        int length = message.Length;
        var libos = _server.LibOS;
        var sga = libos.SgaAlloc(length);
        message.Write(sga.Span);
        if ((int)message.Type < MessagesSent.Length) MessagesSent[(int)message.Type]++;
        libos.Spawn(CompleteAfter(libos.PushAsync(link.Qd, sga), libos, sga));
    }

    private static Func<ValueTask> CompleteAfter(ValueTask<QResult> push, DemiLibOS libos, Sga sga) => async () =>
    {
        await push;
        libos.SgaFree(sga);
    };

    private void Broadcast(ClusterMessage message)
    {
        foreach (var n in _nodes.Values)
            if (!n.IsMyself && !n.InHandshake) Send(n.Link, message);
    }

    // ------------------------------------------------------------------ messages

    /// <summary>clusterBuildMessageHdr's fields for a message of <paramref name="type"/>.</summary>
    private ClusterMessage Header(ClusterMessageType type)
    {
        var master = Myself.IsReplica && Myself.Master is not null ? Myself.Master : Myself;
        long offset = Myself.IsReplica ? _server.Replication.Master?.ReplOffset ?? 0 : _server.Replication.MasterReplOffset;
        return new ClusterMessage
        {
            Type = type,
            Port = (ushort)Myself.Port,
            ClusterPort = (ushort)AnnouncedBusPort,
            CurrentEpoch = CurrentEpoch,
            ConfigEpoch = master.ConfigEpoch,
            Offset = (ulong)Math.Max(0, offset),
            Sender = Myself.Name,
            Slots = (byte[])master.Slots.Clone(),
            SlaveOf = Myself.Master?.Name,
            MyIp = _server.Config.ClusterAnnounceIp ?? "",
            Flags = Myself.Flags,
            State = State,
            MessageFlags = (byte)(Myself.IsMaster && _mfEnd != 0 ? 1 : 0),
            Hostname = _server.Config.ClusterAnnounceHostname,
        };
    }

    /// <summary>clusterSendPing: a PING, PONG or MEET with gossip about max(3, nodes/10) random nodes (not ourselves,
    /// not in handshake, no address, or disconnected and slotless) and every node in PFAIL.</summary>
    private void SendPing(ClusterLink link, ClusterMessageType type)
    {
        if (link.Node is { } target && type == ClusterMessageType.Ping) target.PingSent = Now;
        int fresh = _nodes.Count - 2;
        int wanted = Math.Min(Math.Max(3, _nodes.Count / 10), Math.Max(fresh, 0));
        var gossip = new List<ClusterGossip>();
        var all = _nodes.Values.ToArray();
        long stamp = ++_iteration;
        int attempts = wanted * 3;
        while (fresh > 0 && gossip.Count < wanted && attempts-- > 0)
        {
            var n = all[Random.Shared.Next(all.Length)];
            if (n.IsMyself || n.TimedOut) continue;
            if (n.InHandshake || !n.HasAddress || (n.Link is null && n.SlotCount == 0)) continue;
            if (n.LastInPingGossip == stamp) continue;
            n.LastInPingGossip = stamp;
            gossip.Add(Gossip(n));
            fresh--;
        }
        foreach (var n in all)
            if (n.TimedOut && !n.InHandshake && n.HasAddress) gossip.Add(Gossip(n));
        Send(link, Header(type) with { Gossip = gossip });
    }

    private static ClusterGossip Gossip(ClusterNode n) => new(n.Name, (uint)(n.PingSent / 1000), (uint)(n.PongReceived / 1000), n.Ip,
        (ushort)n.Port, (ushort)n.ClusterPort, n.Flags, (ushort)n.PlaintextPort);

    /// <summary>clusterBroadcastPong: to every connected node (or only our master's other replicas).</summary>
    public void BroadcastPong(bool localReplicasOnly = false)
    {
        foreach (var n in _nodes.Values)
        {
            if (n.Link is null || n.IsMyself || n.InHandshake) continue;
            if (localReplicasOnly)
            {
                bool local = n.IsReplica && n.Master is not null && (n.Master == Myself || n.Master == Myself.Master);
                if (!local) continue;
            }
            SendPing(n.Link, ClusterMessageType.Pong);
        }
    }

    /// <summary>clusterPropagatePublish: PUBLISH reaches the subscribers of every node.</summary>
    public void PropagatePublish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message) =>
        Broadcast(Header(ClusterMessageType.Publish) with { Channel = channel.ToArray(), Payload = message.ToArray() });

    /// <summary>clusterPropagatePublishShard: to the nodes of our shard (our master, or us, and its replicas).</summary>
    public void PropagatePublishShard(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message)
    {
        var master = Myself.IsReplica && Myself.Master is not null ? Myself.Master : Myself;
        var msg = Header(ClusterMessageType.PublishShard) with { Channel = channel.ToArray(), Payload = message.ToArray() };
        if (master != Myself) Send(master.Link, msg);
        foreach (var r in master.Replicas)
            if (r != Myself) Send(r.Link, msg);
    }

    private void SendFail(string nodeName) => Broadcast(Header(ClusterMessageType.Fail) with { AboutNode = nodeName });

    private void SendUpdate(ClusterLink? link, ClusterNode node)
    {
        if (link is null) return;
        Send(link, Header(ClusterMessageType.Update) with { AboutNode = node.Name, AboutConfigEpoch = node.ConfigEpoch, AboutSlots = (byte[])node.Slots.Clone() });
    }

    /// <summary>clusterProcessPacket for one complete message.</summary>
    private void ProcessPacket(ClusterLink link, ReadOnlySpan<byte> bytes)
    {
        var msg = ClusterMessage.Read(bytes);
        if (msg is null) return; // malformed: dropped, as redis drops it
        long now = Now;
        var type = msg.Type;
        if ((int)type < MessagesReceived.Length) MessagesReceived[(int)type]++;
        // getNodeFromLinkAndMsg: an outbound link's node (after the handshake), else the sender by name
        ClusterNode? sender = link.Node is { InHandshake: false } ln && !link.Inbound ? ln : Lookup(msg.Sender);
        if (sender is not null && link.Inbound && link.Node is null)
        {
            // setClusterNodeToInboundClusterLink: the newest inbound link of a node replaces an older one
            if (sender.InboundLink is { } old && old != link) FreeLink(old);
            sender.InboundLink = link;
            link.Node = sender;
        }
        if (sender is not null) sender.DataReceived = now;
        if (sender is not null && !sender.InHandshake)
        {
            if (msg.CurrentEpoch > CurrentEpoch) CurrentEpoch = msg.CurrentEpoch;
            if (msg.ConfigEpoch > sender.ConfigEpoch)
            {
                sender.ConfigEpoch = msg.ConfigEpoch;
                _todoSave = true;
            }
            sender.ReplOffset = (long)msg.Offset;
            if (_mfEnd != 0 && Myself.IsReplica && Myself.Master == sender && (msg.MessageFlags & 1) != 0 && _mfMasterOffset == -1)
                _mfMasterOffset = sender.ReplOffset;
        }
        if (type is ClusterMessageType.Ping or ClusterMessageType.Meet)
        {
            if ((type == ClusterMessageType.Meet || Myself.Ip.Length == 0) && _server.Config.ClusterAnnounceIp is null
                && _server.LibOS.GetSockName(link.Qd, out var local) == 0)
            {
                string ip = local.IPAddress.ToString();
                if (ip != Myself.Ip)
                {
                    Myself.Ip = ip;
                    _server.Log.IpUpdated(ip);
                    _todoSave = true;
                }
            }
            if (sender is null && type == ClusterMessageType.Meet)
            {
                var node = new ClusterNode(RandomName(), ClusterNodeFlags.Handshake, now)
                {
                    Ip = msg.MyIp.Length > 0 ? msg.MyIp : link.Peer.IPAddress.ToString(),
                    Port = msg.Port, PlaintextPort = msg.PlaintextPort, ClusterPort = msg.ClusterPort,
                };
                AddNode(node);
                _todoSave = true;
                ProcessGossip(msg, null);
            }
            SendPing(link, ClusterMessageType.Pong);
        }
        if (type is ClusterMessageType.Ping or ClusterMessageType.Pong or ClusterMessageType.Meet)
        {
            if (!link.Inbound && link.Node is { } linkNode)
            {
                if (linkNode.InHandshake)
                {
                    if (sender is not null)
                    {
                        // we already know it: the handshake node goes, the known one may have moved
                        if (UpdateAddressIfNeeded(sender, link, msg)) _todoSave = _todoUpdateState = true;
                        DeleteNode(linkNode);
                        Flush();
                        return;
                    }
                    _nodes.Remove(linkNode.Name);
                    linkNode.Name = msg.Sender;
                    _nodes[linkNode.Name] = linkNode;
                    linkNode.Flags &= ~ClusterNodeFlags.Handshake;
                    linkNode.Flags |= msg.Flags & (ClusterNodeFlags.Master | ClusterNodeFlags.Slave);
                    _todoSave = true;
                    sender = null; // as redis: the rest of this message is not trusted (the next PONG is)
                }
                else if (linkNode.Name != msg.Sender)
                {
                    linkNode.Flags |= ClusterNodeFlags.NoAddr;
                    linkNode.Ip = "";
                    linkNode.Port = linkNode.PlaintextPort = linkNode.ClusterPort = 0;
                    FreeLink(link);
                    _todoSave = true;
                    Flush();
                    return;
                }
            }
            if (sender is not null)
            {
                sender.Flags = (sender.Flags & ~ClusterNodeFlags.NoFailover) | (msg.Flags & ClusterNodeFlags.NoFailover);
                if (type == ClusterMessageType.Ping && !sender.InHandshake && UpdateAddressIfNeeded(sender, link, msg))
                    _todoSave = _todoUpdateState = true;
                if (sender.Hostname != msg.Hostname)
                {
                    sender.Hostname = msg.Hostname;
                    _todoSave = true;
                }
            }
            if (!link.Inbound && type == ClusterMessageType.Pong && link.Node is { } pongNode)
            {
                pongNode.PongReceived = now;
                pongNode.PingSent = 0;
                if (pongNode.TimedOut)
                {
                    pongNode.Flags &= ~ClusterNodeFlags.PFail;
                    _todoSave = _todoUpdateState = true;
                }
                else if (pongNode.Failed) ClearFailureIfNeeded(pongNode);
            }
            if (sender is not null)
            {
                if (msg.SlaveOf is null) SetNodeAsMaster(sender);
                else
                {
                    var master = Lookup(msg.SlaveOf);
                    if (sender.IsMaster)
                    {
                        DeleteNodeSlots(sender);
                        sender.Flags = (sender.Flags & ~(ClusterNodeFlags.Master | ClusterNodeFlags.MigrateTo)) | ClusterNodeFlags.Slave;
                        _todoSave = _todoUpdateState = true;
                    }
                    if (master is not null && sender.Master != master)
                    {
                        sender.Master?.Replicas.Remove(sender);
                        master.Replicas.Add(sender);
                        master.Flags &= ~ClusterNodeFlags.MigrateTo;
                        sender.Master = master;
                        _todoSave = true;
                    }
                }
            }
            ClusterNode? senderMaster = sender is null ? null : sender.IsMaster ? sender : sender.Master;
            bool dirtySlots = senderMaster is not null && !senderMaster.Slots.AsSpan().SequenceEqual(msg.Slots);
            if (sender is not null && sender.IsMaster && dirtySlots) UpdateSlotsConfigWith(sender, msg.ConfigEpoch, msg.Slots);
            if (sender is not null && dirtySlots)
            {
                for (int j = 0; j < HashSlot.Count; j++)
                {
                    if ((msg.Slots[j >> 3] & (1 << (j & 7))) == 0) continue;
                    if (Slots[j] == sender || Slots[j] is null) continue;
                    if (Slots[j]!.ConfigEpoch > msg.ConfigEpoch)
                    {
                        SendUpdate(sender.Link, Slots[j]!);
                        break;
                    }
                }
            }
            if (sender is not null && Myself.IsMaster && sender.IsMaster && msg.ConfigEpoch == Myself.ConfigEpoch) HandleEpochCollision(sender);
            if (sender is not null) ProcessGossip(msg, sender);
        }
        else if (type == ClusterMessageType.Fail)
        {
            if (sender is not null && msg.AboutNode is { } about && Lookup(about) is { } failing
                && (failing.Flags & (ClusterNodeFlags.Fail | ClusterNodeFlags.Myself)) == 0)
            {
                _server.Log.FailReceived(msg.Sender, about);
                failing.Flags = (failing.Flags | ClusterNodeFlags.Fail) & ~ClusterNodeFlags.PFail;
                failing.FailTime = now;
                _todoSave = _todoUpdateState = true;
            }
        }
        else if (type == ClusterMessageType.Update)
        {
            if (sender is not null && msg.AboutNode is { } about && Lookup(about) is { } n && n.ConfigEpoch < msg.AboutConfigEpoch)
            {
                if (n.IsReplica) SetNodeAsMaster(n);
                n.ConfigEpoch = msg.AboutConfigEpoch;
                UpdateSlotsConfigWith(n, msg.AboutConfigEpoch, msg.AboutSlots!);
            }
        }
        else if (type is ClusterMessageType.Publish or ClusterMessageType.PublishShard)
        {
            // delivered to our subscribers only (the sender broadcast it; nothing goes further)
            if (sender is not null && msg.Channel is { } channel)
            {
                if (type == ClusterMessageType.Publish) _server.PubSub.Publish(channel, msg.Payload);
                else _server.PubSub.PublishShard(channel, msg.Payload);
            }
        }
        else if (type == ClusterMessageType.FailoverAuthRequest)
        {
            if (sender is not null) SendFailoverAuthIfNeeded(sender, msg);
        }
        else if (type == ClusterMessageType.FailoverAuthAck)
        {
            // a vote counts when it comes from a master serving slots, for the current election
            if (sender is not null && sender.IsMaster && sender.SlotCount > 0 && msg.CurrentEpoch >= _failoverAuthEpoch)
            {
                _failoverAuthCount++;
                _todoHandleFailover = true;
            }
        }
        else if (type == ClusterMessageType.MfStart)
        {
            if (sender is not null && sender.Master == Myself) StartManualFailoverAsMaster(sender);
        }
        Flush();
    }

    /// <summary>nodeUpdateAddressIfNeeded: a node that PINGs us from another address than we know has moved.</summary>
    private bool UpdateAddressIfNeeded(ClusterNode node, ClusterLink link, ClusterMessage msg)
    {
        if (link == node.Link) return false;
        string ip = msg.MyIp.Length > 0 ? msg.MyIp : link.Peer.IPAddress.ToString();
        if (node.Port == msg.Port && node.ClusterPort == msg.ClusterPort && node.PlaintextPort == msg.PlaintextPort && node.Ip == ip) return false;
        node.Ip = ip;
        node.Port = msg.Port;
        node.PlaintextPort = msg.PlaintextPort;
        node.ClusterPort = msg.ClusterPort;
        if (node.Link is { } old) FreeLink(old);
        node.Flags &= ~ClusterNodeFlags.NoAddr;
        if (Myself.IsReplica && Myself.Master == node) _server.Replication.SetMaster(node.Ip, node.Port);
        return true;
    }

    /// <summary>clusterProcessGossipSection.</summary>
    private void ProcessGossip(ClusterMessage msg, ClusterNode? sender)
    {
        long now = Now;
        foreach (var g in msg.Gossip)
        {
            var node = Lookup(g.NodeName);
            if (node is not null)
            {
                if (sender is not null && sender.IsMaster && node != Myself)
                {
                    if ((g.Flags & (ClusterNodeFlags.Fail | ClusterNodeFlags.PFail)) != 0)
                    {
                        AddFailureReport(node, sender);
                        MarkFailingIfNeeded(node);
                    }
                    else node.FailReports.RemoveAll(r => r.Reporter == sender);
                }
                if ((g.Flags & (ClusterNodeFlags.Fail | ClusterNodeFlags.PFail)) == 0 && node.PingSent == 0 && ValidFailReports(node) == 0)
                {
                    long pong = g.PongReceivedSeconds * 1000L;
                    if (pong <= now + 500 && pong > node.PongReceived) node.PongReceived = pong;
                }
                if ((node.Flags & (ClusterNodeFlags.Fail | ClusterNodeFlags.PFail)) != 0
                    && (g.Flags & (ClusterNodeFlags.NoAddr | ClusterNodeFlags.Fail | ClusterNodeFlags.PFail)) == 0
                    && (!node.Ip.Equals(g.Ip, StringComparison.OrdinalIgnoreCase) || node.Port != g.Port || node.ClusterPort != g.ClusterPort))
                {
                    if (node.Link is { } l) FreeLink(l);
                    node.Ip = g.Ip;
                    node.Port = g.Port;
                    node.PlaintextPort = g.PlaintextPort;
                    node.ClusterPort = g.ClusterPort;
                    node.Flags &= ~ClusterNodeFlags.NoAddr;
                }
            }
            else if (sender is not null && (g.Flags & ClusterNodeFlags.NoAddr) == 0 && !Blacklisted(g.NodeName)
                && g.NodeName.Length == ClusterMessage.NameLength)
            {
                var n = new ClusterNode(g.NodeName, g.Flags & ~(ClusterNodeFlags.Myself | ClusterNodeFlags.Handshake | ClusterNodeFlags.Meet), now)
                {
                    Ip = g.Ip, Port = g.Port, PlaintextPort = g.PlaintextPort, ClusterPort = g.ClusterPort,
                };
                AddNode(n);
            }
        }
    }

    private void AddFailureReport(ClusterNode failing, ClusterNode sender)
    {
        int i = failing.FailReports.FindIndex(r => r.Reporter == sender);
        if (i >= 0) failing.FailReports[i] = (sender, Now);
        else failing.FailReports.Add((sender, Now));
    }

    /// <summary>clusterNodeFailureReportsCount after clusterNodeCleanupFailureReports (older than twice the timeout go).</summary>
    public int ValidFailReports(ClusterNode n)
    {
        long maxAge = NodeTimeout * FailReportValidityMult;
        long now = Now;
        n.FailReports.RemoveAll(r => now - r.TimeMs > maxAge);
        return n.FailReports.Count;
    }

    /// <summary>markNodeAsFailingIfNeeded: PFAIL becomes FAIL when a majority of masters agree; then FAIL is broadcast.</summary>
    private void MarkFailingIfNeeded(ClusterNode node)
    {
        int quorum = Size / 2 + 1;
        if (!node.TimedOut || node.Failed) return;
        int failures = ValidFailReports(node);
        if (Myself.IsMaster) failures++;
        if (failures < quorum) return;
        _server.Log.MarkingFailing(node.Name);
        node.Flags = (node.Flags & ~ClusterNodeFlags.PFail) | ClusterNodeFlags.Fail;
        node.FailTime = Now;
        if (Myself.IsMaster) SendFail(node.Name);
        _todoSave = _todoUpdateState = true;
    }

    /// <summary>clearNodeFailureIfNeeded: a replica or slotless master is back at once; a master with slots after
    /// twice the node timeout without anyone taking them.</summary>
    private void ClearFailureIfNeeded(ClusterNode node)
    {
        if (node.IsReplica || node.SlotCount == 0)
        {
            _server.Log.ClearFail(node.Name, node.IsReplica ? "replica is reachable again." : "master without slots is reachable again.");
            node.Flags &= ~ClusterNodeFlags.Fail;
            _todoSave = _todoUpdateState = true;
        }
        else if (Now - node.FailTime > NodeTimeout * FailUndoTimeMult)
        {
            _server.Log.ClearFail(node.Name, "is reachable again and nobody is serving its slots after some time.");
            node.Flags &= ~ClusterNodeFlags.Fail;
            _todoSave = _todoUpdateState = true;
        }
    }

    /// <summary>clusterHandleConfigEpochCollision: of two masters with the same epoch, the one with the smaller name
    /// takes a new one.</summary>
    private void HandleEpochCollision(ClusterNode sender)
    {
        if (sender.ConfigEpoch != Myself.ConfigEpoch || !sender.IsMaster || !Myself.IsMaster) return;
        if (string.CompareOrdinal(sender.Name, Myself.Name) <= 0) return;
        CurrentEpoch++;
        Myself.ConfigEpoch = CurrentEpoch;
        SaveConfig(fsync: true);
        _server.Log.EpochCollision(sender.Name, Myself.ConfigEpoch);
    }

    /// <summary>clusterUpdateSlotsConfigWith: slots a master claims with a greater epoch become its; when our master
    /// (or we) lost every slot to it, we follow it.</summary>
    private void UpdateSlotsConfigWith(ClusterNode sender, ulong senderEpoch, byte[] slots)
    {
        if (sender == Myself) return;
        var curMaster = Myself.IsMaster ? Myself : Myself.Master;
        ClusterNode? newMaster = null;
        var dirty = new List<int>();
        int senderSlots = 0, migratedOurSlots = 0;
        for (int j = 0; j < HashSlot.Count; j++)
        {
            if ((slots[j >> 3] & (1 << (j & 7))) != 0)
            {
                senderSlots++;
                if (Slots[j] == sender) continue;
                if (ImportingFrom[j] is not null) continue;
                if (Slots[j] is null || Slots[j]!.ConfigEpoch < senderEpoch)
                {
                    if (Slots[j] == Myself && Keys.Count(j) > 0) dirty.Add(j);
                    if (Slots[j] == curMaster)
                    {
                        newMaster = sender;
                        migratedOurSlots++;
                    }
                    DeleteSlot(j);
                    AddSlot(sender, j);
                    _todoSave = _todoUpdateState = true;
                }
            }
        }
        if (newMaster is not null && curMaster is not null && curMaster.SlotCount == 0
            && (_server.Config.ClusterAllowReplicaMigration || senderSlots == migratedOurSlots))
        {
            _server.Log.BecomingReplica(sender.Name);
            SetMyMaster(sender);
            _todoSave = _todoUpdateState = true;
        }
        else if (Myself.Master is { Master: { } grand } && grand != Myself)
        {
            SetMyMaster(grand);
        }
        else
        {
            // slots we lost but still hold keys of: the keys go (the new owner has them)
            foreach (int j in dirty) Keys.DeleteKeysInSlot(j);
        }
    }

    // ------------------------------------------------------------------ cron

    private void CronStep()
    {
        long now = Now;
        // redis's run_with_period(100); a server cron tick a little early (timer jitter at hz 10) still counts
        if (now - _lastCronMs < 90) return;
        _lastCronMs = now;
        Cron();
        Flush();
    }

    /// <summary>clusterCron, ten times a second.</summary>
    private void Cron()
    {
        long now = Now;
        long cronIteration = ++_cronIteration;
        bool updateState = false;
        long handshakeTimeout = Math.Max(NodeTimeout, 1000);
        if (Myself.Hostname != _server.Config.ClusterAnnounceHostname)
        {
            Myself.Hostname = _server.Config.ClusterAnnounceHostname;
            _todoSave = true;
        }
        PFailNodes = 0;
        foreach (var node in _nodes.Values.ToArray())
        {
            if ((node.Flags & (ClusterNodeFlags.Myself | ClusterNodeFlags.NoAddr)) != 0) continue;
            if (node.TimedOut) PFailNodes++;
            if (node.InHandshake && now - node.CreatedMs > handshakeTimeout)
            {
                DeleteNode(node);
                continue;
            }
            if (node.Link is null && node.ClusterPort != 0 && node.Ip.Length > 0)
            {
                if (_server.LibOS.Socket(SocketKind.Stream, out var qd) != 0) continue;
                var link = new ClusterLink(qd, node, inbound: false, now);
                node.Link = link;
                _server.LibOS.Spawn(() => ConnectLink(link, node));
            }
        }
        // every second, a PING to the node with the oldest PONG of five random ones
        if (cronIteration % 10 == 0)
        {
            var all = _nodes.Values.ToArray();
            ClusterNode? oldest = null;
            for (int j = 0; j < 5 && all.Length > 0; j++)
            {
                var n = all[Random.Shared.Next(all.Length)];
                if (n.Link is not { Connected: true } || n.PingSent != 0) continue;
                if ((n.Flags & (ClusterNodeFlags.Myself | ClusterNodeFlags.Handshake)) != 0) continue;
                if (oldest is null || oldest.PongReceived > n.PongReceived) oldest = n;
            }
            if (oldest is not null) SendPing(oldest.Link!, ClusterMessageType.Ping);
        }
        int orphanedMasters = 0, maxReplicas = 0, theseReplicas = 0;
        foreach (var node in _nodes.Values.ToArray())
        {
            now = Now;
            if ((node.Flags & (ClusterNodeFlags.Myself | ClusterNodeFlags.NoAddr | ClusterNodeFlags.Handshake)) != 0) continue;
            if (Myself.IsReplica && node.IsMaster && !node.Failed)
            {
                int ok = node.Replicas.Count(r => !r.Failed && !r.TimedOut);
                if (ok == 0 && node.SlotCount > 0 && (node.Flags & ClusterNodeFlags.MigrateTo) != 0) orphanedMasters++;
                if (ok > maxReplicas) maxReplicas = ok;
                if (Myself.Master == node) theseReplicas = ok;
            }
            long pingDelay = now - node.PingSent;
            long dataDelay = now - node.DataReceived;
            if (node.Link is { } link && now - link.CreatedMs > NodeTimeout && node.PingSent != 0
                && pingDelay > NodeTimeout / 2 && dataDelay > NodeTimeout / 2)
            {
                FreeLink(link); // reconnected by the next cron
            }
            if (node.Link is { Connected: true } l2 && node.PingSent == 0 && now - node.PongReceived > NodeTimeout / 2)
            {
                SendPing(l2, ClusterMessageType.Ping);
                continue;
            }
            if (_mfEnd != 0 && Myself.IsMaster && _mfReplica == node && node.Link is { Connected: true } l3)
            {
                SendPing(l3, ClusterMessageType.Ping);
                continue;
            }
            if (node.PingSent == 0) continue;
            long nodeDelay = Math.Min(pingDelay, dataDelay);
            if (nodeDelay > NodeTimeout && (node.Flags & (ClusterNodeFlags.PFail | ClusterNodeFlags.Fail)) == 0)
            {
                node.Flags |= ClusterNodeFlags.PFail;
                updateState = true;
            }
        }
        // a replica whose replication is off (after a restart from nodes.conf) connects to its master
        if (Myself.IsReplica && !_server.Replication.IsReplica && Myself.Master is { } m && m.HasAddress && m.Ip.Length > 0)
            _server.Replication.SetMaster(m.Ip, m.Port);
        ManualFailoverCheckTimeout();
        if (Myself.IsReplica)
        {
            HandleManualFailover();
            HandleReplicaFailover();
            if (orphanedMasters > 0 && maxReplicas >= 2 && theseReplicas == maxReplicas && _server.Config.ClusterAllowReplicaMigration)
                HandleReplicaMigration(maxReplicas);
        }
        if (updateState || State == StateFail) UpdateState();
    }

    private long _cronIteration;

    /// <summary>clusterBeforeSleep: what the last message or command asked for.</summary>
    public void Flush()
    {
        if (_todoHandleFailover)
        {
            _todoHandleFailover = false;
            if (Myself.IsReplica)
            {
                HandleManualFailover();
                HandleReplicaFailover();
            }
        }
        if (_todoUpdateState) UpdateState();
        if (_todoSave) SaveConfig(fsync: true);
    }

    public void RequestSave() => _todoSave = true;

    public void RequestUpdateState() => _todoUpdateState = true;

    /// <summary>clusterUpdateState: ok when every slot is served by a node not in FAIL (cluster-require-full-coverage)
    /// and a majority of the masters with slots is reachable; a master waits a moment before it says ok.</summary>
    public void UpdateState()
    {
        _todoUpdateState = false;
        long now = Now;
        if (_firstStateCallMs == 0) _firstStateCallMs = now;
        if (Myself.IsMaster && State == StateFail && now - _firstStateCallMs < WritableDelayMs) return;
        byte newState = StateOk;
        if (_server.Config.ClusterRequireFullCoverage)
            for (int j = 0; j < HashSlot.Count; j++)
                if (Slots[j] is null || Slots[j]!.Failed)
                {
                    newState = StateFail;
                    break;
                }
        int reachable = 0;
        Size = 0;
        foreach (var n in _nodes.Values)
            if (n.IsMaster && n.SlotCount > 0)
            {
                Size++;
                if ((n.Flags & (ClusterNodeFlags.Fail | ClusterNodeFlags.PFail)) == 0) reachable++;
            }
        if (reachable < Size / 2 + 1)
        {
            newState = StateFail;
            _amongMinorityMs = now;
        }
        if (newState != State)
        {
            long rejoinDelay = Math.Clamp(NodeTimeout, 500, 5000);
            if (newState == StateOk && Myself.IsMaster && now - _amongMinorityMs < rejoinDelay) return;
            _server.Log.StateChanged(newState == StateOk ? "ok" : "fail");
            State = newState;
        }
    }
}
