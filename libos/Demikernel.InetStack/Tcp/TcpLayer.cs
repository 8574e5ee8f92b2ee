using System.Buffers.Binary;
using System.Security.Cryptography;
using Demikernel.InetStack.Arp;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>Counters of the TCP layer.</summary>
internal sealed class TcpStats
{
    public long SegmentsReceived { get; internal set; }
    public long SegmentsSent { get; internal set; }
    /// <summary>Segments whose payload went to the device in the application's own buffer, chained behind the headers (no copy).</summary>
    public long SegmentsSentChained { get; internal set; }
    public long Retransmissions { get; internal set; }
    public long ResetsSent { get; internal set; }
    /// <summary>Segments kept in the reassembly queue because they arrived ahead of a gap.</summary>
    public long OutOfOrderQueued { get; internal set; }
    /// <summary>Retransmissions started by three duplicate ACKs.</summary>
    public long FastRetransmits { get; internal set; }
    /// <summary>Retransmission timer expiries that went back to the first unacknowledged byte.</summary>
    public long Timeouts { get; internal set; }
    /// <summary>Retransmissions resent again because SACKs showed them lost (instead of waiting for a timeout).</summary>
    public long LostRetransmissions { get; internal set; }
    /// <summary>Tail loss probes sent (RFC 8985 §7).</summary>
    public long TailLossProbes { get; internal set; }
    public long WindowProbes { get; internal set; }
    public long KeepAliveProbes { get; internal set; }
    /// <summary>Connections reset because the application closed them with unread data.</summary>
    public long ResetsOnClose { get; internal set; }
    public long ChecksumErrors { get; internal set; }
}

/// <summary>
/// TCP for one interface: the connection table (4-tuple → control block), listeners by port, RSTs for segments that
/// match nothing, RFC 6528 initial sequence numbers, and segment output.
/// </summary>
internal sealed class TcpLayer
{
    internal readonly record struct FourTuple(ushort LocalPort, Ipv4Address RemoteAddress, ushort RemotePort);

    private readonly NetworkInterface _iface;
    private readonly Dictionary<FourTuple, TcpControlBlock> _connections = [];
    private readonly Dictionary<ushort, TcpListener> _listeners = [];
    private readonly HashSet<ushort> _boundPorts = [];
    private ushort _nextEphemeral = NetworkInterface.FirstEphemeralPort;
    private readonly List<TcpControlBlock> _passAcks = [];
    // The connection the last segment went to: a request/response flow's next segment nearly always goes to the same
    // one, answered without hashing the 4-tuple. Only ever a connection in the table (Add and Remove forget it).
    private TcpControlBlock? _lastReceiver;
    private readonly byte[] _scratchFrame; // a frame's worth (Ethernet header + MTU) to build segments in (see Send)
    private bool _scratchBusy;

    internal TcpLayer(NetworkInterface iface)
    {
        _iface = iface;
        Options = iface.Options.Tcp;
        int mss = Options.Mss > 0 ? Options.Mss : iface.Capabilities.Mtu - Ipv4Repr.HeaderLength - TcpSegment.MinHeaderLength;
        Mss = Math.Min(mss, ushort.MaxValue);
        // Advertise the smallest shift that lets the whole receive buffer show in the 16-bit window.
        while (WindowScale < 14 && (Options.ReceiveBufferSize >> WindowScale) > ushort.MaxValue) WindowScale++;
        _scratchFrame = new byte[EthernetFrame.HeaderLength + iface.Capabilities.Mtu];
        MinRtoTicks = iface.Ticks(Options.MinRto);
        MaxRtoTicks = iface.Ticks(Options.MaxRto);
        ClockGranularityTicks = iface.Ticks(TimeSpan.FromMilliseconds(1));
    }

    // RFC 6298's bounds in clock ticks, converted once (every ACK of new data recomputes the RTO, every segment sent arms it).
    internal long MinRtoTicks { get; }
    internal long MaxRtoTicks { get; }
    /// <summary>RFC 6298's G, the clock granularity the RTO allows for: 1 ms.</summary>
    internal long ClockGranularityTicks { get; }

    /// <summary>Queues <paramref name="tcb"/>'s ACK for the end of the libOS pass (<see cref="FlushPassAcks"/>).</summary>
    internal void AckAtEndOfPass(TcpControlBlock tcb)
    {
        if (tcb.PassAckQueued) return;
        tcb.PassAckQueued = true;
        _passAcks.Add(tcb);
    }

    /// <summary>The end of a libOS pass (the next device poll, or before blocking): every ACK still owed goes out.</summary>
    internal void FlushPassAcks()
    {
        if (_passAcks.Count == 0) return;
        for (int i = 0; i < _passAcks.Count; i++)
        {
            var tcb = _passAcks[i];
            tcb.PassAckQueued = false;
            tcb.FlushPassAck();
        }
        _passAcks.Clear();
    }

