using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// TLS on tls-port, against the server as a process of its own: redis-cli --tls, StackExchange.Redis with ssl=true,
/// client certificates (tls-auth-clients yes/optional/no), a plaintext client on the TLS port, tls-protocols, an
/// encrypted key, CONFIG SET tls-port at runtime, and start-up failures compared with redis-server 7.0.15's.
/// Certificates are made by the test (<see cref="TestCertificates"/>).
/// </summary>
public sealed class TlsTests(TestCertificates certs, ITestOutputHelper output) : IClassFixture<TestCertificates>
{
    private const string RedisServerPath = "/usr/bin/redis-server";

    /// <summary>A TLS-only server (port 0 with tls-port, as redis-server) on a free port; returns it and the port.</summary>
    private (ServerProcess Server, int Port) Start(params string[] extra)
    {
        int port = FreePorts.Next();
        string[] key = extra.Contains("--tls-key-file") ? [] : ["--tls-key-file", certs.ServerKey];
        var server = ServerProcess.Start(
        [
            "--port", "0", "--save", "", "--tls-port", port.ToString(CultureInfo.InvariantCulture),
            "--tls-cert-file", certs.ServerCert, .. key, "--tls-ca-cert-file", certs.CaCert, .. extra,
        ]);
        var lines = server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
        Assert.Equal(port, server.PortFromLog(lines)); // the start-up line names the TLS port when there is no plain one
        return (server, port);
    }

    private ProcessResult Cli(int port, string[] tlsArgs, params string[] command) =>
        ExternalProcess.RunAsync(RedisCli.Path,
            new[] { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "--tls", "--cacert", certs.CaCert }.Concat(tlsArgs).Concat(command),
            RedisCli.Timeout).GetAwaiter().GetResult();

    private string[] ClientCert => ["--cert", certs.ClientCert, "--key", certs.ClientKey];

