using System.Diagnostics;
using Xunit.Abstractions;

namespace Demikernel.Server.Tests;

/// <summary>
/// The dispatcher's ACL check: nothing allocated per request for a restricted user (command bit, key patterns with
/// read/write flags, selectors), and what it costs next to the default user's one branch.
/// </summary>
public sealed class AclCheckTests(ITestOutputHelper output)
{
    [Fact]
    public void RestrictedUsersRequestsAllocateNothing()
    {
        using var h = new CommandHarness();
        Assert.Equal(CommandHarness.Ok, h.Run("ACL", "SETUSER", "app", "on", "nopass", "-@all", "+get", "+set", "+mget", "%R~r:*", "~app:*", "(+hget ~h:*)"));
        Assert.Equal(CommandHarness.Ok, h.Run("AUTH", "app", "x"));
        h.Run("SET", "app:1", "v");
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("GET", "app:1")));
        Assert.Equal(CommandHarness.Nil, h.Run("GET", "r:1"));
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("GET", "r:1")));
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("MGET", "app:1", "r:a", "app:b")));
        Assert.Equal(0, h.SteadyStateAllocation(CommandHarness.EncodeRequest("HGET", "h:1", "f"))); // allowed by the second selector
    }

    /// <summary>Reports what one check of a restricted user costs (the default user's is one field test).</summary>
    [Fact]
    public void CheckCost()
    {
        using var h = new CommandHarness();
        h.Run("ACL", "SETUSER", "app", "on", "nopass", "-@all", "+get", "~other:*", "~app:*");
        var user = h.Server.Acl.Get("app")!;
        Assert.True(h.Server.Commands.TryGet("GET", out var get));
        var args = new Demikernel.Server.Commands.ArrayArguments(["GET"u8.ToArray(), "app:1"u8.ToArray()]);
        var keys = new List<(int, Demikernel.Server.Commands.KeyFlags)>();
        Assert.Equal(Demikernel.Server.Acl.AclResult.Ok, user.Check(get, ref args, keys, out _));
        Assert.False(user.Unrestricted);
        Assert.True(h.Server.Acl.Default.Unrestricted);
        const int n = 200_000;
        for (int i = 0; i < n / 10; i++) user.Check(get, ref args, keys, out _);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) user.Check(get, ref args, keys, out _);
        output.WriteLine($"ACL check of GET for a user with a command bitmap and 2 key patterns: {clock.Elapsed.TotalNanoseconds / n:F0} ns");
    }
}
