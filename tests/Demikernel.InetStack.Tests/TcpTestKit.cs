using System.Buffers.Binary;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>Two hosts, A (client) and B (server), and helpers to connect them and look inside their TCP.</summary>
internal sealed class TcpPair : IDisposable
{
    public const string IpA = "10.77.0.1", IpB = "10.77.0.2";
    public const string MacA = "02:00:00:00:00:01", MacB = "02:00:00:00:00:02";

    public TcpPair(int seed = 1, LinkOptions? link = null, Func<TcpOptions, TcpOptions>? tcp = null,
        Func<IPhysicalLayer, IPhysicalLayer>? wrapA = null, Func<IPhysicalLayer, IPhysicalLayer>? wrapB = null, PhyCapabilities? capabilities = null)
    {
        Sim = new SimHarness(seed, link);
        InetStackOptions Configure(InetStackOptions o)
        {
            var t = o.Tcp with { IsnSecret = new byte[16], TimeWait = TimeSpan.FromSeconds(1) };
            return o with { Tcp = tcp?.Invoke(t) ?? t };
        }
        A = Sim.AddHost(IpA, MacA, Configure, wrapA, capabilities);
        B = Sim.AddHost(IpB, MacB, Configure, wrapB, capabilities);
    }

    public SimHarness Sim { get; }
    public SimHarness.Host A { get; }
    public SimHarness.Host B { get; }
    public VirtualTimeProvider Clock => Sim.Clock;

    public QDesc Listen(ushort port = 6379, int backlog = 16)
    {
        Assert.Equal(0, B.LibOS.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(0, B.LibOS.Bind(qd, new IPv4Endpoint(0, port)));
        Assert.Equal(0, B.LibOS.Listen(qd, backlog));
        return qd;
    }

    /// <summary>Listens on B, connects from A: (client qd on A, server qd on B).</summary>
    public (QDesc Client, QDesc Server) Connect(ushort port = 6379)
    {
        var listener = Listen(port);
        Assert.Equal(0, B.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, A.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, A.LibOS.Connect(client, B.Endpoint(port), out var connect));
        A.LibOS.WaitOk(connect, TimeSpan.FromSeconds(120)); // SYN retries (1 s, 2 s, ...) on a bad link
        var accepted = B.LibOS.WaitOk(accept, TimeSpan.FromSeconds(120));
        return (client, accepted.AcceptedQd);
    }

    public static TcpControlBlock Tcb(SimHarness.Host host, QDesc qd) => ((TcpSocket)host.LibOS.GetQueue(qd)!).ControlBlock!;

    public static TcpState StateOf(SimHarness.Host host, QDesc qd) => ((TcpSocket)host.LibOS.GetQueue(qd)!).State;

    public static void Push(SimHarness.Host host, QDesc qd, ReadOnlySpan<byte> data)
    {
        var sga = host.LibOS.Bytes(data);
        Assert.Equal(0, host.LibOS.Push(qd, sga, out var qt));
        host.LibOS.SgaFree(sga);
        host.LibOS.WaitOk(qt, TimeSpan.FromSeconds(600));
    }

    /// <summary>Pops until <paramref name="count"/> bytes arrived.</summary>
    public static byte[] PopExactly(SimHarness.Host host, QDesc qd, int count)
    {
        var result = new byte[count];
        int got = 0;
        while (got < count)
        {
            Assert.Equal(0, host.LibOS.Pop(qd, out var qt));
            var r = host.LibOS.WaitOk(qt, TimeSpan.FromSeconds(600));
            Assert.False(r.Sga.IsEmpty, $"end of stream after {got} of {count} bytes");
            got += r.Sga.CopyTo(result.AsSpan(got));
            host.LibOS.SgaFree(r.Sga);
        }
        return result;
    }

    public void Dispose() => Sim.Dispose();
}

/// <summary>Reads the TCP header of an Ethernet/IPv4 frame, for fault predicates and assertions.</summary>
internal readonly record struct FrameTcp(bool IsTcp, TcpFlags Flags, uint Seq, uint Ack, int PayloadLength, ushort Checksum)
{
    public static FrameTcp Read(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 54 || frame[12] != 0x08 || frame[13] != 0x00 || frame[23] != 6) return default;
        int ihl = (frame[14] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
        var tcp = frame[(14 + ihl)..];
        int off = (tcp[12] >> 4) * 4;
        return new FrameTcp(true, (TcpFlags)tcp[13], BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]), BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]),
            total - ihl - off, BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]));
    }
}
