using Demikernel.Resp;
using Demikernel.Server.Scripting;

namespace Demikernel.Server.Commands;

/// <summary>
/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (see Scripting/README.md): the script cache, the checks of
/// redis-server's evalGenericCommand and scriptPrepareForRun, then the engine runs the script.
/// </summary>
public static class ScriptingCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("EVAL", Eval) { FlagsFor = EvalFlags });
        table.Add(new("EVALSHA", EvalSha) { FlagsFor = EvalShaFlags });
        table.Add(new("EVAL_RO", EvalRo) { FlagsFor = EvalFlags });
        table.Add(new("EVALSHA_RO", EvalShaRo) { FlagsFor = EvalShaFlags });
        table.Add(new("SCRIPT", Help)
        {
            Subcommands =
            [
                new("DEBUG", ScriptDebug),
                new("EXISTS", ScriptExists),
                new("FLUSH", ScriptFlush),
                new("HELP", Help),
                new("KILL", ScriptKill),
                new("LOAD", ScriptLoad),
            ],
        });
    }

    private static void Eval(ref CommandContext c) => EvalGeneric(ref c, sha: false, readOnly: false);

    private static void EvalSha(ref CommandContext c) => EvalGeneric(ref c, sha: true, readOnly: false);

    private static void EvalRo(ref CommandContext c) => EvalGeneric(ref c, sha: false, readOnly: true);

    private static void EvalShaRo(ref CommandContext c) => EvalGeneric(ref c, sha: true, readOnly: true);

    private static void EvalGeneric(ref CommandContext c, bool sha, bool readOnly)
    {
        // The script's effects are its commands' (nested like EXEC's); EVAL itself never propagates.
        c.PreventPropagation();
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long numKeys))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (numKeys > c.Count - 3)
        {
            c.Reply.Error("ERR Number of keys can't be greater than number of args");
            return;
        }
        if (numKeys < 0)
        {
            c.Reply.Error("ERR Number of keys can't be negative");
            return;
        }
        var scripts = c.Server.Scripts;
        LuaScript? script;
        if (sha)
        {
            script = scripts.Find(c.Arg(1));
            if (script is null)
            {
                c.Reply.Error("NOSCRIPT No matching script. Please use EVAL.");
                return;
            }
        }
        else
        {
            script = scripts.GetOrCreate(c.Arg(1), out string? error);
            if (script is null)
            {
                c.Reply.Error(LuaEngine.SanitizeLine(error!));
                return;
            }
        }
        if (!Prepare(ref c, script.Flags, readOnly)) return;
        var engine = scripts.Engine;
        var run = engine.Run;
        run.Caller = c.Client;
        run.Name = script.Sha;
        run.IsFunction = false;
        run.Database = c.Client.Database;
        run.ReadOnly = readOnly || (script.Flags & (ScriptFlags.EvalCompat | ScriptFlags.NoWrites)) == ScriptFlags.NoWrites;
        run.AllowOom = (script.Flags & (ScriptFlags.EvalCompat | ScriptFlags.AllowOom)) == ScriptFlags.AllowOom;
        engine.Execute(script.FunctionRef, ref c, 3, (int)numKeys, 3 + (int)numKeys, c.Count - 3 - (int)numKeys);
    }

    /// <summary>
    /// evalGetCommandFlags: a cached script's declared flags, or those of the shebang of a body not cached yet; the
    /// command's own flags for a script without shebang or an unknown SHA.
    /// </summary>
    private static CommandFlags EvalFlags(ref CommandContext c, CommandFlags declared)
    {
        var body = c.Arg(1);
        if (c.Server.Scripts.FindBody(body) is { } script) return ScriptCommandFlags(declared, script.Flags);
        return Shebang.TryParse(body, out var flags, out _, out _) ? ScriptCommandFlags(declared, flags) : declared;
    }

    private static CommandFlags EvalShaFlags(ref CommandContext c, CommandFlags declared) =>
        c.Server.Scripts.Find(c.Arg(1)) is { } script ? ScriptCommandFlags(declared, script.Flags) : declared;

    /// <summary>scriptFlagsToCmdFlags: declared flags replace the command's write, denyoom and stale.</summary>
    internal static CommandFlags ScriptCommandFlags(CommandFlags declared, ScriptFlags script)
    {
        if ((script & ScriptFlags.EvalCompat) != 0) return declared;
        var flags = declared & ~(CommandFlags.Stale | CommandFlags.DenyOom | CommandFlags.Write | CommandFlags.MayReplicate);
        if ((script & (ScriptFlags.AllowOom | ScriptFlags.NoWrites)) == 0) flags |= CommandFlags.DenyOom;
        if ((script & ScriptFlags.NoWrites) == 0) flags |= CommandFlags.Write;
        if ((script & ScriptFlags.AllowStale) != 0) flags |= CommandFlags.Stale;
        return flags;
    }

    /// <summary>scriptPrepareForRun's checks of a script's declared flags against the server's state.</summary>
    internal static bool Prepare(ref CommandContext c, ScriptFlags flags, bool readOnly)
    {
        if ((flags & ScriptFlags.EvalCompat) != 0) return true;
        if ((flags & ScriptFlags.NoWrites) == 0)
        {
            if (c.Server.Persistence.WriteDeniedError is { } denied)
            {
                c.Reply.Error(denied.Contains("AOF", StringComparison.Ordinal)
                    ? "MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: " + AofErrorText(denied)
                    : "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.");
                return false;
            }
            if (readOnly)
            {
                c.Reply.Error("ERR Can not execute a script with write flag using *_ro command.");
                return false;
            }
        }
        // Out of memory when the command started (only reachable where the dispatcher did not refuse it: EXEC).
        if ((flags & (ScriptFlags.AllowOom | ScriptFlags.NoWrites)) == 0 && c.Server.Memory.OutOfMemoryAtCommandStart)
        {
            c.Reply.Error("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
            return false;
        }
        return true;
    }

    private static string AofErrorText(string denied)
    {
        int colon = denied.LastIndexOf(": ", StringComparison.Ordinal);
        return colon < 0 ? denied : denied[(colon + 2)..];
    }

    // ---------------------------------------------------------------- SCRIPT

    private static void ScriptLoad(ref CommandContext c)
    {
        var script = c.Server.Scripts.GetOrCreate(c.Arg(2), out string? error);
        if (script is null)
        {
            c.Reply.Error(LuaEngine.SanitizeLine(error!));
            return;
        }
        c.Reply.Bulk(script.Sha);
    }

    private static void ScriptExists(ref CommandContext c)
    {
        c.Reply.ArrayHeader(c.Count - 2);
        for (int i = 2; i < c.Count; i++) c.Reply.Integer(c.Server.Scripts.Find(c.Arg(i)) is null ? 0 : 1);
    }

    private static void ScriptFlush(ref CommandContext c)
    {
        if (c.Count > 3 || (c.Count == 3 && !c.ArgIs(2, "SYNC"u8) && !c.ArgIs(2, "ASYNC"u8)))
        {
            c.Reply.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        // ASYNC (or no flag with lazyfree-lazy-user-flush) hands more than 64 scripts to redis's lazy-free thread:
        // counted in lazyfreed_objects as there (Store/LazyFree.cs); the Lua state is released here either way.
        bool async = c.Count == 3 ? c.ArgIs(2, "ASYNC"u8) : c.Server.Config.LazyFreeLazyUserFlush;
        if (async && c.Server.Scripts.Count > Store.LazyFree.Threshold) c.Server.Config.LazyFree.FlushedAsync(c.Server.Scripts.Count);
        c.Server.Scripts.Flush();
        c.Reply.Ok();
    }

    private static void ScriptKill(ref CommandContext c) => c.Server.ScriptKill(ref c, functions: false);

    private static void ScriptDebug(ref CommandContext c)
    {
        if (c.ArgIs(2, "NO"u8))
        {
            c.Reply.Ok();
            return;
        }
        if (c.ArgIs(2, "YES"u8) || c.ArgIs(2, "SYNC"u8))
        {
            // The Lua debugger (LDB) is not implemented: refused rather than accepted and ignored.
            c.Reply.Error("ERR SCRIPT DEBUG is not supported by this server (the Lua debugger is not implemented)");
            return;
        }
        c.Reply.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }

    private static void Help(ref CommandContext c)
    {
        string[] lines =
        [
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "HELP",
            "    Prints this help.",
        ];
        c.Reply.ArrayHeader(lines.Length);
        foreach (var line in lines) c.Reply.SimpleString(line);
    }
}
