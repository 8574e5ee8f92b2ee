using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Phy;

/// <summary>
/// How one direction of a simulated link behaves. Probabilities are per frame; zero bandwidth means infinitely fast.
/// </summary>
internal sealed record LinkOptions
{
    public TimeSpan Latency { get; init; } = TimeSpan.FromMicroseconds(10);
    /// <summary>Bits per second; 0 = no serialisation delay.</summary>
    public long Bandwidth { get; init; }
    /// <summary>Frames that may wait for the wire; more are tail-dropped (only meaningful with a bandwidth).</summary>
    public int QueueLength { get; init; } = 1000;
    public double Loss { get; init; }
    public double Duplication { get; init; }
    /// <summary>Chance that a frame is held back by up to <see cref="ReorderDelay"/> extra, so later frames pass it.</summary>
    public double Reordering { get; init; }
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMicroseconds(100);
    /// <summary>Chance that one bit after the Ethernet header is flipped (checksums must catch it).</summary>
    public double Corruption { get; init; }
    /// <summary>A down link drops everything.</summary>
    public bool Down { get; init; }

    public static LinkOptions Ideal { get; } = new() { Latency = TimeSpan.Zero };
}

/// <summary>Counters of one simulated network.</summary>
internal sealed class SimulationStats
{
    public long Transmitted { get; internal set; }
    public long Delivered { get; internal set; }
    public long Lost { get; internal set; }
    public long QueueDrops { get; internal set; }
    public long Duplicated { get; internal set; }
    public long Reordered { get; internal set; }
    public long Corrupted { get; internal set; }
    public override string ToString() =>
        $"tx {Transmitted} delivered {Delivered} lost {Lost} queue-drops {QueueDrops} duplicated {Duplicated} reordered {Reordered} corrupted {Corrupted}";
}

/// <summary>Thrown when a simulated host waits forever: no frame in flight, no timer anywhere.</summary>
internal sealed class SimulationStalledException(string message) : Exception(message);

/// <summary>
/// In-process hosts joined by simulated links, all on one <see cref="VirtualTimeProvider"/> and one seed: the same seed
/// and the same program give the same run, frame for frame.
/// <code>
///   port A ──link(A→B)──▶ port B        every ordered pair of ports has its own link (like an ideal switch with
///          ◀─link(B→A)───               per-path properties); broadcast and unknown MACs go to every other port
///   each link: tail-drop queue → serialisation (bandwidth) → latency (+ reorder delay) → loss/dup/corruption
/// </code>
/// Time moves only inside the network: a host's libOS that has nothing to do blocks in its port, and the port runs
/// the rest of the world (the other hosts' libOSes, deliveries) forward event by event until a frame arrives for it or
/// its own next timer is due. With <see cref="VirtualTimeProvider.AutoAdvance"/> on, a port reports the world's next
/// event through <see cref="SimulatedPort.TryGetNextDeadline"/>, so the libOS never jumps the clock past a frame in
/// flight. Frame bytes live in pooled arrays: a run allocates nothing per frame in steady state.
/// </summary>
internal sealed class SimulatedNetwork
{
    private readonly List<SimulatedPort> _ports = [];
    private readonly Dictionary<(int, int), Channel> _channels = [];
    private readonly PriorityQueue<InFlight, (long Due, long Seq)> _inFlight = new();
    private long _sequence;
    private readonly Random _random;

    public SimulatedNetwork(VirtualTimeProvider clock, int seed, LinkOptions? defaultLink = null)
    {
        Clock = clock;
        Seed = seed;
        _random = new Random(seed);
        DefaultLink = defaultLink ?? new LinkOptions();
    }

    public VirtualTimeProvider Clock { get; }
    public int Seed { get; }
    public LinkOptions DefaultLink { get; set; }
    public SimulationStats Stats { get; } = new();
    public IReadOnlyList<SimulatedPort> Ports => _ports;

    /// <summary>Adds a host's network interface with the given MAC address.</summary>
    public SimulatedPort AddPort(MacAddress mac, PhyCapabilities? capabilities = null)
    {
        var port = new SimulatedPort(this, _ports.Count, mac, capabilities ?? new PhyCapabilities());
        _ports.Add(port);
        return port;
    }

    /// <summary>Sets the behaviour of the direction <paramref name="from"/> → <paramref name="to"/>.</summary>
    public void SetLink(SimulatedPort from, SimulatedPort to, LinkOptions options) => GetChannel(from.Index, to.Index).Options = options;

    /// <summary>Sets both directions between two ports.</summary>
    public void SetLinks(SimulatedPort a, SimulatedPort b, LinkOptions options)
    {
        SetLink(a, b, options);
        SetLink(b, a, options);
    }

    private Channel GetChannel(int from, int to)
    {
        if (!_channels.TryGetValue((from, to), out var channel))
        {
            channel = new Channel { Options = DefaultLink };
            _channels.Add((from, to), channel);
        }
        return channel;
    }

