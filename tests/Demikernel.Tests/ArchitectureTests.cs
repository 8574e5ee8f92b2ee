using System.Reflection;

namespace Demikernel.Tests;

/// <summary>The dependency rule of ../shared/ARCHITECTURE.md, checked on the built assemblies' references.</summary>
public class ArchitectureTests
{
    private static readonly string[] Ours =
        ["Demikernel.Runtime", "Demikernel.InetStack", "Demikernel.Catnap", "Demikernel.Catloop", "Demikernel.Catpowder", "Demikernel.Catnip", "Demikernel.Catmem", "Demikernel", "Demikernel.Resp", "Demikernel.Server", "demi-loadgen"];

    private static HashSet<string> References(string assembly) =>
        Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(Ours.Contains).ToHashSet();

    [Fact]
    public void RuntimeReferencesNothingOfOurs() => Assert.Empty(References("Demikernel.Runtime"));

    [Fact]
    public void RespReferencesNothingOfOurs() => Assert.Empty(References("Demikernel.Resp"));

    [Theory]
    [InlineData("Demikernel.Catnap")]
    [InlineData("Demikernel.Catloop")]
    [InlineData("Demikernel.Catmem")]
    public void BackendsReferenceOnlyTheRuntime(string backend) => Assert.Equal(["Demikernel.Runtime"], References(backend));

    [Fact]
    public void InetStackReferencesOnlyTheRuntime() => Assert.Equal(["Demikernel.Runtime"], References("Demikernel.InetStack"));

    [Theory]
    [InlineData("Demikernel.Catpowder")]
    [InlineData("Demikernel.Catnip")]
    public void StackBackendsReferenceOnlyTheRuntimeAndInetStack(string backend) =>
        Assert.Equal(new HashSet<string> { "Demikernel.Runtime", "Demikernel.InetStack" }, References(backend));

    [Fact]
    public void FacadeReferencesTheRuntimeAndBackends() =>
        Assert.Equal(
            new HashSet<string> { "Demikernel.Runtime", "Demikernel.Catnap", "Demikernel.Catloop", "Demikernel.Catpowder", "Demikernel.Catnip", "Demikernel.Catmem" },
            References("Demikernel"));

    /// <summary>The load generator is an application of the libOS like the server: facade and queue API only.</summary>
    [Fact]
    public void LoadGeneratorReferencesOnlyTheFacadeAndTheRuntime() =>
        Assert.Equal(new HashSet<string> { "Demikernel", "Demikernel.Runtime" }, References("demi-loadgen"));

    [Fact]
    public void ServerReferencesOnlyRespTheFacadeAndTheRuntime()
    {
        var refs = References("Demikernel.Server");
        Assert.DoesNotContain("Demikernel.Catnap", refs);
        Assert.DoesNotContain("Demikernel.Catloop", refs);
        Assert.DoesNotContain("Demikernel.Catpowder", refs);
        Assert.DoesNotContain("Demikernel.Catnip", refs);
        Assert.DoesNotContain("Demikernel.Catmem", refs);
        Assert.DoesNotContain("Demikernel.InetStack", refs);
        Assert.Contains("Demikernel.Resp", refs);
        Assert.Contains("Demikernel", refs);
        Assert.Subset(new HashSet<string> { "Demikernel", "Demikernel.Resp", "Demikernel.Runtime" }, refs);
    }

    /// <summary>The Runtime's backend face: what transports implement and complete, never an application's business.</summary>
    [Theory]
    [InlineData("Demikernel.Runtime.IoQueue")]
    [InlineData("Demikernel.Runtime.Operation")]
    [InlineData("Demikernel.Runtime.OperationQueue")]
    [InlineData("Demikernel.Runtime.INetworkTransport")]
    [InlineData("Demikernel.Runtime.Scheduler")]
    [InlineData("Demikernel.Runtime.IRunnable")]
    [InlineData("Demikernel.Runtime.TaskHandle")]
    [InlineData("Demikernel.Runtime.BufferPool")]
    [InlineData("Demikernel.Runtime.MemoryQueue")]
    [InlineData("Demikernel.Runtime.LibOSBackend")]
    [InlineData("Demikernel.Runtime.IBackendConfig")]
    public void BackendInterfaceIsNotPublic(string typeName)
    {
        var type = Assembly.Load("Demikernel.Runtime").GetType(typeName, throwOnError: true)!;
        Assert.False(type.IsPublic, $"{typeName} is public: an application could reach backend internals");
    }

    /// <summary>The Runtime's internals are visible to backends, the facade that registers them, and their tests and
    /// tools; never to an application, so the compiler keeps the server on the queue API.</summary>
    [Fact]
    public void RuntimeInternalsAreVisibleOnlyToBackendsAndTheirTests()
    {
        var friends = Assembly.Load("Demikernel.Runtime").GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName).ToHashSet();
        Assert.DoesNotContain("Demikernel.Server", friends);
        Assert.DoesNotContain("Demikernel.Resp", friends);
        Assert.DoesNotContain("Echo", friends);
        string[] allowed =
        [
            "Demikernel", "Demikernel.Catnap", "Demikernel.Catloop", "Demikernel.Catmem", "Demikernel.InetStack", "Demikernel.Catpowder",
            "Demikernel.Catnip", "Demikernel.Tests", "Demikernel.InetStack.Tests", "Demikernel.Catpowder.Tests", "Demikernel.Catnip.Tests", "Demikernel.Conformance.Tests", "Demikernel.Bench", "NetSim",
        ];
        Assert.Subset(allowed.ToHashSet(), friends);
    }

    /// <summary>Backends export nothing: the facade reaches them through their registration (internal, visible to it).</summary>
    [Theory]
    [InlineData("Demikernel.Catnap")]
    [InlineData("Demikernel.Catloop")]
    [InlineData("Demikernel.Catpowder")]
    [InlineData("Demikernel.Catnip")]
    [InlineData("Demikernel.Catmem")]
    public void BackendsExportNoTypes(string backend) => Assert.Empty(Assembly.Load(backend).GetExportedTypes());

    [Fact]
    public void InetStackExportsOnlyTheCongestionControlName() =>
        Assert.Equal(["CongestionControlKind"], Assembly.Load("Demikernel.InetStack").GetExportedTypes().Select(t => t.Name));

    /// <summary>The registry lists every backend once; the reserved names are the ones without a backend.</summary>
    [Fact]
    public void RegistryNamesAreUniqueAndDisjointFromReserved()
    {
        Assert.Equal(LibOS.Available.Count, LibOS.Available.Distinct().Count());
        Assert.Empty(LibOS.Available.Intersect(LibOS.Reserved));
        Assert.Contains(LibOS.DefaultName, LibOS.Available);
        Assert.Equal(LibOS.Available.Count, LibOS.Describe().Count);
    }
}
