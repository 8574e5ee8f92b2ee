using Demikernel.InetStack.Wire;

namespace Demikernel.InetStack.Tests;

/// <summary>The word-at-a-time Internet checksum against RFC 1071's definition, 16-bit big-endian word by word.</summary>
public class ChecksumWordTests
{
    private static ulong Reference(ulong sum, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += (ulong)(data[i] << 8 | data[i + 1]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    [Fact]
    public void EveryLengthAndAlignmentAndChainingMatchesTheDefinition()
    {
        var random = new Random(13);
        var buffer = new byte[1600];
        for (int round = 0; round < 3000; round++)
        {
            // Mostly random bytes; some rounds all 0xFF or all zero, where ones'-complement folding has its edge cases.
            if (round % 10 == 1) buffer.AsSpan().Fill(0xFF);
            else if (round % 10 == 2) buffer.AsSpan().Clear();
            else random.NextBytes(buffer);
            int offset = random.Next(8), length = random.Next(buffer.Length - offset + 1), split = random.Next(length / 2 + 1) * 2;
            var data = buffer.AsSpan(offset, length);
            ulong start = (ulong)random.Next(0x40000);
            ushort expected = Checksum.Finish(Reference(start, data));
            Assert.Equal(expected, Checksum.Finish(Checksum.Accumulate(start, data)));
            // Chained at an even split, as a header and a payload are.
            Assert.Equal(expected, Checksum.Finish(Checksum.Accumulate(Checksum.Accumulate(start, data[..split]), data[split..])));
        }
    }
}
