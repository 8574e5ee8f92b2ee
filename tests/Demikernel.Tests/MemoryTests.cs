using Demikernel.Runtime;

namespace Demikernel.Tests;

public class MemoryTests
{
    [Fact]
    public void PoolReusesBuffersOfTheSameClass()
    {
        var pool = new BufferPool();
        var a = pool.Rent(1000);
        pool.Discard(a);
        var b = pool.Rent(900);
        Assert.Same(a, b);
        Assert.Equal(900, b.Length);
        Assert.Equal(BufferPool.DefaultHeadroom, b.Offset);
        Assert.Equal(1, pool.Outstanding);
    }

    [Fact]
    public void HeadroomLetsLayersPrependWithoutCopying()
    {
        var pool = new BufferPool(headroom: 64);
        var b = pool.Rent(10);
        b.Span.Fill(7);
        Assert.True(b.TryPrepend(20));
        Assert.Equal(30, b.Length);
        b.Span[..20].Fill(1);
        b.Adjust(20);
        Assert.All(b.Span.ToArray(), x => Assert.Equal(7, x));
        Assert.False(b.TryPrepend(65));
    }

    [Fact]
    public void FreeingAPushedSgaAtOnceKeepsItsBytesUntilThePushCompletes()
    {
        using var libos = LibOS.Create("catloop");
        libos.Queue(out var q);
        var sga = libos.SgaAlloc(5);
        "hello"u8.CopyTo(sga.Span);
        Assert.Equal(0, libos.Push(q, sga, out var pushQt));
        Assert.Equal(0, libos.SgaFree(sga)); // the application lets go at once
        // Reuse pressure: new allocations must not receive the pushed buffer.
        var other = libos.SgaAlloc(5);
        Assert.NotSame(sga.First, other.First);
        other.Span.Fill((byte)'x');
        Assert.Equal(0, libos.Wait(pushQt, out var pushed));
        Assert.Equal(OpCode.Push, pushed.Opcode);
        Assert.Equal(0, libos.Pop(q, out var popQt));
        Assert.Equal(0, libos.Wait(popQt, out var popped));
        Assert.Equal("hello"u8.ToArray(), popped.Sga.ToArray());
        Assert.Equal(0, libos.SgaFree(popped.Sga));
        Assert.Equal(0, libos.SgaFree(other));
        Assert.Equal(0, libos.Pool.Outstanding);
    }

    [Fact]
    public void DoubleFreeAndStaleHandlesAreRefused()
    {
        using var libos = LibOS.Create("catloop");
        var sga = libos.SgaAlloc(100);
        Assert.Equal(0, libos.SgaFree(sga));
        Assert.Equal(Errno.EINVAL, libos.SgaFree(sga));
        Assert.False(sga.IsValid);
        Assert.Throws<ObjectDisposedException>(() => sga.Span.Length);
        var again = libos.SgaAlloc(100); // same buffer, new generation
        Assert.Same(sga.Head, again.Head);
        Assert.Equal(Errno.EINVAL, libos.SgaFree(sga));
        Assert.True(again.IsValid);
    }

    [Fact]
    public void MultiSegmentSgaCarriesEverySegment()
    {
        using var libos = LibOS.Create("catloop");
        var sga = libos.SgaAlloc([3, 4, 5]);
        Assert.Equal(3, sga.SegmentCount);
        Assert.Equal(12, sga.TotalLength);
        "abc"u8.CopyTo(sga.Segment(0).Span);
        "defg"u8.CopyTo(sga.Segment(1).Span);
        "hijkl"u8.CopyTo(sga.Segment(2).Span);
        Assert.Equal("abcdefghijkl"u8.ToArray(), sga.ToArray());
        Assert.Equal(0, libos.SgaFree(sga));
        Assert.Equal(0, libos.Pool.Outstanding); // the whole chain went back with its first segment
    }

    [Fact]
    public void LargeBuffersBeyondTheBiggestClassStillWork()
    {
        var pool = new BufferPool();
        var b = pool.Rent(5 * 1024 * 1024);
        Assert.Equal(5 * 1024 * 1024, b.Length);
        pool.Discard(b);
        Assert.Equal(0, pool.Outstanding);
    }
}
