using System.Globalization;
using System.Text;
using Demikernel.Server.Interop;

namespace Demikernel.Server.Persistence;

/// <summary>The kind of an AOF file in the manifest (redis-server 7.0's 'b', 'h', 'i').</summary>
internal enum AofFileKind
{
    Base,
    History,
    Incremental,
}

internal sealed record AofFileInfo(string Name, long Seq, AofFileKind Kind);

/// <summary>
/// Redis 7.0's multi-part AOF manifest: one line per file, <c>file NAME seq N type b|h|i</c>; the base first, then
/// history files awaiting deletion, then the incremental files in order. Persisted by writing a temporary file,
/// fsyncing it, renaming it over the manifest and fsyncing the directory.
/// </summary>
internal sealed class AofManifest
{
    public AofFileInfo? Base { get; set; }
    public List<AofFileInfo> History { get; } = [];
    public List<AofFileInfo> Incremental { get; } = [];

    public long NextBaseSeq => (Base?.Seq ?? 0) + 1;

    /// <summary>The seq the next incremental file gets: one more than the highest seen (history included).</summary>
    public long NextIncrSeq { get; set; } = 1;

    public static string BaseName(string prefix, long seq, bool rdb) => $"{prefix}.{seq}.base.{(rdb ? "rdb" : "aof")}";

    public static string IncrName(string prefix, long seq) => $"{prefix}.{seq}.incr.aof";

    /// <summary>Parses a manifest; null and a reason when it is malformed (redis-server refuses to start then).</summary>
    public static AofManifest? Parse(string text, out string? error)
    {
        error = null;
        var manifest = new AofManifest();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            var words = SplitArgs(line);
            if (words is null || words.Count % 2 != 0)
            {
                error = $"Invalid AOF manifest file format at line {lineNo}";
                return null;
            }
            string? name = null;
            long seq = -1;
            char type = '\0';
            for (int i = 0; i < words.Count; i += 2)
            {
                switch (words[i])
                {
                    case "file": name = words[i + 1]; break;
                    case "seq": _ = long.TryParse(words[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out seq); break;
                    case "type": type = words[i + 1].Length == 1 ? words[i + 1][0] : '?'; break;
                    default: break; // unknown keys are ignored, as redis-server does, for forward compatibility
                }
            }
            if (name is null || seq < 0 || type is not ('b' or 'h' or 'i') || name.Contains('/'))
            {
                error = $"Invalid AOF manifest file format at line {lineNo}";
                return null;
            }
            switch (type)
            {
                case 'b':
                    if (manifest.Base is not null)
                    {
                        error = "Found duplicate base file information in the AOF manifest";
                        return null;
                    }
                    manifest.Base = new AofFileInfo(name, seq, AofFileKind.Base);
                    break;
                case 'h':
                    manifest.History.Add(new AofFileInfo(name, seq, AofFileKind.History));
                    break;
                default:
                    if (manifest.Incremental.Count > 0 && seq <= manifest.Incremental[^1].Seq)
                    {
                        error = "Found a non-monotonic sequence number in the AOF manifest";
                        return null;
                    }
                    manifest.Incremental.Add(new AofFileInfo(name, seq, AofFileKind.Incremental));
                    break;
            }
            if (type == 'i') manifest.NextIncrSeq = Math.Max(manifest.NextIncrSeq, seq + 1);
        }
        return manifest;
    }

    public string Format()
    {
        var sb = new StringBuilder();
        void Line(AofFileInfo f, char type) =>
            sb.Append("file ").Append(Quote(f.Name)).Append(" seq ").Append(f.Seq.ToString(CultureInfo.InvariantCulture))
              .Append(" type ").Append(type).Append('\n');
        if (Base is not null) Line(Base, 'b');
        foreach (var h in History) Line(h, 'h');
        foreach (var i in Incremental) Line(i, 'i');
        return sb.ToString();
    }

    /// <summary>Writes the manifest durably (temp file, fsync, rename, directory fsync).</summary>
    public void Persist(string directory, string manifestName)
    {
        string temp = Path.Combine(directory, "temp-" + manifestName);
        string final = Path.Combine(directory, manifestName);
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            f.Write(Encoding.UTF8.GetBytes(Format()));
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, final, overwrite: true);
        Posix.SyncDirectory(directory);
    }

    private static string Quote(string name) =>
        name.Any(c => c is ' ' or '"' or '\'' or '\\' || char.IsControl(c))
            ? "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\""
            : name;

    /// <summary>Words separated by spaces; double-quoted words may hold spaces and backslash escapes.</summary>
    private static List<string>? SplitArgs(string line)
    {
        var words = new List<string>();
        int i = 0;
        while (true)
        {
            while (i < line.Length && line[i] == ' ') i++;
            if (i >= line.Length) return words;
            var sb = new StringBuilder();
            if (line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length) return null;
                    char c = line[i++];
                    if (c == '"') break;
                    if (c == '\\' && i < line.Length) c = line[i++];
                    sb.Append(c);
                }
                if (i < line.Length && line[i] != ' ') return null;
            }
            else
            {
                while (i < line.Length && line[i] != ' ') sb.Append(line[i++]);
            }
            words.Add(sb.ToString());
        }
    }
}
