using System.Diagnostics;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// A script that runs past busy-reply-threshold, over real sockets: other clients get redis-server's BUSY replies
/// while it runs, FUNCTION STATS answers as redis does, and SCRIPT KILL / FUNCTION KILL stop it with redis's error to
/// its caller; a script that already wrote cannot be killed.
/// </summary>
public sealed class ScriptBusyTests(ServerFixture server) : ServerTestBase(server), IClassFixture<ServerFixture>
{
    private const string BusyEval = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    private const string BusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

    /// <summary>Sends PING until the answer is BUSY (the script crossed the threshold, 50 ms here).</summary>
    private static void WaitForBusy(RawConnection other, string expected)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var reply = other.Command("PING");
            if (reply.Type == '-')
            {
                Assert.Equal(expected, reply.Text);
                return;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the script never became busy");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void ScriptKillStopsALongEval()
    {
        using var caller = new RawConnection(Server);
        using var other = new RawConnection(Server);
        Assert.Equal("+OK", other.Command("CONFIG", "SET", "busy-reply-threshold", "50").ToString());
        caller.SendCommand("EVAL", "local i = 0\nwhile true do\n  i = i + 1\nend", "0");
        WaitForBusy(other, BusyEval);
        Assert.Equal(BusyEval, other.Command("GET", "x").Text);
        Assert.Equal(BusyEval, other.Command("FUNCTION", "STATS").Text);
        Assert.Equal(BusyEval, other.Command("FUNCTION", "KILL").Text);
        Assert.Equal("+OK", other.Command("SCRIPT", "KILL").ToString());
        var killed = caller.ReadReply();
        Assert.Equal('-', killed.Type);
        Assert.Matches("^ERR Script killed by user with SCRIPT KILL\\.\\.\\. script: [0-9a-f]{40}, on @user_script:[234]\\.$", killed.Text);
        Assert.Equal("+PONG", other.Command("PING").ToString());
        Assert.Equal("+PONG", caller.Command("PING").ToString());
        Assert.Equal("-NOTBUSY No scripts in execution right now.", other.Command("SCRIPT", "KILL").ToString());
    }

    [Fact]
    public void FunctionKillAndStatsWhileAFunctionRuns()
    {
        using var caller = new RawConnection(Server);
        using var other = new RawConnection(Server);
        Assert.Equal("+OK", other.Command("CONFIG", "SET", "busy-reply-threshold", "50").ToString());
        string lib = "busylib" + Guid.NewGuid().ToString("N");
        Assert.Equal(lib, other.Command("FUNCTION", "LOAD", $"#!lua name={lib}\nredis.register_function('spin_{lib}', function() while true do end end)").Text);
        caller.SendCommand("FCALL", "spin_" + lib, "0");
        WaitForBusy(other, BusyFunction);
        var stats = other.Command("FUNCTION", "STATS");
        Assert.Equal('*', stats.Type); // RESP2: the map as a flat array
        Assert.Equal("running_script", stats.Items![0].Text);
        var running = stats.Items[1].Items!;
        Assert.Equal("spin_" + lib, running[1].Text);
        Assert.Equal($"FCALL spin_{lib} 0", string.Join(' ', running[3].Items!.Select(i => i.Text)));
        Assert.Equal(BusyFunction, other.Command("SCRIPT", "KILL").Text);
        Assert.Equal("+OK", other.Command("FUNCTION", "KILL").ToString());
        var killed = caller.ReadReply();
        Assert.Equal('-', killed.Type);
        Assert.StartsWith($"ERR Script killed by user with SCRIPT KILL... script: spin_{lib}, on @user_function:2.", killed.Text, StringComparison.Ordinal);
        Assert.Equal("+OK", other.Command("FUNCTION", "DELETE", lib).ToString());
    }

    [Fact]
    public void AScriptThatWroteCannotBeKilled()
    {
        using var caller = new RawConnection(Server);
        using var other = new RawConnection(Server);
        Assert.Equal("+OK", other.Command("CONFIG", "SET", "busy-reply-threshold", "50").ToString());
        string key = UniqueKey("busy");
        // Writes, then spins for a bounded while (about 300 ms past the threshold), then returns.
        caller.SendCommand("EVAL", "redis.call('set', KEYS[1], 'v') local t = redis.call('time') local start = t[1] * 1000000 + t[2] local n = 0 while true do n = n + 1 if n % 100000 == 0 then local now = redis.call('time') if now[1] * 1000000 + now[2] - start > 300000 then break end end end return 'done'", "1", key);
        WaitForBusy(other, BusyEval);
        Assert.StartsWith("-UNKILLABLE Sorry the script already executed write commands", other.Command("SCRIPT", "KILL").ToString(), StringComparison.Ordinal);
        Assert.Equal("$done", caller.ReadReply().ToString());
        Assert.Equal("$v", other.Command("GET", key).ToString());
    }
}
