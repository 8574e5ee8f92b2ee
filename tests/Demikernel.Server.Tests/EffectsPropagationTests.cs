using static Demikernel.Server.Tests.EffectsScript;

namespace Demikernel.Server.Tests;

/// <summary>
/// What our server propagates (through <see cref="Propagation.EffectsStream"/>) against what redis-server 7.0 writes
/// to its AOF for the same script, byte for byte after normalising absolute times.
/// </summary>
public sealed class EffectsPropagationTests
{
    [Fact]
    public void PlainWritesPropagateTheirArguments() => Check([
        Cmd("SET", "k", "v"), Cmd("GET", "k"), Cmd("INCR", "n"), Cmd("LPUSH", "l", "a", "b"), Cmd("DEL", "missing"),
        Cmd("SADD", "s", "x"), Cmd("SADD", "s", "x"), Cmd("APPEND", "k", "w"), Cmd("HSET", "h", "f", "1"),
    ]);
}
