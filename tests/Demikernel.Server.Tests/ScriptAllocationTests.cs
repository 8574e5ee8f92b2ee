using Demikernel.Resp;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Tests;

/// <summary>
/// A cached script called by EVALSHA (GET + INCR through redis.call) and FCALL allocate nothing on the managed side
/// per call: the Lua values live in Lua's own heap, the script client's reply buffer and frame are reused.
/// </summary>
public sealed class ScriptAllocationTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void EvalShaAndFcallAllocateNothing()
    {
        string sha = _h.Run("SCRIPT", "LOAD", "redis.call('get', KEYS[1]) return redis.call('incr', KEYS[2])").Split("\r\n")[1];
        _h.Run("FUNCTION", "LOAD", "#!lua name=alloc\nredis.register_function('alloc_f', function(keys) return redis.call('incr', keys[1]) end)");
        _h.Run("SET", "k", "v");
        Assert.Equal(0, Allocated(CommandHarness.EncodeRequest("EVALSHA", sha, "2", "k", "n")));
        Assert.Equal(0, Allocated(CommandHarness.EncodeRequest("FCALL", "alloc_f", "1", "n")));
        Assert.StartsWith(":", _h.Run("EVALSHA", sha, "2", "k", "n"), StringComparison.Ordinal);
    }

    private long Allocated(byte[] request)
    {
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
        for (int i = 0; i < 2000; i++) RunOnce();
        long best = long.MaxValue;
        for (int run = 0; run < 6 && best != 0; run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20_000; i++) RunOnce();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return best;
    }
}
