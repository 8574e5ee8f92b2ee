using Demikernel.Resp;
using Demikernel.Runtime;

namespace Demikernel.Server;

/// <summary>Per-connection state that commands read and change (CLIENT, SELECT, AUTH, HELLO, ...).</summary>
public sealed class ClientState
{
    public ClientState(long id, QDesc qd, IPv4Endpoint peer, IPv4Endpoint local, long nowMs)
    {
        Id = id;
        Qd = qd;
        Peer = peer;
        Local = local;
        CreatedMs = nowMs;
        LastInteractionMs = nowMs;
    }

    public long Id { get; }
    public QDesc Qd { get; }
    public IPv4Endpoint Peer { get; }
    public IPv4Endpoint Local { get; }
    public long CreatedMs { get; }
    public long LastInteractionMs { get; set; }

    public int Database { get; set; }
    public bool Authenticated { get; set; }
    public RespVersion Protocol { get; set; } = RespVersion.Resp2;
    public string? Name { get; set; }
    public string? LibName { get; set; }
    public string? LibVersion { get; set; }

    /// <summary>Name of the last command run (CLIENT LIST's cmd=).</summary>
    public string LastCommand { get; set; } = "NULL";

    /// <summary>Set by QUIT or CLIENT KILL: the session sends what is pending, then closes.</summary>
    public bool CloseRequested { get; set; }

    /// <summary>Bytes buffered and not yet parsed (CLIENT LIST's qbuf=).</summary>
    public int QueryBufferLength { get; set; }

    public long CommandsProcessed { get; set; }
}
