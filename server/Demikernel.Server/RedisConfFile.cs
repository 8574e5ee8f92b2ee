using System.Text;

namespace Demikernel.Server;

/// <summary>One directive of a redis.conf: where it is (for error messages), the line as written, and its words.</summary>
public sealed record ConfigDirective(string File, int Line, string Text, string Name, string[] Args);

/// <summary>A redis.conf that cannot be read or parsed; the message is redis-server's (see <see cref="RedisConfFile"/>).</summary>
public sealed class RedisConfException(string message) : Exception(message);

/// <summary>
/// Reads redis.conf files as redis-server 7.0 does (config.c loadServerConfigFromString): one directive per line, lines
/// trimmed, <c>#</c> comments and blank lines skipped, words split by <see cref="SplitArgs"/> (sdssplitargs's quoting),
/// the directive name case-insensitive, <c>include PATH</c> read in place (a PATH with <c>* ? [</c> is a glob, which may
/// match nothing). Directives are returned in order; applying them is <see cref="ServerConfig.LoadDirective"/>'s job.
/// </summary>
public static class RedisConfFile
{
    /// <summary>redis-server's header of a fatal configuration error.</summary>
    public static string FatalHeader => $"*** FATAL CONFIG FILE ERROR (Redis {Commands.ServerInfo.RedisVersion}) ***";

    /// <summary>The message redis-server prints (to stderr) before exiting on a bad line.</summary>
    public static string FatalLine(ConfigDirective at, string error) =>
        $"\n{FatalHeader}\nReading the configuration file, at line {at.Line}\n>>> '{at.Text}'\n{error}";

    public static List<ConfigDirective> Load(string path)
    {
        var into = new List<ConfigDirective>();
        Read(path, into, depth: 0);
        return into;
    }

    private static void Read(string path, List<ConfigDirective> into, int depth)
    {
        // redis-server has no limit and recurses until its stack ends; a loop of includes is refused here instead
        if (depth > 64) throw new RedisConfException($"Fatal error, can't open config file '{path}': too many levels of include");
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.Latin1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RedisConfException($"Fatal error, can't open config file '{path}': {Reason(e)}");
        }
        ReadText(path, text, into, depth, followIncludes: true);
    }

    /// <summary>The directives of a redis.conf given as text, without following its includes (each is returned as an
    /// `include` directive): the fuzz target's entry, which must not read whatever file an input names.</summary>
    internal static List<ConfigDirective> Parse(string text, string name)
    {
        var into = new List<ConfigDirective>();
        ReadText(name, text, into, 0, followIncludes: false);
        return into;
    }

    private static void ReadText(string path, string text, List<ConfigDirective> into, int depth, bool followIncludes)
    {
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0 || line[0] == '#') continue;
            var at = new ConfigDirective(path, i + 1, line, "", []);
            string[]? argv = SplitArgs(line);
            if (argv is null) throw new RedisConfException(FatalLine(at, "Unbalanced quotes in configuration line"));
            if (argv.Length == 0) continue;
            string name = argv[0].ToLowerInvariant();
            if (name == "include" && argv.Length == 2 && followIncludes)
            {
                foreach (string file in Expand(argv[1])) Read(file, into, depth + 1);
                continue;
            }
            into.Add(at with { Name = name, Args = argv[1..] });
        }
    }

    /// <summary>An include's files: the path itself, or the sorted matches of a glob in its last component.</summary>
    private static IEnumerable<string> Expand(string pattern)
    {
        if (pattern.IndexOfAny(['*', '?', '[']) < 0) return [pattern];
        string dir = Path.GetDirectoryName(pattern) is { Length: > 0 } d ? d : ".";
        string name = Path.GetFileName(pattern);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFileSystemEntries(dir)
            .Where(f => Store.Glob.IsMatch(name, Path.GetFileName(f)))
            .Order(StringComparer.Ordinal).ToArray();
    }

    private static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => e.Message,
    };

    /// <summary>
    /// redis's sdssplitargs: words separated by blanks; "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes;
    /// 'single quotes' with \' only; a closing quote must be followed by a blank or the end. Null for unbalanced quotes.
    /// </summary>
    public static string[]? SplitArgs(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        int p = 0;
        while (true)
        {
            while (p < line.Length && IsSpace(line[p])) p++;
            if (p >= line.Length) return [.. words];
            bool inq = false, insq = false, done = false;
            current.Clear();
            while (!done)
            {
                if (inq)
                {
                    if (p >= line.Length) return null;
                    if (line[p] == '\\' && p + 3 < line.Length && line[p + 1] == 'x' && IsHex(line[p + 2]) && IsHex(line[p + 3]))
                    {
                        current.Append((char)Convert.ToByte(line.Substring(p + 2, 2), 16));
                        p += 3;
                    }
                    else if (line[p] == '\\' && p + 1 < line.Length)
                    {
                        p++;
                        current.Append(line[p] switch { 'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'a' => '\a', char c => c });
                    }
                    else if (line[p] == '"')
                    {
                        if (p + 1 < line.Length && !IsSpace(line[p + 1])) return null;
                        done = true;
                    }
                    else current.Append(line[p]);
                }
                else if (insq)
                {
                    if (p >= line.Length) return null;
                    if (line[p] == '\\' && p + 1 < line.Length && line[p + 1] == '\'')
                    {
                        p++;
                        current.Append('\'');
                    }
                    else if (line[p] == '\'')
                    {
                        if (p + 1 < line.Length && !IsSpace(line[p + 1])) return null;
                        done = true;
                    }
                    else current.Append(line[p]);
                }
                else
                {
                    if (p >= line.Length) { done = true; break; }
                    switch (line[p])
                    {
                        case ' ' or '\n' or '\r' or '\t' or '\0':
                            done = true;
                            break;
                        case '"':
                            inq = true;
                            break;
                        case '\'':
                            insq = true;
                            break;
                        default:
                            current.Append(line[p]);
                            break;
                    }
                }
                if (p < line.Length) p++;
            }
            words.Add(current.ToString());
        }
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\v' or '\f';

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    /// <summary>redis's sdscatrepr: a value quoted so that <see cref="SplitArgs"/> reads it back (CONFIG REWRITE).</summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\' or '"': sb.Append('\\').Append(c); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                default:
                    if (c < 0x20 || c >= 0x7f) sb.Append($"\\x{(int)c & 0xFF:x2}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
