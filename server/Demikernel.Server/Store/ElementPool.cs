namespace Demikernel.Server.Store;

/// <summary>
/// Recycles the byte arrays of small list elements on the libOS thread: LPOP/RPOP hand a popped element back once its
/// reply is written, and the next LPUSH/RPUSH of a value of the same length copies into it instead of allocating, so
/// a list that is pushed and popped at a steady length allocates nothing per request (as redis-server reuses its
/// listpack's space). A list element's array belongs to that one list only (pushes copy their argument, COPY and
/// snapshots deep-copy), so an array popped and written out is referenced by nothing else.
/// </summary>
/// <remarks>
/// Per thread (each server's store is only touched on its libOS thread), at most <see cref="PerLength"/> arrays for
/// each length up to <see cref="MaxLength"/>: at most ~45 KB held, whatever the workload.
/// </remarks>
internal static class ElementPool
{
    private const int MaxLength = 64;
    private const int PerLength = 8;

    [ThreadStatic] private static byte[]?[]? t_free;
    [ThreadStatic] private static byte[]? t_counts;

    /// <summary>A new array holding <paramref name="value"/>, recycled when one of that length is free.</summary>
    public static byte[] Copy(ReadOnlySpan<byte> value)
    {
        int n = value.Length;
        if ((uint)(n - 1) < MaxLength && t_counts is { } counts && counts[n] is byte k and > 0)
        {
            counts[n] = (byte)(k - 1);
            ref var slot = ref t_free![n * PerLength + k - 1];
            var array = slot!;
            slot = null;
            value.CopyTo(array);
            return array;
        }
        return value.ToArray();
    }

    /// <summary>Takes back <paramref name="array"/>, which nothing references any more.</summary>
    public static void Return(byte[] array)
    {
        int n = array.Length;
        if ((uint)(n - 1) >= MaxLength) return;
        var counts = t_counts ??= new byte[MaxLength + 1];
        var free = t_free ??= new byte[]?[(MaxLength + 1) * PerLength];
        int k = counts[n];
        if (k == PerLength) return;
        free[n * PerLength + k] = array;
        counts[n] = (byte)(k + 1);
    }
}
