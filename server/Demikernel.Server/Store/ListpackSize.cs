using Demikernel.Resp;

namespace Demikernel.Server.Store;

/// <summary>
/// How many bytes redis's listpack (listpack.c) spends on an element, without building one: what a stream node's
/// byte limit (stream-node-max-bytes) is measured in. An element is its encoding (type bits, length, data) followed by
/// a back-length of 1-5 bytes; a string that reads as a canonical int64 (string2ll) is stored as an integer.
/// <code>
///   integer  0..127: 1   ±4 K: 2   int16: 3   int24: 4   int32: 5   int64: 9      (+ back-length)
///   string   len &lt; 64: 1 + len   &lt; 4096: 2 + len   else 5 + len              (+ back-length)
///   listpack header 6 (total bytes, element count) + end byte 1
/// </code>
/// </summary>
internal static class ListpackSize
{
    /// <summary>A listpack's header and end byte.</summary>
    public const int Empty = 7;

    /// <summary>An integer element, back-length included.</summary>
    public static int Integer(long v)
    {
        int encoded = v switch
        {
            >= 0 and <= 127 => 1,
            >= -4096 and <= 4095 => 2,
            >= short.MinValue and <= short.MaxValue => 3,
            >= -8388608 and <= 8388607 => 4,
            >= int.MinValue and <= int.MaxValue => 5,
            _ => 9,
        };
        return encoded + 1; // every integer encoding is ≤ 127 bytes: a one-byte back-length
    }

    /// <summary>A string element (stored as an integer when it reads as one), back-length included.</summary>
    public static long String(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 20 && RedisNumbers.TryParseInt64(s, out long v)) return Integer(v);
        long encoded = s.Length < 64 ? 1 + s.Length : s.Length < 4096 ? 2 + s.Length : 5L + s.Length;
        return encoded + BackLength(encoded);
    }

    /// <summary>lpEncodeBacklen's size for an element of <paramref name="encoded"/> bytes.</summary>
    private static int BackLength(long encoded) => encoded switch
    {
        <= 127 => 1,
        < 16383 => 2,
        < 2097151 => 3,
        < 268435455 => 4,
        _ => 5,
    };
}
