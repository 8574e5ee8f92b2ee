using System.Runtime.InteropServices;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using Demikernel.Runtime;

namespace Demikernel.Server.Tls;

/// <summary>
/// One client's TLS session over its libOS queue: the session pops plaintext and pushes plaintext through it, with the
/// same <see cref="QResult"/>s a plain queue gives.
/// <code>
///   ClientSession ─PopAsync─▶ SslStream.ReadAsync ─▶ QueueStream.ReadAsync ─▶ DemiLibOS.PopAsync(qd)
///   ClientSession ─PushAsync(replies)─▶ SslStream.Write (synchronous: encrypts into one gathered SGA) ─▶ one DemiLibOS.PushAsync(qd)
/// </code>
/// A push never waits inside SslStream: the stream under it takes writes synchronously, so concurrent pushes (a reply
/// batch and the pub/sub outbox) cannot interleave inside SslStream, and the pushed ciphertext goes out in call order.
/// Reads are the only awaits, and they complete through the libOS scheduler on the libOS thread.
/// </summary>
internal sealed class TlsChannel : IDisposable
{
    /// <summary>Plaintext read per pop: one buffer of the pool's 32 KB class (a TLS record carries at most 16 KB).</summary>
    private const int ReadSize = 32 * 1024 - Runtime.LibOSOptions.DefaultHeadroom;

    private readonly DemiLibOS _libos;
    private readonly QDesc _qd;
    private readonly QueueStream _stream;
    private readonly SslStream _ssl;
    private bool _disposed;

    public TlsChannel(DemiLibOS libos, QDesc qd)
    {
        _libos = libos;
        _qd = qd;
        _stream = new QueueStream(libos, qd);
        _ssl = new SslStream(_stream, leaveInnerStreamOpen: true);
    }

    /// <summary>The negotiated protocol, once the handshake is done.</summary>
    public SslProtocols Protocol => _ssl.SslProtocol;

    /// <summary>The client's certificate subject, when it presented one.</summary>
    public string? ClientCertificateSubject => _ssl.RemoteCertificate?.Subject;

    /// <summary>
    /// Runs the server side of the handshake; null when it succeeded, else why it failed (redis's connGetLastError).
    /// SslStream's handshake returns a Task; its continuation is brought back to the libOS thread through a post,
    /// never run on whichever thread completes the Task.
    /// </summary>
    public async ValueTask<string?> HandshakeAsync(SslServerAuthenticationOptions options)
    {
        Task handshake;
        try
        {
            handshake = _ssl.AuthenticateAsServerAsync(options, CancellationToken.None);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or InvalidOperationException)
        {
            return Describe(e);
        }
        if (!handshake.IsCompleted)
        {
            using var done = new AsyncSignal(_libos);
            var libos = _libos;
            handshake.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => libos.Post(static signal => signal.Set(), done));
            while (!handshake.IsCompleted) await done.WaitAsync();
        }
        try
        {
            handshake.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            return Describe(e);
        }
    }

    private static string Describe(Exception e)
    {
        string text = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
        return text.Replace('\r', ' ').Replace('\n', ' ');
    }

    /// <summary>
    /// The next plaintext, as a pop's result: data (the caller frees the SGA), an empty SGA at end of stream, or an
    /// errno (ECONNRESET) when the connection or the TLS session failed.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<QResult> PopAsync()
    {
        var sga = _libos.SgaAlloc(ReadSize);
        int n;
        try
        {
            n = await _ssl.ReadAsync(sga.First.Memory);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or InvalidOperationException or ObjectDisposedException or NotSupportedException)
        {
            _libos.SgaFree(sga);
            return new QResult(OpCode.Pop, _qd, default, Errno.ECONNRESET);
        }
        if (n == 0)
        {
            _libos.SgaFree(sga);
            return new QResult(OpCode.Pop, _qd, default, 0); // the client closed
        }
        sga.First.SetLength(n);
        return new QResult(OpCode.Pop, _qd, default, 0, sga);
    }

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> (every segment) and pushes the ciphertext as one SGA. The caller keeps
    /// and frees <paramref name="plaintext"/>; the returned push completes as a plain push would.
    /// </summary>
    public ValueTask<QResult> PushAsync(in Sga plaintext)
    {
        if (_disposed) return new ValueTask<QResult>(new QResult(OpCode.Push, _qd, default, Errno.EBADF));
        _stream.BeginGather();
        try
        {
            for (var segment = plaintext.First; segment is not null; segment = segment.Next)
            {
                if (segment.Length == 0) continue;
                // Device memory (catnip's mbufs) has no array behind it: Stream.Write(span) goes through a pooled one.
                if (MemoryMarshal.TryGetArray<byte>(segment.Memory, out var array)) _ssl.Write(array.Array!, array.Offset, array.Count);
                else _ssl.Write(segment.Span);
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException or InvalidOperationException or ObjectDisposedException or NotSupportedException)
        {
            var partial = _stream.EndGather();
            if (partial.IsValid) _libos.SgaFree(partial);
            return new ValueTask<QResult>(new QResult(OpCode.Push, _qd, default, Errno.EIO));
        }
        var ciphertext = _stream.EndGather();
        if (!ciphertext.IsValid) return new ValueTask<QResult>(new QResult(OpCode.Push, _qd, default, 0));
        var push = _libos.PushAsync(_qd, ciphertext);
        _libos.SgaFree(ciphertext); // the libOS holds its own reference until the push completes
        return push;
    }

    /// <summary>Releases the TLS session (call once no read is pending: after the queue was closed and reads drained).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ssl.Dispose();
        _stream.Dispose();
    }
}
