using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Demikernel.Conformance.Tests;

/// <summary>
/// Where one target of the matrix (a libOS, or catnip with one DPDK device) runs for one cell, and who can reach it:
/// the namespace and arguments of our programs (a server side and, where a second process of the same libOS can be
/// its client, a client side), and Linux's TCP/IP where it reaches the target. Disposing removes everything the
/// site made (namespaces, veths, config files, catmem's files).
/// </summary>
internal abstract class Site : IDisposable
{
    protected static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    protected readonly TempFiles Files = new();

    /// <summary>The libOS name our programs are given.</summary>
    public abstract string LibOS { get; }

    /// <summary>The network namespace our programs run in (null: this one).</summary>
    public virtual string? Namespace => null;

    /// <summary>The address our servers listen on and our clients connect to.</summary>
    public abstract string ServerAddress { get; }

    /// <summary>Where Linux's TCP/IP reaches the target, the address of Linux's end; null where it cannot.</summary>
    public virtual string? LinuxAddress => null;

    /// <summary>The address Linux's own servers bind (any address in a namespace of ours; loopback on the host).</summary>
    public virtual string LinuxBind => "0.0.0.0";

    /// <summary>Whether a second process on the same libOS can be a client of our server (else our clients face Linux).</summary>
    public abstract bool SecondInstance { get; }

    /// <summary><c>--libos NAME [--config FILE]</c> for our server side, or for our client side.</summary>
    public string[] Args(bool client)
    {
        string? config = client ? ClientConfig : ServerConfig;
        return config is null ? ["--libos", LibOS] : ["--libos", LibOS, "--config", config];
    }

    protected virtual string? ServerConfig => null;
    protected virtual string? ClientConfig => ServerConfig;

