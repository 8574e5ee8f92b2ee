using System.Globalization;
using System.Text;

namespace Demikernel.Server.Cluster;

/// <summary>One node line of nodes.conf (and of CLUSTER NODES): what a node knows of another.</summary>
internal sealed record ClusterNodeEntry
{
    public string Name { get; init; } = "";
    public string Ip { get; init; } = "";
    public int Port { get; init; }
    public int ClusterPort { get; init; }
    public string? Hostname { get; init; }
    public ClusterNodeFlags Flags { get; init; }

    /// <summary>The master's name, for a replica; null is written "-".</summary>
    public string? Master { get; init; }
    public long PingSent { get; init; }
    public long PongReceived { get; init; }
    public ulong ConfigEpoch { get; init; }
    public bool Connected { get; init; }

    /// <summary>Owned slots as inclusive ranges, in the order written.</summary>
    public IReadOnlyList<(int Start, int End)> Slots { get; init; } = [];

    /// <summary>For the node flagged myself: slots being moved away ([slot->-node]) or in ([slot-&lt;-node]), in
    /// slot order.</summary>
    public IReadOnlyList<(int Slot, bool Migrating, string Node)> Moving { get; init; } = [];
}

/// <summary>
/// cluster-config-file (nodes.conf) as redis-server 7.0 writes it (clusterSaveConfig: the CLUSTER NODES lines of every
/// node not in handshake, then <c>vars currentEpoch N lastVoteEpoch N</c>) and reads it (clusterLoadConfig's checks:
/// blank lines skipped, at least 8 fields, 40-character node names, <c>ip:port[@cport][,hostname]</c> with cport
/// defaulting to port + 10000, known flag names, slots and ranges within 0..16383, exactly one node flagged myself).
/// </summary>
internal sealed class NodesConfig
{
    public List<ClusterNodeEntry> Nodes { get; } = [];
    public ulong CurrentEpoch { get; set; }
    public ulong LastVoteEpoch { get; set; }

    public ClusterNodeEntry Myself => Nodes.Single(n => n.Flags.HasFlag(ClusterNodeFlags.Myself));

    /// <summary>Flag names in the order CLUSTER NODES writes them (redisNodeFlagsTable).</summary>
    private static readonly (ClusterNodeFlags Flag, string Name)[] FlagNames =
    [
        (ClusterNodeFlags.Myself, "myself"), (ClusterNodeFlags.Master, "master"), (ClusterNodeFlags.Slave, "slave"),
        (ClusterNodeFlags.PFail, "fail?"), (ClusterNodeFlags.Fail, "fail"), (ClusterNodeFlags.Handshake, "handshake"),
        (ClusterNodeFlags.NoAddr, "noaddr"), (ClusterNodeFlags.NoFailover, "nofailover"),
    ];

