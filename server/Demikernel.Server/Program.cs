using System.CommandLine;
using Demikernel;
using Demikernel.Runtime;
using Demikernel.Server;
using Demikernel.Server.Logging;
using Microsoft.Extensions.Logging;

// Before anything starts the runtime's signal handling, which decides once whether SIGINT can be handled.
Demikernel.Server.Interop.Posix.RestoreDefaultSigint();

// Every redis.conf parameter is a command-line option (`--name word...`, see SplitGenericOptions below); these tables
// only document the common ones for --help. A YAML config (Demikernel's sections plus `server:`) sits under them.
(string Name, string Description)[] commonSettings =
[
    ("port", "TCP port to listen on (default 6379; 0 = any free port)"),
    ("bind", "addresses to listen on (default \"* -::*\" as redis-server 7.0: * = all IPv4, ::* = all IPv6; -ADDR = optional)"),
    ("protected-mode", "yes: without a password, only clients from 127.0.0.1 are served (default yes)"),
    ("databases", "number of databases (default 16)"),
    ("requirepass", "password clients must AUTH with (default: none)"),
    ("maxclients", "most simultaneous clients (default 10000)"),
    ("timeout", "close idle clients after this many seconds (default 0 = never)"),
    ("hz", "background task frequency: active expiry, timeouts (default 10)"),
    ("dir", "working directory for dump.rdb and the AOF directory (default: the current directory)"),
    ("dbfilename", "RDB file name inside --dir (default dump.rdb)"),
    ("save", "save points SECONDS CHANGES ..., \"\" for none (default 3600 1 300 100 60 10000)"),
    ("appendonly", "yes: keep an append-only file and load it at start instead of the RDB (default no)"),
    ("appendfsync", "always | everysec | no: when the AOF is fsynced (default everysec)"),
    ("aof-load-truncated", "yes: an AOF whose last command is torn loads without it; no: the server refuses to start (default yes)"),
    ("loglevel", "log verbosity: debug, verbose, notice, warning (default notice)"),
    ("logfile", "append the log to this file (default: empty = standard output)"),
    ("client-output-buffer-limit", "CLASS HARD SOFT SECONDS for normal, replica or pubsub clients (default \"normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60\")"),
    ("client-query-buffer-limit", "close a client whose unparsed input exceeds this (default 1gb)"),
    ("proto-max-bulk-len", "largest bulk string a request may carry (default 512mb)"),
    ("tcp-keepalive", "seconds of idle before TCP keepalive probes on client connections; 0 = off (default 300)"),
    ("replicaof", "HOST PORT: start as a replica of that master (default: a master)"),
    ("catmem-listen", "NAME: also accept catmem (shared-memory) clients on this catmem name, a port 1-65535, beside the network listener (default: none)"),
];
var libosName = new Option<string?>("--libos") { Description = $"libOS to run on: {string.Join(", ", LibOS.Available)} (default catnap)" };
var configFile = new Option<string?>("--config") { Description = "YAML config file (see configs/); a redis.conf and command-line options override its server: keys" };
var redisConf = new Argument<string?>("redis.conf") { Arity = ArgumentArity.ZeroOrOne, Description = "a redis.conf to start from, as redis-server /path/redis.conf (include, multi-word directives); command-line options override it" };

// The YAML server: section's keys (each a redis.conf parameter of the same name).
string[] yamlServerKeys =
[
    "port", "bind", "protected-mode", "databases", "requirepass", "maxclients", "timeout", "hz", "dir", "dbfilename", "save",
    "appendonly", "appendfsync", "aof-load-truncated", "loglevel", "logfile",
    "maxmemory", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity", "lfu-log-factor", "lfu-decay-time",
    "lazyfree-lazy-eviction", "client-output-buffer-limit", "client-query-buffer-limit", "proto-max-bulk-len", "tcp-keepalive",
    "tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-auth-clients",
    "tls-protocols", "tls-session-caching", "catmem-listen",
];

// The memory bound (redis.conf names and units: 50mb, 1gb), checked like CONFIG SET.
(string Name, string Description)[] memorySettings =
[
    ("maxmemory", "memory limit in bytes or with a unit (50mb, 1gb); 0 = none (default 0)"),
    ("maxmemory-policy", "noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl (default noeviction)"),
    ("maxmemory-samples", "keys sampled per eviction round, 1-64 (default 5)"),
    ("maxmemory-eviction-tenacity", "time an eviction cycle may take, 0-100 (default 10)"),
    ("lfu-log-factor", "LFU counter's logarithm factor (default 10)"),
    ("lfu-decay-time", "minutes per LFU counter decrement, 0 = never (default 1)"),
    ("lazyfree-lazy-eviction", "yes: evicted keys are propagated as UNLINK (default no)"),
];

