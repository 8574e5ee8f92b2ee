using System.Diagnostics;
using System.Text;

namespace Demikernel.Tests.Support;

/// <summary>
/// A program the test started (in a network namespace or not), its output gathered as it comes; killed, with its whole
/// process tree, on dispose. Every DPDK process of these tests is one of these: EAL initialises once per process.
/// </summary>
public sealed class Child : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _commandLine;

    private Child(ProcessStartInfo info, string commandLine)
    {
        _commandLine = commandLine;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.WorkingDirectory = AppContext.BaseDirectory;
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>dotnet DLL args</c> from the test's output directory, in namespace <paramref name="ns"/> if given.</summary>
    public static Child Dotnet(string? ns, string dll, params string[] args)
    {
        string path = Path.Combine(AppContext.BaseDirectory, dll);
        string[] argv = ns is null ? [path, .. args] : ["netns", "exec", ns, Tool.Find("dotnet"), path, .. args];
        var info = new ProcessStartInfo(ns is null ? Tool.Find("dotnet") : Tool.Find("ip"));
        foreach (var a in argv) info.ArgumentList.Add(a);
        return new Child(info, $"{(ns is null ? "" : $"[{ns}] ")}dotnet {dll} {string.Join(' ', args)}");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Its process id (catmem names its doorbell files after it).</summary>
    public int Id => _process.Id;

    /// <summary>Waits until a line containing <paramref name="text"/> appears; fails with the output if the program exits or time runs out.</summary>
    public void WaitFor(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited) throw new InvalidOperationException($"{_commandLine} exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{_commandLine} did not print '{text}' within {timeout.TotalSeconds:F0} s:\n{Output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Waits for the program to end; its exit code, or a failure with its output after the timeout (it is then killed).</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Tool.Kill(_process);
            throw new TimeoutException($"{_commandLine} did not finish within {timeout.TotalSeconds:F0} s and was killed:\n{Output}");
        }
        _process.WaitForExit(); // drains the output events
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM (the server's orderly shutdown), as <c>kill</c> or a service manager would.</summary>
    public void Terminate()
    {
        var r = Tool.Run(TimeSpan.FromSeconds(10), "kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(r.ExitCode == 0 || _process.HasExited, $"kill -TERM {_process.Id}: {r}");
    }

    /// <summary>Runs to completion and requires exit code 0; returns the output.</summary>
    public string Succeed(TimeSpan timeout)
    {
        int rc = WaitForExit(timeout);
        Assert.True(rc == 0, $"{_commandLine} exited with {rc}:\n{Output}");
        return Output;
    }

    public void Dispose()
    {
        Tool.Kill(_process);
        _process.Dispose();
    }
}

/// <summary>Temporary files (configs, memif sockets) removed on dispose.</summary>
public sealed class TempFiles : IDisposable
{
    private static int s_counter;
    private readonly List<string> _paths = [];

    /// <summary>A fresh path in /tmp that is removed on dispose (whether or not something creates it).</summary>
    public string Path(string suffix)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"catnip-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}{suffix}");
        _paths.Add(path);
        return path;
    }

    public string Write(string suffix, string text)
    {
        string path = Path(suffix);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        foreach (var p in _paths) File.Delete(p);
        // EAL makes its runtime directory even with --no-shconf --no-telemetry, and leaves it empty: remove it if it
        // is (a non-recursive delete refuses a directory another DPDK program uses).
        foreach (var dir in (string[])["/var/run/dpdk/rte", "/var/run/dpdk"])
        {
            try { Directory.Delete(dir); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
