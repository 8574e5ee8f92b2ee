using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// Users from the server process's configuration: `user` lines of a redis.conf (bad ones stop the start with
/// redis-server 7.0.15's message, compared with the real one), and an aclfile read at start, by ACL LOAD (errors as
/// redis-server words them for the same file) and written by ACL SAVE.
/// </summary>
public sealed class AclFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("acl-file-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    public static TheoryData<string> BadUserLines => new()
    {
        "user alice on ~* ~foo\n",
        "user alice on #xyz\n",
        "user alice on\nuser alice off\n",
        "user alice on &* &x\n",
        "user alice on %Q~x\n",
    };

    [Theory]
    [MemberData(nameof(BadUserLines))]
    public void BadUserLinesStopTheStartWithRedisServersMessage(string text)
    {
        string conf = Write("bad.conf", text);
        var ours = ServerProcess.RunToExit([conf]);
        var redis = ExternalProcess.RunAsync("/usr/bin/redis-server", [conf], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        Assert.Equal(1, redis.ExitCode);
        Assert.Equal(1, ours.ExitCode);
        Assert.Contains("Error in user declaration", redis.Stderr, StringComparison.Ordinal);
        Assert.Equal(redis.Stderr.Trim(), ours.Stderr.Trim());
    }

    [Fact]
    public void UserLinesOfRedisConfAreLoadedAtStart()
    {
        string conf = Write("users.conf", "port 0\nuser alice on >alice-pw ~app:* +@all -@dangerous\nuser default on nopass ~* &* +@all -flushall\n");
        using var server = ServerProcess.Start([conf]);
        int port = server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        Assert.Equal("alice", server.Cli(port, "--user", "alice", "--pass", "alice-pw", "--no-auth-warning", "ACL", "WHOAMI"));
        Assert.Equal("NOPERM this user has no permissions to run the 'flushall' command", server.Cli(port, "FLUSHALL"));
        string list = server.Cli(port, "ACL", "LIST");
        Assert.StartsWith("user alice on #", list, StringComparison.Ordinal);
        // a "default" line resets the default user first, as redis-server (which shows sanitize-payload then)
        Assert.EndsWith("\nuser default on nopass sanitize-payload ~* &* +@all -flushall", list, StringComparison.Ordinal);

        // CONFIG REWRITE writes every user in place of the user lines; the rewritten file starts with them again
        Assert.Equal("OK", server.Cli(port, "ACL", "SETUSER", "bob", "on", "nopass", "+ping"));
        Assert.Equal("OK", server.Cli(port, "CONFIG", "REWRITE"));
        var lines = File.ReadAllLines(conf);
        Assert.Equal(3, lines.Count(l => l.StartsWith("user ", StringComparison.Ordinal)));
        Assert.Contains("user bob on nopass resetchannels -@all +ping", lines);
        server.Dispose();
        using var again = ServerProcess.Start([conf]);
        port = again.PortFromLog(again.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        Assert.Equal(list.Split('\n')[0] + "\nuser bob on nopass resetchannels -@all +ping\n" + list.Split('\n')[1], again.Cli(port, "ACL", "LIST"));
    }

    [Fact]
    public void UserLinesAndAnAclFileTogetherAreRefused()
    {
        string conf = Write("both.conf", $"port 0\nuser alice on\naclfile {Path.Combine(_dir, "users.acl")}\n");
        var ours = ServerProcess.RunToExit([conf]);
        Assert.Equal(1, ours.ExitCode);
        Assert.Contains("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid.", ours.Stdout + ours.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AclFileLoadSaveAndErrorsAsRedisServer()
    {
        string acl = Write("users.acl", "user default on nopass ~* &* +@all\nuser bob on >bob-pw ~b* resetchannels -@all +get\n");
        using var server = ServerProcess.Start([Write("acl.conf", $"port 0\naclfile {acl}\n")]);
        int port = server.PortFromLog(server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal)));
        Assert.Equal("bob\ndefault", server.Cli(port, "ACL", "USERS"));
        Assert.Equal("OK", server.Cli(port, "ACL", "SETUSER", "carol", "on", "nopass", "+ping"));
        Assert.Equal("OK", server.Cli(port, "ACL", "SAVE"));
        var saved = File.ReadAllLines(acl);
        Assert.Equal(3, saved.Length);
        Assert.Equal("user carol on nopass resetchannels -@all +ping", saved[1]);
        Assert.StartsWith("user bob on #", saved[0], StringComparison.Ordinal);

        // a file with mistakes: nothing changes, every mistake is reported as redis-server reports it
        File.WriteAllText(acl, "user default on nopass ~* &* +@all\nuser dave on +nosuch\nnot a user line\nuser eve ~* ~x\nuser dave on\n");
        string ours = server.Cli(port, "ACL", "LOAD");
        string redis = RedisServerAclLoad(acl);
        Assert.StartsWith($"ERR {acl}:2: Error in applying operation '+nosuch'", redis, StringComparison.Ordinal);
        Assert.Equal(redis, ours);
        Assert.Equal("bob\ncarol\ndefault", server.Cli(port, "ACL", "USERS"));

        // a successful load drops every user of before: their connections are closed (the default user's stay)
        using var asBob = new TcpClient("127.0.0.1", port) { ReceiveTimeout = 5000 };
        using var asDefault = new TcpClient("127.0.0.1", port) { ReceiveTimeout = 5000 };
        Assert.Equal("+OK\r\n", Exchange(asBob, "AUTH bob bob-pw\r\n"));
        Assert.Equal("+PONG\r\n", Exchange(asDefault, "PING\r\n"));
        File.WriteAllText(acl, "user default on nopass ~* &* +@all\nuser dave on nopass +@all ~*\n");
        Assert.Equal("OK", server.Cli(port, "ACL", "LOAD"));
        Assert.Equal("dave\ndefault", server.Cli(port, "ACL", "USERS"));
        Assert.ThrowsAny<IOException>(() =>
        {
            if (Exchange(asBob, "PING\r\n").Length == 0) throw new EndOfStreamException();
        });
        Assert.Equal("+PONG\r\n", Exchange(asDefault, "PING\r\n"));
    }

    /// <summary>Sends inline commands and returns what one read gets ("" at EOF).</summary>
    private static string Exchange(TcpClient client, string request)
    {
        var stream = client.GetStream();
        stream.Write(System.Text.Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        int n = stream.Read(buffer);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, n);
    }

    /// <summary>ACL LOAD's answer from redis-server 7.0.15 for <paramref name="aclFile"/> (started with an empty one).</summary>
    private string RedisServerAclLoad(string aclFile)
    {
        string empty = Write("empty.acl", "");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var info = new ProcessStartInfo("/usr/bin/redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--aclfile", empty })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                var ping = ExternalProcess.RunAsync(RedisCli.Path, ["-p", port.ToString(CultureInfo.InvariantCulture), "PING"], RedisCli.Timeout).GetAwaiter().GetResult();
                if (ping.Stdout.Trim() == "PONG") break;
                Assert.True(DateTime.UtcNow < deadline, "redis-server did not start");
                Thread.Sleep(50);
            }
            // the same file, read through its own aclfile setting: copy it over the empty one
            File.Copy(aclFile, empty, overwrite: true);
            var load = ExternalProcess.RunAsync(RedisCli.Path, ["-p", port.ToString(CultureInfo.InvariantCulture), "ACL", "LOAD"], RedisCli.Timeout).GetAwaiter().GetResult();
            return load.Stdout.Trim().Replace(empty, aclFile, StringComparison.Ordinal);
        }
        finally
        {
            ProcessStop.Stop(process, TimeSpan.FromSeconds(5));
        }
    }
}