    /// <summary>Parses a nodes.conf; null with the reason when redis-server would stop with "Unrecoverable error:
    /// corrupted cluster config file." (or panic on an unknown flag).</summary>
    public static NodesConfig? Parse(string text, out string? error)
    {
        error = null;
        var config = new NodesConfig();
        int lineNumber = 0;
        foreach (string raw in text.Split('\n'))
        {
            lineNumber++;
            if (raw.Length == 0) continue;
            var argv = raw.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (argv.Length == 0) continue;
            if (argv[0].Equals("vars", StringComparison.OrdinalIgnoreCase))
            {
                if (argv.Length % 2 == 0) return Fail(out error, lineNumber, "vars needs name value pairs");
                for (int j = 1; j < argv.Length; j += 2)
                {
                    // strtoull: digits up to the first other character
                    ulong v = ParseLeadingUInt64(argv[j + 1]);
                    if (argv[j].Equals("currentEpoch", StringComparison.OrdinalIgnoreCase)) config.CurrentEpoch = v;
                    else if (argv[j].Equals("lastVoteEpoch", StringComparison.OrdinalIgnoreCase)) config.LastVoteEpoch = v;
                    // other variables are skipped with a warning by redis
                }
                continue;
            }
            if (argv.Length < 8) return Fail(out error, lineNumber, "fewer than 8 fields");
            if (!IsNodeName(argv[0])) return Fail(out error, lineNumber, "bad node name");
            string address = argv[1];
            string? hostname = null;
            int comma = address.IndexOf(',');
            if (comma >= 0)
            {
                hostname = address[(comma + 1)..];
                address = address[..comma];
            }
            int colon = address.LastIndexOf(':');
            if (colon < 0) return Fail(out error, lineNumber, "address without a port");
            string ports = address[(colon + 1)..];
            int at = ports.IndexOf('@');
            int port = Atoi(at < 0 ? ports : ports[..at]);
            int cport = at < 0 ? port + 10000 : Atoi(ports[(at + 1)..]);
            var flags = ClusterNodeFlags.None;
            foreach (string name in argv[2].Split(','))
            {
                if (name.Equals("noflags", StringComparison.OrdinalIgnoreCase)) continue;
                int f = Array.FindIndex(FlagNames, x => x.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
                if (f < 0) return Fail(out error, lineNumber, $"Unknown flag in redis cluster config file: {name}");
                flags |= FlagNames[f].Flag;
            }
            if (flags.HasFlag(ClusterNodeFlags.Myself) && config.Nodes.Exists(n => n.Flags.HasFlag(ClusterNodeFlags.Myself)))
                return Fail(out error, lineNumber, "two nodes flagged myself");
            string? master = null;
            if (argv[3][0] != '-')
            {
                if (!IsNodeName(argv[3])) return Fail(out error, lineNumber, "bad master name");
                master = argv[3];
            }
            var slots = new List<(int, int)>();
            var moving = new List<(int, bool, string)>();
            for (int j = 8; j < argv.Length; j++)
            {
                string a = argv[j];
                if (a[0] == '[')
                {
                    // [slot->-name] or [slot-<-name]
                    int dash = a.IndexOf('-');
                    int close = a.IndexOf(']');
                    if (dash < 0 || close < 0 || dash + 3 > close) return Fail(out error, lineNumber, "bad migrating/importing slot");
                    int slot = Atoi(a[1..dash]);
                    if (slot is < 0 or >= HashSlot.Count) return Fail(out error, lineNumber, "slot out of range");
                    string node = a[(dash + 3)..close];
                    if (!IsNodeName(node)) return Fail(out error, lineNumber, "bad node name in a moving slot");
                    moving.Add((slot, a[dash + 1] == '>', node));
                    continue;
                }
                int d = a.IndexOf('-');
                int start = Atoi(d < 0 ? a : a[..d]), stop = d < 0 ? start : Atoi(a[(d + 1)..]);
                if (start is < 0 or >= HashSlot.Count || stop is < 0 or >= HashSlot.Count) return Fail(out error, lineNumber, "slot out of range");
                slots.Add((start, stop));
            }
            config.Nodes.Add(new ClusterNodeEntry
            {
                Name = argv[0], Ip = address[..colon], Port = port, ClusterPort = cport, Hostname = hostname, Flags = flags,
                Master = master, PingSent = Atol(argv[4]), PongReceived = Atol(argv[5]), ConfigEpoch = ParseLeadingUInt64(argv[6]),
                Connected = argv[7] == "connected", Slots = slots, Moving = moving,
            });
        }
        if (!config.Nodes.Exists(n => n.Flags.HasFlag(ClusterNodeFlags.Myself))) return Fail(out error, 0, "no node flagged myself");
        return config;
    }

    private static NodesConfig? Fail(out string? error, int line, string why)
    {
        error = $"Unrecoverable error: corrupted cluster config file (line {line}: {why}).";
        return null;
    }

    private static bool IsNodeName(string s) => s.Length == ClusterMessage.NameLength && s.All(char.IsAsciiHexDigitLower);

    /// <summary>C's atoi: optional sign and leading digits, 0 when none.</summary>
    private static int Atoi(string s) => (int)Math.Clamp(Atol(s), int.MinValue, int.MaxValue);

    private static long Atol(string s)
    {
        int i = 0;
        bool negative = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
        long v = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]) && v < long.MaxValue / 10) v = v * 10 + (s[i++] - '0');
        return negative ? -v : v;
    }

    private static ulong ParseLeadingUInt64(string s)
    {
        int n = 0;
        while (n < s.Length && char.IsAsciiDigit(s[n])) n++;
        return n == 0 ? 0 : ulong.TryParse(s.AsSpan(0, n), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : ulong.MaxValue;
    }

    /// <summary>One node as a CLUSTER NODES / nodes.conf line (clusterGenNodeDescription), without the newline.</summary>
    public static string FormatNode(ClusterNodeEntry n)
    {
        var sb = new StringBuilder();
        sb.Append(n.Name).Append(' ').Append(n.Ip).Append(':').Append(n.Port.ToString(CultureInfo.InvariantCulture))
            .Append('@').Append(n.ClusterPort.ToString(CultureInfo.InvariantCulture));
        if (n.Hostname is { Length: > 0 }) sb.Append(',').Append(n.Hostname);
        sb.Append(' ');
        int before = sb.Length;
        foreach (var (flag, name) in FlagNames)
            if (n.Flags.HasFlag(flag)) sb.Append(name).Append(',');
        if (sb.Length == before) sb.Append("noflags,");
        sb.Length--;
        sb.Append(' ').Append(n.Master ?? "-");
        sb.Append(CultureInfo.InvariantCulture, $" {n.PingSent} {n.PongReceived} {n.ConfigEpoch} {(n.Connected ? "connected" : "disconnected")}");
        foreach (var (start, end) in n.Slots)
            sb.Append(' ').Append(start == end ? start.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{start}-{end}"));
        foreach (var (slot, migrating, node) in n.Moving)
            sb.Append(CultureInfo.InvariantCulture, $" [{slot}-{(migrating ? ">" : "<")}-{node}]");
        return sb.ToString();
    }

    /// <summary>The file as clusterSaveConfig writes it.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        foreach (var n in Nodes) sb.Append(FormatNode(n)).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"vars currentEpoch {CurrentEpoch} lastVoteEpoch {LastVoteEpoch}\n");
        return sb.ToString();
    }
}
