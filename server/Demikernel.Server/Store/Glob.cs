using System.Text;

namespace Demikernel.Server.Store;

/// <summary>
/// Redis's glob matching (stringmatchlen): <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[^a]</c>, <c>[a-z]</c> and <c>\</c>
/// escapes, over bytes, optionally ASCII case-insensitive. Used by KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE.
/// </summary>
public static class Glob
{
    public static bool IsMatch(string pattern, string text, bool ignoreCase = false) =>
        IsMatch(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(text), ignoreCase);

    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text, bool ignoreCase = false)
    {
        bool skipLongerMatches = false;
        return Match(pattern, text, ignoreCase, ref skipLongerMatches, 0);
    }

    /// <remarks>
    /// Mirrors stringmatchlen_impl, including two of its details: trailing '*'s are only skipped after a character
    /// was consumed (so "*" does not match the empty string, as in Redis), and once the rest of a pattern after a '*'
    /// matched nowhere, no earlier '*' retries longer matches (Redis's skipLongerMatches, which keeps patterns like
    /// "*a*a*a*a*b" linear instead of exponential).
    /// </remarks>
    private static bool Match(ReadOnlySpan<byte> p, ReadOnlySpan<byte> s, bool nocase, ref bool skipLongerMatches, int depth)
    {
        if (depth > 1000) return false; // bound recursion on pathological patterns
        while (p.Length > 0 && s.Length > 0)
        {
            switch (p[0])
            {
                case (byte)'*':
                    while (p.Length > 1 && p[1] == (byte)'*') p = p[1..];
                    if (p.Length == 1) return true;
                    while (s.Length > 0)
                    {
                        if (Match(p[1..], s, nocase, ref skipLongerMatches, depth + 1)) return true;
                        if (skipLongerMatches) return false;
                        s = s[1..];
                    }
                    skipLongerMatches = true;
                    return false;
                case (byte)'?':
                    s = s[1..];
                    break;
                case (byte)'[':
                {
                    p = p[1..];
                    bool not = p.Length > 0 && p[0] == (byte)'^';
                    if (not) p = p[1..];
                    bool match = false;
                    while (true)
                    {
                        if (p.Length >= 2 && p[0] == (byte)'\\')
                        {
                            p = p[1..];
                            if (p[0] == s[0]) match = true;
                        }
                        else if (p.Length > 0 && p[0] == (byte)']')
                        {
                            break;
                        }
                        else if (p.Length == 0)
                        {
                            break; // unterminated class: the end of the pattern closes it
                        }
                        else if (p.Length >= 3 && p[1] == (byte)'-')
                        {
                            int start = p[0], end = p[2], c = s[0];
                            if (start > end) (start, end) = (end, start);
                            if (nocase)
                            {
                                start = Lower(start);
                                end = Lower(end);
                                c = Lower(c);
                            }
                            p = p[2..];
                            if (c >= start && c <= end) match = true;
                        }
                        else if (nocase ? Lower(p[0]) == Lower(s[0]) : p[0] == s[0])
                        {
                            match = true;
                        }
                        p = p[1..];
                    }
                    if (not) match = !match;
                    if (!match) return false;
                    s = s[1..];
                    break;
                }
                case (byte)'\\':
                    if (p.Length >= 2) p = p[1..];
                    goto default;
                default:
                    if (nocase ? Lower(p[0]) != Lower(s[0]) : p[0] != s[0]) return false;
                    s = s[1..];
                    break;
            }
            if (p.Length > 0) p = p[1..]; // the class loop may already have reached the end
            if (s.Length == 0)
            {
                while (p.Length > 0 && p[0] == (byte)'*') p = p[1..];
                break;
            }
        }
        return p.Length == 0 && s.Length == 0;
    }

    private static int Lower(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;
}
