using Demikernel.InetStack.Arp;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Udp;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack;

/// <summary>Counters of one interface. Drops are counted by the <see cref="WireError"/> that caused them.</summary>
internal sealed class InterfaceStats
{
    internal readonly long[] DropsByError = new long[Enum.GetValues<WireError>().Length];
    public long FramesReceived { get; internal set; }
    public long FramesTransmitted { get; internal set; }
    public long TransmitFailures { get; internal set; }
    /// <summary>Frames for another MAC or IP address, or of an EtherType we do not speak.</summary>
    public long NotForUs { get; internal set; }
    /// <summary>UDP datagrams to a port no socket is bound to.</summary>
    public long NoSocket { get; internal set; }
    public long EchoRequestsAnswered { get; internal set; }
    /// <summary>
    /// Payload bytes the stack copied between a received frame and <c>pop</c>: only a pop asking for fewer bytes than a
    /// received segment holds copies (the rest of the time the frame's own buffer is the popped SGA). What the device
    /// copied before the stack saw the frame is the device's count (catnip: <c>DpdkStats.RxBytesCopied</c>).
    /// </summary>
    public long RxPayloadBytesCopied { get; internal set; }
    /// <summary>
    /// Payload bytes the stack copied between <c>push</c> and the device: TCP copies each segment's payload from the
    /// send queue into the frame it builds (a device's own memory where it lends it), UDP gathers multi-segment SGAs.
    /// </summary>
    public long TxPayloadBytesCopied { get; internal set; }
    public long Drops(WireError error) => DropsByError[(int)error];
}

/// <summary>
/// One Ethernet interface with one IPv4 address: demultiplexes received frames to ARP, ICMP, UDP (and later TCP) and
/// sends frames, resolving next hops through ARP.
/// <code>
///   phy.Receive ─▶ Ethernet ─┬─ ARP ─▶ ArpResolver (learn, reply, flush held frames)
///                            └─ IPv4 ─┬─ ICMP echo request ─▶ reply in place, same buffer
///                                     ├─ UDP ─▶ UdpSocket receive queue (buffer adjusted to the payload: no copy)
///                                     └─ TCP ─▶ TcpLayer ─▶ TcpControlBlock (in-order payload queued, no copy)
///   UdpSocket.PushTo ─▶ headers prepended into the SGA's headroom ─▶ ArpResolver.Send ─▶ phy.Transmit
/// </code>
/// </summary>
internal sealed class NetworkInterface
{
    public const int UdpHeadersLength = EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength + UdpDatagram.HeaderLength;

    private readonly IPhysicalLayer _phy;
    private readonly PhyCapabilities _capabilities;
    private readonly Dictionary<ushort, UdpSocket> _udpPorts = [];
    private readonly Dictionary<(Ipv4Address, ushort, ushort), TimeSpan> _echoReplies = [];
    private readonly Dictionary<(Ipv4Address, ushort, ushort), long> _echoSent = [];
    private ushort _nextEphemeral = FirstEphemeralPort;
    private ushort _ipIdentification;
    private Scheduler? _scheduler;
    private BufferPool? _pool;
    private long _frozenNow; // the clock reading of the burst or push in progress (FreezeClock), 0 outside one
    private long _latest;    // the latest reading this interface took: a frozen one never goes back before it
    private readonly double _ticksPerTimeSpanTick;

    public const ushort FirstEphemeralPort = 49152;

    internal NetworkInterface(IPhysicalLayer phy, InetStackOptions options, TimeProvider time)
    {
        _phy = phy;
        _capabilities = phy.Capabilities;
        Options = options;
        Time = time;
        TimestampFrequency = time.TimestampFrequency;
        _ticksPerTimeSpanTick = TimestampFrequency / (double)TimeSpan.TicksPerSecond;
        Arp = new ArpResolver(this, options);
        Tcp = new TcpLayer(this);
    }

    public InetStackOptions Options { get; }
    public TimeProvider Time { get; }
    public ArpResolver Arp { get; }
    public TcpLayer Tcp { get; }
    public InterfaceStats Stats { get; } = new();
    /// <summary>The device's capabilities, fixed when it was made (read once: every segment asks about its offloads,
    /// and through the interface that is a call each time).</summary>
    public PhyCapabilities Capabilities => _capabilities;
    internal Scheduler Scheduler => _scheduler ?? throw new InvalidOperationException("the interface is not attached to a libOS");
    internal BufferPool Pool => _pool ?? throw new InvalidOperationException("the interface is not attached to a libOS");
    /// <summary>
    /// The clock, read once for a whole receive burst or push (<see cref="FreezeClock"/>): TCP reads it several times
    /// per segment (last heard, RTT sample, congestion control, retransmission timer, the ARP entry's expiry), each
    /// read a vDSO clock_gettime of 20-40 ns here, all on the round trip's critical path. What happens within one burst
    /// or one push happens at one instant (as under a virtual clock, which stands still within a pass anyway).
    /// </summary>
    internal long Now
    {
        get
        {
            long frozen = _frozenNow;
            if (frozen == 0) return Read();
            if (frozen != Unread) return frozen;
            return _frozenNow = Read(); // a push's first look at the clock: the reading it keeps
        }
    }

