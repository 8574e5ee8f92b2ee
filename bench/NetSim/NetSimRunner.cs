using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Demikernel.InetStack;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.NetSim;

/// <summary>What a run measured.</summary>
internal sealed class NetSimResult
{
    public bool Ok => Errors.Count == 0;
    public List<string> Errors { get; } = [];
    public TimeSpan SimulatedTime { get; internal set; }
    public TimeSpan WallTime { get; internal set; }
    public long BytesDelivered { get; internal set; }
    public double GoodputBitsPerSecond => SimulatedTime > TimeSpan.Zero ? BytesDelivered * 8 / SimulatedTime.TotalSeconds : 0;
    public long Retransmissions { get; internal set; }
    public long FastRetransmits { get; internal set; }
    public long Timeouts { get; internal set; }
    public long LostRetransmissions { get; internal set; }
    public long TailLossProbes { get; internal set; }
    public long OutOfOrderQueued { get; internal set; }
    public long ChecksumErrors { get; internal set; }
    public string Network { get; internal set; } = "";
    /// <summary>Managed bytes allocated on this thread while the simulation ran (both stacks, the network, hashing).</summary>
    public long AllocatedBytes { get; internal set; }
    public long Frames { get; internal set; }
    /// <summary>Payload bytes the client's stack copied between push and its device, and the server's between its device and pop.</summary>
    public long TxPayloadBytesCopied { get; internal set; }
    public long RxPayloadBytesCopied { get; internal set; }
    public string DeviceMemory { get; internal set; } = "";

    public string Report(NetSimOptions o)
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(c, $"netsim: {o.Connections} connections x {o.Bytes:N0} bytes, link {o.Bandwidth / 1e6:0.###} Mbit/s {o.Latency.TotalMicroseconds:0.#} us queue {o.Queue}, loss {o.Loss} reorder {o.Reorder} duplicate {o.Duplicate} corrupt {o.Corrupt}, {o.CongestionControl}{(o.Sack ? " + SACK" : ", no SACK")}, seed {o.Seed}");
        s.AppendLine(c, $"simulated time: {SimulatedTime.TotalSeconds:0.000000} s");
        s.AppendLine(c, $"goodput: {GoodputBitsPerSecond / 1e6:0.0} Mbit/s ({GoodputBitsPerSecond / o.Bandwidth:P1} of the link)");
        s.AppendLine(c, $"retransmissions: {Retransmissions} (fast retransmits {FastRetransmits}, lost retransmissions resent {LostRetransmissions}, tail loss probes {TailLossProbes}, timeouts {Timeouts}); out-of-order segments kept {OutOfOrderQueued}; checksum errors caught {ChecksumErrors}");
        s.AppendLine(c, $"network: {Network}");
        s.AppendLine(c, $"payload bytes copied by the stacks: push to device {TxPayloadBytesCopied:N0}, device to pop {RxPayloadBytesCopied:N0}{(DeviceMemory.Length > 0 ? "; " + DeviceMemory : " (devices without memory of their own: --device-memory)")}");
        s.AppendLine(c, $"wall time: {WallTime.TotalSeconds:0.00} s; allocated {AllocatedBytes / 1e6:0.0} MB ({(Frames > 0 ? AllocatedBytes / (double)Frames : 0):0.0} bytes per frame)");
        if (Ok) s.Append("integrity: ok");
        else
        {
            s.AppendLine("integrity: FAILED");
            foreach (var e in Errors) s.AppendLine(c, $"  {e}");
        }
        return s.ToString();
    }
}

/// <summary>
/// Two InetStack hosts on one simulated link: the client opens N connections to the server and pushes the bytes, the
/// server pops them; both sides hash every connection's stream with SHA-256.
/// <code>
///   client 10.0.0.1 ── SimulatedNetwork (bandwidth, latency, queue, loss, reorder, dup, corruption; both ways) ── server 10.0.0.2
///     N × (connect, push 64 KB SGAs, close)                                      N × (accept, pop until EOF, close)
/// </code>
/// </summary>
internal static class NetSimRunner
{
    private const ushort Port = 5001;

