using System.Diagnostics;
using System.Text;
using Demikernel.Runtime;
using HdrHistogram;

namespace Demikernel.LoadGen;

/// <summary>
/// The load: N connections as coroutines on one libOS thread, each keeping <c>Pipeline</c> GET/SET requests in flight
/// (as replies arrive, as many new requests go out, in one push). Latency is from just before a request's push to the
/// pop that completes its reply, recorded in an HdrHistogram (ns, 3 significant digits) for requests sent after the
/// warm-up. The libOS spins while waiting (see Program), so what is measured is the server and the path, not this
/// thread's wake-ups.
/// </summary>
internal sealed class LoadGenerator
{
    private const int KeyDigits = 8;
    private static readonly byte[] GetHead = "*2\r\n$3\r\nGET\r\n$12\r\nkey:"u8.ToArray();
    private static readonly byte[] SetHead = "*3\r\n$3\r\nSET\r\n$12\r\nkey:"u8.ToArray();

    private readonly DemiLibOS _libos;
    private readonly LoadOptions _options;
    private readonly byte[] _setTail; // "\r\n$<size>\r\n<value>\r\n" after a SET's key
    private readonly LongHistogram _histogram = new(60L * 1_000_000_000, 3);
    private readonly double _nsPerTick = 1e9 / Stopwatch.Frequency;
    private long _measureStart, _end;
    private long _issuedMeasured;
    private int _finished;
    private long _lastCompletion;
    private long _lastReply; // any reply, warm-up included: the watchdog's sign of progress
    private int _outstanding; // requests sent and not yet answered, all connections
    private bool _stalled;

    public LoadGenerator(DemiLibOS libos, LoadOptions options)
    {
        _libos = libos;
        _options = options;
        var tail = new StringBuilder().Append("\r\n$").Append(options.ValueSize).Append("\r\n").Append('x', options.ValueSize).Append("\r\n");
        _setTail = Encoding.ASCII.GetBytes(tail.ToString());
    }

    public List<string> Errors { get; } = [];
    public long Completed { get; private set; }
    public long ErrorReplies { get; private set; }
    public string? FirstErrorReply { get; private set; }
    public HistogramBase Histogram => _histogram;

    /// <summary>Seconds from the end of the warm-up to the last measured reply.</summary>
    public double MeasuredSeconds => Math.Max(0, _lastCompletion - _measureStart) / (double)Stopwatch.Frequency;

    /// <summary>SETs every key once over one connection, 64 in flight, so later GETs hit.</summary>
    public bool Preload(TimeSpan timeout)
    {
        bool done = false;
        _libos.Spawn(async () =>
        {
            try
            {
                if (await ConnectAsync(-1) is not { } qd) return;
                var scanner = new ReplyScanner();
                int next = 0, inFlight = 0;
                while (next < _options.KeySpace || inFlight > 0)
                {
                    int n = Math.Min(64 - inFlight, _options.KeySpace - next);
                    if (n > 0)
                    {
                        var sga = BuildSets(next, n);
                        next += n;
                        var pushed = await _libos.PushAsync(qd, sga);
                        _libos.SgaFree(sga);
                        if (!pushed.Succeeded) { Errors.Add($"preload: push: {pushed.ErrorName}"); return; }
                        inFlight += n;
                    }
                    var popped = await _libos.PopAsync(qd);
                    if (!popped.Succeeded || popped.Sga.IsEmpty) { Errors.Add($"preload: pop: {popped.ErrorName ?? "server closed"}"); return; }
                    AppendAll(scanner, popped.Sga);
                    while (scanner.TryTake()) inFlight--;
                }
                if (scanner.Errors > 0) Errors.Add($"preload: {scanner.Errors} error replies, first: {scanner.FirstError}");
                _libos.Close(qd);
            }
            finally
            {
                done = true;
            }
        });
        return _libos.RunUntil(() => done, timeout) && Errors.Count == 0;
    }

    /// <summary>Runs the load to the end (all measured requests answered); false on timeout.</summary>
    public bool Run(TimeSpan timeout)
    {
        long now = Stopwatch.GetTimestamp();
        _measureStart = now + (long)(_options.Warmup.TotalSeconds * Stopwatch.Frequency);
        _end = _options.Requests > 0 ? long.MaxValue : _measureStart + (long)(_options.Duration.TotalSeconds * Stopwatch.Frequency);
        _lastReply = now;
        for (int c = 0; c < _options.Connections; c++)
        {
            int id = c;
            _libos.Spawn(() => Connection(id));
        }
        _libos.Spawn(Watchdog);
        return _libos.RunUntil(() => _finished == _options.Connections || _stalled, timeout);
    }

    /// <summary>
    /// Ends the run with an error when requests are outstanding and no reply has come for
    /// <see cref="LoadOptions.ReplyTimeout"/>. It looks every tenth of that (at most every second) on the libOS's own
    /// timer, so the connections' loop reads no extra clock.
    /// </summary>
    private async ValueTask Watchdog()
    {
        long limit = (long)(_options.ReplyTimeout.TotalSeconds * Stopwatch.Frequency);
        var period = TimeSpan.FromTicks(Math.Clamp(_options.ReplyTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond));
        while (_finished < _options.Connections)
        {
            await _libos.Delay(period);
            if (_outstanding > 0 && Stopwatch.GetTimestamp() - _lastReply > limit)
            {
                Errors.Add($"no reply for {_options.ReplyTimeout.TotalSeconds:F1} s with {_outstanding} requests outstanding: the server stopped answering");
                _stalled = true;
                return;
            }
        }
    }

