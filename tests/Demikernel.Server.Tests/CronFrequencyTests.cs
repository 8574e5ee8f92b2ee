namespace Demikernel.Server.Tests;

/// <summary>hz and dynamic-hz: the cron's frequency doubles while more than 200 clients per tick are connected, up to
/// 500, as redis's serverCron; INFO shows it as hz beside configured_hz.</summary>
public sealed class CronFrequencyTests
{
    [Theory]
    [InlineData(10, true, 2000, 10)]
    [InlineData(10, true, 2010, 20)]
    [InlineData(10, true, 10_000, 80)]
    [InlineData(10, false, 10_000, 10)]
    [InlineData(400, true, 100_000, 500)]
    [InlineData(1, true, 0, 1)]
    public void HzDoublesWithTheClients(int configured, bool dynamic, int clients, int expected) =>
        Assert.Equal(expected, RedisServer.AdaptHz(configured, dynamic, clients));

    [Fact]
    public void DynamicHzIsAParameterAsInRedisServer() => ReferenceRedis.AssertSameReplies(
    [
        ["CONFIG", "GET", "dynamic-hz"], ["CONFIG", "SET", "dynamic-hz", "maybe"], ["CONFIG", "SET", "dynamic-hz", "NO"],
        ["CONFIG", "GET", "dynamic-hz"], ["CONFIG", "SET", "hz", "1000"], ["CONFIG", "GET", "hz"], ["CONFIG", "SET", "dynamic-hz", "yes"],
    ]);

    [Fact]
    public void InfoShowsTheConfiguredAndTheCurrentFrequency()
    {
        using var h = new CommandHarness();
        h.Run("CONFIG", "SET", "hz", "50");
        string info = h.Run("INFO", "server");
        Assert.Contains("configured_hz:50\r\n", info);
    }
}
