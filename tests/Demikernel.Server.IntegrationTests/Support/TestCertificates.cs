using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// A throw-away PKI for TLS tests, made with .NET's CertificateRequest and written as PEM files: a CA, a server
/// certificate for localhost/127.0.0.1 signed by it (its key also encrypted with <see cref="KeyPassword"/>), a client
/// certificate signed by it, and a client certificate from a second, untrusted CA.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public const string KeyPassword = "s3cret-pass";

    public TestCertificates()
    {
        Dir = Directory.CreateTempSubdirectory("tls-test-").FullName;
        using var caKey = RSA.Create(2048);
        using var ca = MakeCa("CN=Demikernel Test CA", caKey);
        using var otherKey = RSA.Create(2048);
        using var otherCa = MakeCa("CN=Someone Else's CA", otherKey);
        Write("ca.crt", ca.ExportCertificatePem());

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = Sign(serverRequest, ca, 2);
        Write("server.crt", server.ExportCertificatePem());
        Write("server.key", serverKey.ExportPkcs8PrivateKeyPem());
        Write("server-encrypted.key", serverKey.ExportEncryptedPkcs8PrivateKeyPem(KeyPassword,
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)));

        using var clientKey = RSA.Create(2048);
        using var client = Sign(ClientRequest("CN=trusted client", clientKey), ca, 3);
        Write("client.crt", client.ExportCertificatePem());
        Write("client.key", clientKey.ExportPkcs8PrivateKeyPem());

        using var strangerKey = RSA.Create(2048);
        using var stranger = Sign(ClientRequest("CN=stranger", strangerKey), otherCa, 4);
        Write("stranger.crt", stranger.ExportCertificatePem());
        Write("stranger.key", strangerKey.ExportPkcs8PrivateKeyPem());
    }

    public string Dir { get; }

    public string CaCert => Path.Combine(Dir, "ca.crt");
    public string ServerCert => Path.Combine(Dir, "server.crt");
    public string ServerKey => Path.Combine(Dir, "server.key");
    public string ServerEncryptedKey => Path.Combine(Dir, "server-encrypted.key");
    public string ClientCert => Path.Combine(Dir, "client.crt");
    public string ClientKey => Path.Combine(Dir, "client.key");
    public string StrangerCert => Path.Combine(Dir, "stranger.crt");
    public string StrangerKey => Path.Combine(Dir, "stranger.key");

    private static X509Certificate2 MakeCa(string name, RSA key)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static CertificateRequest ClientRequest(string name, RSA key)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        return request;
    }

    private static X509Certificate2 Sign(CertificateRequest request, X509Certificate2 ca, byte serial)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        return request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), [serial, 0x42]);
    }

    private void Write(string name, string pem) => File.WriteAllText(Path.Combine(Dir, name), pem);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
