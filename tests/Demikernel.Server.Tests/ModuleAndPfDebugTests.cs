using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Tests;

/// <summary>
/// MODULE, PFDEBUG and PFSELFTEST against redis-server 7.0.15: replies byte for byte in RESP2 and RESP3 (errors
/// included), MODULE LOAD/LOADEX's log lines (level and text) against redis-server's log file, and enable-module-command.
/// </summary>
public sealed partial class ModuleAndPfDebugTests
{
    private static readonly string[][] ModuleScript =
    [
        ["MODULE", "HELP"], ["MODULE", "LIST"], ["MODULE", "LIST", "x"], ["MODULE"], ["MODULE", "foo"], ["MODULE", "UNLOAD"],
        ["MODULE", "LOAD", "/nonexistent/m.so"], ["MODULE", "LOAD", "/etc/passwd", "a", "b"], ["MODULE", "LOAD", "/bin/true"],
        ["MODULE", "LOAD", "/lib/x86_64-linux-gnu/libc.so.6"], ["MODULE", "LOAD", "/usr/lib/x86_64-linux-gnu/libz.so.1"],
        ["MODULE", "LOADEX", "/x.so", "CONFIG", "a"], ["MODULE", "LOADEX", "/x.so", "foo"], ["MODULE", "LOADEX", "/x.so", "ARGS", "a", "b"],
        ["MODULE", "LOADEX", "/y.so", "CONFIG", "a", "b", "config", "c", "d", "args"], ["MODULE", "UNLOAD", "foo"], ["MODULE", "LIST"],
        ["CONFIG", "GET", "enable-module-command"], ["CONFIG", "SET", "enable-module-command", "no"],
    ];

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ModuleAsRedisServer(int protocol)
    {
        string dir = Directory.CreateTempSubdirectory("module-redis-").FullName;
        try
        {
            string logFile = Path.Combine(dir, "redis.log");
            using var redis = ReferenceRedis.TryStart($"--enable-module-command yes --logfile {logFile}");
            using var log = new CapturedLog(LogLevel.Information);
            using var h = new CommandHarness(null, log.Logger, log.Level);
            Assert.Equal(DirectiveResult.Applied, h.Server.Config.LoadDirective("enable-module-command", ["yes"], out _));
            redis.Run("HELLO", protocol.ToString(CultureInfo.InvariantCulture));
            h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
            var mismatches = redis.Compare(h, ModuleScript);
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
            // the lines each attempt logged, from "Module" / "CONFIG" / "Syntax" on, with their level mark
            static string[] Tail(IEnumerable<string> lines) =>
                [.. lines.Select(l => LogTail().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value)];
            var expected = Tail(File.ReadAllLines(logFile));
            var ours = Tail(log.Lines());
            Assert.Equal(9, expected.Length);
            Assert.Equal(expected, ours);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@" ([#*] (?:Module|CONFIG specified|Syntax Error).*)$")]
    private static partial Regex LogTail();

    /// <summary>Without enable-module-command, LOAD/LOADEX/UNLOAD are refused; HELP and LIST are not protected.</summary>
    [Fact]
    public void ModuleIsProtectedAsRedisServer() => ReferenceRedis.AssertSameReplies(
    [
        ["MODULE", "LOAD", "/x.so"], ["MODULE", "LOADEX", "/x.so"], ["MODULE", "UNLOAD", "x"], ["MODULE", "LIST"], ["MODULE", "HELP"],
        ["CONFIG", "GET", "enable-module-command"],
    ]);

