using Demikernel.Runtime;
using Demikernel.Server.Commands;
using Demikernel.Server.Persistence;
using Demikernel.Server.Propagation;
using Demikernel.Server.Logging;
using Demikernel.Server.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Demikernel.Server;

/// <summary>
/// The Redis-compatible server on one libOS instance.
/// <code>
///   accept loop ──▶ ClientSession (one coroutine each): Pop ─▶ scan RESP ─▶ CommandTable.Execute ─▶ ReplyBuffer ─▶ Push
///   cron (hz):   active expiry on every database, idle-client timeouts
/// </code>
/// Everything runs on the libOS thread; the server uses only the queue API.
/// </summary>
public sealed class RedisServer
{
    private readonly Dictionary<long, ClientSession> _clients = [];
    private long _nextClientId;
    private QDesc _listener = QDesc.Invalid;

    /// <param name="log">Where the server and its components log (<see cref="Log"/>); nothing is logged without one.</param>
    /// <param name="logLevel">The level switch of the log's provider, so that CONFIG SET loglevel applies at once.</param>
    public RedisServer(DemiLibOS libos, ServerOptions options, ILogger? log = null, LogLevelSwitch? logLevel = null)
    {
        LibOS = libos;
        Options = options;
        Log = log ?? NullLogger.Instance;
        Config = new ServerConfig(options);
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
        Effects = new EffectsLog(Config, Stats);
        Scripts = new Scripting.EvalScripts(this);
        Functions = new Scripting.FunctionLibraries(this);
        KeyModifiedHandler expired = (db, key) => Effects.KeyExpired(db.Index, key);
        foreach (var db in Databases)
        {
            db.Stats = Stats;
            db.KeyExpired = expired;
        }
        Commands = new CommandTable();
        CommandRegistry.RegisterAll(Commands);
        StartedMs = CoarseNowMs = NowMs;
        RunId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
        Persistence = new PersistenceManager(this);
        Config.ApplyHook = Persistence.ApplyConfig;
    }

    /// <summary>RDB files, the AOF, and what INFO persistence reports about them.</summary>
    public PersistenceManager Persistence { get; }

    /// <summary>Bytes the process holds for data and clients (the RDB's used-mem field, INFO used_memory).</summary>
    public long UsedMemory => GC.GetTotalMemory(false);

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
    public PubSubHub PubSub { get; } = new();
    public WatchRegistry Watches { get; }
    public BlockingRegistry Blocking { get; } = new();

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
    public IPv4Endpoint ListenEndpoint { get; private set; }
    public bool Stopping { get; private set; }

    public bool RequiresAuth => Config.RequirePass is not null;

    /// <summary>Wall-clock milliseconds of the libOS clock (expiry, TTLs).</summary>
    public long NowMs => LibOS.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// <see cref="NowMs"/> as of the last cron tick (1000/hz ms old at most), for bookkeeping that needs no precision,
    /// such as a client's last interaction; reading the clock on every request costs measurable CPU.
    /// </summary>
    public long CoarseNowMs { get; private set; }

    public IReadOnlyCollection<ClientSession> Clients => _clients.Values;

    /// <summary>Opens the listening socket and starts the accept loop and the cron. Returns 0 or an errno.</summary>
    public int Start()
    {
        if (!IPv4Endpoint.TryParse($"{Options.Bind}:{Options.Port}", out var at))
            throw new ArgumentException($"--bind '{Options.Bind}' is not an IPv4 address");
        int rc = LibOS.Socket(SocketKind.Stream, out var qd);
        if (rc != 0) return rc;
        if ((rc = LibOS.Bind(qd, at.Value)) != 0 || (rc = LibOS.Listen(qd, 511)) != 0)
        {
            LibOS.Close(qd);
            return rc;
        }
        LibOS.GetSockName(qd, out var bound);
        ListenEndpoint = bound;
        _listener = qd;
        LibOS.Spawn(() => Supervise("accept loop", AcceptLoop));
        LibOS.Spawn(() => Supervise("cron", Cron));
        return 0;
    }

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

    /// <summary>SHUTDOWN [NOSAVE|SAVE] [FORCE]: persists as asked, then stops. False when saving failed (and not forced).</summary>
    public bool Shutdown(bool? save, bool force)
    {
        Log.UserRequestedShutdown();
        if (!Persistence.PrepareForShutdown(save, force))
        {
            Log.ShutdownErrors();
            return false;
        }
        Log.ReadyToExit();
        Stop();
        return true;
    }

    public void Stop()
    {
        Stopping = true;
        if (_listener.IsValid) LibOS.Close(_listener);
        _listener = QDesc.Invalid;
        foreach (var client in _clients.Values.ToArray()) client.Kill();
    }

    private async ValueTask AcceptLoop()
    {
        var listener = _listener;
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
            LibOS.GetSockName(qd, out var local);
            var client = new ClientState(++_nextClientId, qd, accepted.Address, local, NowMs) { Authenticated = !RequiresAuth };
            var session = new ClientSession(this, client);
            _clients.Add(client.Id, session);
            LibOS.Spawn(session.RunAsync);
        }
    }

    private async ValueTask RejectAsync(QDesc qd)
    {
        var sga = LibOS.SgaAlloc(36);
        "-ERR max number of clients reached\r\n"u8.CopyTo(sga.Span);
        await LibOS.PushAsync(qd, sga);
        LibOS.SgaFree(sga);
        LibOS.Close(qd);
    }

    internal void OnSessionEnded(ClientSession session) => _clients.Remove(session.Client.Id);

    public ClientSession? FindClient(long id) => _clients.GetValueOrDefault(id);

    /// <summary>Background work at <see cref="ServerConfig.Hz"/> (CONFIG SET hz applies from the next tick): active
    /// expiry, persistence, idle timeouts.</summary>
    private async ValueTask Cron()
    {
        while (!Stopping)
        {
            await LibOS.Delay(TimeSpan.FromMilliseconds(1000.0 / Config.Hz));
            CoarseNowMs = NowMs;
            if (RunningScript is not null) continue; // a busy script is atomic: no expiry, no timeouts meanwhile
            foreach (var db in Databases) Stats.ExpiredKeys += db.ActiveExpireCycle(20);
            Persistence.Cron();
            int timeout = Config.Timeout;
            if (timeout > 0)
            {
                long now = NowMs;
                foreach (var session in _clients.Values.ToArray())
                    if (now - session.Client.LastInteractionMs > timeout * 1000L) session.Kill();
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
