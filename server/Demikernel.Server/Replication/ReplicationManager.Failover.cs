using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Diagnostics;

namespace Demikernel.Server.Replication;

/// <summary>Where a coordinated FAILOVER stands (redis's failover_state).</summary>
internal enum FailoverState : byte { None, WaitForSync, InProgress }

/// <summary>
/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], redis 7.0's coordinated failover:
/// <code>
///   FAILOVER ─▶ writes paused (held, not refused) ─▶ waiting-for-sync: a replica (the one named, or any) acks our whole
///   stream ─▶ failover-in-progress: we become its replica and send PSYNC replid offset FAILOVER ─▶ it promotes itself
///   and answers +CONTINUE ─▶ the pause ends (no-failover)
///   TIMEOUT passed: abort, or with FORCE go on to the named replica anyway; FAILOVER ABORT: back to master
/// </code>
/// </summary>
public sealed partial class ReplicationManager
{
    private FailoverState _failover;
    private long _failoverEndMs;
    private bool _failoverForce;
    private string? _failoverHost;
    private int _failoverPort;

    /// <summary>True while our master link is the failover's: its PSYNC carries FAILOVER.</summary>
    internal bool FailoverInProgress => _failover == FailoverState.InProgress;

    private string FailoverStateName => _failover switch
    {
        FailoverState.WaitForSync => "waiting-for-sync",
        FailoverState.InProgress => "failover-in-progress",
        _ => "no-failover",
    };

    internal void Failover(ref CommandContext c)
    {
        if (c.Count == 2 && c.ArgIs(1, "ABORT"u8))
        {
            if (_failover == FailoverState.None)
            {
                c.Reply.Error("ERR No failover in progress.");
                return;
            }
            AbortFailover("Failover manually aborted");
            c.Reply.Ok();
            return;
        }
        long timeoutMs = 0, port = 0;
        bool force = false;
        string? host = null;
        for (int j = 1; j < c.Count; j++)
        {
            if (c.ArgIs(j, "TIMEOUT"u8) && j + 1 < c.Count && timeoutMs == 0)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out timeoutMs))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (timeoutMs <= 0)
                {
                    c.Reply.Error("ERR FAILOVER timeout must be greater than 0");
                    return;
                }
                j++;
            }
            else if (c.ArgIs(j, "TO"u8) && j + 2 < c.Count && host is null)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 2), out port))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                host = c.ArgString(j + 1);
                j += 2;
            }
            else if (c.ArgIs(j, "FORCE"u8) && !force)
            {
                force = true;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        string? refusal = _failover != FailoverState.None ? "ERR FAILOVER already in progress."
            : _master is not null ? "ERR FAILOVER is not valid when server is a replica."
            : _replicas.Count == 0 ? "ERR FAILOVER requires connected replicas."
            : force && (timeoutMs == 0 || host is null) ? "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
            : null;
        if (refusal is null && host is not null)
        {
            var target = FindReplica(host, port);
            refusal = target is null ? "ERR FAILOVER target HOST and PORT is not a replica."
                : target.State != ReplicaState.Online ? "ERR FAILOVER target replica is not online." : null;
        }
        if (refusal is not null)
        {
            c.Reply.Error(refusal);
            return;
        }
        if (host is not null)
        {
            _failoverHost = host;
            _failoverPort = (int)port;
            _server.Log.FailoverRequested(host, port);
        }
        else
        {
            _server.Log.FailoverRequestedToAny();
        }
        _failoverEndMs = timeoutMs > 0 ? _server.NowMs + timeoutMs : 0;
        _failoverForce = force;
        _failover = FailoverState.WaitForSync;
        _server.Diagnostics.Pause.Pause(long.MaxValue, PauseMode.Write, PausePurpose.Failover);
        c.Reply.Ok();
    }

    /// <summary>findReplica: by the address INFO shows for it and the port it listens on.</summary>
    private ReplicaLink? FindReplica(string host, long port)
    {
        foreach (var r in _replicas)
            if (r.Ip.Equals(host, StringComparison.OrdinalIgnoreCase) && r.ListeningPort == port) return r;
        return null;
    }

    /// <summary>updateFailoverStatus, every cron tick while waiting for a replica to catch up.</summary>
    private void UpdateFailover()
    {
        if (_failover != FailoverState.WaitForSync) return;
        if (_failoverEndMs != 0 && _failoverEndMs <= _server.NowMs)
        {
            if (!_failoverForce)
            {
                AbortFailover("Replica never caught up before timeout");
                return;
            }
            _server.Log.FailoverForced(_failoverHost, _failoverPort);
            StartFailover();
            return;
        }
        long offset = MasterReplOffset;
        ReplicaLink? synced = null;
        if (_failoverHost is not null)
        {
            if (FindReplica(_failoverHost, _failoverPort) is { } target && target.AckOffset == offset) synced = target;
        }
        else
        {
            foreach (var r in _replicas)
            {
                if (r.AckOffset != offset) continue;
                synced = r;
                _failoverHost = r.Ip;
                _failoverPort = r.ListeningPort;
                break;
            }
        }
        if (synced is null) return;
        _server.Log.FailoverTargetSynced(_failoverHost, _failoverPort);
        StartFailover();
    }

    private void StartFailover()
    {
        _failover = FailoverState.InProgress;
        SetMaster(_failoverHost!, _failoverPort);
    }

    /// <summary>The failover's PSYNC got its answer: +CONTINUE or +FULLRESYNC end it, anything else aborts it.</summary>
    internal void FailoverPsyncAnswered(bool accepted)
    {
        if (_failover != FailoverState.InProgress) return;
        if (accepted) ClearFailover();
        else AbortFailover("Failover target rejected psync request");
    }

    /// <summary>abortFailover: back to master if we had become the target's replica, and the pause ends.</summary>
    internal void AbortFailover(string why)
    {
        if (_failover == FailoverState.None) return;
        if (_failoverHost is null) _server.Log.FailoverToAnyAborted(why);
        else _server.Log.FailoverAborted(_failoverHost, _failoverPort, why);
        if (_failover == FailoverState.InProgress && _master is not null) Promote();
        ClearFailover();
    }

    private void ClearFailover()
    {
        _failover = FailoverState.None;
        _failoverEndMs = 0;
        _failoverForce = false;
        _failoverHost = null;
        _failoverPort = 0;
        _server.Diagnostics.Pause.Unpause(PausePurpose.Failover);
    }

    /// <summary>PSYNC replid offset FAILOVER sent to us, a replica: we become the master if the replid is our master's
    /// (syncCommand); null, or the error to answer.</summary>
    private string? TakeOverFromFailingMaster(ref CommandContext c)
    {
        _server.Log.FailoverRequestReceived(c.ArgString(1));
        if (_master is null) return "ERR PSYNC FAILOVER can't be sent to a master.";
        if (!c.ArgString(1).Equals(Replid, StringComparison.OrdinalIgnoreCase)) return "ERR PSYNC FAILOVER replid must match my replid.";
        Promote();
        if (_server.Log.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
            _server.Log.MasterModeOnFailover(ClientInfo.Describe(c.Client, _server.NowMs, 0));
        return null;
    }

}
