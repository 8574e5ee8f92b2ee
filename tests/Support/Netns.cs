using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Demikernel.Runtime;

namespace Demikernel.Tests.Support;

/// <summary>What an external program did.</summary>
public sealed record ToolResult(string CommandLine, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string Output => Stdout + Stderr;

    public override string ToString() =>
        $"{CommandLine}\nexit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs external programs (ip, ping, python3, redis-cli, redis-benchmark) with a hard time limit: on time-out the whole process tree is killed.</summary>
public static class Tool
{
    private static readonly Dictionary<string, string> Packages = new()
    {
        ["ip"] = "iproute2", ["ping"] = "iputils-ping", ["ethtool"] = "ethtool", ["python3"] = "python3",
        ["redis-cli"] = "redis-tools", ["redis-benchmark"] = "redis-tools", ["kill"] = "procps",
    };

    /// <summary>The full path of a program, or a failure naming the package that provides it.</summary>
    public static string Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            if (dir.Length == 0) continue;
            string path = Path.Combine(dir, name);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"{name} is missing: apt-get install -y {Packages.GetValueOrDefault(name, name)} (tests/run.sh installs it)", name);
    }

    public static ToolResult Run(TimeSpan timeout, string file, params string[] args)
    {
        var info = new ProcessStartInfo(Find(file))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        string commandLine = $"{file} {string.Join(' ', args)}";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {commandLine}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            Kill(process);
            throw new TimeoutException($"{commandLine} did not finish within {timeout.TotalSeconds:F0} s and was killed\n" +
                                       $"--- stdout ---\n{Drain(stdout)}\n--- stderr ---\n{Drain(stderr)}");
        }
        process.WaitForExit();
        return new ToolResult(commandLine, process.ExitCode, stdout.Result, stderr.Result, watch.Elapsed);
    }

    /// <summary>Runs a program inside a network namespace (<c>ip netns exec</c>).</summary>
    public static ToolResult InNamespace(string ns, TimeSpan timeout, string file, params string[] args) =>
        Run(timeout, "ip", ["netns", "exec", ns, Find(file), .. args]);

    /// <summary>Like <see cref="Run(TimeSpan, string, string[])"/>, but a non-zero exit fails the test.</summary>
    public static ToolResult Check(TimeSpan timeout, string file, params string[] args)
    {
        var r = Run(timeout, file, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"command failed:\n{r}");
        return r;
    }

    public static void Kill(Process process) => ProcessStop.Stop(process, TimeSpan.FromSeconds(5));

    private static string Drain(Task<string> output) => output.Wait(TimeSpan.FromSeconds(2)) ? output.Result : "(unavailable)";
}

/// <summary>
/// Two network namespaces joined by a veth pair, removed on dispose:
/// <code>
///   namespace Ours: interface Ours, up, NO address (our stack is 10.77.0.2 on it)
///       ║ veth
///   namespace Theirs: interface Theirs, 10.77.0.1/24 (Linux's TCP/IP)
/// </code>
/// Names are <c>dkcp{pid}x{n}a|b</c> (namespace = interface, at most 15 characters); leftovers of test processes
/// that died are removed first. Addresses are private and exist only inside these namespaces.
/// </summary>
public sealed partial class VethPair : IDisposable
{
    public const string OurAddress = "10.77.0.2";
    public const string TheirAddress = "10.77.0.1";
    private static readonly TimeSpan IpTimeout = TimeSpan.FromSeconds(20);
    private static int s_counter;
    private bool _disposed;

