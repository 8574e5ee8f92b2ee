using Demikernel.Server.Commands;

namespace Demikernel.Server.Diagnostics;

internal enum PauseMode : byte { None, Write, All }

/// <summary>Why clients are paused (redis's pause_purpose; MIGRATE's is ours: redis blocks its whole event loop for
/// the round trip, here only writes wait).</summary>
internal enum PausePurpose : byte { ClientCommand, Failover, Migrate }

/// <summary>
/// CLIENT PAUSE / UNPAUSE as redis-server 7.0: until the end time, clients asking for a command the mode covers are
/// held (their request waits in the query buffer, nothing is answered) rather than refused: ALL holds every command
/// (CLIENT UNPAUSE from another client too), WRITE the write and may-replicate ones (EVAL, PUBLISH, ...), an EXEC
/// that queued one, and such commands sent inside MULTI. A second pause keeps the stricter mode and the later end.
/// While paused, keys are not expired (a read of an expired key sees no value but the key stays) and nothing is evicted.
/// </summary>
internal sealed class ClientPause
{
    private readonly RedisServer _server;
    private readonly List<ClientSession> _held = [];
    // One pause per purpose, as redis's client_pause_per_purpose: CLIENT PAUSE's, a failover's (FAILOVER, CLUSTER
    // FAILOVER) until it ends, MIGRATE's for its round trip.
    private readonly (PauseMode Mode, long EndMs)[] _purposes = new (PauseMode, long)[3];

    public ClientPause(RedisServer server) => _server = server;

    /// <summary>The strictest mode of the purposes pausing now, until the latest of their ends.</summary>
    public PauseMode Mode { get; private set; }
    public long EndMs { get; private set; }

    /// <summary>A pause is in force now (ends by itself at <see cref="EndMs"/>).</summary>
    public bool Active => Mode != PauseMode.None && _server.NowMs < EndMs;

    public void Pause(long endMs, PauseMode mode, PausePurpose purpose = PausePurpose.ClientCommand)
    {
        ref var p = ref _purposes[(int)purpose];
        if (p.Mode == PauseMode.None || _server.NowMs >= p.EndMs)
        {
            p = (mode, endMs);
        }
        else
        {
            if (mode > p.Mode) p.Mode = mode;
            if (endMs > p.EndMs) p.EndMs = endMs;
        }
        Recompute();
    }

    /// <summary>Ends one purpose's pause (CLIENT UNPAUSE ends only CLIENT PAUSE's); held clients try again.</summary>
    public void Unpause(PausePurpose purpose = PausePurpose.ClientCommand)
    {
        _purposes[(int)purpose] = default;
        Recompute();
        var held = _held.ToArray();
        _held.Clear();
        foreach (var session in held) session.ResumeFromPause();
    }

    private void Recompute()
    {
        Mode = PauseMode.None;
        EndMs = 0;
        foreach (var (mode, endMs) in _purposes)
        {
            if (mode == PauseMode.None || _server.NowMs >= endMs) continue;
            if (mode > Mode) Mode = mode;
            if (endMs > EndMs) EndMs = endMs;
        }
        Apply();
    }

    /// <summary>Expiry and eviction stop while clients are paused (redis's checkClientPauseTimeoutAndReturnIfPaused).</summary>
    private void Apply()
    {
        long until = Mode == PauseMode.None ? 0 : EndMs;
        foreach (var db in _server.Databases) db.ExpiryPausedUntilMs = until;
        _server.Memory.PausedUntilMs = until;
    }

    /// <summary>True when the dispatcher must hold this request (the session waits and runs it again later).</summary>
    public bool Holds(ref CommandContext c, CommandSpec spec)
    {
        var client = c.Client;
        if (client.Session is not { } session || client.IsScript || client.InExec || client.NoStats || client.Monitoring || c.IsRetry) return false;
        if (!Active) return false;
        if (Mode == PauseMode.Write && !MayReplicate(ref c, spec)) return false;
        if (!_held.Contains(session)) _held.Add(session);
        return true;
    }

    public void Forget(ClientSession session) => _held.Remove(session);

    private const CommandFlags WriteFlags = CommandFlags.Write | CommandFlags.MayReplicate;

    private bool MayReplicate(ref CommandContext c, CommandSpec spec)
    {
        if ((spec.Flags & WriteFlags) != 0) return true;
        if (spec.Name != "EXEC" || !c.Client.InMulti) return false;
        var scanner = new Resp.RespRequestScanner();
        var args = new Resp.RespArgs();
        foreach (var frame in c.Client.MultiQueue)
        {
            scanner.Reset();
            if (scanner.TryScan(frame, args, out _, out _) != Resp.RespScanStatus.Complete || args.Count == 0) continue;
            if (!_server.Commands.TryGet(args.Get(frame, 0), out var queued)) continue;
            if (queued.Subcommands.Length > 0 && args.Count > 1) queued = queued.Subcommand(args.Get(frame, 1)) ?? queued;
            if ((queued.Flags & WriteFlags) != 0) return true;
        }
        return false;
    }
}
