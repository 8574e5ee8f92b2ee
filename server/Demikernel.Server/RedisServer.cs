using Demikernel.Runtime;
using Demikernel.Server.Acl;
using Demikernel.Server.Commands;
using Demikernel.Server.Persistence;
using Demikernel.Server.Propagation;
using Demikernel.Server.Logging;
using Demikernel.Server.Memory;
using Demikernel.Server.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Demikernel.Server.Tls;

namespace Demikernel.Server;

/// <summary>
/// The Redis-compatible server on one libOS instance.
/// <code>
///   accept loop ──▶ ClientSession (one coroutine each): Pop ─▶ scan RESP ─▶ CommandTable.Execute ─▶ ReplyBuffer ─▶ Push
///   cron (hz):   active expiry on every database, idle-client timeouts
/// </code>
/// Everything runs on the libOS thread; the server uses only the queue API.
/// </summary>
public sealed partial class RedisServer
{
    private readonly Dictionary<long, ClientSession> _clients = [];
    private long _nextClientId;
    private readonly List<QDesc> _listeners = [];

    /// <param name="log">Where the server and its components log (<see cref="Log"/>); nothing is logged without one.</param>
    /// <param name="logLevel">The level switch of the log's provider, so that CONFIG SET loglevel applies at once.</param>
    /// <param name="config">The parameters as loaded at start (redis.conf, YAML, command line); made from
    /// <paramref name="options"/> when null.</param>
    public RedisServer(DemiLibOS libos, ServerOptions options, ILogger? log = null, LogLevelSwitch? logLevel = null, ServerConfig? config = null)
    {
        LibOS = libos;
        Options = options;
        Log = log ?? NullLogger.Instance;
        Config = config ?? new ServerConfig(options);
        Store.EncodingLimits.Install(Config.EncodingLimits); // the store runs on this thread
        EffectiveHz = Config.Hz;
        if (logLevel is not null)
        {
            logLevel.TrySet(options.LogLevel);
            Config.Changed += (name, value) =>
            {
                if (name == "loglevel") logLevel.TrySet(value);
            };
        }
        Databases = new RedisDatabase[options.Databases];
        for (int i = 0; i < Databases.Length; i++) Databases[i] = new RedisDatabase(i, libos.Time);
        Watches = new WatchRegistry(Databases);
        Notifications = new Notifications.KeyspaceNotifier(PubSub);
        Tracking = new Notifications.ClientTracking(this) { MaxKeys = Config.TrackingTableMaxKeys };
        Blocking = new BlockingRegistry(Databases);
        Effects = new EffectsLog(Config, Stats);
        Scripts = new Scripting.EvalScripts(this);
        Functions = new Scripting.FunctionLibraries(this);
        foreach (var db in Databases)
        {
            // The change hook's subscribers (see Store/KeyspaceEvents.cs).
            db.Stats = Stats;
            db.LazyFree = Config.LazyFree;
            db.Subscribe(Watches);
            db.Subscribe(Blocking);
            db.Subscribe(Effects);
            db.Subscribe(Notifications);
            db.Subscribe(Tracking);
        }
        Notifications.Flags = Config.NotifyKeyspaceEvents;
        Config.Changed += (name, _) =>
        {
            if (name == "notify-keyspace-events") Notifications.Flags = Config.NotifyKeyspaceEvents;
            if (name == "tracking-table-max-keys") Tracking.MaxKeys = Config.TrackingTableMaxKeys;
        };
        AddCronStep("tracking", Tracking.CronStep); // BCAST invalidations and the table bound after expiries/evictions
        Memory = new MaxMemory(this);
        ApplyMemoryConfig();
        Config.Changed += (name, _) =>
        {
            if (name is not ("maxmemory" or "maxmemory-policy" or "maxmemory-samples" or "maxmemory-eviction-tenacity"
                or "lfu-log-factor" or "lfu-decay-time")) return;
            ApplyMemoryConfig();
            if (name == "maxmemory" && Memory.Limit != 0)
            {
                // updateMaxmemory: warn when already over, and evict (see EvictSoon)
                long used = Memory.Used;
                if (Memory.Limit < used)
                {
                    Log.MaxMemoryBelowUsage(Memory.Limit, used);
                    Memory.EvictSoon();
                }
            }
        };
        Commands = new CommandTable();
        CommandRegistry.RegisterAll(Commands);
        Acl = new Demikernel.Server.Acl.AclRegistry(this);
        Config.UserLinesForRewrite = () => Acl.Users.Select(u => $"user {u.Name} {u.Describe()}");
        Config.Changed += (name, value) =>
        {
            if (name == "requirepass") Acl.SetDefaultPassword(value.Length > 0 ? value : null);
        };
        Diagnostics = new Diagnostics.ServerDiagnostics(this);
        _ = Demikernel.Server.Diagnostics.GcPauses.Instance; // the GC's pauses, from its events (INFO memory)
        StartedMs = CoarseNowMs = NowMs;
        RunId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
        Persistence = new PersistenceManager(this);
        Tls = new TlsListeners(this);
        Config.ApplyHook = (key, old) => key.StartsWith("tls-", StringComparison.Ordinal) ? Tls.ApplyConfig(key, old)
            : key is "port" or "bind" ? ApplyListenConfig(key, old) : Persistence.ApplyConfig(key, old);
        Replication = new Replication.ReplicationManager(this);
        if (Config.ClusterEnabled) Cluster = new Cluster.ClusterManager(this);
        MigrateSockets = new Cluster.MigrateSockets(this);
    }

