namespace Demikernel.Server.Tests;

/// <summary>
/// list-compress-depth is refused beyond its default 0: redis-server uses it only to LZF-compress interior quicklist
/// nodes, and lists here are not quicklists (server README, "What is missing from Redis 7.0"). CONFIG GET shows
/// redis-server's value; another value is refused at start and through CONFIG SET, never accepted and ignored.
/// </summary>
public sealed class ListCompressDepthTests
{
    [Fact]
    public void OnlyTheDefaultIsAccepted()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        Assert.Equal(redis.Run("CONFIG", "GET", "list-compress-depth"), h.Run("CONFIG", "GET", "list-compress-depth"));
        Assert.Equal(CommandHarness.Err("ERR CONFIG SET failed (possibly related to argument 'list-compress-depth') - can't set immutable config"),
            h.Run("CONFIG", "SET", "list-compress-depth", "1"));
        Assert.Equal(DirectiveResult.Applied, h.Server.Config.LoadDirective("list-compress-depth", ["0"], out _));
        Assert.Equal(DirectiveResult.Unsupported, h.Server.Config.LoadDirective("list-compress-depth", ["2"], out string? why));
        Assert.Contains("list-compress-depth 2", why);
        Assert.Equal(DirectiveResult.Error, h.Server.Config.LoadDirective("list-compress-depth", ["-1"], out why));
        Assert.Equal("argument must be between 0 and 2147483647 inclusive", why);
        Assert.Equal(CommandHarness.BulkArray("list-compress-depth", "0"), h.Run("CONFIG", "GET", "list-compress-depth"));
    }
}
