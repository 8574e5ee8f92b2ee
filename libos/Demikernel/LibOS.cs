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
    public static DemiLibOS Create(string? name = null, LibOSConfig? config = null, TimeProvider? time = null) =>
        Create(name, config, time, []);

    /// <summary>
    /// Creates a libOS that runs <paramref name="name"/> and, beside it on the same thread, the transports named in
    /// <paramref name="also"/> (the server's catmem listener beside catnap): sockets go to the first by default and to
    /// another through <see cref="DemiLibOS.Socket(string, SocketKind, out QDesc)"/>; see Runtime's CombinedTransport.
    /// A name in <paramref name="also"/> equal to <paramref name="name"/> adds nothing.
    /// </summary>
    public static DemiLibOS Create(string? name, LibOSConfig? config, TimeProvider? time, IReadOnlyList<string> also)
    {
        name = string.IsNullOrEmpty(name) ? DefaultName : name.ToLowerInvariant();
        config ??= new LibOSConfig();
        var backend = Find(name);
        var others = also.Select(n => n.ToLowerInvariant()).Where(n => n != name).Distinct().Select(Find).ToList();
        var options = new LibOSOptions
        {
            Time = time ?? TimeProvider.System,
            SpinBudget = Microseconds(config, "spin_budget_us", 200),
            IdlePollInterval = Microseconds(config, "idle_poll_us", 0),
            IdlePollWindow = Microseconds(config, "idle_poll_window_us", 2000),
            DefaultPopSize = config.GetInt("demikernel", "pop_size", 16 * 1024),
        };
        var transports = new List<INetworkTransport>();
        try
        {
            transports.Add(backend.CreateTransport(config, options.Time));
            foreach (var other in others) transports.Add(other.CreateTransport(config, options.Time));
        }
        catch (BackendConfigException e)
        {
            foreach (var made in transports) made.Dispose();
            throw new ConfigException(e.Message);
        }
        return new DemiLibOS(transports.Count == 1 ? transports[0] : new CombinedTransport(transports), options);
    }

    private static TimeSpan Microseconds(LibOSConfig config, string key, int fallback)
    {
        int us = config.GetInt("demikernel", key, fallback);
        return us >= 0 ? TimeSpan.FromMicroseconds(us) : throw new ConfigException($"demikernel.{key} must be 0 or more, got '{us}' ({config.Source})");
    }

    private static LibOSBackend Find(string name) => Array.Find(Backends, b => b.Name == name) ?? throw new ConfigException(Reserved.Contains(name)
        ? $"libOS '{name}' is not available in this build (available: {string.Join(", ", Available)})"
        : $"unknown libOS '{name}' (available: {string.Join(", ", Available)}; reserved: {string.Join(", ", Reserved)})");
}
