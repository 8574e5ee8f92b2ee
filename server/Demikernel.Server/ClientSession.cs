using System.Buffers;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server.Commands;

namespace Demikernel.Server;

/// <summary>
/// One client connection as one coroutine on the libOS scheduler:
/// <code>
///   loop: Pop ─▶ scan complete requests in place (partial tail kept in the query buffer) ─▶ execute each
///         ─▶ all replies of the batch in one ReplyBuffer ─▶ one Push ─▶ next Pop
/// </code>
/// Requests are parsed straight out of the popped buffer; only a request split across pops is copied, into a pooled
/// query buffer, until it is complete.
/// </summary>
public sealed class ClientSession
{
    private readonly RedisServer _server;
    private readonly DemiLibOS _libos;
    private readonly RespRequestScanner _scanner;
    private readonly RespArgs _args = new(16);
    private readonly ReplyBuffer _reply;
    private byte[] _query = [];
    private int _queryLength;
    private bool _killed;

    public ClientSession(RedisServer server, ClientState client)
    {
        _server = server;
        _libos = server.LibOS;
        Client = client;
        _reply = new ReplyBuffer(_libos);
        _scanner = new RespRequestScanner(new RespLimits
        {
            MaxBulkLength = server.Config.ProtoMaxBulkLen,
            QueryBufferLimit = server.Options.ClientQueryBufferLimit,
        });
    }

    public ClientState Client { get; }

    /// <summary>Ends the session: pending operations are cancelled and the loop exits.</summary>
    public void Kill()
    {
        if (_killed) return;
        _killed = true;
        Client.CloseRequested = true;
        _libos.Close(Client.Qd);
    }

    public async ValueTask RunAsync()
    {
        var qd = Client.Qd;
        _libos.SetSockOpt(qd, SocketOption.TcpNoDelay, 1);
        try
        {
            while (!Client.CloseRequested)
            {
                var popped = await _libos.PopAsync(qd);
                if (!popped.Succeeded || popped.Sga.IsEmpty) break; // error, kill, or the client closed
                Client.LastInteractionMs = _server.NowMs;
                _server.Stats.NetInputBytes += popped.Sga.TotalLength;
                bool keepGoing = Consume(popped.Sga.Span);
                _libos.SgaFree(popped.Sga);
                if (!_reply.IsEmpty)
                {
                    var replies = _reply.Take();
                    _server.Stats.NetOutputBytes += replies.TotalLength;
                    var pushed = await _libos.PushAsync(qd, replies);
                    _libos.SgaFree(replies);
                    if (!pushed.Succeeded) break;
                }
                if (!keepGoing) break;
            }
        }
        finally
        {
            _reply.Discard();
            if (_query.Length > 0) ArrayPool<byte>.Shared.Return(_query);
            _query = [];
            if (!_killed)
            {
                _killed = true;
                _libos.Close(qd);
            }
            _server.OnSessionEnded(this);
        }
    }

    /// <summary>Parses and runs every complete request in <paramref name="data"/>; false when the connection must close.</summary>
    private bool Consume(ReadOnlySpan<byte> data)
    {
        if (_queryLength == 0)
        {
            // Fast path: parse in place; copy only an incomplete tail.
            int used = RunRequests(data, out bool ok);
            if (!ok) return false;
            if (used < data.Length) Append(data[used..]);
            return true;
        }
        Append(data);
        int consumed = RunRequests(_query.AsSpan(0, _queryLength), out bool fine);
        if (!fine) return false;
        _query.AsSpan(consumed, _queryLength - consumed).CopyTo(_query);
        _queryLength -= consumed;
        Client.QueryBufferLength = _queryLength;
        if (_queryLength > _server.Options.ClientQueryBufferLimit) return false; // Redis closes such clients silently
        return true;
    }

    private int RunRequests(ReadOnlySpan<byte> buffer, out bool ok)
    {
        int offset = 0;
        ok = true;
        while (offset < buffer.Length && !Client.CloseRequested)
        {
            var status = _scanner.TryScan(buffer[offset..], _args, out int consumed, out var error);
            if (status == RespScanStatus.NeedMoreData) break;
            if (status == RespScanStatus.Error)
            {
                _reply.Error(error);
                ok = false;
                return offset;
            }
            if (_args.Count > 0)
            {
                _reply.Version = Client.Protocol;
                var context = new CommandContext(buffer[offset..], _args, Client, _server, _reply);
                _server.Commands.Execute(ref context);
                Client.CommandsProcessed++;
            }
            offset += consumed;
        }
        if (Client.CloseRequested) ok = false;
        return offset;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_queryLength + data.Length > _query.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(4096, (_queryLength + data.Length) * 2));
            _query.AsSpan(0, _queryLength).CopyTo(bigger);
            if (_query.Length > 0) ArrayPool<byte>.Shared.Return(_query);
            _query = bigger;
        }
        data.CopyTo(_query.AsSpan(_queryLength));
        _queryLength += data.Length;
        Client.QueryBufferLength = _queryLength;
    }
}