    /// <summary>
    /// <see cref="_frozenNow"/> of a push that has not looked at the clock yet (<see cref="FreezeClock()"/>): its first
    /// <see cref="Now"/> reads it. A push that starts no RTT sample and arms no timer (pipelined requests: one sample
    /// and the retransmission timer are already running) then reads no clock at all.
    /// </summary>
    private const long Unread = long.MinValue;

    private long Read() => _latest = Time.GetTimestamp();
    internal long Ticks(TimeSpan span) => (long)(span.Ticks * _ticksPerTimeSpanTick);

    /// <summary>The clock's <see cref="TimeProvider.TimestampFrequency"/>, read once (a virtual call; TCP converts
    /// ticks to seconds on every ACK).</summary>
    internal long TimestampFrequency { get; }

    /// <summary>Largest UDP payload that fits in one unfragmented packet.</summary>
    public int MaxUdpPayload => Capabilities.Mtu - Ipv4Repr.HeaderLength - UdpDatagram.HeaderLength;

    internal void Attach(DemiLibOS libos)
    {
        _scheduler = libos.Scheduler;
        _pool = libos.Pool;
        Arp.Start(libos.Scheduler);
    }

    internal void CountDrop(WireError error) => Stats.DropsByError[(int)error]++;

    internal bool Offloaded(ChecksumOffload flag) => Capabilities.Offloaded(flag);

    // ------------------------------------------------------------------ receive

    /// <summary>
    /// From here to <see cref="ThawClock"/>, <see cref="Now"/> is one reading. Returns what to pass to ThawClock (nested
    /// freezes keep the outer reading). Always thaw in a finally: a reading left frozen would stop TCP's clock.
    /// </summary>
    internal long FreezeClock()
    {
        long outer = Resolve();
        if (outer == 0) _frozenNow = Unread;
        return outer;
    }

    /// <summary>A freeze not read yet gets its reading now, before a nested freeze could take (and thaw) another one.</summary>
    private long Resolve() => _frozenNow == Unread ? _frozenNow = Read() : _frozenNow;

    /// <summary>
    /// <see cref="FreezeClock()"/> at a reading the caller already has (the libOS pass's, which idle passes reuse): never
    /// earlier than a reading TCP has already seen (a push between passes reads the clock afresh), so its clock
    /// never runs backwards (an RTT sample stays non-negative).
    /// </summary>
    internal long FreezeClock(long now)
    {
        long outer = Resolve();
        if (outer == 0) _frozenNow = Math.Max(now, _latest);
        return outer;
    }

    internal void ThawClock(long outer) => _frozenNow = outer;

    /// <summary>Processes one received frame. The interface owns <paramref name="frame"/> from here on.</summary>
    internal void Receive(DemiBuffer frame)
    {
        Stats.FramesReceived++;
        if (!Dispatch(frame)) Pool.Discard(frame);
    }

    /// <summary>True if the buffer was handed on (to a socket); false if the caller should discard it.</summary>
    private bool Dispatch(DemiBuffer frame)
    {
        var error = EthernetFrame.TryCreate(frame.Span, out var eth);
        if (error != WireError.None)
        {
            CountDrop(error);
            return false;
        }
        var destination = eth.Destination;
        if (destination != Options.LinkAddress && !destination.IsBroadcast)
        {
            Stats.NotForUs++;
            return false;
        }
        switch (eth.EtherType)
        {
            case EtherType.Arp:
                Arp.Receive(eth.Payload);
                return false;
            case EtherType.Ipv4:
                return ReceiveIpv4(frame);
            default:
                Stats.NotForUs++;
                return false;
        }
    }

