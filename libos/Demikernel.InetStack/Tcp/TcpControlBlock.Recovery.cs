using Demikernel.InetStack.Wire;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tcp;

/// <summary>
/// The sender's loss detection and recovery, apart from the connection's state machine.
/// <code>
///   ACK ─┬─ new data ────────▶ OnAcked: release, RTT sample, cc.OnAck, or advance recovery (partial / full ACK)
///        └─ duplicate ───────▶ OnDuplicateAck: limited transmit (1st, 2nd), then fast retransmit + recovery:
///                                 SACK: OutputSackRecovery resends holes from the scoreboard while pipe &lt; cwnd,
///                                       ResendFrontIfLost resends a lost resend (RACK's ordering rule)
///                                 no SACK: NewReno window inflation, partial ACKs resend the next hole
///   timers ─ tail loss probe (SendTailLossProbe) · retransmission timeout (OnRetransmitTimeout: cwnd = 1, go back)
/// </code>
/// </summary>
internal sealed partial class TcpControlBlock
{
    /// <summary>New data acknowledged: release it, sample the RTT, grow the window or advance recovery.</summary>
    private void OnAcked(SeqNumber ack)
    {
        int acked = ack - _sndUna;
        long flight = _sndNxt - _sndUna;
        int dataAcked = Math.Clamp(ack - _dataStart, 0, _send.Count);
        _send.Discard(dataAcked);
        _dataStart += dataAcked;
        _sndUna = ack;
        if (_sndNxt < ack) _sndNxt = ack; // after a timeout the peer may already hold what we were about to resend
        if (_sndMax < ack) _sndMax = ack;   // the peer took a zero-window probe's byte
        _probing = false;
        if (!_scoreboard.IsEmpty) _scoreboard.Prune(ack); // no call on the ACKs of a loss-free flow
        SampleRtt(ack);
        _backoff = 0;
        if (_cc is not null)
        {
            if (_inRecovery)
            {
                if (ack >= _recover)
                {
                    // Full ACK: recovery is over; the window is ssthresh again (deflated).
                    _inRecovery = false;
                    _sackRecovery = false;
                    _inflation = 0;
                }
                else if (_sackRecovery)
                {
                    // The scoreboard drives the resends; with nothing SACKed above, the front is the next hole.
                    if (_scoreboard.IsEmpty && _rexmitNext <= _sndUna)
                    {
                        RetransmitFront();
                        _rexmitNext = _sndUna + EffectiveMss;
                    }
                }
                else
                {
                    // Partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too; resend it, deflate the window.
                    RetransmitFront();
                    _inflation = Math.Max(0, _inflation - acked) + (acked >= EffectiveMss ? EffectiveMss : 0);
                }
            }
            else
            {
                _inflation = 0; // limited-transmit allowance ends with the duplicates
                _cc.OnAck(acked, flight, Now, (long)_srtt, _tcp.Interface.TimestampFrequency);
            }
        }
        _dupAcks = 0;
        _retransmitAt = 0;
        if (_sndUna != _sndMax) ArmRetransmit();
        DrainPushes();
    }

    private void OnDuplicateAck()
    {
        _dupAcks++;
        if (_inRecovery)
        {
            if (!_sackRecovery) _inflation += EffectiveMss; // each duplicate means a segment left the network
            return;
        }
        // A SACK answering a tail loss probe shows the data before it lost (RFC 8985 §7.4).
        bool lossSeen = _dupAcks >= 3 || (_sackOk && (_scoreboard.SackedBytes >= 3L * EffectiveMss || _probeAnswered));
        if (!lossSeen)
        {
            // Limited transmit (RFC 3042): a new segment for each of the first two duplicates keeps the ACK clock going
            // so that a small window can still collect three duplicates.
            _inflation = (long)_dupAcks * EffectiveMss;
            return;
        }
        if (_sndUna < _recover) return; // duplicates from before a timeout's go-back
        // Fast retransmit (RFC 5681 §3.2) and NewReno fast recovery (RFC 6582).
        _tcp.Stats.FastRetransmits++;
        _cc.OnCongestion(_sndNxt - _sndUna, Seconds(Now));
        _inRecovery = true;
        _recover = _sndMax;
        RetransmitFront();
        RememberResend(_sndUna);
        if (_sackOk)
        {
            _sackRecovery = true;
            _inflation = 0;
            _rexmitNext = _sndUna + Math.Min(EffectiveMss, Math.Max(1, _send.Count - (_sndUna - _dataStart)));
        }
        else _inflation = 3L * EffectiveMss;
        ArmRetransmit();
    }

