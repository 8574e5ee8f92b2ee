namespace Demikernel.InetStack.Tests;

/// <summary>
/// Frames captured with tcpdump on a veth pair between two Linux network namespaces (10.99.0.1 at 02:00:00:00:00:0a,
/// 10.99.0.2 at 02:00:00:00:00:0b): an ARP exchange, a ping, a UDP datagram, a TCP handshake and a RST from a closed
/// port. Checksums were left to software (`ethtool -K ... tx off`), so every one verifies. Byte literals, so the tests need no capture file.
/// </summary>
internal static class Golden
{
    public static byte[] Hex(string text)
    {
        var clean = new string(text.Where(Uri.IsHexDigit).ToArray());
        return Convert.FromHexString(clean);
    }

    public static byte[] ArpRequest => Hex("""
        ffff ffff ffff 0200 0000 000a 0806 0001
        0800 0604 0001 0200 0000 000a 0a63 0001
        0000 0000 0000 0a63 0002
        """);

    public static byte[] ArpReply => Hex("""
        0200 0000 000a 0200 0000 000b 0806 0001
        0800 0604 0002 0200 0000 000b 0a63 0002
        0200 0000 000a 0a63 0001
        """);

    public static byte[] EchoRequest => Hex("""
        0200 0000 000b 0200 0000 000a 0800 4500
        0024 d81b 4000 4001 4df5 0a63 0001 0a63
        0002 0800 8ad7 04be 0001 6869 0000 0000
        0000
        """);

    public static byte[] EchoReply => Hex("""
        0200 0000 000a 0200 0000 000b 0800 4500
        0024 7b5e 0000 4001 eab2 0a63 0002 0a63
        0001 0000 92d7 04be 0001 6869 0000 0000
        0000
        """);

    /// <summary>10.99.0.1:5000 -> 10.99.0.2:7000 "hello".</summary>
    public static byte[] UdpHello => Hex("""
        0200 0000 000b 0200 0000 000a 0800 4500
        0021 ddd9 4000 4011 482a 0a63 0001 0a63
        0002 1388 1b58 000d 7859 6865 6c6c 6f
        """);

    /// <summary>SYN 10.99.0.1:40750 -> 10.99.0.2:6379, options mss 1460, sackOK, TS val 3288093086 ecr 0, nop, wscale 10.</summary>
    public static byte[] TcpSyn => Hex("""
        0200 0000 000b 0200 0000 000a 0800 4500
        003c 94c5 4000 4006 912e 0a63 0001 0a63
        0002 9f2e 18eb 1eae cc71 0000 0000 a002
        faf0 7f6f 0000 0204 05b4 0402 080a c3fc
        519e 0000 0000 0103 030a
        """);

    /// <summary>SYN-ACK seq 1337299335 ack 514772082 win 65160, TS val 4223110622 ecr 3288093086.</summary>
    public static byte[] TcpSynAck => Hex("""
        0200 0000 000a 0200 0000 000b 0800 4500
        003c 0000 4000 4006 25f4 0a63 0002 0a63
        0001 18eb 9f2e 4fb5 9187 1eae cc72 a012
        fe88 10f3 0000 0204 05b4 0402 080a fbb7
        8dde c3fc 519e 0103 030a
        """);

    /// <summary>ACK with timestamps only (nop, nop, TS).</summary>
    public static byte[] TcpAck => Hex("""
        0200 0000 000b 0200 0000 000a 0800 4500
        0034 94c6 4000 4006 9135 0a63 0001 0a63
        0002 9f2e 18eb 1eae cc72 4fb5 9188 8010
        003f 3e0c 0000 0101 080a c3fc 519e fbb7
        8dde
        """);

    /// <summary>RST+ACK from closed port 6380 to 36156: seq 0 ack 2258100154 win 0.</summary>
    public static byte[] TcpRst => Hex("""
        0200 0000 000a 0200 0000 000b 0800 4500
        0028 0000 4000 4006 2608 0a63 0002 0a63
        0001 18ec 8d3c 0000 0000 8697 dfba 5014
        0000 8e8d 0000
        """);

    public static IEnumerable<byte[]> All =>
        [ArpRequest, ArpReply, EchoRequest, EchoReply, UdpHello, TcpSyn, TcpSynAck, TcpAck, TcpRst];
}