    private bool ReceiveIpv4(DemiBuffer frame)
    {
        var error = Ipv4Packet.TryCreate(frame.Span[EthernetFrame.HeaderLength..], out var packet);
        if (error == WireError.None) error = Ipv4Repr.Check(packet, verifyChecksum: !Offloaded(ChecksumOffload.Ipv4Rx));
        if (error != WireError.None)
        {
            CountDrop(error);
            return false;
        }
        var dst = packet.Destination;
        if (dst != Options.LocalAddress && !dst.IsBroadcast)
        {
            Stats.NotForUs++;
            return false;
        }
        switch (packet.Protocol)
        {
            case IpProtocol.Icmp:
                ReceiveIcmp(frame, packet);
                return false;
            case IpProtocol.Udp:
                return ReceiveUdp(frame, packet);
            case IpProtocol.Tcp:
                return Tcp.Receive(frame, packet);
            default:
                Stats.NotForUs++;
                return false;
        }
    }

    private void ReceiveIcmp(DemiBuffer frame, Ipv4Packet packet)
    {
        Icmpv4EchoRepr echo = default;
        var error = Icmpv4Packet.TryCreate(packet.Payload, out var icmp);
        if (error == WireError.None) error = Icmpv4EchoRepr.Parse(icmp, out echo, verifyChecksum: !Offloaded(ChecksumOffload.IcmpRx));
        if (error != WireError.None)
        {
            CountDrop(error);
            return;
        }
        if (echo.Type == Icmpv4Type.EchoReply)
        {
            var key = (packet.Source, echo.Identifier, echo.SequenceNumber);
            if (_echoSent.Remove(key, out long sentAt)) _echoReplies[key] = TimeSpan.FromTicks((long)((Now - sentAt) * (TimeSpan.TicksPerSecond / (double)Time.TimestampFrequency)));
            return;
        }
        if (packet.Destination.IsBroadcast) return; // no replies to broadcast pings
        // Turn the request into the reply in place: same buffer, same data, addresses swapped.
        var source = packet.Source;
        var sourceMac = MacAddress.Read(frame.Span[6..]);
        int ipLength = Ipv4Repr.HeaderLength + icmp.Bytes.Length;
        var span = frame.Span[..(EthernetFrame.HeaderLength + ipLength)];
        if (packet.HeaderLength != Ipv4Repr.HeaderLength)
        {
            // Drop the request's IP options: move the ICMP message up behind a plain 20-byte header.
            icmp.Bytes.CopyTo(span[(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength)..]);
        }
        var icmpSpan = span[(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength)..];
        (echo with { Type = Icmpv4Type.EchoReply }).Emit(icmpSpan, computeChecksum: !Offloaded(ChecksumOffload.IcmpTx));
        new Ipv4Repr(Options.LocalAddress, source, IpProtocol.Icmp, icmpSpan.Length, Options.Ttl, NextIdentification())
            .Emit(span[EthernetFrame.HeaderLength..], computeChecksum: !Offloaded(ChecksumOffload.Ipv4Tx));
        new EthernetRepr(Options.LinkAddress, sourceMac, EtherType.Ipv4).Emit(span);
        if (TransmitRaw(span)) Stats.EchoRequestsAnswered++;
    }

    private bool ReceiveUdp(DemiBuffer frame, Ipv4Packet packet)
    {
        var error = UdpDatagram.TryCreate(packet.Payload, out var datagram);
        if (error == WireError.None) error = UdpRepr.Parse(datagram, packet.Source, packet.Destination, out _, verifyChecksum: !Offloaded(ChecksumOffload.UdpRx));
        if (error != WireError.None)
        {
            CountDrop(error);
            return false;
        }
        if (!_udpPorts.TryGetValue(datagram.DestinationPort, out var socket))
        {
            Stats.NoSocket++;
            return false;
        }
        var from = new IPv4Endpoint(packet.Source.Value, datagram.SourcePort);
        // Strip the headers by moving the offset: the application receives the NIC buffer itself.
        int payloadStart = EthernetFrame.HeaderLength + packet.HeaderLength + UdpDatagram.HeaderLength;
        int payloadLength = datagram.Payload.Length;
        frame.Adjust(payloadStart);
        frame.SetLength(payloadLength);
        return socket.Deliver(frame, from);
    }

    // ------------------------------------------------------------------ transmit

    internal bool TransmitRaw(ReadOnlySpan<byte> frame)
    {
        if (_phy.Transmit(frame))
        {
            Stats.FramesTransmitted++;
            return true;
        }
        Stats.TransmitFailures++;
        return false;
    }

    /// <summary>Headers plus a payload left in its own buffer: see <see cref="IPhysicalLayer.TryTransmitChained"/>. False: not sent.</summary>
    internal bool TransmitChained(ReadOnlySpan<byte> headers, DemiBuffer payload, int offset, int length)
    {
        if (!_phy.TryTransmitChained(headers, payload, offset, length)) return false;
        Stats.FramesTransmitted++;
        return true;
    }

