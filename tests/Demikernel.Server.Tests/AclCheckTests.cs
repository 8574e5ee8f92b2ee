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

    /// <summary>A password is hashed from the argument's bytes, UTF-8 or not, for SETUSER as for AUTH.</summary>
    [Fact]
    public void BinaryPasswords()
    {
        using var h = new CommandHarness();
        byte[] pw = [0xff, 0xfe, 0x00, (byte)'x'];
        byte[] B(string s) => System.Text.Encoding.ASCII.GetBytes(s);
        Assert.Equal(CommandHarness.Ok, System.Text.Encoding.UTF8.GetString(h.Execute(B("ACL"), B("SETUSER"), B("bin"), B("on"), [(byte)'>', .. pw], B("+@all"))));
        Assert.Equal(CommandHarness.Err("WRONGPASS invalid username-password pair or user is disabled."),
            System.Text.Encoding.UTF8.GetString(h.Execute(B("AUTH"), B("bin"), [0xff, 0xfd, 0x00, (byte)'x'])));
        Assert.Equal(CommandHarness.Ok, System.Text.Encoding.UTF8.GetString(h.Execute(B("AUTH"), B("bin"), pw)));
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(pw)), h.Run("ACL", "GETUSER", "bin"), StringComparison.Ordinal);
        Assert.Equal(CommandHarness.Ok, System.Text.Encoding.UTF8.GetString(h.Execute(B("ACL"), B("SETUSER"), B("bin"), [(byte)'<', .. pw])));
        Assert.Equal(CommandHarness.Err("ERR Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist"),
            h.Run("ACL", "SETUSER", "bin", "<nope"));
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

        // the same GET through the dispatcher, as the default user and as the restricted one (interleaved rounds)
        h.Run("SET", "app:1", "v");
        var request = CommandHarness.EncodeRequest("GET", "app:1");
        double asDefault = double.MaxValue, asApp = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            h.Client.User = h.Server.Acl.Default;
            asDefault = Math.Min(asDefault, DispatchNs(h, request));
            h.Client.User = user;
            asApp = Math.Min(asApp, DispatchNs(h, request));
        }
        output.WriteLine($"GET through the dispatcher: default user {asDefault:F0} ns, restricted user {asApp:F0} ns");
    }

    private static double DispatchNs(CommandHarness h, byte[] request)
    {
        var scanner = new Demikernel.Resp.RespRequestScanner();
        var args = new Demikernel.Resp.RespArgs(16);
        var reply = new ReplyBuffer(h.LibOS);
        const int n = 100_000;
        var clock = new Stopwatch();
        for (int i = 0; i < n + n / 5; i++)
        {
            if (i == n / 5) clock.Start();
            scanner.TryScan(request, args, out _, out _);
            var context = new Demikernel.Server.Commands.CommandContext(request, args, h.Client, h.Server, reply);
            h.Server.Commands.Execute(ref context);
            h.LibOS.SgaFree(reply.Take());
        }
        return clock.Elapsed.TotalNanoseconds / n;
    }
}
