using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// A server process (ours or redis-server 7.0) on a free port of 127.0.0.1, its output captured. Started means the
/// port accepts connections (and answers PING without -LOADING); a process that exits first fails the start with its
/// output. Dispose kills it (SIGKILL) if it still runs, so a failing test leaves nothing behind.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    public const string RedisServer = "/usr/bin/redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(string name, int port, Process process)
    {
        Name = name;
        Port = port;
        _process = process;
    }

    public string Name { get; }
    public int Port { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static string OurDll => Path.Combine(AppContext.BaseDirectory, "Demikernel.Server.dll");

    /// <summary>Our server: <c>dotnet Demikernel.Server.dll --port P --bind 127.0.0.1 --dir DIR ARGS</c>.</summary>
    public static ServerProcess StartOurs(string dir, params string[] args)
    {
        int port = FreePort();
        return Start("ours", "dotnet", OurArguments(port, dir, args), port);
    }

    /// <summary>Our server, returned as soon as its port accepts connections (it may still be loading its data).</summary>
    public static ServerProcess StartOursListening(string dir, params string[] args)
    {
        int port = FreePort();
        return Start("ours", "dotnet", OurArguments(port, dir, args), port, untilLoaded: false);
    }

    /// <summary>Our server on a given port (a restart where the old process listened).</summary>
    public static ServerProcess StartOursOnPort(int port, string dir, params string[] args) =>
        Start("ours", "dotnet", OurArguments(port, dir, args), port);

    public const string RedisSentinel = "/usr/bin/redis-sentinel";

    /// <summary>redis-sentinel 7.0 (Debian's redis-sentinel package) with its own configuration file, which it
    /// rewrites as it learns; the file must say the port.</summary>
    public static ServerProcess StartSentinel(string configFile, int port)
    {
        if (!File.Exists(RedisSentinel))
            Assert.Fail($"{RedisSentinel} is missing: install redis-sentinel 7.0 (tests/run.sh does, with apt-get)");
        return Start("redis-sentinel", RedisSentinel, [configFile], port);
    }

    /// <summary>A redis.conf path in <paramref name="args"/> goes first, as redis-server's command line wants it: an
    /// option takes every word up to the next <c>--</c>.</summary>
    public static string[] OurArguments(int port, string dir, string[] args)
    {
        string[] conf = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? [args[0]] : [];
        return [OurDll, .. conf, "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir, .. args[conf.Length..]];
    }

    /// <summary>redis-server 7.0 (never daemonized, no save points unless <paramref name="args"/> set them).</summary>
    public static ServerProcess StartRedis(string dir, params string[] args)
    {
        RequireTool(RedisServer);
        int port = FreePort();
        string[] all = ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no", .. args];
        if (!args.Contains("--save")) all = [.. all, "--save", ""];
        return Start("redis-server", RedisServer, all, port);
    }

    public static void RequireTool(string path)
    {
        if (!File.Exists(path))
            Assert.Fail($"{path} is missing: install redis-server 7.0 and redis-tools (tests/run.sh does, with apt-get)");
    }

    /// <summary>Runs our server expecting it to refuse to start: its exit code and output (fails if it listens).</summary>
    public static (int ExitCode, string Output) RunExpectingRefusal(string dir, params string[] args)
    {
        int port = FreePort();
        var info = Info("dotnet", OurArguments(port, dir, args));
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool listened = false;
        var deadline = DateTime.UtcNow + StartTimeout;
        // The server listens before it loads (connections wait in the backlog), so only an answer to PING shows
        // that it started serving.
        while (!process.WaitForExit(100))
        {
            if (Answers(port)) listened = true;
            if (listened || DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                lock (output)
                    Assert.Fail(listened
                        ? $"the server started (port {port} answered PING) although it should have refused:\n{output}"
                        : $"the server neither started nor exited within {StartTimeout.TotalSeconds:F0} s:\n{output}");
            }
        }
        process.WaitForExit(); // drains the output readers
        lock (output) return (process.ExitCode, output.ToString());
    }

    /// <summary>
    /// Through <c>env --ignore-signal=INT</c> (same pid, it execs): every server starts as one a non-interactive shell
    /// puts in the background, with SIGINT ignored, which redis-server and ours must still handle (the .NET runtime
    /// alone would not, see Interop/Posix.RestoreDefaultSigint), so the SIGINT tests cover that case.
    /// </summary>
    private static ProcessStartInfo Info(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("/usr/bin/env")
        {
            ArgumentList = { "--ignore-signal=INT", file },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        return info;
    }

    private static ServerProcess Start(string name, string file, string[] args, int port, bool untilLoaded = true)
    {
        var process = Process.Start(Info(file, args)) ?? throw new InvalidOperationException($"could not start {file}");
        var server = new ServerProcess(name, port, process);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + StartTimeout;
        try
        {
            while (true)
            {
                if (process.HasExited)
                {
                    process.WaitForExit();
                    throw new InvalidOperationException($"{name} exited with code {process.ExitCode} before listening on {port}:\n{server.Output}");
                }
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name} did not listen on {port} within {StartTimeout.TotalSeconds:F0} s:\n{server.Output}");
                if (CanConnect(port) && (!untilLoaded || server.Ready())) return server;
                Thread.Sleep(30);
            }
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Answers PING (redis-server answers -LOADING while it reads its files). With a password the answer is
    /// -NOAUTH, loaded or not: such a server counts as started once it answers.</summary>
    private bool Ready()
    {
        try
        {
            using var c = new RespClient(Port, TimeSpan.FromSeconds(30));
            var r = c.Call("PING");
            return !r.IsError || r.Text!.StartsWith("NOAUTH", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return false;
        }
    }

    /// <summary>True when something on the port answers PING within a short time.</summary>
    private static bool Answers(int port)
    {
        try
        {
            using var c = new RespClient(port, TimeSpan.FromMilliseconds(300));
            return c.Call("PING").Text == "PONG";
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException)
        {
            return false;
        }
    }

    private static bool CanConnect(int port)
    {
        using var probe = new TcpClient();
        try
        {
            probe.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public RespClient Connect(TimeSpan? readTimeout = null) => new(Port, readTimeout);

    /// <summary>CPU time (user + system) the process has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>SIGKILL, as kill -9: no chance to flush or save anything.</summary>
    public void Kill9()
    {
        if (!_process.HasExited) _process.Kill(); // SIGKILL on Linux
        _process.WaitForExit();
    }

    /// <summary>Sends a signal by name (TERM, INT) with /bin/kill.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("/bin/kill") { ArgumentList = { "-s", name, Pid.ToString(CultureInfo.InvariantCulture) } })
            ?? throw new InvalidOperationException("could not run /bin/kill");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to exit by itself; its exit code (fails after the time limit).</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) Assert.Fail($"{Name} did not exit within {timeout.TotalSeconds:F0} s:\n{Output}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        ProcessStop.Stop(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
    }
}

/// <summary>A fresh directory under /tmp, deleted (recursively) on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string tag)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dtests-{tag}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <summary>The names of the files and directories in <paramref name="dir"/>, sorted.</summary>
    public static string[] Names(string dir) =>
        Directory.GetFileSystemEntries(dir).Select(e => System.IO.Path.GetFileName(e)).Order(StringComparer.Ordinal).ToArray();

    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, System.IO.Path.Combine(to, System.IO.Path.GetFileName(f)), overwrite: true);
        foreach (var d in Directory.GetDirectories(from)) Copy(d, System.IO.Path.Combine(to, System.IO.Path.GetFileName(d)));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>redis-check-rdb, redis-check-aof and other one-shot programs, with a time limit.</summary>
public static class Tool
{
    public static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        ServerProcess.RequireTool(file);
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within 60 s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
