using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Demikernel.InetStack.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the ones'-complement of the ones'-complement sum of 16-bit big-endian words.
/// Sums are accumulated in a 64-bit register and folded at the end, so callers can chain a pseudo-header, a header
/// and a payload with <see cref="Accumulate"/> before <see cref="Finish"/>.
/// </summary>
internal static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to a running sum. Chained spans must all but the last have even length.</summary>
    public static ulong Accumulate(ulong sum, ReadOnlySpan<byte> data)
    {
        // Sum 32-bit big-endian words into 64 bits (no overflow for any packet size), then the tail.
        int i = 0;
        var words = MemoryMarshal.Cast<byte, uint>(data);
        foreach (uint w in words) sum += BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(w) : w;
        i = words.Length * 4;
        if (data.Length - i >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            i += 2;
        }
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>Folds a running sum to 16 bits and complements it: the value to store in a header.</summary>
    public static ushort Finish(ulong sum)
    {
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        uint s = (uint)sum;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return (ushort)~s;
    }

    /// <summary>The checksum of one buffer.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Accumulate(0, data));

    /// <summary>True if a buffer whose checksum field is filled in sums to zero, i.e. verifies.</summary>
    public static bool Verify(ReadOnlySpan<byte> data) => Compute(data) == 0;

    /// <summary>The IPv4 pseudo-header sum for TCP and UDP (RFC 793 / RFC 768).</summary>
    public static ulong PseudoHeader(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int length) =>
        (ulong)(source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF) +
        (ulong)(byte)protocol + (ulong)(uint)length;
}