    /// <summary>MIGRATE's cached connections.</summary>
    internal Cluster.MigrateSockets MigrateSockets { get; }

    /// <summary>Redis Cluster mode (cluster-enabled yes), or null.</summary>
    internal Cluster.ClusterManager? Cluster { get; }

    /// <summary>Replicas, the master link, replication IDs and offsets (Replication/).</summary>
    public Replication.ReplicationManager Replication { get; }

    /// <summary>RDB files, the AOF, and what INFO persistence reports about them.</summary>
    public PersistenceManager Persistence { get; }

    /// <summary>Bytes held for data and clients by the server's own accounting (the RDB's used-mem field, INFO
    /// used_memory, what maxmemory bounds); see <see cref="MaxMemory"/>.</summary>
    public long UsedMemory => Memory.Used;

    /// <summary>maxmemory and eviction.</summary>
    internal MaxMemory Memory { get; }

    private void ApplyMemoryConfig()
    {
        Memory.Limit = Config.MaxMemory;
        Memory.Samples = Config.MaxMemorySamples;
        Memory.Tenacity = Config.MaxMemoryEvictionTenacity;
        Memory.Lfu.LogFactor = Config.LfuLogFactor;
        Memory.Lfu.DecayTime = Config.LfuDecayTime;
        Memory.SetPolicy(Config.MaxMemoryPolicy);
    }

    public DemiLibOS LibOS { get; }

    /// <summary>
    /// The server's log: components add their messages as [LoggerMessage] extension methods on ILogger in their own
    /// partial classes (see Logging/ServerLog.cs) and write <c>server.Log.TheirMessage(...)</c>.
    /// </summary>
    public ILogger Log { get; }
    public ServerOptions Options { get; }
    public ServerConfig Config { get; }
    public RedisDatabase[] Databases { get; }
    public CommandTable Commands { get; }
    public ServerStats Stats { get; } = new();

    /// <summary>Error counts, the slow log, latency monitor, MONITOR and the instantaneous figures (Diagnostics/).</summary>
    public Diagnostics.ServerDiagnostics Diagnostics { get; }
    public PubSubHub PubSub { get; } = new();

    /// <summary>Keyspace notifications (notify-keyspace-events), a subscriber of the change hook (Notifications/).</summary>
    public Notifications.KeyspaceNotifier Notifications { get; }

    /// <summary>Client-side caching: CLIENT TRACKING's table and prefixes (Notifications/ClientTracking.cs).</summary>
    public Notifications.ClientTracking Tracking { get; }
    public WatchRegistry Watches { get; }
    public BlockingRegistry Blocking { get; }

    /// <summary>The effects of writes, as redis-server propagates them to its AOF and replicas (see Propagation/).</summary>
    public EffectsLog Effects { get; }

    /// <summary>EVAL's script cache and Lua state (Scripting/).</summary>
    internal Scripting.EvalScripts Scripts { get; }

    /// <summary>FUNCTION's libraries and their Lua state (Scripting/).</summary>
    internal Scripting.FunctionLibraries Functions { get; }