// TLS (redis.conf names; see server/Demikernel.Server/Tls/README.md).
(string Name, string Description)[] tlsSettings =
[
    ("tls-port", "TCP port for TLS clients; 0 = none (default 0). With --port 0, only TLS is served"),
    ("tls-cert-file", "server certificate (PEM; further certificates in the file are its chain)"),
    ("tls-key-file", "private key of the certificate (PEM)"),
    ("tls-key-file-pass", "password of an encrypted tls-key-file"),
    ("tls-ca-cert-file", "CA certificates (PEM) client certificates must chain to"),
    ("tls-ca-cert-dir", "directory of CA certificates (PEM files)"),
    ("tls-auth-clients", "yes | no | optional: whether clients must present a certificate (default yes)"),
    ("tls-protocols", "\"TLSv1.2 TLSv1.3\" (default), any of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"),
    ("tls-session-caching", "yes: TLS session resumption (default yes)"),
    // redis-server's, shown by CONFIG GET; only their defaults are accepted (see ServerConfig.TlsNotApplied)
    .. ServerConfig.TlsNotApplied.Select(name => (name, "not implemented by this server: only redis's default is accepted")),
];

// Redis Cluster (redis.conf names; see server/Demikernel.Server/Cluster/README.md).
(string Name, string Description)[] clusterSettings =
[
    ("cluster-enabled", "yes: a Redis Cluster node (the bus on cluster-port, slots, redirections) (default no)"),
    ("cluster-config-file", "the node's cluster state, written by the server (default nodes.conf, in --dir)"),
    ("cluster-port", "the cluster bus port; 0 = port + 10000 (default 0)"),
    ("cluster-node-timeout", "milliseconds without an answer before a node is suspected failing (default 15000)"),
    ("cluster-announce-ip", "IP announced to the other nodes (default: the one they reach us at)"),
    ("cluster-announce-port", "client port announced to the other nodes (default: port)"),
    ("cluster-announce-bus-port", "bus port announced to the other nodes (default: the cluster port)"),
    ("cluster-announce-hostname", "hostname announced to the other nodes (default none)"),
    ("cluster-require-full-coverage", "yes: the cluster refuses queries while a slot is not served (default yes)"),
    ("cluster-allow-reads-when-down", "yes: reads are served while the cluster is down (default no)"),
    ("cluster-replica-validity-factor", "a replica whose data is older than factor x node timeout does not fail over; 0 = always (default 10)"),
    ("cluster-migration-barrier", "replicas a master keeps before one migrates to an orphaned master (default 1)"),
    ("cluster-allow-replica-migration", "yes: replicas may migrate to orphaned masters (default yes)"),
    ("cluster-replica-no-failover", "yes: this replica never starts a failover of its master (default no)"),
];

var root = new RootCommand("Redis-compatible key-value server on the Demikernel queue API; any other redis.conf parameter is taken as --name value ..., as redis-server takes it")
{
    libosName, configFile, redisConf,
};
foreach (var (name, description) in commonSettings.Concat(memorySettings).Concat(tlsSettings).Concat(clusterSettings))
    root.Options.Add(new Option<string?>("--" + name) { Description = description });
