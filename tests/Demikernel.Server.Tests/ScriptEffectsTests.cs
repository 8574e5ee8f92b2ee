using static Demikernel.Server.Tests.EffectsScript;

namespace Demikernel.Server.Tests;

/// <summary>
/// What scripts propagate, against redis-server 7.0.15's AOF for the same commands: their writes as effects (one alone,
/// several in MULTI/EXEC), never EVAL/FCALL themselves, nothing for scripts that only read or fail before writing,
/// redis.set_repl(REPL_NONE) leaving the following writes out (REPL_REPLICA out of the AOF, REPL_AOF in it), and
/// FUNCTION LOAD/DELETE/FLUSH as themselves.
/// </summary>
public sealed class ScriptEffectsTests
{
    [Fact]
    public void ScriptsPropagateTheirEffects() => Check([
        Cmd("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"),
        Cmd("EVAL", "redis.call('set', 'a', 1) redis.call('incr', 'a') return redis.call('get', 'a')", "0"),
        Cmd("EVAL", "return redis.call('get', 'a')", "0"),
        Cmd("EVAL", "redis.call('incr', 'k')", "0"),
        Cmd("EVAL", "redis.call('lpush', 'l', 'x') redis.call('incr', 'k')", "0"),
        Cmd("EVAL", "redis.call('select', 2) redis.call('set', 'in2', 'v') redis.call('select', 0) redis.call('set', 'in0', 'v')", "0"),
        Cmd("EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', 1) redis.set_repl(redis.REPL_ALL) redis.call('set', 'shown', 1)", "0"),
        Cmd("EVAL", "redis.set_repl(redis.REPL_AOF) redis.call('set', 'aof_only', 1) redis.set_repl(redis.REPL_REPLICA) redis.call('set', 'replica_only', 1) redis.call('incr', 'aof_only')", "0"),
        Cmd("SET", "after", "1"),
        Cmd("FUNCTION", "LOAD", "#!lua name=eff\nredis.register_function('eff_set', function(keys, args) redis.call('set', keys[1], args[1]) redis.call('incr', 'counter') end)"),
        Cmd("FCALL", "eff_set", "1", "fk", "fv"),
        Cmd("FUNCTION", "DELETE", "eff"),
        Cmd("FUNCTION", "FLUSH"),
        Cmd("SCRIPT", "LOAD", "return 1"),
        Cmd("SCRIPT", "FLUSH"),
    ]);
}
