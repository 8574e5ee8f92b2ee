namespace Demikernel.Server.Tests;

/// <summary>active-expire-effort: redis's rescaling of the active expiry cycle (keys sampled per round, the stale
/// percentage that ends it, its share of a cron tick), settable at start and through CONFIG SET.</summary>
public sealed class ActiveExpireEffortTests
{
    [Theory]
    [InlineData(1, 20)]
    [InlineData(5, 40)]
    [InlineData(10, 65)]
    public void ARoundSamplesMoreKeysWithMoreEffort(int effort, int expected)
    {
        using var h = new CommandHarness();
        for (int i = 0; i < 200; i++) h.Run("SET", $"k{i}", "v", "PX", "10");
        h.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(expected, h.Db.ActiveExpireCycle(1, effort, long.MaxValue));
    }

    [Fact]
    public void MoreEffortAcceptsFewerStaleKeys()
    {
        // one key in 12 expired (~8%): effort 1 stops after its first round (at most 10% stale is accepted), effort 5
        // (6%) goes on round after round
        foreach (var (effort, more) in new[] { (1, false), (5, true) })
        {
            using var h = new CommandHarness();
            for (int i = 0; i < 1000; i++) h.Run("SET", $"k{i}", "v", "PX", i % 12 == 0 ? "10" : "100000");
            h.Advance(TimeSpan.FromMilliseconds(20));
            int expired = h.Db.ActiveExpireCycle(int.MaxValue, effort, long.MaxValue);
            Assert.Equal(more, expired > 10);
        }
    }

    [Fact]
    public void TheParameterIsRedisServers() => ReferenceRedis.AssertSameReplies(
    [
        ["CONFIG", "GET", "active-expire-effort"], ["CONFIG", "SET", "active-expire-effort", "0"], ["CONFIG", "SET", "active-expire-effort", "11"],
        ["CONFIG", "SET", "active-expire-effort", "x"], ["CONFIG", "SET", "active-expire-effort", "7"], ["CONFIG", "GET", "active-expire-effort"],
    ]);
}