    /// <summary>The engine whose script or function is running (other clients only see it once it is busy).</summary>
    internal Scripting.LuaEngine? RunningScript { get; set; }

    /// <summary>The running script passed busy-reply-threshold: other clients are served, with BUSY for most commands.</summary>
    internal Scripting.LuaEngine? BusyScript { get; set; }

    /// <summary>The dataset being loaded at start (redis's server.loading): other clients get -LOADING meanwhile.</summary>
    internal Persistence.LoadingProgress? Loading { get; set; }

    /// <summary>SCRIPT KILL / FUNCTION KILL (redis's scriptKill).</summary>
    internal void ScriptKill(ref Commands.CommandContext c, bool functions)
    {
        var engine = RunningScript;
        if (engine is null)
        {
            c.Reply.Error("NOTBUSY No scripts in execution right now.");
            return;
        }
        var run = engine.Run;
        if (run.WriteDirty)
        {
            c.Reply.Error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
            return;
        }
        if (!functions && run.IsFunction)
        {
            c.Reply.Error(Demikernel.Server.Commands.Errors.BusyFunction);
            return;
        }
        if (functions && !run.IsFunction)
        {
            c.Reply.Error(Demikernel.Server.Commands.Errors.BusyScript);
            return;
        }
        run.KillRequested = true;
        c.Reply.Ok();
    }
    public long StartedMs { get; }
    public string RunId { get; }
    public InetEndpoint ListenEndpoint { get; private set; }
    public bool Stopping { get; private set; }

    /// <summary>authRequired: the default user has a password (requirepass) or is off.</summary>
    public bool RequiresAuth => Acl.RequiresAuth;

    /// <summary>ACL users, the ACL log and the permission checks (see Acl/README.md).</summary>
    internal Demikernel.Server.Acl.AclRegistry Acl { get; }

    /// <summary>Loads the users of redis.conf's `user` lines or of the aclfile (logged and returned when start-up
    /// must stop, as redis-server exits).</summary>
    public string? LoadAclAtStartup()
    {
        string? error = Acl.LoadAtStartup(Config.UserLines, Config.AclFile);
        if (error is not null) Log.AclStartupFailed(error);
        return error;
    }

    /// <summary>Wall-clock milliseconds of the libOS clock (expiry, TTLs).</summary>
    public long NowMs => LibOS.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// <see cref="NowMs"/> as of the last cron tick (1000/hz ms old at most), for bookkeeping that needs no precision,
    /// such as a client's last interaction; reading the clock on every request costs measurable CPU.
    /// </summary>
    public long CoarseNowMs { get; private set; }

    public IReadOnlyCollection<ClientSession> Clients => _clients.Values;

    /// <summary>
    /// Opens a listening socket on every bind address (redis.conf's <c>bind</c>: several addresses, <c>*</c> = all
    /// IPv4 interfaces, <c>::*</c> all IPv6 ones, a <c>-</c> prefix = optional: skipped when the address is not available;
    /// see <see cref="BindAddress"/>), starts one accept loop per socket and the cron. As redis-server 7.0's
    /// listenToPort: each failure is logged; an address family the libOS does not have (IPv6 on catpowder, catmem,
    /// catloop) is skipped as redis skips EAFNOSUPPORT; any other failure closes
    /// what was opened and is returned. Returns 0 or an errno.
    /// </summary>
    public int Start()
    {
        // Port 0 beside another listener (tls-port, unixsocket, catmem-listen): no TCP port, as redis-server. Port 0
        // alone, where redis-server exits ("Configured to not listen anywhere"), means any free port here (for tests).
        bool plain = Options.Port != 0 || (Config.TlsPort == 0 && Config.UnixSocket is null && Config.CatmemListen == 0);
        int rc = plain ? ListenAll(Options.Port, _listeners) : 0;
        if (rc == 0 && Config.TlsPort != 0) rc = Tls.Start();
        if (rc != 0)
        {
            CloseListeners();
            return rc;
        }
        if (Config.UnixSocket is { } socketPath)
        {
            rc = ListenOnUnix(socketPath);
            if (rc != 0)
            {
                Log.FailedOpeningUnixSocket(socketPath, System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(rc));
                CloseListeners();
                return rc;
            }
        }
        rc = StartCatmem(); // catmem-listen: shared-memory clients beside the network listener (RedisServer.Catmem.cs)
        if (rc != 0)
        {
            CloseListeners();
            return rc;
        }
        if (_listeners.Count == 0 && !_unixListener.IsValid && !Tls.Listening && !_catmemListener.IsValid)
        {
            Log.NotListeningAnywhere();
            return Errno.EADDRNOTAVAIL;
        }
        StartAccepting(_listeners);
        if (Options.Port == 0 && _listeners.Count > 0) Config.SetBoundPort(ListenEndpoint.Port);
        if (_unixListener.IsValid)
        {
            var unixListener = _unixListener;
            LibOS.Spawn(() => Supervise("unix socket accept loop", () => AcceptLoop(unixListener, unix: true)));
        }
        if (Cluster?.Start() is { } clusterError)
        {
            Demikernel.Server.Cluster.ClusterLog.ConfigError(Log, clusterError);
            CloseListeners();
            return Errno.EINVAL;
        }
        LibOS.Spawn(() => Supervise("cron", Cron));
        return 0;
    }

