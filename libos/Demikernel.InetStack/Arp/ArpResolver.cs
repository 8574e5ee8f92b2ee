using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Arp;

/// <summary>
/// ARP for one interface (RFC 826): answers requests for our address, learns from requests and replies addressed to
/// us, and resolves next hops for outgoing frames. A frame to an unresolved address is held (a bounded number per
/// address) while requests go out every <see cref="InetStackOptions.ArpRequestTimeout"/>; after
/// <see cref="InetStackOptions.ArpRetries"/> unanswered requests the held frames are dropped. Retries run as a
/// timer task on the libOS scheduler.
/// </summary>
internal sealed class ArpResolver : IRunnable
{
    private readonly NetworkInterface _iface;
    private readonly InetStackOptions _options;
    private readonly Dictionary<Ipv4Address, Pending> _pending = [];
    private readonly List<Ipv4Address> _scratch = [];
    private TaskHandle _task;

    private sealed class Pending
    {
        public int RequestsSent;
        public long NextRetry;
        public readonly Queue<byte[]> Frames = new();
    }

    internal ArpResolver(NetworkInterface iface, InetStackOptions options)
    {
        _iface = iface;
        _options = options;
        Cache = new ArpCache(iface.Ticks(options.ArpCacheTtl), options.StaticArpTable);
    }

    public ArpCache Cache { get; }
    public long RequestsSent { get; private set; }
    public long RepliesSent { get; private set; }
    public long Failures { get; private set; }
    public long FramesDropped { get; private set; }
    public int PendingResolutions => _pending.Count;

    internal void Start(Scheduler scheduler) => _task = scheduler.Insert(this);

    /// <summary>Handles an ARP packet (the Ethernet payload).</summary>
    internal void Receive(Span<byte> payload)
    {
        if (ArpRepr.TryParse(payload, out var arp) is var error && error != WireError.None)
        {
            _iface.CountDrop(error);
            return;
        }
        long now = _iface.Now;
        bool forUs = arp.TargetIp == _options.LocalAddress;
        if (arp.SenderIp.IsUnspecified) return; // an ARP probe (RFC 5227): nothing to learn
        if (forUs || Cache.Contains(arp.SenderIp)) Learn(arp.SenderIp, arp.SenderMac, now);
        if (forUs && arp.Operation == ArpOperation.Request)
        {
            var reply = new ArpRepr(ArpOperation.Reply, _options.LinkAddress, _options.LocalAddress, arp.SenderMac, arp.SenderIp);
            Send(reply, arp.SenderMac);
            RepliesSent++;
        }
    }

    private void Learn(Ipv4Address ip, MacAddress mac, long now)
    {
        Cache.Insert(ip, mac, now);
        if (!_pending.Remove(ip, out var pending)) return;
        while (pending.Frames.TryDequeue(out var frame))
        {
            mac.Write(frame);
            _iface.TransmitRaw(frame);
        }
    }

    /// <summary>The link address of a resolved (or broadcast) next hop; false if it needs ARP first.</summary>
    internal bool TryResolved(Ipv4Address nextHop, out MacAddress mac)
    {
        if (nextHop.IsBroadcast)
        {
            mac = MacAddress.Broadcast;
            return true;
        }
        return Cache.TryLookupStatic(nextHop, out mac) || Cache.TryLookup(nextHop, _iface.Now, out mac);
    }

    /// <summary>
    /// Sends a complete frame (Ethernet header in place, destination MAC to be filled) to <paramref name="nextHop"/>:
    /// at once if the address is resolved, else after resolution (the frame is copied). <paramref name="reserved"/>: the
    /// frame lives in the device's memory (<see cref="NetworkInterface.ReserveFrame"/>) and is sent by committing it.
    /// </summary>
    internal bool Send(Ipv4Address nextHop, Span<byte> frame, bool reserved = false)
    {
        if (nextHop.IsBroadcast)
        {
            MacAddress.Broadcast.Write(frame);
            return reserved ? _iface.CommitReserved(frame.Length) : _iface.TransmitRaw(frame);
        }
        // A static entry needs no clock (it never expires): a push that reads none elsewhere reads none here.
        if (Cache.TryLookupStatic(nextHop, out var mac) || Cache.TryLookup(nextHop, _iface.Now, out mac))
        {
            mac.Write(frame);
            return reserved ? _iface.CommitReserved(frame.Length) : _iface.TransmitRaw(frame);
        }
        // Copy the frame before the ARP request goes out: a reserved frame's memory is the device's next transmit.
        bool ask = false;
        if (!_pending.TryGetValue(nextHop, out var pending))
        {
            pending = new Pending();
            _pending.Add(nextHop, pending);
            ask = true;
        }
        if (pending.Frames.Count >= _options.ArpPendingFrames)
        {
            pending.Frames.Dequeue();
            FramesDropped++;
        }
        pending.Frames.Enqueue(frame.ToArray());
        if (ask) SendRequest(nextHop, pending, _iface.Now);
        return true;
    }

    private void SendRequest(Ipv4Address target, Pending pending, long now)
    {
        Send(new ArpRepr(ArpOperation.Request, _options.LinkAddress, _options.LocalAddress, MacAddress.Zero, target), MacAddress.Broadcast);
        RequestsSent++;
        pending.RequestsSent++;
        pending.NextRetry = now + _iface.Ticks(_options.ArpRequestTimeout);
        _iface.Scheduler.WakeAt(_task, pending.NextRetry);
    }

    private void Send(in ArpRepr arp, MacAddress destination)
    {
        Span<byte> frame = stackalloc byte[EthernetFrame.HeaderLength + ArpPacket.Ipv4EthernetLength];
        new EthernetRepr(_options.LinkAddress, destination, EtherType.Arp).Emit(frame);
        arp.Emit(frame[EthernetFrame.HeaderLength..]);
        _iface.TransmitRaw(frame);
    }

    /// <summary>The retry timer: re-asks or gives up on every resolution whose wait is over.</summary>
    void IRunnable.Run()
    {
        long now = _iface.Now;
        _scratch.Clear();
        foreach (var (ip, pending) in _pending)
            if (pending.NextRetry <= now) _scratch.Add(ip);
        foreach (var ip in _scratch)
        {
            var pending = _pending[ip];
            if (pending.RequestsSent >= _options.ArpRetries)
            {
                _pending.Remove(ip);
                Failures++;
                FramesDropped += pending.Frames.Count;
                continue;
            }
            SendRequest(ip, pending, now);
        }
    }
}
