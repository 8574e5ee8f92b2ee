using Demikernel.Catloop;
using Demikernel.Catnap;
using Demikernel.Runtime;

namespace Demikernel;

/// <summary>
/// The facade: makes a libOS instance by name. <c>catnap</c> (Linux sockets + epoll) is the default; <c>catloop</c>
/// (in-process memory streams) backs tests and memory queues. The other Demikernel libOSes are reserved names that fail
/// with a clear "not available" error until they are built.
/// </summary>
public static class LibOS
{
    public const string DefaultName = "catnap";

    public static IReadOnlyList<string> Available { get; } = ["catnap", "catloop"];

    public static IReadOnlyList<string> Reserved { get; } = ["catnip", "catpowder", "catmem", "rdma"];

    /// <summary>Creates a libOS; throws <see cref="ConfigException"/> with a clear message for an unknown or unavailable name.</summary>
    public static DemiLibOS Create(string? name = null, LibOSConfig? config = null, TimeProvider? time = null)
    {
        name = string.IsNullOrEmpty(name) ? DefaultName : name.ToLowerInvariant();
        config ??= new LibOSConfig();
        var options = new LibOSOptions
        {
            Time = time ?? TimeProvider.System,
            SpinBudget = TimeSpan.FromMicroseconds(config.GetInt("demikernel", "spin_budget_us", 200)),
            DefaultPopSize = config.GetInt("demikernel", "pop_size", 16 * 1024),
        };
        INetworkTransport transport = name switch
        {
            "catnap" => new CatnapTransport(),
            "catloop" => new CatloopTransport(),
            _ when Reserved.Contains(name) => throw new ConfigException(
                $"libOS '{name}' is not available in this build (available: {string.Join(", ", Available)})"),
            _ => throw new ConfigException(
                $"unknown libOS '{name}' (available: {string.Join(", ", Available)}; reserved: {string.Join(", ", Reserved)})"),
        };
        return new DemiLibOS(transport, options);
    }
}
