using System.Globalization;
using System.Text;

namespace Demikernel.Server.DurabilityTests;

/// <summary>One command of an AOF file: its arguments and where its bytes start and end.</summary>
public sealed record AofCommand(string[] Args, int Start, int End);

/// <summary>
/// An independent reader of AOF files (RESP arrays of bulk strings, '#' annotation lines), used to work out what a
/// truncated file must load: the commands up to the last complete one, minus a MULTI left open by the cut.
/// </summary>
public static class AofFile
{
    public static List<AofCommand> Parse(byte[] data)
    {
        var list = new List<AofCommand>();
        int pos = 0;
        while (pos < data.Length)
        {
            int start = pos;
            if (data[pos] == '#')
            {
                pos = Array.IndexOf(data, (byte)'\n', pos) + 1;
                continue;
            }
            int n = int.Parse(Line(data, ref pos, '*'), CultureInfo.InvariantCulture);
            var args = new string[n];
            for (int i = 0; i < n; i++)
            {
                int len = int.Parse(Line(data, ref pos, '$'), CultureInfo.InvariantCulture);
                args[i] = Encoding.Latin1.GetString(data, pos, len);
                pos += len + 2;
            }
            list.Add(new AofCommand(args, start, pos));
        }
        return list;
    }

    private static string Line(byte[] data, ref int pos, char prefix)
    {
        if (data[pos] != prefix) throw new InvalidDataException($"expected '{prefix}' at offset {pos}");
        int eol = Array.IndexOf(data, (byte)'\r', pos);
        string s = Encoding.ASCII.GetString(data, pos + 1, eol - pos - 1);
        pos = eol + 2;
        return s;
    }

    /// <summary>
    /// The commands a loader must apply from a file cut at <paramref name="cut"/> bytes, and whether the cut tore
    /// the file (ended inside a command, or inside MULTI ... EXEC): then the valid prefix ends at
    /// <paramref name="validLength"/>, before the torn command or before the open MULTI.
    /// </summary>
    public static List<AofCommand> Prefix(List<AofCommand> all, int cut, out bool torn, out int validLength)
    {
        var applied = new List<AofCommand>();
        int? multiStart = null;
        int multiIndex = -1;
        validLength = 0;
        torn = false;
        foreach (var c in all)
        {
            if (c.End > cut)
            {
                torn = c.Start < cut || multiStart is not null;
                break;
            }
            applied.Add(c);
            string name = c.Args[0].ToUpperInvariant();
            if (name == "MULTI")
            {
                multiStart = c.Start;
                multiIndex = applied.Count - 1;
            }
            else if (name == "EXEC")
            {
                multiStart = null;
            }
            if (multiStart is null) validLength = c.End;
        }
        if (multiStart is { } ms)
        {
            torn = true;
            applied.RemoveRange(multiIndex, applied.Count - multiIndex);
            validLength = ms;
        }
        // bytes after the last command that are not a command (the cut fell inside one) also tear the file
        if (!torn && applied.Count < all.Count && all[applied.Count].Start < cut) torn = true;
        return applied;
    }
}
