using Demikernel.Runtime;
using Demikernel.Server.Logging;

namespace Demikernel.Server.Tls;

/// <summary>
/// tls-port on every bind address, as redis-server 7.0: the accept loop hands each connection to a
/// <see cref="ClientSession"/> with a <see cref="TlsChannel"/>, whose first step is the handshake. The
/// <see cref="TlsContext"/> is built at start when tls-port is set (a failure stops the start) and again when CONFIG
/// SET changes a tls-* parameter (a failure refuses the change, the old context stays).
/// </summary>
internal sealed class TlsListeners(RedisServer server)
{
    private readonly List<QDesc> _listeners = [];
    private TlsContext? _context;

    public bool Listening => _listeners.Count > 0;

    /// <summary>Start failed on tls-port (logged as redis's "(TLS), aborting." line).</summary>
    public bool StartFailed { get; private set; }

    /// <summary>The first TLS listener's address (INFO tcp_port and the start-up line when there is no plain port).</summary>
    public InetEndpoint? Endpoint => _listeners.Count > 0 && server.LibOS.GetSockName(_listeners[0], out var e) == 0 ? e : null;

    /// <summary>The handshake options for a new connection under the current tls-auth-clients.</summary>
    public System.Net.Security.SslServerAuthenticationOptions? Options =>
        _context?.Options(server.Config.TlsAuthClients);

    /// <summary>redis's tlsConfigure: builds the context from the tls-* parameters; false (and the reason logged) if it cannot.</summary>
    public bool Configure()
    {
        var context = TlsContext.Create(server.Config, out string? error);
        if (context is null)
        {
            server.Log.TlsConfigureFailed(error!);
            return false;
        }
        _context = context;
        return true;
    }

    /// <summary>At start (initServer, then listenToPort): configures TLS and listens on tls-port; 0 or an errno.</summary>
    public int Start()
    {
        if (_context is null && !Configure())
        {
            StartFailed = true;
            server.Log.FailedToConfigureTls();
            return Errno.EINVAL;
        }
        int rc = server.ListenAll(server.Config.TlsPort, _listeners);
        if (rc != 0)
        {
            StartFailed = true;
            server.Log.FailedListeningTls(server.Config.TlsPort);
            Close();
            return rc;
        }
        foreach (var listener in _listeners) server.LibOS.Spawn(() => server.Supervise("tls accept loop", () => AcceptLoop(listener)));
        return 0;
    }

    public void Close()
    {
        foreach (var listener in _listeners) server.LibOS.Close(listener);
        _listeners.Clear();
    }

    /// <summary>CONFIG SET bind (changeBindAddr): tls-port's listeners move to the new addresses like the plain ones,
    /// a listener on an address that stays being kept; on failure nothing changes and redis's error is returned.</summary>
    public string? Rebind()
    {
        var previous = new List<QDesc>(_listeners);
        var next = new List<QDesc>();
        if (server.ListenAll(server.Config.TlsPort, next, reusable: previous) != 0)
        {
            foreach (var listener in next)
                if (!_listeners.Contains(listener)) server.LibOS.Close(listener);
            // a clash with an old listener (::* over ::1): close the old ones first, as redis, or have them back
            if (!server.ReopenAfterClosing(server.Config.TlsPort, server.Config.Match("bind").First().Value, _listeners, previous, next,
                    back => { foreach (var listener in back) server.LibOS.Spawn(() => server.Supervise("tls accept loop", () => AcceptLoop(listener))); }))
            {
                server.Log.FailedToBind();
                return "Failed to bind to specified addresses.";
            }
        }
        foreach (var listener in previous) server.LibOS.Close(listener);
        var added = next.Where(l => !_listeners.Contains(l)).ToList();
        _listeners.Clear();
        _listeners.AddRange(next);
        foreach (var listener in added) server.LibOS.Spawn(() => server.Supervise("tls accept loop", () => AcceptLoop(listener)));
        return null;
    }

    /// <summary>
    /// CONFIG SET of a tls-* parameter (config.c's applyTLSPort and applyTlsCfg): tls-port opens the new listeners
    /// (configuring TLS first if needed) and closes the old ones; the others rebuild the context when TLS is in use.
    /// tls-auth-clients applies to connections accepted from then on. Returns redis's error text or null.
    /// </summary>
    public string? ApplyConfig(string name, string old)
    {
        if (name == "tls-auth-clients") return null;
        if (name == "tls-port")
        {
            if (server.Config.TlsPort != 0 && _context is null && !Configure()) return "Unable to update TLS configuration. Check server logs.";
            var previous = _listeners.ToArray();
            _listeners.Clear();
            if (server.Config.TlsPort != 0)
            {
                int rc = server.ListenAll(server.Config.TlsPort, _listeners);
                if (rc != 0)
                {
                    Close();
                    _listeners.AddRange(previous);
                    return "Unable to listen on this port. Check server logs.";
                }
                foreach (var listener in _listeners) server.LibOS.Spawn(() => server.Supervise("tls accept loop", () => AcceptLoop(listener)));
            }
            foreach (var listener in previous) server.LibOS.Close(listener);
            return null;
        }
        if (server.Config.TlsPort != 0 && !Configure()) return "Unable to update TLS configuration. Check server logs.";
        return null;
    }

    private async ValueTask AcceptLoop(QDesc listener)
    {
        var libos = server.LibOS;
        while (!server.Stopping)
        {
            var accepted = await libos.AcceptAsync(listener);
            if (!accepted.Succeeded)
            {
                if (accepted.Ret is Errno.ECANCELED or Errno.EBADF) return;
                continue; // EMFILE and friends: keep serving the connections we have
            }
            server.Stats.ConnectionsReceived++;
            server.Log.Accepted(accepted.Address);
            var qd = accepted.AcceptedQd;
            if (server.Clients.Count >= server.Config.MaxClients)
            {
                // acceptCommonHandler: before the handshake nothing can be written, so the connection just drops.
                server.Stats.RejectedConnections++;
                libos.Close(qd);
                continue;
            }
            // Protected mode is checked after the handshake (clientAcceptHandler), so its DENIED text goes out encrypted.
            server.AddClient(qd, accepted.Address, new TlsChannel(libos, qd));
        }
    }
}