// As redis-server's command line, every parameter is `--name word...` up to the next `--`: taken out here and applied
// after the redis.conf, like lines appended to it.
var (declaredArgs, genericDirectives) = SplitGenericOptions(args);
root.SetAction(parse =>
{
    try
    {
        string? path = parse.GetValue(configFile);
        var yaml = path is null ? new LibOSConfig() : LibOSConfig.Load(path);
        string? confPath = parse.GetValue(redisConf) is { } c ? Path.GetFullPath(c) : null;
        // One parameter table for every source, applied in order (a later source wins, as redis-server appends its
        // command-line options after the file): the YAML's server: keys (and their DEMIKERNEL_ environment
        // overrides), then the redis.conf, then the command-line options.
        var config = new ServerConfig(new ServerOptions { Bind = ServerOptions.RedisDefaultBind }); // as redis-server 7.0
        foreach (string key in yamlServerKeys)
        {
            if (yaml.Get("server", key) is not { } value) continue;
            if (config.LoadDirective(key, [value], out string? why) is DirectiveResult.Error or DirectiveResult.Unsupported)
            {
                Console.Error.WriteLine($"error: server.{key} '{value}' in {yaml.Source}: {why}");
                return 2;
            }
        }
        config.StartNewSource(); // save lines of the redis.conf replace the YAML's, as in a file of their own
        if (confPath is not null)
        {
            var unsupported = new List<string>();
            foreach (var d in RedisConfFile.Load(confPath))
            {
                switch (config.LoadDirective(d.Name, d.Args, out string? why))
                {
                    case DirectiveResult.Error:
                        Console.Error.WriteLine(RedisConfFile.FatalLine(d, why!));
                        return 1;
                    case DirectiveResult.Unsupported:
                        unsupported.Add($"{d.File}:{d.Line} >>> '{d.Text}': {why}");
                        break;
                }
            }
            if (unsupported.Count > 0)
            {
                // Never accepted and ignored: every line this server cannot honour is named, then the start stops.
                Console.Error.WriteLine($"\n{RedisConfFile.FatalHeader}\nThe configuration uses what redis-server 7.0 has and this server does not implement:");
                foreach (string line in unsupported) Console.Error.WriteLine("  " + line);
                return 1;
            }
        }
        foreach (var (name, words) in genericDirectives)
        {
            if (config.LoadDirective(name, words, out string? why) is DirectiveResult.Error or DirectiveResult.Unsupported)
            {
                Console.Error.WriteLine($"error: --{name} '{string.Join(' ', words)}': {why ?? "Bad directive or wrong number of arguments"}");
                return 2;
            }
        }
        var options = config.ToOptions(new ServerOptions
        {
            LibOS = parse.GetValue(libosName) ?? yaml.GetString("server", "libos", LibOS.DefaultName),
            ConfigFile = confPath ?? path,
            RedisConfFile = confPath,
        });
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
        config.LoadDirective("maxclients", [maxClients.ToString(System.Globalization.CultureInfo.InvariantCulture)], out _);
        // catmem-listen: catmem runs beside the chosen libOS on the same thread (RedisServer.Catmem.cs)
        using var libos = LibOS.Create(options.LibOS, yaml, null, config.CatmemListen != 0 ? ["catmem"] : []);
        // After the server's and the libOS's keys were read: what is left is a typo or a setting we do not have.
        foreach (string name in yaml.UnusedEnvironmentOverrides()) log.UnknownEnvironmentOverride(name);
        var server = new RedisServer(libos, options, log, logging.Level, config);
        // As ACLLoadUsersAtStartup: the `user` lines of redis.conf or the aclfile, before listening.
        if (server.LoadAclAtStartup() is { } aclError)
        {
            Console.Error.WriteLine($"error: {aclError}");
            return 1;
        }
        server.Replication.RoleChanged += role => logging.Role = role; // redis's log letter: S on a replica
        // As initServer: TLS is configured before anything listens; a bad certificate, key or CA stops the start.
        if (config.TlsPort != 0 && !server.Tls.Configure())
        {
            Demikernel.Server.Tls.TlsLog.FailedToConfigureTls(log);
            return 1;
        }
        int rc = server.Start();
        if (rc != 0)
        {
            // each address's failure was logged by Start; a tls-port failure has its own "(TLS), aborting." line
            int failedPort = server.Tls.StartFailed ? config.TlsPort : options.Port;
            if (!server.Tls.StartFailed) log.FailedListening(options.Port);
            Console.Error.WriteLine($"error: cannot listen on {options.Bind}:{failedPort}: {Errno.Name(rc)}");
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
        log.RunningMode(server.Cluster is null ? "standalone" : "cluster", server.ListenEndpoint.Port);
        log.ServerInitialized();
        // As redis-server: listening first, then the data loaded (clients wait in the backlog), then ready.
        string? loadError = server.Persistence.LoadAtStartup();
        if (server.Stopping) return 0; // SHUTDOWN or a signal while loading: stopped without saving, as redis-server
        if (loadError is not null)
        {
            // Never start empty in silence when a file that should be loaded is unreadable.
            Demikernel.Server.Persistence.PersistenceLog.FatalLoadError(log, loadError);
            Console.Error.WriteLine($"error: {loadError}");
            return 1;
        }
        log.RunningOnLibOS(Demikernel.Server.Commands.ServerInfo.RedisVersion, libos.Name, server.ListenEndpoint, options.Databases);
        log.ReadyToAcceptConnections();
        server.Replication.StartFromConfig(); // replicaof: connect once the data is loaded, as redis-server
        server.Run();
        return 0;
    }
    catch (RedisConfException e)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
});
return root.Parse(declaredArgs).Invoke();

// Splits the command line into what System.CommandLine parses (--config, --libos, help, version, the redis.conf path)
// and redis-server-style `--name word...` pairs for every parameter, each taking the words up to the next token
// starting with "--" and applied as a redis.conf line would be (the parameters' options above document the common ones).
static (string[] Declared, List<(string Name, string[] Words)> Generic) SplitGenericOptions(string[] args)
{
    var known = new HashSet<string>(StringComparer.Ordinal) { "--help", "-h", "-?", "--version", "--config", "--libos" };
    var declared = new List<string>();
    var generic = new List<(string, string[])>();
    for (int i = 0; i < args.Length; i++)
    {
        string token = args[i];
        if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2 || known.Contains(token))
        {
            declared.Add(token);
            continue;
        }
        var words = new List<string>();
        while (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) words.Add(args[++i]);
        generic.Add((token[2..].ToLowerInvariant(), words.ToArray()));
    }
    return (declared.ToArray(), generic);
}
