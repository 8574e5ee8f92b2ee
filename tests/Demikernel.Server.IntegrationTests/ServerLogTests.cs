using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// The server process's own log, as redis-server 7.0 writes it: start-up lines, loglevel and logfile from the command
/// line and from the YAML config, CONFIG SET loglevel on the running process, and the open-files warning.
/// Runs <c>dotnet Demikernel.Server.dll</c> (built next to the tests) as a child process.
/// </summary>
public sealed partial class ServerLogTests
{
    [GeneratedRegex(@"^(?<pid>\d+):(?<role>[MC]) \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}\.\d{3} (?<level>[.\-*#]) (?<message>.*)$")]
    private static partial Regex RedisLine();

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static (char Role, char Level, string Message) Parse(ServerProcess server, string line)
    {
        var m = RedisLine().Match(line);
        Assert.True(m.Success, $"not a redis-server log line: '{line}'");
        Assert.Equal(server.Pid, int.Parse(m.Groups["pid"].Value, CultureInfo.InvariantCulture));
        return (m.Groups["role"].Value[0], m.Groups["level"].Value[0], m.Groups["message"].Value);
    }

    private static bool IsOpenFilesLine(string message) =>
        message.StartsWith("You requested maxclients", StringComparison.Ordinal) || message.StartsWith("Server can't set maximum open files", StringComparison.Ordinal)
        || message.StartsWith("Current maximum open files", StringComparison.Ordinal) || message.StartsWith("Increased maximum number of open files", StringComparison.Ordinal);