    /// <summary>Device memory to build a frame in (empty if the device has none): see <see cref="IPhysicalLayer.TryReserveTransmit"/>.</summary>
    internal Span<byte> ReserveFrame(int length) => _phy.TryReserveTransmit(length);

    /// <summary>Sends a frame built in <see cref="ReserveFrame"/>'s span.</summary>
    internal bool CommitReserved(int length)
    {
        if (_phy.CommitTransmit(length))
        {
            Stats.FramesTransmitted++;
            return true;
        }
        Stats.TransmitFailures++;
        return false;
    }

    internal ushort NextIdentification() => unchecked(_ipIdentification++);

    /// <summary>The address whose MAC a packet to <paramref name="destination"/> is sent to.</summary>
    internal Ipv4Address NextHop(Ipv4Address destination)
    {
        if (destination.IsBroadcast || destination.SameSubnet(Options.LocalAddress, Options.PrefixLength)) return destination;
        return Options.Gateway ?? destination;
    }

    /// <summary>
    /// Writes Ethernet, IPv4 and UDP headers in front of a payload that already sits at
    /// <c>frame[UdpHeadersLength..]</c>, then sends the frame (through ARP if needed).
    /// </summary>
    internal bool SendUdp(Span<byte> frame, ushort sourcePort, IPv4Endpoint to)
    {
        var destination = new Ipv4Address(to.Address);
        int payload = frame.Length - UdpHeadersLength;
        var udp = new UdpRepr(sourcePort, to.Port, payload);
        var ip = new Ipv4Repr(Options.LocalAddress, destination, IpProtocol.Udp, udp.BufferLength, Options.Ttl, NextIdentification());
        udp.Emit(frame[(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength)..], Options.LocalAddress, destination, !Offloaded(ChecksumOffload.UdpTx));
        ip.Emit(frame[EthernetFrame.HeaderLength..], !Offloaded(ChecksumOffload.Ipv4Tx));
        new EthernetRepr(Options.LinkAddress, MacAddress.Zero, EtherType.Ipv4).Emit(frame);
        return Arp.Send(NextHop(destination), frame);
    }

    /// <summary>Sends an ICMP echo request; <see cref="TryGetEchoReply"/> tells when the reply came back.</summary>
    public void SendEchoRequest(Ipv4Address destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        var echo = new Icmpv4EchoRepr(Icmpv4Type.EchoRequest, identifier, sequence, data.Length);
        var ip = new Ipv4Repr(Options.LocalAddress, destination, IpProtocol.Icmp, echo.BufferLength, Options.Ttl, NextIdentification());
        var frame = new byte[EthernetFrame.HeaderLength + ip.BufferLength];
        var icmp = frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength);
        data.CopyTo(icmp[Icmpv4Packet.HeaderLength..]);
        echo.Emit(icmp, !Offloaded(ChecksumOffload.IcmpTx));
        ip.Emit(frame.AsSpan(EthernetFrame.HeaderLength), !Offloaded(ChecksumOffload.Ipv4Tx));
        new EthernetRepr(Options.LinkAddress, MacAddress.Zero, EtherType.Ipv4).Emit(frame);
        _echoSent[(destination, identifier, sequence)] = Now;
        Arp.Send(NextHop(destination), frame);
    }

    /// <summary>The round-trip time of an answered echo request.</summary>
    public bool TryGetEchoReply(Ipv4Address from, ushort identifier, ushort sequence, out TimeSpan rtt) =>
        _echoReplies.TryGetValue((from, identifier, sequence), out rtt);

    // ------------------------------------------------------------------ UDP ports

    internal int BindUdp(UdpSocket socket, ushort port, out ushort bound)
    {
        bound = 0;
        if (port == 0)
        {
            for (int i = 0; i < 65536 - FirstEphemeralPort; i++)
            {
                ushort candidate = _nextEphemeral;
                _nextEphemeral = _nextEphemeral == ushort.MaxValue ? FirstEphemeralPort : (ushort)(_nextEphemeral + 1);
                if (_udpPorts.TryAdd(candidate, socket))
                {
                    bound = candidate;
                    return 0;
                }
            }
            return Errno.EADDRINUSE;
        }
        if (!_udpPorts.TryAdd(port, socket)) return Errno.EADDRINUSE;
        bound = port;
        return 0;
    }

    internal void UnbindUdp(ushort port, UdpSocket socket)
    {
        if (_udpPorts.TryGetValue(port, out var s) && s == socket) _udpPorts.Remove(port);
    }
}
