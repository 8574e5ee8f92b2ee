using System.Net;
using System.Net.Sockets;

namespace Demikernel.Server.Tests;

/// <summary>CONFIG SET port and bind move the listening sockets at runtime, as redis-server 7.0's changeListenPort and
/// changeBindAddr; a port or address that cannot be had is refused with redis's text and the server keeps
/// listening where it was.</summary>
public sealed class ListenConfigTests
{

    private static bool Accepts(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public void PortAndBindMoveTheListenersOrAreRefusedWithTheOldOnesKept()
    {
        using var server = ListHashTcpServer.Start();
        using var first = server.Connect();
        Assert.Equal($"*2\r\n$4\r\nport\r\n${server.Port.ToString().Length}\r\n{server.Port}\r\n", first.Call("CONFIG", "GET", "port"));

        int moved = FreePorts.Next();
        Assert.Equal("+OK\r\n", first.Call("CONFIG", "SET", "port", moved.ToString()));
        Assert.False(Accepts(server.Port));
        using var second = ListHashConnection.Open(moved);
        Assert.Equal("+PONG\r\n", second.Call("PING"));
        Assert.Equal("+PONG\r\n", first.Call("PING")); // connections made before stay
        Assert.Contains($"tcp_port:{moved}\r\n", second.Call("INFO", "server"));

        // a port another socket holds: redis's error, and still listening on the current one
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int busy = ((IPEndPoint)taken.LocalEndpoint).Port;
            Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
                second.Call("CONFIG", "SET", "port", busy.ToString()));
        }
        finally
        {
            taken.Stop();
        }
        Assert.True(Accepts(moved));

        // bind: an optional address that does not exist is skipped; a required one fails and nothing changes
        Assert.Equal("+OK\r\n", second.Call("CONFIG", "SET", "bind", "127.0.0.1 -10.255.255.1"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n",
            second.Call("CONFIG", "SET", "bind", "127.0.0.1 10.255.255.1"));
        Assert.Equal("*2\r\n$4\r\nbind\r\n$23\r\n127.0.0.1 -10.255.255.1\r\n", second.Call("CONFIG", "GET", "bind"));
        Assert.True(Accepts(moved));

        // both at once, all or nothing: the port is applied first, on the new addresses, and fails (as redis's
        // updatePort does); both values roll back
        int other = FreePorts.Next();
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port.",
            second.Call("CONFIG", "SET", "port", other.ToString(), "bind", "10.255.255.1"));
        Assert.Contains($"\r\n{moved}\r\n", second.Call("CONFIG", "GET", "port"));
        Assert.True(Accepts(moved));
        Assert.False(Accepts(other));

        // port 0 at runtime: no TCP listener, as in redis-server
        Assert.Equal("+OK\r\n", second.Call("CONFIG", "SET", "port", "0"));
        Assert.False(Accepts(moved));
        Assert.Equal("+PONG\r\n", second.Call("PING"));
    }

    /// <summary>changeBindAddr moves tls-port's listeners too: an address kept stays served, a required one that
    /// cannot be had fails the whole change and both kinds of listener stay where they were.</summary>
    [Fact]
    public void BindMovesTheTlsListenersToo()
    {
        string dir = Directory.CreateTempSubdirectory("listen-tls-").FullName;
        try
        {
            var (certFile, keyFile, _) = SelfSignedCertificate.Write(dir);
            int tlsPort = FreePorts.Next();
            using var server = new ServerThread("listen tls", libos =>
            {
                var options = new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" };
                var config = new ServerConfig(options);
                foreach (var (name, value) in new[] { ("tls-port", tlsPort.ToString()), ("tls-cert-file", certFile), ("tls-key-file", keyFile), ("tls-auth-clients", "no") })
                    Assert.Equal(DirectiveResult.Applied, config.LoadDirective(name, [value], out _));
                // a plain port as well (port 0 with tls-port would mean TLS only)
                Assert.Equal(DirectiveResult.Applied, config.LoadDirective("port", [FreePorts.Next().ToString()], out _));
                return new RedisServer(libos, new ServerOptions { Port = int.Parse(config.Match("port").First().Value), Bind = "127.0.0.1", Save = "" }, config: config);
            });
            using var admin = server.Connect();
            Assert.True(Accepts(tlsPort));
            Assert.Equal("+OK\r\n", admin.Call("CONFIG", "SET", "bind", "127.0.0.1 -10.255.255.1"));
            Assert.True(Accepts(tlsPort));
            Assert.True(Accepts(server.Port));
            Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'bind')", admin.Call("CONFIG", "SET", "bind", "10.255.255.1"));
            Assert.True(Accepts(tlsPort));
            Assert.True(Accepts(server.Port));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
