using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demikernel.Runtime;

namespace Demikernel.Server.Tls;

/// <summary>
/// A <see cref="Stream"/> over one libOS queue, the transport under <see cref="TlsChannel"/>'s SslStream:
/// <code>
///   read:  ReadAsync ─▶ bytes left of the last popped SGA (synchronous) │ else PopAsync on the queue (awaited on the libOS scheduler)
///   write: inside TlsChannel.Push (gathering): appended to one ciphertext SGA, pushed once per reply batch
///          otherwise (handshake, alerts):       copied into an SGA and pushed at once, the write completing with the push
/// </code>
/// Everything runs on the libOS thread: the awaits here complete through the libOS scheduler, never the thread pool.
/// </summary>
internal sealed class QueueStream(DemiLibOS libos, QDesc qd) : Stream
{
    private Sga _in;
    private DemiBuffer? _segment;
    private int _offset;
    private Sga _out;
    private bool _gathering;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _segment is not null ? new ValueTask<int>(CopyOut(buffer.Span)) : PopAsync(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Synchronous reads would block the libOS thread: only bytes already popped are served.</summary>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) =>
        _segment is not null ? CopyOut(buffer) : throw new InvalidOperationException("a synchronous read on a libOS queue would block its thread");

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> PopAsync(Memory<byte> buffer)
    {
        var popped = await libos.PopAsync(qd);
        if (!popped.Succeeded) throw new IOException($"pop failed: {popped.ErrorName}");
        if (popped.Sga.IsEmpty)
        {
            libos.SgaFree(popped.Sga);
            return 0; // end of stream
        }
        BytesIn += popped.Sga.TotalLength;
        _in = popped.Sga;
        _segment = _in.First;
        _offset = 0;
        return CopyOut(buffer.Span);
    }

    /// <summary>Ciphertext bytes popped from the queue so far.</summary>
    public long BytesIn { get; private set; }

    private int CopyOut(Span<byte> destination)
    {
        int n = 0;
        while (_segment is not null && n < destination.Length)
        {
            var data = _segment.Span[_offset..];
            int take = Math.Min(data.Length, destination.Length - n);
            data[..take].CopyTo(destination[n..]);
            n += take;
            _offset += take;
            if (_offset == _segment.Length)
            {
                _segment = _segment.Next;
                _offset = 0;
            }
        }
        if (_segment is null && _in.IsValid)
        {
            libos.SgaFree(_in);
            _in = default;
        }
        return n;
    }

    // ---- writes ----

    /// <summary>From now until <see cref="EndGather"/>, writes collect into one SGA instead of being pushed one by one.</summary>
    public void BeginGather() => _gathering = true;

    /// <summary>The ciphertext gathered since <see cref="BeginGather"/> (empty if none); the caller pushes and frees it.</summary>
    public Sga EndGather()
    {
        _gathering = false;
        var sga = _out;
        _out = default;
        return sga;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!_gathering) throw new InvalidOperationException("a synchronous write on a libOS queue happens only inside a gathered push");
        Append(buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_gathering)
        {
            Append(buffer.Span);
            return default;
        }
        return PushNowAsync(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        DemiBuffer segment;
        if (_out.IsValid)
        {
            segment = libos.SgaAppend(_out, data.Length);
        }
        else
        {
            _out = libos.SgaAlloc(data.Length);
            segment = _out.First;
        }
        data.CopyTo(segment.Span);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PushNowAsync(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty) return;
        var sga = libos.SgaAlloc(data.Length);
        data.Span.CopyTo(sga.Span);
        var push = libos.PushAsync(qd, sga);
        libos.SgaFree(sga); // the libOS holds its own reference until the push completes
        var pushed = await push;
        if (!pushed.Succeeded) throw new IOException($"push failed: {pushed.ErrorName}");
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_in.IsValid) libos.SgaFree(_in);
            if (_out.IsValid) libos.SgaFree(_out);
            _in = _out = default;
            _segment = null;
        }
        base.Dispose(disposing);
    }

    /// <summary>The array behind a DemiBuffer's memory (its pool's pinned arrays), for SslStream's array-based Write.</summary>
    internal static ArraySegment<byte> ArrayOf(DemiBuffer segment) =>
        MemoryMarshal.TryGetArray<byte>(segment.Memory, out var array) ? array : throw new InvalidOperationException("a DemiBuffer not backed by an array");
}
