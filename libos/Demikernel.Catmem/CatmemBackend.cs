using Demikernel.Runtime;

namespace Demikernel.Catmem;

/// <summary>
/// catmem's registration. Keys: <c>catmem.directory</c> (where the shared files live; default <c>/dev/shm</c>, which
/// must exist and be writable) and <c>catmem.ring_size</c> (bytes per direction of each connection this process opens,
/// a power of two from 4096 to 1 GiB; default 1 MiB).
/// </summary>
internal static class CatmemBackend
{
    public const int DefaultRingSize = 1 << 20;

    public static LibOSBackend Registration { get; } =
        new("catmem", Create, "shared-memory rings between processes on this host (catmem.directory, default /dev/shm)");

    private static CatmemTransport Create(IBackendConfig config, TimeProvider time)
    {
        string directory = config.GetString("catmem", "directory", "/dev/shm");
        if (!System.IO.Directory.Exists(directory))
            throw new BackendConfigException($"catmem.directory '{directory}' does not exist ({config.Source})");
        int ringSize = config.GetInt("catmem", "ring_size", DefaultRingSize);
        if (ringSize < 4096 || (ringSize & (ringSize - 1)) != 0)
            throw new BackendConfigException($"catmem.ring_size must be a power of two of at least 4096, got '{ringSize}' ({config.Source})");
        return new CatmemTransport(directory, ringSize);
    }
}
