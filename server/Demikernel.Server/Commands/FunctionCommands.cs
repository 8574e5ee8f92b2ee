using Demikernel.Resp;
using Demikernel.Server.Scripting;

namespace Demikernel.Server.Commands;

/// <summary>FCALL, FCALL_RO and FUNCTION (LOAD, DELETE, FLUSH, LIST, STATS, KILL, HELP; DUMP/RESTORE see below).</summary>
public static class FunctionCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("FCALL", Fcall) { FlagsFor = FcallFlags });
        table.Add(new("FCALL_RO", FcallRo) { FlagsFor = FcallFlags });
        table.Add(new("FUNCTION", Help)
        {
            Subcommands =
            [
                new("DUMP", Dump),
                new("RESTORE", Restore),
                new("DELETE", Delete),
                new("FLUSH", Flush),
                new("HELP", Help),
                new("KILL", Kill),
                new("LIST", List),
                new("LOAD", Load),
                new("STATS", Stats),
            ],
        });
    }

    /// <summary>fcallGetCommandFlags: the function's declared flags.</summary>
    private static CommandFlags FcallFlags(ref CommandContext c, CommandFlags declared) =>
        c.Server.Functions.FindFunction(c.Arg(1)) is { } function ? ScriptingCommands.ScriptCommandFlags(declared, function.Flags) : declared;

    private static void Fcall(ref CommandContext c) => FcallGeneric(ref c, readOnly: false);

    private static void FcallRo(ref CommandContext c) => FcallGeneric(ref c, readOnly: true);

    private static void FcallGeneric(ref CommandContext c, bool readOnly)
    {
        c.PreventPropagation(); // its commands propagate, FCALL itself never does
        var functions = c.Server.Functions;
        var function = functions.FindFunction(c.Arg(1));
        if (function is null)
        {
            c.Reply.Error("ERR Function not found");
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long numKeys))
        {
            c.Reply.Error("ERR Bad number of keys provided");
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
        if (!ScriptingCommands.Prepare(ref c, function.Flags, readOnly)) return;
        var engine = functions.Engine;
        var run = engine.Run;
        run.Caller = c.Client;
        run.Name = function.Name;
        run.IsFunction = true;
        run.Database = c.Client.Database;
        run.ReadOnly = readOnly || (function.Flags & ScriptFlags.NoWrites) != 0;
        run.AllowOom = (function.Flags & ScriptFlags.AllowOom) != 0;
        engine.Execute(function.FunctionRef, ref c, 3, (int)numKeys, 3 + (int)numKeys, c.Count - 3 - (int)numKeys);
    }

    private static void Load(ref CommandContext c)
    {
        bool replace = false;
        int at = 2;
        while (at < c.Count - 1)
        {
            if (c.ArgIs(at, "REPLACE"u8))
            {
                replace = true;
                at++;
                continue;
            }
            c.Reply.Error("ERR Unknown option given: " + LuaEngine.SanitizeLine(c.ArgString(at)));
            return;
        }
        if (at >= c.Count)
        {
            c.Reply.Error("ERR Function code is missing");
            return;
        }
        string? name = c.Server.Functions.Load(c.Arg(at).ToArray(), replace, out string? error,
            c.Client.MustObey ? 0 : FunctionLibraries.LoadTimeoutMs);
        if (name is null)
        {
            c.Reply.Error(LuaEngine.SanitizeLine(error!));
            return;
        }
        c.Server.Stats.Dirty++; // a change of the dataset: propagated, counted for save points
        c.Reply.Bulk(name);
    }

    private static void Dump(ref CommandContext c) => c.Reply.Bulk(c.Server.Functions.Dump(c.Server.Config.RdbCompression));

    private static void Restore(ref CommandContext c)
    {
        if (c.Count > 4)
        {
            c.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{LuaEngine.SanitizeLine(c.ArgString(1))}'. Try FUNCTION HELP.");
            return;
        }
        string policy = "APPEND";
        if (c.Count == 4)
        {
            if (c.ArgIs(3, "APPEND"u8)) policy = "APPEND";
            else if (c.ArgIs(3, "REPLACE"u8)) policy = "REPLACE";
            else if (c.ArgIs(3, "FLUSH"u8)) policy = "FLUSH";
            else
            {
                c.Reply.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
                return;
            }
        }
        if (c.Server.Functions.Restore(c.Arg(2), policy) is { } error)
        {
            c.Reply.Error(LuaEngine.SanitizeLine(error));
            return;
        }
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    private static void Delete(ref CommandContext c)
    {
        if (!c.Server.Functions.Delete(c.ArgString(2)))
        {
            c.Reply.Error("ERR Library not found");
            return;
        }
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    private static void Flush(ref CommandContext c)
    {
        if (c.Count > 3)
        {
            c.Reply.Error($"ERR unknown subcommand or wrong number of arguments for '{LuaEngine.SanitizeLine(c.ArgString(1))}'. Try FUNCTION HELP.");
            return;
        }
        if (c.Count == 3 && !c.ArgIs(2, "SYNC"u8) && !c.ArgIs(2, "ASYNC"u8))
        {
            c.Reply.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            return;
        }
        bool async = c.Count == 3 ? c.ArgIs(2, "ASYNC"u8) : c.Server.Config.LazyFreeLazyUserFlush;
        if (async && c.Server.Functions.FunctionCount > Store.LazyFree.Threshold) c.Server.Config.LazyFree.FlushedAsync(c.Server.Functions.FunctionCount);
        c.Server.Functions.Flush();
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    private static void List(ref CommandContext c)
    {
        bool withCode = false;
        string? pattern = null;
        for (int i = 2; i < c.Count; i++)
        {
            if (!withCode && c.ArgIs(i, "WITHCODE"u8))
            {
                withCode = true;
                continue;
            }
            if (pattern is null && c.ArgIs(i, "LIBRARYNAME"u8))
            {
                if (i >= c.Count - 1)
                {
                    c.Reply.Error("ERR library name argument was not given");
                    return;
                }
                pattern = c.ArgString(++i);
                continue;
            }
            c.Reply.Error("ERR Unknown argument " + LuaEngine.SanitizeLine(c.ArgString(i)));
            return;
        }
        var libraries = c.Server.Functions.Libraries
            .Where(l => pattern is null || Store.Glob.IsMatch(pattern, l.Name, ignoreCase: true)).ToList();
        c.Reply.ArrayHeader(libraries.Count);
        foreach (var library in libraries)
        {
            c.Reply.MapHeader(withCode ? 4 : 3);
            c.Reply.Bulk("library_name");
            c.Reply.Bulk(library.Name);
            c.Reply.Bulk("engine");
            c.Reply.Bulk("LUA");
            c.Reply.Bulk("functions");
            c.Reply.ArrayHeader(library.Functions.Count);
            foreach (var f in library.Functions)
            {
                c.Reply.MapHeader(3);
                c.Reply.Bulk("name");
                c.Reply.Bulk(f.Name);
                c.Reply.Bulk("description");
                if (f.Description is null) c.Reply.Null();
                else c.Reply.Bulk(f.Description);
                c.Reply.Bulk("flags");
                WriteFlags(c.Reply, f.Flags);
            }
            if (withCode)
            {
                c.Reply.Bulk("library_code");
                c.Reply.Bulk(library.Code);
            }
        }
    }

    private static void WriteFlags(ReplyBuffer reply, ScriptFlags flags)
    {
        (ScriptFlags Flag, string Name)[] all =
        [
            (ScriptFlags.NoWrites, "no-writes"), (ScriptFlags.AllowOom, "allow-oom"), (ScriptFlags.AllowStale, "allow-stale"),
            (ScriptFlags.NoCluster, "no-cluster"), (ScriptFlags.AllowCrossSlot, "allow-cross-slot-keys"),
        ];
        reply.SetHeader(all.Count(f => (flags & f.Flag) != 0));
        foreach (var (flag, name) in all)
            if ((flags & flag) != 0) reply.SimpleString(name);
    }

    private static void Stats(ref CommandContext c)
    {
        var functions = c.Server.Functions;
        var running = c.Server.RunningScript;
        if (running is not null && !running.Run.IsFunction)
        {
            c.Reply.Error(Errors.BusyScript);
            return;
        }
        c.Reply.MapHeader(2);
        c.Reply.Bulk("running_script");
        if (running is null) c.Reply.Null();
        else
        {
            var run = running.Run;
            c.Reply.MapHeader(3);
            c.Reply.Bulk("name");
            c.Reply.Bulk(run.Name);
            c.Reply.Bulk("command");
            var args = run.CallerArgs ?? [];
            c.Reply.ArrayHeader(args.Length);
            foreach (var a in args) c.Reply.Bulk(a);
            c.Reply.Bulk("duration_ms");
            c.Reply.Integer((long)System.Diagnostics.Stopwatch.GetElapsedTime(run.StartTimestamp).TotalMilliseconds);
        }
        c.Reply.Bulk("engines");
        c.Reply.MapHeader(1);
        c.Reply.Bulk("LUA");
        c.Reply.MapHeader(2);
        c.Reply.Bulk("libraries_count");
        c.Reply.Integer(functions.LibraryCount);
        c.Reply.Bulk("functions_count");
        c.Reply.Integer(functions.FunctionCount);
    }

    private static void Kill(ref CommandContext c) => c.Server.ScriptKill(ref c, functions: true);

    private static void Help(ref CommandContext c)
    {
        string[] lines =
        [
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
            "HELP",
            "    Prints this help.",
        ];
        c.Reply.ArrayHeader(lines.Length);
        foreach (var line in lines) c.Reply.SimpleString(line);
    }
}