    [Fact]
    public void StartUpIsLoggedAsRedisServerLogsIt()
    {
        using var server = ServerProcess.Start(["--port", "0"]);
        var lines = server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
        var parsed = lines.Select(l => Parse(server, l)).Where(p => !IsOpenFilesLine(p.Message)).ToArray();
        int port = server.PortFromLog(lines);
        Assert.Equal(
        [
            ('C', '#', "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
            ('C', '#', $"Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid={server.Pid}, just started"),
            ('C', '#', "Configuration loaded"),
            ('M', '*', $"Running mode=standalone, port={port}."),
            ('M', '#', "Server initialized"),
            ('M', '*', $"Demikernel.Server 7.0.15-compatible on catnap, listening on 0.0.0.0:{port}, 16 databases"), // the first of "* -::*"
            ('M', '*', "Ready to accept connections"),
        ], parsed);
        // notice: a client's "Accepted" (verbose) is not written
        using (var probe = new TcpClient()) probe.Connect(IPAddress.Loopback, port);
        Assert.Equal("PONG", server.Cli(port, "PING"));
        Assert.DoesNotContain(server.StdoutSoFar(), l => l.Contains("Accepted", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutAnyArgumentTheServerWarnsThatNoConfigFileWasGiven()
    {
        // The port comes from the environment (DEMIKERNEL_PORT overrides the server's key), so the command line stays
        // empty; an unprefixed PORT changes nothing, and an unknown prefixed name is reported.
        using var server = ServerProcess.Start([], new Dictionary<string, string>
        {
            ["DEMIKERNEL_PORT"] = "0",
            ["PORT"] = "1",
            ["DEMIKERNEL_NO_SUCH_SETTING"] = "x",
        });
        var lines = server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
        var messages = lines.Select(l => Parse(server, l)).ToArray();
        Assert.Equal(('C', '#', "Warning: no config file specified, using the default config. In order to specify a config file use Demikernel.Server --config /path/to/config.yaml"), messages[2]);
        Assert.DoesNotContain(messages, m => m.Message == "Configuration loaded");
        Assert.Contains(messages, m => m.Message == "Environment variable DEMIKERNEL_NO_SUCH_SETTING is not a setting of this server; it is ignored");
    }

    [Fact]
    public void LoglevelAndLogfileFromTheYamlConfigAndLoglevelChangedLive()
    {
        string dir = Directory.CreateTempSubdirectory("redis-log-test").FullName;
        string logfile = Path.Combine(dir, "server.log");
        string yaml = Path.Combine(dir, "server.yaml");
        int port = FreePorts.Next();
        File.WriteAllText(logfile, "a line from an earlier run\n");
        File.WriteAllText(yaml, $"server:\n  port: {port}\n  loglevel: warning\n  logfile: {logfile}\n");
        try
        {
            using var server = ServerProcess.Start(["--config", yaml]);
            var lines = server.FileUntil(logfile, l => l.EndsWith("# Server initialized", StringComparison.Ordinal));
            Assert.Equal("a line from an earlier run", lines[0]);
            Assert.Equal("PONG", server.Cli(port, "PING"));
            Assert.Equal("warning", server.Cli(port, "CONFIG", "GET", "loglevel").Split('\n')[1]);
            Assert.Equal(logfile, server.Cli(port, "CONFIG", "GET", "logfile").Split('\n')[1]);
            Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'logfile') - can't set immutable config",
                server.Cli(port, "CONFIG", "SET", "logfile", Path.Combine(dir, "other.log")));
            Assert.DoesNotContain(File.ReadAllLines(logfile), l => l.Contains("Ready to accept connections", StringComparison.Ordinal) || l.Contains("Accepted", StringComparison.Ordinal));
            Assert.Equal("OK", server.Cli(port, "CONFIG", "SET", "loglevel", "verbose"));
            Assert.Equal("PONG", server.Cli(port, "PING")); // a new connection: "Accepted" at verbose
            var after = server.FileUntil(logfile, l => l.Contains(" - Accepted 127.0.0.1:", StringComparison.Ordinal));
            Assert.All(after.Skip(1), l => Parse(server, l));
            Assert.Empty(server.StdoutSoFar()); // everything went to the file
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CommandLineOptionsOverrideTheConfigAndABadLoglevelIsRefused()
    {
        var bad = ServerProcess.RunToExit(["--port", "0", "--loglevel", "loud"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--loglevel 'loud': argument(s) must be one of the following: debug, verbose, notice, warning", bad.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, ServerProcess.RunToExit(["--port", "0", "--loglevel", "nothing"]).ExitCode); // 7.2's level; 7.0.15 refuses it

        using var server = ServerProcess.Start(["--port", "0", "--loglevel", "warning"]);
        var lines = server.StdoutUntil(l => l.EndsWith("# Server initialized", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Equal('#', Parse(server, l).Level));
    }

    [Fact]
    public void TooFewFileDescriptorsForMaxclientsAreLoggedAsRedisServerLogsThem()
    {
        ulong? hard = HardOpenFilesLimit();
        if (hard is not { } limit || limit > 1_000_000) return; // no low hard limit to run into on this machine
        int maxclients = (int)limit + 1000;
        ulong needed = (ulong)maxclients + 32;
        using var server = ServerProcess.Start(["--port", "0", "--maxclients", maxclients.ToString(CultureInfo.InvariantCulture)]);
        var lines = server.StdoutUntil(l => l.EndsWith("Ready to accept connections", StringComparison.Ordinal));
        var messages = lines.Select(l => Parse(server, l)).Where(p => IsOpenFilesLine(p.Message)).ToArray();
        int port = server.PortFromLog(lines);
        if (messages.Length == 1)
        {
            // Privileged (CAP_SYS_RESOURCE): the limit could be raised, as redis-server would.
            Assert.Equal(('M', '*', $"Increased maximum number of open files to {needed} (it was originally set to {limit})."), messages[0]);
            Assert.Equal(maxclients.ToString(CultureInfo.InvariantCulture), server.Cli(port, "CONFIG", "GET", "maxclients").Split('\n')[1]);
            return;
        }
        Assert.Equal(
        [
            ('M', '#', $"You requested maxclients of {maxclients} requiring at least {needed} max file descriptors."),
            ('M', '#', $"Server can't set maximum open files to {needed} because of OS error: Operation not permitted."),
            ('M', '#', $"Current maximum open files is {limit}. maxclients has been reduced to {limit - 32} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."),
        ], messages);
        Assert.Equal((limit - 32).ToString(CultureInfo.InvariantCulture), server.Cli(port, "CONFIG", "GET", "maxclients").Split('\n')[1]);
    }

    [Fact]
    public void APortInUseIsLoggedAsRedisServerLogsIt()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var run = ServerProcess.RunToExit(["--port", port.ToString(CultureInfo.InvariantCulture)]);
            Assert.Equal(1, run.ExitCode);
            var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(lines, l => Assert.Matches(RedisLine(), l));
            Assert.EndsWith($" # Warning: Could not create server TCP listening socket *:{port}: bind: Address already in use", lines[^2]);
            Assert.EndsWith($" # Failed listening on port {port} (TCP), aborting.", lines[^1]);
        }
        finally
        {
            taken.Stop();
        }
    }

    private static ulong? HardOpenFilesLimit()
    {
        if (!File.Exists("/proc/self/limits")) return null;
        var line = File.ReadAllLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: >= 5 } && ulong.TryParse(fields[4], CultureInfo.InvariantCulture, out ulong hard) ? hard : null;
    }
}

/// <summary><c>dotnet Demikernel.Server.dll ...</c> as a child process; its standard output collected line by line; killed on dispose.</summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _stdout = [];
    private readonly List<string> _seen = [];
    private readonly System.Text.StringBuilder _stderr = new();

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "Demikernel.Server.dll");

    /// <summary>One empty directory for every server process of this test run, removed when the run ends.</summary>
    private static readonly string WorkDir = CreateWorkDir();

    private static string CreateWorkDir()
    {
        string dir = Directory.CreateTempSubdirectory("server-log-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return dir;
    }

    private static ProcessStartInfo Info(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Its own empty directory: the server loads and saves dump.rdb in its working directory, as redis-server does.
            WorkingDirectory = WorkDir,
        };
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return info;
    }

    public static ServerProcess Start(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var process = Process.Start(Info(args, environment)) ?? throw new InvalidOperationException("could not start the server");
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) server._stdout.CompleteAdding();
            else server._stdout.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (server._stderr) server._stderr.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    public static ProcessResult RunToExit(string[] args) =>
        ExternalProcess.RunAsync("/usr/bin/env", new[] { "dotnet", Dll }.Concat(args), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();

    /// <summary>Standard output lines up to and including the first that <paramref name="last"/> accepts.</summary>
    public IReadOnlyList<string> StdoutUntil(Func<string, bool> last)
    {
        var lines = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_stdout.TryTake(out var line, left))
                throw new TimeoutException($"the server did not print the line expected; so far:\n{string.Join('\n', lines)}\nstderr:\n{Stderr}");
            lines.Add(line);
            _seen.Add(line);
            if (last(line)) return lines;
        }
    }

    /// <summary>What else the server printed (waits a little for stragglers).</summary>
    public IReadOnlyList<string> StdoutSoFar()
    {
        var more = new List<string>();
        while (_stdout.TryTake(out var line, TimeSpan.FromMilliseconds(300))) more.Add(line);
        return more;
    }

    /// <summary>The lines of <paramref name="path"/> once one of them satisfies <paramref name="wanted"/>.</summary>
    public string[] FileUntil(string path, Func<string, bool> wanted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var lines = File.Exists(path) ? File.ReadAllLines(path) : [];
            if (lines.Any(wanted)) return lines;
            if (DateTime.UtcNow > deadline || _process.HasExited)
                throw new TimeoutException($"{path} did not get the line expected; it has:\n{string.Join('\n', lines)}\nstderr:\n{Stderr}");
            Thread.Sleep(20);
        }
    }

    [GeneratedRegex(@"listening on (\[[0-9a-f:]+\]|[0-9.]+):(?<port>\d+),")]
    private static partial Regex ListeningOn();

    public int PortFromLog(IEnumerable<string> lines) =>
        lines.Select(l => ListeningOn().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture)).First();

    /// <summary>redis-cli's raw output for one command, trimmed.</summary>
    public string Cli(int port, params string[] command)
    {
        var result = ExternalProcess.RunAsync(RedisCli.Path, new[] { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) }.Concat(command), RedisCli.Timeout)
            .GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim();
    }

    private string Stderr
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    public void Dispose()
    {
        ProcessStop.Stop(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
        _stdout.Dispose();
    }
}
