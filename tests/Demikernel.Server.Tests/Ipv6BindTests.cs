using Demikernel.Runtime;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Tests;

/// <summary>
/// bind words with IPv6 on a libOS without IPv6 (catloop): as redis-server 7.0's listenToPort, an IPv6 address is
/// skipped with its warning (the socket of that family cannot be made: EAFNOSUPPORT), required or optional, and the
/// server listens on the rest. The IPv6 listeners themselves are tested on catnap in the integration tests.
/// </summary>
public sealed class Ipv6BindTests
{
    [Fact]
    public void Ipv6AddressesAreSkippedWithRedisLogLineWhereTheLibOSHasNoIpv6()
    {
        using var log = new CapturedLog(LogLevel.Information);
        using var libos = Demikernel.LibOS.Create("catloop");
        var server = new RedisServer(libos, new ServerOptions { Port = 7100, Bind = "* ::1 -::*", Save = "" }, log.Logger, log.Level);
        Assert.Equal(0, server.Start());
        try
        {
            var listening = Assert.Single(server.ListenEndpoints); // "*" only
            Assert.False(listening.IsIPv6);
            Assert.Equal(7100, listening.Port);
            var warnings = log.Lines().Where(l => l.Contains("Could not create", StringComparison.Ordinal)).Select(l => l[(l.IndexOf(" # ", StringComparison.Ordinal) + 3)..]).ToArray();
            Assert.Equal(
            [
                "Warning: Could not create server TCP listening socket ::1:7100: unable to bind socket, errno: 97",
                "Warning: Could not create server TCP listening socket ::*:7100: unable to bind socket, errno: 97",
            ], warnings);
        }
        finally
        {
            server.Stop();
        }
    }

    [Theory]
    [InlineData("::1", "[::1]:6379")]
    [InlineData("::*", "[::]:6379")]
    [InlineData("::", "[::]:6379")]
    [InlineData("fd00::2", "[fd00::2]:6379")]
    [InlineData("*", "0.0.0.0:6379")]
    [InlineData("127.0.0.1", "127.0.0.1:6379")]
    [InlineData("localhost", "127.0.0.1:6379")]
    public void BindWordsNameTheirEndpoints(string word, string endpoint)
    {
        Assert.True(BindAddress.TryParse(word, 6379, out var at));
        Assert.Equal(endpoint, at.ToString());
    }

    [Theory]
    [InlineData("::1", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.2", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    public void ProtectedModeLetsInTheLoopbackAddressesRedisLetsIn(string peer, bool loopback) =>
        Assert.Equal(loopback, BindAddress.IsLoopbackPeer(InetEndpoint.FromIPAddress(System.Net.IPAddress.Parse(peer), 1)));
}
