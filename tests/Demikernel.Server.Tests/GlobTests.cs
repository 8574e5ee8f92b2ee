using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server.Tests;

public class GlobTests
{
    [Theory]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h*llo", "heeeello", true)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    [InlineData("h[b-a]llo", "hallo", true)]
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hello", false)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("a[", "a", false)]
    [InlineData("a[b", "ab", true)]
    [InlineData("*", "", false)] // Redis: '*' never matches the empty string (KEYS * has its own shortcut)
    [InlineData("", "", true)]
    [InlineData("a*", "a", true)]
    [InlineData("a**", "a", true)]
    [InlineData("*a", "a", true)]
    [InlineData("?", "", false)]
    [InlineData("abc", "ab", false)]
    [InlineData("ab", "abc", false)]
    public void MatchesLikeRedis(string pattern, string text, bool expected) => Assert.Equal(expected, Glob.IsMatch(pattern, text));

    [Fact]
    public void IgnoreCase()
    {
        Assert.True(Glob.IsMatch("HeL*", "hello", ignoreCase: true));
        Assert.True(Glob.IsMatch("h[A-Z]llo", "hello", ignoreCase: true));
        Assert.False(Glob.IsMatch("HeL*", "hello"));
    }

    [Fact]
    public void PathologicalPatternsStayFast()
    {
        var text = Encoding.ASCII.GetBytes(new string('a', 5000));
        var pattern = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*a", 30)) + "*b");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(Glob.IsMatch(pattern, text));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void KeysAgreesWithRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        string[] keys = ["", "a", "ab", "abc", "a*c", "a[c", "a]c", "hello", "hallo", "hxllo", "heeeello", "h\\llo", "A-Z", "-", "^x"];
        string[] patterns =
        [
            "*", "**", "?", "a?", "a*", "*c", "a[*]c", "a\\*c", "a[[]c", "a[]]c", "a[", "a[b", "a[^b]c", "h[ae]llo", "h[^e]llo",
            "h[a-e]llo", "h[e-a]llo", "h*llo", "h?llo", "h\\\\llo", "[A-Z]-Z", "[a-]", "[-a]", "\\", "a\\", "[^]x", "*[", "?*?",
        ];
        var mismatches = new List<string>();
        foreach (var key in keys)
        {
            redis.Run("FLUSHALL");
            redis.Run("SET", key, "v");
            h.Db.Clear();
            h.Run("SET", key, "v");
            foreach (var pattern in patterns)
            {
                string expected = redis.Run("KEYS", pattern);
                string actual = h.Run("KEYS", pattern);
                if (expected != actual) mismatches.Add($"key '{key}' pattern '{pattern}': redis {expected.Length > 4} ours {actual.Length > 4}");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
