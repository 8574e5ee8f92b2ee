using System.Diagnostics;
using System.Globalization;

namespace Demikernel.Server.DurabilityTests;

/// <summary>
/// kill -9 in the middle of a write load: clients (pipelined, one at a time, MULTI/EXEC) record every
/// acknowledgement; after a restart on the same directory every acknowledged write must be there.
/// </summary>
public sealed class KillTests(ITestOutputHelper output)
{
    private sealed class Worker
    {
        public required int Id { get; init; }
        public required string Mode { get; init; }
        /// <summary>Acknowledged SETs: key and value.</summary>
        public List<(string Key, string Value)> Acked { get; } = [];
        /// <summary>Highest INCR reply received for this worker's counter.</summary>
        public long CounterAcked { get; set; }
        /// <summary>INCRs sent (acknowledged or not): the counter can never exceed this.</summary>
        public long CounterSent { get; set; }
        public Exception? Failure { get; set; }
        public int Operations => Acked.Count + (int)CounterAcked;
    }

    [Theory]
    [InlineData("always")]
    [InlineData("everysec")]
    public void EveryAcknowledgedWriteSurvivesKill9(string fsync)
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("kill9-" + fsync);
        string[] args = ["--save", "", "--appendonly", "yes", "--appendfsync", fsync];
        var workers = new List<Worker>
        {
            new() { Id = 0, Mode = "pipelined" },
            new() { Id = 1, Mode = "pipelined" },
            new() { Id = 2, Mode = "single" },
            new() { Id = 3, Mode = "single" },
            new() { Id = 4, Mode = "multi" },
        };
        using (var server = ServerProcess.StartOurs(dir.Path, args))
        {
            var threads = workers.Select(w => new Thread(() => Run(server.Port, w)) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            var deadline = DateTime.UtcNow.AddSeconds(20);
            // Let the load run until several thousand writes were acknowledged (or 20 s), then kill -9 mid-flight.
            while (workers.Sum(w => w.Operations) < 6000 && DateTime.UtcNow < deadline && workers.All(w => w.Failure is null)) Thread.Sleep(20);
            Assert.All(workers, w => Assert.Null(w.Failure));
            server.Kill9();
            foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(30)), "a client thread did not notice the kill");
        }
        int acked = workers.Sum(w => w.Operations);
        Assert.True(acked > 100, $"only {acked} writes were acknowledged before the kill");

        using var restarted = ServerProcess.StartOurs(dir.Path, args);
        using var c = restarted.Connect();
        int lost = 0;
        var examples = new List<string>();
        foreach (var w in workers)
        {
            for (int start = 0; start < w.Acked.Count; start += 500)
            {
                var batch = w.Acked.Skip(start).Take(500).ToList();
                var values = c.Ok(["MGET", .. batch.Select(b => b.Key)]).Items!;
                for (int i = 0; i < batch.Count; i++)
                {
                    if (values[i].Text == batch[i].Value) continue;
                    lost++;
                    if (examples.Count < 10) examples.Add($"{batch[i].Key}: '{values[i]}', acknowledged '{batch[i].Value}'");
                }
            }
            var counter = c.Ok("GET", $"counter:{w.Id}");
            long value = counter.Text is null ? 0 : long.Parse(counter.Text, CultureInfo.InvariantCulture);
            if (value < w.CounterAcked)
            {
                lost += (int)(w.CounterAcked - value);
                examples.Add($"counter:{w.Id} is {value}, an INCR acknowledged {w.CounterAcked}");
            }
            Assert.True(value <= w.CounterSent, $"counter:{w.Id} is {value} but only {w.CounterSent} INCRs were sent");
        }
        string report = $"appendfsync {fsync}: {acked} acknowledged writes from {workers.Count} clients " +
            $"({string.Join(", ", workers.Select(w => $"{w.Mode} {w.Operations}"))}), {lost} lost after kill -9; {watch.Elapsed.TotalSeconds:F1} s";
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.True(lost == 0, $"{report}:\n{string.Join("\n", examples)}");
    }

    /// <summary>Writes distinct keys and INCRs until the connection breaks, recording every acknowledgement.</summary>
    private static void Run(int port, Worker w)
    {
        try
        {
            using var c = new RespClient(port, TimeSpan.FromSeconds(30));
            for (int i = 0; ; i++)
            {
                switch (w.Mode)
                {
                    case "single":
                    {
                        string key = $"k:{w.Id}:{i}", value = $"v:{w.Id}:{i}";
                        if (c.Call("SET", key, value).Text != "OK") throw new InvalidOperationException($"SET {key} failed");
                        w.Acked.Add((key, value));
                        w.CounterSent++;
                        w.CounterAcked = c.Call("INCR", $"counter:{w.Id}").Integer;
                        break;
                    }
                    case "pipelined":
                    {
                        const int Batch = 25;
                        for (int j = 0; j < Batch; j++)
                        {
                            c.Send("SET", $"k:{w.Id}:{i}:{j}", $"v:{w.Id}:{i}:{j}");
                            c.Send("INCR", $"counter:{w.Id}");
                        }
                        w.CounterSent += Batch;
                        c.Flush();
                        for (int j = 0; j < Batch; j++)
                        {
                            if (c.Read().Text != "OK") throw new InvalidOperationException("SET failed");
                            w.Acked.Add(($"k:{w.Id}:{i}:{j}", $"v:{w.Id}:{i}:{j}"));
                            w.CounterAcked = c.Read().Integer;
                        }
                        break;
                    }
                    default: // MULTI/EXEC: both writes acknowledged by EXEC's reply
                    {
                        string key = $"k:{w.Id}:{i}", value = $"v:{w.Id}:{i}";
                        c.Send("MULTI");
                        c.Send("SET", key, value);
                        c.Send("INCR", $"counter:{w.Id}");
                        c.Send("EXEC");
                        w.CounterSent++;
                        c.Flush();
                        for (int j = 0; j < 3; j++) c.Read(); // +OK +QUEUED +QUEUED
                        var exec = c.Read();
                        if (exec.Items is not { Length: 2 } items) throw new InvalidOperationException($"EXEC replied {exec}");
                        w.Acked.Add((key, value));
                        w.CounterAcked = items[1].Integer;
                        break;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or System.Net.Sockets.SocketException)
        {
            // the kill: stop here; what was acknowledged is recorded
        }
        catch (Exception e)
        {
            w.Failure = e;
        }
    }
}
