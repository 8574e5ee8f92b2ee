namespace Demikernel.Fuzz;

/// <summary>One fuzz target: a name (the driver's argument, the corpus folder), what it feeds, and a body that
/// throws <see cref="InvariantException"/> (or anything else) when the component misbehaves on the input.</summary>
internal sealed record FuzzTarget(string Name, string Description, SharpFuzz.ReadOnlySpanAction Run);

/// <summary>A broken invariant: the input made the component do something no input may make it do.</summary>
internal sealed class InvariantException(string message) : Exception(message);

internal static class Invariant
{
    public static void True(bool condition, string what)
    {
        if (!condition) throw new InvariantException(what);
    }

    /// <summary>Bytes allocated on this thread by <paramref name="action"/>, checked against a bound proportional to
    /// what the input can hold: a length read from the input must never buy more memory than the input justifies.</summary>
    public static void AllocationBounded(long before, long limit, string what)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > limit) throw new InvariantException($"{what}: allocated {allocated} bytes, more than the bound {limit}");
    }
}

/// <summary>Every target, by name.</summary>
internal static class FuzzTargets
{
    public static readonly FuzzTarget[] All =
    [
        new("resp-request", "RespRequestScanner: client requests, whole and fragmented", RespTargets.RequestScanner),
        new("resp-frame", "RespFrameScanner + RespReader: any RESP2/RESP3 frame", RespTargets.FrameReader),
        new("restore", "DUMP/RESTORE payload decoders (every RDB value type) via RdbSerializer", RdbTargets.Restore),
        new("rdb", "RdbLoader: whole RDB files", RdbTargets.RdbFile),
        new("aof", "AofLoader: an AOF file (RDB preamble + commands through the dispatcher)", AofTargets.AofFile),
        new("hll", "HyperLogLog commands on a string value from the input (sparse and dense decoding)", AofTargets.Hll),
        new("aof-manifest", "AofManifest.Parse: the appendonly manifest", AofTargets.Manifest),
        new("config-yaml", "LibOSConfig: the YAML config file and its typed getters", ConfigTargets.Yaml),
        new("redis-conf", "RedisConfFile + ServerConfig.LoadDirective: a redis.conf, every directive applied", RedisConfTargets.RedisConf),
        new("ethernet", "InetStack EthernetFrame / EthernetRepr", WireTargets.Ethernet),
        new("arp", "InetStack ArpPacket / ArpRepr", WireTargets.Arp),
        new("ipv4", "InetStack Ipv4Packet / Ipv4Repr", WireTargets.Ipv4),
        new("tcp", "InetStack TcpSegment / TcpRepr (options, SACK)", WireTargets.Tcp),
        new("udp", "InetStack UdpDatagram / UdpRepr", WireTargets.Udp),
        new("icmp", "InetStack Icmpv4Packet / Icmpv4EchoRepr", WireTargets.Icmp),
    ];

    public static FuzzTarget? Find(string name) => Array.Find(All, t => t.Name == name);
}
