using System.Text;

namespace Demikernel.Resp.Tests;

/// <summary>Feeds a byte stream to a consumer in every fragmentation pattern the tests care about.</summary>
internal static class Fragmenter
{
    /// <summary>Chunk boundaries: whole, every two-segment split, and one byte at a time.</summary>
    public static IEnumerable<(string Name, int[] Ends)> Patterns(int length, bool everySplit = true)
    {
        yield return ("whole", [length]);
        if (everySplit)
        {
            for (int k = 1; k < length; k++)
            {
                yield return ($"split@{k}", [k, length]);
            }
        }

        if (length > 1)
        {
            int[] bytes = new int[length];
            for (int i = 0; i < length; i++)
            {
                bytes[i] = i + 1;
            }

            yield return ("bytewise", bytes);
        }
    }

    public static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static string Show(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
