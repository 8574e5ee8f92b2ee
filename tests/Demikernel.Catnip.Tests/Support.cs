namespace Demikernel.Catnip.Tests;

/// <summary>The catnip tests run one at a time: each starts DPDK processes that poll, and the machine has few cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CatnipCollection
{
    public const string Name = "catnip";
}