    private static string[][] PfScript()
    {
        List<string[]> script =
        [
            ["PFADD", "h", "a", "b", "c"], ["PFDEBUG", "ENCODING", "h"], ["PFDEBUG", "DECODE", "h"], ["PFDEBUG", "encoding", "h", "x"],
            ["PFDEBUG", "GETREG", "h"], ["PFDEBUG", "ENCODING", "h"], ["GET", "h"], ["PFCOUNT", "h"], ["PFDEBUG", "TODENSE", "h"],
            ["PFDEBUG", "DECODE", "h"], ["PFADD", "h2", "x"], ["PFCOUNT", "h2"], ["PFDEBUG", "TODENSE", "h2"], ["GET", "h2"], ["PFCOUNT", "h2"],
            ["PFDEBUG", "Foo", "h"], ["PFDEBUG", "foo", "nokey"], ["PFDEBUG", "GETREG", "nokey"], ["SET", "s", "not an hll"],
            ["PFDEBUG", "ENCODING", "s"], ["LPUSH", "l", "a"], ["PFDEBUG", "DECODE", "l"], ["PFDEBUG", "GETREG", "h", "extra"],
            ["PFDEBUG", "TODENSE", "h2", "x"], ["PFDEBUG", "DECODE", "h2", "x"], ["PFDEBUG"], ["PFDEBUG", "x"], ["PFSELFTEST", "x"],
            ["SET", "bad", "HYLL\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u007f"], ["PFDEBUG", "TODENSE", "bad"],
            ["PFDEBUG", "DECODE", "bad"],
        ];
        var big = new List<string> { "PFADD", "big" };
        for (int i = 0; i < 300; i++) big.Add("e" + i.ToString(CultureInfo.InvariantCulture));
        script.Add([.. big]);
        script.Add(["PFDEBUG", "DECODE", "big"]);
        script.Add(["PFDEBUG", "GETREG", "big"]);
        return [.. script];
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void PfDebugAsRedisServer(int protocol) => ReferenceRedis.AssertSameReplies(PfScript(), protocol);

    private static string[][] SparseLimitScript()
    {
        string[] Add(string key, int from, int count)
        {
            var args = new List<string> { "PFADD", key };
            for (int i = from; i < from + count; i++) args.Add("e" + i.ToString(CultureInfo.InvariantCulture));
            return [.. args];
        }
        return
        [
            ["CONFIG", "GET", "hll-sparse-max-bytes"], ["CONFIG", "SET", "hll-sparse-max-bytes", "x"],
            ["CONFIG", "SET", "hll-sparse-max-bytes", "-1"], ["CONFIG", "SET", "hll-sparse-max-bytes", "100"],
            Add("a", 0, 10), ["PFDEBUG", "ENCODING", "a"], ["GET", "a"], Add("a", 10, 50), ["PFDEBUG", "ENCODING", "a"], ["GET", "a"],
            ["CONFIG", "SET", "hll-sparse-max-bytes", "0"], ["PFADD", "b"], ["PFDEBUG", "ENCODING", "b"], ["PFADD", "b", "x"],
            ["PFDEBUG", "ENCODING", "b"], ["CONFIG", "SET", "hll-sparse-max-bytes", "20kb"], ["CONFIG", "GET", "hll-sparse-max-bytes"],
            // a long sparse value: redis's in-place edits may split a run of equal registers differently (3+2 where
            // ours writes 4+1), so its bytes are not compared; its registers, count and encoding are
            Add("c", 0, 3000), ["PFDEBUG", "ENCODING", "c"], ["PFCOUNT", "c"], Add("c", 3000, 7000),
            ["PFDEBUG", "ENCODING", "c"], ["PFCOUNT", "c"], ["STRLEN", "c"], ["PFDEBUG", "GETREG", "c"], ["PFDEBUG", "ENCODING", "c"],
            ["CONFIG", "SET", "hll-sparse-max-bytes", "3000"], Add("d", 0, 1500), ["PFDEBUG", "ENCODING", "d"], ["GET", "d"],
        ];
    }

    /// <summary>hll-sparse-max-bytes: where PFADD turns a sparse HyperLogLog dense, its bytes as redis-server's.</summary>
    [Fact]
    public void HllSparseMaxBytesAsRedisServer() => ReferenceRedis.AssertSameReplies(SparseLimitScript());

    /// <summary>The self test really runs (about a second) and passes.</summary>
    [Fact]
    public void PfSelfTestPasses()
    {
        using var h = new CommandHarness();
        Assert.Equal("+OK\r\n", h.Run("PFSELFTEST"));
    }
}
