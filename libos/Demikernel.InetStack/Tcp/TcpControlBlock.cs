using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

public enum TcpState : byte
{
    Closed,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// <summary>
/// One TCP connection (RFC 9293): sequence state, send ring, in-order receive queue, RFC 6298 retransmission timer.
/// <code>
///   app Push ─▶ send ring [SndUna ........ SndNxt ........ end)   acked bytes leave the front
///                          \_ in flight _/ \_ not yet sent _/      sent by Output() within the peer's window
///   frames  ─▶ Receive() ─▶ in order? payload buffer queued as is ─▶ app Pop (zero copy)
///   timer task: retransmission (go back to SndUna, RTO doubles; Karn: no RTT sample from a retransmission),
///               zero-window probe, TIME-WAIT expiry
/// </code>
/// Not yet: congestion control, out-of-order reassembly (out-of-order segments are dropped and re-ACKed, so the
/// peer's retransmissions fill the gap), delayed ACKs, SACK, timestamps, keepalive.
/// </summary>
internal sealed class TcpControlBlock : IRunnable
{
    private readonly TcpLayer _tcp;
    private readonly TcpOptions _options;
    private readonly ByteRing _send;
    private readonly Queue<DemiBuffer> _received = new();
    private int _receivedBytes;
    private OperationQueue _pops;
    private OperationQueue _pushes;
    private Operation? _connect;
    private TcpListener? _listener;
    private TaskHandle _timerTask;

    // Send sequence space.
    private SeqNumber _iss;
    private SeqNumber _sndUna;
    private SeqNumber _sndNxt;
    private SeqNumber _dataStart; // sequence number of the first byte in _send
    private SeqNumber _sndWl1;
    private SeqNumber _sndWl2;
    private long _sndWnd;
    private int _sndScale;
    private int _peerMss = 536;
    private bool _finQueued;
    private bool _finSent;

    // Receive sequence space.
    private SeqNumber _rcvNxt;
    private int _rcvScale;
    private bool _peerFinished;
    private long _lastAdvertisedWindow;

    // RFC 6298.
    private double _srtt;
    private double _rttvar;
    private long _rto;
    private int _backoff;
    private bool _timing;
    private SeqNumber _timedSeq;
    private long _timedAt;
    private long _retransmitAt;
    private long _timeWaitUntil;

    private int _error;
    private bool _detached;

    private TcpControlBlock(TcpLayer tcp, TcpLayer.FourTuple tuple)
    {
        _tcp = tcp;
        _options = tcp.Options;
        Tuple = tuple;
        _send = new ByteRing(_options.SendBufferSize);
        _rto = tcp.Interface.Ticks(_options.InitialRto);
        _timerTask = tcp.Interface.Scheduler.Insert(this);
    }

    public TcpLayer.FourTuple Tuple { get; }
    public TcpState State { get; private set; }
    public IPv4Endpoint Remote => new(Tuple.RemoteAddress.Value, Tuple.RemotePort);
    public IPv4Endpoint Local => new(_tcp.Interface.Options.LocalAddress.Value, Tuple.LocalPort);
    public int Error => _error;
    private long Now => _tcp.Interface.Now;
    private int EffectiveMss => Math.Min(_peerMss, _tcp.Mss);

    // ------------------------------------------------------------------ opening

    /// <summary>Active open: sends a SYN; <paramref name="connect"/> completes when the handshake does.</summary>
    public static TcpControlBlock Active(TcpLayer tcp, TcpLayer.FourTuple tuple, Operation connect)
    {
        var tcb = new TcpControlBlock(tcp, tuple) { _connect = connect, State = TcpState.SynSent, OwnsPort = true };
        tcb.InitSend(tcp.InitialSequenceNumber(tuple));
        tcp.AddConnection(tcb);
        tcb.SendSyn();
        return tcb;
    }