    /// <summary>
    /// One listening socket per bind address into <paramref name="listeners"/> (redis's listenToPort): each failure is
    /// logged; an optional address (<c>-</c>) that is not available and an address family the libOS does not have are
    /// skipped; any other failure is returned, the sockets opened so far left in the list for the caller to close.
    /// </summary>
    /// <param name="reusable">Listeners already open (CONFIG SET): one on the same address and port is taken over
    /// instead of opened again (redis closes and reopens; the socket would still be bound here).</param>
    private int OpenTcpListeners(string bind, int port, List<QDesc> listeners, List<QDesc>? reusable = null)
    {
        foreach (string word in bind.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            bool optional = word.StartsWith('-');
            string address = optional ? word[1..] : word;
            if (reusable is not null && BindAddress.TryParse(address, port, out var wanted))
            {
                int reuse = reusable.FindIndex(l => LibOS.GetSockName(l, out var at) == 0 && at == wanted);
                if (reuse >= 0)
                {
                    listeners.Add(reusable[reuse]);
                    reusable.RemoveAt(reuse);
                    continue;
                }
            }
            int rc = ListenOn(address, port, listeners, out var qd, out string error);
            if (rc == 0)
            {
                listeners.Add(qd);
                continue;
            }
            Log.CouldNotListen(address, port, error);
            if ((rc == Errno.EADDRNOTAVAIL && optional) || rc is Errno.EAFNOSUPPORT or Errno.EPROTONOSUPPORT or Errno.ENOPROTOOPT) continue;
            return rc;
        }
        return 0;
    }

    /// <summary>Listens on <paramref name="port"/> at every current bind address (the plain port, tls-port); see
    /// <see cref="OpenTcpListeners"/>.</summary>
    internal int ListenAll(int port, List<QDesc> into, List<QDesc>? reusable = null) =>
        OpenTcpListeners(Config.Match("bind").First().Value, port, into, reusable);

    private void StartAccepting(IEnumerable<QDesc> listeners)
    {
        foreach (var listener in listeners) LibOS.Spawn(() => Supervise("accept loop", () => AcceptLoop(listener, unix: false)));
        if (_listeners.Count > 0 && LibOS.GetSockName(_listeners[0], out var bound) == 0) ListenEndpoint = bound;
        else if (Tls.Endpoint is { } tlsEndpoint) ListenEndpoint = tlsEndpoint; // redis: port ? port : tls_port
    }

    /// <summary>
    /// CONFIG SET port / bind (redis's changeListenPort / changeBindAddr): the TCP listeners move to the new port or
    /// addresses. The new sockets are opened before the old ones close, so a failure keeps the server listening where
    /// it was and answers redis's error; port 0 stops listening on TCP, as in redis-server. Their accept loops end when
    /// their sockets close.
    /// </summary>
    private string? ApplyListenConfig(string key, string old)
    {
        int port = int.Parse(Config.Match("port").First().Value, System.Globalization.CultureInfo.InvariantCulture);
        string bind = Config.Match("bind").First().Value;
        if (!MoveTcpListeners(port, bind))
        {
            if (key == "bind") Log.FailedToBind();
            return key == "port" ? "Unable to listen on this port. Check server logs." : "Failed to bind to specified addresses.";
        }
        // changeBindAddr moves the TLS listeners too; if they cannot move, the plain ones go back
        if (key == "bind" && Tls.Listening && Tls.Rebind() is { } tlsError)
        {
            MoveTcpListeners(port, old);
            return tlsError;
        }
        return null;
    }

