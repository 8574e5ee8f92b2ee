using BenchmarkDotNet.Attributes;
using Demikernel.InetStack;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.Bench;

/// <summary>
/// Our TCP/IP stack's own cost of a request/response round trip (issue 13, memif's 5 µs p50): two InetStack libOSes on
/// one thread under the system clock, joined by an in-memory wire that costs nothing but a copy of each frame into the
/// peer's pool buffer (what a device copy would cost anyway). One round trip: the client pushes a 37-byte GET, the server
/// pops it and pushes a 39-byte reply, the client pops it; with delayed ACK off (catnip's default) every segment carries
/// the other side's ACK, so a round trip is two frames. The figure is both stacks' per-segment receive and transmit
/// paths (Ethernet/IPv4/TCP parse and emit, checksums, the control block, timers, ARP, the libOS passes around them),
/// without a device or an application. Allocation must be 0 B.
/// </summary>
[MemoryDiagnoser]
public class InetStackRoundTripBenchmarks
{
    private DemiLibOS _client = null!, _server = null!;
    private QDesc _clientQd, _serverQd;
    private static readonly byte[] Request = "*2\r\n$3\r\nGET\r\n$10\r\nkey:000042\r\n"u8.ToArray();
    private static readonly byte[] Reply = "$32\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"u8.ToArray();

    [GlobalSetup]
    public void Setup() => Setup(TimeSpan.Zero);

    private void Setup(TimeSpan spinBudget)
    {
        var a = new Wire();
        var b = new Wire();
        a.Peer = b;
        b.Peer = a;
        _client = Host(a, "10.99.0.2", "02:00:00:00:99:02", "10.99.0.1", "02:00:00:00:99:01", spinBudget);
        _server = Host(b, "10.99.0.1", "02:00:00:00:99:01", "10.99.0.2", "02:00:00:00:99:02", spinBudget);
        _server.Socket(SocketKind.Stream, out var listener);
        _server.Bind(listener, new IPv4Endpoint(0, 6379));
        _server.Listen(listener, 4);
        _server.Accept(listener, out var accept);
        _client.Socket(SocketKind.Stream, out _clientQd);
        _client.Connect(_clientQd, new IPv4Endpoint(Ipv4Address.Parse("10.99.0.1").Value, 6379), out var connect);
        bool accepted = false, connected = false;
        for (int i = 0; i < 1000 && !(accepted && connected); i++)
        {
            if (!connected && _client.Wait(connect, out var c, TimeSpan.Zero) == 0) connected = c.Succeeded;
            if (!accepted && _server.Wait(accept, out var a2, TimeSpan.Zero) == 0)
            {
                accepted = a2.Succeeded;
                _serverQd = a2.AcceptedQd;
            }
        }
        if (!accepted || !connected)
            throw new InvalidOperationException("the benchmark's connection did not open");
    }

    private static DemiLibOS Host(Wire wire, string ip, string mac, string peerIp, string peerMac, TimeSpan spinBudget = default)
    {
        var options = new InetStackOptions
        {
            LinkAddress = MacAddress.Parse(mac),
            LocalAddress = Ipv4Address.Parse(ip),
            StaticArpTable = new Dictionary<Ipv4Address, MacAddress> { [Ipv4Address.Parse(peerIp)] = MacAddress.Parse(peerMac) },
        };
        var transport = new InetStackTransport(wire, options, TimeProvider.System);
        return new DemiLibOS(transport, new LibOSOptions { Time = TimeProvider.System, SpinBudget = spinBudget });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.Dispose();
    }

