using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace Demikernel.Server.Tests;

/// <summary>
/// Steady-state GET/SET over TLS allocates nothing on the server's libOS thread: SslStream's reads and writes, the
/// stream adapter over the queue and the session together, measured with the thread's allocation counter around
/// thousands of round trips from a real SslStream client over catnap.
/// </summary>
public sealed class TlsAllocationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tls-alloc-").FullName;

    [Fact]
    public void GetAndSetOverTlsAllocateNothingPerRequest()
    {
        var (certFile, keyFile, expected) = SelfSignedCertificate.Write(_dir);
        int tlsPort = FreePorts.Next();

        using var server = new ServerThread("tls allocation", libos =>
        {
            var options = new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" };
            var config = new ServerConfig(options);
            foreach (var (name, value) in new[] { ("tls-port", tlsPort.ToString(CultureInfo.InvariantCulture)), ("tls-cert-file", certFile), ("tls-key-file", keyFile), ("tls-auth-clients", "no") })
                Assert.Equal(DirectiveResult.Applied, config.LoadDirective(name, [value], out _));
            return new RedisServer(libos, options, config: config);
        });
        Assert.Equal(tlsPort, server.Port); // port 0 with tls-port: TLS only

        using var tcp = new TcpClient("127.0.0.1", tlsPort) { NoDelay = true };
        using var ssl = new SslStream(tcp.GetStream(), false, (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(expected));
        ssl.AuthenticateAsClient("localhost");
        byte[] set = Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$16\r\nvalue-over-tls!!\r\n");
        byte[] get = Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
        var buffer = new byte[256];
        void RoundTrip(byte[] command, int replyLength)
        {
            ssl.Write(command);
            int got = 0;
            while (got < replyLength) got += ssl.Read(buffer, got, buffer.Length - got);
        }
        void Once()
        {
            RoundTrip(set, "+OK\r\n".Length);
            RoundTrip(get, "$16\r\nvalue-over-tls!!\r\n".Length);
        }

        for (int i = 0; i < 3000; i++) Once();
        const int Calls = 5000;
        long best = long.MaxValue;
        for (int run = 0; run < 5 && best > 0; run++)
        {
            long before = server.Inspect(_ => GC.GetAllocatedBytesForCurrentThread());
            for (int i = 0; i < Calls; i++) Once();
            long after = server.Inspect(_ => GC.GetAllocatedBytesForCurrentThread());
            best = Math.Min(best, after - before);
        }
        output.WriteLine($"server thread: {best} bytes over {2 * Calls} TLS requests (best of 5 runs)");
        // Reading the counter twice through a post costs the same few bytes in every run; the smallest object per request
        // would be 240,000. On a heavily loaded machine (CI beside other work, load average ~20) a run takes 10 s instead
        // of 1 s and a handful of rare events (1,944 bytes once, 0.2 byte a request) land in every run; an idle server
        // thread allocates nothing (0 bytes in 3 s), so the bound allows a few such events, not anything per request.
        Assert.InRange(best, 0, 4096);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
