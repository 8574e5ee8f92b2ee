using Demikernel.InetStack.Phy;
using Demikernel.Runtime;

namespace Demikernel.InetStack;

/// <summary>
/// A libOS transport that is our TCP/IP stack over one device: catpowder's AF_PACKET socket, catnip's DPDK port.
/// <code>
///   DemiLibOS ──▶ DeviceTransport (the backend's name) ──▶ InetStackTransport ──▶ TDevice ──▶ the wire
/// </code>
/// It only names the pair and keeps both at hand (for counters and tests); all the work is the stack's and the device's.
/// </summary>
internal sealed class DeviceTransport<TDevice> : INetworkTransport where TDevice : IPhysicalLayer
{
    public DeviceTransport(string name, TDevice device, InetStackOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(device);
        Name = name;
        Device = device;
        Stack = new InetStackTransport(device, options, time);
    }

    public string Name { get; }

    public TDevice Device { get; }

    public InetStackTransport Stack { get; }

    public void Attach(DemiLibOS libos) => Stack.Attach(libos);

    public int Socket(SocketKind kind, out IoQueue? queue) => Stack.Socket(kind, out queue);

    public bool Poll() => Stack.Poll();

    public void EndPass() => Stack.EndPass();

    public void Block(TimeSpan? timeout) => Stack.Block(timeout);

    /// <summary>Wakes the device's wait (catpowder's ppoll through its eventfd, catnip's polling sleep).</summary>
    public void Wake() => Stack.Wake();

    public bool TryGetNextDeadline(out long due) => ((INetworkTransport)Stack).TryGetNextDeadline(out due);

    public void Dispose() => Stack.Dispose();
}