    private async ValueTask<QDesc?> ConnectAsync(int id)
    {
        int rc = _libos.Socket(SocketKind.Stream, out var qd);
        if (rc != 0) { Errors.Add($"conn {id}: socket: {Errno.Name(rc)}"); return null; }
        var connected = await _libos.ConnectAsync(qd, _options.Target);
        if (!connected.Succeeded)
        {
            Errors.Add($"conn {id}: connect to {_options.Target}: {connected.ErrorName}");
            _libos.Close(qd);
            return null;
        }
        _libos.SetSockOpt(qd, SocketOption.TcpNoDelay, 1);
        return qd;
    }

    /// <summary>How many of <paramref name="wanted"/> new requests may still go out now.</summary>
    private int MayIssue(int wanted, long now)
    {
        if (now < _measureStart) return wanted;
        if (_options.Requests > 0)
        {
            int n = (int)Math.Min(wanted, _options.Requests - _issuedMeasured);
            _issuedMeasured += n;
            return n;
        }
        return now < _end ? wanted : 0;
    }

    private async ValueTask Connection(int id)
    {
        try
        {
            if (await ConnectAsync(id) is not { } qd) return;
            int pipeline = _options.Pipeline;
            var sentAt = new long[pipeline];
            int head = 0, inFlight = 0;
            var scanner = new ReplyScanner();
            var random = new Random(id * 7919 + 17);
            int freed = pipeline;
            // The last answer's arrival is recent enough for the warm-up and duration checks: one clock read a
            // request fewer, the two left being the latency's own.
            long arrived = Stopwatch.GetTimestamp();
            while (true)
            {
                int n = freed > 0 ? MayIssue(freed, arrived) : 0;
                freed = 0;
                if (n > 0)
                {
                    var sga = BuildBatch(n, random);
                    long now = Stopwatch.GetTimestamp();
                    for (int i = 0; i < n; i++) sentAt[(head + inFlight + i) % pipeline] = now;
                    inFlight += n;
                    _outstanding += n;
                    var pushed = await _libos.PushAsync(qd, sga);
                    _libos.SgaFree(sga);
                    if (!pushed.Succeeded) { Errors.Add($"conn {id}: push: {pushed.ErrorName}"); break; }
                }
                if (inFlight == 0) break;
                var popped = await _libos.PopAsync(qd);
                if (!popped.Succeeded) { Errors.Add($"conn {id}: pop: {popped.ErrorName}"); break; }
                if (popped.Sga.IsEmpty) { Errors.Add($"conn {id}: server closed the connection"); break; }
                arrived = Stopwatch.GetTimestamp();
                _lastReply = arrived;
                AppendAll(scanner, popped.Sga);
                while (scanner.TryTake())
                {
                    long sent = sentAt[head];
                    head = (head + 1) % pipeline;
                    inFlight--;
                    _outstanding--;
                    freed++;
                    if (sent >= _measureStart)
                    {
                        _histogram.RecordValue((long)((arrived - sent) * _nsPerTick));
                        Completed++;
                        _lastCompletion = arrived;
                    }
                }
            }
            ErrorReplies += scanner.Errors;
            FirstErrorReply ??= scanner.FirstError;
            _libos.Close(qd);
        }
        catch (InvalidDataException e)
        {
            Errors.Add($"conn {id}: {e.Message}");
        }
        finally
        {
            _finished++;
        }
    }

    /// <summary>One SGA with <paramref name="n"/> requests of the configured mix over random keys.</summary>
    private Sga BuildBatch(int n, Random random)
    {
        Span<bool> isSet = n <= 1024 ? stackalloc bool[n] : new bool[n];
        Span<int> keys = n <= 1024 ? stackalloc int[n] : new int[n];
        int mixTotal = _options.SetShare + _options.GetShare;
        int size = 0;
        for (int i = 0; i < n; i++)
        {
            isSet[i] = random.Next(mixTotal) < _options.SetShare;
            keys[i] = random.Next(_options.KeySpace);
            size += isSet[i] ? SetHead.Length + KeyDigits + _setTail.Length : GetHead.Length + KeyDigits + 2;
        }
        var sga = _libos.SgaAlloc(size);
        var span = sga.Span;
        for (int i = 0; i < n; i++) span = WriteRequest(span, isSet[i], keys[i]);
        return sga;
    }

    /// <summary>SETs of keys first .. first+n-1.</summary>
    private Sga BuildSets(int first, int n)
    {
        var sga = _libos.SgaAlloc(n * (SetHead.Length + KeyDigits + _setTail.Length));
        var span = sga.Span;
        for (int i = 0; i < n; i++) span = WriteRequest(span, set: true, first + i);
        return sga;
    }

    private void AppendAll(ReplyScanner scanner, in Sga sga)
    {
        for (int i = 0; i < sga.SegmentCount; i++) scanner.Append(sga.Segment(i).Span);
        _libos.SgaFree(sga);
    }

    /// <summary>Writes one GET or SET of key:NNNNNNNN; returns the rest of the span.</summary>
    private Span<byte> WriteRequest(Span<byte> span, bool set, int key)
    {
        var headBytes = set ? SetHead : GetHead;
        headBytes.CopyTo(span);
        span = span[headBytes.Length..];
        for (int d = KeyDigits - 1; d >= 0; d--)
        {
            span[d] = (byte)('0' + key % 10);
            key /= 10;
        }
        span = span[KeyDigits..];
        if (set)
        {
            _setTail.CopyTo(span);
            return span[_setTail.Length..];
        }
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        return span[2..];
    }
}
