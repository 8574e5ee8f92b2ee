using System.Text;
using Demikernel;
using Demikernel.Catnip;
using Demikernel.InetStack;
using Demikernel.Runtime;

namespace Demikernel.Tests.Support;

/// <summary>
/// A test assembly that links this file run as a program (Demikernel.Catnip.Tests, Demikernel.Conformance.Tests), so a
/// test can put a client in a process of its own (DPDK's EAL initialises once per process; a catmem or catnap client
/// beside a server in another process): <c>dotnet ASSEMBLY.dll MODE --libos NAME --config FILE --target IP:PORT</c>.
/// The checks are also called in-process (<see cref="Queue"/> on catloop, whose streams never leave one libOS).
/// <list type="bullet">
/// <item><c>resp</c>: SET/GET/DEL round trips of values from 0 bytes to 300 kB, and 200 pipelined SETs and GETs in one
/// push each, every reply compared byte for byte with what redis-server answers;</item>
/// <item><c>refused</c>: a connect to a port nobody listens on fails with ECONNREFUSED within 5 s;</item>
/// <item><c>device</c> (no target): on catnip, the port's driver and the checksum offloads it runs with;</item>
/// <item><c>queue</c>: the queue API against an echo server: getpeername and getsockname of two connections, a
/// multi-segment SGA comes back intact, WaitAny over two
/// connections reports each one's pop with its index, a wait that times out leaves its pop pending (and the pop then
/// completes), and a closed descriptor answers EBADF.</item>
/// </list>
/// Prints one line and exits 0 only if every check passed.
/// </summary>
public static class Host
{
    public static int Main(string[] args)
    {
        if (args.Length < 1) return Usage();
        string? libosName = null, configPath = null, target = null;
        for (int i = 1; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--libos": libosName = args[i + 1]; break;
                case "--config": configPath = args[i + 1]; break;
                case "--target": target = args[i + 1]; break;
                default: return Usage();
            }
        }
        IPv4Endpoint? to = null;
        if (target is not null && IPv4Endpoint.TryParse(target, out var parsed)) to = parsed;
        if (to is null && args[0] != "device") return Usage();
        var config = configPath is null ? new LibOSConfig() : LibOSConfig.Load(configPath);
        using var libos = LibOS.Create(libosName, config);
        try
        {
            string result = args[0] switch
            {
                "device" => Device(libos),
                "resp" => Resp(libos, to!.Value),
                "refused" => Refused(libos, to!.Value),
                "queue" => Queue(libos, to!.Value),
                _ => throw new ArgumentException($"unknown mode {args[0]}"),
            };
            Console.WriteLine($"ok: {result}");
            return 0;
        }
        catch (Exception e) when (e is HostCheckException or TimeoutException)
        {
            Console.WriteLine($"FAILED: {e.Message}");
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine($"usage: {typeof(Host).Assembly.GetName().Name} resp|refused|queue --libos NAME --config FILE --target IP:PORT\n" +
            $"       {typeof(Host).Assembly.GetName().Name} device --libos catnip --config FILE");
        return 2;
    }

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    internal static string Resp(DemiLibOS libos, IPv4Endpoint to)
    {
        var qd = Connect(libos, to);
        int checks = 0;
        var catnip = libos.Transport as DeviceTransport<DpdkPhysicalLayer>;
        long txCopied = catnip?.Stack.Interface.Stats.TxPayloadBytesCopied ?? 0;
        foreach (int size in (int[])[0, 1, 10, 1000, 1460, 1461, 5000, 100_000, 300_000])
        {
            string key = $"catnip:{size}";
            byte[] value = Value(size, size);
            Exchange(libos, qd, Command("SET", Encoding.ASCII.GetBytes(key), value), "+OK\r\n"u8.ToArray(), $"SET {key}");
            Exchange(libos, qd, Command("GET", Encoding.ASCII.GetBytes(key)), Bulk(value), $"GET {key}");
            checks += 2;
            // Requests up to an application mbuf (16 kB) are SgaAlloc'd in one and sent chained: no payload byte copied.
            if (catnip is { Device.ZeroCopyTransmit: true } && size <= 5000)
                Check(catnip.Stack.Interface.Stats.TxPayloadBytesCopied == txCopied,
                    $"the stack copied {catnip.Stack.Interface.Stats.TxPayloadBytesCopied - txCopied} pushed payload bytes (SET of {size} bytes)");
        }
        // Pipelined: 200 SETs in one push, one reply stream; then 200 GETs the same way.
        var sets = new List<byte>();
        var gets = new List<byte>();
        var okReplies = new List<byte>();
        var getReplies = new List<byte>();
        for (int i = 0; i < 200; i++)
        {
            byte[] key = Encoding.ASCII.GetBytes($"pipe:{i}");
            byte[] value = Value(i * 7 % 97, i);
            sets.AddRange(Command("SET", key, value));
            gets.AddRange(Command("GET", key));
            okReplies.AddRange("+OK\r\n"u8.ToArray());
            getReplies.AddRange(Bulk(value));
        }
        Exchange(libos, qd, [.. sets], [.. okReplies], "200 pipelined SETs");
        Exchange(libos, qd, [.. gets], [.. getReplies], "200 pipelined GETs");
        Exchange(libos, qd, Command("DEL", "catnip:5000"u8.ToArray()), ":1\r\n"u8.ToArray(), "DEL");
        Exchange(libos, qd, Command("GET", "catnip:5000"u8.ToArray()), "$-1\r\n"u8.ToArray(), "GET after DEL");
        checks += 404;
        libos.Close(qd);
        return $"{checks} replies as expected{ZeroCopyReceive(libos)}";
    }

