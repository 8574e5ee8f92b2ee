using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Demikernel.Server.Tests;

/// <summary>A self-signed localhost certificate and its key written as PEM files (tls-cert-file, tls-key-file) for
/// tests that run the server's tls-port.</summary>
internal static class SelfSignedCertificate
{
    /// <returns>The two files and the certificate's DER bytes (what a client sees in the handshake).</returns>
    public static (string CertFile, string KeyFile, byte[] RawData) Write(string dir)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        string certFile = Path.Combine(dir, "server.crt"), keyFile = Path.Combine(dir, "server.key");
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile, certificate.RawData);
    }
}
