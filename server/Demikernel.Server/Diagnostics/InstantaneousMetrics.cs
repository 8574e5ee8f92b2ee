namespace Demikernel.Server.Diagnostics;

/// <summary>
/// INFO's instantaneous_ops_per_sec, instantaneous_input_kbps and instantaneous_output_kbps, as redis's
/// trackInstantaneousMetric: every 100 ms the cron takes each counter's rate since the previous sample
/// (delta * 1000 / elapsed ms); the figure shown is the integer mean of the last 16 samples.
/// </summary>
internal sealed class InstantaneousMetrics
{
    public const int Samples = 16;
    public const long PeriodMs = 100;

    private readonly Metric[] _metrics = [new(), new(), new()];
    private long _lastSampleMs = long.MinValue;

    public long OpsPerSec => _metrics[0].Mean;
    public long InputBytesPerSec => _metrics[1].Mean;
    public long OutputBytesPerSec => _metrics[2].Mean;

    /// <summary>Called by the cron; samples when 100 ms have passed since the last sample.</summary>
    public void Tick(long nowMs, long commands, long inputBytes, long outputBytes)
    {
        if (_lastSampleMs != long.MinValue && nowMs - _lastSampleMs < PeriodMs) return;
        _lastSampleMs = nowMs;
        _metrics[0].Sample(nowMs, commands);
        _metrics[1].Sample(nowMs, inputBytes);
        _metrics[2].Sample(nowMs, outputBytes);
    }

    /// <summary>CONFIG RESETSTAT: samples cleared, the next one taken against the counters as they are now.</summary>
    public void Reset(long nowMs, long commands, long inputBytes, long outputBytes)
    {
        _metrics[0].Reset(nowMs, commands);
        _metrics[1].Reset(nowMs, inputBytes);
        _metrics[2].Reset(nowMs, outputBytes);
    }

    private sealed class Metric
    {
        private readonly long[] _samples = new long[Samples];
        private int _index;
        private long _lastTimeMs;
        private long _lastCount;
        private bool _started;

        public long Mean
        {
            get
            {
                long sum = 0;
                foreach (long s in _samples) sum += s;
                return sum / Samples;
            }
        }

        public void Sample(long nowMs, long reading)
        {
            if (!_started)
            {
                // redis starts from zero at server start; a server made long before its first cron counts from there
                _started = true;
                _lastTimeMs = nowMs;
                _lastCount = reading;
                return;
            }
            long t = nowMs - _lastTimeMs;
            long delta = reading - _lastCount;
            _samples[_index] = t > 0 ? delta * 1000 / t : 0;
            _index = (_index + 1) % Samples;
            _lastTimeMs = nowMs;
            _lastCount = reading;
        }

        public void Reset(long nowMs, long reading)
        {
            Array.Clear(_samples);
            _index = 0;
            _started = true;
            _lastTimeMs = nowMs;
            _lastCount = reading;
        }
    }
}