    /// <summary>
    /// On catnip: every received frame reached pop in its own mbuf (no byte copied by the device or the stack) and every
    /// lent mbuf went back to DPDK once the SGAs were freed and the connection closed; with rx_zero_copy off, that frames
    /// were copied and none lent.
    /// </summary>
    private static string ZeroCopyReceive(DemiLibOS libos)
    {
        if (libos.Transport is not DeviceTransport<DpdkPhysicalLayer> catnip) return "";
        var device = catnip.Device.Stats;
        if (!catnip.Device.ZeroCopyReceive)
        {
            Check(device.RxFramesLent == 0 && device.RxFramesCopied > 0, "rx_zero_copy is off, yet received frames were lent or none copied");
            return $"; {device.RxFramesCopied} frames received by copy (rx_zero_copy off)";
        }
        long stackCopied = catnip.Stack.Interface.Stats.RxPayloadBytesCopied;
        Check(device.RxFramesLent > 0, "no received frame was lent to the stack in its mbuf");
        Check(device.RxBytesCopied == 0 && device.RxFramesCopied == 0,
            $"the device copied {device.RxFramesCopied} received frames ({device.RxBytesCopied} bytes)");
        Check(stackCopied == 0, $"the stack copied {stackCopied} received payload bytes on the way to pop");
        Check(catnip.Device.MbufsLent == 0, $"{catnip.Device.MbufsLent} received mbufs still lent after every SGA was freed and the connection closed");
        string transmit = "";
        if (catnip.Device.ZeroCopyTransmit)
        {
            Check(device.TxFramesChained > 0, "no segment was sent chained to its application mbuf");
            transmit = $"; {device.TxFramesChained} segments sent from the application's mbufs without a copy";
        }
        return $"; {device.RxFramesLent} frames received without a copy (0 bytes copied), every mbuf back{transmit}";
    }

    /// <summary>catnip's port: its driver and the checksum offloads the stack leaves to it.</summary>
    private static string Device(DemiLibOS libos)
    {
        if (libos.Transport is not DeviceTransport<DpdkPhysicalLayer> catnip) throw new HostCheckException("not a catnip libOS");
        return $"driver={catnip.Device.Driver} offloads={catnip.Device.Capabilities.Offloads}";
    }

    internal static string Refused(DemiLibOS libos, IPv4Endpoint to)
    {
        Check(libos.Socket(SocketKind.Stream, out var qd) == 0, "socket");
        Check(libos.Connect(qd, to, out var qt) == 0, "connect");
        var started = DateTime.UtcNow;
        Check(libos.Wait(qt, out var result, TimeSpan.FromSeconds(5)) == 0, "connect did not complete within 5 s");
        var elapsed = DateTime.UtcNow - started;
        Check(result.Ret == Errno.ECONNREFUSED, $"connect to {to} ended with {result.ErrorName ?? "success"}, expected ECONNREFUSED");
        libos.Close(qd);
        return $"ECONNREFUSED after {elapsed.TotalMilliseconds:F0} ms";
    }

