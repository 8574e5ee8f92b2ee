using Demikernel.Resp;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Tests;

/// <summary>The steady-state GET/SET/INCR path through the real dispatcher allocates nothing.</summary>
public sealed class AllocationTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData("SET", "key:000000000042", "xyz")]
    [InlineData("GET", "key:000000000042")]
    [InlineData("INCR", "counter")]
    [InlineData("EXISTS", "key:000000000042")]
    [InlineData("TTL", "key:000000000042")]
    [InlineData("MGET", "key:000000000042", "missing")]
    public void CommandAllocatesNothing(params string[] command)
    {
        _h.Run("SET", "key:000000000042", "abc");
        _h.Run("EXPIRE", "key:000000000042", "1000");
        // A call slower than slowlog-log-slower-than (a descheduled thread on a busy machine) is copied into the slow
        // log, which allocates by design: the gate measures the commands, not the machine's load.
        _h.Run("CONFIG", "SET", "slowlog-log-slower-than", "-1");
        var request = CommandHarness.EncodeRequest(command);
        var scanner = new RespRequestScanner();
        var args = new RespArgs(16);
        var reply = new ReplyBuffer(_h.LibOS);
        void RunOnce()
        {
            scanner.TryScan(request, args, out _, out _);
            var context = new CommandContext(request, args, _h.Client, _h.Server, reply);
            _h.Server.Commands.Execute(ref context);
            _h.LibOS.SgaFree(reply.Take());
        }
        Assert.Equal(0, AllocationGate.SteadyStateBytes(RunOnce));
    }
}
