using System.CommandLine;
using Demikernel;
using Demikernel.Runtime;
using Demikernel.Server;
using Demikernel.Server.Logging;
using Microsoft.Extensions.Logging;

// redis-server-style options; a YAML config (Demikernel's sections plus `server:`) sits under them.
var port = new Option<int?>("--port") { Description = "TCP port to listen on (default 6379; 0 = any free port)" };
var bind = new Option<string?>("--bind") { Description = "IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 = all)" };
var databases = new Option<int?>("--databases") { Description = "number of databases (default 16)" };
var requirepass = new Option<string?>("--requirepass") { Description = "password clients must AUTH with (default: none)" };
var maxclients = new Option<int?>("--maxclients") { Description = "most simultaneous clients (default 10000)" };
var timeout = new Option<int?>("--timeout") { Description = "close idle clients after this many seconds (default 0 = never)" };
var hz = new Option<int?>("--hz") { Description = "background task frequency: active expiry, timeouts (default 10)" };
var libosName = new Option<string?>("--libos") { Description = $"libOS to run on: {string.Join(", ", LibOS.Available)} (default catnap)" };
var dir = new Option<string?>("--dir") { Description = "working directory for dump.rdb and the AOF directory (default: the current directory)" };
var dbfilename = new Option<string?>("--dbfilename") { Description = "RDB file name inside --dir (default dump.rdb)" };
var save = new Option<string?>("--save") { Description = "save points \"SECONDS CHANGES ...\", \"\" for none (default \"3600 1 300 100 60 10000\")" };
var appendonly = new Option<string?>("--appendonly") { Description = "yes: keep an append-only file and load it at start instead of the RDB (default no)" };
var appendfsync = new Option<string?>("--appendfsync") { Description = "always | everysec | no: when the AOF is fsynced (default everysec)" };
var aofLoadTruncated = new Option<string?>("--aof-load-truncated") { Description = "yes: an AOF whose last command is torn loads without it; no: the server refuses to start (default yes)" };
var loglevel = new Option<string?>("--loglevel") { Description = "log verbosity: debug, verbose, notice, warning (default notice)" };
var logfile = new Option<string?>("--logfile") { Description = "append the log to this file (default: empty = standard output)" };
var outputLimit = new Option<string[]>("--client-output-buffer-limit") { Description = "\"CLASS HARD SOFT SECONDS\" for normal, replica or pubsub clients (repeatable; default \"normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60\")" };
var queryLimit = new Option<string?>("--client-query-buffer-limit") { Description = "close a client whose unparsed input exceeds this (default 1gb)" };
var protoMaxBulkLen = new Option<string?>("--proto-max-bulk-len") { Description = "largest bulk string a request may carry (default 512mb)" };
var tcpKeepAlive = new Option<string?>("--tcp-keepalive") { Description = "seconds of idle before TCP keepalive probes on client connections; 0 = off (default 300)" };
var configFile = new Option<string?>("--config") { Description = "YAML config file (see configs/); command-line options override it" };