    internal void Transmit(SimulatedPort from, ReadOnlySpan<byte> frame)
    {
        Stats.Transmitted++;
        var destination = frame.Length >= 6 ? MacAddress.Read(frame) : MacAddress.Broadcast;
        SimulatedPort? target = null;
        if (!destination.IsMulticast)
            foreach (var p in _ports)
                if (p.Mac == destination) { target = p; break; }
        if (target is not null)
        {
            if (target != from) Send(from, target, frame);
            return;
        }
        foreach (var p in _ports)
            if (p != from) Send(from, p, frame);
    }

    private void Send(SimulatedPort from, SimulatedPort to, ReadOnlySpan<byte> frame)
    {
        var channel = GetChannel(from.Index, to.Index);
        var o = channel.Options;
        long now = Clock.GetTimestamp();
        if (o.Down || Chance(o.Loss))
        {
            Stats.Lost++;
            return;
        }
        // Serialisation: the frame leaves when the wire is free, after its bits are clocked out.
        long departure = now;
        if (o.Bandwidth > 0)
        {
            while (channel.Departures.Count > 0 && channel.Departures.Peek() <= now) channel.Departures.Dequeue();
            if (channel.Departures.Count >= o.QueueLength)
            {
                Stats.QueueDrops++;
                return;
            }
            long start = Math.Max(now, channel.WireFreeAt);
            long bits = (frame.Length + 24) * 8L; // preamble, FCS and inter-frame gap occupy the wire too
            departure = start + Math.Max(1, bits * TimeSpan.TicksPerSecond / o.Bandwidth);
            channel.WireFreeAt = departure;
            channel.Departures.Enqueue(departure);
        }
        int copies = Chance(o.Duplication) ? 2 : 1;
        if (copies == 2) Stats.Duplicated++;
        for (int c = 0; c < copies; c++)
        {
            long due = departure + o.Latency.Ticks;
            if (Chance(o.Reordering))
            {
                due += 1 + (long)(_random.NextDouble() * o.ReorderDelay.Ticks);
                Stats.Reordered++;
            }
            var bytes = RentFrame(frame.Length);
            frame.CopyTo(bytes);
            if (frame.Length > EthernetFrame.HeaderLength && Chance(o.Corruption))
            {
                bytes[_random.Next(EthernetFrame.HeaderLength, frame.Length)] ^= (byte)(1 << _random.Next(8));
                Stats.Corrupted++;
            }
            _inFlight.Enqueue(new InFlight(to, bytes, frame.Length), (due, _sequence++));
        }
    }

    private bool Chance(double p) => p > 0 && _random.NextDouble() < p;

    private readonly Stack<byte[]> _framePool = new();
    private const int PooledFrameSize = 2048;

    private byte[] RentFrame(int length) =>
        length <= PooledFrameSize && _framePool.TryPop(out var array) ? array : new byte[Math.Max(length, PooledFrameSize)];

    internal void ReturnFrame(byte[] array)
    {
        if (array.Length == PooledFrameSize) _framePool.Push(array);
    }

    /// <summary>Moves every frame whose delivery time has come into its port's receive queue.</summary>
    internal void DeliverDue()
    {
        long now = Clock.GetTimestamp();
        while (_inFlight.TryPeek(out var frame, out var key) && key.Due <= now)
        {
            _inFlight.Dequeue();
            frame.To.Enqueue(frame.Bytes, frame.Length);
            Stats.Delivered++;
        }
    }

    /// <summary>Earliest event of the world apart from <paramref name="except"/>'s own timers: a delivery or a timer of another host.</summary>
    internal bool TryGetNextEvent(SimulatedPort? except, out long due)
    {
        due = long.MaxValue;
        if (_inFlight.TryPeek(out _, out var key)) due = key.Due;
        foreach (var p in _ports)
            if (p != except && p.Host is { } host && host.Scheduler.TryGetNextDeadline(out long t) && t < due)
                due = t;
        return due != long.MaxValue;
    }

    /// <summary>Polls every attached host except <paramref name="except"/> once; true if any made progress.</summary>
    private bool PollHosts(SimulatedPort? except)
    {
        bool progress = false;
        foreach (var p in _ports)
            if (p != except && p.Host is { } host)
                progress |= host.Poll();
        return progress;
    }

    /// <summary>Runs the hosts other than <paramref name="self"/> at the current instant until none makes progress.</summary>
    internal void Settle(SimulatedPort self)
    {
        for (int spins = 0; spins < 10_000; spins++)
        {
            DeliverDue();
            if (self.HasFrames || !PollHosts(self)) break;
        }
        DeliverDue();
    }

