using System.Globalization;

namespace Demikernel.Server;

/// <summary>The TLS parameters (see Tls/README.md), in the one parameter table, with redis-server 7.0's defaults.</summary>
public sealed partial class ServerConfig
{
    /// <summary>TLS parameters redis-server 7.0 has that this server shows with their defaults but does not act on:
    /// another value is refused at start and by CONFIG SET (see <see cref="NotAppliedYet"/>). OpenSSL cipher strings
    /// (tls-ciphers, tls-ciphersuites) have no equivalent SslStream setting that keeps their meaning; the session cache's
    /// size and timeout, DH parameters and server cipher preference are not exposed by SslStream; cluster and the
    /// replica side of replication do not use TLS here.</summary>
    internal static string[] TlsNotApplied =>
    [
        "tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers", "tls-session-cache-size", "tls-session-cache-timeout",
        "tls-dh-params-file", "tls-cluster", "tls-replication", "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
    ];

    private void AddTlsDefaults()
    {
        _values["tls-port"] = "0";
        _values["tls-cert-file"] = "";
        _values["tls-key-file"] = "";
        _values["tls-key-file-pass"] = "";
        _values["tls-ca-cert-file"] = "";
        _values["tls-ca-cert-dir"] = "";
        _values["tls-auth-clients"] = "yes";
        _values["tls-protocols"] = "";
        _values["tls-session-caching"] = "yes";
        _values["tls-ciphers"] = "";
        _values["tls-ciphersuites"] = "";
        _values["tls-prefer-server-ciphers"] = "no";
        _values["tls-session-cache-size"] = "20480";
        _values["tls-session-cache-timeout"] = "300";
        _values["tls-dh-params-file"] = "";
        _values["tls-cluster"] = "no";
        _values["tls-replication"] = "no";
        _values["tls-client-cert-file"] = "";
        _values["tls-client-key-file"] = "";
        _values["tls-client-key-file-pass"] = "";
    }

    /// <summary>tls-port: where TLS clients are accepted (0 = no TLS listener).</summary>
    public int TlsPort => int.Parse(_values["tls-port"], CultureInfo.InvariantCulture);

    /// <summary>tls-auth-clients: whether a client must (yes), may (optional) or is not asked to (no) present a certificate.</summary>
    public Tls.ClientAuth TlsAuthClients => _values["tls-auth-clients"] switch
    {
        "no" => Tls.ClientAuth.No,
        "optional" => Tls.ClientAuth.Optional,
        _ => Tls.ClientAuth.Yes,
    };

    /// <summary>A string parameter redis treats as unset when empty (EMPTY_STRING_IS_NULL), or null.</summary>
    internal string? TlsString(string name) => _values[name] is { Length: > 0 } v ? v : null;

    /// <summary>Validation of the TLS parameters (null: not one of them, or fine). The files themselves are checked
    /// when TLS is configured (Tls/TlsContext.cs), as redis's tlsConfigure does.</summary>
    private string? ValidateTls(string key, string v)
    {
        switch (key)
        {
            case "tls-port":
                return Range(v, 0, 65535);
            case "tls-session-cache-size" or "tls-session-cache-timeout":
                return Range(v, 0, int.MaxValue);
            case "tls-auth-clients":
                _values[key] = v = v.ToLowerInvariant();
                return v is "no" or "yes" or "optional" ? null : "argument(s) must be one of the following: no, yes, optional";
            case "tls-session-caching" or "tls-prefer-server-ciphers" or "tls-cluster" or "tls-replication":
                return YesNo(key, v);
            default:
                return null;
        }
    }
}
