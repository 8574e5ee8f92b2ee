using Demikernel.Catloop;
using Demikernel.Catmem;
using Demikernel.Catnip;
using Demikernel.Catnap;
using Demikernel.Catpowder;
using Demikernel.Runtime;

namespace Demikernel;

/// <summary>
/// The facade: a registry of libOS backends, and the one place that makes a <see cref="DemiLibOS"/>. Each backend
/// project declares its registration (name, summary, and a factory that reads its own part of the config); adding a
/// libOS is one project plus one line in <see cref="Backends"/>. Names without a backend in this build are reserved and
/// fail with a clear "not available" error.
/// </summary>
public static class LibOS
{
    public const string DefaultName = "catnap";

    /// <summary>The registry, in the order help texts list it.</summary>
    private static readonly LibOSBackend[] Backends =
    [
        CatnapBackend.Registration,
        CatloopBackend.Registration,
        CatpowderBackend.Registration,
        CatnipBackend.Registration,
        CatmemBackend.Registration,
    ];

    public static IReadOnlyList<string> Available { get; } = Backends.Select(b => b.Name).ToArray();

    /// <summary>Demikernel's other libOS names, refused with "not available in this build".</summary>
    public static IReadOnlyList<string> Reserved { get; } =
        new[] { "catnip", "catmem", "rdma" }.Where(n => !Backends.Any(b => b.Name == n)).ToArray();

    /// <summary>One line per available backend: its name and what it runs on.</summary>
    public static IReadOnlyList<string> Describe() => Backends.Select(b => $"{b.Name}: {b.Summary}").ToArray();

    /// <summary>Creates a libOS; throws <see cref="ConfigException"/> with a clear message for an unknown or unavailable
    /// name, or a bad key of the backend's config.</summary>
    public static DemiLibOS Create(string? name = null, LibOSConfig? config = null, TimeProvider? time = null)
    {
        name = string.IsNullOrEmpty(name) ? DefaultName : name.ToLowerInvariant();
        config ??= new LibOSConfig();
        var backend = Array.Find(Backends, b => b.Name == name);
        if (backend is null)
        {
            throw new ConfigException(Reserved.Contains(name)
                ? $"libOS '{name}' is not available in this build (available: {string.Join(", ", Available)})"
                : $"unknown libOS '{name}' (available: {string.Join(", ", Available)}; reserved: {string.Join(", ", Reserved)})");
        }
        var options = new LibOSOptions
        {
            Time = time ?? TimeProvider.System,
            SpinBudget = TimeSpan.FromMicroseconds(config.GetInt("demikernel", "spin_budget_us", 200)),
            DefaultPopSize = config.GetInt("demikernel", "pop_size", 16 * 1024),
        };
        INetworkTransport transport;
        try
        {
            transport = backend.CreateTransport(config, options.Time);
        }
        catch (BackendConfigException e)
        {
            throw new ConfigException(e.Message);
        }
        return new DemiLibOS(transport, options);
    }
}
