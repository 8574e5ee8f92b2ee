using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Demikernel.Server.Tls;

/// <summary>tls-auth-clients: redis's TLS_CLIENT_AUTH_NO / YES / OPTIONAL.</summary>
public enum ClientAuth
{
    No,
    Yes,
    Optional,
}

/// <summary>
/// What redis's tlsConfigure builds from the tls-* parameters, for SslStream: the server certificate (with the rest of
/// the tls-cert-file chain, key from tls-key-file, encrypted with tls-key-file-pass), the trusted CAs for client
/// certificates (tls-ca-cert-file, tls-ca-cert-dir), the protocols (tls-protocols) and session resumption
/// (tls-session-caching). Built once per configuration; every TLS connection shares it.
/// </summary>
internal sealed class TlsContext
{
    private readonly SslServerAuthenticationOptions[] _options = new SslServerAuthenticationOptions[3];

    private TlsContext(SslStreamCertificateContext certificate, X509Certificate2Collection authorities, SslProtocols protocols, bool resume)
    {
        foreach (var mode in new[] { ClientAuth.No, ClientAuth.Yes, ClientAuth.Optional })
        {
            var options = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificate,
                EnabledSslProtocols = protocols,
                AllowTlsResume = resume,
                AllowRenegotiation = false, // redis: SSL_OP_NO_CLIENT_RENEGOTIATION
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                ClientCertificateRequired = mode != ClientAuth.No,
            };
            if (mode != ClientAuth.No)
            {
                var policy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                    DisableCertificateDownloads = true,
                };
                policy.CustomTrustStore.AddRange(authorities);
                options.CertificateChainPolicy = policy;
                // SSL_VERIFY_PEER (+ SSL_VERIFY_FAIL_IF_NO_PEER_CERT for yes): a certificate sent must verify against
                // the CAs; none at all is refused with yes and accepted with optional.
                bool optional = mode == ClientAuth.Optional;
                options.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    errors == SslPolicyErrors.None || (optional && certificate is null && errors == SslPolicyErrors.RemoteCertificateNotAvailable);
            }
            _options[(int)mode] = options;
        }
    }

    public SslServerAuthenticationOptions Options(ClientAuth mode) => _options[(int)mode];

    /// <summary>
    /// Builds the context from the configuration, or returns null with the lines redis's tlsConfigure would log
    /// (the same first words; the reason is .NET's, not OpenSSL's error string).
    /// </summary>
    public static TlsContext? Create(ServerConfig config, out string? error)
    {
        error = null;
        string? certFile = config.TlsString("tls-cert-file");
        string? keyFile = config.TlsString("tls-key-file");
        string? caFile = config.TlsString("tls-ca-cert-file");
        string? caDir = config.TlsString("tls-ca-cert-dir");
        if (certFile is null)
        {
            error = "No tls-cert-file configured!";
            return null;
        }
        if (keyFile is null)
        {
            error = "No tls-key-file configured!";
            return null;
        }
        if (config.TlsAuthClients != ClientAuth.No && caFile is null && caDir is null)
        {
            error = "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!";
            return null;
        }
        if (ParseProtocols(config.TlsString("tls-protocols"), out error) is not { } protocols) return null;

        // SSL_CTX_use_certificate_chain_file: the first certificate is the server's, the others its chain.
        X509Certificate2Collection chain;
        try
        {
            chain = [];
            chain.ImportFromPemFile(certFile);
            if (chain.Count == 0) throw new CryptographicException("no certificate found");
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"Failed to load certificate: {certFile}: {e.Message}";
            return null;
        }
        X509Certificate2 leaf;
        try
        {
            string keyPem = File.ReadAllText(keyFile);
            string? pass = config.TlsString("tls-key-file-pass");
            using var publicOnly = chain[0];
            string certPem = publicOnly.ExportCertificatePem();
            // As OpenSSL, the password is used only when the key is encrypted.
            leaf = pass is not null && keyPem.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromEncryptedPem(certPem, keyPem, pass)
                : X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"Failed to load private key: {keyFile}: {e.Message}";
            return null;
        }

        var authorities = new X509Certificate2Collection();
        try
        {
            if (caFile is not null) authorities.ImportFromPemFile(caFile);
            if (caDir is not null)
            {
                // OpenSSL's CApath looks certificates up by hashed names; every PEM file in the directory is a superset.
                if (!Directory.Exists(caDir)) throw new DirectoryNotFoundException($"no such directory: {caDir}");
                foreach (string file in Directory.EnumerateFiles(caDir))
                {
                    try
                    {
                        authorities.ImportFromPemFile(file);
                    }
                    catch (CryptographicException)
                    {
                        // not a certificate file: OpenSSL never opens files that are not named by a certificate hash
                    }
                }
            }
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"Failed to configure CA certificate(s) file/directory: {e.Message}";
            return null;
        }

        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++) intermediates.Add(chain[i]);
        // offline: no chain downloads or OCSP fetches on background threads.
        var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        return new TlsContext(context, authorities, protocols, config.Get("tls-session-caching") == "yes");
    }

    /// <summary>redis's parseProtocolsConfig: unset = TLSv1.2 and TLSv1.3; else words separated by single spaces.</summary>
    internal static SslProtocols? ParseProtocols(string? text, out string? error)
    {
        error = null;
        if (text is null) return SslProtocols.Tls12 | SslProtocols.Tls13;
        var protocols = SslProtocols.None;
        foreach (string word in text.Split(' '))
        {
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.0 and 1.1 are offered when asked for, as redis asks OpenSSL for them
            protocols |= word.ToLowerInvariant() switch
            {
                "tlsv1" => SslProtocols.Tls,
                "tlsv1.1" => SslProtocols.Tls11,
                "tlsv1.2" => SslProtocols.Tls12,
                "tlsv1.3" => SslProtocols.Tls13,
                _ => SslProtocols.None,
            };
#pragma warning restore SYSLIB0039, CA5397
            if (word.ToLowerInvariant() is not ("tlsv1" or "tlsv1.1" or "tlsv1.2" or "tlsv1.3"))
            {
                error = "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.";
                return null;
            }
        }
        return protocols;
    }
}
