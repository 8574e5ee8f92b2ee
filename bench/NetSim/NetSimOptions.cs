using System.Globalization;
using Demikernel.InetStack.Tcp;

namespace Demikernel.NetSim;

/// <summary>What to simulate: the link in both directions, the transfer, and the TCP tunables that matter for it.</summary>
internal sealed record NetSimOptions
{
    public int Connections { get; init; } = 8;
    /// <summary>Bytes each connection moves from the client host to the server host.</summary>
    public long Bytes { get; init; } = 50_000_000;
    public double Loss { get; init; }
    public double Reorder { get; init; }
    public double Duplicate { get; init; }
    public double Corrupt { get; init; }
    /// <summary>Bits per second of each direction of the link.</summary>
    public long Bandwidth { get; init; } = 1_000_000_000;
    public TimeSpan Latency { get; init; } = TimeSpan.FromMicroseconds(50);
    /// <summary>Frames the link's transmit queue holds before it tail-drops.</summary>
    public int Queue { get; init; } = 1000;
    public int Seed { get; init; } = 1;
    public CongestionControlKind CongestionControl { get; init; } = CongestionControlKind.Cubic;
    public TimeSpan DelayedAck { get; init; }
    public bool Sack { get; init; } = true;
    public TimeSpan MinRto { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Bytes per push.</summary>
    public int PushSize { get; init; } = 64 * 1024;
    /// <summary>Simulated time after which the run gives up.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Print a progress line per 100 ms of simulated time to stderr.</summary>
    public bool Progress { get; init; }

    /// <summary>Both hosts' devices lend their memory (<c>DeviceMemory</c>): received frames go to pop in it, SgaAlloc
    /// buffers come from it and TCP sends them chained, as catnip does with mbufs.</summary>
    public bool DeviceMemory { get; init; }
    public bool Help { get; init; }

    public const string Usage = """
        usage: netsim [--connections N] [--bytes B] [--loss P] [--reorder P] [--duplicate P] [--corrupt P]
                      [--bandwidth 1gbit|100mbit|10gbit|BITS] [--latency 50us|1ms] [--queue FRAMES] [--seed N]
                      [--cc cubic|newreno] [--sack on|off] [--delayed-ack 0|200us] [--min-rto 200ms] [--push-size BYTES]
                      [--time-limit 3600s] [--progress] [--device-memory]
        Moves B bytes over each of N TCP connections between two InetStack hosts on a simulated link (every
        probability applies per frame, in both directions) and checks them with SHA-256 on both sides.
        --device-memory: both devices lend their own memory (receive slots, SgaAlloc buffers, chained transmit), as
        catnip lends mbufs; the report counts the payload bytes each stack copied either way.
        """;

    public static NetSimOptions Parse(string[] args)
    {
        var o = new NetSimOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help") return o with { Help = true };
            if (name == "--progress")
            {
                o = o with { Progress = true };
                continue;
            }
            if (name == "--device-memory")
            {
                o = o with { DeviceMemory = true };
                continue;
            }
            if (i + 1 >= args.Length) throw new FormatException($"{name} needs a value");
            string v = args[++i];
            o = name switch
            {
                "--connections" => o with { Connections = checked((int)Number(v)) },
                "--bytes" => o with { Bytes = Number(v) },
                "--loss" => o with { Loss = Probability(v) },
                "--reorder" => o with { Reorder = Probability(v) },
                "--duplicate" => o with { Duplicate = Probability(v) },
                "--corrupt" => o with { Corrupt = Probability(v) },
                "--bandwidth" => o with { Bandwidth = BitRate(v) },
                "--latency" => o with { Latency = Duration(v) },
                "--queue" => o with { Queue = checked((int)Number(v)) },
                "--seed" => o with { Seed = checked((int)Number(v)) },
                "--cc" => o with { CongestionControl = v.ToLowerInvariant() switch
                {
                    "cubic" => CongestionControlKind.Cubic,
                    "newreno" or "reno" => CongestionControlKind.NewReno,
                    _ => throw new FormatException($"unknown congestion control '{v}'"),
                } },
                "--delayed-ack" => o with { DelayedAck = Duration(v) },
                "--sack" => o with { Sack = v.ToLowerInvariant() switch
                {
                    "on" or "true" or "1" => true,
                    "off" or "false" or "0" => false,
                    _ => throw new FormatException($"--sack takes on or off, not '{v}'"),
                } },
                "--min-rto" => o with { MinRto = Duration(v) },
                "--push-size" => o with { PushSize = checked((int)Number(v)) },
                "--time-limit" => o with { TimeLimit = Duration(v) },
                _ => throw new FormatException($"unknown option {name}"),
            };
        }
        if (o.Connections <= 0 || o.Bytes < 0 || o.PushSize <= 0) throw new FormatException("connections and push size must be positive");
        return o;
    }

    private static long Number(string v) =>
        long.TryParse(v.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)
            ? n : throw new FormatException($"'{v}' is not a number");

    private static double Probability(string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p is >= 0 and <= 1
            ? p : throw new FormatException($"'{v}' is not a probability");

    /// <summary>"1gbit", "100mbit", "10kbit", "5000" (bits per second).</summary>
    public static long BitRate(string v)
    {
        v = v.Trim().ToLowerInvariant();
        foreach (var (suffix, scale) in new[] { ("gbit", 1_000_000_000L), ("mbit", 1_000_000L), ("kbit", 1_000L), ("bit", 1L) })
            if (v.EndsWith(suffix, StringComparison.Ordinal))
                return (long)(double.Parse(v[..^suffix.Length], CultureInfo.InvariantCulture) * scale);
        return Number(v);
    }

    /// <summary>"50us", "1ms", "2s", "100ns".</summary>
    public static TimeSpan Duration(string v)
    {
        v = v.Trim().ToLowerInvariant();
        foreach (var (suffix, ticks) in new[] { ("ns", 0.01), ("us", 10.0), ("µs", 10.0), ("ms", 10_000.0), ("s", 10_000_000.0) })
            if (v.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(v[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double n))
                return TimeSpan.FromTicks((long)(n * ticks));
        throw new FormatException($"'{v}' is not a duration (use ns, us, ms or s)");
    }
}