    /// <summary>Listens on <paramref name="port"/> at <paramref name="bind"/> instead of where the plain listeners are
    /// (0: nowhere); false, with nothing changed, when a socket cannot be opened.</summary>
    private bool MoveTcpListeners(int port, string bind)
    {
        var listeners = new List<QDesc>();
        var old = new List<QDesc>(_listeners);
        if (port != 0 && OpenTcpListeners(bind, port, listeners, reusable: old) != 0)
        {
            foreach (var qd in listeners)
                if (!_listeners.Contains(qd)) LibOS.Close(qd);
            if (!ReopenAfterClosing(port, bind, _listeners, old, listeners, StartAccepting)) return false;
        }
        foreach (var qd in old) LibOS.Close(qd); // the ones not taken over; their accept loops end
        var added = listeners.Where(l => !_listeners.Contains(l)).ToList();
        _listeners.Clear();
        _listeners.AddRange(listeners);
        if (port == 0) ListenEndpoint = default;
        StartAccepting(added);
        return true;
    }

    /// <summary>One listener; on failure <paramref name="error"/> is the text redis's anet gives for the step that failed.</summary>
    /// <summary>
    /// A new address can clash with an old listener (<c>::*</c> while <c>::1</c> listens at the port): as redis's
    /// changeBindAddr, the old listeners not taken over are closed first and the new ones opened; when that fails too,
    /// the old ones are opened again where they were. True when <paramref name="listeners"/> holds the new set (and
    /// <paramref name="old"/> is then empty). For the plain listeners and the tls-port ones (<paramref name="current"/>,
    /// whose closed members are removed and reopened ones added, started by <paramref name="startAccepting"/>).
    /// </summary>
    internal bool ReopenAfterClosing(int port, string bind, List<QDesc> current, List<QDesc> old, List<QDesc> listeners, Action<List<QDesc>> startAccepting)
    {
        var kept = current.Where(l => !old.Contains(l)).ToList();
        var wereAt = old.Select(l => LibOS.GetSockName(l, out var at) == 0 ? at : default).ToList();
        foreach (var qd in old) LibOS.Close(qd);
        var reused = new List<QDesc>(kept);
        listeners.Clear();
        if (OpenTcpListeners(bind, port, listeners, reusable: reused) == 0)
        {
            foreach (var qd in reused) LibOS.Close(qd); // none, as the same words matched them before
            current.RemoveAll(old.Contains);
            old.Clear();
            return true;
        }
        foreach (var qd in listeners)
            if (!kept.Contains(qd)) LibOS.Close(qd);
        current.RemoveAll(old.Contains);
        var back = new List<QDesc>();
        foreach (var at in wereAt)
            if (ListenOn(at.AddressText, at.Port, back, out var qd, out _) == 0) back.Add(qd);
        current.AddRange(back);
        startAccepting(back);
        old.Clear();
        return false;
    }

    private int ListenOn(string address, int port, List<QDesc> listeners, out QDesc qd, out string error)
    {
        qd = QDesc.Invalid;
        if (!BindAddress.TryParse(address, port, out var at))
        {
            error = BindAddress.NotAnAddress;
            return Errno.EINVAL;
        }
        int rc = LibOS.Socket(at.Family, SocketKind.Stream, out qd); // IPv6 where the libOS has none: EAFNOSUPPORT, skipped
        if (rc != 0)
        {
            error = BindAddress.SocketFailed(rc);
            return rc;
        }
        // Port 0 (any free port): every further address takes the port the first one got, as one server has one port.
        if (port == 0 && listeners.Count > 0 && LibOS.GetSockName(listeners[0], out var first) == 0) at = at with { Port = first.Port };
        error = "";
        if ((rc = LibOS.Bind(qd, at)) != 0) error = BindAddress.StepFailed("bind", rc);
        else if ((rc = LibOS.Listen(qd, 511)) != 0) error = BindAddress.StepFailed("listen", rc);
        if (rc != 0)
        {
            LibOS.Close(qd);
            qd = QDesc.Invalid;
        }
        return rc;
    }

