namespace Demikernel.Server;

/// <summary>The server's start-up settings, named as redis-server names them.</summary>
public sealed record ServerOptions
{
    public int Port { get; init; } = 6379;
    /// <summary>Addresses to listen on, separated by spaces (redis.conf's bind: <c>*</c> = all IPv4 interfaces,
    /// <c>::*</c> all IPv6 ones, a <c>-</c> prefix = skip when not available; IPv6 is skipped on a libOS without it).
    /// An embedded server listens on 127.0.0.1 unless told otherwise; the program's default is redis-server 7.0's
    /// <see cref="RedisDefaultBind"/>.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>What redis-server 7.0 binds with no bind in its configuration (config.c): every IPv4 address, and every
    /// IPv6 address where the host has IPv6. Protected mode guards it.</summary>
    public const string RedisDefaultBind = "* -::*";

    /// <summary>redis.conf's protected-mode: with no password, only clients from 127.0.0.1 are served.</summary>
    public bool ProtectedMode { get; init; } = true;
    public int Databases { get; init; } = 16;
    public string? RequirePass { get; init; }
    public int MaxClients { get; init; } = 10000;
    /// <summary>Close a client after this many idle seconds (0 = never).</summary>
    public int Timeout { get; init; }
    public string LibOS { get; init; } = Demikernel.LibOS.DefaultName;
    /// <summary>The configuration file INFO shows (config_file): the redis.conf if there is one, else the YAML.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The redis.conf the server was started from (absolute path), which CONFIG REWRITE rewrites; null if none.</summary>
    public string? RedisConfFile { get; init; }
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