    public static NetSimResult Run(NetSimOptions o)
    {
        var wall = Stopwatch.StartNew();
        var result = new NetSimResult();
        var clock = new VirtualTimeProvider();
        var link = new LinkOptions
        {
            Latency = o.Latency, Bandwidth = o.Bandwidth, QueueLength = o.Queue, Loss = o.Loss, Reordering = o.Reorder,
            Duplication = o.Duplicate, Corruption = o.Corrupt,
        };
        var network = new SimulatedNetwork(clock, o.Seed, link);
        var client = AddHost(network, clock, o, "10.0.0.1", "02:00:00:00:00:01");
        var server = AddHost(network, clock, o, "10.0.0.2", "02:00:00:00:00:02");

        var sentHashes = new Dictionary<ushort, byte[]>();
        var receivedHashes = new Dictionary<ushort, (byte[] Hash, long Bytes)>();
        int finished = 0;
        long delivered = 0;
        long lastByteAt = 0;

        // Server: accept every connection, then drain each one to its end.
        Check(server.LibOS.Socket(SocketKind.Stream, out var listener), "socket");
        Check(server.LibOS.Bind(listener, new IPv4Endpoint(0, Port)), "bind");
        Check(server.LibOS.Listen(listener, o.Connections), "listen");
        server.LibOS.Spawn(async () =>
        {
            for (int i = 0; i < o.Connections; i++)
            {
                var accepted = await server.LibOS.AcceptAsync(listener);
                if (!accepted.Succeeded)
                {
                    result.Errors.Add($"accept: {accepted.ErrorName}");
                    return;
                }
                var qd = accepted.AcceptedQd;
                var peerPort = accepted.Address.Port;
                server.LibOS.Spawn(async () =>
                {
                    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    long got = 0;
                    while (true)
                    {
                        var popped = await server.LibOS.PopAsync(qd);
                        if (!popped.Succeeded)
                        {
                            result.Errors.Add($"connection from port {peerPort}: pop: {popped.ErrorName} after {got} bytes");
                            break;
                        }
                        if (popped.Sga.IsEmpty) break;
                        for (var b = popped.Sga.First; b is not null; b = b.Next)
                        {
                            hash.AppendData(b.Span);
                            got += b.Length;
                        }
                        server.LibOS.SgaFree(popped.Sga);
                    }
                    receivedHashes[peerPort] = (hash.GetHashAndReset(), got);
                    delivered += got;
                    lastByteAt = clock.GetTimestamp();
                    server.LibOS.Close(qd);
                    finished++;
                });
            }
        });

        // Client: N connections, each pushing its own deterministic byte stream.
        for (int i = 0; i < o.Connections; i++)
        {
            int id = i;
            client.LibOS.Spawn(async () =>
            {
                var libos = client.LibOS;
                if (libos.Socket(SocketKind.Stream, out var qd) is var rc && rc != 0)
                {
                    result.Errors.Add($"connection {id}: socket: {Errno.Name(rc)}");
                    finished++;
                    return;
                }
                var connected = await libos.ConnectAsync(qd, new IPv4Endpoint(server.Ip.Value, Port));
                if (!connected.Succeeded)
                {
                    result.Errors.Add($"connection {id}: connect: {connected.ErrorName}");
                    finished++;
                    return;
                }
                libos.GetSockName(qd, out var local);
                var generator = new ByteStream((ulong)o.Seed * 0x9E3779B97F4A7C15UL + (ulong)id + 1);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long sent = 0;
                while (sent < o.Bytes)
                {
                    int n = (int)Math.Min(o.PushSize, o.Bytes - sent);
                    var sga = libos.SgaAlloc(n);
                    generator.Fill(sga.Span);
                    hash.AppendData(sga.Span);
                    var pushed = await libos.PushAsync(qd, sga);
                    libos.SgaFree(sga);
                    if (!pushed.Succeeded)
                    {
                        result.Errors.Add($"connection {id}: push: {pushed.ErrorName} after {sent} bytes");
                        break;
                    }
                    sent += n;
                }
                sentHashes[local.Port] = hash.GetHashAndReset();
                libos.Close(qd);
            });
        }

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        bool done;
        if (o.Progress)
        {
            // One line per 100 ms of simulated time on stderr: where a slow or stuck run spends its time.
            long stopAt = clock.GetTimestamp() + o.TimeLimit.Ticks;
            while (true)
            {
                done = network.RunUntil(() => finished == o.Connections, TimeSpan.FromMilliseconds(100));
                var tcp = client.Transport.Interface.Tcp.Stats;
                Console.Error.WriteLine(FormattableString.Invariant(
                    $"{clock.Elapsed.TotalSeconds:0.000} s: delivered {delivered + 0} bytes finished, frames {network.Stats.Delivered}, retransmissions {tcp.Retransmissions}, timeouts {tcp.Timeouts}"));
                if (done || clock.GetTimestamp() > stopAt) break;
            }
        }
        else done = network.RunUntil(() => finished == o.Connections, o.TimeLimit);
        result.SimulatedTime = TimeSpan.FromTicks(lastByteAt);
        result.BytesDelivered = delivered;
        if (!done)
        {
            result.SimulatedTime = clock.Elapsed;
            result.Errors.Add($"gave up after {clock.Elapsed.TotalSeconds:0.###} s simulated: {finished} of {o.Connections} connections finished");
        }
        foreach (var e in client.LibOS.Faults.Concat(server.LibOS.Faults)) result.Errors.Add($"coroutine fault: {e}");
        foreach (var (port, sentHash) in sentHashes.OrderBy(p => p.Key))
        {
            if (!receivedHashes.TryGetValue(port, out var received))
                result.Errors.Add($"connection from port {port}: nothing received");
            else if (received.Bytes != o.Bytes)
                result.Errors.Add($"connection from port {port}: received {received.Bytes} of {o.Bytes} bytes");
            else if (!received.Hash.AsSpan().SequenceEqual(sentHash))
                result.Errors.Add($"connection from port {port}: SHA-256 differs (sent {Convert.ToHexString(sentHash)[..16]}..., received {Convert.ToHexString(received.Hash)[..16]}...)");
        }
        if (done && sentHashes.Count != o.Connections) result.Errors.Add($"only {sentHashes.Count} of {o.Connections} senders finished");

        foreach (var host in new[] { client, server })
        {
            var stats = host.Transport.Interface.Tcp.Stats;
            result.Retransmissions += stats.Retransmissions;
            result.FastRetransmits += stats.FastRetransmits;
            result.Timeouts += stats.Timeouts;
            result.LostRetransmissions += stats.LostRetransmissions;
            result.TailLossProbes += stats.TailLossProbes;
            result.OutOfOrderQueued += stats.OutOfOrderQueued;
            result.ChecksumErrors += stats.ChecksumErrors;
        }
        result.TxPayloadBytesCopied = client.Transport.Interface.Stats.TxPayloadBytesCopied;
        result.RxPayloadBytesCopied = server.Transport.Interface.Stats.RxPayloadBytesCopied;
        if (client.Memory is { } cm && server.Memory is { } sm)
            result.DeviceMemory = FormattableString.Invariant(
                $"client device: {cm.BuffersRented:N0} SgaAlloc buffers lent ({cm.RentFallbacks:N0} managed), {cm.FramesChained:N0} frames chained ({cm.ChainedPayloadBytes:N0} payload bytes); server device: {sm.FramesLent:N0} frames lent to pop ({sm.ReceiveFallbacks:N0} copied for want of a slot)");
        result.AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        result.Frames = network.Stats.Transmitted;
        result.Network = network.Stats.ToString();
        client.LibOS.Dispose();
        server.LibOS.Dispose();
        result.WallTime = wall.Elapsed;
        return result;
    }

