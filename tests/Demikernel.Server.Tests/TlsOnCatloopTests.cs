using System.Net.Security;
using System.Text;
using Demikernel.Runtime;
using Demikernel.Server.Tls;

namespace Demikernel.Server.Tests;

/// <summary>
/// TLS needs nothing of the kernel: the server's tls-port on catloop (stream sockets over in-process memory queues),
/// with a client whose SslStream runs over the same queue adapter on the same libOS thread. What runs here runs on
/// catpowder's and any other libOS's sockets alike.
/// </summary>
public sealed class TlsOnCatloopTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tls-catloop-").FullName;

    [Fact]
    public void ATlsClientIsServedOverCatloop()
    {
        var (certFile, keyFile, expected) = SelfSignedCertificate.Write(_dir);

        using var libos = Demikernel.LibOS.Create("catloop");
        var options = new ServerOptions { Port = 7000, Bind = "127.0.0.1", Save = "" };
        var config = new ServerConfig(options);
        foreach (var (name, value) in new[] { ("tls-port", "7001"), ("tls-cert-file", certFile), ("tls-key-file", keyFile), ("tls-auth-clients", "no") })
            Assert.Equal(DirectiveResult.Applied, config.LoadDirective(name, [value], out _));
        var server = new RedisServer(libos, options, config: config);
        Assert.Equal(0, server.Start());
        string big = new('v', 70_000); // several TLS records each way

        var replies = libos.Run(async () =>
        {
            Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
            Assert.True((await libos.ConnectAsync(qd, IPv4Endpoint.Parse("127.0.0.1:7001"))).Succeeded);
            using var stream = new QueueStream(libos, qd);
            using var ssl = new SslStream(stream, false, (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(expected));
            await ssl.AuthenticateAsClientAsync("localhost");
            var got = new List<string>();
            foreach (string command in new[] { "*1\r\n$4\r\nPING\r\n", $"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${big.Length}\r\n{big}\r\n", "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" })
            {
                await ssl.WriteAsync(Encoding.ASCII.GetBytes(command));
                got.Add(await ReadReplyAsync(ssl));
            }
            libos.Close(qd);
            return got;
        });
        Assert.Equal(["+PONG\r\n", "+OK\r\n", $"${big.Length}\r\n{big}\r\n"], replies);
        server.Stop();
    }

    private static async ValueTask<string> ReadReplyAsync(SslStream ssl)
    {
        var text = new StringBuilder();
        var buffer = new byte[16384];
        while (true)
        {
            int n = await ssl.ReadAsync(buffer);
            if (n == 0) throw new IOException("closed");
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            string s = text.ToString();
            if (s[0] != '$' && s.EndsWith("\r\n", StringComparison.Ordinal)) return s;
            if (s[0] == '$' && s.Split("\r\n").Length >= 3) return s;
        }
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
