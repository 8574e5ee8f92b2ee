using Demikernel.Runtime;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server;

/// <summary>
/// catmem clients beside the network listener (<c>catmem-listen NAME</c>): the libOS runs catmem as a second transport
/// on the server's one thread (the facade's <c>LibOS.Create(name, config, time, ["catmem"])</c>; Program.cs asks for it),
/// and a listener on it accepts co-located clients whose requests and replies go through shared-memory rings, with no
/// kernel on the data path. They are ordinary sessions: CLIENT LIST shows <c>addr=catmem:&lt;client's port&gt;
/// laddr=catmem:&lt;NAME&gt;</c>; AUTH and ACLs apply as to any client; protected mode lets them in as it lets in unix
/// socket clients (they are on this host by construction).
/// </summary>
public sealed partial class RedisServer
{
    private QDesc _catmemListener = QDesc.Invalid;

    /// <summary>The catmem listener's name (its port), or 0 when the server has none.</summary>
    public int CatmemListenPort => _catmemListener.IsValid && LibOS.GetSockName(_catmemListener, out var at) == 0 ? at.Port : 0;

    /// <summary>Opens the catmem listener; 0 or an errno (EAFNOSUPPORT: the libOS runs no catmem transport).</summary>
    private int ListenOnCatmem(int name)
    {
        int rc = LibOS.Socket("catmem", SocketKind.Stream, out var qd);
        if (rc != 0) return rc;
        if ((rc = LibOS.Bind(qd, IPv4Endpoint.Loopback((ushort)name))) != 0 || (rc = LibOS.Listen(qd, 511)) != 0)
        {
            LibOS.Close(qd);
            return rc;
        }
        _catmemListener = qd;
        return 0;
    }

    /// <summary>Start's part: listen when catmem-listen is set, and accept. 0 or an errno (logged).</summary>
    private int StartCatmem()
    {
        if (Config.CatmemListen is not (> 0 and var name)) return 0;
        int rc = ListenOnCatmem(name);
        if (rc != 0)
        {
            CatmemLog.FailedListeningCatmem(Log, name, Errno.Name(rc));
            return rc;
        }
        var listener = _catmemListener;
        LibOS.Spawn(() => Supervise("catmem accept loop", () => AcceptLoop(listener, unix: false, catmem: true)));
        CatmemLog.ListeningCatmem(Log, name);
        return 0;
    }

    private void CloseCatmemListener()
    {
        if (!_catmemListener.IsValid) return;
        LibOS.Close(_catmemListener);
        _catmemListener = QDesc.Invalid;
    }
}

internal static partial class CatmemLog
{
    [LoggerMessage(EventId = 950, Level = LogLevel.Warning, Message = "Failed listening on catmem name {Name}: {Error}")]
    public static partial void FailedListeningCatmem(ILogger log, int name, string error);

    [LoggerMessage(EventId = 951, Level = LogLevel.Information, Message = "Listening on catmem name {Name} (shared memory, beside the network listener)")]
    public static partial void ListeningCatmem(ILogger log, int name);
}
