using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack;

/// <summary>Addresses and tunables of one InetStack instance (Demikernel's <c>demikernel:</c> and <c>inetstack_config:</c>).</summary>
internal sealed record InetStackOptions
{
    public required MacAddress LinkAddress { get; init; }
    public required Ipv4Address LocalAddress { get; init; }
    /// <summary>On-link prefix; destinations outside it go through <see cref="Gateway"/>.</summary>
    public int PrefixLength { get; init; } = 24;
    public Ipv4Address? Gateway { get; init; }

    /// <summary>How long a learned ARP entry stays valid.</summary>
    public TimeSpan ArpCacheTtl { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Wait for a reply before asking again.</summary>
    public TimeSpan ArpRequestTimeout { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Requests sent before a resolution fails (the first included).</summary>
    public int ArpRetries { get; init; } = 5;
    /// <summary>Frames held per unresolved address while ARP runs; older ones are dropped first.</summary>
    public int ArpPendingFrames { get; init; } = 16;
    /// <summary>Entries that never expire and are never asked for (Demikernel's <c>arp_table</c>).</summary>
    public IReadOnlyDictionary<Ipv4Address, MacAddress> StaticArpTable { get; init; } = new Dictionary<Ipv4Address, MacAddress>();

    /// <summary>Datagrams a UDP socket keeps for the application before dropping new ones.</summary>
    public int UdpReceiveQueueLength { get; init; } = 1024;

    public byte Ttl { get; init; } = Ipv4Repr.DefaultTtl;

    public TcpOptions Tcp { get; init; } = new();
}

/// <summary>TCP tunables (Demikernel's <c>tcp_socket_options</c> and part of <c>inetstack_config</c>).</summary>
internal sealed record TcpOptions
{
    /// <summary>Bytes a connection buffers for the application before its window closes.</summary>
    public int ReceiveBufferSize { get; init; } = 256 * 1024;
    /// <summary>Bytes a connection accepts from pushes before they wait.</summary>
    public int SendBufferSize { get; init; } = 256 * 1024;
    /// <summary>Largest segment we accept (advertised in the MSS option); 0 = from the MTU.</summary>
    public int Mss { get; init; }
    /// <summary>RFC 6298: initial 1 s, floor 1 s (Linux uses 200 ms), ceiling 60 s.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MinRto { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Retransmissions of a SYN before a connect fails with ETIMEDOUT.</summary>
    public int SynRetries { get; init; } = 6;
    /// <summary>Retransmissions of data before the connection is aborted with ETIMEDOUT.</summary>
    public int DataRetries { get; init; } = 12;
    /// <summary>TIME-WAIT length (2 MSL). It never blocks <c>Close</c>: the connection lingers detached.</summary>
    public TimeSpan TimeWait { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Key for RFC 6528 initial sequence numbers; fixed in tests so runs repeat.</summary>
    public byte[] IsnSecret { get; init; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
    /// <summary>Congestion control of new connections (NewReno or CUBIC).</summary>
    public Tcp.CongestionControlKind CongestionControl { get; init; } = Tcp.CongestionControlKind.Cubic;
    /// <summary>Offer and use selective acknowledgments (RFC 2018, recovery per RFC 6675).</summary>
    public bool Sack { get; init; } = true;
    /// <summary>Initial congestion window in segments (RFC 6928).</summary>
    public int InitialCongestionWindow { get; init; } = 10;
    /// <summary>
    /// How long an ACK may wait for a second segment or for outgoing data to ride on; zero (the default) ACKs every
    /// segment at once. Outgoing data always carries the ACK, so request/response traffic never waits for this timer.
    /// </summary>
    public TimeSpan DelayedAck { get; init; }
    /// <summary>Idle time before keepalive probes start; null (the default) = no keepalive.</summary>
    public TimeSpan? KeepAliveIdle { get; init; }
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(75);
    /// <summary>Unanswered probes before the connection fails with ETIMEDOUT.</summary>
    public int KeepAliveProbes { get; init; } = 9;
    /// <summary>How long a closed connection waits in FIN-WAIT-2 for the peer's FIN (Linux's tcp_fin_timeout).</summary>
    public TimeSpan FinWait2Timeout { get; init; } = TimeSpan.FromSeconds(60);
}