    internal static string Queue(DemiLibOS libos, IPv4Endpoint to)
    {
        var a = Connect(libos, to);
        var b = Connect(libos, to);
        // Each end knows its peer (the target) and its own distinct local port.
        Check(libos.GetPeerName(a, out var peer) == 0 && (IPv4Endpoint)peer == to, $"getpeername gave {peer}, expected {to}");
        Check(libos.GetSockName(a, out var localA) == 0, "getsockname");
        Check(libos.GetSockName(b, out var localB) == 0, "getsockname");
        Check(localA.Port != 0 && localA.Port != localB.Port, $"local ports {localA.Port} and {localB.Port}: expected two distinct ports");
        // A three-segment SGA (100 B, 2000 B, 70000 B) pushed at once comes back byte for byte.
        var sga = libos.SgaAlloc([100, 2000, 70_000]);
        Check(sga.SegmentCount == 3, $"SgaAlloc gave {sga.SegmentCount} segments");
        var sent = new byte[sga.TotalLength];
        for (int i = 0; i < sent.Length; i++) sent[i] = (byte)(i * 7 + 3);
        int offset = 0;
        for (int s = 0; s < 3; s++)
        {
            var span = sga.Segment(s).Span;
            sent.AsSpan(offset, span.Length).CopyTo(span);
            offset += span.Length;
        }
        Check(libos.Push(a, sga, out var pushed) == 0, "push");
        libos.SgaFree(sga); // the libOS holds its own reference until the push completes
        Check(libos.Wait(pushed, out var pr, Limit) == 0 && pr.Succeeded, $"push: {pr.ErrorName}");
        var back = new byte[sent.Length];
        int got = 0;
        while (got < back.Length)
        {
            Check(libos.Pop(a, out var qt) == 0, "pop");
            Check(libos.Wait(qt, out var r, Limit) == 0 && r.Succeeded && !r.Sga.IsEmpty, $"pop after {got} bytes: {r.ErrorName}");
            Check(got + r.Sga.TotalLength <= back.Length, "more bytes came back than were sent");
            got += r.Sga.CopyTo(back.AsSpan(got));
            libos.SgaFree(r.Sga);
        }
        Check(back.AsSpan().SequenceEqual(sent), "the echoed multi-segment SGA differs");

        // WaitAny: a pop on each connection, only b's peer gets data first; then a's.
        Check(libos.Pop(a, out var popA) == 0, "pop a");
        Check(libos.Pop(b, out var popB) == 0, "pop b");
        QToken[] tokens = [popA, popB];
        PushText(libos, b, "to-b");
        Check(libos.WaitAny(tokens, out var first, out int index, Limit) == 0, "WaitAny (b) timed out");
        Check(index == 1 && first.Qd == b && first.Sga.TotalLength > 0, $"WaitAny reported index {index}, expected b's pop (1)");
        libos.SgaFree(first.Sga);
        PushText(libos, a, "to-a");
        Check(libos.WaitAny(tokens.AsSpan(0, 1), out var second, out index, Limit) == 0, "WaitAny (a) timed out");
        Check(index == 0 && second.Qd == a && second.Sga.TotalLength > 0, $"WaitAny reported index {index}, expected a's pop (0)");
        libos.SgaFree(second.Sga);

        // A wait that times out leaves the operation pending; the data that comes later completes the same qtoken.
        Check(libos.Pop(a, out var late) == 0, "pop (late)");
        Check(libos.Wait(late, out _, TimeSpan.FromMilliseconds(20)) == Errno.ETIMEDOUT, "a wait on a pop with nothing to read did not time out");
        PushText(libos, a, "late");
        Check(libos.Wait(late, out var third, Limit) == 0 && third.Succeeded && third.Sga.TotalLength > 0, $"the timed-out pop did not complete later: {third.ErrorName}");
        libos.SgaFree(third.Sga);

        // A closed descriptor is gone.
        Check(libos.Close(b) == 0, "close");
        Check(libos.Pop(b, out _) == Errno.EBADF, "pop on a closed descriptor did not fail with EBADF");
        Check(libos.Close(b) == Errno.EBADF, "a second close did not fail with EBADF");
        libos.Close(a);
        return "peer and local names right, multi-segment SGA intact, WaitAny indices right, a timed-out pop completes later, EBADF after close";
    }