    public TcpOptions Options { get; }
    public TcpStats Stats { get; } = new();
    public int Mss { get; }
    public byte WindowScale { get; }
    public int ConnectionCount => _connections.Count;
    internal IEnumerable<TcpControlBlock> Connections => _connections.Values;
    internal NetworkInterface Interface => _iface;

    // ------------------------------------------------------------------ ports and tables

    internal int BindPort(ushort port, out ushort bound)
    {
        bound = port;
        if (port != 0) return _boundPorts.Add(port) ? 0 : Errno.EADDRINUSE;
        for (int i = 0; i < 65536 - NetworkInterface.FirstEphemeralPort; i++)
        {
            ushort candidate = _nextEphemeral;
            _nextEphemeral = _nextEphemeral == ushort.MaxValue ? NetworkInterface.FirstEphemeralPort : (ushort)(_nextEphemeral + 1);
            if (_boundPorts.Add(candidate))
            {
                bound = candidate;
                return 0;
            }
        }
        return Errno.EADDRINUSE;
    }

    internal void ReleasePort(ushort port) => _boundPorts.Remove(port);

    internal void AddListener(ushort port, TcpListener listener) => _listeners[port] = listener;
    internal void RemoveListener(ushort port) => _listeners.Remove(port);
    internal void AddConnection(TcpControlBlock tcb)
    {
        _connections[tcb.Tuple] = tcb;
        _lastReceiver = null;
    }

    internal void RemoveConnection(TcpControlBlock tcb)
    {
        if (_connections.TryGetValue(tcb.Tuple, out var existing) && existing == tcb)
        {
            _connections.Remove(tcb.Tuple);
            _lastReceiver = null;
        }
    }

    /// <summary>The connection for <paramref name="tuple"/>, if there is one.</summary>
    private bool TryGetConnection(in FourTuple tuple, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TcpControlBlock? tcb)
    {
        tcb = _lastReceiver;
        if (tcb is not null && tcb.Tuple == tuple) return true;
        if (!_connections.TryGetValue(tuple, out tcb)) return false;
        _lastReceiver = tcb;
        return true;
    }

