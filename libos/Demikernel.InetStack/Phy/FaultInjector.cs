using Demikernel.Runtime;

namespace Demikernel.InetStack.Phy;

/// <summary>Decides from a frame's bytes whether a fault applies to it.</summary>
internal delegate bool FramePredicate(ReadOnlySpan<byte> frame);

/// <summary>Probabilities of faults the <see cref="FaultInjector"/> applies, per direction.</summary>
internal sealed record FaultOptions
{
    public double TransmitLoss { get; init; }
    public double ReceiveLoss { get; init; }
    /// <summary>Chance that a received frame has one bit flipped (after the Ethernet header).</summary>
    public double ReceiveCorruption { get; init; }
    /// <summary>Frames matching this are dropped on transmit and receive, whatever the probabilities.</summary>
    public FramePredicate? DropWhen { get; init; }
}

/// <summary>Drops and corrupts frames around any device, from a seed, so a failure replays exactly.</summary>
internal sealed class FaultInjector : PhysicalLayerDecorator
{
    private readonly Random _random;

    public FaultInjector(IPhysicalLayer inner, FaultOptions options, int seed) : base(inner)
    {
        Options = options;
        _random = new Random(seed);
    }

    /// <summary>The faults to apply; may be swapped during a run (e.g. to heal a partition).</summary>
    public FaultOptions Options { get; set; }

    public long Dropped { get; private set; }
    public long Corrupted { get; private set; }

    public override bool Transmit(ReadOnlySpan<byte> frame)
    {
        if (Options.DropWhen?.Invoke(frame) == true || Chance(Options.TransmitLoss))
        {
            Dropped++;
            return true; // lost on the wire: the sender cannot tell
        }
        return base.Transmit(frame);
    }

    public override int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        int n = base.Receive(pool, frames);
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            var frame = frames[i]!;
            frames[i] = null;
            if (Options.DropWhen?.Invoke(frame.Span) == true || Chance(Options.ReceiveLoss))
            {
                Dropped++;
                pool.Discard(frame);
                continue;
            }
            if (frame.Length > Wire.EthernetFrame.HeaderLength && Chance(Options.ReceiveCorruption))
            {
                int at = _random.Next(Wire.EthernetFrame.HeaderLength, frame.Length);
                frame.Span[at] ^= (byte)(1 << _random.Next(8));
                Corrupted++;
            }
            frames[kept++] = frame;
        }
        return kept;
    }

    private bool Chance(double p) => p > 0 && _random.NextDouble() < p;
}