    /// <summary>
    /// <c>stack-rtt [round trips] [rounds] [depth]</c>: the benchmark's round trip in a plain loop (to run under perf),
    /// printing nanoseconds per round trip for each round and their median. With a depth above 1 the client pipelines
    /// that many GETs before the server answers them (<see cref="PipelinedRoundTrips"/>); the figures are then per request.
    /// </summary>
    internal static void Probe(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
        int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        int depth = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1;
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(args), "the depth is at least 1");
        n = Math.Max(1, n / depth) * depth;
        var bench = new InetStackRoundTripBenchmarks();
        bench.Setup();
        for (int i = 0; i < 100_000; i += depth) bench.RoundTrips(depth); // tiered JIT
        var figures = new RoundFigures("round trip", "F0");
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        long allocatedInRounds = 0;
        for (int r = 0; r < rounds; r++)
        {
            var (ns, cpuNs) = RoundFigures.Time(process, n, () =>
            {
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < n; i += depth) bench.RoundTrips(depth);
                allocatedInRounds += GC.GetAllocatedBytesForCurrentThread() - allocated;
            });
            figures.Add($"round {r + 1}", ns, cpuNs);
        }
        figures.PrintMedian();
        // The round trips' own allocation (must be 0: the steady state allocates nothing); the process bookkeeping
        // between rounds is not counted.
        Console.WriteLine(System.FormattableString.Invariant($"allocated {allocatedInRounds} B in the round trips"));
        bench.Cleanup();
    }

    /// <summary>
    /// <c>idle-pass [passes] [rounds]</c>: the server's run loop between requests (issue 13): an InetStack libOS with one
    /// pop pending on its connection and nothing arriving, spinning (the spin budget never ends) through
    /// <see cref="DemiLibOS.RunUntil"/>; prints nanoseconds per pass (one step: posted work, transport poll, timers,
    /// ready tasks) for each round and their median. Every nanosecond of it is latency for a frame that arrives mid-pass.
    /// </summary>
    internal static void IdleProbe(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
        int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var bench = new InetStackRoundTripBenchmarks();
        bench.Setup(TimeSpan.FromDays(1));
        for (int i = 0; i < 1000; i++) bench.GetRoundTrip();
        bench._server.Pop(bench._serverQd, out var pending);
        int passes = 0, target = 0;
        Func<bool> counted = () => ++passes >= target;
        var results = new RoundFigures("idle pass", "F1");
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        for (int r = 0; r <= rounds; r++) // round 0 warms the JIT up
        {
            passes = 0;
            target = r == 0 ? 1_000_000 : n;
            var (ns, cpuNs) = RoundFigures.Time(process, target, () => bench._server.RunUntil(counted));
            if (r > 0) results.Add($"round {r}", ns, cpuNs);
        }
        results.PrintMedian();
        if (bench._server.Wait(pending, out _, TimeSpan.Zero) == 0) throw new InvalidOperationException("nothing was sent, yet the pop completed");
        bench.Cleanup();
    }

    [Benchmark]
    public int GetRoundTrip()
    {
        Push(_client, _clientQd, Request);
        int got = Pop(_server, _serverQd);
        Push(_server, _serverQd, Reply);
        return got + Pop(_client, _clientQd);
    }

    private int RoundTrips(int depth) => depth == 1 ? GetRoundTrip() : PipelinedRoundTrips(depth);

    /// <summary>
    /// <paramref name="depth"/> GETs pushed back to back, popped and answered by the server, the replies popped: what a
    /// pipelining client costs the stacks per request (one RTT sample and one retransmission timer serve several segments).
    /// </summary>
    private int PipelinedRoundTrips(int depth)
    {
        int got = 0;
        for (int i = 0; i < depth; i++) Push(_client, _clientQd, Request);
        for (int i = 0; i < depth; i++) got += Pop(_server, _serverQd);
        for (int i = 0; i < depth; i++) Push(_server, _serverQd, Reply);
        for (int i = 0; i < depth; i++) got += Pop(_client, _clientQd);
        return got;
    }

    private static void Push(DemiLibOS libos, QDesc qd, byte[] data)
    {
        var sga = libos.SgaAlloc(data.Length);
        data.CopyTo(sga.First.Span);
        libos.Push(qd, sga, out var qt);
        libos.SgaFree(sga);
        libos.Wait(qt, out _);
    }

    private static int Pop(DemiLibOS libos, QDesc qd)
    {
        libos.Pop(qd, out var qt);
        libos.Wait(qt, out var result);
        int length = result.Sga.TotalLength;
        libos.SgaFree(result.Sga);
        return length;
    }

    /// <summary>One end of the in-memory wire: a transmitted frame is copied into a pool buffer queued at the peer.</summary>
    private sealed class Wire : IPhysicalLayer
    {
        private readonly Queue<DemiBuffer> _arrived = new();
        private BufferPool? _pool;

        public Wire? Peer { get; set; }

        public PhyCapabilities Capabilities { get; } = new();

        public void Attach(DemiLibOS libos) => _pool = libos.Pool;

        public bool Transmit(ReadOnlySpan<byte> frame)
        {
            var peer = Peer!;
            var buffer = peer._pool!.Rent(frame.Length);
            frame.CopyTo(buffer.AvailableSpan);
            buffer.SetLength(frame.Length);
            peer._arrived.Enqueue(buffer);
            return true;
        }

        public int Receive(BufferPool pool, Span<DemiBuffer?> frames)
        {
            int n = 0;
            while (n < frames.Length && _arrived.TryDequeue(out var frame)) frames[n++] = frame;
            return n;
        }

        public void Block(TimeSpan? timeout) { }

        public void Wake() { }

        public void Dispose()
        {
            while (_arrived.TryDequeue(out var frame)) _pool!.Discard(frame);
        }
    }
}
