using System.Buffers;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server.Commands;
using Demikernel.Server.Logging;
using Demikernel.Server.Tls;
using TlsChannel = Demikernel.Server.Tls.TlsChannel;

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
    private bool _executing;
    private readonly ReplyBuffer _outbox;
    private readonly Func<ValueTask> _flushOutbox;
    private bool _flushing;
    private readonly AsyncSignal _unblock;
    private AsyncSignal? _durable;
    private long _durableOffset = -1;
    private byte[] _blockedFrame = [];
    private IReadOnlyList<byte[]> _blockedKeys = [];
    private int _blockedDb;
    private long _blockedDeadlineMs;
    private BlockTimeoutReply _blockedReply;
    private bool _retrying;
#pragma warning disable CA2012 // kept on purpose: consumed exactly once, by TakeReadAhead, after it completed
    private ValueTask<QResult> _readAhead;
#pragma warning restore CA2012
    private bool _hasReadAhead;
    private readonly Action _wakeOnRead;
    private long _inFlight;
    private int _inFlightPushes;
    private OutputLimitState _outputLimit;

    public ClientSession(RedisServer server, ClientState client)
    {
        _server = server;
        _libos = server.LibOS;
        Client = client;
        _reply = new ReplyBuffer(_libos);
        _outbox = new ReplyBuffer(_libos);
        _flushOutbox = FlushOutboxAsync;
        _unblock = new AsyncSignal(_libos);
        _wakeOnRead = _unblock.Set;
        client.Session = this;
        _scanner = new RespRequestScanner(new RespLimits
        {
            MaxBulkLength = server.Config.ProtoMaxBulkLen,
            QueryBufferLimit = server.Config.ClientQueryBufferLimit,
        });
    }

    public ClientState Client { get; }

    /// <summary>The TLS session of a client that came in on tls-port (Tls/TlsChannel.cs), or null: every pop and push
    /// of the session goes through <see cref="Pop"/> and <see cref="Push"/>.</summary>
    internal TlsChannel? Tls { get; init; }

    private ValueTask<QResult> Pop(QDesc qd) => Tls is null ? _libos.PopAsync(qd) : Tls.PopAsync();

    /// <summary>Sends bytes to the client (through its TLS session, if any); the caller frees the SGA.</summary>
    internal ValueTask<QResult> Push(in Sga sga) => Tls is null ? _libos.PushAsync(Client.Qd, sga) : Tls.PushAsync(sga);

    // ---- what CLIENT LIST reports (redis's qbuf-free, obl, oll, omem, tot-mem) ----

    /// <summary>Free room in the query buffer.</summary>
    public int QueryBufferFree => _query.Length - _queryLength;

    /// <summary>Bytes of the reply batch being built (redis's obl: the reply buffer in use).</summary>
    public int OutputBufferLength => _reply.Length;

    /// <summary>Buffers of output waiting to go out: pub/sub messages queued and pushes not yet completed (redis's oll).</summary>
    public int OutputListLength => _outbox.Segments + _inFlightPushes;

    /// <summary>Bytes of output not yet taken by the socket (redis's omem), which client-output-buffer-limit bounds.</summary>
    public long OutputMemory => _outbox.Length + _inFlight;

    /// <summary>
    /// All the memory the client holds: its output, the buffers it has allocated (reply batch, pub/sub outbox, query
    /// buffer), the arguments of its request being run, the frames MULTI queued, and a fixed estimate of the session's
    /// own objects (<see cref="SessionOverhead"/>).
    /// </summary>
    public long TotalMemory(long argvMem)
    {
        long queued = 0;
        foreach (var frame in Client.MultiQueue) queued += frame.Length;
        return SessionOverhead + _inFlight + _reply.Allocated + _outbox.Allocated + _query.Length + argvMem + queued + _blockedFrame.Length;
    }

    /// <summary>
    /// The objects every session allocates (session, client state, scanner, argument table, reply writers, signals,
    /// coroutine): about 2 KB in a heap dump.
    /// </summary>
    public const int SessionOverhead = 2048;

    /// <summary>The client's output class for client-output-buffer-limit.</summary>
    public ClientClass OutputClass => Client.SubscriptionCount > 0 ? ClientClass.PubSub : ClientClass.Normal;

    /// <summary>Killed and on its way out (the session leaves the client list when its loop ends); redis has freed it.</summary>
    internal bool IsKilled => _killed;

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
            if (Tls is not null && !await StartTlsAsync()) return;
            while (!Client.CloseRequested)
            {
                bool keepGoing;
                if (Client.Blocked)
                {
                    // Parked by a blocking command: send what is answered so far, then wait to be served or time out.
                    // The socket is read meanwhile, so a client that goes away is noticed at once; what it sends
                    // waits behind the blocked request.
                    while (MustWaitForAof()) await _durable!.WaitAsync();
                    if (!await FlushAsync()) break;
                    StartReadAhead(qd);
                    while (Client.Blocked && !_readAhead.IsCompleted)
                    {
                        TimeSpan? wait = _blockedDeadlineMs == 0 ? null : TimeSpan.FromMilliseconds(Math.Max(0, _blockedDeadlineMs - _server.NowMs));
                        if (!await _unblock.WaitAsync(wait) && Client.Blocked && !_readAhead.IsCompleted) TimeOutBlocked();
                    }
                    if (Client.Blocked)
                    {
                        var early = TakeReadAhead();
                        if (!early.Succeeded || early.Sga.IsEmpty) break; // the client left while parked
                        Client.LastInteractionMs = _server.CoarseNowMs;
                        _server.Stats.NetInputBytes += early.Sga.TotalLength;
                        Append(early.Sga.Span);
                        _libos.SgaFree(early.Sga);
                        continue;
                    }
                    keepGoing = Consume([]); // the rest of the pipeline waited behind the blocked request
                }
                else if (Client.PauseHeld)
                {
                    // Held by CLIENT PAUSE: wait for its end (or UNPAUSE), then run the waiting requests again.
                    var pause = _server.Diagnostics.Pause;
                    _unblock.Reset();
                    long left = pause.EndMs - _server.NowMs;
                    if (pause.Active && left > 0) await _unblock.WaitAsync(TimeSpan.FromMilliseconds(left));
                    Client.PauseHeld = false;
                    keepGoing = Consume([]);
                }
                else
                {
                    QResult popped;
                    if (_hasReadAhead)
                    {
                        // A read started while parked is still the next read: wait for it rather than start another.
                        while (!_readAhead.IsCompleted) await _unblock.WaitAsync();
                        popped = TakeReadAhead();
                    }
                    else
                    {
                        popped = await Pop(qd);
                    }
                    if (!popped.Succeeded || popped.Sga.IsEmpty) break; // error, kill, or the client closed
                    Client.LastInteractionMs = _server.CoarseNowMs;
                    _server.Stats.NetInputBytes += popped.Sga.TotalLength;
                    keepGoing = Consume(popped.Sga.Span);
                    _libos.SgaFree(popped.Sga);
                }
                while (MustWaitForAof()) await _durable!.WaitAsync();
                if (!await FlushAsync()) break;
                if (!keepGoing) break;
            }
        }
        catch (Exception e)
        {
            // A failure outside any handler (those are answered in the dispatcher): the session's state is unknown.
            _server.Log.ClientSessionFailed(new RedactedException(e), Client.Id, Client.Peer);
        }
        finally
        {
            if (Client.Blocked) Unpark();
            if (Client.Monitoring) _server.Diagnostics.Monitors.Remove(this);
            _server.Diagnostics.Pause.Forget(this);
            _server.PubSub.RemoveAll(this);
            _server.Tracking.Disable(Client);
            _server.Watches.UnwatchAll(Client);
            _reply.Discard();
            _outbox.Discard();
            if (_query.Length > 0) ArrayPool<byte>.Shared.Return(_query);
            _query = [];
            if (!_killed)
            {
                _killed = true;
                _libos.Close(qd);
            }
            // A read started while parked may still be pending (the client was served, then QUIT or failed to flush):
            // closing cancelled it, and its operation goes back to the pool only once its result is taken.
            if (_hasReadAhead) await DropReadAheadAsync();
            // The signals' scheduler slots live as long as the session, not as long as the libOS.
            _unblock.Dispose();
            _durable?.Dispose();
            Tls?.Dispose();
            _server.OnSessionEnded(this);
        }
    }

    /// <summary>
    /// A TLS client's first step (redis's connAccept, then clientAcceptHandler): the handshake, then protected mode,
    /// whose DENIED text goes out encrypted. False when the session must end.
    /// </summary>
    private async ValueTask<bool> StartTlsAsync()
    {
        if (_server.Tls.Options is not { } options) return false;
        if (await Tls!.HandshakeAsync(options) is { } error)
        {
            _server.Log.ErrorAcceptingClient(error);
            return false;
        }
        if (_server.Config.ProtectedMode && _server.Acl.Default.NoPass && !RedisServer.IsLoopbackPeer(Client.Peer))
        {
            _server.Stats.RejectedConnections++;
            _reply.Raw(RedisServer.ProtectedModeDenied);
            await FlushAsync();
            return false;
        }
        return true;
    }

    private async ValueTask DropReadAheadAsync()
    {
        while (!_readAhead.IsCompleted) await _unblock.WaitAsync();
        var late = TakeReadAhead();
        if (late.Succeeded) _libos.SgaFree(late.Sga);
    }

    /// <summary>
    /// True when the replies written so far must wait for the AOF (then <see cref="_durable"/> is set when they may
    /// leave): a reply may reveal effects, this client's or another's, so it leaves once they are written, or written
    /// and fsynced with appendfsync always; the AOF writes one group per run-loop step for all waiting sessions. The
    /// session's own long-lived coroutine awaits the signal, so waiting allocates nothing.
    /// </summary>
    private bool MustWaitForAof()
    {
        var aof = _server.Persistence.Aof;
        if (_reply.IsEmpty || !aof.Enabled)
        {
            _durableOffset = -1;
            return false;
        }
        if (_durableOffset < 0) _durableOffset = aof.Appended; // fixed, so later appends by others never starve it
        if (aof.MayReply(_durableOffset))
        {
            _durableOffset = -1;
            return false;
        }
        aof.AddWaiter(_durableOffset, _durable ??= new AsyncSignal(_libos));
        return true;
    }

    /// <summary>Pushes the replies written so far, if any, as one SGA. False if the connection failed.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushAsync()
    {
        if (_reply.IsEmpty) return true;
        // Messages waiting in the outbox came before these replies: both pushes start now, messages first (a socket's
        // pushes go out in order), as redis's single output buffer would send them. Started together, so that a
        // message delivered meanwhile cannot slip in between.
        Sga messages = default;
        int messagesLength = 0;
        ValueTask<QResult> messagesPush = default;
        if (!_outbox.IsEmpty)
        {
            messages = _outbox.Take();
            messagesLength = messages.TotalLength;
            _server.Stats.NetOutputBytes += messagesLength;
            _inFlight += messagesLength;
            _inFlightPushes++;
            messagesPush = Push(messages);
        }
        var replies = _reply.Take();
        int length = replies.TotalLength;
        _server.Stats.NetOutputBytes += length;
        var push = Push(replies);
        bool waited = !push.IsCompleted;
        if (waited)
        {
            // The socket did not take it all: it waits as output, counted against the client's output limit.
            _inFlight += length;
            _inFlightPushes++;
            CheckOutputLimit();
        }
        bool ok = true;
        if (messagesLength > 0)
        {
            ok = (await messagesPush).Succeeded;
            _inFlight -= messagesLength;
            _inFlightPushes--;
            _libos.SgaFree(messages);
        }
        var pushed = await push;
        if (waited)
        {
            _inFlight -= length;
            _inFlightPushes--;
        }
        _libos.SgaFree(replies);
        return ok && pushed.Succeeded;
    }

    /// <summary>
    /// Closes the client when its pending output is over its class's client-output-buffer-limit (redis's
    /// closeClientOnOutputBufferLimitReached, checked as output is added): hard limit at once, soft limit after its seconds.
    /// </summary>
    private void CheckOutputLimit()
    {
        if (_killed) return;
        var limit = _server.Config.OutputLimits[(int)OutputClass];
        if (limit.Hard == 0 && limit.Soft == 0) return;
        if (_outputLimit.Exceeded(limit, OutputMemory, _server.CoarseNowMs / 1000)) CloseForOutputLimit();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void CloseForOutputLimit()
    {
        _server.Log.OutputBufferLimitReached(ClientInfo.Describe(Client, _server.NowMs, 0));
        Kill();
    }

    // ---- blocking commands ----

    /// <summary>The key type that can serve the blocked request (valid while <see cref="ClientState.Blocked"/>).</summary>
    internal BlockedOn BlockedOn { get; private set; }

    internal void BlockOn(ReadOnlySpan<byte> frame, IReadOnlyList<byte[]> keys, long timeoutMs, BlockTimeoutReply timeoutReply, BlockedOn on)
    {
        Client.Blocked = true;
        if (_retrying) return; // still waiting, in the same place of every key's queue
        BlockedOn = on;
        _blockedFrame = frame.ToArray();
        _blockedKeys = keys;
        _blockedDb = Client.Database;
        _blockedDeadlineMs = timeoutMs <= 0 ? 0 : _server.NowMs + timeoutMs;
        _blockedReply = timeoutReply;
        _unblock.Reset();
        _server.Blocking.Block(this, _blockedDb, keys);
    }

    /// <summary>A key this client waits on got data: run the blocked request again; wake the client if it was served.</summary>
    internal void RetryBlocked()
    {
        if (!Client.Blocked || _killed) return;
        Client.Blocked = false;
        _retrying = true;
        var args = new RespArgs();
        var scanner = new RespRequestScanner();
        scanner.TryScan(_blockedFrame, args, out int consumed, out _);
        _reply.Version = Client.Protocol;
        int database = Client.Database;
        Client.Database = _blockedDb;
        var context = new CommandContext(_blockedFrame, args, Client, _server, _reply) { FrameLength = consumed, IsRetry = true };
        _server.Commands.Execute(ref context);
        Client.Database = database;
        _retrying = false;
        if (Client.Blocked) return; // nothing for us after all: keep waiting
        Unpark();
        _unblock.Set();
    }

    /// <summary>CLIENT UNPAUSE: a held client runs its requests again.</summary>
    internal void ResumeFromPause()
    {
        if (Client.PauseHeld) _unblock.Set();
    }

    /// <summary>CLIENT UNBLOCK: the parked request is answered as its timeout would answer it, or with the UNBLOCKED
    /// error. False when the client is not blocked.</summary>
    internal bool UnblockByCommand(bool error)
    {
        if (!Client.Blocked || _killed) return false;
        if (error)
        {
            UnblockWithError("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            return true;
        }
        _reply.Version = Client.Protocol;
        TimeOutBlocked();
        _unblock.Set();
        return true;
    }

    /// <summary>Answers the blocked request with an error instead (XREADGROUP whose stream key went away) and wakes the client.</summary>
    internal void UnblockWithError(string message)
    {
        if (!Client.Blocked || _killed) return;
        Unpark();
        _reply.Version = Client.Protocol;
        _reply.Error(message);
        _unblock.Set();
    }

    /// <summary>
    /// <see cref="RetryBlocked"/> failed outside the handler (whose failures are answered): this client's state is
    /// unknown, so it is logged, un-parked and disconnected. Called by <see cref="BlockingRegistry.ServeReady"/>, so the
    /// client whose write woke this one carries on.
    /// </summary>
    internal void RetryFailed(Exception e)
    {
        _retrying = false;
        _server.Log.BlockedRetryFailed(new RedactedException(e), Client.Id, Client.Peer);
        if (_blockedFrame.Length > 0) Unpark(); // still registered: Unpark clears the frame
        Kill();
        _unblock.Set();
    }

    /// <summary>
    /// A handler parked this client and then failed: un-park it, so that it gets the error reply instead of waiting.
    /// During a re-run the registration stays as it was and <see cref="RetryBlocked"/> finishes the job.
    /// </summary>
    internal void AbandonBlock()
    {
        if (_retrying) Client.Blocked = false;
        else if (Client.Blocked) Unpark();
    }

    /// <summary>Starts reading the socket while the client is parked (once); its completion wakes the parked loop.</summary>
    private void StartReadAhead(QDesc qd)
    {
        if (_hasReadAhead) return;
        _hasReadAhead = true;
#pragma warning disable CA2012 // consumed once, by TakeReadAhead
        _readAhead = Pop(qd);
#pragma warning restore CA2012
        if (!_readAhead.IsCompleted) _readAhead.GetAwaiter().UnsafeOnCompleted(_wakeOnRead);
    }

    private QResult TakeReadAhead()
    {
        _hasReadAhead = false;
        var result = _readAhead.GetAwaiter().GetResult();
        _readAhead = default;
        return result;
    }

    private void TimeOutBlocked()
    {
        if (_blockedReply == BlockTimeoutReply.ReplicaAcks)
        {
            var state = Client.BlockState; // WAIT answers how many replicas acknowledged by now
            Unpark();
            _server.Replication.AnswerWaitTimeout(state, _reply);
            return;
        }
        Unpark();
        CommandContext.WriteTimeoutReply(_reply, _blockedReply);
    }

    private void Unpark()
    {
        Client.Blocked = false;
        Client.BlockState = null;
        _server.Blocking.Unblock(this, _blockedDb, _blockedKeys);
        _blockedFrame = [];
        _blockedKeys = [];
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
        if (_queryLength > _server.Config.ClientQueryBufferLimit) return CloseForQueryLimit();
        return true;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool CloseForQueryLimit()
    {
        _server.Log.QueryBufferLimitReached(ClientInfo.Describe(Client, _server.NowMs, 0), ClientInfo.Repr(_query.AsSpan(0, Math.Min(64, _queryLength))));
        return false;
    }

    private int RunRequests(ReadOnlySpan<byte> buffer, out bool ok)
    {
        int offset = 0;
        long clockMark = 0;
        ok = true;
        // CONFIG SET proto-max-bulk-len applies to connections already open.
        if (_scanner.Limits.MaxBulkLength != _server.Config.ProtoMaxBulkLen) UpdateLimits();
        while (offset < buffer.Length && !Client.CloseRequested)
        {
            // Before AUTH, Redis caps request sizes much lower (unauthenticated multibulk/bulk length errors).
            _scanner.RequireAuthentication = !Client.Authenticated;
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
                var context = new CommandContext(buffer[offset..], _args, Client, _server, _reply) { FrameLength = consumed, ClockMark = clockMark };
                _executing = true;
                int replyMark = _reply.Length;
                _server.Commands.Execute(ref context);
                _executing = false;
                clockMark = context.ClockMark;
                if (Client.PauseHeld) break; // CLIENT PAUSE: this request and those after it wait in the query buffer
                if (Client.ReplyMode != Diagnostics.ReplyMode.On) Diagnostics.ReplyModes.AfterCommand(Client, _reply, replyMark);
                Client.CommandsProcessed++;
            }
            offset += consumed;
            if (Client.Blocked) break; // the rest of the pipeline waits until this request is answered
        }
        if (Client.CloseRequested) ok = false;
        return offset;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void UpdateLimits() =>
        _scanner.Limits = _scanner.Limits with { MaxBulkLength = _server.Config.ProtoMaxBulkLen, QueryBufferLimit = _server.Config.ClientQueryBufferLimit };

    /// <summary>
    /// Sends a pub/sub message to this client: a RESP3 push or a RESP2 array. While the client's own command runs (it
    /// published to itself) the message joins that command's batch, ahead of the reply, as in Redis; otherwise it goes
    /// to an outbox that a short coroutine pushes out.
    /// </summary>
    /// <summary>Passed as <c>pattern</c> to <see cref="Deliver"/> for SPUBLISH's "smessage".</summary>
    internal static readonly string ShardMessage = new('s', 1);

    /// <summary>Where an out-of-band message (pub/sub, invalidation) is written: the reply being built while this
    /// client runs a command, else the outbox; null once the client is closing. Pair with <see cref="EndMessage"/>.</summary>
    internal ReplyBuffer? BeginMessage()
    {
        if (_killed) return null;
        var target = _executing ? _reply : _outbox;
        target.Version = Client.Protocol;
        return target;
    }

    /// <summary>After a message written into <see cref="BeginMessage"/>'s buffer: checks the output limit and starts
    /// the outbox's push.</summary>
    internal void EndMessage()
    {
        if (_executing) return;
        CheckOutputLimit();
        if (!_flushing && !_killed)
        {
            _flushing = true;
            _libos.Spawn(_flushOutbox);
        }
    }

    public void Deliver(string? pattern, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message)
    {
        if (_killed || Client.ReplyMode == Diagnostics.ReplyMode.Off) return;
        var target = _executing ? _reply : _outbox;
        target.Version = Client.Protocol;
        target.PushHeader(pattern is null || ReferenceEquals(pattern, ShardMessage) ? 3 : 4);
        if (pattern is null) target.Bulk("message"u8);
        else if (ReferenceEquals(pattern, ShardMessage)) target.Bulk("smessage"u8);
        else
        {
            target.Bulk("pmessage"u8);
            target.Bulk(pattern);
        }
        target.Bulk(channel);
        target.Bulk(message);
        if (_executing) return;
        CheckOutputLimit();
        if (!_flushing && !_killed)
        {
            _flushing = true;
            _libos.Spawn(_flushOutbox);
        }
    }

    /// <summary>Sends bytes already in RESP form (a MONITOR line) the way <see cref="Deliver"/> sends a message.</summary>
    internal void DeliverRaw(ReadOnlySpan<byte> resp)
    {
        if (_killed || Client.ReplyMode == Diagnostics.ReplyMode.Off) return;
        var target = _executing ? _reply : _outbox;
        target.Raw(resp);
        if (_executing) return;
        CheckOutputLimit();
        if (!_flushing && !_killed)
        {
            _flushing = true;
            _libos.Spawn(_flushOutbox);
        }
    }

    private async ValueTask FlushOutboxAsync()
    {
        while (!_outbox.IsEmpty && !_killed)
            if (!await PushOutboxAsync()) break;
        _flushing = false;
    }

    /// <summary>Pushes what the outbox holds now; false if the connection failed.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> PushOutboxAsync()
    {
        var messages = _outbox.Take();
        int length = messages.TotalLength;
        _server.Stats.NetOutputBytes += length;
        _inFlight += length;
        _inFlightPushes++;
        var pushed = await Push(messages);
        _inFlight -= length;
        _inFlightPushes--;
        _libos.SgaFree(messages);
        return pushed.Succeeded;
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
