using System.Buffers.Binary;
using System.Runtime.CompilerServices;
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
        // Eight bytes per step in the machine's byte order, each 64-bit word's two 32-bit halves added into a 64-bit
        // sum (no overflow below 2^46 bytes); the 16-bit fold of that is the big-endian fold byte-swapped (RFC 1071
        // §2(B): the sum is byte-order independent), so one swap at the end instead of one per word.
        ref byte p = ref MemoryMarshal.GetReference(data);
        int n = data.Length, i = 0;
        ulong native = 0;
        for (; i + 8 <= n; i += 8)
        {
            ulong w = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i));
            native += (w & 0xFFFFFFFF) + (w >> 32);
        }
        if (i + 4 <= n)
        {
            native += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i));
            i += 4;
        }
        if (i + 2 <= n)
        {
            native += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref p, i));
            i += 2;
        }
        native = (native & 0xFFFFFFFF) + (native >> 32);
        native = (native & 0xFFFFFFFF) + (native >> 32);
        uint folded = (uint)native;
        folded = (folded & 0xFFFF) + (folded >> 16);
        folded = (folded & 0xFFFF) + (folded >> 16);
        sum += BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness((ushort)folded) : folded;
        if (i < n) sum += (ulong)Unsafe.Add(ref p, i) << 8;
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
    public static ushort Compute(ReadOnlySpan<byte> data) => data.Length == 20 ? Compute20(data) : Finish(Accumulate(0, data));

    /// <summary>
    /// <see cref="Accumulate"/>'s arithmetic for exactly 20 bytes (an IPv4 header without options, checksummed twice per
    /// packet: sent and received) in straight-line code, without the call and the loop.
    /// </summary>
    private static ushort Compute20(ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        ulong a = Unsafe.ReadUnaligned<ulong>(ref p);
        ulong b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, 8));
        ulong native = (a & 0xFFFFFFFF) + (a >> 32) + (b & 0xFFFFFFFF) + (b >> 32) + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, 16));
        native = (native & 0xFFFFFFFF) + (native >> 32);
        native = (native & 0xFFFFFFFF) + (native >> 32);
        uint folded = (uint)native;
        folded = (folded & 0xFFFF) + (folded >> 16);
        folded = (folded & 0xFFFF) + (folded >> 16);
        return Finish(BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness((ushort)folded) : folded);
    }

    /// <summary>True if a buffer whose checksum field is filled in sums to zero, i.e. verifies.</summary>
    public static bool Verify(ReadOnlySpan<byte> data) => Compute(data) == 0;

    /// <summary>The IPv4 pseudo-header sum for TCP and UDP (RFC 793 / RFC 768).</summary>
    public static ulong PseudoHeader(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int length) =>
        (ulong)(source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF) +
        (ulong)(byte)protocol + (ulong)(uint)length;
}
