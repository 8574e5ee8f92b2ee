using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>Options shared by the collection SCAN commands.</summary>
internal static class ScanOptions
{
    /// <summary>
    /// The MATCH and COUNT options of SSCAN, HSCAN and ZSCAN from argument <paramref name="first"/> on; false after an
    /// error reply. <paramref name="patternArg"/> is 0 when there is no pattern (or it is "*").
    /// </summary>
    public static bool TryParse(ref CommandContext c, int first, out long count, out int patternArg)
    {
        count = 10;
        patternArg = 0;
        for (int i = first; i < c.Count; i++)
        {
            bool hasValue = c.Count - i >= 2;
            if (hasValue && c.ArgIs(i, "COUNT"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(i + 1), out count))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return false;
                }
                if (count < 1)
                {
                    c.Reply.Error(Errors.Syntax);
                    return false;
                }
                i++;
            }
            else if (hasValue && c.ArgIs(i, "MATCH"u8))
            {
                var p = c.Arg(i + 1);
                patternArg = p.Length == 1 && p[0] == (byte)'*' ? 0 : i + 1;
                i++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }
}