    /// <summary>
    /// A lost retransmission (the ordering idea of RACK, RFC 8985): once the peer SACKs data that was first sent after
    /// the front hole was resent, the resend was lost too (or overtaken); resend it again instead of waiting for the
    /// retransmission timer. Marks remember SND.MAX at each hole's resend.
    /// </summary>
    private void ResendFrontIfLost()
    {
        if (_rexmitNext <= _sndUna || _scoreboard.IsEmpty) return; // the front has not been resent yet
        // A resend too old to be remembered counts from the start of recovery (at worst one spurious resend).
        if (!TryGetResendMark(_sndUna, out var mark)) mark = _recover;
        if (_scoreboard.HighSack <= mark) return;
        _tcp.Stats.LostRetransmissions++;
        RetransmitFront();
        RememberResend(_sndUna);
    }

    private void RememberResend(SeqNumber seq)
    {
        _resendMarks[_resendMarkNext] = (seq, _sndMax);
        _resendMarkNext = (_resendMarkNext + 1) % _resendMarks.Length;
    }

    private bool TryGetResendMark(SeqNumber seq, out SeqNumber mark)
    {
        // Newest first: a hole resent twice counts from its latest resend.
        for (int k = 1; k <= _resendMarks.Length; k++)
        {
            var (s, m) = _resendMarks[(_resendMarkNext - k + _resendMarks.Length) % _resendMarks.Length];
            if (s == seq && m != default)
            {
                mark = m;
                return true;
            }
        }
        mark = default;
        return false;
    }

    /// <summary>Resends one segment from the first unacknowledged byte (or the FIN, if that is all that is left).</summary>
    private void RetransmitFront()
    {
        _timing = false; // Karn
        _tcp.Stats.Retransmissions++;
        int offset = _sndUna - _dataStart;
        int length = Math.Min(EffectiveMss, _send.Count - Math.Max(0, offset));
        if (offset >= 0 && length > 0)
            SendSegment(TcpFlags.Ack | (offset + length == _send.Count ? TcpFlags.Psh : 0), _sndUna, offset, length);
        else if (_finSent && _sndUna == FinSeq)
            SendSegment(TcpFlags.Fin | TcpFlags.Ack, _sndUna, 0, 0);
    }

    /// <summary>
    /// SACK-based loss recovery (RFC 6675, simplified): while the data in the network ("pipe") is below cwnd, resend the
    /// next hole below the highest SACK, else send new data. Every hole below the highest SACK counts as lost.
    /// <code>
    ///   pipe = (SND.MAX − SND.UNA) − SACKed − (holes not yet resent)
    /// </code>
    /// </summary>
    private void OutputSackRecovery(int mss)
    {
        long cwnd = _cc.Cwnd;
        while (true)
        {
            if (_rexmitNext < _sndUna) _rexmitNext = _sndUna;
            long pipe = _sndMax - _sndUna;
            if (!_scoreboard.IsEmpty)
            {
                var high = _scoreboard.HighSack;
                pipe -= _scoreboard.SackedBytes;
                if (_rexmitNext < high) pipe -= (high - _rexmitNext) - _scoreboard.SackedBetween(_rexmitNext, high);
            }
            if (pipe >= cwnd) return;
            if (!_scoreboard.IsEmpty && _scoreboard.TryGetHole(_rexmitNext, out var start, out int length))
            {
                int offset = start - _dataStart;
                length = Math.Min(Math.Min(length, mss), _send.Count - offset);
                if (offset >= 0 && length > 0)
                {
                    _timing = false; // Karn
                    _tcp.Stats.Retransmissions++;
                    SendSegment(TcpFlags.Ack, start, offset, length);
                    RememberResend(start);
                    _rexmitNext = start + length;
                    continue;
                }
            }
            if (!SendNewSegment(cwnd - pipe, pipe, mss)) return;
        }
    }

