using System.Text;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Phy;

/// <summary>Writes a one-line summary of every frame sent and received (tcpdump-like) to a sink.</summary>
internal sealed class Tracer : PhysicalLayerDecorator
{
    private readonly Action<string> _sink;
    private readonly TimeProvider? _time;
    private readonly string _name;

    public Tracer(IPhysicalLayer inner, Action<string> sink, string name = "", TimeProvider? time = null) : base(inner)
    {
        _sink = sink;
        _name = name;
        _time = time;
    }

    public override bool Transmit(ReadOnlySpan<byte> frame)
    {
        bool sent = base.Transmit(frame);
        Emit(sent ? "tx" : "tx-dropped", frame);
        return sent;
    }

    public override int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        int n = base.Receive(pool, frames);
        for (int i = 0; i < n; i++) Emit("rx", frames[i]!.Span);
        return n;
    }

    private void Emit(string direction, ReadOnlySpan<byte> frame)
    {
        var sb = new StringBuilder();
        if (_time is not null) sb.Append(_time.GetTimestamp() * 1_000_000 / _time.TimestampFrequency).Append("us ");
        if (_name.Length > 0) sb.Append(_name).Append(' ');
        sb.Append(direction).Append(' ').Append(Describe(frame));
        _sink(sb.ToString());
    }

    /// <summary>A one-line description of a frame, e.g. "10.0.0.1:5000 > 10.0.0.2:7000 UDP len 5".</summary>
    public static string Describe(ReadOnlySpan<byte> frame)
    {
        var copy = frame.ToArray(); // views are over writable spans; tracing is not a hot path
        if (EthernetFrame.TryCreate(copy, out var eth) != WireError.None) return $"runt frame ({frame.Length} bytes)";
        var head = $"{eth.Source} > {eth.Destination}";
        switch (eth.EtherType)
        {
            case EtherType.Arp:
                var arpError = ArpRepr.TryParse(eth.Payload, out var arp);
                if (arpError != WireError.None) return $"{head} ARP {arpError.Describe()}";
                return arp.Operation == ArpOperation.Request
                    ? $"{head} ARP who-has {arp.TargetIp} tell {arp.SenderIp}"
                    : $"{head} ARP {arp.SenderIp} is-at {arp.SenderMac}";
            case EtherType.Ipv4:
                var ipError = Ipv4Packet.TryCreate(eth.Payload, out var ip);
                if (ipError != WireError.None) return $"{head} IPv4 {ipError.Describe()}";
                ipError = Ipv4Repr.Parse(ip, out var ipRepr);
                if (ipError != WireError.None) return $"{ip.Source} > {ip.Destination} IPv4 {ipError.Describe()}";
                return DescribeIp(ip, ipRepr);
            default:
                return $"{head} ethertype 0x{(ushort)eth.EtherType:x4} len {eth.Payload.Length}";
        }
    }

    private static string DescribeIp(Ipv4Packet ip, Ipv4Repr repr)
    {
        switch (repr.Protocol)
        {
            case IpProtocol.Icmp:
                var icmpError = Icmpv4EchoRepr.TryParse(ip.Payload, out var echo);
                return icmpError != WireError.None
                    ? $"{repr.Source} > {repr.Destination} ICMP {icmpError.Describe()}"
                    : $"{repr.Source} > {repr.Destination} ICMP echo {(echo.Type == Icmpv4Type.EchoRequest ? "request" : "reply")} id {echo.Identifier} seq {echo.SequenceNumber}";
            case IpProtocol.Udp:
                var udpError = UdpRepr.TryParse(ip.Payload, repr.Source, repr.Destination, out var udp);
                return udpError != WireError.None
                    ? $"{repr.Source} > {repr.Destination} UDP {udpError.Describe()}"
                    : $"{repr.Source}:{udp.SourcePort} > {repr.Destination}:{udp.DestinationPort} UDP len {udp.PayloadLength}";
            case IpProtocol.Tcp:
                var tcpError = TcpRepr.TryParse(ip.Payload, repr.Source, repr.Destination, out var tcp);
                return tcpError != WireError.None
                    ? $"{repr.Source} > {repr.Destination} TCP {tcpError.Describe()}"
                    : $"{repr.Source}:{tcp.SourcePort} > {repr.Destination}:{tcp.DestinationPort} TCP [{tcp.Flags}] seq {tcp.SequenceNumber} ack {tcp.AckNumber} win {tcp.WindowSize} len {tcp.PayloadLength}";
            default:
                return $"{repr.Source} > {repr.Destination} proto {(byte)repr.Protocol} len {repr.PayloadLength}";
        }
    }
}
