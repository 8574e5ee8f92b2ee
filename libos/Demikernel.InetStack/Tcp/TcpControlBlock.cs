using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

internal enum TcpState : byte
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
/// One TCP connection (RFC 9293): sequence state, retained send queue, receive queue with out-of-order reassembly,
/// congestion control, and one timer task for every timer of the connection.
/// <code>
///   app Push ─▶ SendQueue (the pushed buffers, retained) [SndUna ...... SndNxt ...... end)   ACKed bytes released
///                                                         \_ in flight _/\_ unsent _/      sent within
///                                                                                          min(peer window, cwnd)
///   frames ─▶ Receive() ─┬─ in order ─▶ payload buffer queued as is ─▶ app Pop (zero copy)
///                        └─ ahead of a gap ─▶ ReassemblyQueue ─▶ moved to the queue when the gap fills
///   ACKs: new data ─▶ cc.OnAck; third duplicate ─▶ fast retransmit + NewReno fast recovery (RFC 6582: window
///         inflation, partial ACKs retransmit the next hole, full ACK ends recovery)
///   timer task (one heap entry at a time, the earliest of): retransmission/persist (RFC 6298, Karn, backoff),
///         delayed ACK, keepalive, FIN-WAIT-2 timeout, TIME-WAIT expiry
/// </code>
/// Loss detection and recovery (SACK scoreboard, RACK-style lost-resend detection, tail loss probes, RTO) live in
/// <c>TcpControlBlock.Recovery.cs</c>. Not yet: timestamps.
/// </summary>
internal sealed partial class TcpControlBlock : IRunnable
{
    private readonly TcpLayer _tcp;
    private readonly TcpOptions _options;
    private readonly SendQueue _send = new();
    private readonly Queue<DemiBuffer> _received = new();
    private readonly ReassemblyQueue _outOfOrder = new();
    private int _receivedBytes;
    private OperationQueue _pops;
    private OperationQueue _pushes;
    private Operation? _connect;
    private TcpListener? _listener;
    private readonly TaskHandle _timerTask;
    private CongestionControlBase _cc = null!; // the base class, not the interface: Cwnd and OnAck are direct calls

    // Send sequence space.
    private SeqNumber _iss;
    private SeqNumber _sndUna;
    private SeqNumber _sndNxt;
    private SeqNumber _sndMax;    // highest sequence number sent + 1 (SndNxt falls back below it after a timeout)
    private SeqNumber _dataStart; // sequence number of the first byte in _send
    private SeqNumber _sndWl1;
    private SeqNumber _sndWl2;
    private long _sndWnd;
    private int _sndScale;
    private int _peerMss = 536;
    private bool _finQueued;
    private bool _finSent;

    // Loss recovery (RFC 5681 / 6582).
    private int _dupAcks;
    private bool _inRecovery;
    private SeqNumber _recover;
    private long _inflation;
    private bool _sackOk;          // both SYNs carried SACK-permitted
    private readonly SackScoreboard _scoreboard = new();
    private bool _sackRecovery;    // in recovery, driven by the scoreboard instead of window inflation
    private SeqNumber _rexmitNext; // holes below this were already resent in this recovery
    private SeqNumber _lastOutOfOrder; // start of the latest segment queued out of order (first SACK block)
    private long _probeAt;         // tail loss probe deadline (RFC 8985 §7)
    private bool _probeOut;        // a tail loss probe is out and not yet answered by new data or SACKs
    private bool _probeAnswered;
    private readonly (SeqNumber Seq, SeqNumber Mark)[] _resendMarks = new (SeqNumber, SeqNumber)[64];
    private int _resendMarkNext;

    // Receive sequence space.
    private SeqNumber _rcvNxt;
    private int _rcvScale;
    private bool _peerFinished;
    private bool _finPending;     // a FIN arrived ahead of a gap
    private SeqNumber _finSeq;
    private long _lastAdvertisedWindow;
    private int _ackPending;      // segments received and not yet acknowledged (delayed ACK)

