using Demikernel.InetStack;
using Demikernel.Runtime;

namespace Demikernel.Catnip;

/// <summary>
/// The catnip libOS transport: InetStack (our TCP/IP) over a <see cref="DpdkPhysicalLayer"/>.
/// <code>
///   DemiLibOS ──▶ CatnipTransport ──▶ InetStackTransport ──▶ DpdkPhysicalLayer ──▶ DPDK port (af_packet, memif, ...)
/// </code>
/// It only names the pair and keeps both at hand (for counters and tests); all the work is the stack's and the device's.
/// </summary>
internal sealed class CatnipTransport : INetworkTransport
{
    public CatnipTransport(DpdkPhysicalLayer device, InetStackOptions options, TimeProvider time)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Stack = new InetStackTransport(device, options, time);
    }

    public string Name => "catnip";

    public DpdkPhysicalLayer Device { get; }

    public InetStackTransport Stack { get; }

    public void Attach(DemiLibOS libos) => Stack.Attach(libos);

    public int Socket(SocketKind kind, out IoQueue? queue) => Stack.Socket(kind, out queue);

    public bool Poll() => Stack.Poll();

    public void Block(TimeSpan? timeout) => Stack.Block(timeout);

    public void Wake() => Stack.Wake();

    public bool TryGetNextDeadline(out long due) => ((INetworkTransport)Stack).TryGetNextDeadline(out due);

    public void Dispose() => Stack.Dispose();
}