    /// <summary>Passive open from a SYN on a listener: answers with a SYN-ACK.</summary>
    public static TcpControlBlock Passive(TcpLayer tcp, TcpLayer.FourTuple tuple, in TcpRepr syn, TcpListener listener)
    {
        var tcb = new TcpControlBlock(tcp, tuple) { _listener = listener, State = TcpState.SynReceived };
        tcb.InitSend(tcp.InitialSequenceNumber(tuple));
        tcb.AcceptSyn(syn);
        tcb.SendSyn();
        return tcb;
    }

    private void InitSend(SeqNumber iss)
    {
        _iss = iss;
        _sndUna = iss;
        _sndNxt = iss;
        _dataStart = iss + 1;
    }

    private void AcceptSyn(in TcpRepr syn)
    {
        _rcvNxt = syn.SequenceNumber + 1;
        _peerMss = syn.MaxSegmentSize is { } mss && mss > 0 ? mss : 536;
        if (syn.WindowScale is { } scale)
        {
            _sndScale = scale;
            _rcvScale = _tcp.WindowScale;
        }
        _sndWnd = syn.WindowSize; // never scaled in a SYN
        _sndWl1 = syn.SequenceNumber;
        _sndWl2 = syn.AckNumber;
    }

    private void SendSyn()
    {
        var flags = State == TcpState.SynSent ? TcpFlags.Syn : TcpFlags.Syn | TcpFlags.Ack;
        // Offer window scaling in our SYN; in a SYN-ACK only if the peer offered it.
        byte? scale = State == TcpState.SynSent || _sndScale > 0 || _rcvScale > 0 ? _tcp.WindowScale : null;
        var repr = new TcpRepr(Tuple.LocalPort, Tuple.RemotePort, _iss, State == TcpState.SynSent ? default : _rcvNxt, flags,
            (ushort)Math.Min(ReceiveWindow, ushort.MaxValue), 0, MaxSegmentSize: (ushort)_tcp.Mss, WindowScale: scale);
        _tcp.Send(Tuple.RemoteAddress, repr, null, 0);
        _sndNxt = _iss + 1;
        ArmRetransmit();
    }

    // ------------------------------------------------------------------ receive

    private long ReceiveWindow => Math.Max(0, _options.ReceiveBufferSize - _receivedBytes);

    /// <summary>Processes a segment for this connection. True if <paramref name="frame"/> was kept.</summary>
    public bool Receive(in TcpRepr seg, DemiBuffer frame, int payloadOffset)
    {
        var flags = seg.Flags;
        if (State == TcpState.SynSent) return ReceiveInSynSent(seg);

        // 1. Acceptability (RFC 9293 §3.10.7.4): does the segment overlap the receive window?
        int segLength = seg.PayloadLength + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        long window = ReceiveWindow;
        bool acceptable = segLength == 0
            ? window == 0 ? seg.SequenceNumber == _rcvNxt : InWindow(seg.SequenceNumber, window)
            : window > 0 && (InWindow(seg.SequenceNumber, window) || InWindow(seg.SequenceNumber + (segLength - 1), window));
        if (!acceptable)
        {
            if ((flags & TcpFlags.Rst) == 0) SendAck();
            return false;
        }

        // 2. RST (RFC 5961: only an exact match resets; others get a challenge ACK).
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (seg.SequenceNumber != _rcvNxt)
            {
                SendAck();
                return false;
            }
            if (State == TcpState.SynReceived && _listener is not null) Abort(0, sendReset: false);
            else Abort(State is TcpState.Closing or TcpState.LastAck or TcpState.TimeWait ? 0 : Errno.ECONNRESET, sendReset: false);
            return false;
        }

        // 3. A SYN in a synchronised state: challenge ACK (RFC 5961 §4).
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (State == TcpState.SynReceived && seg.SequenceNumber == _rcvNxt - 1) SendSynAckAgain();
            else SendAck();
            return false;
        }

        if ((flags & TcpFlags.Ack) == 0) return false;

