using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack;

/// <summary>Addresses and tunables of one InetStack instance (Demikernel's <c>demikernel:</c> and <c>inetstack_config:</c>).</summary>
public sealed record InetStackOptions
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
}
