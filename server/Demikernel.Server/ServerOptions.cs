namespace Demikernel.Server;

/// <summary>The server's start-up settings, named as redis-server names them.</summary>
public sealed record ServerOptions
{
    public int Port { get; init; } = 6379;
    public string Bind { get; init; } = "127.0.0.1";
    public int Databases { get; init; } = 16;
    public string? RequirePass { get; init; }
    public int MaxClients { get; init; } = 10000;
    /// <summary>Close a client after this many idle seconds (0 = never).</summary>
    public int Timeout { get; init; }
    public string LibOS { get; init; } = Demikernel.LibOS.DefaultName;
    public string? ConfigFile { get; init; }
    /// <summary>Server cron frequency (active expiry, client timeouts), as redis.conf's hz.</summary>
    public int Hz { get; init; } = 10;
    public long ProtoMaxBulkLen { get; init; } = 512L * 1024 * 1024;
    public long ClientQueryBufferLimit { get; init; } = 1024L * 1024 * 1024;
    /// <summary>redis.conf's tcp-keepalive: seconds of idle before keepalive probes on accepted connections (0 = off).</summary>
    public int TcpKeepAlive { get; init; } = 300;

    /// <summary>Working directory for the RDB file and the AOF directory (redis.conf's dir); null = current directory.</summary>
    public string? Dir { get; init; }
    public string DbFilename { get; init; } = "dump.rdb";

    /// <summary>Save points, "seconds changes ..." ("" = none). redis-server 7.0's built-in default.</summary>
    public string Save { get; init; } = DefaultSave;

    /// <summary>redis-server 7.0's save points when no configuration names any.</summary>
    public const string DefaultSave = "3600 1 300 100 60 10000";
    public bool AppendOnly { get; init; }
    public string AppendFsync { get; init; } = "everysec";
    /// <summary>redis.conf's loglevel: debug, verbose, notice, warning or nothing.</summary>
    public string LogLevel { get; init; } = "notice";
    /// <summary>redis.conf's logfile: empty for standard output.</summary>
    public string LogFile { get; init; } = "";
}
