using Demikernel.Runtime;

namespace Demikernel.Catloop;

/// <summary>catloop's registration: in-process memory streams (tests, memory queues). It reads no keys of its own.</summary>
internal static class CatloopBackend
{
    public static LibOSBackend Registration { get; } =
        new("catloop", static (_, _) => new CatloopTransport(), "in-process memory streams (tests)");
}