    private QDesc _unixListener = QDesc.Invalid;

    /// <summary>unixsocket: as redis-server, an old socket file is removed first and unixsocketperm applied after bind.</summary>
    private int ListenOnUnix(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // bind reports what is wrong with the path
        }
        int rc = LibOS.SocketUnix(out var qd);
        if (rc != 0) return rc;
        if ((rc = LibOS.BindUnix(qd, path)) != 0 || (rc = LibOS.Listen(qd, 511)) != 0)
        {
            LibOS.Close(qd);
            return rc;
        }
        if (Config.UnixSocketPerm != 0 && !OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)Config.UnixSocketPerm);
        _unixListener = qd;
        return 0;
    }

    private void CloseListeners()
    {
        foreach (var listener in _listeners) LibOS.Close(listener);
        _listeners.Clear();
        Tls.Close();
        CloseCatmemListener();
        if (_unixListener.IsValid)
        {
            LibOS.Close(_unixListener);
            _unixListener = QDesc.Invalid;
            try
            {
                if (Config.UnixSocket is { } path) File.Delete(path); // as redis-server at exit
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Where the server listens (one endpoint per bind address that could be used).</summary>
    public IReadOnlyList<InetEndpoint> ListenEndpoints => _listeners.Select(l => LibOS.GetSockName(l, out var e) == 0 ? e : default).ToArray();

    private volatile bool _stopRequested;

    /// <summary>Runs the libOS on the calling thread until <see cref="Stop"/> or <see cref="RequestStop"/>.</summary>
    public void Run()
    {
        LibOS.RunUntil(() => Stopping || _stopRequested);
        if (!Stopping) Stop();
    }

    /// <summary>
    /// Asks the server to stop from any thread (tests, signal handlers). The request is posted to the libOS thread,
    /// which wakes at once if it is blocked, closes everything and returns from <see cref="Run"/>.
    /// </summary>
    public void RequestStop() => LibOS.Post(static server => server._stopRequested = true, this);

    /// <summary>
    /// SIGTERM/SIGINT: from any thread. The libOS thread then shuts down as redis-server does on these signals: save
    /// when save points are configured, fsync the AOF, stop (and the process exits 0). If the save fails the server
    /// keeps running, as redis-server does, and a later signal tries again.
    /// </summary>
    public void RequestShutdown(string signal) =>
        LibOS.Post(static request => request.Server.ShutdownOnSignal(request.Signal), (Server: this, Signal: signal));

    private void ShutdownOnSignal(string signal)
    {
        if (Stopping) return;
        Log.ReceivedShutdownSignal(signal);
        Shutdown(save: null, force: false);
    }

    private void LogGcSummary()
    {
        if (!Log.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information)) return;
        var pause = GC.GetTotalPauseDuration();
        var life = DateTime.UtcNow - System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
        string percent = (100 * pause.TotalMilliseconds / Math.Max(1, life.TotalMilliseconds)).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        Log.GcSummary(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), (long)pause.TotalMilliseconds, percent);
    }

    /// <summary>SHUTDOWN [NOSAVE|SAVE] [FORCE]: persists as asked, then stops. False when saving failed (and not forced).</summary>
    public bool Shutdown(bool? save, bool force)
    {
        Log.UserRequestedShutdown();
        if (Loading is not null) save = false; // as redis: never overwrite the files with a half-loaded dataset
        if (!Persistence.PrepareForShutdown(save, force))
        {
            Log.ShutdownErrors();
            return false;
        }
        LogGcSummary();
        Log.ReadyToExit();
        Stop();
        return true;
    }

    public void Stop()
    {
        Stopping = true;
        Replication.Stop();
        Cluster?.Stop();
        CloseListeners();
        foreach (var client in _clients.Values.ToArray()) client.Kill();
    }

    private async ValueTask AcceptLoop(QDesc listener, bool unix, bool catmem = false)
    {
        while (!Stopping)
        {
            var accepted = await LibOS.AcceptAsync(listener);
            if (!accepted.Succeeded)
            {
                if (accepted.Ret is Errno.ECANCELED or Errno.EBADF) return;
                continue; // EMFILE and friends: keep serving the connections we have
            }
            Stats.ConnectionsReceived++;
            Log.Accepted(accepted.Address);
            var qd = accepted.AcceptedQd;
            if (_clients.Count >= Config.MaxClients)
            {
                Stats.RejectedConnections++;
                LibOS.Spawn(() => RejectAsync(qd));
                continue;
            }
            if (!unix && !catmem && Config.ProtectedMode && Acl.Default.NoPass && !IsLoopbackPeer(accepted.Address))
            {
                // redis-server 7.0 (networking.c clientAcceptHandler): protected mode, no password for the default
                // user and a peer that is not 127.0.0.1 (or ::1): the explanation, then the connection closes.
                Stats.RejectedConnections++;
                LibOS.Spawn(() => RejectAsync(qd, ProtectedModeDenied));
                continue;
            }
            AddClient(qd, accepted.Address, tls: null, unixSocketPath: unix ? Config.UnixSocket : null, catmem: catmem);
        }
    }

    /// <summary>A new client connection: its state and session, registered and started (for TLS, the session
    /// begins with the handshake).</summary>
    internal void AddClient(QDesc qd, InetEndpoint peer, TlsChannel? tls, string? unixSocketPath = null, bool catmem = false)
    {
        LibOS.GetSockName(qd, out var local);
        if (Config.TcpKeepAlive > 0) SetKeepAlive(qd, Config.TcpKeepAlive);
        var client = new ClientState(++_nextClientId, qd, peer, local, NowMs)
        {
            Authenticated = !RequiresAuth, User = Acl.Default, UnixSocketPath = unixSocketPath, Catmem = catmem,
        };
        var session = new ClientSession(this, client) { Tls = tls };
        _clients.Add(client.Id, session);
        LibOS.Spawn(session.RunAsync);
    }

    /// <summary>tls-port: its listeners, the TLS context, CONFIG SET of the tls-* parameters (Tls/).</summary>
    internal TlsListeners Tls { get; }

    private bool _keepAliveUnsupported;

    /// <summary>
    /// redis's anetKeepAlive: SO_KEEPALIVE, the first probe after <paramref name="seconds"/> idle, then every third of
    /// it, three probes. A libOS without these options (InetStack's sockets) says so once in the log.
    /// </summary>
    private void SetKeepAlive(QDesc qd, int seconds)
    {
        if (_keepAliveUnsupported) return;
        int rc = LibOS.SetSockOpt(qd, SocketOption.KeepAlive, 1);
        if (rc == 0) rc = LibOS.SetSockOpt(qd, SocketOption.TcpKeepIdle, seconds);
        if (rc == 0) rc = LibOS.SetSockOpt(qd, SocketOption.TcpKeepInterval, Math.Max(1, seconds / 3));
        if (rc == 0) rc = LibOS.SetSockOpt(qd, SocketOption.TcpKeepCount, 3);
        if (rc == Errno.ENOPROTOOPT)
        {
            _keepAliveUnsupported = true;
            Log.KeepAliveUnsupported(seconds, LibOS.Name, Errno.Name(rc));
        }
    }


    /// <summary>redis-server 7.0.15's protected-mode reply, byte for byte (including its "a an").</summary>
    internal static readonly byte[] ProtectedModeDenied =
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"u8.ToArray();

    /// <summary>redis's islocalClient: exactly 127.0.0.1 (not the rest of 127/8).</summary>
    internal static bool IsLoopbackPeer(InetEndpoint peer) => BindAddress.IsLoopbackPeer(peer);

    private static readonly byte[] MaxClientsReached = "-ERR max number of clients reached\r\n"u8.ToArray();

    private ValueTask RejectAsync(QDesc qd) => RejectAsync(qd, MaxClientsReached);

    private async ValueTask RejectAsync(QDesc qd, byte[] reply)
    {
        var sga = LibOS.SgaAlloc(reply.Length);
        reply.CopyTo(sga.Span);
        await LibOS.PushAsync(qd, sga);
        LibOS.SgaFree(sga);
        LibOS.Close(qd);
    }

    internal void OnSessionEnded(ClientSession session)
    {
        _clients.Remove(session.Client.Id);
        Replication.OnClientClosed(session.Client);
    }

    public ClientSession? FindClient(long id) => _clients.GetValueOrDefault(id);

    /// <summary>The cron's frequency now (INFO's hz): configured_hz, doubled while more than 200 clients per tick
    /// are connected when dynamic-hz is on, up to 500, as redis's serverCron.</summary>
    public int EffectiveHz { get; private set; }

    internal static int AdaptHz(int configured, bool dynamic, int clients)
    {
        int hz = configured;
        while (dynamic && clients / hz > 200)
        {
            hz *= 2;
            if (hz > 500) return 500;
        }
        return hz;
    }

    /// <summary>Background work at <see cref="ServerConfig.Hz"/> (CONFIG SET hz applies from the next tick): active
    /// expiry, persistence, idle timeouts.</summary>
    private async ValueTask Cron()
    {
        while (!Stopping)
        {
            EffectiveHz = AdaptHz(Config.Hz, Config.DynamicHz, _clients.Count);
            await LibOS.Delay(TimeSpan.FromMilliseconds(1000.0 / EffectiveHz));
            CoarseNowMs = NowMs;
            // A busy script is atomic, a load at start incomplete: no expiry, saves or timeouts meanwhile.
            if (RunningScript is not null || Loading is not null) continue;
            long expireStart = System.Diagnostics.Stopwatch.GetTimestamp();
            // A replica never expires keys itself: its master's DELs do (expired keys read as missing meanwhile).
            if (Diagnostics.ActiveExpire && !Replication.IsReplica)
            {
                // redis's slow cycle: (25 + 2 × (effort − 1)) percent of a cron tick at most, over all databases
                int effort = Config.ActiveExpireEffort;
                long deadline = expireStart + (System.Diagnostics.Stopwatch.Frequency * (25 + (2 * (effort - 1))) / 100 / EffectiveHz);
                foreach (var db in Databases) Stats.ExpiredKeys += db.ActiveExpireCycle(int.MaxValue, effort, deadline);
            }
            Diagnostics.ExpireCycleDone(expireStart); // LATENCY's expire-cycle event
            Memory.Cron();
            Persistence.Cron();
            int timeout = Config.Timeout;
            if (timeout > 0)
            {
                long now = NowMs;
                // As redis's clientsCronHandleTimeout: blocked clients (woken by their own timeout) and subscribers are exempt.
                foreach (var session in _clients.Values.ToArray())
                {
                    var client = session.Client;
                    if (client.Blocked || client.SubscriptionCount > 0 || client.IsReplica) continue;
                    if (now / 1000 - client.LastInteractionMs / 1000 > timeout)
                    {
                        Log.ClosingIdleClient();
                        session.Kill();
                    }
                }
            }
            if (RunCronSteps()) await LibOS.Delay(CronBackoff);
        }
    }

    // ---- supervision: a failing loop or cron step is logged and the server goes on ----

    private static readonly TimeSpan CronBackoff = TimeSpan.FromSeconds(1);
    private readonly List<(string Name, Action Step)> _cronSteps = [];

    /// <summary>
    /// Adds work to every cron tick, after expiry and timeouts (persistence, AOF fsync everysec, ...). A step that
    /// throws is logged; the other steps run, and the next tick comes after a one-second back-off.
    /// </summary>
    internal void AddCronStep(string name, Action step) => _cronSteps.Add((name, step));

    private bool RunCronSteps()
    {
        bool failed = false;
        for (int i = 0; i < _cronSteps.Count; i++)
        {
            var (name, step) = _cronSteps[i];
            try
            {
                step();
            }
            catch (Exception e)
            {
                Log.CronStepFailed(e, name);
                failed = true;
            }
        }
        return failed;
    }

    /// <summary>
    /// Runs one of the server's loops (accept, cron) for as long as the server runs: if it throws, the failure is
    /// logged and the loop starts again after a back-off (100 ms, doubling up to 5 s; back to 100 ms after a good minute).
    /// </summary>
    internal async ValueTask Supervise(string name, Func<ValueTask> loop)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!Stopping)
        {
            long started = NowMs;
            try
            {
                await loop();
                return;
            }
            catch (Exception e)
            {
                if (Stopping) return;
                if (NowMs - started > 60_000) backoff = TimeSpan.FromMilliseconds(100);
                Log.LoopFailed(e, name, (long)backoff.TotalMilliseconds);
            }
            await LibOS.Delay(backoff);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }
}
