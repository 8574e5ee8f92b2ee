using System.Diagnostics;
using Demikernel.Runtime;

namespace Demikernel.Examples.Echo;

/// <summary>
/// Opens N connections, sends a known byte pattern in messages of a fixed size, waits for each message to come back,
/// checks every byte, and records round-trip times.
/// </summary>
public sealed class EchoClient(DemiLibOS libos, IPv4Endpoint server, int connections, long bytesPerConnection, int messageSize)
{
    private readonly List<long> _roundTrips = [];
    private int _finished;

    public long BytesVerified { get; private set; }
    public long Mismatches { get; private set; }
    public List<string> Errors { get; } = [];

    public static byte Pattern(int connection, long offset) => (byte)((offset * 31 + connection * 7 + (offset >> 8)) & 0xFF);

    /// <summary>Runs every connection to the end; returns the wall time taken.</summary>
    public TimeSpan Run(TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        for (int c = 0; c < connections; c++)
        {
            int id = c;
            libos.Spawn(() => Connection(id));
        }
        if (!libos.RunUntil(() => _finished == connections, timeout))
            Errors.Add($"timed out with {connections - _finished} connections unfinished");
        return clock.Elapsed;
    }

    public double Percentile(double p)
    {
        if (_roundTrips.Count == 0) return double.NaN;
        _roundTrips.Sort();
        int i = (int)Math.Min(_roundTrips.Count - 1, Math.Ceiling(p / 100.0 * _roundTrips.Count) - 1);
        return _roundTrips[Math.Max(0, i)] * 1e6 / Stopwatch.Frequency;
    }

    public int RoundTrips => _roundTrips.Count;

    private async ValueTask Connection(int id)
    {
        try
        {
            int rc = libos.Socket(SocketKind.Stream, out var qd);
            if (rc != 0) { Errors.Add($"conn {id}: socket: {Errno.Name(rc)}"); return; }
            var connected = await libos.ConnectAsync(qd, server);
            if (!connected.Succeeded) { Errors.Add($"conn {id}: connect: {connected.ErrorName}"); libos.Close(qd); return; }
            libos.SetSockOpt(qd, SocketOption.TcpNoDelay, 1);
            long offset = 0;
            while (offset < bytesPerConnection)
            {
                int n = (int)Math.Min(messageSize, bytesPerConnection - offset);
                var sga = libos.SgaAlloc(n);
                var span = sga.Span;
                for (int i = 0; i < n; i++) span[i] = Pattern(id, offset + i);
                long start = Stopwatch.GetTimestamp();
                var pushed = await libos.PushAsync(qd, sga);
                libos.SgaFree(sga);
                if (!pushed.Succeeded) { Errors.Add($"conn {id}: push: {pushed.ErrorName}"); break; }
                int received = 0;
                while (received < n)
                {
                    var popped = await libos.PopAsync(qd);
                    if (!popped.Succeeded) { Errors.Add($"conn {id}: pop: {popped.ErrorName}"); goto done; }
                    if (popped.Sga.IsEmpty) { Errors.Add($"conn {id}: server closed after {offset + received} bytes"); goto done; }
                    var data = popped.Sga.Span;
                    for (int i = 0; i < data.Length; i++)
                        if (data[i] != Pattern(id, offset + received + i)) Mismatches++;
                    received += data.Length;
                    BytesVerified += data.Length;
                    libos.SgaFree(popped.Sga);
                }
                _roundTrips.Add(Stopwatch.GetTimestamp() - start);
                offset += n;
            }
        done:
            libos.Close(qd);
        }
        finally
        {
            _finished++;
        }
    }
}
