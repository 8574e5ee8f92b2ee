using System.Diagnostics;
using System.Globalization;

namespace Demikernel.Compare;

/// <summary>One server under test, started as its own process pinned to one core with taskset.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(string name, int port, Process process)
    {
        Name = name;
        Port = port;
        _process = process;
    }

    public string Name { get; }
    public int Port { get; }
    public int Pid => _process.Id;

    /// <summary>Starts <paramref name="name"/> (ours, redis, garnet) on <paramref name="port"/>, pinned to <paramref name="core"/>,
    /// output in <paramref name="log"/>, and waits until it answers PING.</summary>
    public static ServerProcess Start(string name, int port, string core, Paths paths, string log, string[] env)
    {
        string command = name switch
        {
            "ours" => $"dotnet {Q(paths.OursDll)} --port {port} --save '' --appendonly no",
            "redis" => $"{Q(paths.RedisServer)} --port {port} --save '' --appendonly no --daemonize no",
            // Garnet's defaults otherwise (16 GB main-log budget, 128 MB start index, objects on): no AOF, no checkpoints.
            "garnet" => $"{Q(paths.Garnet)} --port {port} --bind 127.0.0.1",
            _ => throw new ArgumentException($"unknown server {name}"),
        };
        // exec keeps one pid through bash and taskset: the pid we hold is the server's.
        var psi = new ProcessStartInfo("bash", ["-c", $"cd {Q(Path.GetTempPath())} && exec taskset -c {core} {command} >{Q(log)} 2>&1"])
        { UseShellExecute = false };
        foreach (var e in env)
        {
            int eq = e.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"--ours-env wants NAME=VALUE, not {e}");
            psi.Environment[e[..eq]] = e[(eq + 1)..];
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {name}");
        var server = new ServerProcess(name, port, process);
        for (int i = 0; i < 300; i++)
        {
            if (process.HasExited) throw new InvalidOperationException($"{name} exited at start; see {log}");
            if (Tools.RedisCli(port, "PING").Trim() == "PONG") return server;
            Thread.Sleep(100);
        }
        throw new InvalidOperationException($"{name} did not answer PING; see {log}");
    }

    private static string Q(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>utime + stime of every thread of the process, in seconds (/proc/PID/stat).</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / (double)Tools.ClockTicks;
    }

    /// <summary>Resident set size in bytes (VmRSS of /proc/PID/status).</summary>
    public long RssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }

    /// <summary>A numeric INFO field, or null when the server does not report it (Garnet has no used_memory).</summary>
    public long? InfoField(string section, string field)
    {
        foreach (var line in Tools.RedisCli(Port, "INFO", section).Split('\n'))
        {
            var t = line.Trim();
            if (t.StartsWith(field + ":", StringComparison.Ordinal) &&
                long.TryParse(t[(field.Length + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)) return v;
        }
        return null;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}

internal sealed record Paths(string OursDll, string RedisServer, string Garnet, string RedisBenchmark, string RedisCli);

internal static class Tools
{
    public static Paths Paths { get; set; } = new("", "redis-server", "garnet-server", "redis-benchmark", "redis-cli");

    public static int ClockTicks { get; } = int.Parse(Run("getconf", ["CLK_TCK"]).Trim(), CultureInfo.InvariantCulture);

    public static string RedisCli(int port, params string[] args) =>
        Run(Paths.RedisCli, ["-p", port.ToString(CultureInfo.InvariantCulture), .. args], allowFailure: true);

    public static string Run(string file, string[] args, bool allowFailure = false)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !allowFailure) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {stderr.Result}");
        return output;
    }

    /// <summary>Feeds RESP requests to redis-cli --pipe; fails unless every reply came back without an error.</summary>
    public static void Pipe(int port, Action<Stream> write)
    {
        var psi = new ProcessStartInfo(Paths.RedisCli, ["-p", port.ToString(CultureInfo.InvariantCulture), "--pipe"])
        { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start redis-cli");
        var output = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using (var input = new BufferedStream(p.StandardInput.BaseStream, 1 << 20)) write(input);
        p.WaitForExit();
        string text = output.Result + stderr.Result;
        if (p.ExitCode != 0 || !text.Contains("errors: 0", StringComparison.Ordinal))
            throw new InvalidOperationException($"redis-cli --pipe to port {port}: {text}");
    }
}
