using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>
/// SSCAN and ZSCAN keep Redis's SCAN guarantee (a member present for the whole iteration is returned at least once,
/// whatever is added or removed between calls and however the table grows or shrinks), small encodings still answer
/// whole in one call, MATCH/COUNT behave as before, and the steady-state member paths allocate nothing.
/// </summary>
public sealed class CollectionScanTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>The items of a RESP2 SCAN-family reply (members contain no CR/LF here).</summary>
    private static List<string> ParseScan(string reply, out string cursor)
    {
        var parts = reply.Split("\r\n");
        Assert.Equal("*2", parts[0]);
        cursor = parts[2];
        int n = int.Parse(parts[3][1..]);
        var items = new List<string>(n);
        for (int i = 0; i < n; i++) items.Add(parts[5 + 2 * i]);
        return items;
    }

    private int Buckets(string key) => _h.Db.Find(B(key))!.Object switch
    {
        RedisSet s => s.BucketCount,
        RedisSortedSet z => z.BucketCount,
        _ => throw new InvalidOperationException(),
    };

    // ---------------------------------------------------------------- the guarantee under churn

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    [InlineData(true, 4)]
    public void EveryMemberPresentThroughoutIsReturnedDespiteChurnAndResizes(bool zset, int seed)
    {
        var rng = new Random(seed);
        const int stableCount = 200;
        var stable = Enumerable.Range(0, stableCount).Select(i => $"s:{i}").ToList();
        var volatileMembers = new List<string>();
        var everPresent = new HashSet<string>(stable);
        int nextVolatile = 0;

        void Add(int n)
        {
            var args = new List<string> { zset ? "ZADD" : "SADD", "big" };
            for (int i = 0; i < n; i++)
            {
                string m = $"v:{nextVolatile++}";
                volatileMembers.Add(m);
                everPresent.Add(m);
                if (zset) args.Add(rng.Next(-1000, 1000).ToString());
                args.Add(m);
            }
            Assert.Equal(Int(n), Run([.. args]));
        }

        void Remove(int n)
        {
            n = Math.Min(n, volatileMembers.Count);
            if (n == 0) return;
            var args = new List<string> { zset ? "ZREM" : "SREM", "big" };
            for (int i = 0; i < n; i++)
            {
                int pick = rng.Next(volatileMembers.Count);
                args.Add(volatileMembers[pick]);
                volatileMembers[pick] = volatileMembers[^1];
                volatileMembers.RemoveAt(volatileMembers.Count - 1);
            }
            Assert.Equal(Int(n), Run([.. args]));
        }

        var initial = new List<string> { zset ? "ZADD" : "SADD", "big" };
        foreach (var m in stable)
        {
            if (zset) initial.Add(rng.Next(-1000, 1000).ToString());
            initial.Add(m);
        }
        Run([.. initial]);
        Add(1800);
        Assert.Equal(Bulk(zset ? "skiplist" : "hashtable"), Run("OBJECT", "ENCODING", "big"));
        int startBuckets = Buckets("big");

        // Phases between calls: shrink (drop every volatile member), grow far past the start, shrink again, then
        // random churn until the iteration ends.
        var seen = new HashSet<string>();
        var bucketHistory = new List<int> { startBuckets };
        string cursor = "0";
        int calls = 0, phase = 0;
        do
        {
            var items = ParseScan(Run(zset ? "ZSCAN" : "SSCAN", "big", cursor, "COUNT", "10"), out cursor);
            for (int i = 0; i < items.Count; i += zset ? 2 : 1)
            {
                Assert.Contains(items[i], everPresent); // never a member that was not in the collection
                seen.Add(items[i]);
                if (zset) Assert.True(double.TryParse(items[i + 1], System.Globalization.CultureInfo.InvariantCulture, out _));
            }
            if (cursor == "0") break;
            switch (phase)
            {
                case 0:
                    Remove(200);
                    if (volatileMembers.Count == 0) phase = 1;
                    break;
                case 1:
                    Add(500);
                    if (volatileMembers.Count >= 6000) phase = 2;
                    break;
                case 2:
                    Remove(500);
                    if (volatileMembers.Count == 0) phase = 3;
                    break;
                default:
                    if (rng.Next(2) == 0) Add(rng.Next(1, 20));
                    else Remove(rng.Next(1, 20));
                    break;
            }
            if (zset)
            {
                // Score changes move members in the skiplist but not in the member table.
                string m = stable[rng.Next(stableCount)];
                Run("ZADD", "big", rng.Next(-1000, 1000).ToString(), m);
            }
            bucketHistory.Add(Buckets("big"));
        }
        while (++calls < 100_000);

        Assert.Equal("0", cursor);
        foreach (var m in stable) Assert.Contains(m, seen);
        // The table really was resized both ways during the iteration.
        int peak = bucketHistory.IndexOf(bucketHistory.Max());
        Assert.True(bucketHistory.Take(peak).Min() < startBuckets, string.Join(',', bucketHistory.Distinct()));
        Assert.True(bucketHistory[peak] > startBuckets);
        Assert.True(bucketHistory.Skip(peak).Min() < bucketHistory[peak]);
    }

    [Fact]
    public void MemberTableScanMatchesAModelUnderRandomOperations()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed);
            var table = new MemberTable<int>();
            var model = new Dictionary<string, int>();
            for (int i = 0; i < rng.Next(0, 3000); i++)
            {
                string k = $"k{i}";
                model[k] = i;
                Assert.True(table.TryAdd(B(k), i));
            }
            var present = new HashSet<string>(model.Keys); // present since the start of the scan
            var seen = new HashSet<string>();
            var found = new List<int>();
            ulong cursor = 0;
            int keySpace = 6000, steps = 0;
            do
            {
                cursor = table.Scan(cursor, rng.Next(1, 30), found);
                foreach (int i in found)
                {
                    string k = Encoding.UTF8.GetString(table.KeyAt(i));
                    Assert.Equal(model[k], table.ValueAt(i));
                    seen.Add(k);
                }
                found.Clear();
                int ops = rng.Next(0, 200);
                bool growing = (steps / 20) % 2 == 0;
                for (int op = 0; op < ops; op++)
                {
                    string k = $"k{rng.Next(keySpace)}";
                    if (rng.Next(10) < (growing ? 8 : 2))
                    {
                        int at = table.GetOrAdd(B(k), 7, out bool added);
                        Assert.Equal(!model.ContainsKey(k), added);
                        if (added) model[k] = 7;
                        Assert.Equal(k, Encoding.UTF8.GetString(table.KeyAt(at)));
                    }
                    else
                    {
                        bool removed = table.Remove(B(k), out int value);
                        Assert.Equal(model.Remove(k, out int expected), removed);
                        if (removed) Assert.Equal(expected, value);
                        present.Remove(k);
                    }
                }
                steps++;
            }
            while (cursor != 0 && steps < 1_000_000);
            Assert.Equal(0UL, cursor);
            Assert.Subset(seen, present);
            Assert.Equal(model.Count, table.Count);
            foreach (var (k, v) in model) Assert.Equal(v, table.ValueAt(table.IndexOf(B(k))));
            for (int i = 0; i < table.Count; i++) Assert.True(model.ContainsKey(Encoding.UTF8.GetString(table.KeyAt(i))));
        }
    }

    [Fact]
    public void CursorReachesZeroOnceTheCollectionEmptiesMidScan()
    {
        var args = new List<string> { "SADD", "s" };
        for (int i = 0; i < 1000; i++) args.Add($"m{i}");
        Run([.. args]);
        ParseScan(Run("SSCAN", "s", "0", "COUNT", "10"), out string cursor);
        Assert.NotEqual("0", cursor);
        Assert.Equal(Int(1), Run("DEL", "s"));
        Assert.Equal(Array(Bulk("0"), "*0\r\n"), Run("SSCAN", "s", cursor));
        Run("SADD", "s", "a:1", "a:2");
        var rest = ParseScan(Run("SSCAN", "s", cursor, "COUNT", "10"), out _);
        Assert.True(rest.Count <= 2);
    }

    // ---------------------------------------------------------------- small encodings, MATCH, COUNT

    [Fact]
    public void SmallEncodingsAnswerWholeInOneCall()
    {
        Run("SADD", "ints", "5", "-3", "12", "7");
        Assert.Equal(Bulk("intset"), Run("OBJECT", "ENCODING", "ints"));
        Assert.Equal(Array(Bulk("0"), BulkArray("-3", "5", "7", "12")), Run("SSCAN", "ints", "0", "COUNT", "1"));
        Assert.Equal(Array(Bulk("0"), BulkArray("-3", "5", "7", "12")), Run("SSCAN", "ints", "12345"));
        Assert.Equal(Array(Bulk("0"), BulkArray("5", "7")), Run("SSCAN", "ints", "0", "MATCH", "[57]", "COUNT", "1"));

        Run("ZADD", "lp", "3", "c", "1", "a", "2", "b", "1.5", "ab");
        Assert.Equal(Bulk("listpack"), Run("OBJECT", "ENCODING", "lp"));
        Assert.Equal(Array(Bulk("0"), BulkArray("a", "1", "ab", "1.5", "b", "2", "c", "3")), Run("ZSCAN", "lp", "0", "COUNT", "1"));
        Assert.Equal(Array(Bulk("0"), BulkArray("a", "1", "ab", "1.5")), Run("ZSCAN", "lp", "99", "MATCH", "a*"));
        Assert.Equal(Array(Bulk("0"), "*0\r\n"), Run("ZSCAN", "lp", "0", "MATCH", "zz*"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatchAndCountOnLargeCollections(bool zset)
    {
        string scan = zset ? "ZSCAN" : "SSCAN";
        int step = zset ? 2 : 1;
        var args = new List<string> { zset ? "ZADD" : "SADD", "big" };
        for (int i = 0; i < 1000; i++)
        {
            if (zset) args.Add($"{i}");
            args.Add($"m:{i}");
        }
        Run([.. args]);

        // COUNT is a hint: a large COUNT returns everything in one call.
        var all = ParseScan(Run(scan, "big", "0", "COUNT", "100000"), out string cursor);
        Assert.Equal("0", cursor);
        Assert.Equal(1000 * step, all.Count);
        if (zset)
            for (int i = 0; i < all.Count; i += 2) Assert.Equal($"m:{all[i + 1]}", all[i]);

        // COUNT 10: about ten per call (at least ten until the last call), and a full iteration returns each once.
        var seen = new List<string>();
        int calls = 0;
        do
        {
            var items = ParseScan(Run(scan, "big", cursor, "COUNT", "10"), out cursor);
            if (cursor != "0") Assert.True(items.Count >= 10 * step, $"{items.Count} items");
            Assert.True(items.Count <= 40 * step, $"{items.Count} items");
            for (int i = 0; i < items.Count; i += step) seen.Add(items[i]);
            calls++;
        }
        while (cursor != "0");
        Assert.Equal(1000, seen.Count);
        Assert.Equal(1000, seen.Distinct().Count());
        Assert.InRange(calls, 25, 100);

        // MATCH filters after COUNT: calls may come back empty with a non-zero cursor; the union is exact.
        var matched = new List<string>();
        bool sawEmpty = false;
        cursor = "0";
        do
        {
            var items = ParseScan(Run(scan, "big", cursor, "MATCH", "m:1?", "COUNT", "10"), out cursor);
            if (items.Count == 0 && cursor != "0") sawEmpty = true;
            for (int i = 0; i < items.Count; i += step) matched.Add(items[i]);
        }
        while (cursor != "0");
        Assert.True(sawEmpty);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"m:{i}").Order(), matched.Order());

        Assert.Equal(Err("ERR syntax error"), Run(scan, "big", "0", "COUNT", "0"));
        Assert.Equal(Err("ERR invalid cursor"), Run(scan, "big", "1x"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run(scan, "big", "0", "COUNT", "x"));
    }

    // ---------------------------------------------------------------- lex ranges over mixed scores

    /// <summary>
    /// BYLEX on members with different scores depends on the walk order; a listpack answers like Redis's head/tail
    /// walk (replies from redis-server 7.0.15), every time (it used to depend on the skiplist's random levels).
    /// </summary>
    [Fact]
    public void LexRangesOnMixedScoresFollowRedisListpackWalk()
    {
        for (int round = 0; round < 40; round++)
        {
            Run("DEL", "z");
            Run("ZADD", "z", "1", "d", "2", "nn", "3", "b", "4", "a", "5", "c", "6", "new");
            Assert.Equal(BulkArray("d", "nn", "b", "a", "c", "new"), Run("ZRANGE", "z", "[b", "+", "BYLEX"));
            Assert.Equal("*0\r\n", Run("ZRANGEBYLEX", "z", "-", "[b"));
            Assert.Equal(BulkArray("new", "c"), Run("ZREVRANGEBYLEX", "z", "+", "[b"));
            Assert.Equal(Int(6), Run("ZLEXCOUNT", "z", "[b", "+"));
            Assert.Equal(Int(1), Run("ZLEXCOUNT", "z", "[c", "[m"));
            Assert.Equal(BulkArray("d"), Run("ZRANGEBYLEX", "z", "[c", "[m"));
            Assert.Equal(BulkArray("nn", "b"), Run("ZRANGEBYLEX", "z", "[b", "+", "LIMIT", "1", "2"));
            Assert.Equal(Int(1), Run("ZREMRANGEBYLEX", "z", "[c", "[m"));
            Assert.Equal(BulkArray("nn", "b", "a", "c", "new"), Run("ZRANGE", "z", "0", "-1"));
        }
    }

    // ---------------------------------------------------------------- allocation-free member paths

    [Theory]
    [InlineData("SADD", "s", "member:0042")]
    [InlineData("SISMEMBER", "s", "member:0042")]
    [InlineData("SISMEMBER", "s", "absent")]
    [InlineData("SADD", "small", "member:0042")]
    [InlineData("ZADD", "z", "42", "member:0042")]
    [InlineData("ZSCORE", "z", "member:0042")]
    [InlineData("ZSCORE", "z", "absent")]
    public void SteadyStateMemberCommandsAllocateNothing(params string[] command)
    {
        var sadd = new List<string> { "SADD", "s" };
        var zadd = new List<string> { "ZADD", "z" };
        for (int i = 0; i < 1000; i++)
        {
            sadd.Add($"member:{i:D4}");
            zadd.AddRange([$"{i}", $"member:{i:D4}"]);
        }
        Run([.. sadd]);
        Run([.. zadd]);
        Run("SADD", "small", "member:0042", "x");
        Assert.Equal(0, _h.SteadyStateAllocation(EncodeRequest(command)));
    }
}
