using Demikernel.InetStack.Wire;

namespace Demikernel.Fuzz;

/// <summary>
/// InetStack's wire views. The input is one frame or packet of the layer. Invariants: a checked constructor
/// (TryCreate) either refuses with a <see cref="WireError"/> or yields a view on which every accessor works (none
/// throws: that is what "checked" promises); a Repr that parses is emitted into a fresh buffer and parses back equal
/// (checksums computed on emit and verified on the way back).
/// </summary>
internal static class WireTargets
{
    private static readonly Ipv4Address Source = new(0x0A00_0001);
    private static readonly Ipv4Address Destination = new(0x0A00_0002);

    /// <summary>A writable copy: the views take <see cref="Span{T}"/>, the fuzzer's input is read-only.</summary>
    private static byte[] Copy(ReadOnlySpan<byte> input) => input.ToArray();

    public static void Ethernet(ReadOnlySpan<byte> input)
    {
        var buffer = Copy(input);
        if (EthernetFrame.TryCreate(buffer, out var frame) != WireError.None) return;
        _ = frame.Destination;
        _ = frame.Source;
        _ = frame.EtherType;
        _ = frame.Payload.Length;
        Invariant.True(EthernetRepr.TryParse(buffer, out var repr) == WireError.None, "a frame TryCreate accepts fails TryParse");
        var again = new byte[Math.Max(repr.BufferLength, EthernetFrame.MinimumLength)];
        repr.Emit(again);
        Invariant.True(EthernetRepr.TryParse(again, out var back) == WireError.None && back == repr, $"{repr} came back as {back}");
    }

    public static void Arp(ReadOnlySpan<byte> input)
    {
        var buffer = Copy(input);
        if (ArpPacket.TryCreate(buffer, out var packet) != WireError.None) return;
        _ = packet.HardwareType;
        _ = packet.ProtocolType;
        _ = packet.Operation;
        _ = packet.SenderHardwareAddress.Length + packet.SenderProtocolAddress.Length +
            packet.TargetHardwareAddress.Length + packet.TargetProtocolAddress.Length;
        if (ArpRepr.Parse(packet, out var repr) != WireError.None) return;
        var again = new byte[repr.BufferLength];
        repr.Emit(again);
        Invariant.True(ArpRepr.TryParse(again, out var back) == WireError.None && back == repr, $"{repr} came back as {back}");
    }

    public static void Ipv4(ReadOnlySpan<byte> input)
    {
        var buffer = Copy(input);
        if (Ipv4Packet.TryCreate(buffer, out var packet) != WireError.None) return;
        _ = packet.Version + packet.HeaderLength + packet.Dscp + packet.Ecn + packet.TotalLength + packet.Identification;
        _ = packet.DontFragment | packet.MoreFragments | packet.IsFragment;
        _ = packet.FragmentOffset + packet.Ttl + packet.HeaderChecksum;
        _ = packet.Protocol;
        _ = packet.Source;
        _ = packet.Destination;
        _ = packet.Options.Length + packet.Header.Length + packet.Payload.Length;
        _ = packet.VerifyChecksum();
        if (Ipv4Repr.Parse(packet, out var repr, verifyChecksum: false) != WireError.None) return;
        Invariant.True(repr.PayloadLength >= 0 && repr.PayloadLength <= buffer.Length, $"payload length {repr.PayloadLength}");
        var again = new byte[repr.BufferLength];
        repr.Emit(again);
        Invariant.True(Ipv4Repr.TryParse(again, out var back) == WireError.None && back == repr, $"{repr} came back as {back}");
    }

    public static void Tcp(ReadOnlySpan<byte> input)
    {
        var buffer = Copy(input);
        if (TcpSegment.TryCreate(buffer, out var segment) != WireError.None) return;
        _ = segment.SourcePort + segment.DestinationPort + segment.HeaderLength + segment.WindowSize + segment.Checksum + segment.UrgentPointer;
        _ = segment.SequenceNumber;
        _ = segment.AckNumber;
        _ = segment.Flags;
        _ = segment.Options.Length + segment.Payload.Length + segment.Bytes.Length + segment.SegmentLength;
        _ = segment.VerifyChecksum(Source, Destination);
        if (TcpRepr.Parse(segment, Source, Destination, out var repr, verifyChecksum: false) != WireError.None) return;
        Invariant.True(repr.PayloadLength >= 0 && repr.PayloadLength <= buffer.Length, $"payload length {repr.PayloadLength}");
        var again = new byte[repr.BufferLength];
        repr.Emit(again, Source, Destination);
        // what comes back is what a sender writes: SACK blocks beyond the 40 bytes of options are left out
        Invariant.True(TcpRepr.TryParse(again, Source, Destination, out var back) == WireError.None && back == repr with { Sack = repr.EmittedSack },
            $"{repr} came back as {back}");
    }

    public static void Udp(ReadOnlySpan<byte> input)
    {
        var buffer = Copy(input);
        if (UdpDatagram.TryCreate(buffer, out var datagram) != WireError.None) return;
        _ = datagram.SourcePort + datagram.DestinationPort + datagram.Length + datagram.Checksum;
        _ = datagram.Payload.Length + datagram.Bytes.Length;
        _ = datagram.VerifyChecksum(Source, Destination);
        if (UdpRepr.Parse(datagram, Source, Destination, out var repr, verifyChecksum: false) != WireError.None) return;
        Invariant.True(repr.PayloadLength >= 0 && repr.PayloadLength <= buffer.Length, $"payload length {repr.PayloadLength}");
        var again = new byte[repr.BufferLength];
        repr.Emit(again, Source, Destination);
        Invariant.True(UdpRepr.TryParse(again, Source, Destination, out var back) == WireError.None && back == repr, $"{repr} came back as {back}");
    }

    public static void Icmp(ReadOnlySpan<byte> input)
    {
        var buffer = Copy(input);
        if (Icmpv4Packet.TryCreate(buffer, out var packet) != WireError.None) return;
        _ = packet.Type;
        _ = packet.Code + packet.Checksum + packet.Identifier + packet.SequenceNumber;
        _ = packet.Data.Length + packet.Bytes.Length;
        _ = packet.VerifyChecksum();
        if (Icmpv4EchoRepr.Parse(packet, out var repr, verifyChecksum: false) != WireError.None) return;
        Invariant.True(repr.DataLength >= 0 && repr.DataLength <= buffer.Length, $"data length {repr.DataLength}");
        var again = new byte[repr.BufferLength];
        repr.Emit(again);
        Invariant.True(Icmpv4EchoRepr.TryParse(again, out var back) == WireError.None && back == repr, $"{repr} came back as {back}");
    }
}
