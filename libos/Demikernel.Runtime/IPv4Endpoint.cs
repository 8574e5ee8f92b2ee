using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Demikernel.Runtime;

/// <summary>An IPv4 address and port as plain values (address in host byte order), so results carry peers without allocating.</summary>
public readonly record struct IPv4Endpoint(uint Address, ushort Port)
{
    public static readonly IPv4Endpoint Any = new(0, 0);

    public static IPv4Endpoint Loopback(ushort port) => new(0x7F000001, port);

    public static IPv4Endpoint FromIPAddress(IPAddress address, int port)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new ArgumentException($"only IPv4 addresses are supported, got {address}", nameof(address));
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return new IPv4Endpoint(BinaryPrimitives.ReadUInt32BigEndian(bytes), checked((ushort)port));
    }

    public IPAddress IPAddress
    {
        get
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, Address);
            return new IPAddress(bytes);
        }
    }

    public static bool TryParse(string text, [NotNullWhen(true)] out IPv4Endpoint? endpoint)
    {
        endpoint = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is < 0 or > 65535)
            return false;
        string host = text[..colon];
        if (host is "*" or "") host = "0.0.0.0";
        if (host == "localhost") host = "127.0.0.1";
        if (!IPAddress.TryParse(host, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            return false;
        endpoint = FromIPAddress(ip, port);
        return true;
    }

    public static IPv4Endpoint Parse(string text) =>
        TryParse(text, out var e) ? e.Value : throw new FormatException($"'{text}' is not an IPv4 endpoint of the form a.b.c.d:port");

    public override string ToString() => $"{Address >> 24}.{(Address >> 16) & 0xFF}.{(Address >> 8) & 0xFF}.{Address & 0xFF}:{Port}";
}