    private static void PushText(DemiLibOS libos, QDesc qd, string text)
    {
        var sga = libos.SgaAlloc(text.Length);
        Encoding.ASCII.GetBytes(text, sga.First.Span);
        Check(libos.Push(qd, sga, out var qt) == 0, "push");
        Check(libos.Wait(qt, out var r, Limit) == 0 && r.Succeeded, $"push: {r.ErrorName}");
        libos.SgaFree(sga);
    }

    private static QDesc Connect(DemiLibOS libos, IPv4Endpoint to)
    {
        Check(libos.Socket(SocketKind.Stream, out var qd) == 0, "socket");
        Check(libos.Connect(qd, to, out var qt) == 0, "connect");
        Check(libos.Wait(qt, out var r, Limit) == 0, "connect timed out");
        Check(r.Succeeded, $"connect to {to}: {r.ErrorName}");
        return qd;
    }

    /// <summary>Pushes <paramref name="request"/> and pops until exactly <paramref name="expected"/>'s length has come back, then compares.</summary>
    private static void Exchange(DemiLibOS libos, QDesc qd, byte[] request, byte[] expected, string what)
    {
        var sga = libos.SgaAlloc(request.Length);
        int copied = 0;
        for (int s = 0; s < sga.SegmentCount; s++)
        {
            var span = sga.Segment(s).Span;
            request.AsSpan(copied, span.Length).CopyTo(span);
            copied += span.Length;
        }
        Check(libos.Push(qd, sga, out var pushed) == 0, $"{what}: push");
        Check(libos.Wait(pushed, out var pr, Limit) == 0 && pr.Succeeded, $"{what}: push did not complete: {pr.ErrorName}");
        libos.SgaFree(sga);
        var reply = new byte[expected.Length];
        int got = 0;
        while (got < expected.Length)
        {
            Check(libos.Pop(qd, out var qt) == 0, $"{what}: pop");
            Check(libos.Wait(qt, out var r, Limit) == 0, $"{what}: no reply within {Limit.TotalSeconds} s after {got} of {expected.Length} bytes");
            Check(r.Succeeded && !r.Sga.IsEmpty, $"{what}: pop: {r.ErrorName ?? "server closed"}");
            Check(got + r.Sga.TotalLength <= expected.Length, $"{what}: {got + r.Sga.TotalLength} bytes of reply, expected {expected.Length}");
            got += r.Sga.CopyTo(reply.AsSpan(got));
            libos.SgaFree(r.Sga);
        }
        if (!reply.AsSpan().SequenceEqual(expected))
        {
            int at = reply.AsSpan().CommonPrefixLength(expected);
            throw new HostCheckException($"{what}: reply differs at byte {at} of {expected.Length}: " +
                                         $"'{Encoding.ASCII.GetString(reply, at, Math.Min(40, reply.Length - at))}'");
        }
    }

    private static byte[] Value(int size, int seed)
    {
        var value = new byte[size];
        for (int i = 0; i < size; i++) value[i] = (byte)('a' + (i * 31 + seed) % 26);
        return value;
    }

    private static byte[] Command(string name, params byte[][] args)
    {
        var b = new List<byte>();
        b.AddRange(Encoding.ASCII.GetBytes($"*{args.Length + 1}\r\n${name.Length}\r\n{name}\r\n"));
        foreach (var a in args)
        {
            b.AddRange(Encoding.ASCII.GetBytes($"${a.Length}\r\n"));
            b.AddRange(a);
            b.AddRange("\r\n"u8.ToArray());
        }
        return [.. b];
    }

    private static byte[] Bulk(byte[] value) => [.. Encoding.ASCII.GetBytes($"${value.Length}\r\n"), .. value, .. "\r\n"u8.ToArray()];

    private static void Check(bool condition, string message)
    {
        if (!condition) throw new HostCheckException(message);
    }
}

internal sealed class HostCheckException(string message) : Exception(message);
