using Demikernel.Runtime;

namespace Demikernel.Catnap;

/// <summary>catnap's registration: the kernel's sockets with epoll. It reads no keys of its own.</summary>
internal static class CatnapBackend
{
    public static LibOSBackend Registration { get; } =
        new("catnap", static (_, _) => new CatnapTransport(), "Linux sockets with epoll (the default)");
}
