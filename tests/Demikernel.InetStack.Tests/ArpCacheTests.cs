using Demikernel.InetStack.Arp;
using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack.Tests;

/// <summary>The ARP cache's memo of the last entry found (every segment sent looks its next hop up) never answers stale.</summary>
public class ArpCacheTests
{
    private static readonly Ipv4Address A = Ipv4Address.Parse("10.0.0.1"), B = Ipv4Address.Parse("10.0.0.2");
    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a"), MacA2 = MacAddress.Parse("02:00:00:00:00:aa"),
        MacB = MacAddress.Parse("02:00:00:00:00:0b");

    [Fact]
    public void TheLastEntryFoundExpiresAndChangesLikeAnyOther()
    {
        var cache = new ArpCache(ttlTicks: 100);
        cache.Insert(A, MacA, now: 0);
        cache.Insert(B, MacB, now: 50);
        Assert.True(cache.TryLookup(A, 10, out var mac));
        Assert.Equal(MacA, mac);
        Assert.True(cache.TryLookup(A, 20, out mac)); // from the memo
        Assert.Equal(MacA, mac);
        Assert.True(cache.TryLookup(B, 30, out mac)); // another address is not the memo's
        Assert.Equal(MacB, mac);
        Assert.True(cache.TryLookup(A, 40, out mac));
        cache.Insert(A, MacA2, now: 60); // learned anew: the memo must not answer the old MAC
        Assert.True(cache.TryLookup(A, 70, out mac));
        Assert.Equal(MacA2, mac);
        Assert.False(cache.TryLookup(A, 160, out _)); // expired (60 + 100), memo or not
        Assert.False(cache.TryLookup(A, 70, out _)); // and gone
        Assert.True(cache.TryLookup(B, 149, out _));
        cache.Remove(B);
        Assert.False(cache.TryLookup(B, 149, out _));
    }
}