var root = new RootCommand("Redis-compatible key-value server on the Demikernel queue API")
{
    port, bind, databases, requirepass, maxclients, timeout, hz, libosName, configFile, dir, dbfilename, save, appendonly, appendfsync,
    aofLoadTruncated, loglevel, logfile, outputLimit, queryLimit, protoMaxBulkLen, tcpKeepAlive,
};
root.SetAction(parse =>
{
    try
    {
        string? path = parse.GetValue(configFile);
        var config = path is null ? new LibOSConfig() : LibOSConfig.Load(path);
        var options = new ServerOptions
        {
            Port = parse.GetValue(port) ?? config.GetInt("server", "port", 6379),
            Bind = parse.GetValue(bind) ?? config.GetString("server", "bind", "127.0.0.1"),
            Databases = parse.GetValue(databases) ?? config.GetInt("server", "databases", 16),
            RequirePass = config.Get("server", "requirepass") is { Length: > 0 } filePass ? filePass : null,
            MaxClients = parse.GetValue(maxclients) ?? config.GetInt("server", "maxclients", 10000),
            Timeout = parse.GetValue(timeout) ?? config.GetInt("server", "timeout", 0),
            Hz = parse.GetValue(hz) ?? config.GetInt("server", "hz", 10),
            LibOS = parse.GetValue(libosName) ?? config.GetString("server", "libos", LibOS.DefaultName),
            ConfigFile = path,
            Dir = parse.GetValue(dir) ?? config.Get("server", "dir"),
            DbFilename = parse.GetValue(dbfilename) ?? config.GetString("server", "dbfilename", "dump.rdb"),
            Save = parse.GetValue(save) ?? config.GetString("server", "save", ServerOptions.DefaultSave),
            AppendOnly = (parse.GetValue(appendonly) ?? config.GetString("server", "appendonly", "no")) is "yes",
            AppendFsync = parse.GetValue(appendfsync) ?? config.GetString("server", "appendfsync", "everysec"),
            LogLevel = (parse.GetValue(loglevel) ?? config.GetString("server", "loglevel", "notice")).ToLowerInvariant(),
            LogFile = parse.GetValue(logfile) ?? config.GetString("server", "logfile", ""),
        };
        string appendOnlyText = parse.GetValue(appendonly) ?? config.GetString("server", "appendonly", "no");
        string aofLoadTruncatedText = parse.GetValue(aofLoadTruncated) ?? config.GetString("server", "aof-load-truncated", "yes");
        if (parse.GetValue(requirepass) is { } cliPass) options = options with { RequirePass = cliPass.Length > 0 ? cliPass : null };
        string? problem = options switch
        {
            { Port: < 0 or > 65535 } => $"--port {options.Port} is out of range (0-65535)",
            { Databases: < 1 or > 1_000_000 } => $"--databases {options.Databases} must be between 1 and 1000000",
            { MaxClients: < 1 } => $"--maxclients {options.MaxClients} must be at least 1",
            { Timeout: < 0 } => $"--timeout {options.Timeout} must not be negative",
            { Hz: < 1 or > 500 } => $"--hz {options.Hz} must be between 1 and 500",
            _ when !RedisLogLevels.TryParse(options.LogLevel, out _) => $"--loglevel '{options.LogLevel}' must be one of {string.Join(", ", RedisLogLevels.Names)}",
            _ when !IPv4Endpoint.TryParse($"{options.Bind}:0", out _) => $"--bind '{options.Bind}' is not an IPv4 address",
            _ when appendOnlyText is not ("yes" or "no") => $"--appendonly '{appendOnlyText}': argument must be 'yes' or 'no'",
            _ when aofLoadTruncatedText is not ("yes" or "no") => $"--aof-load-truncated '{aofLoadTruncatedText}': argument must be 'yes' or 'no'",
            { AppendFsync: not ("always" or "everysec" or "no") } => $"--appendfsync '{options.AppendFsync}': argument must be one of the following: everysec, always, no",
            _ when Demikernel.Server.Persistence.RdbImage.ParseSaveParams(options.Save) is null => $"--save '{options.Save}': Invalid save parameters",
            _ when options.DbFilename.Contains('/') => $"--dbfilename '{options.DbFilename}': dbfilename can't be a path, just a filename",
            _ when options.Dir is { } d && !Directory.Exists(d) => $"--dir '{options.Dir}': No such file or directory",
            _ => null,
        };
        if (problem is not null)
        {
            Console.Error.WriteLine($"error: {problem}");
            return 2;
        }
        // The log as redis-server starts it: 'C' lines before the server exists, then 'M'.
        using var logging = RedisLoggerProvider.Create(options.LogLevel, options.LogFile);
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logging));
        var log = loggerFactory.CreateLogger("Demikernel.Server");
        logging.Role = 'C';
        log.Starting();
        log.VersionLine(Demikernel.Server.Commands.ServerInfo.RedisVersion, IntPtr.Size * 8, "00000000", 0, Environment.ProcessId);
        if (args.Length == 0) log.NoConfigFile("Demikernel.Server");
        else log.ConfigurationLoaded();
        logging.Role = 'M';
        int maxClients = OpenFilesLimit.Adjust(log, options.MaxClients);
        if (maxClients == 0) return 1;
        options = options with { MaxClients = maxClients };
        using var libos = LibOS.Create(options.LibOS, config);
        // After the server's and the libOS's keys were read: what is left is a typo or a setting we do not have.
        foreach (string name in config.UnusedEnvironmentOverrides()) log.UnknownEnvironmentOverride(name);
        var server = new RedisServer(libos, options, log, logging.Level);
        _ = server.Config.Set("aof-load-truncated", aofLoadTruncatedText); // validated above
        // Client limits: checked and applied by CONFIG SET's own code, so the same values and errors as at runtime.
        var limits = new List<(string Name, string Value)>();
        foreach (string value in config.Get("server", "client-output-buffer-limit") is { } fileLimits ? [fileLimits] : Array.Empty<string>()) limits.Add(("client-output-buffer-limit", value));
        foreach (string value in parse.GetValue(outputLimit) ?? []) limits.Add(("client-output-buffer-limit", value));
        foreach (var (name, option) in new[] { ("client-query-buffer-limit", queryLimit), ("proto-max-bulk-len", protoMaxBulkLen), ("tcp-keepalive", tcpKeepAlive) })
            if ((parse.GetValue(option) ?? config.Get("server", name)) is { } value) limits.Add((name, value));
        foreach (var (name, value) in limits)
        {
            if (server.Config.Set(name, value) is { } error)
            {
                Console.Error.WriteLine($"error: --{name} '{value}': {error[(error.IndexOf(" - ", StringComparison.Ordinal) + 3)..]}");
                return 2;
            }
        }
        int rc = server.Start();
        if (rc != 0)
        {
            log.CouldNotListen(options.Bind, options.Port, System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(rc)); // strerror: errnos are Linux's
            log.FailedListening(options.Port);
            Console.Error.WriteLine($"error: cannot listen on {options.Bind}:{options.Port}: {Errno.Name(rc)}");
            return 1;
        }
        // SIGTERM and SIGINT shut down as redis-server does: save when save points are configured, then exit 0.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Shutdown);
        using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Shutdown);
        void Shutdown(System.Runtime.InteropServices.PosixSignalContext signal)
        {
            signal.Cancel = true;
            server.RequestShutdown(signal.Signal == System.Runtime.InteropServices.PosixSignal.SIGINT ? "SIGINT" : "SIGTERM");
        }
        log.RunningMode(server.ListenEndpoint.Port);
        log.ServerInitialized();
        // As redis-server: listening first, then the data loaded (clients wait in the backlog), then ready.
        string? loadError = server.Persistence.LoadAtStartup();
        if (loadError is not null)
        {
            // Never start empty in silence when a file that should be loaded is unreadable.
            Demikernel.Server.Persistence.PersistenceLog.FatalLoadError(log, loadError);
            Console.Error.WriteLine($"error: {loadError}");
            return 1;
        }
        log.RunningOnLibOS(Demikernel.Server.Commands.ServerInfo.RedisVersion, libos.Name, server.ListenEndpoint, options.Databases);
        log.ReadyToAcceptConnections();
        server.Run();
        return 0;
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
});
return root.Parse(args).Invoke();