    /// <summary>RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock, F a keyed hash.</summary>
    internal SeqNumber InitialSequenceNumber(FourTuple tuple)
    {
        Span<byte> input = stackalloc byte[12];
        _iface.Options.LocalAddress.Write(input);
        BinaryPrimitives.WriteUInt16BigEndian(input[4..], tuple.LocalPort);
        tuple.RemoteAddress.Write(input[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[10..], tuple.RemotePort);
        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(Options.IsnSecret, input, hash);
        long micros = _iface.Now * 1_000_000 / _iface.Time.TimestampFrequency;
        return new SeqNumber(unchecked((uint)(micros / 4) + BinaryPrimitives.ReadUInt32BigEndian(hash)));
    }

    // ------------------------------------------------------------------ receive

    /// <summary>Handles a TCP segment. True if <paramref name="frame"/> was kept (its payload queued for the application).</summary>
    internal bool Receive(DemiBuffer frame, Ipv4Packet packet)
    {
        var error = TcpSegment.TryCreate(packet.Payload, out var segment);
        TcpRepr repr = default;
        if (error == WireError.None)
            error = TcpRepr.Parse(segment, packet.Source, packet.Destination, out repr, verifyChecksum: !_iface.Offloaded(ChecksumOffload.TcpRx));
        if (error != WireError.None)
        {
            if (error == WireError.BadChecksum) Stats.ChecksumErrors++;
            _iface.CountDrop(error);
            return false;
        }
        Stats.SegmentsReceived++;
        if (packet.Destination.IsBroadcast) return false;
        var tuple = new FourTuple(repr.DestinationPort, packet.Source, repr.SourcePort);
        int payloadOffset = EthernetFrame.HeaderLength + packet.HeaderLength + segment.HeaderLength;
        if (TryGetConnection(tuple, out var tcb)) return tcb.Receive(repr, frame, payloadOffset);
        if (_listeners.TryGetValue(repr.DestinationPort, out var listener))
        {
            listener.ReceiveOnListen(repr, packet.Source);
            return false;
        }
        SendResetFor(repr, packet.Source);
        return false;
    }

    /// <summary>RFC 9293 §3.10.7.1: the reply to a segment for a connection that does not exist.</summary>
    internal void SendResetFor(in TcpRepr segment, Ipv4Address remote)
    {
        if ((segment.Flags & TcpFlags.Rst) != 0) return;
        TcpRepr rst;
        if ((segment.Flags & TcpFlags.Ack) != 0)
            rst = new TcpRepr(segment.DestinationPort, segment.SourcePort, segment.AckNumber, default, TcpFlags.Rst, 0, 0);
        else
        {
            int length = segment.PayloadLength + ((segment.Flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((segment.Flags & TcpFlags.Fin) != 0 ? 1 : 0);
            rst = new TcpRepr(segment.DestinationPort, segment.SourcePort, default, segment.SequenceNumber + length, TcpFlags.Rst | TcpFlags.Ack, 0, 0);
        }
        Stats.ResetsSent++;
        Send(remote, rst, null, 0);
    }

    // ------------------------------------------------------------------ send

    /// <summary>Builds and sends one segment whose payload is <c>repr.PayloadLength</c> bytes of <paramref name="data"/> from <paramref name="dataOffset"/>.</summary>
    internal void Send(Ipv4Address remote, in TcpRepr repr, SendQueue? data, int dataOffset)
    {
        int headerLength = repr.HeaderLength;
        int length = EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength + headerLength + repr.PayloadLength;
        // Zero copy: the payload stays in the application's buffer (device memory: catnip's mbuf) and goes out chained
        // behind the headers, when the device can do that, the bytes are in one buffer and the next hop is resolved.
        if (repr.PayloadLength > 0 && _iface.Capabilities.ChainedTransmit && TrySendChained(remote, repr, headerLength, data!, dataOffset)) return;
        // Built in the device's own memory when it offers it (catnip: an mbuf), so the payload is copied once, from
        // the send queue straight into the frame the device sends.
        var reserved = _iface.ReserveFrame(length);
        if (!reserved.IsEmpty)
        {
            Build(reserved[..length], remote, repr, headerLength, data, dataOffset);
            _iface.Arp.Send(_iface.NextHop(remote), reserved[..length], reserved: true);
            Stats.SegmentsSent++;
            return;
        }
        // Otherwise in the layer's own scratch frame: the device reads a transmitted frame during the call only, so one
        // buffer serves every segment (no pool rent and return per segment). Busy only if a device's transmit came back
        // into this layer (then the pool serves); an exception leaves it busy for good, which costs only that shortcut.
        if (length <= _scratchFrame.Length && !_scratchBusy)
        {
            _scratchBusy = true;
            var frame = _scratchFrame.AsSpan(0, length);
            Build(frame, remote, repr, headerLength, data, dataOffset);
            _iface.Arp.Send(_iface.NextHop(remote), frame);
            Stats.SegmentsSent++;
            _scratchBusy = false;
            return;
        }
        var buffer = _iface.Pool.Rent(length);
        try
        {
            var frame = buffer.Span;
            Build(frame, remote, repr, headerLength, data, dataOffset);
            _iface.Arp.Send(_iface.NextHop(remote), frame);
            Stats.SegmentsSent++;
        }
        finally
        {
            _iface.Pool.Discard(buffer);
        }
    }

    private bool TrySendChained(Ipv4Address remote, in TcpRepr repr, int tcpHeaderLength, SendQueue data, int dataOffset)
    {
        if (!data.TryGetContiguous(dataOffset, repr.PayloadLength, out var segment, out int start) || !segment.IsForeign) return false;
        if (!_iface.Arp.TryResolved(_iface.NextHop(remote), out var mac)) return false;
        int headerLength = EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength + tcpHeaderLength;
        Span<byte> headers = stackalloc byte[EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength + TcpSegment.MaxHeaderLength];
        headers = headers[..headerLength];
        int ip = EthernetFrame.HeaderLength;
        var local = _iface.Options.LocalAddress;
        var payload = segment.Span.Slice(start, repr.PayloadLength);
        repr.EmitHeader(headers[(ip + Ipv4Repr.HeaderLength)..], tcpHeaderLength, local, remote, payload, !_iface.Offloaded(ChecksumOffload.TcpTx));
        new Ipv4Repr(local, remote, IpProtocol.Tcp, tcpHeaderLength + repr.PayloadLength, _iface.Options.Ttl, _iface.NextIdentification())
            .Emit(headers[ip..], !_iface.Offloaded(ChecksumOffload.Ipv4Tx));
        new EthernetRepr(_iface.Options.LinkAddress, mac, EtherType.Ipv4).Emit(headers);
        if (!_iface.TransmitChained(headers, segment, start, repr.PayloadLength)) return false;
        Stats.SegmentsSent++;
        Stats.SegmentsSentChained++;
        return true;
    }

    /// <summary>The frame's headers and payload; the destination MAC is left for <see cref="ArpResolver.Send"/> to fill.</summary>
    private void Build(Span<byte> frame, Ipv4Address remote, in TcpRepr repr, int headerLength, SendQueue? data, int dataOffset)
    {
        int headers = EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength;
        var tcp = frame[headers..];
        int payload = repr.PayloadLength;
        if (payload > 0)
        {
            data!.Peek(dataOffset, tcp.Slice(headerLength, payload));
            _iface.Stats.TxPayloadBytesCopied += payload;
        }
        var options = _iface.Options;
        var local = options.LocalAddress;
        repr.Emit(tcp, headerLength, local, remote, !_iface.Offloaded(ChecksumOffload.TcpTx));
        new Ipv4Repr(local, remote, IpProtocol.Tcp, headerLength + payload, options.Ttl, _iface.NextIdentification())
            .Emit(frame[EthernetFrame.HeaderLength..], !_iface.Offloaded(ChecksumOffload.Ipv4Tx));
        options.LinkAddress.Write(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], (ushort)EtherType.Ipv4);
    }
}