    /// <summary>
    /// Runs the world other than <paramref name="self"/> until a frame is waiting for <paramref name="self"/> or the
    /// clock reaches <paramref name="until"/>. The body of a simulated port's <c>Block</c>.
    /// </summary>
    internal void RunWorld(SimulatedPort? self, long until)
    {
        for (int spins = 0; ; spins++)
        {
            // A wake (another thread posted to self's libOS) ends the block at the current instant.
            if (self is not null && self.TakeWake()) return;
            DeliverDue();
            if (self is not null && self.HasFrames) return;
            if (PollHosts(self) && spins < 10_000) continue;
            DeliverDue();
            if (self is not null && self.HasFrames) return;
            if (!TryGetNextEvent(self, out long next) || next > until)
            {
                if (self is not null && self.TakeWake()) return;
                if (until == long.MaxValue)
                    throw new SimulationStalledException(
                        $"simulated host waits forever at {Clock.Elapsed}: no frame in flight and no timer on any host");
                Clock.AdvanceTo(until);
                DeliverDue();
                return;
            }
            Clock.AdvanceTo(next);
        }
    }

    /// <summary>
    /// Drives every attached host and the links until <paramref name="done"/> holds or <paramref name="limit"/> of
    /// simulated time passes; false on timeout. For tests that do not sit in one host's <c>Wait</c>.
    /// </summary>
    public bool RunUntil(Func<bool> done, TimeSpan limit)
    {
        long deadline = Clock.GetTimestamp() + limit.Ticks;
        while (!done())
        {
            DeliverDue();
            if (PollHosts(null)) continue;
            if (done()) return true;
            if (!TryGetNextEvent(null, out long next) || next > deadline)
            {
                Clock.AdvanceTo(deadline);
                return done();
            }
            Clock.AdvanceTo(Math.Max(next, Clock.GetTimestamp()));
        }
        return true;
    }

    /// <summary>Advances the clock by <paramref name="span"/>, delivering frames and running hosts on the way.</summary>
    public void RunFor(TimeSpan span) => RunUntil(static () => false, span);

    private readonly record struct InFlight(SimulatedPort To, byte[] Bytes, int Length);

    private sealed class Channel
    {
        public required LinkOptions Options { get; set; }
        public long WireFreeAt;
        public readonly Queue<long> Departures = new();
    }
}

/// <summary>One host's network interface on a <see cref="SimulatedNetwork"/>.</summary>
internal sealed class SimulatedPort : IPhysicalLayer
{
    private readonly SimulatedNetwork _network;
    private readonly Queue<(byte[] Bytes, int Length)> _rx = new();

    internal SimulatedPort(SimulatedNetwork network, int index, MacAddress mac, PhyCapabilities capabilities)
    {
        _network = network;
        Index = index;
        Mac = mac;
        Capabilities = capabilities;
    }

    internal int Index { get; }
    public MacAddress Mac { get; }
    public PhyCapabilities Capabilities { get; }
    public DemiLibOS? Host { get; private set; }
    public long ReceivedFrames { get; private set; }
    public long TransmittedFrames { get; private set; }
    internal bool HasFrames => _rx.Count > 0;
    private int _wake;

    public void Attach(DemiLibOS libos)
    {
        if (Host is not null && Host != libos) throw new InvalidOperationException("a simulated port belongs to one libOS");
        if (libos.Time != _network.Clock) throw new ArgumentException("the libOS must run on the network's VirtualTimeProvider", nameof(libos));
        Host = libos;
    }

    internal void Enqueue(byte[] frame, int length) => _rx.Enqueue((frame, length));

    public bool Transmit(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetFrame.HeaderLength || frame.Length > Capabilities.Mtu + EthernetFrame.HeaderLength) return false;
        TransmittedFrames++;
        _network.Transmit(this, frame);
        return true;
    }

    public int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        _network.DeliverDue();
        int n = 0;
        while (n < frames.Length && _rx.TryDequeue(out var frame))
        {
            var buffer = pool.Rent(frame.Length);
            frame.Bytes.AsSpan(0, frame.Length).CopyTo(buffer.Span);
            _network.ReturnFrame(frame.Bytes);
            frames[n++] = buffer;
        }
        ReceivedFrames += n;
        return n;
    }

    /// <summary>
    /// Ends a <see cref="Block"/> in progress (which runs the simulated world, not real time) at its next step, or the
    /// next one at once: a flag the world loop checks. Thread-safe.
    /// </summary>
    public void Wake() => Volatile.Write(ref _wake, 1);

    internal bool TakeWake() => Volatile.Read(ref _wake) != 0 && Interlocked.Exchange(ref _wake, 0) != 0;

    public void Block(TimeSpan? timeout)
    {
        long now = _network.Clock.GetTimestamp();
        long until = timeout is { } t ? (t.Ticks > long.MaxValue - now ? long.MaxValue : now + Math.Max(0, t.Ticks)) : long.MaxValue;
        _network.RunWorld(this, until);
    }

    /// <summary>
    /// The next event elsewhere in the simulated world (a delivery, another host's timer). The other hosts first run
    /// to quiescence at the current time, so nothing they do afterwards at this instant can precede the answer; a frame
    /// already waiting here makes the answer "now".
    /// </summary>
    public bool TryGetNextDeadline(out long due)
    {
        _network.Settle(this);
        long now = _network.Clock.GetTimestamp();
        if (HasFrames)
        {
            due = now;
            return true;
        }
        return _network.TryGetNextEvent(this, out due);
    }

    public void Dispose() { }
}