    /// <summary>A port for one program of the cell (free on this host, where catnap and catmem share it).</summary>
    public virtual ushort Port()
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (ushort)((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>The network namespace of our client side, where it is not the server's.</summary>
    public virtual string? ClientNamespace => Namespace;

    /// <summary>Starts one of our programs (from the test's output directory) on the target's server side.</summary>
    public Child Start(string dll, params string[] args) => Started(Child.Dotnet(Namespace, dll, args));

    /// <summary>Starts one of our programs on the target's client side (with <see cref="Args"/>(client: true)).</summary>
    public Child StartClient(string dll, params string[] args) => Started(Child.Dotnet(ClientNamespace, dll, args));

    private Child Started(Child child)
    {
        try
        {
            OnStarted(child);
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    protected virtual void OnStarted(Child child) { }

    /// <summary>Runs a program on Linux's side (only where <see cref="LinuxAddress"/> is set).</summary>
    public virtual ToolResult Linux(TimeSpan timeout, string file, params string[] args) => throw new InvalidOperationException($"Linux does not reach {LibOS}");

    /// <summary>Starts a long-running program on Linux's side; killed when the site is disposed.</summary>
    public virtual Process StartLinux(string file, params string[] args) => throw new InvalidOperationException($"Linux does not reach {LibOS}");

    public virtual void Dispose() => Files.Dispose();
}

/// <summary>catnap: Linux sockets on this host; Linux's clients and servers on the loopback.</summary>
internal sealed class CatnapSite : Site
{
    private readonly List<Process> _linux = [];
    public override string LibOS => "catnap";
    public override string ServerAddress => "127.0.0.1";
    public override string? LinuxAddress => "127.0.0.1";
    public override string LinuxBind => "127.0.0.1";
    public override bool SecondInstance => true;

    public override ToolResult Linux(TimeSpan timeout, string file, params string[] args) => Tool.Run(timeout, file, args);

    public override Process StartLinux(string file, params string[] args)
    {
        var info = new ProcessStartInfo(Tool.Find(file)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory };
        foreach (var a in args) info.ArgumentList.Add(a);
        var p = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        _linux.Add(p);
        return p;
    }

    public override void Dispose()
    {
        foreach (var p in _linux) { Tool.Kill(p); p.Dispose(); }
        base.Dispose();
    }
}

/// <summary>catmem: shared-memory queues between our processes on this host; nothing of Linux's can open them.</summary>
internal sealed class CatmemSite : Site
{
    private readonly List<int> _pids = [];
    private readonly List<ushort> _ports = [];
    public override string LibOS => "catmem";
    public override string ServerAddress => "127.0.0.1";
    public override bool SecondInstance => true;

    public override ushort Port()
    {
        ushort port = base.Port();
        _ports.Add(port);
        return port;
    }

    protected override void OnStarted(Child child) => _pids.Add(child.Id);

    /// <summary>Linux's tools on this host: they reach a server that listens on TCP beside its catmem listener.</summary>
    public override ToolResult Linux(TimeSpan timeout, string file, params string[] args) => Tool.Run(timeout, file, args);

    /// <summary>A killed catmem program cannot remove its doorbell, nor a killed server its listener's name.</summary>
    public override void Dispose()
    {
        base.Dispose();
        foreach (int pid in _pids)
            foreach (var f in Directory.GetFiles("/dev/shm", $"demikernel-catmem-bell.{pid}.*")) File.Delete(f);
        foreach (ushort port in _ports) File.Delete($"/dev/shm/demikernel-catmem.{port}");
    }
}

/// <summary>
/// Our end of a veth pair in a namespace (no address; our stack is 10.77.0.2), and at the other end Linux's TCP/IP
/// (10.77.0.1) or, with <paramref name="bothEndsOurs"/>, a second stack of ours on the same libOS and device there
/// (the kernel's address removed), so that client and server both bypass the kernel.
/// </summary>
internal abstract class VethSite : Site
{
    protected readonly VethPair Pair;
    protected readonly bool BothEndsOurs;
    private readonly List<Process> _linux = [];

    protected VethSite(bool bothEndsOurs)
    {
        BothEndsOurs = bothEndsOurs;
        Pair = new VethPair();
        try
        {
            Prepare();
            if (bothEndsOurs) Pair.TakeOverLinuxSide();
        }
        catch
        {
            Pair.Dispose();
            throw;
        }
    }

    protected virtual void Prepare() { }

    public override string? Namespace => Pair.Ours;
    public override string? ClientNamespace => BothEndsOurs ? Pair.Theirs : Pair.Ours;
    public override string ServerAddress => VethPair.OurAddress;
    public override string? LinuxAddress => BothEndsOurs ? null : VethPair.TheirAddress;
    public override bool SecondInstance => BothEndsOurs;
    public override ushort Port() => _nextPort++; // a namespace of our own: every port is free
    private ushort _nextPort = 7000;

    public override ToolResult Linux(TimeSpan timeout, string file, params string[] args) => Pair.Linux(timeout, file, args);

    public override Process StartLinux(string file, params string[] args)
    {
        var p = Pair.StartLinux(file, args);
        _linux.Add(p);
        return p;
    }

    public override void Dispose()
    {
        foreach (var p in _linux) { Tool.Kill(p); p.Dispose(); }
        Pair.Dispose();
        base.Dispose();
    }
}

/// <summary>catpowder: our InetStack on our end of the veth, on an AF_PACKET socket (its rings) or an AF_XDP socket
/// (<paramref name="mode"/>, catpowder's raw_socket.mode).</summary>
internal sealed class CatpowderSite(bool bothEndsOurs = false, string mode = "af_packet") : VethSite(bothEndsOurs)
{
    private string? _config, _clientConfig;
    public override string LibOS => "catpowder";
    protected override string? ServerConfig => _config ??= Files.Write(".yaml", Pair.ConfigYaml(mode: mode));

    protected override string? ClientConfig => !BothEndsOurs ? ServerConfig
        : _clientConfig ??= Files.Write(".yaml", VethPair.CatpowderYaml(VethPair.TheirAddress, Pair.Theirs, mode: mode));

    protected override void Prepare() => Pair.PrepareFor(mode);
}

/// <summary>catnip with DPDK's net_af_packet or net_af_xdp on our end of the veth.</summary>
internal sealed class CatnipVethSite(string driver, bool bothEndsOurs = false) : VethSite(bothEndsOurs)
{
    private string? _config, _clientConfig;
    public override string LibOS => "catnip";

    // Where both ends are ours, the af_packet client copies both ways (rx_zero_copy/tx_zero_copy off) against the
    // zero-copy server: the copying paths run and interoperate with the lending ones.
    protected override string? ClientConfig => !BothEndsOurs ? ServerConfig
        : _clientConfig ??= Files.Write(".yaml", CatnipSetup.Config(VethPair.TheirAddress, Pair.TheirMac, $"{driver}0,iface={Pair.Theirs}",
            copying: driver == "net_af_packet"));

    /// <summary>These drivers do not read the kernel's virtio-net header, so Linux sends with transmit checksum offload off: every frame carries a full checksum.</summary>
    protected override void Prepare()
    {
        CatnipSetup.RequireShim();
        Pair.Linux(Short, "ethtool", "-K", Pair.Theirs, "tx", "off");
    }

    protected override string? ServerConfig => _config ??= Files.Write(".yaml", CatnipSetup.Config(VethPair.OurAddress, Pair.OurMac, $"{driver}0,iface={Pair.Ours}"));
}

/// <summary>
/// catnip with DPDK's net_tap: the DPDK program creates the TAP interface in our namespace when it starts, and it
/// vanishes when the program ends; Linux owns it (10.78.0.1/24) and catnip is 10.78.0.2 behind it. So after each start
/// the interface is awaited and given Linux's address (a catnip client's first ARP requests and SYNs may go unanswered
/// meanwhile: both are retried).
/// </summary>
internal sealed class CatnipTapSite : Site
{
    private const string Interface = "dkcntap0";
    private readonly string _ns;
    private readonly List<Process> _linux = [];
    private string? _config;

    public CatnipTapSite()
    {
        CatnipSetup.RequireShim();
        VethPair.RemoveLeftovers();
        // Named like VethPair's namespaces (number 0, which VethPair never uses), so RemoveLeftovers clears it if this
        // process dies before Dispose.
        _ns = $"dkcp{Environment.ProcessId}x0a";
        Tool.Check(Short, "ip", "netns", "add", _ns);
        Tool.Check(Short, "ip", "-n", _ns, "link", "set", "lo", "up");
    }

    public override string LibOS => "catnip";
    public override string? Namespace => _ns;
    public override string ServerAddress => "10.78.0.2";
    public override string? LinuxAddress => "10.78.0.1";
    public override bool SecondInstance => false;
    public override ushort Port() => _nextPort++;
    private ushort _nextPort = 7000;
    protected override string? ServerConfig => _config ??= Files.Write(".yaml", CatnipSetup.Config("10.78.0.2", "02:00:00:00:78:02", $"net_tap0,iface={Interface}"));

    protected override void OnStarted(Child child)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Tool.Run(Short, "ip", "-n", _ns, "link", "show", "dev", Interface).ExitCode != 0)
        {
            if (child.HasExited) throw new InvalidOperationException($"the DPDK program ended before {Interface} appeared:\n{child.Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Interface} did not appear within 30 s:\n{child.Output}");
            Thread.Sleep(20);
        }
        Tool.Check(Short, "ip", "-n", _ns, "addr", "add", "10.78.0.1/24", "dev", Interface);
        Tool.Check(Short, "ip", "-n", _ns, "link", "set", Interface, "up");
        Tool.Check(Short, "ip", "netns", "exec", _ns, Tool.Find("ethtool"), "-K", Interface, "tx", "off");
    }

    public override ToolResult Linux(TimeSpan timeout, string file, params string[] args) => Tool.InNamespace(_ns, timeout, file, args);

    public override Process StartLinux(string file, params string[] args)
    {
        var p = VethPair.Start(_ns, file, args);
        _linux.Add(p);
        return p;
    }

    public override void Dispose()
    {
        foreach (var p in _linux) { Tool.Kill(p); p.Dispose(); }
        Tool.Run(Short, "ip", "netns", "del", _ns);
        base.Dispose();
    }
}

/// <summary>catnip on both ends of a DPDK memif: shared memory between two DPDK processes, no kernel on the data path.</summary>
internal sealed class CatnipMemifSite : Site
{
    private readonly string _server, _client;

    public CatnipMemifSite()
    {
        CatnipSetup.RequireShim();
        string socket = Files.Path(".memif.sock");
        _server = Files.Write(".yaml", CatnipSetup.Config("10.88.0.1", "02:00:00:00:88:01", $"net_memif0,role=server,socket={socket}"));
        _client = Files.Write(".yaml", CatnipSetup.Config("10.88.0.2", "02:00:00:00:88:02", $"net_memif0,role=client,socket={socket}"));
    }

    public override string LibOS => "catnip";
    public override string ServerAddress => "10.88.0.1";
    public override bool SecondInstance => true;
    protected override string? ServerConfig => _server;
    protected override string? ClientConfig => _client;
}
