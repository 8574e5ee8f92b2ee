using System.Diagnostics;
using System.Globalization;

namespace Demikernel.Server.DurabilityTests;

/// <summary>BGSAVE is a point-in-time snapshot: what its file holds is the data at the instant it was accepted,
/// whatever clients do while it is written.</summary>
public sealed class SnapshotTests(ITestOutputHelper output)
{
    private const int Keys = 200_000;

    private static string S(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void BgsaveHoldsTheDataAtTheInstantItWasAccepted()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir("bgsave-pit");
        using var copy = new TempDir("bgsave-pit-copy");
        bool stillRunningAfterPipeline, stillRunningAfterOthers;
        using (var server = ServerProcess.StartOurs(dir.Path, "--save", ""))
        using (var a = server.Connect())
        {
            a.Pipeline(Enumerable.Range(0, Keys).Select(i => new[] { "SET", $"key:{S(i)}", $"v:{S(i)}" }));
            a.Pipeline(Enumerable.Range(0, 1000).Select(i => new[] { "HSET", $"hash:{S(i)}", "f", $"h:{S(i)}", "g", "x" }));
            a.Pipeline(Enumerable.Range(0, 1000).Select(i => new[] { "RPUSH", $"list:{S(i)}", "a", "b", S(i) }));
            a.Pipeline(Enumerable.Range(0, 1000).Select(i => new[] { "SET", $"ttl:{S(i)}", "t", "PX", "900000000" }));
            output.WriteLine($"{a.Ok("DBSIZE").Integer} keys loaded after {watch.Elapsed.TotalSeconds:F1} s");

            // One write: a change just before BGSAVE, BGSAVE, then changes of every kind right behind it.
            a.Send("SET", "before", "old");
            a.Send("BGSAVE");
            for (int i = 0; i < 2000; i++) a.Send("SET", $"key:{S(i * 97)}", "CHANGED");          // overwrite (spread over the keyspace)
            for (int i = 0; i < 1000; i++) a.Send("DEL", $"key:{S(100_000 + i)}");                // delete
            for (int i = 0; i < 500; i++) a.Send("RENAME", $"key:{S(150_000 + i)}", $"renamed:{S(i)}");
            for (int i = 0; i < 500; i++) a.Send("PEXPIRE", $"key:{S(160_000 + i)}", "1");        // expire now
            for (int i = 0; i < 500; i++) a.Send("PERSIST", $"ttl:{S(i)}");                       // drop a TTL
            for (int i = 0; i < 500; i++) a.Send("HSET", $"hash:{S(i)}", "f", "CHANGED");
            for (int i = 0; i < 500; i++) a.Send("LPUSH", $"list:{S(i)}", "CHANGED");
            for (int i = 0; i < 1000; i++) a.Send("SET", $"after:{S(i)}", "new");                 // add
            a.Send("SET", "before", "new");
            a.Send("INFO", "persistence");
            a.Flush();
            Assert.Equal("OK", a.Read().Text);
            Assert.Equal("Background saving started", a.Read().Text);
            for (int i = 0; i < 6500; i++) // the changes above
            {
                var r = a.Read();
                Assert.False(r.IsError, r.Text);
            }
            Assert.Equal("OK", a.Read().Text);
            stillRunningAfterPipeline = a.Read().Text!.Contains("rdb_bgsave_in_progress:1", StringComparison.Ordinal);

            // Other clients change more while the save runs.
            var others = Enumerable.Range(0, 3).Select(t => new Thread(() =>
            {
                using var c = server.Connect();
                c.Pipeline(Enumerable.Range(0, 3000).Select(i => (i % 3) switch
                {
                    0 => new[] { "SET", $"key:{S(20_000 + t * 10_000 + i)}", "OTHER" },
                    1 => new[] { "DEL", $"key:{S(50_000 + t * 10_000 + i)}" },
                    _ => new[] { "SET", $"other:{S(t)}:{S(i)}", "x" },
                }));
            })).ToList();
            others.ForEach(t => t.Start());
            others.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a client thread hung"));
            stillRunningAfterOthers = a.Info("rdb_bgsave_in_progress") == "1";
            a.WaitForBackgroundWork(TimeSpan.FromSeconds(120));
            Assert.Equal("ok", a.Info("rdb_last_bgsave_status"));
            File.Copy(dir["dump.rdb"], copy["dump.rdb"]);
        }
        output.WriteLine($"BGSAVE still running after the pipelined changes: {stillRunningAfterPipeline}; after the other clients' changes: {stillRunningAfterOthers}");
        Assert.True(stillRunningAfterPipeline, "BGSAVE ended before the changes pipelined behind it were answered: the test proves nothing");

        // The file, loaded by redis-server, holds exactly the data at the instant of BGSAVE.
        using var redis = ServerProcess.StartRedis(copy.Path);
        using var rc = redis.Connect();
        Assert.Equal(Keys + 3000 + 1, rc.Ok("DBSIZE").Integer);
        Assert.Equal("old", rc.Ok("GET", "before").Text);
        var wrong = new List<string>();
        for (int start = 0; start < Keys; start += 1000)
        {
            var values = rc.Ok(["MGET", .. Enumerable.Range(start, 1000).Select(i => $"key:{S(i)}")]).Items!;
            for (int i = 0; i < 1000; i++)
                if (values[i].Text != $"v:{S(start + i)}" && wrong.Count < 20) wrong.Add($"key:{S(start + i)} = {values[i]}");
        }
        var hashes = rc.Pipeline(Enumerable.Range(0, 1000).Select(i => new[] { "HGET", $"hash:{S(i)}", "f" }));
        var lists = rc.Pipeline(Enumerable.Range(0, 1000).Select(i => new[] { "LRANGE", $"list:{S(i)}", "0", "-1" }));
        var ttls = rc.Pipeline(Enumerable.Range(0, 1000).Select(i => new[] { "PTTL", $"ttl:{S(i)}" }));
        for (int i = 0; i < 1000; i++)
        {
            if (hashes[i].Text != $"h:{S(i)}") wrong.Add($"hash:{S(i)} f = {hashes[i]}");
            if (lists[i].ToString() != $"[a, b, {S(i)}]") wrong.Add($"list:{S(i)} = {lists[i]}");
            if (ttls[i].Integer <= 0) wrong.Add($"ttl:{S(i)} has PTTL {ttls[i]}");
        }
        Assert.True(wrong.Count == 0, $"the BGSAVE file does not hold the data at the instant of BGSAVE:\n{string.Join("\n", wrong.Take(20))}");
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s");
    }
}
