namespace Demikernel.Server.Diagnostics;

/// <summary>
/// INFO errorstats and total_error_replies, as redis's afterErrorReply counts them: every error reply, by its code
/// (the first word, looked for in the first 32 bytes of the line, "ERR" when there is none). Counting looks the code
/// up without allocating; a code seen for the first time adds one entry.
/// </summary>
internal sealed class ErrorStats
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public ErrorStats() => _lookup = _counts.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Error replies written since start or CONFIG RESETSTAT (INFO total_error_replies).</summary>
    public long Total { get; private set; }

    /// <summary><see cref="Total"/> when the running call started or the last call nested in it ended (the
    /// dispatcher's; redis's prev_err_count).</summary>
    public long Mark;

    /// <summary>Codes in redis's order (its rax: byte order).</summary>
    public IEnumerable<KeyValuePair<string, long>> ByCode => _counts.OrderBy(p => p.Key, StringComparer.Ordinal);

    /// <summary>Counts an error whose line (without the leading '-') is <paramref name="message"/>.</summary>
    public void Count(ReadOnlySpan<char> message)
    {
        Total++;
        // redis looks for the space in the first 32 bytes of "-CODE ...", the '-' being one of them
        int space = message[..Math.Min(message.Length, 31)].IndexOf(' ');
        var code = space > 0 ? message[..space] : "ERR".AsSpan();
        if (_lookup.TryGetValue(code, out long n)) _lookup[code] = n + 1;
        else _counts[code.ToString()] = 1;
    }

    public void Count(ReadOnlySpan<byte> message)
    {
        Span<char> text = stackalloc char[31];
        int n = Math.Min(message.Length, 31);
        for (int i = 0; i < n; i++) text[i] = (char)message[i];
        Count(text[..n]);
    }

    public void Reset()
    {
        Total = Mark = 0;
        _counts.Clear();
    }
}
