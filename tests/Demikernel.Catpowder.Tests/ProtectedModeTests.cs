using System.Diagnostics;

namespace Demikernel.Catpowder.Tests;

/// <summary>
/// Protected mode and multi-address bind on catnap, with the real server process: it runs in one network namespace
/// with the kernel's address 10.77.0.2 on the veth (bound as <c>--bind "10.77.0.2 127.0.0.1 -10.77.0.99 -::1"</c>);
/// a client in the other namespace gets redis-server 7.0.15's DENIED reply (compared with a redis-server started the
/// same way next to it), until a password is set from the loopback address; then it authenticates and works.
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed class ProtectedModeTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "Demikernel.Server.dll");

    [Fact]
    public void ARemoteClientIsDeniedWithoutAPasswordAndServedWithOne()
    {
        using var pair = new VethPair();
        // catnap uses the kernel's TCP/IP: the address belongs to the kernel on our side this time
        Tool.Check(Short, "ip", "-n", pair.Ours, "addr", "add", $"{VethPair.OurAddress}/24", "dev", pair.Ours);
        Process? ours = null, redis = null;
        try
        {
            ours = VethPair.Start(pair.Ours, "dotnet", Dll, "--port", "6390", "--save", "",
                "--bind", $"{VethPair.OurAddress} 127.0.0.1 -10.77.0.99 -::1");
            Assert.True(File.Exists("/usr/bin/redis-server"), "redis-server is missing: tests/run.sh installs it");
            redis = VethPair.Start(pair.Ours, "redis-server", "--port", "6391", "--bind", VethPair.OurAddress, "--save", "", "--daemonize", "no");
            WaitUntilAnswered(() => Tool.InNamespace(pair.Ours, Short, "redis-cli", "-h", "127.0.0.1", "-p", "6390", "PING"));
            // redis-server listens on the veth address only: asked from the other side, it answers (DENIED)
            WaitUntilAnswered(() => pair.Linux(Short, "redis-cli", "-h", VethPair.OurAddress, "-p", "6391", "PING"));

            string Remote(int port, params string[] command) =>
                pair.Linux(Short, "redis-cli", ["-h", VethPair.OurAddress, "-p", port.ToString(), .. command]).Output.Trim();

            string denied = Remote(6390, "PING");
            Assert.StartsWith("DENIED Redis is running in protected mode", denied, StringComparison.Ordinal);
            Assert.Equal(Remote(6391, "PING"), denied);

            // the loopback address is not protected (and is bound too); the optional unavailable addresses were skipped
            Assert.Equal("PONG", Tool.InNamespace(pair.Ours, Short, "redis-cli", "-h", "127.0.0.1", "-p", "6390", "PING").Stdout.Trim());
            Assert.Equal("OK", Tool.InNamespace(pair.Ours, Short, "redis-cli", "-h", "127.0.0.1", "-p", "6390", "CONFIG", "SET", "requirepass", "s3cret").Stdout.Trim());

            Assert.StartsWith("NOAUTH", Remote(6390, "GET", "k"), StringComparison.Ordinal);
            Assert.Equal("OK", Remote(6390, "--no-auth-warning", "-a", "s3cret", "SET", "k", "v"));
            Assert.Equal("v", Remote(6390, "--no-auth-warning", "-a", "s3cret", "GET", "k"));

            // protected-mode no: served without a password
            Assert.Equal("OK", Remote(6390, "--no-auth-warning", "-a", "s3cret", "CONFIG", "SET", "requirepass", "", "protected-mode", "no"));
            Assert.Equal("v", Remote(6390, "GET", "k"));
        }
        finally
        {
            if (ours is not null) Tool.Kill(ours);
            if (redis is not null) Tool.Kill(redis);
        }
    }

    /// <summary>
    /// The same over IPv6: the server bound to fd00::2 on the veth (and ::1, and an optional fd00::99 that does not
    /// exist); a client from fd00::1 in the other namespace gets redis-server 7.0.15's DENIED text byte for byte, a
    /// client on ::1 is served (redis exempts 127.0.0.1 and ::1), and with a password the remote client works and is
    /// named as redis names it ([fd00::1]:port).
    /// </summary>
    [Fact]
    public void ARemoteIpv6ClientIsDeniedAsRedisServerDeniesIt()
    {
        using var pair = new VethPair();
        // VethPair keeps IPv6 off on our side for the raw-socket tests; here the kernel's IPv6 is what is tested
        Tool.Check(Short, "ip", "netns", "exec", pair.Ours, "sh", "-c", $"echo 0 > /proc/sys/net/ipv6/conf/{pair.Ours}/disable_ipv6");
        Tool.Check(Short, "ip", "-n", pair.Ours, "-6", "addr", "add", "fd00::2/64", "dev", pair.Ours, "nodad");
        Tool.Check(Short, "ip", "-n", pair.Theirs, "-6", "addr", "add", "fd00::1/64", "dev", pair.Theirs, "nodad");
        Process? ours = null, redis = null;
        try
        {
            ours = VethPair.Start(pair.Ours, "dotnet", Dll, "--port", "6392", "--save", "", "--bind", "fd00::2 ::1 -fd00::99");
            Assert.True(File.Exists("/usr/bin/redis-server"), "redis-server is missing: tests/run.sh installs it");
            redis = VethPair.Start(pair.Ours, "redis-server", "--port", "6393", "--bind", "fd00::2", "--save", "", "--daemonize", "no");
            WaitUntilAnswered(() => Tool.InNamespace(pair.Ours, Short, "redis-cli", "-h", "::1", "-p", "6392", "PING"));
            WaitUntilAnswered(() => pair.Linux(Short, "redis-cli", "-h", "fd00::2", "-p", "6393", "PING"));

            string Remote(int port, params string[] command) =>
                pair.Linux(Short, "redis-cli", ["-h", "fd00::2", "-p", port.ToString(), .. command]).Output.Trim();

            string denied = Remote(6392, "PING");
            Assert.StartsWith("DENIED Redis is running in protected mode", denied, StringComparison.Ordinal);
            Assert.Equal(Remote(6393, "PING"), denied);
            // byte for byte, off the wire
            Assert.Equal(RawReply(pair, 6393), RawReply(pair, 6392));

            Assert.Equal("PONG", Tool.InNamespace(pair.Ours, Short, "redis-cli", "-h", "::1", "-p", "6392", "PING").Stdout.Trim());
            Assert.Equal("OK", Tool.InNamespace(pair.Ours, Short, "redis-cli", "-h", "::1", "-p", "6392", "CONFIG", "SET", "requirepass", "s3cret").Stdout.Trim());
            Assert.StartsWith("NOAUTH", Remote(6392, "GET", "k"), StringComparison.Ordinal);
            Assert.Equal("OK", Remote(6392, "--no-auth-warning", "-a", "s3cret", "SET", "k", "v"));
            Assert.Matches(@"^id=\d+ addr=\[fd00::1\]:\d+ laddr=\[fd00::2\]:6392 ", Remote(6392, "--no-auth-warning", "-a", "s3cret", "CLIENT", "INFO"));
        }
        finally
        {
            if (ours is not null) Tool.Kill(ours);
            if (redis is not null) Tool.Kill(redis);
        }
    }

    /// <summary>What a fresh connection from the other namespace reads until the server closes it (python3's socket). It
    /// sends nothing: both servers write DENIED at accept, and a request still unread at their close would make the
    /// kernel answer with a reset that can discard the reply.</summary>
    private static string RawReply(VethPair pair, int port)
    {
        const string script = """
            import socket, sys
            s = socket.create_connection(("fd00::2", int(sys.argv[1])), timeout=10)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            sys.stdout.write(data.hex())
            """;
        var r = pair.Linux(Short, "python3", "-c", script, port.ToString());
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    private static void WaitUntilAnswered(Func<ToolResult> ask)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var r = ask();
            if (r.Output.Trim().Length > 0 && !r.Output.Contains("Connection refused", StringComparison.Ordinal)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no answer within 30 s:\n{r}");
            Thread.Sleep(100);
        }
    }
}
