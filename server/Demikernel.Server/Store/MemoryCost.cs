namespace Demikernel.Server.Store;

/// <summary>
/// Sizes of the managed objects the store is made of, on 64-bit .NET (measured with
/// GC.GetAllocatedBytesForCurrentThread): the used-memory accounting adds these up as data changes, instead of asking
/// the GC, whose heap size lags behind deletions until the next collection. They are estimates of the live objects;
/// what the GC keeps beyond them (free space between objects, generations not yet collected) shows up in
/// mem_fragmentation_ratio. See the Store README.
/// </summary>
internal static class MemoryCost
{
    /// <summary>Object header + method table pointer.</summary>
    public const int ObjectHeader = 16;

    /// <summary>An array's header (object header + length, padded).</summary>
    public const int ArrayHeader = 24;

    /// <summary>A <see cref="RedisEntry"/> object (64 bytes: header, table, slot, key, value array and length, form,
    /// object, type).</summary>
    public const int Entry = 64;

    /// <summary>An element of a database's TTL array (<see cref="Store.TtlSlot"/>: slot and deadline).</summary>
    public const int TtlSlot = 16;

    /// <summary>A reference-sized slot (bucket, array element).</summary>
    public const int Reference = 8;

    /// <summary>A byte array of <paramref name="length"/> bytes; 0 for the shared empty array.</summary>
    public static long ByteArray(int length) => length == 0 ? 0 : ArrayHeader + ((length + 7) & ~7L);

    /// <summary>An array of <paramref name="length"/> elements of <paramref name="elementSize"/> bytes; 0 for the
    /// shared empty array.</summary>
    public static long Array(int length, int elementSize) => length == 0 ? 0 : ArrayHeader + (((long)length * elementSize + 7) & ~7L);

    /// <summary>
    /// Byte arrays holding <paramref name="count"/> elements of <paramref name="totalBytes"/> bytes in all: headers,
    /// plus 4 bytes of padding on average (each array is rounded up to 8 bytes).
    /// </summary>
    public static long ByteArrays(long count, long totalBytes) => count * (ArrayHeader + 4) + totalBytes;
}
