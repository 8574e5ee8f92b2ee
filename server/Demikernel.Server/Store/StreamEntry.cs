using System.Buffers.Binary;

namespace Demikernel.Server.Store;

/// <summary>
/// The stored form of one stream entry's fields: one array per entry (the only allocation of XADD),
/// <c>[pairs:int32] ([length:int32][bytes])*</c>, field and value alternating.
/// <code>
///   XADD s * name alice age 7   ─▶   02000000 04000000 "name" 05000000 "alice" 03000000 "age" 01000000 "7"
/// </code>
/// </summary>
public static class StreamEntry
{
    /// <summary>Bytes needed for the given total field/value length and pair count.</summary>
    public static int SizeFor(int pairs, long payloadBytes) => checked(4 + pairs * 8 + (int)payloadBytes);

    /// <summary>Starts an entry of <paramref name="pairs"/> pairs; returns the write offset.</summary>
    public static int Begin(byte[] data, int pairs)
    {
        BinaryPrimitives.WriteInt32LittleEndian(data, pairs);
        return 4;
    }

    /// <summary>Appends one field or value at <paramref name="offset"/>; returns the next offset.</summary>
    public static int Put(byte[] data, int offset, ReadOnlySpan<byte> item)
    {
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(offset), item.Length);
        item.CopyTo(data.AsSpan(offset + 4));
        return offset + 4 + item.Length;
    }

    /// <summary>Number of field/value pairs.</summary>
    public static int Pairs(byte[] data) => BinaryPrimitives.ReadInt32LittleEndian(data);

    /// <summary>Reads the item at <paramref name="offset"/> (start with 4) and advances the offset.</summary>
    public static ReadOnlySpan<byte> Next(byte[] data, ref int offset)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
        var item = new ReadOnlySpan<byte>(data, offset + 4, length);
        offset += 4 + length;
        return item;
    }
}
