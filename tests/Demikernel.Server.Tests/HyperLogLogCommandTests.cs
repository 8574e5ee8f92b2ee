using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>PFADD/PFCOUNT/PFMERGE; the stored values are compared byte for byte with redis-server 7.0's.</summary>
public sealed class HyperLogLogCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    private static string[] Elements(string prefix, int from, int count) =>
        Enumerable.Range(from, count).Select(i => prefix + i).ToArray();

    [Fact]
    public void AddCountMerge()
    {
        Assert.Equal(Int(1), Run("PFADD", "h"));
        Assert.Equal(Int(0), Run("PFADD", "h"));
        Assert.Equal(Int(0), Run("PFCOUNT", "h"));
        Assert.Equal(Int(1), Run("PFADD", "h", "a", "b", "c"));
        Assert.Equal(Int(0), Run("PFADD", "h", "a"));
        Assert.Equal(Int(3), Run("PFCOUNT", "h"));
        Assert.Equal(Int(1), Run("PFADD", "h2", "c", "d"));
        Assert.Equal(Int(4), Run("PFCOUNT", "h", "h2", "missing"));
        Assert.Equal(Ok, Run("PFMERGE", "m", "h", "h2"));
        Assert.Equal(Int(4), Run("PFCOUNT", "m"));
        Assert.Equal(Ok, Run("PFMERGE", "empty"));
        Assert.Equal(Int(0), Run("PFCOUNT", "empty"));
        Assert.Equal(Int(0), Run("PFCOUNT", "nokey"));
        Assert.Equal("+string\r\n", Run("TYPE", "h"));
    }

    [Fact]
    public void Errors()
    {
        Run("SET", "s", "not an hll");
        Run("SET", "i", "12345");
        const string notHll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
        Assert.Equal(notHll, Run("PFADD", "s", "a"));
        Assert.Equal(notHll, Run("PFCOUNT", "s"));
        Assert.Equal(notHll, Run("PFCOUNT", "i", "s"));
        Assert.Equal(notHll, Run("PFMERGE", "d", "s"));
        Assert.Equal(notHll, Run("PFMERGE", "s"));
        _h.Db.SetObject("l"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        const string wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        Assert.Equal(wrong, Run("PFADD", "l", "a"));
        Assert.Equal(wrong, Run("PFCOUNT", "l"));
        // A sparse value whose opcodes do not cover 16384 registers is corrupt.
        byte[] bad = [.. "HYLL"u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0x00];
        _h.Execute("SET"u8.ToArray(), "bad"u8.ToArray(), bad);
        Assert.Equal(Err("INVALIDOBJ Corrupted HLL object detected"), Run("PFCOUNT", "bad"));
        Assert.Equal(Err("INVALIDOBJ Corrupted HLL object detected"), Run("PFADD", "bad", "x"));
        Assert.Equal(Err("ERR wrong number of arguments for 'pfadd' command"), Run("PFADD"));
    }

    [Fact]
    public void ErrorBoundOn100kDistinctElements()
    {
        const int n = 100_000;
        for (int i = 0; i < n; i += 1000) Run(["PFADD", "big", .. Elements("element:", i, 1000)]);
        long count = long.Parse(Run("PFCOUNT", "big")[1..^2]);
        Assert.InRange(Math.Abs(count - n) / (double)n, 0, 0.02);
        Assert.Equal(12304, long.Parse(Run("STRLEN", "big")[1..^2])); // dense
        // merging with a disjoint set of the same size roughly doubles the estimate
        for (int i = 0; i < n; i += 1000) Run(["PFADD", "big2", .. Elements("other:", i, 1000)]);
        long union = long.Parse(Run("PFCOUNT", "big", "big2")[1..^2]);
        Assert.InRange(Math.Abs(union - 2 * n) / (2.0 * n), 0, 0.02);
    }

    [Fact]
    public void ValuesMatchRedisServerByteForByte()
    {
        using var redis = ReferenceRedis.TryStart();
        List<string[]> script =
        [
            ["PFADD", "h", "a", "b", "c"], ["GET", "h"], ["PFCOUNT", "h"], ["GET", "h"], ["PFADD", "h", "a"], ["GET", "h"],
            ["PFADD", "h", "d"], ["GET", "h"], ["PFADD", "e"], ["GET", "e"], ["PFMERGE", "e2"], ["GET", "e2"], ["PFCOUNT", "e2"], ["GET", "e2"],
            ["PFADD", "s", .. Elements("x", 0, 50)], ["GET", "s"], ["PFCOUNT", "s"], ["OBJECT", "ENCODING", "s"],
            ["PFADD", "s", .. Elements("x", 50, 200)], ["GET", "s"], ["PFCOUNT", "s"],
            ["PFADD", "d", .. Elements("y", 0, 3000)], ["STRLEN", "d"], ["GET", "d"], ["PFCOUNT", "d"], ["GET", "d"],
            ["PFMERGE", "m", "h", "s"], ["GET", "m"], ["PFCOUNT", "m"], ["PFMERGE", "m", "d"], ["GET", "m"], ["PFCOUNT", "m"],
            ["PFMERGE", "m2", "h", "d", "nokey"], ["GET", "m2"], ["PFCOUNT", "h", "s", "d"], ["PFCOUNT", "h", "s"],
            ["PFADD", "d", "zzz", "yyy"], ["GET", "d"], ["PFCOUNT", "d"],
            ["SET", "str", "hello"], ["PFADD", "str", "a"], ["PFCOUNT", "str"], ["PFCOUNT", "h", "str"], ["PFMERGE", "str", "h"],
            ["PFCOUNT"], ["PFMERGE"],
        ];
        for (int i = 0; i < 30; i++) script.Add(["PFADD", "grow", .. Elements($"g{i}:", 0, 40)]);
        script.Add(["GET", "grow"]);
        script.Add(["PFCOUNT", "grow"]);
        var mismatches = redis.Compare(_h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Select(m => m.Length > 600 ? m[..600] : m)));
    }
}