    // RFC 6298.
    private double _srtt;
    private double _rttvar;
    private long _rto;
    private int _backoff;
    private bool _timing;
    private SeqNumber _timedSeq;
    private long _timedAt;

    // Timers: deadlines (0 = off) and the one wake-up the scheduler holds.
    private long _retransmitAt;
    private long _delayedAckAt;
    private long _keepaliveAt;
    private long _finWait2Until;
    private long _timeWaitUntil;
    private long _wakeAt;
    private long _lastHeard;
    private long _probeSentAt;
    private bool _probing;        // a zero-window probe's byte is out, beyond SND.MAX
    private int _keepaliveProbes;
    private KeepAliveSettings _keepAlive;

    private int _error;
    private bool _detached;
    private bool _released;

    private TcpControlBlock(TcpLayer tcp, TcpLayer.FourTuple tuple)
    {
        _tcp = tcp;
        _options = tcp.Options;
        Tuple = tuple;
        _rto = tcp.Interface.Ticks(_options.InitialRto);
        _timerTask = tcp.Interface.Scheduler.Insert(this);
        _lastHeard = Now;
        _keepAlive = KeepAliveSettings.From(_options);
    }

    public TcpLayer.FourTuple Tuple { get; }
    public TcpState State { get; private set; }
    public IPv4Endpoint Remote => new(Tuple.RemoteAddress.Value, Tuple.RemotePort);
    public IPv4Endpoint Local => new(_tcp.Interface.Options.LocalAddress.Value, Tuple.LocalPort);
    public int Error => _error;
    /// <summary>The congestion window in bytes, for tests and statistics.</summary>
    public long CongestionWindow => _cc?.Cwnd ?? 0;
    public ICongestionControl? Congestion => _cc;
    public bool InRecovery => _inRecovery;
    /// <summary>Bytes pushed and not yet acknowledged.</summary>
    public int Unacknowledged => _send.Count;
    private long Now => _tcp.Interface.Now;
    private int EffectiveMss => Math.Min(_peerMss, _tcp.Mss);
    private SeqNumber FinSeq => _dataStart + _send.Count;