    private sealed record Host(DemiLibOS LibOS, InetStackTransport Transport, Ipv4Address Ip, DeviceMemory? Memory);

    private static Host AddHost(SimulatedNetwork network, VirtualTimeProvider clock, NetSimOptions o, string ip, string mac)
    {
        var macAddress = MacAddress.Parse(mac);
        var port = network.AddPort(macAddress);
        var secret = new byte[16];
        BitConverter.TryWriteBytes(secret, o.Seed);
        var options = new InetStackOptions
        {
            LinkAddress = macAddress,
            LocalAddress = Ipv4Address.Parse(ip),
            Tcp = new TcpOptions
            {
                IsnSecret = secret, CongestionControl = o.CongestionControl, DelayedAck = o.DelayedAck, MinRto = o.MinRto, Sack = o.Sack,
            },
        };
        // Device memory sized for the windows in flight: every connection's receive window in frames, and its send
        // buffer in push-sized buffers (plus the one being filled).
        var tcp = options.Tcp;
        var memory = o.DeviceMemory
            ? new DeviceMemory(port,
                receiveSlots: o.Connections * (tcp.ReceiveBufferSize / 536 + 64),
                applicationSlots: o.Connections * (tcp.SendBufferSize / o.PushSize + 4),
                applicationSlotSize: o.PushSize)
            : null;
        var transport = new InetStackTransport(memory ?? (IPhysicalLayer)port, options, clock);
        var libos = new DemiLibOS(transport, new LibOSOptions { Time = clock });
        return new Host(libos, transport, options.LocalAddress, memory);
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"{what}: {Errno.Name(rc)}");
    }

    /// <summary>A deterministic byte stream per connection (xorshift64*), cheap enough not to show in the profile.</summary>
    private sealed class ByteStream(ulong seed)
    {
        private ulong _state = seed == 0 ? 1 : seed;
        private ulong _carry;
        private int _carryLeft;

        public void Fill(Span<byte> span)
        {
            while (_carryLeft > 0 && !span.IsEmpty)
            {
                span[0] = (byte)_carry;
                _carry >>= 8;
                _carryLeft--;
                span = span[1..];
            }
            var words = MemoryMarshal.Cast<byte, ulong>(span);
            for (int i = 0; i < words.Length; i++) words[i] = Next();
            var tail = span[(words.Length * 8)..];
            if (tail.IsEmpty) return;
            _carry = Next();
            _carryLeft = 8;
            for (int i = 0; i < tail.Length; i++)
            {
                tail[i] = (byte)_carry;
                _carry >>= 8;
                _carryLeft--;
            }
        }

        private ulong Next()
        {
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            return _state * 0x2545F4914F6CDD1DUL;
        }
    }
}
