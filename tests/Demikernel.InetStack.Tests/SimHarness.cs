using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

/// <summary>Hosts running InetStack on a simulated network with a fake clock.</summary>
internal sealed class SimHarness : IDisposable
{
    private readonly List<Host> _hosts = [];

    public SimHarness(int seed = 1, LinkOptions? link = null)
    {
        Clock = new VirtualTimeProvider();
        Network = new SimulatedNetwork(Clock, seed, link ?? new LinkOptions { Latency = TimeSpan.FromMicroseconds(50) });
    }

    public VirtualTimeProvider Clock { get; }
    public SimulatedNetwork Network { get; }

    public sealed record Host(DemiLibOS LibOS, InetStackTransport Transport, SimulatedPort Port, Ipv4Address Ip, MacAddress Mac)
    {
        public NetworkInterface Interface => Transport.Interface;
        public IPv4Endpoint Endpoint(ushort port) => new(Ip.Value, port);
    }

    public Host AddHost(string ip, string mac, Func<InetStackOptions, InetStackOptions>? configure = null, Func<IPhysicalLayer, IPhysicalLayer>? wrap = null,
        PhyCapabilities? capabilities = null)
    {
        var macAddress = MacAddress.Parse(mac);
        var port = Network.AddPort(macAddress, capabilities);
        var options = new InetStackOptions { LinkAddress = macAddress, LocalAddress = Ipv4Address.Parse(ip) };
        if (configure is not null) options = configure(options);
        var transport = new InetStackTransport(wrap?.Invoke(port) ?? port, options, Clock);
        var libos = new DemiLibOS(transport, new LibOSOptions { Time = Clock, SpinBudget = TimeSpan.Zero });
        var host = new Host(libos, transport, port, options.LocalAddress, macAddress);
        _hosts.Add(host);
        return host;
    }

    public bool RunUntil(Func<bool> done, TimeSpan limit) => Network.RunUntil(done, limit);

    /// <summary>A TCP connection from <paramref name="client"/> to a listener of <paramref name="server"/> on
    /// <paramref name="port"/>: the client's and the server's descriptors once both ends are established.</summary>
    public static (QDesc Client, QDesc Server) Connect(Host client, Host server, ushort port = 7000)
    {
        Assert.Equal(0, server.LibOS.Socket(SocketKind.Stream, out var listener));
        Assert.Equal(0, server.LibOS.Bind(listener, new IPv4Endpoint(0, port)));
        Assert.Equal(0, server.LibOS.Listen(listener, 4));
        Assert.Equal(0, server.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, client.LibOS.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(0, client.LibOS.Connect(qd, server.Endpoint(port), out var connect));
        client.LibOS.WaitOk(connect);
        return (qd, server.LibOS.WaitOk(accept).AcceptedQd);
    }

    public void Dispose()
    {
        foreach (var h in _hosts) h.LibOS.Dispose();
    }
}

internal static class LibOSTestExtensions
{
    public static QDesc UdpSocket(this DemiLibOS libos, ushort port = 0)
    {
        Assert.Equal(0, libos.Socket(SocketKind.Datagram, out var qd));
        if (port != 0) Assert.Equal(0, libos.Bind(qd, new IPv4Endpoint(0, port)));
        return qd;
    }

    public static Sga Bytes(this DemiLibOS libos, ReadOnlySpan<byte> data)
    {
        var sga = libos.SgaAlloc(data.Length);
        data.CopyTo(sga.Span);
        return sga;
    }

    public static Sga Text(this DemiLibOS libos, string text) => libos.Bytes(System.Text.Encoding.ASCII.GetBytes(text));

    public static QResult WaitOk(this DemiLibOS libos, QToken qt, TimeSpan? timeout = null)
    {
        int rc = libos.Wait(qt, out var result, timeout ?? TimeSpan.FromSeconds(5));
        Assert.True(rc == 0, $"wait: {Errno.Name(rc)}");
        Assert.True(result.Succeeded, result.ToString());
        return result;
    }

    public static string AsText(this in Sga sga) => System.Text.Encoding.ASCII.GetString(sga.ToArray());
}
