using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack.Arp;

/// <summary>IPv4 → MAC mappings with expiry; static entries never expire and are never overwritten by traffic.</summary>
internal sealed class ArpCache
{
    private readonly Dictionary<Ipv4Address, Entry> _entries = [];
    private readonly long _ttl;

    private readonly record struct Entry(MacAddress Mac, long ExpiresAt, bool Static);

    // The last entry a lookup found (a copy: Insert and Remove forget it).
    private Ipv4Address _lastIp;
    private Entry _last;
    private bool _hasLast;

    /// <param name="ttlTicks">Lifetime of a learned entry, in clock ticks.</param>
    public ArpCache(long ttlTicks, IReadOnlyDictionary<Ipv4Address, MacAddress>? staticEntries = null)
    {
        _ttl = ttlTicks;
        if (staticEntries is not null)
            foreach (var (ip, mac) in staticEntries) _entries[ip] = new Entry(mac, long.MaxValue, true);
    }

    public int Count => _entries.Count;

    /// <summary>The last entry found, if it is <paramref name="ip"/>'s and static: an answer that needs no clock reading.</summary>
    public bool TryLookupStatic(Ipv4Address ip, out MacAddress mac)
    {
        if (_hasLast && _last.Static && ip == _lastIp)
        {
            mac = _last.Mac;
            return true;
        }
        mac = default;
        return false;
    }

    public bool TryLookup(Ipv4Address ip, long now, out MacAddress mac)
    {
        // Every segment sent looks its next hop up, nearly always the same one as the last: answer that without hashing.
        if (_hasLast && ip == _lastIp && _last.ExpiresAt > now)
        {
            mac = _last.Mac;
            return true;
        }
        if (_entries.TryGetValue(ip, out var e))
        {
            if (e.ExpiresAt > now)
            {
                (_lastIp, _last, _hasLast) = (ip, e, true);
                mac = e.Mac;
                return true;
            }
            _entries.Remove(ip);
            _hasLast = false;
        }
        mac = default;
        return false;
    }

    /// <summary>True if an entry (even an expired one) exists: RFC 826 updates those on any ARP packet.</summary>
    public bool Contains(Ipv4Address ip) => _entries.ContainsKey(ip);

    public void Insert(Ipv4Address ip, MacAddress mac, long now)
    {
        if (_entries.TryGetValue(ip, out var e) && e.Static) return;
        _entries[ip] = new Entry(mac, now + _ttl, false);
        _hasLast = false;
    }

    public void Remove(Ipv4Address ip)
    {
        if (_entries.TryGetValue(ip, out var e) && !e.Static)
        {
            _entries.Remove(ip);
            _hasLast = false;
        }
    }
}
