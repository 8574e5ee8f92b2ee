namespace Demikernel.Server.Tests;

/// <summary>
/// Measures what a steady-state operation allocates on the calling thread. The smallest of a few runs counts: a
/// one-off cost that can land in any run (tiered compilation, the allocation context refilled while another test's
/// thread triggers a GC) does not fail the gate, while an allocation per call shows in every run.
/// </summary>
internal static class AllocationGate
{
    public static long SteadyStateBytes(Action once, int warmUp = 2000, int callsPerRun = 20_000, int runs = 6,
        Action? beforeEachRun = null)
    {
        for (int i = 0; i < warmUp; i++) once();
        long best = long.MaxValue;
        for (int run = 0; run < runs && best != 0; run++)
        {
            beforeEachRun?.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerRun; i++) once();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return best;
    }
}
