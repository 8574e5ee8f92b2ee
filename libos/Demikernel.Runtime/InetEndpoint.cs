using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Demikernel.Runtime;

/// <summary>
/// An IPv4 or IPv6 address and port as plain values (24 bytes, no references), so the queue API carries endpoints of
/// both families without allocating. The default value is IPv4 0.0.0.0:0; an <see cref="IPv4Endpoint"/> converts
/// implicitly. IPv6 addresses keep their 16 bytes in network order (two big-endian halves) and a scope id.
/// </summary>
public readonly struct InetEndpoint : IEquatable<InetEndpoint>
{
    // IPv4: _low holds the address in host byte order, _high is 0. IPv6: bytes 0..7 and 8..15, each read big-endian.
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly uint _scopeId;
    private readonly bool _v6;

    private InetEndpoint(ulong high, ulong low, ushort port, uint scopeId, bool v6)
    {
        _high = high;
        _low = low;
        _scopeId = scopeId;
        _v6 = v6;
        Port = port;
    }

    public ushort Port { get; init; }

    public bool IsIPv6 => _v6;
    public AddressFamily Family => _v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;

    /// <summary>IPv6 only: the interface of a link-local address (sin6_scope_id), else 0.</summary>
    public uint ScopeId => _scopeId;

    /// <summary>An IPv6 endpoint from the address's 16 bytes in network order.</summary>
    public static InetEndpoint IPv6(ReadOnlySpan<byte> address, ushort port, uint scopeId = 0)
    {
        if (address.Length != 16) throw new ArgumentException("an IPv6 address has 16 bytes", nameof(address));
        return new(BinaryPrimitives.ReadUInt64BigEndian(address), BinaryPrimitives.ReadUInt64BigEndian(address[8..]), port, scopeId, v6: true);
    }

    /// <summary>::1 (the IPv6 loopback address) at <paramref name="port"/>.</summary>
    public static InetEndpoint IPv6Loopback(ushort port) => new(0, 1, port, 0, v6: true);

    /// <summary>:: (any IPv6 address) at <paramref name="port"/>.</summary>
    public static InetEndpoint IPv6Any(ushort port) => new(0, 0, port, 0, v6: true);

    public static implicit operator InetEndpoint(IPv4Endpoint v4) => new(0, v4.Address, v4.Port, 0, v6: false);

    /// <summary>The IPv4 endpoint; throws for an IPv6 one (see <see cref="TryGetIPv4"/>).</summary>
    public static explicit operator IPv4Endpoint(InetEndpoint e) =>
        e.TryGetIPv4(out var v4) ? v4 : throw new InvalidCastException($"{e} is not an IPv4 endpoint");

    public bool TryGetIPv4(out IPv4Endpoint v4)
    {
        v4 = _v6 ? default : new IPv4Endpoint((uint)_low, Port);
        return !_v6;
    }

    /// <summary>Writes the address in network order: 4 bytes for IPv4, 16 for IPv6. Returns the count written.</summary>
    public int WriteAddress(Span<byte> destination)
    {
        if (!_v6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_low);
            return 4;
        }
        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
        return 16;
    }

    /// <summary>127.0.0.1 or ::1 exactly (the addresses redis-server's protected mode lets in).</summary>
    public bool IsLoopbackAddress => _v6 ? _high == 0 && _low == 1 : _low == 0x7F000001;

    public IPAddress IPAddress
    {
        get
        {
            Span<byte> bytes = stackalloc byte[16];
            int n = WriteAddress(bytes);
            return _v6 ? new IPAddress(bytes[..n], _scopeId) : new IPAddress(bytes[..n]);
        }
    }

    public static InetEndpoint FromIPAddress(IPAddress address, int port)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int n);
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => new(0, BinaryPrimitives.ReadUInt32BigEndian(bytes), checked((ushort)port), 0, v6: false),
            AddressFamily.InterNetworkV6 => IPv6(bytes[..n], checked((ushort)port), (uint)address.ScopeId),
            _ => throw new ArgumentException($"not an IPv4 or IPv6 address: {address}", nameof(address)),
        };
    }

    /// <summary>The address as inet_ntop writes it (IPv6 in RFC 5952's short form, no scope), without the port.</summary>
    public string AddressText
    {
        get
        {
            if (!_v6) return $"{_low >> 24}.{(_low >> 16) & 0xFF}.{(_low >> 8) & 0xFF}.{_low & 0xFF}";
            Span<byte> bytes = stackalloc byte[16];
            WriteAddress(bytes);
            return new IPAddress(bytes).ToString(); // scope id 0: none printed
        }
    }

    /// <summary>
    /// Parses "a.b.c.d:port", "[ipv6]:port" (also "*:port" and "localhost:port" for IPv4, "[::*]:port" for any IPv6
    /// address).
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out InetEndpoint? endpoint)
    {
        endpoint = null;
        if (!text.StartsWith('['))
        {
            if (!IPv4Endpoint.TryParse(text, out var v4)) return false;
            endpoint = v4.Value;
            return true;
        }
        int close = text.IndexOf("]:", StringComparison.Ordinal);
        if (close < 0 || !int.TryParse(text.AsSpan(close + 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port > 65535)
            return false;
        if (!TryParseIPv6Address(text[1..close], (ushort)port, out var v6)) return false;
        endpoint = v6;
        return true;
    }

    /// <summary>An IPv6 address as a bind word names it ("::1", "fd00::2", "::*" or "::" for any), at a port.</summary>
    public static bool TryParseIPv6Address(string address, ushort port, out InetEndpoint endpoint)
    {
        endpoint = default;
        if (address == "::*") address = "::";
        if (!IPAddress.TryParse(address, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6) return false;
        endpoint = FromIPAddress(ip, port);
        return true;
    }

    public bool Equals(InetEndpoint other) =>
        _high == other._high && _low == other._low && Port == other.Port && _scopeId == other._scopeId && _v6 == other._v6;

    public override bool Equals([NotNullWhen(true)] object? obj) => obj is InetEndpoint other && Equals(other);
    public override int GetHashCode() => HashCode.Combine(_high, _low, Port, _scopeId, _v6);
    public static bool operator ==(InetEndpoint left, InetEndpoint right) => left.Equals(right);
    public static bool operator !=(InetEndpoint left, InetEndpoint right) => !left.Equals(right);

    /// <summary>"a.b.c.d:port" or "[ipv6]:port", as redis-server formats a peer (anetFormatAddr).</summary>
    public override string ToString() => _v6 ? $"[{AddressText}]:{Port}" : $"{AddressText}:{Port}";
}
