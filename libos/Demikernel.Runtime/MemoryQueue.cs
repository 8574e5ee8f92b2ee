namespace Demikernel.Runtime;

/// <summary>
/// An in-process queue with push/pop semantics, like a Go channel: a push completes at once and hands its buffers to
/// the queue by reference (zero copy); a pop completes with the oldest pushed SGA, or waits for the next push.
/// Closing it ends pending pops with ECANCELED; pops on a drained queue whose writer closed see end of stream.
/// </summary>
internal sealed class MemoryQueue : IoQueue
{
    private DemiBuffer?[] _items = new DemiBuffer?[16];
    private int _head;
    private int _count;
    private OperationQueue _pops;

    /// <summary>When set, pops on an empty queue complete with end of stream instead of waiting.</summary>
    public bool WriterClosed { get; private set; }

    public int Count => _count;

    public override int StartPush(Operation op)
    {
        if (WriterClosed) return Errno.EPIPE;
        Send(op.Sga);
        op.Complete(0);
        return 0;
    }

    /// <summary>Queues an SGA by reference; the queue holds a libOS reference until a pop hands it over.</summary>
    public void Send(in Sga sga)
    {
        if (sga.Head is not { } head) return;
        head.AddLibRef();
        if (_count == _items.Length) GrowRing();
        _items[(_head + _count) & (_items.Length - 1)] = head;
        _count++;
        Drain();
    }

    public override int StartPop(Operation op)
    {
        _pops.Enqueue(op);
        Drain();
        return 0;
    }

    /// <summary>Marks end of stream: pops after the last item complete with an empty SGA.</summary>
    public void CloseWriter()
    {
        WriterClosed = true;
        Drain();
    }

    private void Drain()
    {
        while (!_pops.IsEmpty && _count > 0)
        {
            var buffer = _items[_head]!;
            _items[_head] = null;
            _head = (_head + 1) & (_items.Length - 1);
            _count--;
            var op = _pops.Dequeue()!;
            op.CompletePop(buffer);
            buffer.ReleaseLibRef();
        }
        if (WriterClosed)
        {
            while (_count == 0 && _pops.Dequeue() is { } op) op.CompletePop(null);
        }
    }

    public override void Close()
    {
        _pops.CompleteAll(Errno.ECANCELED);
        while (_count > 0)
        {
            _items[_head]!.ReleaseLibRef();
            _items[_head] = null;
            _head = (_head + 1) & (_items.Length - 1);
            _count--;
        }
    }

    private void GrowRing()
    {
        var bigger = new DemiBuffer?[_items.Length * 2];
        for (int i = 0; i < _count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
