namespace Demikernel.Runtime;

/// <summary>Settings every libOS shares, whatever its transport.</summary>
public sealed record LibOSOptions
{
    /// <summary>Bytes reserved in front of every buffer for protocol headers (Ethernet + IPv4 + TCP with options).</summary>
    public const int DefaultHeadroom = 128;

    /// <summary>The clock for timers and timeouts; tests inject a <see cref="VirtualTimeProvider"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// How long an idle libOS keeps polling before it blocks in the transport. A blocked thread pays ~50 µs to wake on
    /// this kind of VM, more than a loopback round trip, so request/response traffic should find the libOS spinning.
    /// </summary>
    public TimeSpan SpinBudget { get; init; } = TimeSpan.FromMicroseconds(200);

    /// <summary>
    /// After the spin budget, how often an idle libOS polls, sleeping in between, for <see cref="IdlePollWindow"/>
    /// before it blocks in the transport; zero (the default) blocks at once. A blocked libOS is woken by the kernel for
    /// each batch of arrivals, and under load on this kind of VM those wake-ups were a quarter of an af_xdp server's
    /// core per request. Polling every interval instead gathers the arrivals of an interval into one pass, at the price
    /// of up to one interval of latency for a request that finds the libOS asleep (work posted from another thread
    /// waits as long).
    /// </summary>
    public TimeSpan IdlePollInterval { get; init; } = TimeSpan.Zero;

    /// <summary>How long, counted from the end of the spin budget, an idle libOS polls every <see cref="IdlePollInterval"/>.</summary>
    public TimeSpan IdlePollWindow { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Bytes of headroom in front of every buffer (room for Ethernet, IPv4 and TCP headers).</summary>
    public int Headroom { get; init; } = DefaultHeadroom;

    /// <summary>Largest POP result when the caller does not ask for a size.</summary>
    public int DefaultPopSize { get; init; } = 16 * 1024;
}
