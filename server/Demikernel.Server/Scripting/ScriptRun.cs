namespace Demikernel.Server.Scripting;

/// <summary>Script flags from a <c>#!lua flags=...</c> shebang or <c>redis.register_function{flags=...}</c>.</summary>
[Flags]
internal enum ScriptFlags
{
    None = 0,
    NoWrites = 1,
    AllowOom = 2,
    AllowStale = 4,
    NoCluster = 8,
    AllowCrossSlot = 16,
    /// <summary>An EVAL script without a shebang: redis-server's backwards-compatible mode.</summary>
    EvalCompat = 32,
}

/// <summary>The script being run (redis's scriptRunCtx): one per engine, reused.</summary>
internal sealed class ScriptRun
{
    /// <summary>The caller's client.</summary>
    public ClientState? Caller;

    /// <summary>"f_&lt;sha&gt;"'s sha for EVAL, the function's name for FCALL (error messages, SCRIPT KILL's log).</summary>
    public string Name = "";

    /// <summary>EVAL_RO, FCALL_RO, or a no-writes script: write commands are refused.</summary>
    public bool ReadOnly;

    /// <summary>The script declared allow-oom: denyoom commands run even out of memory.</summary>
    public bool AllowOom;

    /// <summary>A write command ran: the script can no longer be killed, and later writes skip the state checks.</summary>
    public bool WriteDirty;

    /// <summary>The script asked for RESP3 replies (redis.setresp(3)).</summary>
    public bool Resp3;

    /// <summary>The database the script's commands run in (starts as the caller's; SELECT inside moves it).</summary>
    public int Database;

    /// <summary>redis.set_repl flags (1 = AOF, 2 = replicas).</summary>
    public int ReplFlags = 3;

    /// <summary>Stopwatch timestamp of the start.</summary>
    public long StartTimestamp;

    /// <summary>SCRIPT KILL / FUNCTION KILL asked to stop it.</summary>
    public bool KillRequested;

    /// <summary>True for FCALL (functions), false for EVAL.</summary>
    public bool IsFunction;

    public bool Running;

    /// <summary>The caller's command, kept once the script times out (FUNCTION STATS shows it).</summary>
    public string[]? CallerArgs;
}
