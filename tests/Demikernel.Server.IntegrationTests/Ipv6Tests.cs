using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// IPv6 on catnap, with the server as a process of its own and redis-server 7.0.15 next to it for comparison: bind
/// with IPv6 addresses (at start, through CONFIG SET bind, the default "* -::*"), redis-cli -h ::1, StackExchange.Redis
/// to [::1]:port, client addresses as redis formats them (CLIENT LIST/INFO, CLIENT KILL ADDR/LADDR, MONITOR, ACL LOG),
/// TLS on ::1, and replication both ways over ::1 (INFO replication, ROLE).
/// </summary>
public sealed partial class Ipv6Tests(TestCertificates certs) : IClassFixture<TestCertificates>
{
    private static string S(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static ServerProcess StartOurs(int port, params string[] extra)
    {
        var server = ServerProcess.Start(["--port", S(port), "--save", "", .. extra]);
        server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
        return server;
    }

    private static ProcessResult Cli(string host, int port, params string[] command) =>
        ExternalProcess.RunAsync(RedisCli.Path, new[] { "-h", host, "-p", S(port) }.Concat(command), RedisCli.Timeout).GetAwaiter().GetResult();

    private static string One(string host, int port, params string[] command)
    {
        var r = Cli(host, port, command);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    private static bool Accepts(IPAddress address, int port)
    {
        using var client = new TcpClient(address.AddressFamily);
        try
        {
            client.Connect(address, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public void RedisCliAndStackExchangeRedisOverIpv6Loopback()
    {
        int port = FreePorts.Next();
        using var ours = StartOurs(port, "--bind", "127.0.0.1 ::1");
        Assert.Equal("PONG", One("::1", port, "PING"));
        Assert.Equal("OK", One("::1", port, "SET", "six", "over v6"));
        Assert.Equal("over v6", One("127.0.0.1", port, "GET", "six"));
        Assert.Matches(@"^id=\d+ addr=\[::1\]:\d+ laddr=\[::1\]:" + port + " ", One("::1", port, "CLIENT", "INFO"));

        var options = new ConfigurationOptions { AbortOnConnectFail = true, ConnectTimeout = 10_000, AllowAdmin = true };
        options.EndPoints.Add(new IPEndPoint(IPAddress.IPv6Loopback, port));
        using var mux = ConnectionMultiplexer.Connect(options);
        var db = mux.GetDatabase();
        Assert.Equal("over v6", (string?)db.StringGet("six"));
        db.StringSet("from-se", "v");
        Assert.Equal("v", One("::1", port, "GET", "from-se"));
        var clients = mux.GetServer(new IPEndPoint(IPAddress.IPv6Loopback, port)).ClientList();
        Assert.Contains(clients, c => c.Address is IPEndPoint { Address: var a } && a.Equals(IPAddress.IPv6Loopback));
    }

    /// <summary>The same steps against ours and redis-server, both bound to ::1 only; the texts, with the ports and
    /// timestamps replaced by names, must be equal.</summary>
    [Fact]
    public void ClientAddressesAreFormattedAsRedisServerFormatsThem()
    {
        int oursPort = FreePorts.Next(), redisPort = FreePorts.Next();
        using var ours = StartOurs(oursPort, "--bind", "::1");
        using var redis = RedisServerProcess.Start(redisPort, "--bind", "::1");
        var expected = Transcript(redisPort);
        var actual = Transcript(oursPort);
        Assert.Equal(expected, actual);
        Assert.Contains("addr=[::1]:A laddr=[::1]:S", actual[0], StringComparison.Ordinal);
    }

    private static List<string> Transcript(int port)
    {
        var lines = new List<string>();
        using var admin = new RawConnection("::1", port);
        using var a = new RawConnection("::1", port);
        using var m = new RawConnection("::1", port);
        string Names(string text) => Regex.Replace(text.Replace($":{a.LocalPort}", ":A", StringComparison.Ordinal).Replace($":{port}", ":S", StringComparison.Ordinal), @"^\d+\.\d+ ", "T ");
        string Addresses(string text) => Names(AddrFields().Match(text).Value);

        Assert.Equal("+OK", a.Command("CLIENT", "SETNAME", "a").ToString());
        lines.Add(Addresses(a.Command("CLIENT", "INFO").Text!));
        string list = admin.Command("CLIENT", "LIST").Text!;
        lines.Add(Addresses(list.Split('\n').Single(l => l.Contains(" name=a ", StringComparison.Ordinal))));

        Assert.Equal("+OK", m.Command("MONITOR").ToString());
        Assert.Equal("+PONG", a.Command("PING").ToString());
        lines.Add(Names(m.ReadReply().Text!));

        // ACL LOG's client-info
        Assert.Equal("+OK", admin.Command("ACL", "SETUSER", "bob", "on", ">pw", "-@all").ToString());
        Assert.Equal("+OK", a.Command("AUTH", "bob", "pw").ToString());
        lines.Add(a.Command("GET", "k").ToString());
        var entry = admin.Command("ACL", "LOG", "1").Items![0].Items!;
        int at = entry.Select(i => i.Text).ToList().IndexOf("client-info");
        lines.Add(Addresses(entry[at + 1].Text!));

        // CLIENT KILL by the old form, ADDR (bracketed as redis names the peer, and not) and LADDR
        lines.Add(admin.Command("CLIENT", "KILL", $"[::1]:{a.LocalPort}").ToString());
        lines.Add(admin.Command("CLIENT", "KILL", $"::1:{m.LocalPort}").ToString());
        using var c = new RawConnection("::1", port);
        Assert.Equal("+PONG", c.Command("PING").ToString());
        lines.Add(admin.Command("CLIENT", "KILL", "ADDR", $"::1:{c.LocalPort}").ToString());
        lines.Add(admin.Command("CLIENT", "KILL", "ADDR", $"[::1]:{c.LocalPort}").ToString());
        lines.Add(admin.Command("CLIENT", "KILL", "LADDR", $"[::1]:{port}", "SKIPME", "yes").ToString());
        lines.Add(admin.Command("CLIENT", "KILL", "LADDR", $"[::1]:{port}", "SKIPME", "yes").ToString());
        return lines;
    }

    [GeneratedRegex(@"addr=\S+ laddr=\S+")]
    private static partial Regex AddrFields();

    /// <summary>CONFIG SET bind adds and drops IPv6 listeners at runtime, with the same replies as redis-server.</summary>
    [Fact]
    public void ConfigSetBindAddsAndRemovesIpv6Listeners()
    {
        int oursPort = FreePorts.Next(), redisPort = FreePorts.Next();
        using var ours = StartOurs(oursPort, "--bind", "127.0.0.1");
        using var redis = RedisServerProcess.Start(redisPort, "--bind", "127.0.0.1");
        foreach (int port in new[] { redisPort, oursPort })
        {
            Assert.False(Accepts(IPAddress.IPv6Loopback, port));
            Assert.Equal("OK", One("127.0.0.1", port, "CONFIG", "SET", "bind", "127.0.0.1 ::1"));
            Assert.Equal("PONG", One("::1", port, "PING"));
            Assert.Equal("bind\n127.0.0.1 ::1", One("::1", port, "CONFIG", "GET", "bind"));
            Assert.Equal("OK", One("::1", port, "CONFIG", "SET", "bind", "-::* 127.0.0.1"));
            Assert.Equal("PONG", One("::1", port, "PING"));
            // ::* clashes with the ::1 listener until that one is closed; 10.255.255.1 cannot be had: the old ones return
            Assert.Equal("OK", One("::1", port, "CONFIG", "SET", "bind", "127.0.0.1 ::1"));
            Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.",
                One("::1", port, "CONFIG", "SET", "bind", "::* 10.255.255.1"));
            Assert.Equal("PONG", One("::1", port, "PING"));
            Assert.Equal("PONG", One("127.0.0.1", port, "PING"));
            Assert.Equal("bind\n127.0.0.1 ::1", One("::1", port, "CONFIG", "GET", "bind"));
            Assert.Equal("OK", One("::1", port, "CONFIG", "SET", "bind", "127.0.0.1"));
            Assert.False(Accepts(IPAddress.IPv6Loopback, port));
            Assert.Equal("PONG", One("127.0.0.1", port, "PING"));
        }
    }

    /// <summary>bind with IPv6 in a redis.conf, kept by CONFIG REWRITE.</summary>
    [Fact]
    public void Ipv6BindFromARedisConfIsKeptByConfigRewrite()
    {
        int port = FreePorts.Next();
        string dir = Directory.CreateTempSubdirectory("ipv6-conf-").FullName;
        try
        {
            string conf = System.IO.Path.Combine(dir, "redis.conf");
            File.WriteAllText(conf, $"port {port}\nbind -::1 127.0.0.1\nsave \"\"\ndir {dir}\n");
            using var ours = ServerProcess.Start([conf]);
            ours.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
            Assert.Equal("PONG", One("::1", port, "PING"));
            Assert.Equal("bind\n-::1 127.0.0.1", One("::1", port, "CONFIG", "GET", "bind"));
            Assert.Equal("OK", One("::1", port, "CONFIG", "REWRITE"));
            Assert.Contains("bind -::1 127.0.0.1", File.ReadAllLines(conf));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>With no bind at all, ours binds what redis-server 7.0 binds: "* -::*" (every IPv4 and IPv6 address).</summary>
    [Fact]
    public void TheDefaultBindIsRedisServers()
    {
        int oursPort = FreePorts.Next(), redisPort = FreePorts.Next();
        using var ours = StartOurs(oursPort);
        using var redis = RedisServerProcess.Start(redisPort);
        Assert.Equal(One("127.0.0.1", redisPort, "CONFIG", "GET", "bind"), One("127.0.0.1", oursPort, "CONFIG", "GET", "bind"));
        Assert.Equal("bind\n* -::*", One("::1", oursPort, "CONFIG", "GET", "bind"));
        Assert.Equal("PONG", One("::1", oursPort, "PING")); // ::1 is loopback: protected mode lets it in
    }

    [Fact]
    public void TlsOnIpv6LoopbackFollowsBind()
    {
        int port = FreePorts.Next();
        using var ours = StartOurs(0, "--tls-port", S(port), "--bind", "::1", "--tls-cert-file", certs.ServerCert, "--tls-key-file", certs.ServerKey,
            "--tls-ca-cert-file", certs.CaCert, "--tls-auth-clients", "no");
        ProcessResult Tls(string host, params string[] command) =>
            ExternalProcess.RunAsync(RedisCli.Path, new[] { "-h", host, "-p", S(port), "--tls", "--cacert", certs.CaCert }.Concat(command), RedisCli.Timeout).GetAwaiter().GetResult();
        Assert.Equal("PONG", Tls("::1", "PING").Stdout.Trim());
        Assert.Matches(@"^id=\d+ addr=\[::1\]:\d+ laddr=\[::1\]:" + port + " ", Tls("::1", "CLIENT", "INFO").Stdout.Trim());
        Assert.False(Accepts(IPAddress.Loopback, port));
        // CONFIG SET bind moves the TLS listeners too (redis's changeBindAddr), also when ::* replaces ::1 at the port
        Assert.Equal("OK", Tls("::1", "CONFIG", "SET", "bind", "-::* 127.0.0.1").Stdout.Trim());
        Assert.Equal("PONG", Tls("::1", "PING").Stdout.Trim());
        Assert.Equal("PONG", Tls("127.0.0.1", "PING").Stdout.Trim());
        Assert.Equal("OK", Tls("::1", "CONFIG", "SET", "bind", "127.0.0.1").Stdout.Trim());
        Assert.False(Accepts(IPAddress.IPv6Loopback, port));
        Assert.Equal("PONG", Tls("127.0.0.1", "PING").Stdout.Trim());
    }

    /// <summary>redis-server replicates from ours over ::1 and ours from redis-server; INFO replication's slave line
    /// and ROLE name the replica by its IPv6 address as redis-server does.</summary>
    [Fact]
    public void ReplicationBothWaysOverIpv6Loopback()
    {
        int oursPort = FreePorts.Next(), redisPort = FreePorts.Next();
        using var ours = StartOurs(oursPort, "--bind", "::1");
        using var redis = RedisServerProcess.Start(redisPort, "--bind", "::1");
        foreach (int port in new[] { oursPort, redisPort }) Assert.Equal("OK", One("::1", port, "CONFIG", "SET", "repl-diskless-sync-delay", "0"));

        // redis-server replica of ours
        Assert.Equal("OK", One("::1", redisPort, "REPLICAOF", "::1", S(oursPort)));
        string oursSlaveLine = WaitForLine(oursPort, "slave0:", "state=online");
        Assert.Equal("OK", One("::1", oursPort, "SET", "k1", "from-ours"));
        WaitFor(() => One("::1", redisPort, "GET", "k1") == "from-ours", "the key on redis-server");
        Assert.StartsWith("slave\n::1\n" + oursPort + "\nconnected\n", One("::1", redisPort, "ROLE"), StringComparison.Ordinal);
        string oursRole = One("::1", oursPort, "ROLE");

        // then the other way round: ours replica of redis-server
        Assert.Equal("OK", One("::1", redisPort, "REPLICAOF", "NO", "ONE"));
        Assert.Equal("OK", One("::1", oursPort, "REPLICAOF", "::1", S(redisPort)));
        string redisSlaveLine = WaitForLine(redisPort, "slave0:", "state=online");
        Assert.Equal("OK", One("::1", redisPort, "SET", "k2", "from-redis"));
        WaitFor(() => One("::1", oursPort, "GET", "k2") == "from-redis", "the key on ours");
        Assert.StartsWith("slave\n::1\n" + redisPort + "\nconnected\n", One("::1", oursPort, "ROLE"), StringComparison.Ordinal);
        Assert.Contains("master_host:::1\r\n", Cli("::1", oursPort, "INFO", "replication").Stdout, StringComparison.Ordinal);
        string redisRole = One("::1", redisPort, "ROLE");

        static string Neutral(string text, int replicaPort) =>
            Regex.Replace(text.Replace(S(replicaPort), "R", StringComparison.Ordinal), @"offset=\d+|lag=\d+|^\d+$", "N", RegexOptions.Multiline);
        Assert.Equal(Neutral(redisSlaveLine, oursPort), Neutral(oursSlaveLine, redisPort));
        Assert.Equal("slave0:ip=::1,port=R,state=online,N,N", Neutral(oursSlaveLine, redisPort));
        Assert.Equal(Neutral(redisRole, oursPort), Neutral(oursRole, redisPort));
        Assert.Contains("\n::1\nR\n", Neutral(oursRole, redisPort), StringComparison.Ordinal);
    }

    private static string WaitForLine(int port, string prefix, string containing)
    {
        string? found = null;
        WaitFor(() =>
        {
            found = Cli("::1", port, "INFO", "replication").Stdout.Split("\r\n").FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            return found?.Contains(containing, StringComparison.Ordinal) == true;
        }, $"{prefix} with {containing} on port {port}");
        return found!;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }
}

/// <summary>redis-server 7.0.15 in the foreground on a port, killed on dispose; ready once it answers PING.</summary>
internal sealed class RedisServerProcess : IDisposable
{
    private const string Path = "/usr/bin/redis-server";
    private readonly Process _process;

    private RedisServerProcess(Process process) => _process = process;

    public static RedisServerProcess Start(int port, params string[] extra)
    {
        if (!File.Exists(Path)) throw new FileNotFoundException("redis-server is missing: tests/run.sh installs it", Path);
        var info = new ProcessStartInfo(Path) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--daemonize", "no" }.Concat(extra))
            info.ArgumentList.Add(a);
        info.WorkingDirectory = System.IO.Path.GetTempPath();
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServerProcess(process);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(extra.Contains("::1") && !extra.Contains("127.0.0.1") ? IPAddress.IPv6Loopback : IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < until && !process.HasExited)
            {
                Thread.Sleep(50);
            }
        }
    }

    public void Dispose()
    {
        ProcessStop.Stop(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
    }
}