        // 4. ACK.
        if (State == TcpState.SynReceived)
        {
            if (!(seg.AckNumber > _sndUna && seg.AckNumber <= _sndNxt))
            {
                _tcp.SendResetFor(seg, Tuple.RemoteAddress);
                return false;
            }
            State = TcpState.Established;
            _sndWnd = (long)seg.WindowSize << _sndScale;
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = seg.AckNumber;
            var listener = _listener;
            _listener = null;
            listener?.Established(this);
            var connect = _connect; // a simultaneous open completes the connect here
            _connect = null;
            connect?.Complete(0);
        }
        if (seg.AckNumber > _sndNxt)
        {
            SendAck(); // acks something we never sent
            return false;
        }
        if (seg.AckNumber > _sndUna) OnAcked(seg.AckNumber);
        if (_sndWl1 < seg.SequenceNumber || (_sndWl1 == seg.SequenceNumber && _sndWl2 <= seg.AckNumber))
        {
            _sndWnd = (long)seg.WindowSize << _sndScale;
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = seg.AckNumber;
        }
        bool finAcked = _finSent && _sndUna == _sndNxt;
        switch (State)
        {
            case TcpState.FinWait1 when finAcked:
                State = TcpState.FinWait2;
                break;
            case TcpState.Closing when finAcked:
                EnterTimeWait();
                break;
            case TcpState.LastAck when finAcked:
                Terminate();
                return false;
            case TcpState.TimeWait when (flags & TcpFlags.Fin) != 0:
                SendAck(); // the peer lost our last ACK
                EnterTimeWait();
                return false;
        }

        // 5. Data, in order only.
        bool kept = false;
        bool mustAck = false;
        if (seg.PayloadLength > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            int skip = _rcvNxt - seg.SequenceNumber; // bytes we already have (a retransmission overlapping new data)
            if (skip < 0)
            {
                _tcp.Stats.OutOfOrderDropped++;
                SendAck(); // a duplicate ACK tells the peer what is missing
                return false;
            }
            int take = (int)Math.Min(seg.PayloadLength - skip, ReceiveWindow);
            if (take > 0)
            {
                frame.Adjust(payloadOffset + skip);
                frame.SetLength(take);
                _received.Enqueue(frame);
                _receivedBytes += take;
                _rcvNxt += take;
                kept = true;
                DrainPops();
            }
            mustAck = true;
        }

        // 6. FIN, once everything before it has arrived.
        if ((flags & TcpFlags.Fin) != 0 && seg.SequenceNumber + seg.PayloadLength == _rcvNxt && !_peerFinished)
        {
            _rcvNxt += 1;
            _peerFinished = true;
            mustAck = true;
            switch (State)
            {
                case TcpState.Established: State = TcpState.CloseWait; break;
                case TcpState.FinWait1: State = _sndUna == _sndNxt && _finSent ? TcpState.TimeWait : TcpState.Closing; break;
                case TcpState.FinWait2: State = TcpState.TimeWait; break;
            }
            if (State == TcpState.TimeWait) EnterTimeWait();
            DrainPops();
        }
        else if ((flags & TcpFlags.Fin) != 0) mustAck = true;

