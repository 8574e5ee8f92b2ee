using Demikernel.InetStack;
using Demikernel.InetStack.Phy;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>
/// catpowder's registration: InetStack over <c>raw_socket.linux_interface_name</c>, in the calling thread's network
/// namespace, with the stack's keys (<see cref="InetStackConfig"/>). <c>raw_socket.mode</c> picks the device:
/// <c>af_packet</c> (default: PACKET_MMAP rings on an AF_PACKET socket, works on any interface and with a Linux peer's
/// offloads on) or <c>af_xdp</c> (an XDP socket on <c>raw_socket.xdp_queue_id</c>, with libxdp's program attached).
/// Every key is checked before the device is opened; the device's own checks (up, no kernel address clash, MSS within
/// the MTU) follow.
/// </summary>
internal static class CatpowderBackend
{
    public static LibOSBackend Registration { get; } =
        new("catpowder", Create, "our TCP/IP (InetStack) over an AF_PACKET (PACKET_MMAP) or AF_XDP socket (raw_socket.linux_interface_name, raw_socket.mode)");

    private static INetworkTransport Create(IBackendConfig config, TimeProvider time)
    {
        string interfaceName = InetStackConfig.Required(config, "catpowder", "raw_socket", "linux_interface_name");
        string mode = config.GetString("raw_socket", "mode", "af_packet");
        if (mode is not ("af_packet" or "af_xdp"))
            throw InetStackConfig.Bad(config, "raw_socket", "mode", mode, "af_packet or af_xdp");
        var settings = InetStackConfig.Read(config, "catpowder");
        if (mode == "af_xdp")
        {
            int queue = config.GetInt("raw_socket", "xdp_queue_id", 0);
            if (queue < 0) throw InetStackConfig.Bad(config, "raw_socket", "xdp_queue_id", queue.ToString(), "a queue number (0 or more)");
            string bind = config.GetString("raw_socket", "xdp_bind", "auto");
            var bindMode = bind switch
            {
                "auto" => XdpBindMode.Auto,
                "copy" => XdpBindMode.Copy,
                "zero_copy" => XdpBindMode.ZeroCopy,
                _ => throw InetStackConfig.Bad(config, "raw_socket", "xdp_bind", bind, "auto, copy or zero_copy"),
            };
            string attach = config.GetString("raw_socket", "xdp_attach", "auto");
            var attachMode = attach switch
            {
                "auto" => XdpAttachMode.Auto,
                "generic" => XdpAttachMode.Generic,
                "native" => XdpAttachMode.Native,
                _ => throw InetStackConfig.Bad(config, "raw_socket", "xdp_attach", attach, "auto, generic or native"),
            };
            bool rxZeroCopy = config.GetBool("raw_socket", "rx_zero_copy", true);
            var options = new XdpOptions
            {
                InterfaceName = interfaceName, Mtu = settings.Mtu, QueueId = (uint)queue, Bind = bindMode, Attach = attachMode, ZeroCopyReceive = rxZeroCopy,
            };
            XdpPhysicalLayer xdp = Open(config, interfaceName, "af_xdp", () => XdpPhysicalLayer.Open(options));
            return Build(config, settings, time, interfaceName, xdp, xdp.InterfaceUp, xdp.KernelAddress, xdp.HardwareAddress);
        }
        var packet = Open(config, interfaceName, "af_packet", () => AfPacketPhysicalLayer.Open(new AfPacketOptions { InterfaceName = interfaceName, Mtu = settings.Mtu }));
        return Build(config, settings, time, interfaceName, packet, packet.InterfaceUp, packet.KernelAddress, packet.HardwareAddress);
    }

    private static T Open<T>(IBackendConfig config, string interfaceName, string mode, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (PacketSocketException e)
        {
            throw new BackendConfigException($"catpowder ({mode}): raw_socket.linux_interface_name '{interfaceName}': {e.Message} ({config.Source})");
        }
        catch (ArgumentException e)
        {
            throw new BackendConfigException($"inetstack_config.mtu: {e.Message} ({config.Source})");
        }
    }

    private static DeviceTransport<TDevice> Build<TDevice>(IBackendConfig config, StackSettings settings, TimeProvider time,
        string interfaceName, TDevice phy, bool up, InetStack.Wire.Ipv4Address? kernelAddress, InetStack.Wire.MacAddress mac)
        where TDevice : IPhysicalLayer
    {
        try
        {
            if (!up)
                throw new BackendConfigException($"catpowder: interface '{interfaceName}' (raw_socket.linux_interface_name) is down: ip link set {interfaceName} up");
            if (kernelAddress == settings.LocalAddress)
                throw new BackendConfigException(
                    $"catpowder: the kernel has {settings.LocalAddress} (demikernel.local_ipv4_addr) on '{interfaceName}' too and would answer ARP and reset TCP " +
                    $"connections to it: ip addr del {settings.LocalAddress}/{settings.PrefixLength} dev {interfaceName}");
            if (settings.Mss > phy.Capabilities.Mtu - 40)
                throw InetStackConfig.Bad(config, "inetstack_config", "mss", settings.Mss.ToString(), $"at most the MTU minus 40 ({phy.Capabilities.Mtu - 40})");
            return new DeviceTransport<TDevice>("catpowder", phy, settings.ToOptions(mac), time);
        }
        catch
        {
            phy.Dispose();
            throw;
        }
    }
}
