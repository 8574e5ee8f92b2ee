using Demikernel.Runtime;

namespace Demikernel.LoadGen;

/// <summary>What one run does.</summary>
internal sealed record LoadOptions
{
    public required IPv4Endpoint Target { get; init; }
    public int Connections { get; init; } = 1;
    /// <summary>Requests each connection keeps in flight.</summary>
    public int Pipeline { get; init; } = 1;
    /// <summary>Keys are key:00000000 .. key:{KeySpace-1}.</summary>
    public int KeySpace { get; init; } = 10_000;
    public int ValueSize { get; init; } = 32;
    /// <summary>SETs per (SETs + GETs), from --ratio SET:GET.</summary>
    public int SetShare { get; init; }
    public int GetShare { get; init; } = 1;
    /// <summary>Measured requests in all (0: run for <see cref="Duration"/>).</summary>
    public long Requests { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Time at the start whose requests are sent but not measured.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>SET every key once before the warm-up, so GETs hit.</summary>
    public bool Preload { get; init; }
    /// <summary>The run gives up (an error) when requests are outstanding and no reply has come for this long: a server
    /// that stopped answering, or vanished without closing its connections (a killed catnip or catmem peer).</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
