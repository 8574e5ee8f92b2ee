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

    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text, bool ignoreCase = false) =>
        Match(pattern, text, ignoreCase, 0);

    private static bool Match(ReadOnlySpan<byte> p, ReadOnlySpan<byte> s, bool nocase, int depth)
    {
        if (depth > 1000) return false; // bound recursion on pathological patterns
        while (p.Length > 0 && s.Length > 0)
        {
            switch (p[0])
            {
                case (byte)'*':
                    while (p.Length > 1 && p[1] == (byte)'*') p = p[1..];
                    if (p.Length == 1) return true;
                    for (int i = 0; i < s.Length; i++)
                        if (Match(p[1..], s[i..], nocase, depth + 1)) return true;
                    return false;
                case (byte)'?':
                    s = s[1..];
                    p = p[1..];
                    continue;
                case (byte)'[':
                {
                    p = p[1..];
                    bool not = p.Length > 0 && p[0] == (byte)'^';
                    if (not) p = p[1..];
                    bool match = false;
                    while (true)
                    {
                        if (p.Length == 0) break; // unterminated class: Redis treats the end as closing it
                        if (p[0] == (byte)'\\' && p.Length >= 2)
                        {
                            p = p[1..];
                            if (p[0] == s[0]) match = true;
                        }
                        else if (p[0] == (byte)']')
                        {
                            break;
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
                    p = p.Length > 0 ? p[1..] : p;
                    continue;
                }
                case (byte)'\\':
                    if (p.Length >= 2) p = p[1..];
                    goto default;
                default:
                    if (nocase ? Lower(p[0]) != Lower(s[0]) : p[0] != s[0]) return false;
                    s = s[1..];
                    p = p[1..];
                    continue;
            }
        }
        while (p.Length > 0 && p[0] == (byte)'*') p = p[1..];
        return p.Length == 0 && s.Length == 0;
    }

    private static int Lower(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;
}