    /// <summary>True for active opens, whose ephemeral port goes back to the pool when the connection ends.</summary>
    public bool OwnsPort { get; init; }

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
        var tcb = new TcpControlBlock(tcp, tuple) { _listener = listener, State = TcpState.SynReceived, _keepAlive = listener.KeepAlive };
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
        _sndMax = iss;
        _recover = iss;
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
        _sackOk = syn.SackPermitted && _options.Sack;
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
            (ushort)Math.Min(ReceiveWindow, ushort.MaxValue), 0, MaxSegmentSize: (ushort)_tcp.Mss, WindowScale: scale,
            SackPermitted: State == TcpState.SynSent ? _options.Sack : _sackOk);
        _tcp.Send(Tuple.RemoteAddress, repr, null, 0);
        _sndNxt = _iss + 1;
        if (_sndMax < _sndNxt) _sndMax = _sndNxt;
        ArmRetransmit();
    }

    /// <summary>The handshake completed (either side): start congestion control and keepalive.</summary>
    private void OnEstablished()
    {
        State = TcpState.Established;
        _cc = CongestionControl.Create(_options.CongestionControl, EffectiveMss, _options.InitialCongestionWindow);
        if (_keepAlive.Enabled) SetTimer(ref _keepaliveAt, Now + _tcp.Interface.Ticks(_keepAlive.Idle));
    }

    /// <summary>This connection's keepalive (setsockopt). A change applies at once: an enabled one probes after its idle
    /// time since the peer was last heard, a disabled one stops probing.</summary>
    public KeepAliveSettings KeepAliveSettings
    {
        get => _keepAlive;
        set
        {
            _keepAlive = value;
            if (State is not (TcpState.Established or TcpState.CloseWait)) return; // armed when the handshake completes
            _keepaliveProbes = 0;
            if (!value.Enabled) _keepaliveAt = 0; // a wake-up already scheduled finds nothing due
            else SetTimer(ref _keepaliveAt, Math.Max(_lastHeard + _tcp.Interface.Ticks(value.Idle), Now + 1));
        }
    }

    // ------------------------------------------------------------------ receive

    private long ReceiveWindow => Math.Max(0, _options.ReceiveBufferSize - _receivedBytes);

    /// <summary>Processes a segment for this connection. True if <paramref name="frame"/> was kept.</summary>
    public bool Receive(in TcpRepr seg, DemiBuffer frame, int payloadOffset)
    {
        var flags = seg.Flags;
        _lastHeard = Now;
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
            OnEstablished();
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
        if (seg.AckNumber > _sndMax && !(_probing && seg.AckNumber == _sndMax + 1))
        {
            SendAck(); // acks something we never sent
            return false;
        }
        long peerWindow = (long)seg.WindowSize << _sndScale;
        bool sackNews = _sackOk && seg.Sack.Count > 0 &&
            _scoreboard.Update(seg.Sack, seg.AckNumber > _sndUna ? seg.AckNumber : _sndUna, _sndMax);
        _probeAnswered = _probeOut && sackNews;
        bool advanced = seg.AckNumber > _sndUna;
        if (advanced) OnAcked(seg.AckNumber);
        else if (seg.AckNumber == _sndUna && seg.PayloadLength == 0 && (flags & TcpFlags.Fin) == 0 && (peerWindow == _sndWnd || sackNews) &&
                 _sndMax > _sndUna && _cc is not null)
            OnDuplicateAck();
        _probeAnswered = false;
        if (sackNews && _sackRecovery) ResendFrontIfLost();
        if (advanced || sackNews)
        {
            _probeOut = false;
            ArmTailLossProbe();
        }
        if (_sndWl1 < seg.SequenceNumber || (_sndWl1 == seg.SequenceNumber && _sndWl2 <= seg.AckNumber))
        {
            _sndWnd = peerWindow;
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = seg.AckNumber;
        }
        bool finAcked = _finSent && _sndUna == FinSeq + 1;
        switch (State)
        {
            case TcpState.FinWait1 when finAcked:
                State = TcpState.FinWait2;
                SetTimer(ref _finWait2Until, Now + _tcp.Interface.Ticks(_options.FinWait2Timeout));
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

        // 5. Data: in order to the application, ahead of a gap to the reassembly queue.
        bool kept = false;
        bool ackNow = false;
        if (seg.PayloadLength > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            int skip = _rcvNxt - seg.SequenceNumber; // > 0: bytes we already have; < 0: a gap in front
            if (_detached && seg.PayloadLength > skip)
            {
                // New data for a connection nobody will read (RFC 9293 §3.10.7.4, as Linux does): reset it.
                Abort(Errno.ECONNRESET, sendReset: true);
                return false;
            }
            if (skip < 0)
            {
                int room = (int)Math.Min(seg.PayloadLength, window + skip);
                if (room > 0)
                {
                    frame.Adjust(payloadOffset);
                    frame.SetLength(room);
                    kept = _outOfOrder.Insert(seg.SequenceNumber, frame, _tcp.Interface.Pool);
                    if (kept) _tcp.Stats.OutOfOrderQueued++;
                    _lastOutOfOrder = seg.SequenceNumber;
                }
                if ((flags & TcpFlags.Fin) != 0 && room == seg.PayloadLength)
                {
                    _finPending = true;
                    _finSeq = seg.SequenceNumber + seg.PayloadLength;
                }
                SendAck(); // a duplicate ACK at once tells the peer what is missing (RFC 5681 §4.2)
                return kept;
            }
            int take = (int)Math.Min(seg.PayloadLength - skip, window);
            if (take > 0)
            {
                frame.Adjust(payloadOffset + skip);
                frame.SetLength(take);
                _received.Enqueue(frame);
                _receivedBytes += take;
                _rcvNxt += take;
                kept = true;
                _ackPending++;
                // A segment that fills a gap is ACKed at once, and so is every second one.
                if (!_outOfOrder.IsEmpty)
                {
                    ackNow = true;
                    while (_outOfOrder.TryTake(_rcvNxt, _tcp.Interface.Pool, out var next))
                    {
                        _received.Enqueue(next);
                        _receivedBytes += next.Length;
                        _rcvNxt += next.Length;
                    }
                }
                if (_ackPending >= 2) ackNow = true;
                DrainPops();
            }
            else ackNow = true; // a pure duplicate: the peer may have lost our ACK
        }

        // 6. FIN, once everything before it has arrived.
        if ((flags & TcpFlags.Fin) != 0 && seg.SequenceNumber + seg.PayloadLength == _rcvNxt && !_peerFinished) ReceiveFin();
        else if (_finPending && _finSeq == _rcvNxt && !_peerFinished) ReceiveFin();
        else if ((flags & TcpFlags.Fin) != 0) ackNow = true;
        if (_peerFinished && (flags & TcpFlags.Fin) != 0) ackNow = true;

        if (State == TcpState.Closed) return kept;
        // Data going out carries the ACK; a lone ACK only if nothing went out.
        Output();
        if (_ackPending > 0)
        {
            if (ackNow) SendAck();
            // Without delayed ACK, the ACK still waits for the end of this libOS pass: the application's answer to
            // what just arrived (a reply to a request) then carries it, one frame instead of two.
            else if (_options.DelayedAck <= TimeSpan.Zero) _tcp.AckAtEndOfPass(this);
            else if (_delayedAckAt == 0) SetTimer(ref _delayedAckAt, Now + _tcp.Interface.Ticks(_options.DelayedAck));
        }
        return kept;
    }

    private void ReceiveFin()
    {
        _rcvNxt += 1;
        _peerFinished = true;
        _finPending = false;
        _ackPending++;
        switch (State)
        {
            case TcpState.Established: State = TcpState.CloseWait; break;
            case TcpState.FinWait1: State = _finSent && _sndUna == FinSeq + 1 ? TcpState.TimeWait : TcpState.Closing; break;
            case TcpState.FinWait2: State = TcpState.TimeWait; break;
        }
        if (State == TcpState.TimeWait) EnterTimeWait();
        DrainPops();
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
        OnEstablished();
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

    private double Seconds(long ticks) => ticks / (double)_tcp.Interface.TimestampFrequency;

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
        _rto = Math.Clamp((long)(_srtt + Math.Max(_tcp.ClockGranularityTicks, 4 * _rttvar)), _tcp.MinRtoTicks, _tcp.MaxRtoTicks);
    }

    /// <summary>The current retransmission timeout, for tests and statistics.</summary>
    public TimeSpan Rto => TimeSpan.FromTicks((long)(_rto * (TimeSpan.TicksPerSecond / (double)_tcp.Interface.Time.TimestampFrequency)));

    // ------------------------------------------------------------------ send

    /// <summary>In <see cref="TcpLayer"/>'s list of ACKs owed at the end of the pass (saves searching it).</summary>
    internal bool PassAckQueued;

    /// <summary>The end of the libOS pass in which data arrived: its ACK, unless something sent since carried it.</summary>
    internal void FlushPassAck()
    {
        if (_ackPending > 0) SendAck();
    }

    private void SendAck()
    {
        if (State is TcpState.Closed or TcpState.SynSent) return;
        // SND.MAX, not SND.NXT: after a timeout SND.NXT falls back below what the peer may already hold, and an ACK
        // carrying an old sequence number would be unacceptable to it (each side answering the other's with an ACK).
        SendSegment(TcpFlags.Ack, _sndMax, 0, 0);
    }

    /// <summary>Every segment carries the latest ACK and window, so it settles any delayed ACK.</summary>
    private void SendSegment(TcpFlags flags, SeqNumber seq, int dataOffset, int length)
    {
        long window = ReceiveWindow >> _rcvScale;
        _lastAdvertisedWindow = Math.Min(window, ushort.MaxValue) << _rcvScale;
        _ackPending = 0;
        _delayedAckAt = 0;
        var sack = default(TcpSackBlocks);
        if (_sackOk && !_outOfOrder.IsEmpty)
        {
            sack = _outOfOrder.SackBlocks(_lastOutOfOrder);
            // Options must not push a full segment past the MSS; such a segment goes without them.
            if (length > 0 && length + 4 + 8 * sack.Count > EffectiveMss) sack = default;
        }
        var repr = new TcpRepr(Tuple.LocalPort, Tuple.RemotePort, seq, _rcvNxt, flags, (ushort)Math.Min(window, ushort.MaxValue), length, Sack: sack);
        _tcp.Send(Tuple.RemoteAddress, repr, length > 0 ? _send : null, dataOffset);
    }

    /// <summary>Sends whatever the peer's window and the congestion window allow, then a FIN if the application closed.</summary>
    private void Output()
    {
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck)) return;
        int mss = EffectiveMss;
        if (_sackRecovery) OutputSackRecovery(mss);
        else
        {
            long cwnd = _cc.Cwnd + _inflation;
            bool sacks = !_scoreboard.IsEmpty;
            while (true)
            {
                // Going back after a timeout: skip what the peer has SACKed.
                while (sacks && _sndNxt < _sndMax && _scoreboard.TryGetSackedRange(_sndNxt, out var right)) _sndNxt = right;
                long inFlight = _sndNxt - _sndUna;
                if (sacks) inFlight -= _scoreboard.SackedBetween(_sndUna, _sndNxt);
                if (!SendNewSegment(cwnd - inFlight, inFlight, mss)) break;
            }
        }
        if (_finQueued && _sndNxt == FinSeq)
        {
            SendSegment(TcpFlags.Fin | TcpFlags.Ack, _sndNxt, 0, 0);
            _sndNxt += 1;
            if (_sndMax < _sndNxt) _sndMax = _sndNxt;
            if (!_finSent)
            {
                _finSent = true;
                if (State == TcpState.Established) State = TcpState.FinWait1;
                else if (State == TcpState.CloseWait) State = TcpState.LastAck;
            }
            if (_retransmitAt == 0) ArmRetransmit();
        }
    }

    /// <summary>
    /// Sends the next segment from SND.NXT if the congestion window (<paramref name="cwndRoom"/>), the peer's window and
    /// silly-window avoidance allow it; false when nothing was sent.
    /// </summary>
    private bool SendNewSegment(long cwndRoom, long inFlight, int mss)
    {
        int sentData = Math.Min(_sndNxt - _dataStart, _send.Count);
        int unsent = _send.Count - sentData;
        if (unsent <= 0) return false;
        long room = Math.Min(_sndWnd - (_sndNxt - _sndUna), cwndRoom);
        if (room <= 0)
        {
            // Zero window with nothing in flight: the retransmission timer doubles as the persist timer.
            if (_retransmitAt == 0) ArmRetransmit();
            return false;
        }
        int length = (int)Math.Min(Math.Min(mss, unsent), room);
        // Silly-window avoidance (RFC 9293 §3.8.6.2.1): do not send a small segment when more is waiting.
        if (length < mss && length < unsent && inFlight > 0) return false;
        bool push = length == unsent;
        if (!_timing && _sndNxt >= _sndMax)
        {
            _timing = true;
            _timedSeq = _sndNxt;
            _timedAt = Now;
        }
        SendSegment(TcpFlags.Ack | (push ? TcpFlags.Psh : 0), _sndNxt, sentData, length);
        _sndNxt += length;
        if (_sndMax < _sndNxt) _sndMax = _sndNxt;
        if (_retransmitAt == 0) ArmRetransmit();
        return true;
    }

    // ------------------------------------------------------------------ timers

    private void ArmRetransmit()
    {
        long backedOff = _rto << Math.Min(_backoff, 16);
        SetTimer(ref _retransmitAt, Now + Math.Min(backedOff, _tcp.MaxRtoTicks));
    }

    /// <summary>Sets a deadline; the scheduler gets a new wake-up only if it is earlier than the one it holds.</summary>
    private void SetTimer(ref long deadline, long at)
    {
        deadline = at;
        if (_wakeAt == 0 || at < _wakeAt)
        {
            _wakeAt = at;
            _tcp.Interface.Scheduler.WakeAt(_timerTask, at);
        }
    }

    private void ScheduleNext()
    {
        long next = long.MaxValue;
        if (_retransmitAt != 0) next = Math.Min(next, _retransmitAt);
        if (_delayedAckAt != 0) next = Math.Min(next, _delayedAckAt);
        if (_keepaliveAt != 0) next = Math.Min(next, _keepaliveAt);
        if (_probeAt != 0) next = Math.Min(next, _probeAt);
        if (_finWait2Until != 0 && State == TcpState.FinWait2) next = Math.Min(next, _finWait2Until);
        if (_timeWaitUntil != 0 && State == TcpState.TimeWait) next = Math.Min(next, _timeWaitUntil);
        if (next == long.MaxValue) return;
        System.Diagnostics.Debug.Assert(next > Now, "a timer deadline was left set after it passed");
        _wakeAt = next;
        _tcp.Interface.Scheduler.WakeAt(_timerTask, next);
    }

    /// <summary>Timer task: whichever deadlines have passed, then one wake-up for the next.</summary>
    void IRunnable.Run()
    {
        long now = Now;
        if (_wakeAt != 0 && now < _wakeAt) return; // a stale wake-up; the real one is still queued
        _wakeAt = 0;
        if (State == TcpState.Closed) return;
        if (State == TcpState.TimeWait)
        {
            if (now >= _timeWaitUntil) Terminate();
            else ScheduleNext();
            return;
        }
        if (_delayedAckAt != 0 && now >= _delayedAckAt)
        {
            _delayedAckAt = 0;
            if (_ackPending > 0) SendAck();
        }
        if (State == TcpState.FinWait2 && _finWait2Until != 0 && now >= _finWait2Until)
        {
            Terminate(); // the peer never sent its FIN
            return;
        }
        if (_retransmitAt != 0 && now >= _retransmitAt)
        {
            _retransmitAt = 0;
            OnRetransmitTimeout();
            if (State == TcpState.Closed) return;
        }
        if (_probeAt != 0 && now >= _probeAt)
        {
            _probeAt = 0;
            SendTailLossProbe();
        }
        if (_keepaliveAt != 0 && now >= _keepaliveAt)
        {
            _keepaliveAt = 0;
            KeepAlive(now);
            if (State == TcpState.Closed) return;
        }
        ScheduleNext();
    }

    private void KeepAlive(long now)
    {
        if (State is not (TcpState.Established or TcpState.CloseWait) || !_keepAlive.Enabled) return;
        long idle = _tcp.Interface.Ticks(_keepAlive.Idle);
        if (now - _lastHeard < idle)
        {
            _keepaliveProbes = 0;
            SetTimer(ref _keepaliveAt, _lastHeard + idle);
            return;
        }
        long interval = _tcp.Interface.Ticks(_keepAlive.Interval);
        if (_sndUna != _sndMax)
        {
            SetTimer(ref _keepaliveAt, now + interval); // the retransmission timer is watching the peer already
            return;
        }
        if (_keepaliveProbes >= _keepAlive.Probes)
        {
            Abort(Errno.ETIMEDOUT, sendReset: true);
            return;
        }
        // A segment one below SND.UNA with no data: the peer finds it old and answers with an ACK.
        _keepaliveProbes++;
        _tcp.Stats.KeepAliveProbes++;
        SendSegment(TcpFlags.Ack, _sndUna - 1, 0, 0);
        SetTimer(ref _keepaliveAt, now + interval);
    }

    private void EnterTimeWait()
    {
        State = TcpState.TimeWait;
        // Only the TIME-WAIT timer runs from here on (a deadline left behind would fire at once, forever).
        _retransmitAt = _keepaliveAt = _delayedAckAt = _probeAt = 0;
        _inRecovery = _sackRecovery = false;
        SetTimer(ref _timeWaitUntil, Now + _tcp.Interface.Ticks(_options.TimeWait));
        DrainPops();
    }

    // ------------------------------------------------------------------ application side

    public int StartPush(Operation op)
    {
        if (_error != 0) return _error;
        if (State is TcpState.SynSent or TcpState.SynReceived or TcpState.Closed) return Errno.ENOTCONN;
        if (_finQueued) return Errno.EPIPE;
        // With no push waiting and room in the send buffer, this one is queued and completes at once, without passing
        // through the operation queue.
        if (_pushes.IsEmpty && HasSendRoom) Accept(op);
        else _pushes.Enqueue(op);
        long outer = _tcp.Interface.FreezeClock(); // the segments this push sends go out at one instant
        try
        {
            DrainPushes();
            Output();
        }
        finally
        {
            _tcp.Interface.ThawClock(outer);
        }
        return 0;
    }

    /// <summary>
    /// Moves pushed SGAs into the send queue (retained, not copied) while it holds less than the send buffer size; a
    /// push completes once its SGA is queued, like <c>send</c> returning.
    /// </summary>
    private void DrainPushes()
    {
        while (_pushes.Peek is { } op && HasSendRoom)
        {
            _pushes.Dequeue();
            Accept(op);
        }
    }

    private bool HasSendRoom => _send.Count < _options.SendBufferSize;

    /// <summary>A push's SGA joins the send queue and the push completes.</summary>
    private void Accept(Operation op)
    {
        _send.Append(op.Sga);
        op.Complete(0);
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
                    _tcp.Interface.Stats.RxPayloadBytesCopied += op.Size;
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

    /// <summary>
    /// The application closed its descriptor: fail what is pending; with unread data, reset the connection (RFC 2525
    /// §2.17, as Linux does); otherwise send a FIN after the queued data.
    /// </summary>
    public void CloseFromApplication()
    {
        _detached = true;
        _pops.CompleteAll(Errno.ECANCELED);
        _pushes.CompleteAll(Errno.ECANCELED);
        _connect?.Complete(Errno.ECANCELED);
        _connect = null;
        bool unread = _receivedBytes > 0 || !_outOfOrder.IsEmpty;
        while (_received.TryDequeue(out var b)) _tcp.Interface.Pool.Discard(b);
        _outOfOrder.Clear(_tcp.Interface.Pool);
        _receivedBytes = 0;
        switch (State)
        {
            case TcpState.SynSent:
            case TcpState.Closed:
                Terminate();
                return;
            case TcpState.Established:
            case TcpState.CloseWait:
            case TcpState.SynReceived:
                if (unread)
                {
                    _tcp.Stats.ResetsOnClose++;
                    Abort(Errno.ECONNABORTED, sendReset: true);
                    return;
                }
                _finQueued = true;
                if (State != TcpState.SynReceived) Output();
                return;
        }
    }

    /// <summary>Ends the connection at once with <paramref name="errno"/> for pending operations.</summary>
    public void Abort(int errno, bool sendReset)
    {
        if (sendReset && State is not (TcpState.Closed or TcpState.SynSent or TcpState.TimeWait))
        {
            _tcp.Send(Tuple.RemoteAddress, new TcpRepr(Tuple.LocalPort, Tuple.RemotePort, _sndMax, default, TcpFlags.Rst, 0, 0), null, 0);
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
        _retransmitAt = _delayedAckAt = _keepaliveAt = _probeAt = 0;
        _send.Clear();
        _outOfOrder.Clear(_tcp.Interface.Pool);
        _tcp.RemoveConnection(this);
        if (_detached && !_released)
        {
            _released = true;
            _tcp.Interface.Scheduler.Remove(_timerTask);
            if (OwnsPort) _tcp.ReleasePort(Tuple.LocalPort);
        }
        DrainPops();
    }
}
