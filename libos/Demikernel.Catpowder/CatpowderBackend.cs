using Demikernel.InetStack;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>
/// catpowder's registration: InetStack over an AF_PACKET socket on <c>raw_socket.linux_interface_name</c>, in the
/// calling thread's network namespace, with the stack's keys (<see cref="InetStackConfig"/>). Every key is checked
/// before the socket is opened; the device's own checks (up, no kernel address clash, MSS within the MTU) follow.
/// </summary>
internal static class CatpowderBackend
{
    public static LibOSBackend Registration { get; } =
        new("catpowder", Create, "our TCP/IP (InetStack) over an AF_PACKET raw socket (raw_socket.linux_interface_name)");

    private static DeviceTransport<AfPacketPhysicalLayer> Create(IBackendConfig config, TimeProvider time)
    {
        string interfaceName = InetStackConfig.Required(config, "catpowder", "raw_socket", "linux_interface_name");
        var settings = InetStackConfig.Read(config, "catpowder");
        AfPacketPhysicalLayer phy;
        try
        {
            phy = AfPacketPhysicalLayer.Open(new AfPacketOptions { InterfaceName = interfaceName, Mtu = settings.Mtu });
        }
        catch (PacketSocketException e)
        {
            throw new BackendConfigException($"catpowder: raw_socket.linux_interface_name '{interfaceName}': {e.Message} ({config.Source})");
        }
        catch (ArgumentException e)
        {
            throw new BackendConfigException($"inetstack_config.mtu: {e.Message} ({config.Source})");
        }
        try
        {
            if (!phy.InterfaceUp)
                throw new BackendConfigException($"catpowder: interface '{interfaceName}' (raw_socket.linux_interface_name) is down: ip link set {interfaceName} up");
            if (phy.KernelAddress == settings.LocalAddress)
                throw new BackendConfigException(
                    $"catpowder: the kernel has {settings.LocalAddress} (demikernel.local_ipv4_addr) on '{interfaceName}' too and would answer ARP and reset TCP " +
                    $"connections to it: ip addr del {settings.LocalAddress}/{settings.PrefixLength} dev {interfaceName}");
            if (settings.Mss > phy.Capabilities.Mtu - 40)
                throw InetStackConfig.Bad(config, "inetstack_config", "mss", settings.Mss.ToString(), $"at most the MTU minus 40 ({phy.Capabilities.Mtu - 40})");
            return new DeviceTransport<AfPacketPhysicalLayer>("catpowder", phy, settings.ToOptions(phy.HardwareAddress), time);
        }
        catch
        {
            phy.Dispose();
            throw;
        }
    }
}
