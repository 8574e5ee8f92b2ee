using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>Stream commands through the real dispatcher; expected replies checked against redis-server 7.0.</summary>
public sealed class StreamCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    private static string Entry(string id, params string[] fields) => Array(Bulk(id), BulkArray(fields));

    // ---------------------------------------------------------------- differential script (explicit IDs only)

    private static readonly string[][] Script =
    [
        ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "0-0", "a", "1"], ["XADD", "s", "1-*", "b", "2"],
        ["XADD", "s", "5", "c", "3"], ["XADD", "s", "0-*", "x", "y"], ["XADD", "s", "a"], ["XADD", "s", "*", "a"], ["XADD", "s", "maxlen"],
        ["XADD", "s", "nomkstream"], ["XADD", "s", "bad", "x", "y"], ["XADD", "s", "+", "x", "y"], ["XADD", "s", "1-2-3", "x", "y"],
        ["XADD", "none", "NOMKSTREAM", "1-1", "a", "b"], ["EXISTS", "none"], ["XADD", "s", "MAXLEN", "-1", "9", "a", "b"],
        ["XADD", "s", "MAXLEN", "x", "9", "a", "b"], ["XADD", "s", "MAXLEN", "1", "MINID", "1", "9", "a", "b"],
        ["XADD", "s", "LIMIT", "5", "9", "a", "b"], ["XADD", "s", "MAXLEN", "5", "LIMIT", "5", "9", "a", "b"],
        ["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "9", "a", "b"], ["XADD", "s", "MINID", "+", "9", "a", "b"],
        ["XLEN", "s"], ["XLEN", "nope"], ["TYPE", "s"], ["OBJECT", "ENCODING", "s"],
        ["XADD", "s", "6-0", "f1", "v1", "f2", "v2"], ["XADD", "s", "18446744073709551615-18446744073709551614", "z", "z"],
        ["XRANGE", "s", "-", "+"], ["XREVRANGE", "s", "+", "-"], ["XRANGE", "s", "-", "+", "COUNT", "2"], ["XRANGE", "s", "-", "+", "COUNT", "0"],
        ["XRANGE", "s", "-", "+", "COUNT", "-3"], ["XRANGE", "s", "(1-1", "(6"], ["XRANGE", "s", "1", "1"], ["XRANGE", "s", "5", "+"],
        ["XREVRANGE", "s", "(6-0", "-", "COUNT", "2"], ["XRANGE", "s", "(-", "+"], ["XRANGE", "s", "-", "(-"], ["XRANGE", "s", "(+", "+"],
        ["XRANGE", "s", "-", "(0-0"], ["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"], ["XRANGE", "s", "x", "+"],
        ["XRANGE", "s", "-", "+", "BAD"], ["XRANGE", "s", "-", "+", "COUNT"], ["XRANGE", "nope", "-", "+"], ["XRANGE", "s", "3", "2"],
        ["XADD", "s", "*", "a", "b"], ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "b"], ["XADD", "s", "*", "a", "b"],
        ["XADD", "s", "18446744073709551615-*", "a", "b"], ["XDEL", "s", "18446744073709551615-18446744073709551615"],
        ["XADD", "s", "*", "a", "b"], ["XLEN", "s"],
        ["SET", "str", "v"], ["XADD", "str", "1-1", "a", "b"], ["XLEN", "str"], ["XRANGE", "str", "-", "+"], ["XREAD", "STREAMS", "str", "0"],
        ["XGROUP", "CREATE", "str", "g", "0"], ["XINFO", "STREAM", "str"], ["XTRIM", "str", "MAXLEN", "0"], ["XDEL", "str", "1-1"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"], ["XINFO", "GROUPS", "str"], ["XACK", "str", "g", "1"], ["XPENDING", "str", "g"],
        ["XCLAIM", "str", "g", "c", "0", "1"], ["XAUTOCLAIM", "str", "g", "c", "0", "0"], ["XSETID", "str", "1"], ["XGROUP", "SETID", "str", "g", "0"],
        ["XINFO", "CONSUMERS", "str", "g"], ["XINFO", "CONSUMERS", "nokey", "g"],
        ["XREAD", "COUNT", "1", "STREAMS", "nope", "s", "s", "0", "0", "0"],
        // XREAD
        ["XREAD", "STREAMS", "s", "0"], ["XREAD", "COUNT", "1", "STREAMS", "s", "nope", "0", "0"], ["XREAD", "STREAMS", "s", "$"],
        ["XREAD", "STREAMS", "s"], ["XREAD", "STREAMS", "s", "s2", "0"], ["XREAD", "COUNT", "x", "STREAMS", "s", "0"],
        ["XREAD", "BLOCK", "x", "STREAMS", "s", "0"], ["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"], ["XREAD", "GROUP", "g", "c", "STREAMS", "s", ">"],
        ["XREAD", "NOACK", "STREAMS", "s", "0"], ["XREAD", "STREAMS", "s", ">"], ["XREAD", "COUNT", "1"], ["XREAD", "BAD", "STREAMS", "s", "0"],
        ["XREAD", "STREAMS", "s", "5-0"], ["XREAD", "STREAMS", "s", "bad"], ["XREAD", "COUNT", "2", "STREAMS", "s", "(1"],
        // trimming
        ["DEL", "t"], ["XADD", "t", "1", "a", "1"], ["XADD", "t", "2", "a", "2"], ["XADD", "t", "3", "a", "3"], ["XADD", "t", "4", "a", "4"],
        ["XADD", "t", "MAXLEN", "3", "5", "a", "5"], ["XRANGE", "t", "-", "+"], ["XADD", "t", "MAXLEN", "~", "1", "6", "a", "6"], ["XLEN", "t"],
        ["XTRIM", "t", "MAXLEN", "=", "2"], ["XRANGE", "t", "-", "+"], ["XTRIM", "t", "MINID", "6"], ["XRANGE", "t", "-", "+"],
        ["XTRIM", "t", "MINID", "~", "7"], ["XTRIM", "t"], ["XTRIM", "t", "BAD"], ["XTRIM", "t", "LIMIT", "1"], ["XTRIM", "t", "MAXLEN", "1", "LIMIT", "1"],
        ["XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "1"], ["XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "0"], ["XLEN", "t"], ["EXISTS", "t"],
        ["XTRIM", "nope", "MAXLEN", "0"], ["XINFO", "STREAM", "t"], ["XINFO", "STREAM", "t", "FULL"], ["XINFO", "STREAM", "s", "FULL", "COUNT", "2"],
        // XDEL and counters
        ["DEL", "d"], ["XADD", "d", "1", "a", "1"], ["XADD", "d", "2", "a", "2"], ["XADD", "d", "3", "a", "3"], ["XDEL", "d", "1", "3", "9", "1"],
        ["XDEL", "d", "bad"], ["XDEL", "nope", "1"], ["XINFO", "STREAM", "d"], ["XDEL", "d", "2"], ["XINFO", "STREAM", "d"], ["EXISTS", "d"],
        ["XSETID", "d", "1"], ["XSETID", "d", "10", "ENTRIESADDED", "2", "MAXDELETEDID", "11"], ["XSETID", "d", "10", "ENTRIESADDED", "-1"],
        ["XSETID", "d", "10", "BAD", "1"], ["XSETID", "nope", "1"], ["XSETID", "d", "10", "ENTRIESADDED", "7", "MAXDELETEDID", "5"],
        ["XINFO", "STREAM", "d"], ["XINFO", "STREAM", "d", "FULL", "COUNT", "0"], ["XADD", "d", "10", "a", "b"], ["XADD", "d", "10-*", "a", "b"], ["XSETID", "d", "10-0"], ["XSETID", "d", "10-1", "ENTRIESADDED", "0"],
        // consumer groups
        ["DEL", "q"], ["XGROUP", "CREATE", "q", "g", "$"], ["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"], ["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"],
        ["XGROUP", "CREATE", "q", "g2", "0", "ENTRIESREAD", "-2"], ["XGROUP", "CREATE", "q", "g2", "0", "BAD"], ["XGROUP", "CREATE", "q", "g2", "bad"],
        ["XGROUP", "CREATE", "q"], ["XGROUP", "foo"], ["XGROUP", "SETID", "q", "nog", "0"], ["XGROUP", "CREATECONSUMER", "q", "nog", "c"],
        ["XADD", "q", "1", "k", "1"], ["XADD", "q", "2", "k", "2"], ["XADD", "q", "3", "k", "3"],
        ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "q", ">"], ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "q", ">"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "q", "0"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "q", "2-0"], ["XREADGROUP", "GROUP", "nog", "bob", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "nokey", ">"], ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "q", "$"],
        ["XREADGROUP", "STREAMS", "q", ">"], ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "q"],
        ["XPENDING", "q", "g"], ["XPENDING", "q", "nog"], ["XPENDING", "nokey", "g"], ["XPENDING", "q", "g", "-", "+"], ["XPENDING", "q", "g", "IDLE", "1", "-", "+"],
        ["XPENDING", "q", "g", "-", "+", "x"], ["XPENDING", "q", "g", "x", "+", "10"], ["XPENDING", "q", "g", "-", "+", "10", "nobody"],
        ["XINFO", "GROUPS", "q"], ["XINFO", "STREAM", "q"],
        ["XACK", "q", "g", "1", "1", "9"], ["XACK", "q", "g", "bad"], ["XACK", "q", "nog", "2"], ["XACK", "nokey", "g", "2"], ["XPENDING", "q", "g"],
        ["XCLAIM", "q", "g", "carol", "0", "2", "3", "JUSTID"], ["XPENDING", "q", "g"], ["XCLAIM", "q", "g", "carol", "0", "2", "BAD"],
        ["XCLAIM", "q", "g", "carol", "x", "2"], ["XCLAIM", "q", "nog", "carol", "0", "2"], ["XCLAIM", "q", "g", "alice", "0", "1", "FORCE", "JUSTID"],
        ["XCLAIM", "q", "g", "alice", "0", "99", "FORCE", "JUSTID"], ["XCLAIM", "q", "g", "dave", "3600000", "1", "2", "JUSTID"],
        ["XCLAIM", "q", "g", "alice", "0", "2", "RETRYCOUNT", "7", "JUSTID"], ["XCLAIM", "q", "g", "alice", "0", "2", "IDLE", "x"],
        ["XCLAIM", "q", "g", "bob", "0", "3"],
        ["XAUTOCLAIM", "q", "g", "erin", "0", "0", "COUNT", "1"], ["XAUTOCLAIM", "q", "g", "erin", "0", "0", "COUNT", "0"],
        ["XAUTOCLAIM", "q", "g", "erin", "0", "0", "JUSTID"], ["XAUTOCLAIM", "q", "nog", "erin", "0", "0"], ["XAUTOCLAIM", "q", "g", "erin", "x", "0"],
        ["XAUTOCLAIM", "q", "g", "erin", "0", "0", "BAD"], ["XDEL", "q", "2"], ["XAUTOCLAIM", "q", "g", "frank", "0", "0"], ["XPENDING", "q", "g"],
        ["XGROUP", "CREATECONSUMER", "q", "g", "zed"], ["XGROUP", "CREATECONSUMER", "q", "g", "zed"], ["XGROUP", "DELCONSUMER", "q", "g", "frank"],
        ["XGROUP", "DELCONSUMER", "q", "g", "nobody"], ["XPENDING", "q", "g"], ["XGROUP", "SETID", "q", "g", "0", "ENTRIESREAD", "0"], ["XINFO", "GROUPS", "q"],
        ["XREADGROUP", "GROUP", "g", "zed", "NOACK", "STREAMS", "q", ">"], ["XPENDING", "q", "g"], ["XINFO", "GROUPS", "q"],
        ["XGROUP", "SETID", "q", "g", "$"], ["XGROUP", "SETID", "q", "g", "1", "BAD"], ["XGROUP", "DESTROY", "q", "g"], ["XGROUP", "DESTROY", "q", "g"],
        ["XGROUP", "DESTROY", "nokey", "g"], ["XINFO", "GROUPS", "q"], ["XINFO", "GROUPS", "nokey"], ["XINFO", "CONSUMERS", "q", "nog"], ["XINFO", "STREAM", "q", "BAD"],
        ["XINFO", "STREAM", "q", "FULL", "COUNT", "x"], ["XINFO", "foo", "q"], ["XINFO", "STREAM"], ["XINFO", "HELP"], ["XGROUP", "HELP"],
        // lag and entries-read
        ["DEL", "l"], ["XADD", "l", "1", "a", "1"], ["XADD", "l", "2", "a", "2"], ["XADD", "l", "3", "a", "3"], ["XGROUP", "CREATE", "l", "g", "0"],
        ["XINFO", "GROUPS", "l"], ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "l", ">"], ["XINFO", "GROUPS", "l"], ["XDEL", "l", "3"],
        ["XINFO", "GROUPS", "l"], ["XADD", "l", "4", "a", "4"], ["XINFO", "GROUPS", "l"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "l", ">"],
        ["XINFO", "GROUPS", "l"], ["XGROUP", "CREATE", "l", "g3", "$", "ENTRIESREAD", "2"], ["XINFO", "GROUPS", "l"],
    ];

    [Fact]
    public void RepliesMatchRedisServer()
    {
        var mismatches = RedisDiff.Compare(Script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    // ---------------------------------------------------------------- time-dependent behaviour (virtual clock)

    [Fact]
    public void AutoIdsFollowTheClock()
    {
        long now = _h.NowMs;
        Assert.Equal(Bulk($"{now}-0"), Run("XADD", "s", "*", "f", "v"));
        Assert.Equal(Bulk($"{now}-1"), Run("XADD", "s", "*", "f", "v"));
        _h.AdvanceMs(5);
        Assert.Equal(Bulk($"{now + 5}-0"), Run("XADD", "s", "*", "f", "v"));
        Assert.Equal(Bulk($"{now + 5}-1"), Run("XADD", "s", $"{now + 5}-*", "f", "v"));
        Assert.Equal(Bulk($"{now + 9}-0"), Run("XADD", "s", $"{now + 9}-*", "f", "v"));
        // A last ID in the future keeps auto IDs increasing.
        Assert.Equal(Bulk($"{now + 100_000}-0"), Run("XADD", "s", $"{now + 100_000}", "f", "v"));
        Assert.Equal(Bulk($"{now + 100_000}-1"), Run("XADD", "s", "*", "f", "v"));
        Assert.Equal(Int(7), Run("XLEN", "s"));
        Assert.Equal(Bulk($"{now + 100_000}-2"), Run("XADD", "s", "MAXLEN", "2", "*", "f", "v"));
        Assert.Equal(Int(2), Run("XLEN", "s"));
    }

    [Fact]
    public void PendingIdleAndClaims()
    {
        Run("XADD", "s", "1", "f", "1");
        Run("XADD", "s", "2", "f", "2");
        Run("XGROUP", "CREATE", "s", "g", "0");
        Run("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">");
        _h.AdvanceMs(1000);
        Assert.Equal(
            Array(Array(Bulk("1-0"), Bulk("alice"), Int(1000), Int(1)), Array(Bulk("2-0"), Bulk("alice"), Int(1000), Int(1))),
            Run("XPENDING", "s", "g", "-", "+", "10"));
        Assert.Equal(Array(), Run("XPENDING", "s", "g", "IDLE", "2000", "-", "+", "10"));
        Assert.Equal(Array(Array(Bulk("2-0"), Bulk("alice"), Int(1000), Int(1))), Run("XPENDING", "s", "g", "IDLE", "500", "(1", "+", "10", "alice"));
        // Too young to claim; then claim with IDLE set.
        Assert.Equal(Array(), Run("XCLAIM", "s", "g", "bob", "5000", "1"));
        Assert.Equal(Array(Entry("1-0", "f", "1")), Run("XCLAIM", "s", "g", "bob", "500", "1", "IDLE", "300"));
        Assert.Equal(Array(Array(Bulk("1-0"), Bulk("bob"), Int(300), Int(2))), Run("XPENDING", "s", "g", "-", "+", "10", "bob"));
        Assert.Equal(Array(Bulk("2-0")), Run("XCLAIM", "s", "g", "bob", "0", "2", "TIME", (_h.NowMs - 50).ToString(), "JUSTID"));
        Assert.Equal(Array(Array(Bulk("2-0"), Bulk("bob"), Int(50), Int(1))), Run("XPENDING", "s", "g", "2", "2", "1"));
        // XAUTOCLAIM by idle time, with a cursor.
        _h.AdvanceMs(100);
        Assert.Equal(Array(Bulk("0-0"), Array(Entry("2-0", "f", "2")), Array()), Run("XAUTOCLAIM", "s", "g", "carol", "120", "(1"));
        Assert.Equal(Array(Bulk("2-0"), Array(Entry("1-0", "f", "1")), Array()), Run("XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "1"));
        // Consumers' idle time (seen time) and pending counts.
        _h.AdvanceMs(10);
        string consumers = Run("XINFO", "CONSUMERS", "s", "g");
        Assert.StartsWith("*4\r\n*6\r\n$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:1110\r\n", consumers);
        Assert.Contains("$4\r\ndave\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:10\r\n", consumers);
        _h.Protocol = RespVersion.Resp3;
        Assert.StartsWith("*4\r\n%3\r\n$4\r\nname\r\n$5\r\nalice\r\n", Run("XINFO", "CONSUMERS", "s", "g"));
    }

    [Fact]
    public void XReadBlockWithoutAConnectionAnswersNilAtOnce()
    {
        Run("XADD", "s", "1", "f", "v");
        Assert.Equal(NilArray, Run("XREAD", "BLOCK", "0", "STREAMS", "s", "$"));
        Assert.Equal(NilArray, Run("XREAD", "BLOCK", "10", "STREAMS", "s", "nope", "$", "0"));
        Assert.Equal(Array(Array(Bulk("s"), Array(Entry("1-0", "f", "v")))), Run("XREAD", "BLOCK", "0", "STREAMS", "s", "0"));
        Run("XGROUP", "CREATE", "s", "g", "$");
        Assert.Equal(NilArray, Run("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"));
        Run("MULTI");
        Run("XREAD", "BLOCK", "0", "STREAMS", "s", "$");
        Run("XREAD", "BLOCK", "0", "STREAMS", "s", "0-0");
        Assert.Equal(Array(NilArray, Array(Array(Bulk("s"), Array(Entry("1-0", "f", "v"))))), Run("EXEC"));
        _h.Protocol = RespVersion.Resp3;
        Assert.Equal("_\r\n", Run("XREAD", "BLOCK", "0", "STREAMS", "s", "$"));
        Assert.Equal("%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", Run("XREAD", "STREAMS", "s", "0"));
    }

    [Fact]
    public void CopyIsDeepAndStreamsSurviveEmptying()
    {
        Run("XADD", "s", "1", "f", "v");
        Run("XGROUP", "CREATE", "s", "g", "0");
        Run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">");
        Assert.Equal(Int(1), Run("COPY", "s", "s2"));
        Assert.Equal(Int(1), Run("XACK", "s", "g", "1"));
        Assert.Equal(Array(Int(1), Bulk("1-0"), Bulk("1-0"), Array(BulkArray("c", "1"))), Run("XPENDING", "s2", "g"));
        Assert.Equal(Int(1), Run("XDEL", "s", "1"));
        Assert.Equal(Int(1), Run("EXISTS", "s"));
        Assert.Equal(Int(0), Run("XLEN", "s"));
        Assert.Equal(Int(1), Run("XLEN", "s2"));
        Assert.Equal("+stream\r\n", Run("TYPE", "s2"));
    }

    [Fact]
    public void ApproximateTrimRemovesWholeNodes()
    {
        for (int i = 1; i <= 250; i++) Run("XADD", "s", i.ToString(), "f", "v");
        Assert.Equal(Int(0), Run("XTRIM", "s", "MAXLEN", "~", "190"));
        Assert.Equal(Int(100), Run("XTRIM", "s", "MAXLEN", "~", "120"));
        Assert.Equal(Int(150), Run("XLEN", "s"));
        Assert.Equal(Int(0), Run("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "10"));
        Assert.Equal(Int(100), Run("XTRIM", "s", "MINID", "~", "250"));
        Assert.Equal(Int(49), Run("XTRIM", "s", "MINID", "250"));
        Assert.Equal(Array(Entry("250-0", "f", "v")), Run("XRANGE", "s", "-", "+"));
        Assert.Equal(Array(Entry("250-0", "f", "v")), Run("XREVRANGE", "s", "+", "-", "COUNT", "5"));
    }

    [Fact]
    public void LargeRangesAcrossNodes()
    {
        for (int i = 1; i <= 1000; i++) Run("XADD", "s", $"{i}-{i % 3}", "f", i.ToString());
        for (int i = 2; i <= 1000; i += 2) Run("XDEL", "s", $"{i}-{i % 3}");
        Assert.Equal(Int(500), Run("XLEN", "s"));
        string r = Run("XRANGE", "s", "(299", "+", "COUNT", "3");
        Assert.Equal(Array(Entry("299-2", "f", "299"), Entry("301-1", "f", "301"), Entry("303-0", "f", "303")), r);
        Assert.Equal(Array(Entry("999-0", "f", "999"), Entry("997-1", "f", "997")), Run("XREVRANGE", "s", "+", "-", "COUNT", "2"));
        Assert.Equal(Array(Entry("501-0", "f", "501")), Run("XREVRANGE", "s", "502", "500-3"));
        Assert.Equal(Array(Entry("1-1", "f", "1")), Run("XRANGE", "s", "-", "1"));
    }

    [Fact]
    public void XAddHotPathAllocatesOnlyTheEntry()
    {
        var request = EncodeRequest("XADD", "bench", "*", "myfield", "value");
        var scanner = new RespRequestScanner();
        var args = new RespArgs(16);
        Assert.Equal(RespScanStatus.Complete, scanner.TryScan(request, args, out int consumed, out _));
        var reply = new ReplyBuffer(_h.LibOS);
        void RunOnce()
        {
            var context = new CommandContext(request, args, _h.Client, _h.Server, reply) { FrameLength = consumed };
            _h.Server.Commands.Execute(ref context);
            if (reply.Length > 4096) reply.Discard();
        }
        for (int i = 0; i < 2000; i++) RunOnce();
        const int N = 10_000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < N; i++) RunOnce();
        long perOp = (GC.GetAllocatedBytesForCurrentThread() - before) / N;
        reply.Discard();
        // The entry array (~48 bytes) plus its share of the node arrays.
        Assert.True(perOp <= 90, $"{perOp} bytes per XADD");
    }

    // ---------------------------------------------------------------- blocking through a real session

    [Fact]
    public void BlockingReadsThroughASession()
    {
        using var server = new SessionServer();
        using var reader = server.Connect();
        using var writer = server.Connect();
        Assert.Equal(Bulk("1-0"), writer.Call("XADD", "s", "1", "f", "old"));

        // "$" means after the last ID at the time of the call, even after the re-run.
        reader.Send("XREAD", "BLOCK", "0", "STREAMS", "s", "$");
        Thread.Sleep(100);
        Assert.Equal(Bulk("2-0"), writer.Call("XADD", "s", "2", "f", "new"));
        Assert.Equal(Array(Array(Bulk("s"), Array(Entry("2-0", "f", "new")))), reader.Receive());

        // A timeout answers nil; the next identical call resolves "$" again.
        Assert.Equal(NilArray, reader.Call("XREAD", "BLOCK", "50", "STREAMS", "s", "$"));
        reader.Send("XREAD", "BLOCK", "5000", "STREAMS", "s", "$");
        Thread.Sleep(100);
        writer.Call("XADD", "s", "3", "f", "newer");
        Assert.Equal(Array(Array(Bulk("s"), Array(Entry("3-0", "f", "newer")))), reader.Receive());

        // Consumer groups: blocked on ">", served by XADD; destroyed group wakes with NOGROUP.
        writer.Call("XGROUP", "CREATE", "s", "g", "$");
        reader.Send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">");
        Thread.Sleep(100);
        writer.Call("XADD", "s", "4", "f", "grp");
        Assert.Equal(Array(Array(Bulk("s"), Array(Entry("4-0", "f", "grp")))), reader.Receive());
        Assert.Equal(Array(Int(1), Bulk("4-0"), Bulk("4-0"), Array(BulkArray("c", "1"))), writer.Call("XPENDING", "s", "g"));
        reader.Send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">");
        Thread.Sleep(100);
        Assert.Equal(Int(1), writer.Call("XGROUP", "DESTROY", "s", "g"));
        Assert.Equal(Err("NOGROUP the consumer group this client was blocked on no longer exists"), reader.Receive());
        Assert.Equal("+PONG\r\n", reader.Call("PING"));
    }

    /// <summary>A <see cref="RedisServer"/> on catnap on its own thread (reached over TCP only).</summary>
    private sealed class SessionServer : IDisposable
    {
        private readonly Thread _thread;
        private RedisServer? _server;

        public SessionServer()
        {
            var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _thread = new Thread(() =>
            {
                var libos = Demikernel.LibOS.Create("catnap");
                try
                {
                    _server = new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" });
                    int rc = _server.Start();
                    if (rc != 0)
                    {
                        started.SetException(new InvalidOperationException($"start failed: {rc}"));
                        return;
                    }
                    started.SetResult(_server.ListenEndpoint.Port);
                    _server.Run();
                }
                catch (Exception e)
                {
                    started.TrySetException(e);
                }
                finally
                {
                    libos.Dispose();
                }
            }) { IsBackground = true };
            _thread.Start();
            Port = started.Task.Result;
        }

        public int Port { get; }

        public RawClient Connect() => new(StreamCommandTests.Connect(Port));

        public void Dispose()
        {
            _server?.RequestStop();
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }

    private sealed class RawClient(TcpClient client) : IDisposable
    {
        private readonly NetworkStream _stream = client.GetStream();

        public void Send(params string[] command) => _stream.Write(EncodeRequest(command));

        public string Call(params string[] command)
        {
            Send(command);
            return Receive();
        }

        /// <summary>Reads one complete RESP reply.</summary>
        public string Receive()
        {
            client.ReceiveTimeout = 5000;
            var sb = new StringBuilder();
            ReadValue(sb);
            return sb.ToString();
        }

        private void ReadValue(StringBuilder sb)
        {
            string line = ReadLine();
            sb.Append(line).Append("\r\n");
            char type = line[0];
            if (type is '$' && line != "$-1")
            {
                int n = int.Parse(line[1..]);
                var buf = new byte[n + 2];
                int read = 0;
                while (read < buf.Length) read += _stream.Read(buf, read, buf.Length - read);
                sb.Append(Encoding.UTF8.GetString(buf));
            }
            else if (type is '*' or '%' && line != "*-1")
            {
                int n = int.Parse(line[1..]) * (type == '%' ? 2 : 1);
                for (int i = 0; i < n; i++) ReadValue(sb);
            }
        }

        private string ReadLine()
        {
            var sb = new StringBuilder();
            while (true)
            {
                int b = _stream.ReadByte();
                if (b < 0) throw new IOException("connection closed");
                if (b == '\n' && sb.Length > 0 && sb[^1] == '\r') return sb.ToString(0, sb.Length - 1);
                sb.Append((char)b);
            }
        }

        public void Dispose() => client.Dispose();
    }

    // ---------------------------------------------------------------- plumbing

    private static TcpClient Connect(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return c;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }
}
