namespace Demikernel.InetStack.Tcp;

/// <summary>Which congestion-control algorithm new connections use. Public only so test theories can take it as data.</summary>
public enum CongestionControlKind
{
    /// <summary>RFC 5681 slow start and congestion avoidance (AIMD, β = 0.5).</summary>
    NewReno,
    /// <summary>RFC 9438 CUBIC (β = 0.7, C = 0.4, with its Reno-friendly region); Linux's default.</summary>
    Cubic,
}

/// <summary>
/// The congestion window of one connection. The connection owns loss detection and recovery (fast retransmit, NewReno
/// partial ACKs, window inflation during fast recovery, RTO); the algorithm only decides how the window grows on new
/// ACKs and how far it falls on a congestion event.
/// <code>
///   new data ACKed, not in recovery ──▶ OnAck          (slow start below ssthresh, then the algorithm's growth)
///   third duplicate ACK             ──▶ OnCongestion   (ssthresh = reduced window; cwnd = ssthresh)
///   retransmission timeout          ──▶ OnTimeout      (ssthresh reduced; cwnd = one segment)
/// </code>
/// All sizes are bytes.
/// </summary>
internal interface ICongestionControl
{
    long Cwnd { get; }
    long Ssthresh { get; }

    /// <summary><paramref name="acked"/> new bytes acknowledged; <paramref name="flight"/> were outstanding before the ACK.</summary>
    void OnAck(int acked, long flight, double nowSeconds, double srttSeconds);

    /// <summary>Loss detected by duplicate ACKs with <paramref name="flight"/> bytes outstanding.</summary>
    void OnCongestion(long flight, double nowSeconds);

    /// <summary>The retransmission timer expired with <paramref name="flight"/> bytes outstanding.</summary>
    void OnTimeout(long flight);
}

/// <summary>Creates the configured algorithm for a new connection.</summary>
internal static class CongestionControl
{
    public static CongestionControlBase Create(CongestionControlKind kind, int mss, int initialWindowSegments) => kind switch
    {
        CongestionControlKind.Cubic => new Cubic(mss, initialWindowSegments),
        _ => new NewReno(mss, initialWindowSegments),
    };
}

/// <summary>Slow start and the shared parts of the window arithmetic.</summary>
internal abstract class CongestionControlBase : ICongestionControl
{
    protected CongestionControlBase(int mss, int initialWindowSegments)
    {
        Mss = mss;
        Cwnd = (long)Math.Max(1, initialWindowSegments) * mss;
        Ssthresh = long.MaxValue;
    }

    protected int Mss { get; }
    public long Cwnd { get; protected set; }
    public long Ssthresh { get; protected set; }

    public void OnAck(int acked, long flight, double nowSeconds, double srttSeconds)
    {
        if (SlowStartDone(acked, flight)) return;
        Grow(acked, nowSeconds, srttSeconds);
    }

    /// <summary>
    /// <see cref="OnAck(int, long, double, double)"/> with the times as clock ticks at <paramref name="frequency"/>: the
    /// connection's call on every ACK of new data, converting to seconds only when congestion avoidance needs them.
    /// </summary>
    public void OnAck(int acked, long flight, long nowTicks, long srttTicks, long frequency)
    {
        if (SlowStartDone(acked, flight)) return;
        Grow(acked, nowTicks / (double)frequency, srttTicks / (double)frequency);
    }

    /// <summary>The part of an ACK below congestion avoidance; true if it settled the ACK.</summary>
    private bool SlowStartDone(int acked, long flight)
    {
        // Grow only a window that was in use (Linux's "cwnd limited" rule): an idle or application-limited connection
        // must not build up a window it never tested.
        if (flight * 2 < Cwnd) return true;
        if (Cwnd < Ssthresh)
        {
            // RFC 3465 appropriate byte counting, L = 2 segments.
            Cwnd += Math.Min(acked, 2 * Mss);
            return true;
        }
        return false;
    }

    /// <summary>Congestion avoidance.</summary>
    protected abstract void Grow(int acked, double nowSeconds, double srttSeconds);

    public abstract void OnCongestion(long flight, double nowSeconds);

    public void OnTimeout(long flight)
    {
        OnCongestion(flight, double.NaN);
        Cwnd = Mss; // RFC 5681 loss window
    }
}

/// <summary>RFC 5681: one segment per window per round trip; halve on loss.</summary>
internal sealed class NewReno(int mss, int initialWindowSegments) : CongestionControlBase(mss, initialWindowSegments)
{
    private long _credit;

    protected override void Grow(int acked, double nowSeconds, double srttSeconds)
    {
        _credit += acked;
        if (_credit < Cwnd) return;
        _credit -= Cwnd;
        Cwnd += Mss;
    }

    public override void OnCongestion(long flight, double nowSeconds)
    {
        Ssthresh = Math.Max(Math.Min(flight, Cwnd) / 2, 2L * Mss);
        Cwnd = Ssthresh;
        _credit = 0;
    }
}

/// <summary>
/// RFC 9438 CUBIC: after a loss the window follows W(t) = C·(t − K)³ + W_max (segments, seconds), concave up to the
/// window of the last loss and convex beyond it, and never below what Reno would have reached (the Reno-friendly
/// estimate). Multiplicative decrease β = 0.7 with fast convergence.
/// </summary>
internal sealed class Cubic(int mss, int initialWindowSegments) : CongestionControlBase(mss, initialWindowSegments)
{
    private const double C = 0.4;
    private const double Beta = 0.7;
    private const double AlphaReno = 3 * (1 - Beta) / (1 + Beta);

    private double _wMax;       // segments
    private double _k;          // seconds
    private double _origin;     // segments
    private double _epochStart = double.NaN;
    private double _wEst;       // segments

    protected override void Grow(int acked, double nowSeconds, double srttSeconds)
    {
        double cwnd = (double)Cwnd / Mss;
        if (double.IsNaN(_epochStart))
        {
            _epochStart = nowSeconds;
            if (cwnd < _wMax)
            {
                _k = Math.Cbrt((_wMax - cwnd) / C);
                _origin = _wMax;
            }
            else
            {
                _k = 0;
                _origin = cwnd;
            }
            _wEst = cwnd;
        }
        double t = nowSeconds - _epochStart + srttSeconds;
        double d = t - _k;
        double target = _origin + C * d * d * d;
        target = Math.Min(target, 1.5 * cwnd);
        _wEst += AlphaReno * acked / Mss / cwnd;
        if (_wEst > target) target = _wEst;
        if (target > cwnd)
        {
            double increase = (target - cwnd) / cwnd * acked;
            Cwnd += Math.Max(1, (long)increase);
        }
    }

    public override void OnCongestion(long flight, double nowSeconds)
    {
        double cwnd = (double)Math.Min(Cwnd, Math.Max(flight, Mss)) / Mss;
        _wMax = cwnd < _wMax ? cwnd * (1 + Beta) / 2 : cwnd; // fast convergence: yield to newer flows
        Ssthresh = Math.Max((long)(cwnd * Beta * Mss), 2L * Mss);
        Cwnd = Ssthresh;
        _epochStart = double.NaN;
    }
}
