using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Demikernel.Runtime;

namespace Demikernel.Bench;

/// <summary>
/// A received frame's way from device memory to the application's pop and free, as catnip does it (issue 13):
/// <list type="bullet">
/// <item><c>Copy</c>: rent a pool buffer, copy the frame out of the device's memory into it (catnip before, and with
/// <c>dpdk.rx_zero_copy: false</c>), strip the headers, hand it to the application, which frees it;</item>
/// <item><c>Lend</c>: wrap the device's memory itself in a reused foreign <see cref="DemiBuffer"/> (catnip's
/// <c>DpdkPhysicalLayer.Lend</c>), strip the headers, hand it over; the free gives the memory back to its owner
/// (catnip: <c>rte_pktmbuf_free</c>, here nothing, so the figure is the managed side alone).</item>
/// </list>
/// Both touch the payload's first and last byte; the application's own reading of it costs the same either way and is
/// left out, so the figure is the receive path's. Frame sizes: a GET request and a full 1448-byte TCP segment.
/// </summary>
[MemoryDiagnoser]
public class ReceivePathBenchmarks : IBufferOwner
{
    private const int Headers = 14 + 20 + 32; // Ethernet, IPv4, TCP with timestamps
    private const int Headroom = 128;
    private BufferPool _pool = null!;
    private byte[] _device = null!; // the device's receive memory (pinned, as DPDK's is): one frame after its headroom
    private nint _deviceAddress;
    private DemiBuffer? _idle;

    [Params(64, 1448)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new BufferPool();
        _device = GC.AllocateArray<byte>(2048 + Headroom, pinned: true);
        _deviceAddress = Marshal.UnsafeAddrOfPinnedArrayElement(_device, 0);
        new Random(1).NextBytes(_device);
        _idle = new DemiBuffer(this);
    }

    void IBufferOwner.Return(DemiBuffer buffer)
    {
        _idle = buffer;
    }

    [Benchmark(Baseline = true)]
    public int Copy()
    {
        int length = Headers + Payload;
        var buffer = _pool.Rent(length);
        _device.AsSpan(Headroom, length).CopyTo(buffer.AvailableSpan);
        buffer.SetLength(length);
        return Deliver(buffer);
    }

    [Benchmark]
    public int Lend()
    {
        int length = Headers + Payload;
        var buffer = _idle!;
        _idle = null;
        buffer.AttachForeign(_deviceAddress, 2048 + Headroom, Headroom, length, 1);
        return Deliver(buffer);
    }

    /// <summary>What the stack and the application do with either: strip headers, pop (one reference), touch, free.</summary>
    private static int Deliver(DemiBuffer buffer)
    {
        buffer.Adjust(Headers);
        buffer.AddAppRef();
        var data = buffer.Span;
        int touched = data[0] + data[^1];
        buffer.ReleaseAppRef();
        return touched;
    }
}