    /// <summary>
    /// Tail loss probe (RFC 8985 §7): with data outstanding and SACK in use, if no ACK comes within two round trips,
    /// resend the last segment so that its SACK exposes losses at the tail of a flight, where no later data could.
    /// </summary>
    private void ArmTailLossProbe()
    {
        if (!_sackOk || _sndUna == _sndMax || _probeOut || _srtt == 0) return;
        long pto = Math.Max((long)(2 * _srtt), _tcp.ClockGranularityTicks); // at least 1 ms
        if (_retransmitAt != 0 && Now + pto >= _retransmitAt) return; // the timer will fire first anyway
        SetTimer(ref _probeAt, Now + pto);
    }

    private void SendTailLossProbe()
    {
        if (_sndUna == _sndMax || _probeOut || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck)) return;
        _probeOut = true;
        _tcp.Stats.TailLossProbes++;
        // New data if the windows allow it, else the last segment again.
        var before = _sndNxt;
        if (_sndNxt == _sndMax && SendNewSegment(EffectiveMss, _sndNxt - _sndUna, EffectiveMss) && _sndNxt != before) return;
        int end = Math.Min(_sndMax - _dataStart, _send.Count);
        int length = Math.Min(EffectiveMss, end);
        if (length <= 0) return; // only a FIN is out: the retransmission timer handles it
        _timing = false;
        _tcp.Stats.Retransmissions++;
        SendSegment(TcpFlags.Ack, _dataStart + (end - length), end - length, length);
    }

    private void OnRetransmitTimeout()
    {
        int unsent = _send.Count - Math.Clamp(_sndNxt - _dataStart, 0, _send.Count);
        bool synchronised = State is not (TcpState.SynSent or TcpState.SynReceived);
        bool persist = synchronised && _sndWnd == 0 && _sndNxt == _sndUna && unsent > 0;
        if (!persist && _sndUna == _sndMax)
        {
            Output(); // nothing outstanding: just send what the windows allow
            return;
        }
        _backoff++;
        int limit = synchronised ? _options.DataRetries : _options.SynRetries;
        if (persist && _probeSentAt != 0 && _lastHeard >= _probeSentAt) _backoff = Math.Min(_backoff, limit); // answered probes never abort
        if (_backoff > limit)
        {
            Abort(Errno.ETIMEDOUT, sendReset: State != TcpState.SynSent);
            return;
        }
        _timing = false; // Karn: never sample a retransmitted segment
        if (!synchronised)
        {
            _tcp.Stats.Retransmissions++;
            SendSyn();
            return;
        }
        if (persist)
        {
            // One byte beyond the closed window, outside the sequence accounting until the peer takes it; its ACK
            // carries the window when it opens.
            _tcp.Stats.WindowProbes++;
            _probeSentAt = Now;
            SendSegment(TcpFlags.Ack, _sndNxt, _sndNxt - _dataStart, 1);
            _probing = true;
            ArmRetransmit();
            return;
        }
        // RFC 6298 §5.4-5.6 with RFC 5681 §3.1: one segment window, go back to the first unacknowledged byte.
        _tcp.Stats.Timeouts++;
        _tcp.Stats.Retransmissions++;
        _cc.OnTimeout(_sndNxt - _sndUna);
        _inRecovery = false;
        _sackRecovery = false;
        _inflation = 0;
        _dupAcks = 0;
        _recover = _sndMax; // duplicate ACKs from the old flight must not start a fast retransmit
        if (_backoff > 1) _scoreboard.Clear(); // in case the peer reneged on what it SACKed (RFC 2018 §8)
        _sndNxt = _sndUna;
        Output();
        if (_sndNxt == _sndUna) RetransmitFront(); // the peer's window shrank: resend the front regardless
        if (_retransmitAt == 0) ArmRetransmit();
    }
}
