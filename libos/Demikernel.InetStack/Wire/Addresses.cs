using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Demikernel.InetStack.Wire;

/// <summary>A 48-bit Ethernet address, held in the low bits of a <see cref="ulong"/> in wire order (first byte highest).</summary>
internal readonly record struct MacAddress
{
    public const int Length = 6;

    private readonly ulong _value;

    public MacAddress(ulong value) => _value = value & 0xFFFF_FFFF_FFFF;

    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFF);
    public static readonly MacAddress Zero = default;

    public ulong Value => _value;

    /// <summary>Group bit (least significant bit of the first byte): multicast or broadcast.</summary>
    public bool IsMulticast => (_value & 0x0100_0000_0000) != 0;
    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFF;
    public bool IsUnicast => !IsMulticast && _value != 0;

    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));

    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)(_value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], (uint)_value);
    }

    /// <summary>Parses "02:00:00:00:00:0a" (colons or dashes).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress mac)
    {
        mac = default;
        if (text.Length != 17) return false;
        ulong v = 0;
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text[i * 3 - 1] is not (':' or '-')) return false;
            if (!byte.TryParse(text.Slice(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b)) return false;
            v = (v << 8) | b;
        }
        mac = new MacAddress(v);
        return true;
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"'{text}' is not a MAC address like 02:00:00:00:00:01");

    public override string ToString() => string.Create(17, _value, static (span, v) =>
    {
        for (int i = 0; i < 6; i++)
        {
            byte b = (byte)(v >> (40 - 8 * i));
            if (i > 0) span[i * 3 - 1] = ':';
            b.TryFormat(span.Slice(i * 3, 2), out _, "x2", CultureInfo.InvariantCulture);
        }
    });
}

/// <summary>An IPv4 address in host byte order (same convention as <see cref="Runtime.IPv4Endpoint.Address"/>).</summary>
internal readonly record struct Ipv4Address(uint Value)
{
    public const int Length = 4;

    public static readonly Ipv4Address Any = default;
    public static readonly Ipv4Address Broadcast = new(0xFFFF_FFFF);

    public Ipv4Address(byte a, byte b, byte c, byte d) : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d) { }

    public bool IsUnspecified => Value == 0;
    public bool IsBroadcast => Value == 0xFFFF_FFFF;
    public bool IsMulticast => (Value >> 28) == 0xE;
    public bool IsLoopback => (Value >> 24) == 127;

    public static Ipv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);

    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Address address)
    {
        address = default;
        uint v = 0;
        int parts = 0;
        foreach (var range in text.Split('.'))
        {
            if (++parts > 4) return false;
            var part = text[range];
            if (part.Length is 0 or > 3 || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out byte b)) return false;
            v = (v << 8) | b;
        }
        if (parts != 4) return false;
        address = new Ipv4Address(v);
        return true;
    }

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 address like 10.0.0.1");

    /// <summary>True if <paramref name="other"/> is in the same subnet for a prefix of <paramref name="prefixLength"/> bits.</summary>
    public bool SameSubnet(Ipv4Address other, int prefixLength)
    {
        uint mask = prefixLength <= 0 ? 0 : prefixLength >= 32 ? uint.MaxValue : ~(uint.MaxValue >> prefixLength);
        return (Value & mask) == (other.Value & mask);
    }

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}

/// <summary>IP protocol numbers this stack knows.</summary>
internal enum IpProtocol : byte
{
    Icmp = 1,
    Tcp = 6,
    Udp = 17,
}

/// <summary>EtherType values this stack knows.</summary>
internal enum EtherType : ushort
{
    Ipv4 = 0x0800,
    Arp = 0x0806,
    Ipv6 = 0x86DD,
}