        if (mustAck) SendAck();
        Output();
        return kept;
    }

    private bool InWindow(SeqNumber seq, long window) => seq >= _rcvNxt && seq - _rcvNxt < window;

    private bool ReceiveInSynSent(in TcpRepr seg)
    {
        var flags = seg.Flags;
        bool ackOk = false;
        if ((flags & TcpFlags.Ack) != 0)
        {
            if (seg.AckNumber <= _iss || seg.AckNumber > _sndNxt)
            {
                _tcp.SendResetFor(seg, Tuple.RemoteAddress);
                return false;
            }
            ackOk = true;
        }
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (ackOk) Abort(Errno.ECONNREFUSED, sendReset: false);
            return false;
        }
        if ((flags & TcpFlags.Syn) == 0) return false;
        AcceptSyn(seg);
        if (!ackOk)
        {
            // Simultaneous open: both sides sent SYNs.
            State = TcpState.SynReceived;
            SendSynAckAgain();
            return false;
        }
        if (seg.WindowScale is null) _rcvScale = 0;
        _sndUna = seg.AckNumber;
        SampleRtt(seg.AckNumber);
        State = TcpState.Established;
        _retransmitAt = 0;
        _backoff = 0;
        SendAck();
        var connect = _connect;
        _connect = null;
        connect?.Complete(0);
        Output();
        return false;
    }

    private void SendSynAckAgain()
    {
        var saved = _sndNxt;
        SendSyn();
        _sndNxt = saved > _sndNxt ? saved : _sndNxt;
    }

    private void OnAcked(SeqNumber ack)
    {
        int acked = ack - _dataStart;
        int dataAcked = Math.Clamp(acked, 0, _send.Count);
        _send.Discard(dataAcked);
        _dataStart += dataAcked;
        _sndUna = ack;
        SampleRtt(ack);
        _backoff = 0;
        _retransmitAt = 0;
        if (_sndUna != _sndNxt) ArmRetransmit();
        DrainPushes();
    }

    private void SampleRtt(SeqNumber ack)
    {
        if (!_timing || ack <= _timedSeq) return;
        _timing = false;
        double r = Now - _timedAt;
        if (_srtt == 0)
        {
            _srtt = r;
            _rttvar = r / 2;
        }
        else
        {
            _rttvar = 0.75 * _rttvar + 0.25 * Math.Abs(_srtt - r);
            _srtt = 0.875 * _srtt + 0.125 * r;
        }
        long granularity = _tcp.Interface.Ticks(TimeSpan.FromMilliseconds(1));
        _rto = Math.Clamp((long)(_srtt + Math.Max(granularity, 4 * _rttvar)),
            _tcp.Interface.Ticks(_options.MinRto), _tcp.Interface.Ticks(_options.MaxRto));
    }

    /// <summary>The current retransmission timeout, for tests and statistics.</summary>
    public TimeSpan Rto => TimeSpan.FromTicks((long)(_rto * (TimeSpan.TicksPerSecond / (double)_tcp.Interface.Time.TimestampFrequency)));

    // ------------------------------------------------------------------ send

    private void SendAck()
    {
        if (State is TcpState.Closed or TcpState.SynSent) return;
        SendSegment(TcpFlags.Ack, _sndNxt, 0, 0);
    }

    private void SendSegment(TcpFlags flags, SeqNumber seq, int dataOffset, int length)
    {
        long window = ReceiveWindow >> _rcvScale;
        _lastAdvertisedWindow = Math.Min(window, ushort.MaxValue) << _rcvScale;
        var repr = new TcpRepr(Tuple.LocalPort, Tuple.RemotePort, seq, _rcvNxt, flags, (ushort)Math.Min(window, ushort.MaxValue), length);
        _tcp.Send(Tuple.RemoteAddress, repr, _send, dataOffset);
    }

    /// <summary>Sends whatever the peer's window allows, then a FIN if the application closed.</summary>
    private void Output()
    {
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck)) return;
        int mss = EffectiveMss;
        while (true)
        {
            int sentData = Math.Min(_sndNxt - _dataStart, _send.Count);
            int unsent = _send.Count - sentData;
            if (unsent <= 0) break;
            long inFlight = _sndNxt - _sndUna;
            long room = _sndWnd - inFlight;
            if (room <= 0)
            {
                // Zero window: the retransmission timer doubles as the persist timer and sends a one-byte probe.
                if (_retransmitAt == 0) ArmRetransmit();
                break;
            }
            int length = (int)Math.Min(Math.Min(mss, unsent), room);
            // Silly-window avoidance (RFC 9293 §3.8.6.2.1): do not send a small segment when more is waiting.
            if (length < mss && length < unsent && inFlight > 0) break;
            bool push = length == unsent;
            if (!_timing)
            {
                _timing = true;
                _timedSeq = _sndNxt;
                _timedAt = Now;
            }
            SendSegment(TcpFlags.Ack | (push ? TcpFlags.Psh : 0), _sndNxt, sentData, length);
            _sndNxt += length;
            if (_retransmitAt == 0) ArmRetransmit();
        }
        if (_finQueued && !_finSent && _sndNxt - _dataStart == _send.Count)
        {
            SendSegment(TcpFlags.Fin | TcpFlags.Ack, _sndNxt, 0, 0);
            _sndNxt += 1;
            _finSent = true;
            if (State == TcpState.Established) State = TcpState.FinWait1;
            else if (State == TcpState.CloseWait) State = TcpState.LastAck;
            if (_retransmitAt == 0) ArmRetransmit();
        }
    }

    private void ArmRetransmit()
    {
        long backedOff = _rto << Math.Min(_backoff, 16);
        _retransmitAt = Now + Math.Min(backedOff, _tcp.Interface.Ticks(_options.MaxRto));
        _tcp.Interface.Scheduler.WakeAt(_timerTask, _retransmitAt);
    }

    /// <summary>Timer task: retransmission/persist and TIME-WAIT.</summary>
    void IRunnable.Run()
    {
        long now = Now;
        if (State == TcpState.TimeWait)
        {
            if (now >= _timeWaitUntil) Terminate();
            return;
        }
        if (_retransmitAt == 0 || now < _retransmitAt) return;
        _retransmitAt = 0;
        if (State == TcpState.Closed) return;
        bool zeroWindowProbe = _sndUna == _sndNxt && _send.Count > 0;
        if (_sndUna == _sndNxt && !zeroWindowProbe) return;
        _backoff++;
        int limit = State is TcpState.SynSent or TcpState.SynReceived ? _options.SynRetries : _options.DataRetries;
        if (_backoff > limit)
        {
            Abort(Errno.ETIMEDOUT, sendReset: State != TcpState.SynSent);
            return;
        }
        _timing = false; // Karn: never sample a retransmitted segment
        _tcp.Stats.Retransmissions++;
        switch (State)
        {
            case TcpState.SynSent:
            case TcpState.SynReceived:
                SendSyn();
                return;
        }
        if (zeroWindowProbe)
        {
            // One byte beyond the closed window; its ACK carries the window when it opens.
            SendSegment(TcpFlags.Ack, _sndNxt, _sndNxt - _dataStart, 1);
            _sndNxt += 1;
            ArmRetransmit();
            return;
        }
        // Go back to the first unacknowledged byte and resend from there.
        _sndNxt = _sndUna;
        if (_finSent && _sndUna - _dataStart <= _send.Count) _finSent = false;
        long savedWindow = _sndWnd;
        if (_sndWnd < 1) _sndWnd = 1;
        Output();
        _sndWnd = savedWindow;
        if (_retransmitAt == 0) ArmRetransmit();
    }

    private void EnterTimeWait()
    {
        State = TcpState.TimeWait;
        _retransmitAt = 0;
        _timeWaitUntil = Now + _tcp.Interface.Ticks(_options.TimeWait);
        _tcp.Interface.Scheduler.WakeAt(_timerTask, _timeWaitUntil);
        DrainPops();
    }

    // ------------------------------------------------------------------ application side

    public int StartPush(Operation op)
    {
        if (_error != 0) return _error;
        if (State is TcpState.SynSent or TcpState.SynReceived or TcpState.Closed) return Errno.ENOTCONN;
        if (_finQueued) return Errno.EPIPE;
        _pushes.Enqueue(op);
        DrainPushes();
        Output();
        return 0;
    }

    /// <summary>Copies pushed bytes into the send ring; a push completes once all its bytes are in.</summary>
    private void DrainPushes()
    {
        while (_pushes.Peek is { } op && _send.Free > 0)
        {
            int skip = op.Progress;
            for (var b = op.Sga.First; b is not null && _send.Free > 0; b = b.Next)
            {
                if (skip >= b.Length)
                {
                    skip -= b.Length;
                    continue;
                }
                int n = _send.Write(b.Span[skip..]);
                op.Progress += n;
                skip = 0;
            }
            if (op.Progress < op.Sga.TotalLength) break;
            _pushes.Dequeue();
            op.Complete(0);
        }
    }

    public int StartPop(Operation op)
    {
        if (State is TcpState.SynSent or TcpState.SynReceived) return Errno.ENOTCONN;
        _pops.Enqueue(op);
        DrainPops();
        return 0;
    }

    private void DrainPops()
    {
        bool opened = false;
        while (!_pops.IsEmpty)
        {
            if (_received.TryPeek(out var data))
            {
                var op = _pops.Dequeue()!;
                DemiBuffer result;
                if (data.Length <= op.Size)
                {
                    result = _received.Dequeue();
                }
                else
                {
                    result = _tcp.Interface.Pool.Rent(op.Size);
                    data.Span[..op.Size].CopyTo(result.Span);
                    data.Adjust(op.Size);
                }
                _receivedBytes -= result.Length;
                opened = true;
                op.CompletePop(result, Remote);
                continue;
            }
            if (_error != 0)
            {
                _pops.Dequeue()!.Complete(_error);
                continue;
            }
            if (_peerFinished)
            {
                _pops.Dequeue()!.CompletePop(null);
                continue;
            }
            break;
        }
        // Window update once the application has made room for at least a segment more than we last advertised.
        if (opened && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 &&
            ReceiveWindow - _lastAdvertisedWindow >= Math.Min(EffectiveMss, _options.ReceiveBufferSize / 2))
            SendAck();
    }

    /// <summary>The application closed its descriptor: fail what is pending, send a FIN after the queued data.</summary>
    public void CloseFromApplication()
    {
        _detached = true;
        _pops.CompleteAll(Errno.ECANCELED);
        _pushes.CompleteAll(Errno.ECANCELED);
        _connect?.Complete(Errno.ECANCELED);
        _connect = null;
        while (_received.TryDequeue(out var b)) _tcp.Interface.Pool.Discard(b);
        _receivedBytes = 0;
        switch (State)
        {
            case TcpState.SynSent:
                Terminate();
                return;
            case TcpState.Established:
            case TcpState.CloseWait:
            case TcpState.SynReceived:
                _finQueued = true;
                Output();
                return;
            case TcpState.Closed:
                Terminate();
                return;
        }
    }

    /// <summary>Ends the connection at once with <paramref name="errno"/> for pending operations.</summary>
    public void Abort(int errno, bool sendReset)
    {
        if (sendReset && State is not (TcpState.Closed or TcpState.SynSent or TcpState.TimeWait))
        {
            _tcp.Send(Tuple.RemoteAddress, new TcpRepr(Tuple.LocalPort, Tuple.RemotePort, _sndNxt, default, TcpFlags.Rst, 0, 0), null, 0);
            _tcp.Stats.ResetsSent++;
        }
        _error = errno != 0 ? errno : Errno.ECONNRESET;
        var connect = _connect;
        _connect = null;
        connect?.Complete(errno != 0 ? errno : Errno.ECONNREFUSED);
        _pushes.CompleteAll(_error);
        if (errno == 0) _peerFinished = true; // an orderly end: pops see end of stream
        DrainPops();
        var listener = _listener;
        _listener = null;
        listener?.Aborted();
        Terminate();
    }

    private void Terminate()
    {
        State = TcpState.Closed;
        _retransmitAt = 0;
        _tcp.RemoveConnection(this);
        if (_detached && !_released)
        {
            _released = true;
            _tcp.Interface.Scheduler.Remove(_timerTask);
            if (OwnsPort) _tcp.ReleasePort(Tuple.LocalPort);
        }
        DrainPops();
    }

    private bool _released;

    /// <summary>True for active opens, whose ephemeral port goes back to the pool when the connection ends.</summary>
    public bool OwnsPort { get; init; }
}
