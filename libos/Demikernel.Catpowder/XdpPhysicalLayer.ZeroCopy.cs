using System.Runtime.CompilerServices;
using Demikernel.Runtime;

namespace Demikernel.Catpowder;

/// <summary>
/// The receive path (<see cref="XdpOptions.ZeroCopyReceive"/> on): a received frame goes up the stack in its own UMEM
/// frame, lent as a foreign <see cref="DemiBuffer"/> (this device its <see cref="IBufferOwner"/>), so its payload
/// reaches <c>pop</c> without a copy. The frame goes back to the fill ring when its last reference goes (the
/// application freed the SGA, TCP consumed or dropped it); returned frames are collected and given back in one
/// fill-ring submission at the next receive poll. Past <see cref="XdpOptions.LoanLimit"/> frames lent at once, frames
/// are copied into pool buffers instead, so the fill ring never runs dry while the application holds data; with
/// <see cref="XdpOptions.ZeroCopyReceive"/> off the limit is 0 and every frame is copied.
/// </summary>
internal sealed unsafe partial class XdpPhysicalLayer : IBufferOwner
{
    private readonly byte* _area;
    private readonly ulong _areaSize;
    private readonly int _frameSize;
    private readonly int _loanLimit;
    private readonly ulong* _rxAddresses;
    private readonly uint* _rxLengths;
    // UMEM frames waiting to go back to the fill ring (returned loans, copied or dropped frames).
    private readonly ulong* _refill;
    private readonly int _refillCapacity;
    private int _refillCount;
    // Buffer objects for lent frames, reused loan after loan (their generations keep counting).
    private readonly Stack<DemiBuffer> _idleLoans = new();
    private int _loaned;

    /// <summary>UMEM frames lent up the stack right now.</summary>
    public int FramesLent => _loaned;

    /// <summary>Most frames lent at once before receive copies (<see cref="XdpOptions.LoanLimit"/>).</summary>
    public int LoanLimit => _loanLimit;

    private int ReceiveLent(BufferPool pool, Span<DemiBuffer?> frames)
    {
        if (_refillCount > 0) Refill();
        int n = Xsk.Take(_xsk, _rxAddresses, _rxLengths, Math.Min(_burst, frames.Length));
        int produced = 0;
        for (int i = 0; i < n; i++)
        {
            ulong address = _rxAddresses[i];
            int length = (int)_rxLengths[i];
            if (length > MaxFrame)
            {
                Stats.Dropped++;
                _refill[_refillCount++] = address;
                continue;
            }
            frames[produced++] = _loaned < _loanLimit ? Lend(address, length) : Copy(pool, address, length);
        }
        Stats.FramesReceived += produced;
        return produced;
    }

    private DemiBuffer Lend(ulong address, int length)
    {
        if (!_idleLoans.TryPop(out var buffer)) buffer = new DemiBuffer(this); // grows to the peak in flight, then reused
        ulong frame = address - address % (ulong)_frameSize;
        buffer.AttachForeign((nint)(_area + frame), _frameSize, (int)(address - frame), length, (nint)frame);
        _loaned++;
        Stats.RxFramesLent++;
        return buffer;
    }

    /// <summary>Past the loan limit: the frame is copied into a pool buffer and its UMEM frame queued for the fill ring.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DemiBuffer Copy(BufferPool pool, ulong address, int length)
    {
        var buffer = pool.Rent(length);
        new ReadOnlySpan<byte>(_area + address, length).CopyTo(buffer.AvailableSpan);
        buffer.SetLength(length);
        _refill[_refillCount++] = address;
        Stats.RxFramesCopied++;
        return buffer;
    }

    /// <summary>Gives the collected frames back to the fill ring in one submission.</summary>
    private void Refill()
    {
        int given = Xsk.Fill(_xsk, _refill, _refillCount);
        Stats.FillSubmissions++;
        if (given == _refillCount)
        {
            _refillCount = 0;
            return;
        }
        // The fill ring was full (cannot happen while we hold at most the receive half): keep the rest for next time.
        new Span<ulong>(_refill + given, _refillCount - given).CopyTo(new Span<ulong>(_refill, _refillCapacity));
        _refillCount -= given;
    }

    /// <summary>
    /// A lent frame's last reference went: it waits for the next fill-ring submission, the buffer object for the next
    /// loan. After <see cref="Dispose"/> the UMEM stays mapped until the last loan is back, so an SGA the application
    /// still holds never points into unmapped memory.
    /// </summary>
    void IBufferOwner.Return(DemiBuffer buffer)
    {
        _loaned--;
        if (_disposed)
        {
            if (_loaned == 0) UnmapArea();
            return;
        }
        _refill[_refillCount++] = (ulong)buffer.Handle;
        _idleLoans.Push(buffer);
    }

    // Out of line, as XdpPhysicalLayer.Kick is: Return is inlined into every lent buffer's Recycle.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void UnmapArea() => Xsk.Unmap(_area, _areaSize);
}
