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

    /// <summary>What anet logs when getaddrinfo cannot read the address (gai_strerror(EAI_NONAME)).</summary>
    public const string NotAnAddress = "Name or service not known";

    /// <summary>When no socket of the family can be made (no IPv6 here): anet's "unable to bind socket, errno: 97".</summary>
    public static string SocketFailed(int errno) => $"unable to bind socket, errno: {errno}";

    /// <summary>When bind or listen fails: anet's "bind: Cannot assign requested address".</summary>
    public static string StepFailed(string step, int errno) => $"{step}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}";

    /// <summary>Protected mode lets in 127.0.0.1 and ::1 exactly, as redis-server 7.0 compares the peer's text.</summary>
    public static bool IsLoopbackPeer(InetEndpoint peer) => peer.IsLoopbackAddress;
}
