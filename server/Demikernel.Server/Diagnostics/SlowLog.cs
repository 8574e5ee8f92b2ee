using System.Globalization;
using System.Text;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// SLOWLOG's entries, newest first, as redis-server's slowlog.c keeps them: a command that ran for at least
/// slowlog-log-slower-than microseconds (negative: off) is logged with at most 32 arguments (the last then says
/// "... (N more arguments)"), each cut to 128 bytes ("... (N more bytes)"), the client's address and name; the list
/// keeps slowlog-max-len entries.
/// </summary>
internal sealed class SlowLog
{
    public const int MaxArgc = 32;
    public const int MaxString = 128;

    internal sealed record Entry(long Id, long UnixSeconds, long Micros, byte[][] Args, string Peer, string Name);

    private readonly LinkedList<Entry> _entries = new();
    private long _nextId;

    public long SlowerThanMicros { get; set; } = 10_000;
    public long MaxLength { get; set; } = 128;

    public int Count => _entries.Count;

    public IEnumerable<Entry> Newest => _entries;

    /// <summary>True when a command that ran <paramref name="micros"/> is to be logged.</summary>
    public bool Wants(long micros) => SlowerThanMicros >= 0 && MaxLength != 0 && micros >= SlowerThanMicros;

    public void Add(IReadOnlyList<byte[]> args, long unixSeconds, long micros, string peer, string name)
    {
        int argc = Math.Min(args.Count, MaxArgc);
        var kept = new byte[argc][];
        for (int j = 0; j < argc; j++)
        {
            if (argc != args.Count && j == argc - 1)
                kept[j] = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"... ({args.Count - argc + 1} more arguments)"));
            else if (args[j].Length > MaxString)
                kept[j] = [.. args[j].AsSpan(0, MaxString), .. Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"... ({args[j].Length - MaxString} more bytes)"))];
            else
                kept[j] = args[j];
        }
        _entries.AddFirst(new Entry(_nextId++, unixSeconds, micros, kept, peer, name));
        Trim();
    }

    /// <summary>Drops the oldest entries past slowlog-max-len (also when the parameter shrinks).</summary>
    public void Trim()
    {
        while (_entries.Count > 0 && _entries.Count > MaxLength) _entries.RemoveLast();
    }

    public void Reset() => _entries.Clear();
}
