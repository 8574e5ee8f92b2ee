using Demikernel.Server.Commands;
using Demikernel.Server.Interop;

namespace Demikernel.Server.Modules;

/// <summary>
/// MODULE as redis-server 7.0.15 answers it on a server that can load no module: a Redis module is a C library
/// written against redis-server's module API (RedisModule_* function pointers into redis's own structures), which
/// this server does not have. LIST is always empty; LOAD and LOADEX parse their arguments and open the library as
/// redis does (execute permission, dlopen, RedisModule_OnLoad), then fail with redis's reply and a log line saying
/// why; UNLOAD finds no module. LOAD, LOADEX and UNLOAD need enable-module-command (protected, as in 7.0).
/// </summary>
internal static class ModuleCommands
{
    private const string LoadFailed = "ERR Error loading the extension. Please check the server logs.";

    public static void Register(CommandTable table) => table.Add(new("MODULE", UnknownOrHelp)
    {
        Subcommands =
        [
            new("HELP", Help),
            new("LIST", List),
            new("LOAD", Load),
            new("LOADEX", LoadEx),
            new("UNLOAD", Unload),
        ],
    });

    // The container's arity makes it run only with a subcommand, which the table resolves first.
    private static void UnknownOrHelp(ref CommandContext c) => c.Reply.Error(Errors.UnknownSubcommand(c.ArgString(1), c.Command.Name));

    private static void Help(ref CommandContext c) => Diagnostics.DiagnosticsCommands.ReplyHelp(ref c, "MODULE",
    [
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    ]);

    private static void List(ref CommandContext c) => c.Reply.ArrayHeader(0);

    private static void Load(ref CommandContext c)
    {
        if (!Allowed(ref c)) return;
        TryLoad(ref c, c.ArgString(2));
        c.Reply.Error(LoadFailed);
    }

    /// <summary>LOADEX path [CONFIG name value ...] [ARGS ...]: redis's parseLoadexArguments first (its log lines),
    /// then the load.</summary>
    private static void LoadEx(ref CommandContext c)
    {
        if (!Allowed(ref c)) return;
        for (int i = 3; i < c.Count; i++)
        {
            if (c.ArgIs(i, "CONFIG"u8))
            {
                if (i + 2 >= c.Count)
                {
                    c.Server.Log.LoadexConfigWithoutPair();
                    c.Reply.Error(LoadFailed);
                    return;
                }
                i += 2;
            }
            else if (c.ArgIs(i, "ARGS"u8)) break;
            else
            {
                LogSyntaxError(ref c, i);
                c.Reply.Error(LoadFailed);
                return;
            }
        }
        TryLoad(ref c, c.ArgString(2));
        c.Reply.Error(LoadFailed);
    }

    private static void LogSyntaxError(ref CommandContext c, int index)
    {
        string argument = c.ArgString(index);
        c.Server.Log.LoadexSyntaxError(argument);
    }

    private static void Unload(ref CommandContext c)
    {
        if (!Allowed(ref c)) return;
        c.Reply.Error("ERR Error unloading module: no such module with that name"); // no module is ever loaded
    }

    /// <summary>redis's moduleLoad up to the point where it would call the module: each failure is logged with its
    /// text; a library that is a Redis module fails too, since its RedisModule_OnLoad needs redis's module API.</summary>
    private static void TryLoad(ref CommandContext c, string path)
    {
        var log = c.Server.Log;
        try
        {
            if (!OperatingSystem.IsWindows() && (File.Exists(path) || Directory.Exists(path)) &&
                (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            {
                log.ModuleLoadFailed(path, "It does not have execute permissions.");
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // as redis: the permission check is best effort (stat failed), dlopen decides
        }
        nint handle = DynamicLoader.Open(path, out string? error);
        if (handle == 0)
        {
            log.ModuleLoadFailed(path, error!);
            return;
        }
        try
        {
            if (!DynamicLoader.HasSymbol(handle, "RedisModule_OnLoad")) log.ModuleWithoutOnLoad(path);
            else log.ModuleLoadFailed(path, "this server has no Redis module API, so RedisModule_OnLoad() was not called. Module not loaded.");
        }
        finally
        {
            _ = DynamicLoader.Close(handle);
        }
    }

    /// <summary>enable-module-command: no (default), yes, or local (loopback and unix-socket clients, not scripts).</summary>
    private static bool Allowed(ref CommandContext c)
    {
        string mode = c.Server.Config.Get("enable-module-command") ?? "no";
        if (mode == "yes" || (mode == "local" && !c.Client.IsScript &&
            (c.Client.UnixSocketPath is not null || c.Client.Peer.ToString().StartsWith("127.", StringComparison.Ordinal))))
            return true;
        c.Reply.Error("ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        return false;
    }
}
