namespace Demikernel.Server.Cluster;

/// <summary>
/// Redis Cluster's key → hash slot mapping (cluster.c keyHashSlot): CRC16 (CCITT/XMODEM: polynomial 0x1021, initial
/// value 0, no reflection) of the key, modulo 16384; when the key has a '{' followed later by a '}' with at least one
/// byte between them, only the bytes between the first '{' and the first '}' after it are hashed (the hash tag).
/// </summary>
internal static class HashSlot
{
    public const int Count = 16384;

    private static readonly ushort[] Table = BuildTable();

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            int crc = i << 8;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            table[i] = (ushort)crc;
        }
        return table;
    }

    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        int crc = 0;
        foreach (byte b in data) crc = ((crc << 8) ^ Table[((crc >> 8) ^ b) & 0xFF]) & 0xFFFF;
        return (ushort)crc;
    }

    /// <summary>The slot (0..16383) of a key.</summary>
    public static int Of(ReadOnlySpan<byte> key)
    {
        int open = key.IndexOf((byte)'{');
        if (open >= 0)
        {
            int close = key[(open + 1)..].IndexOf((byte)'}');
            // "{}" (nothing between) or no '}' at all: the whole key is hashed
            if (close > 0) return Crc16(key.Slice(open + 1, close)) & (Count - 1);
        }
        return Crc16(key) & (Count - 1);
    }
}