    public VethPair()
    {
        if (geteuid() != 0)
            throw new InvalidOperationException("the catpowder interop tests need root (network namespaces, AF_PACKET); CI runs them as root");
        RemoveLeftovers();
        string stem = $"dkcp{Environment.ProcessId}x{Interlocked.Increment(ref s_counter)}";
        Ours = stem + "a";
        Theirs = stem + "b";
        try
        {
            Ip("netns", "add", Ours);
            Ip("netns", "add", Theirs);
            Ip("link", "add", Ours, "type", "veth", "peer", "name", Theirs);
            Ip("link", "set", Ours, "netns", Ours);
            Ip("link", "set", Theirs, "netns", Theirs);
            Ip("-n", Ours, "link", "set", "lo", "up");
            Ip("-n", Theirs, "link", "set", "lo", "up");
            // Keep the kernel quiet on our side (no IPv6 link-local, DAD, MLD); the stack would only drop those frames.
            Tool.InNamespace(Ours, IpTimeout, "sh", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{Ours}/disable_ipv6 2>/dev/null; true");
            Ip("-n", Ours, "link", "set", Ours, "up");
            Ip("-n", Theirs, "addr", "add", $"{TheirAddress}/24", "dev", Theirs);
            Ip("-n", Theirs, "link", "set", Theirs, "up");
            OurMac = MacOf(Ours);
            TheirMac = MacOf(Theirs);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Our namespace and interface name.</summary>
    public string Ours { get; }

    /// <summary>Linux's namespace and interface name.</summary>
    public string Theirs { get; }

    public string OurMac { get; } = "";
    public string TheirMac { get; } = "";

    /// <summary>
    /// A catpowder configuration for our side; <paramref name="extraYaml"/> adds top-level sections. Immune to the
    /// process's environment: only <paramref name="environment"/> overrides keys.
    /// </summary>
    public LibOSConfig Config(string extraYaml = "", Func<string, string?>? environment = null, string mode = "af_packet", string rawSocketYaml = "") =>
        LibOSConfig.Parse(new StringReader(ConfigYaml(extraYaml, mode, rawSocketYaml)), environment ?? (_ => null));

    /// <summary>The YAML text of <see cref="Config"/>, for a program started in our namespace with <c>--config</c>.</summary>
    public string ConfigYaml(string extraYaml = "", string mode = "af_packet", string rawSocketYaml = "") =>
        CatpowderYaml(OurAddress, Ours, extraYaml, mode, rawSocketYaml);

    /// <summary>
    /// Makes Linux's side ours too: its address is removed (and IPv6 turned off), so a second stack of ours can be
    /// <see cref="TheirAddress"/> on <see cref="Theirs"/> without the kernel answering beside it.
    /// </summary>
    public void TakeOverLinuxSide()
    {
        Ip("-n", Theirs, "addr", "flush", "dev", Theirs);
        Tool.InNamespace(Theirs, IpTimeout, "sh", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{Theirs}/disable_ipv6 2>/dev/null; true");
    }

    /// <summary>A catpowder configuration: our stack is <paramref name="address"/> on interface <paramref name="iface"/>, in
    /// raw_socket <paramref name="mode"/> (af_packet or af_xdp) with <paramref name="rawSocketYaml"/>'s further keys.</summary>
    public static string CatpowderYaml(string address, string iface, string extraYaml = "", string mode = "af_packet", string rawSocketYaml = "") => $"""
            demikernel:
              local_ipv4_addr: {address}
              spin_budget_us: 200
            raw_socket:
              linux_interface_name: {iface}
              mode: {mode}
              {rawSocketYaml}
            inetstack_config:
              mtu: 1500
              mss: 1460
              arp_table: {"{}"}
            {extraYaml}
            """;

    /// <summary>
    /// Prepares Linux's side for catpowder's <paramref name="mode"/>: AF_XDP frames carry no offload metadata, so
    /// Linux must send complete checksums (tx off, which also turns TSO off); AF_PACKET repairs them itself.
    /// </summary>
    public void PrepareFor(string mode)
    {
        if (mode == "af_xdp") Tool.Check(IpTimeout, "ip", "netns", "exec", Theirs, Tool.Find("ethtool"), "-K", Theirs, "tx", "off");
    }

    /// <summary>Runs a program on Linux's side.</summary>
    public ToolResult Linux(TimeSpan timeout, string file, params string[] args) => Tool.InNamespace(Theirs, timeout, file, args);

    /// <summary>Starts a long-running program on Linux's side; the caller kills it (<see cref="Tool.Kill"/>).</summary>
    public Process StartLinux(string file, params string[] args) => Start(Theirs, file, args);

    /// <summary>Starts a long-running program in one of the two namespaces; the caller kills it (<see cref="Tool.Kill"/>).</summary>
    public static Process Start(string ns, string file, params string[] args)
    {
        var info = new ProcessStartInfo(Tool.Find("ip"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in (string[])["netns", "exec", ns, Tool.Find(file), .. args]) info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static void Ip(params string[] args) => Tool.Check(IpTimeout, "ip", args);

    private string MacOf(string ns)
    {
        var r = Tool.Check(IpTimeout, "ip", "-n", ns, "-o", "link", "show", "dev", ns);
        var m = MacPattern().Match(r.Stdout);
        if (!m.Success) throw new InvalidOperationException($"no MAC address in:\n{r}");
        return m.Groups[1].Value;
    }

    /// <summary>Deletes namespaces and links named by this test project whose process is gone.</summary>
    public static void RemoveLeftovers()
    {
        var netns = Tool.Run(IpTimeout, "ip", "netns", "list").Stdout;
        foreach (Match m in LeftoverPattern().Matches(netns))
            if (!Directory.Exists($"/proc/{m.Groups[2].Value}")) Tool.Run(IpTimeout, "ip", "netns", "del", m.Groups[1].Value);
        var links = Tool.Run(IpTimeout, "ip", "-o", "link", "show").Stdout;
        foreach (Match m in LeftoverPattern().Matches(links))
            if (!Directory.Exists($"/proc/{m.Groups[2].Value}")) Tool.Run(IpTimeout, "ip", "link", "del", m.Groups[1].Value);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var ns in new[] { Ours, Theirs })
            if (ns is not null) Tool.Run(IpTimeout, "ip", "netns", "del", ns);
    }

    [GeneratedRegex(@"link/ether ([0-9a-f:]{17})")]
    private static partial Regex MacPattern();

    [GeneratedRegex(@"\b(dkcp(\d+)x\d+[ab])\b")]
    private static partial Regex LeftoverPattern();

    [LibraryImport("libc")]
    private static partial uint geteuid();
}

/// <summary>
/// A thread that moves into a network namespace (setns on itself, before anything opens a socket) and runs a body
/// there: our libOS lives on it. Faults are captured and rethrown on the test thread.
/// </summary>
public sealed partial class NamespaceThread : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _ready = new();
    private volatile bool _stop;
    private Exception? _fault;

    public NamespaceThread(string ns, Action<NamespaceThread> body)
    {
        _thread = new Thread(() =>
        {
            try
            {
                Enter(ns);
                body(this);
            }
            catch (Exception e)
            {
                _fault = e;
            }
            finally
            {
                _ready.Set();
            }
        }) { IsBackground = true, Name = $"libos in {ns}" };
        _thread.Start();
    }

    /// <summary>Starts a body that calls <see cref="Ready"/> once it serves, and waits for that (or its failure).</summary>
    public static NamespaceThread StartAndWait(string ns, Action<NamespaceThread> body, TimeSpan timeout)
    {
        var thread = new NamespaceThread(ns, body);
        try
        {
            thread.WaitReady(timeout);
            return thread;
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    public bool StopRequested => _stop;

    /// <summary>Called by the body once its sockets listen.</summary>
    public void Ready() => _ready.Set();

    /// <summary>Runs a libOS until <see cref="Stop"/> is called, waking at least every 20 ms to notice.</summary>
    public void RunUntilStopped(DemiLibOS libos)
    {
        while (!_stop) libos.RunUntil(() => _stop, TimeSpan.FromMilliseconds(20));
    }

    public void WaitReady(TimeSpan timeout)
    {
        if (!_ready.Wait(timeout)) throw new TimeoutException($"{_thread.Name} was not ready within {timeout.TotalSeconds:F0} s");
        ThrowIfFaulted();
    }

    public void ThrowIfFaulted()
    {
        if (_fault is { } e) throw new InvalidOperationException($"{_thread.Name} failed: {e.Message}", e);
    }

    /// <summary>Asks the body to stop, waits for the thread, and rethrows its fault.</summary>
    public void Stop(TimeSpan? timeout = null)
    {
        _stop = true;
        if (!_thread.Join(timeout ?? TimeSpan.FromSeconds(20))) throw new TimeoutException($"{_thread.Name} did not stop");
        ThrowIfFaulted();
    }

    public void Join(TimeSpan timeout)
    {
        if (!_thread.Join(timeout)) throw new TimeoutException($"{_thread.Name} did not finish within {timeout.TotalSeconds:F0} s");
        ThrowIfFaulted();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(20));
        _ready.Dispose();
    }

    private static void Enter(string ns)
    {
        using var handle = File.OpenHandle($"/var/run/netns/{ns}", FileMode.Open, FileAccess.Read);
        if (setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
            throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);
}
