using Demikernel.Runtime;

namespace Demikernel.Server;

/// <summary>
/// One word of redis.conf's <c>bind</c> as redis-server 7.0's listenToPort reads it: a <c>-</c> prefix makes it
/// optional; a word with a colon is IPv6 (<c>::1</c>, <c>fd00::2</c>, <c>::*</c> or <c>::</c> for every IPv6 address),
/// any other IPv4 (<c>*</c> for every IPv4 address, <c>localhost</c>).
/// </summary>
internal static class BindAddress
{
    /// <summary>The endpoint a bind address (without its <c>-</c>) names at <paramref name="port"/>.</summary>
    public static bool TryParse(string address, int port, out InetEndpoint endpoint)
    {
        endpoint = default;
        if (port is < 0 or > 65535) return false;
        if (address.Contains(':')) return InetEndpoint.TryParseIPv6Address(address, (ushort)port, out endpoint);
        if (!IPv4Endpoint.TryParse($"{address}:{port}", out var v4)) return false;
        endpoint = v4.Value;
        return true;
    }

    /// <summary>Protected mode lets in 127.0.0.1 and ::1 exactly, as redis-server 7.0 compares the peer's text.</summary>
    public static bool IsLoopbackPeer(InetEndpoint peer) => peer.IsLoopbackAddress;
}