    [Fact]
    public void RedisCliPingSetGetOverTls()
    {
        var (server, port) = Start("--tls-auth-clients", "no");
        using var _ = server;
        Assert.Equal("PONG", Cli(port, [], "PING").Single());
        Assert.Equal("OK", Cli(port, [], "SET", "greeting", "hello over tls").Single());
        Assert.Equal("hello over tls", Cli(port, [], "GET", "greeting").Single());
        Assert.Equal(["tls-port", port.ToString(CultureInfo.InvariantCulture)], Cli(port, [], "CONFIG", "GET", "tls-port").Lines());
        Assert.Equal(["tls-auth-clients", "no"], Cli(port, [], "CONFIG", "GET", "tls-auth-clients").Lines());
        // INFO's tcp_port is tls-port when there is no plain port (redis: port ? port : tls_port).
        Assert.Contains($"tcp_port:{port}", Cli(port, [], "INFO", "server").Stdout, StringComparison.Ordinal);
        // A reply larger than one TLS record (16 KB) and a pipeline of many requests in one connection.
        string big = new('x', 100_000);
        var script = new StringBuilder().Append("SET big ").Append(big).Append('\n');
        for (int i = 0; i < 500; i++) script.Append("INCR counter\n");
        script.Append("GET big\n");
        var piped = ExternalProcess.RunAsync(RedisCli.Path,
            ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "--tls", "--cacert", certs.CaCert], RedisCli.Timeout, script.ToString()).GetAwaiter().GetResult();
        var lines = piped.Lines();
        Assert.Equal(502, lines.Length);
        Assert.Equal("500", lines[500]);
        Assert.Equal(big, lines[501]);
    }

    /// <summary>The same settings from a redis.conf, with the CAs from tls-ca-cert-dir; CONFIG REWRITE keeps them.</summary>
    [Fact]
    public void TlsFromARedisConfWithACaDirectory()
    {
        string caDir = Path.Combine(certs.Dir, "ca-dir-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(caDir);
        File.Copy(certs.CaCert, Path.Combine(caDir, "ca.pem"));
        File.WriteAllText(Path.Combine(caDir, "README"), "not a certificate");
        int port = FreePorts.Next();
        string conf = Path.Combine(certs.Dir, $"tls-{port}.conf");
        File.WriteAllText(conf, $"""
            port 0
            save ""
            tls-port {port}
            tls-cert-file "{certs.ServerCert}"
            tls-key-file {certs.ServerKey}
            tls-ca-cert-dir {caDir}
            tls-auth-clients yes
            tls-protocols "TLSv1.2 TLSv1.3"

            """);
        var server = ServerProcess.Start([conf]);
        using var _ = server;
        Assert.Equal(port, server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal))));
        Assert.Equal("PONG", Cli(port, ClientCert, "PING").Single());
        Assert.NotEqual("PONG", Cli(port, ["--cert", certs.StrangerCert, "--key", certs.StrangerKey], "PING").Stdout.Trim());
        Assert.NotEqual("PONG", Cli(port, [], "PING").Stdout.Trim());
        Assert.Equal(["tls-ca-cert-dir", caDir], Cli(port, ClientCert, "CONFIG", "GET", "tls-ca-cert-dir").Lines());
        Assert.Equal("OK", Cli(port, ClientCert, "CONFIG", "SET", "tls-auth-clients", "optional").Single());
        Assert.Equal("OK", Cli(port, ClientCert, "CONFIG", "REWRITE").Single());
        string rewritten = File.ReadAllText(conf);
        Assert.Contains($"tls-port {port}", rewritten, StringComparison.Ordinal);
        Assert.Contains("tls-auth-clients optional", rewritten, StringComparison.Ordinal);
        Assert.Contains($"tls-ca-cert-dir \"{caDir}\"", rewritten, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StackExchangeRedisWithSslTrueReadsWritesAndSubscribes()
    {
        var (server, port) = Start("--tls-auth-clients", "no");
        using var _ = server;
        var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } }, Ssl = true, SslHost = "localhost", AbortOnConnectFail = true, ConnectTimeout = 10_000 };
        options.TrustIssuer(certs.CaCert);
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        var db = mux.GetDatabase();
        Assert.True(await db.StringSetAsync("se:key", "value"));
        Assert.Equal("value", (string?)await db.StringGetAsync("se:key"));
        // Many requests in flight on one connection (pipelined), answered in order.
        var increments = Enumerable.Range(0, 2000).Select(_ => db.StringIncrementAsync("se:counter")).ToArray();
        var values = await Task.WhenAll(increments);
        Assert.Equal(Enumerable.Range(1, 2000).Select(i => (long)i), values);
        // Pub/sub: messages go out through the session's outbox, pushed while its reads are pending; a message queue
        // (not a handler, which SE.Redis may run concurrently) keeps their order.
        var subscriber = mux.GetSubscriber();
        var queue = await subscriber.SubscribeAsync(RedisChannel.Literal("news"));
        for (int i = 0; i < 100; i++) await subscriber.PublishAsync(RedisChannel.Literal("news"), $"m{i}");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (int i = 0; i < 100; i++) Assert.Equal($"m{i}", (string?)(await queue.ReadAsync(cts.Token)).Message);
    }

    [Fact]
    public void TlsAuthClientsYesRequiresACertificateFromTheConfiguredCa()
    {
        var (server, port) = Start(); // tls-auth-clients defaults to yes, as in redis
        using var _ = server;
        var without = Cli(port, [], "PING");
        Assert.NotEqual("PONG", without.Stdout.Trim());
        Assert.Equal("PONG", Cli(port, ClientCert, "PING").Single());
        var stranger = Cli(port, ["--cert", certs.StrangerCert, "--key", certs.StrangerKey], "PING");
        Assert.NotEqual("PONG", stranger.Stdout.Trim());
        var refused = server.StdoutUntil(l => l.Contains("# Error accepting a client connection: ", StringComparison.Ordinal));
        output.WriteLine(refused[^1]);
        // optional: no certificate is fine, a certificate that does not verify is not.
        Assert.Equal("OK", Cli(port, ClientCert, "CONFIG", "SET", "tls-auth-clients", "optional").Single());
        Assert.Equal("PONG", Cli(port, [], "PING").Single());
        Assert.NotEqual("PONG", Cli(port, ["--cert", certs.StrangerCert, "--key", certs.StrangerKey], "PING").Stdout.Trim());
        Assert.Equal("PONG", Cli(port, ClientCert, "PING").Single());
        // Only the connection asking is left: refused handshakes leave no client behind.
        Assert.Single(Cli(port, ClientCert, "CLIENT", "LIST").Lines());
    }

    [Fact]
    public void APlaintextClientOnTheTlsPortFailsCleanlyAndOthersAreServed()
    {
        var (server, port) = Start("--tls-auth-clients", "no");
        using var _ = server;
        using var before = TlsClient(port, SslProtocols.None);
        Assert.Equal("+PONG\r\n", Call(before, "PING\r\n"));
        for (int i = 0; i < 5; i++)
        {
            using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
            plain.Connect(IPAddress.Loopback, port);
            plain.Send(Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\n"));
            // The server drops the connection (at most a TLS alert comes back, never a RESP reply).
            var buffer = new byte[1024];
            int total = 0;
            try
            {
                int n;
                while ((n = plain.Receive(buffer)) > 0) total += n;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
            }
            Assert.True(total < 16, $"{total} bytes came back to a plaintext client");
        }
        // A client that connects and leaves without a word.
        using (var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)) silent.Connect(IPAddress.Loopback, port);
        server.StdoutUntil(l => l.Contains("# Error accepting a client connection: ", StringComparison.Ordinal));
        Assert.Equal("+PONG\r\n", Call(before, "PING\r\n"));
        Assert.Equal("PONG", Cli(port, [], "PING").Single());
        var clients = Cli(port, [], "CLIENT", "LIST").Lines();
        Assert.True(clients.Length == 2, string.Join('\n', clients)); // the one opened before and redis-cli's own
    }

    /// <summary>Handshakes that never finish do not hold up anyone else; as in redis a connection counts as a client
    /// from accept on, and past maxclients a TLS connection is closed before the handshake (nothing can be written).</summary>
    [Fact]
    public void PendingHandshakesDoNotDelayOthersAndMaxclientsDropsTheRest()
    {
        var (server, port) = Start("--tls-auth-clients", "no", "--maxclients", "4");
        using var _ = server;
        using var admin = TlsClient(port, SslProtocols.None);
        var silent = Enumerable.Range(0, 3).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
            s.Connect(IPAddress.Loopback, port);
            s.Send([0x16, 0x03, 0x01]); // the first bytes of a ClientHello, and then nothing
            return s;
        }).ToList();
        try
        {
            for (int i = 0; i < 100; i++) Assert.Equal("+PONG\r\n", Call(admin, "PING\r\n"));
            Assert.Contains("connected_clients:4\r\n", Call(admin, Resp("INFO", "clients")), StringComparison.Ordinal);
            for (int i = 0; i < 10; i++)
            {
                var refused = Assert.ThrowsAny<Exception>(() => TlsClient(port, SslProtocols.None).Dispose());
                output.WriteLine(refused.Message);
            }
            Assert.Contains("rejected_connections:10\r\n", Call(admin, Resp("INFO", "stats")), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var s in silent) s.Dispose();
        }
        // The silent ones left: room again, and nothing of theirs stays behind.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Call(admin, Resp("INFO", "clients")).Contains("connected_clients:1\r\n", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the closed handshakes are still counted");
            Thread.Sleep(50);
        }
        using var again = TlsClient(port, SslProtocols.None);
        Assert.Equal("+PONG\r\n", Call(again, "PING\r\n"));
    }

    [Fact]
    public void TlsProtocolsLimitWhatAClientMayNegotiate()
    {
        var (server, port) = Start("--tls-auth-clients", "no", "--tls-protocols", "TLSv1.3");
        using var _ = server;
        using (var tls13 = TlsClient(port, SslProtocols.Tls13))
        {
            Assert.Equal(SslProtocols.Tls13, tls13.SslProtocol);
            Assert.Equal("+PONG\r\n", Call(tls13, "PING\r\n"));
        }
        Assert.ThrowsAny<Exception>(() => TlsClient(port, SslProtocols.Tls12).Dispose());
        // CONFIG SET applies to new connections; a bad value is refused with redis's text and changes nothing.
        using var admin = TlsClient(port, SslProtocols.None);
        Assert.Equal("+OK\r\n", Call(admin, Resp("CONFIG", "SET", "tls-protocols", "TLSv1.2")));
        using (var tls12 = TlsClient(port, SslProtocols.Tls12)) Assert.Equal("+PONG\r\n", Call(tls12, "PING\r\n"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs.\r\n",
            Call(admin, Resp("CONFIG", "SET", "tls-protocols", "SSLv3")));
        server.StdoutUntil(l => l.EndsWith("# Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.", StringComparison.Ordinal));
        Assert.Equal("*2\r\n$13\r\ntls-protocols\r\n$7\r\nTLSv1.2\r\n", Call(admin, Resp("CONFIG", "GET", "tls-protocols")));
    }

    [Fact]
    public void AnEncryptedKeyAndTlsPortMovedAtRuntime()
    {
        var (server, port) = Start("--tls-auth-clients", "no", "--tls-key-file", certs.ServerEncryptedKey, "--tls-key-file-pass", TestCertificates.KeyPassword);
        using var _ = server;
        Assert.Equal("PONG", Cli(port, [], "PING").Single());
        int moved = FreePorts.Next();
        Assert.Equal("OK", Cli(port, [], "CONFIG", "SET", "tls-port", moved.ToString(CultureInfo.InvariantCulture)).Single());
        Assert.Equal("PONG", Cli(moved, [], "PING").Single());
        Assert.NotEqual(0, Cli(port, [], "PING").ExitCode); // the old port is closed
        // A certificate that cannot be loaded is refused at runtime, and the TLS context in use stays.
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs.",
            Cli(moved, [], "CONFIG", "SET", "tls-cert-file", "/nonexistent/server.crt").Single());
        server.StdoutUntil(l => l.Contains("# Failed to load certificate: /nonexistent/server.crt: ", StringComparison.Ordinal));
        Assert.Equal("PONG", Cli(moved, [], "PING").Single());
    }

    /// <summary>redis-server 7.0.15 with tls-replication yes replicates ours through its TLS port: the full sync and
    /// the stream of writes after it both go through the replica's TLS session.</summary>
    [Fact]
    public void ARedisServerReplicaFollowsOverTls()
    {
        var (server, port) = Start("--tls-auth-clients", "no");
        using var _ = server;
        Assert.Equal("OK", Cli(port, [], "SET", "before", "sync").Single());
        int replicaPort = FreePorts.Next();
        var dir = Directory.CreateTempSubdirectory("tls-replica-").FullName;
        using var replica = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(RedisServerPath)
        {
            ArgumentList =
            {
                "--port", "0", "--tls-port", replicaPort.ToString(CultureInfo.InvariantCulture), "--save", "", "--dir", dir,
                "--tls-cert-file", certs.ServerCert, "--tls-key-file", certs.ServerKey, "--tls-ca-cert-file", certs.CaCert,
                "--tls-auth-clients", "no", "--tls-replication", "yes", "--replicaof", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture),
            },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Cli(replicaPort, [], "INFO", "replication").Stdout.Contains("master_link_status:up", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "the replica's link did not come up");
                Thread.Sleep(100);
            }
            Assert.Equal("sync", Cli(replicaPort, [], "GET", "before").Single());
            Assert.Equal("OK", Cli(port, [], "SET", "after", "stream").Single());
            while (Cli(replicaPort, [], "GET", "after").Single() != "stream")
            {
                Assert.True(DateTime.UtcNow < deadline, "the write after the sync did not reach the replica");
                Thread.Sleep(100);
            }
            Assert.Contains("connected_slaves:1", Cli(port, [], "INFO", "replication").Stdout, StringComparison.Ordinal);
        }
        finally
        {
            replica.Kill();
            replica.WaitForExit(10_000);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>What redis-server 7.0.15 and this server print and return when TLS cannot be configured at start.</summary>
    [Theory]
    [InlineData("cert", "Failed to load certificate: /nonexistent/server.crt: ")]
    [InlineData("key", "Failed to load private key: ")]
    [InlineData("ca", "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")]
    [InlineData("protocols", "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")]
    public void ATlsSetupThatCannotLoadStopsTheStartAsRedisServer(string broken, string reason)
    {
        string[] args = broken switch
        {
            "cert" => ["--tls-cert-file", "/nonexistent/server.crt", "--tls-key-file", certs.ServerKey, "--tls-ca-cert-file", certs.CaCert],
            "key" => ["--tls-cert-file", certs.ServerCert, "--tls-key-file", certs.StrangerKey, "--tls-ca-cert-file", certs.CaCert],
            "ca" => ["--tls-cert-file", certs.ServerCert, "--tls-key-file", certs.ServerKey],
            _ => ["--tls-cert-file", certs.ServerCert, "--tls-key-file", certs.ServerKey, "--tls-auth-clients", "no", "--tls-protocols", "TLSv1.2 SSLv3"],
        };
        string tlsPort = FreePorts.Next().ToString(CultureInfo.InvariantCulture);
        string[] common = ["--port", "0", "--save", "", "--tls-port", tlsPort, .. args];
        var theirs = ExternalProcess.RunAsync(RedisServerPath, common, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        var ours = ServerProcess.RunToExit(common);
        output.WriteLine(theirs.ToString());
        output.WriteLine(ours.ToString());
        foreach (var run in new[] { theirs, ours })
        {
            Assert.Equal(1, run.ExitCode);
            var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
            int at = Array.FindIndex(lines, l => l.Contains(" # " + reason, StringComparison.Ordinal));
            Assert.True(at >= 0, $"no '{reason}' line:\n{run}");
            Assert.EndsWith(" # Failed to configure TLS. Check logs for more info.", lines[at + 1]);
        }
    }

    /// <summary>CONFIG GET tls-* as redis-server 7.0.15 answers it, and CONFIG SET's checks of the values.</summary>
    [Fact]
    public void TlsParametersAreRedisServers()
    {
        int redisPort = FreePorts.Next();
        using var reference = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(RedisServerPath)
        {
            ArgumentList = { "--port", redisPort.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");
        try
        {
            var ours = ServerProcess.Start(["--port", "0", "--save", ""]);
            using var _ = ours;
            int ourPort = ours.PortFromLog(ours.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
            WaitForPort(redisPort);
            Assert.Equal(ConfigGet(redisPort, "tls-*"), ConfigGet(ourPort, "tls-*"));
            foreach (var (name, value) in new[] { ("tls-auth-clients", "maybe"), ("tls-port", "70000"), ("tls-session-caching", "sometimes"), ("tls-port", "x") })
                Assert.Equal(ours.Cli(redisPort, "CONFIG", "SET", name, value), ours.Cli(ourPort, "CONFIG", "SET", name, value));
            // Without a TLS port nothing is loaded, as redis: the files are checked when TLS is turned on.
            Assert.Equal("OK", ours.Cli(ourPort, "CONFIG", "SET", "tls-cert-file", "/nonexistent/server.crt"));
            Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to update TLS configuration. Check server logs.",
                ours.Cli(ourPort, "CONFIG", "SET", "tls-port", FreePorts.Next().ToString(CultureInfo.InvariantCulture)));
            // OpenSSL cipher strings have no SslStream equivalent: refused, never accepted and ignored.
            Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'tls-ciphers') - can't set immutable config",
                ours.Cli(ourPort, "CONFIG", "SET", "tls-ciphers", "HIGH:!aNULL"));
            var refused = ServerProcess.RunToExit(["--port", "0", "--save", "", "--tls-ciphersuites", "TLS_AES_256_GCM_SHA384"]);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("tls-ciphersuites", refused.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            reference.Kill();
            reference.WaitForExit(10_000);
        }
    }

    private static SortedDictionary<string, string> ConfigGet(int port, string pattern)
    {
        var lines = ExternalProcess.RunAsync(RedisCli.Path, ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "CONFIG", "GET", pattern], RedisCli.Timeout)
            .GetAwaiter().GetResult().Lines();
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < lines.Length; i += 2) map[lines[i]] = lines[i + 1];
        return map;
    }

    private static void WaitForPort(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private SslStream TlsClient(int port, SslProtocols protocols)
    {
        var tcp = new TcpClient("127.0.0.1", port) { ReceiveTimeout = 10_000, SendTimeout = 10_000 };
        var ca = X509CertificateLoader.LoadCertificateFromFile(certs.CaCert);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            ssl.AuthenticateAsClient(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocols,
                CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { ca }, RevocationMode = X509RevocationMode.NoCheck },
            });
            // With TLS 1.3 a refused handshake shows only at the first read: check the connection now.
            Assert.Equal("+PONG\r\n", Call(ssl, "PING\r\n"));
            return ssl;
        }
        catch
        {
            ssl.Dispose();
            throw;
        }
    }

    private static string Resp(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (string a in args) text.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return text.ToString();
    }

    /// <summary>Sends a request and reads one reply (simple forms: a line, or a bulk/array of bulks read to its end).</summary>
    private static string Call(SslStream ssl, string request)
    {
        ssl.Write(Encoding.UTF8.GetBytes(request));
        ssl.Flush();
        var reply = new StringBuilder();
        var buffer = new byte[65536];
        while (true)
        {
            int n = ssl.Read(buffer);
            if (n == 0) throw new IOException($"connection closed after '{reply}'");
            reply.Append(Encoding.UTF8.GetString(buffer, 0, n));
            if (Complete(reply.ToString())) return reply.ToString();
        }
    }

    private static bool Complete(string reply)
    {
        if (!reply.EndsWith("\r\n", StringComparison.Ordinal)) return false;
        if (reply[0] is '+' or '-' or ':') return true;
        int lines = reply.Split("\r\n").Length - 1;
        if (reply[0] == '$')
        {
            int header = reply.IndexOf("\r\n", StringComparison.Ordinal);
            int length = int.Parse(reply[1..header], CultureInfo.InvariantCulture);
            return length < 0 || Encoding.UTF8.GetByteCount(reply) >= header + 2 + length + 2;
        }
        if (reply[0] == '*') return lines >= 1 + 2 * int.Parse(reply[1..reply.IndexOf('\r', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
        return true;
    }
}
