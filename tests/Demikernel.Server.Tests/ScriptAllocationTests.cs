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
        Assert.Equal(0, _h.SteadyStateAllocation(CommandHarness.EncodeRequest("EVALSHA", sha, "2", "k", "n")));
        Assert.Equal(0, _h.SteadyStateAllocation(CommandHarness.EncodeRequest("FCALL", "alloc_f", "1", "n")));
        Assert.StartsWith(":", _h.Run("EVALSHA", sha, "2", "k", "n"), StringComparison.Ordinal);
    }
}
