using Demikernel.InetStack;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>
/// The catpowder libOS transport: InetStack (our TCP/IP) over an <see cref="AfPacketPhysicalLayer"/>.
/// <code>
///   DemiLibOS ──▶ CatpowderTransport ──▶ InetStackTransport ──▶ AfPacketPhysicalLayer ──▶ AF_PACKET socket on IF
/// </code>
/// It only names the pair and keeps both at hand (for counters and tests); all the work is the stack's and the device's.
/// </summary>
internal sealed class CatpowderTransport : INetworkTransport
{
    public CatpowderTransport(AfPacketPhysicalLayer device, InetStackOptions options, TimeProvider time)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Stack = new InetStackTransport(device, options, time);
    }

    public string Name => "catpowder";

    public AfPacketPhysicalLayer Device { get; }

    public InetStackTransport Stack { get; }

    public void Attach(DemiLibOS libos) => Stack.Attach(libos);

    public int Socket(SocketKind kind, out IoQueue? queue) => Stack.Socket(kind, out queue);

    public bool Poll() => Stack.Poll();

    public void Block(TimeSpan? timeout) => Stack.Block(timeout);

    /// <summary>Wakes the AF_PACKET device's ppoll through its eventfd.</summary>
    public void Wake() => Stack.Wake();

    public bool TryGetNextDeadline(out long due) => ((INetworkTransport)Stack).TryGetNextDeadline(out due);

    public void Dispose() => Stack.Dispose();
}
