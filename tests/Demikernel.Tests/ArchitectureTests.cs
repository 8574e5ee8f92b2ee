using System.Reflection;

namespace Demikernel.Tests;

/// <summary>The dependency rule of ../shared/ARCHITECTURE.md, checked on the built assemblies' references.</summary>
public class ArchitectureTests
{
    private static readonly string[] Ours =
        ["Demikernel.Runtime", "Demikernel.InetStack", "Demikernel.Catnap", "Demikernel.Catloop", "Demikernel.Catpowder", "Demikernel", "Demikernel.Resp", "Demikernel.Server"];

    private static HashSet<string> References(string assembly) =>
        Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(Ours.Contains).ToHashSet();

    [Fact]
    public void RuntimeReferencesNothingOfOurs() => Assert.Empty(References("Demikernel.Runtime"));

    [Fact]
    public void RespReferencesNothingOfOurs() => Assert.Empty(References("Demikernel.Resp"));

    [Theory]
    [InlineData("Demikernel.Catnap")]
    [InlineData("Demikernel.Catloop")]
    public void BackendsReferenceOnlyTheRuntime(string backend) => Assert.Equal(["Demikernel.Runtime"], References(backend));

    [Fact]
    public void InetStackReferencesOnlyTheRuntime() => Assert.Equal(["Demikernel.Runtime"], References("Demikernel.InetStack"));

    [Fact]
    public void CatpowderReferencesOnlyTheRuntimeAndInetStack() =>
        Assert.Equal(new HashSet<string> { "Demikernel.Runtime", "Demikernel.InetStack" }, References("Demikernel.Catpowder"));

    [Fact]
    public void FacadeReferencesTheRuntimeAndBackends() =>
        Assert.Equal(
            new HashSet<string> { "Demikernel.Runtime", "Demikernel.Catnap", "Demikernel.Catloop", "Demikernel.Catpowder", "Demikernel.InetStack" },
            References("Demikernel"));

    [Fact]
    public void ServerReferencesOnlyRespTheFacadeAndTheRuntime()
    {
        var refs = References("Demikernel.Server");
        Assert.DoesNotContain("Demikernel.Catnap", refs);
        Assert.DoesNotContain("Demikernel.Catloop", refs);
        Assert.DoesNotContain("Demikernel.Catpowder", refs);
        Assert.DoesNotContain("Demikernel.InetStack", refs);
        Assert.Contains("Demikernel.Resp", refs);
        Assert.Contains("Demikernel", refs);
        Assert.Subset(new HashSet<string> { "Demikernel", "Demikernel.Resp", "Demikernel.Runtime" }, refs);
    }
}
