using Demikernel.Resp;
using Demikernel.Runtime;

namespace Demikernel.Server;

/// <summary>Per-connection state that commands read and change (CLIENT, SELECT, AUTH, HELLO, ...).</summary>
public sealed class ClientState
{
    public ClientState(long id, QDesc qd, InetEndpoint peer, InetEndpoint local, long nowMs)
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
    public InetEndpoint Peer { get; }
    public InetEndpoint Local { get; }

    /// <summary>The unixsocket path for a client connected through it (redis's CLIENT_UNIX_SOCKET), else null.</summary>
    public string? UnixSocketPath { get; init; }

    /// <summary>A client of the catmem listener (catmem-listen: shared memory, RedisServer.Catmem.cs).</summary>
    public bool Catmem { get; init; }

    /// <summary>The peer as redis names it (CLIENT LIST addr, CLIENT KILL, SLOWLOG): "ip:port", "path:0" for a
    /// unix socket client, "catmem:port" for a catmem one (the client's catmem port).</summary>
    public string Address => UnixSocketPath is { } path ? path + ":0" : Catmem ? "catmem:" + Peer.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : Peer.ToString();

    /// <summary>The local end likewise (CLIENT LIST laddr; "catmem:NAME" for a catmem client).</summary>
    public string LocalAddress => UnixSocketPath is { } path ? path + ":0" : Catmem ? "catmem:" + Local.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : Local.ToString();

    public long CreatedMs { get; }
    public long LastInteractionMs { get; set; }

    public int Database { get; set; }
    public bool Authenticated { get; set; }

    /// <summary>The ACL user the client runs as (the server's default user until AUTH/HELLO names another).</summary>
    internal Acl.AclUser User { get; set; } = Acl.AclUser.Superuser;
    public RespVersion Protocol { get; set; } = RespVersion.Resp2;
    public string? Name { get; set; }

    /// <summary>Name of the last command run (CLIENT LIST's cmd=).</summary>
    public string LastCommand { get; set; } = "NULL";

    /// <summary>Set by QUIT or CLIENT KILL: the session sends what is pending, then closes.</summary>
    public bool CloseRequested { get; set; }

    /// <summary>Bytes buffered and not yet parsed (CLIENT LIST's qbuf=).</summary>
    public int QueryBufferLength { get; set; }

    public long CommandsProcessed { get; set; }

    /// <summary>The session serving this client (null in handler unit tests without a connection).</summary>
    public ClientSession? Session { get; internal set; }

    // ---- pub/sub ----

    public HashSet<string> Channels { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Patterns { get; } = new(StringComparer.Ordinal);
    /// <summary>SSUBSCRIBE's shard channels (sharded pub/sub, Notifications/ShardedPubSubCommands.cs).</summary>
    public HashSet<string> ShardChannels { get; } = new(StringComparer.Ordinal);

    /// <summary>CLIENT TRACKING's settings while tracking is on, else null (Notifications/ClientTracking.cs).</summary>
    public Notifications.TrackingState? Tracking { get; internal set; }

    /// <summary>All subscriptions: any one puts a RESP2 client in the subscribed context (redis's CLIENT_PUBSUB).</summary>
    public int SubscriptionCount => Channels.Count + Patterns.Count + ShardChannels.Count;

    /// <summary>The count (P)SUBSCRIBE and (P)UNSUBSCRIBE replies show (redis's clientSubscriptionsCount).</summary>
    public int ChannelAndPatternCount => Channels.Count + Patterns.Count;

    // ---- transactions ----

    /// <summary>Set between MULTI and EXEC/DISCARD.</summary>
    public bool InMulti { get; set; }

    /// <summary>A command failed to queue (unknown, wrong arity): EXEC answers EXECABORT.</summary>
    public bool MultiAborted { get; set; }

    /// <summary>Raw request frames queued by MULTI, replayed by EXEC.</summary>
    public List<byte[]> MultiQueue { get; } = [];

    /// <summary>Keys under WATCH: database, key, and whether the key existed when watched.</summary>
    public List<(int Db, byte[] Key, bool Existed)> Watched { get; } = [];

    /// <summary>
    /// A client whose commands must be obeyed (redis-server's mustObeyClient: the AOF loader, a replica's master):
    /// no eviction before its commands and no OOM refusal, in scripts either.
    /// </summary>
    public bool MustObey { get; init; }

    /// <summary>CLIENT NO-EVICT ON: shown as flag 'e' (there is no client eviction, maxmemory-clients is refused).</summary>
    public bool NoEvict { get; set; }

    /// <summary>Set while EXEC replays the queue: blocking commands then answer at once, as with a zero wait.</summary>
    public bool InExec { get; set; }

    /// <summary>Parked by a blocking command (BLPOP, ...) until data arrives or its timeout passes.</summary>
    public bool Blocked { get; internal set; }

    /// <summary>
    /// What a blocking command must remember between its first run and its re-runs (XREAD's "$" resolved to IDs);
    /// cleared when the client is unparked.
    /// </summary>
    public object? BlockState { get; set; }

    /// <summary>A watched key changed since WATCH: EXEC fails with a null reply.</summary>
    public bool WatchBroken { get; set; }

    /// <summary>A replica of this server (after SYNC/PSYNC; CLIENT LIST flag S, type replica).</summary>
    public bool IsReplica { get; set; }

    /// <summary>This server's master, whose stream the replica applies (flag M, type master).</summary>
    public bool IsMaster { get; set; }

    /// <summary>Cluster mode: ASKING was sent (the next command may touch an importing slot) / READONLY (a replica
    /// serves reads of its master's slots).</summary>
    public bool Asking { get; set; }
    public bool ClusterReadOnly { get; set; }

    /// <summary>The replication offset right after this client's last command (redis's woff): what WAIT waits for.
    /// Kept while effects are recorded (a replication stream exists whenever replicas could acknowledge).</summary>
    public long ReplOffset { get; set; }

    /// <summary>REPLCONF options a would-be replica sent before its PSYNC.</summary>
    internal Replication.ReplicaLink? PendingReplica { get; set; }

    // ---- diagnostics (Diagnostics/) ----

    /// <summary>The client scripts run their redis.call()s as (MONITOR shows it as "lua").</summary>
    internal bool IsScript { get; init; }

    /// <summary>Commands replayed from the AOF: not counted in commandstats, the slow log or MONITOR (redis's
    /// isAOFLoadingContext).</summary>
    internal bool NoStats { get; init; }

    /// <summary>In MONITOR mode (CLIENT LIST flag O): only commands that do not touch the keyspace are served.</summary>
    internal bool Monitoring { get; set; }

    /// <summary>CLIENT REPLY: replies are sent (On), dropped (Off), or dropped for the next command only (Skip).</summary>
    internal Diagnostics.ReplyMode ReplyMode { get; set; }

    /// <summary>CLIENT PAUSE holds this client's next request: the session waits for the pause to end, then runs it.</summary>
    internal bool PauseHeld { get; set; }
}
