using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Demikernel.Server.Diagnostics;

namespace Demikernel.Server.Tests;

/// <summary>
/// DEBUG QUICKLIST-PACKED-THRESHOLD, LISTPACK and STRINGMATCH-TEST against redis-server 7.0.15: replies and errors,
/// DUMP of lists with plain nodes byte for byte, and LISTPACK's lpRepr text against what redis-server prints on stdout.
/// </summary>
public sealed partial class DebugEncodingTests
{
    private static readonly string[][] Script =
    [
        ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "-1"],
        ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "4294967296"],
        ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "4293918720"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"],
        ["DEBUG", "QUICKLIST-PACKED-THRESHOLD"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1kb"],
        ["CONFIG", "SET", "rdbcompression", "no"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"],
        ["RPUSH", "l", "a", new string('x', 150), "b", "c", new string('y', 100), new string('z', 99), new string('w', 300)],
        ["DUMP", "l"], ["LRANGE", "l", "0", "-1"], ["RPUSH", "l2", new string('q', 120)], ["DUMP", "l2"],
        ["DEBUG", "RELOAD"], ["LRANGE", "l", "0", "-1"], ["DUMP", "l"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"],
        ["DEBUG", "LISTPACK", "nokey"], ["DEBUG", "LISTPACK", "l"], ["SADD", "s", "1"], ["DEBUG", "LISTPACK", "s"],
        ["HSET", "h", "a", "1"], ["DEBUG", "LISTPACK", "h"], ["DEBUG", "LISTPACK"], ["DEBUG", "LISTPACK", "h", "x"],
        ["DEBUG", "STRINGMATCH-TEST", "x"],
    ];

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RepliesAsRedisServer(int protocol) => ReferenceRedis.AssertSameRepliesWithDebug(Script, protocol);

    /// <summary>lpRepr's text for hashes and sorted sets of every element encoding, against redis-server's stdout
    /// (addresses aside: ours are offsets).</summary>
    [Fact]
    public void ListpackTextAsRedisServer()
    {
        string[][] writes =
        [
            ["HSET", "h", "a", "1", "bb", "-5000", "ccc", new string('x', 60), "d", "3000000000", "e", "200", "f", "-100000", "g", "-9000000000",
                "h", "127", "i", "-4096", "j", "4095", "k", "8388607", "l", "-8388608", "m", "007", "n", "-0", "o", ""],
            ["ZADD", "z", "1.5", "m", "2", "n", "-3", "o", "1e300", "p", "inf", "q"],
        ];
        string redisOut = RedisStdout(writes, ["h", "z"]);
        using var h = new CommandHarness();
        foreach (var w in writes) h.Run(w);
        string ours = DebugEncodingCommands.ReprOf(h.Server.Databases[0].Find("h"u8)!) + DebugEncodingCommands.ReprOf(h.Server.Databases[0].Find("z"u8)!);
        Assert.Equal(Addresses().Replace(redisOut, "addr: A"), Addresses().Replace(ours, "addr: A"));
    }

    [GeneratedRegex("addr: 0x[0-9a-f]+")]
    private static partial Regex Addresses();

    /// <summary>Runs the writes and DEBUG LISTPACK of each key on a redis-server whose stdout is a file (redis's printf
    /// is flushed when it exits), then returns the printed listpacks.</summary>
    private static string RedisStdout(string[][] writes, string[] keys)
    {
        using var process = ReferenceRedis.StartProcess(["--save", "", "--appendonly", "no", "--enable-debug-command", "yes"], out int port); // its output is read line by line (below)
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (output) output.Append(e.Data).Append('\n');
        };
        try
        {
            using var client = ConnectWithRetry(port);
            var stream = client.GetStream();
            foreach (var w in writes) Send(stream, w);
            foreach (var key in keys) Assert.Equal("+Listpack structure printed on stdout\r\n", Send(stream, ["DEBUG", "LISTPACK", key]));
            Send(stream, ["SHUTDOWN", "NOSAVE"], expectReply: false);
            Assert.True(process.WaitForExit(10_000));
            process.WaitForExit(); // the output events are drained
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
        string text = output.ToString();
        int start = text.IndexOf("{total bytes", StringComparison.Ordinal);
        int end = text.LastIndexOf("{end}\n\n", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "redis-server printed no listpack: " + text);
        return text[start..(end + "{end}\n\n".Length)];
    }

    private static TcpClient ConnectWithRetry(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var client = new TcpClient { ReceiveTimeout = 10_000 };
            try
            {
                client.Connect(IPAddress.Loopback, port);
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                Thread.Sleep(50); // redis-server starting: a real process, nothing to inject
            }
        }
    }

    private static string Send(NetworkStream stream, string[] command, bool expectReply = true)
    {
        stream.Write(CommandHarness.EncodeRequest(command));
        if (!expectReply) return "";
        var buffer = new byte[4096];
        int n = stream.Read(buffer); // one short reply each
        return Encoding.Latin1.GetString(buffer, 0, n);
    }

    /// <summary>SET-SKIP-CHECKSUM-VALIDATION lets RESTORE take a payload with a wrong CRC64 (its version still
    /// checked); SET-DISABLE-DENY-SCRIPTS lets a script call a noscript command; both as redis-server.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void TestSwitchesAsRedisServer(int protocol)
    {
        using var redis = ReferenceRedis.TryStart("--enable-debug-command yes");
        using var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        redis.Run("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
        h.Protocol = protocol == 3 ? Demikernel.Resp.RespVersion.Resp3 : Demikernel.Resp.RespVersion.Resp2;
        redis.Run("SET", "k", "value");
        byte[] dump = redis.Execute(Encoding.UTF8.GetBytes("DUMP"), Encoding.UTF8.GetBytes("k"));
        byte[] payload = dump[(Array.IndexOf(dump, (byte)'\n') + 1)..^2];
        byte[] badCrc = [.. payload];
        badCrc[^1] ^= 0x55;
        byte[] badVersion = [.. payload];
        badVersion[^10] = 0xFF;
        byte[][][] script =
        [
            [B("RESTORE"), B("a"), B("0"), badCrc], [B("DEBUG"), B("SET-SKIP-CHECKSUM-VALIDATION"), B("1")],
            [B("RESTORE"), B("a"), B("0"), badCrc], [B("GET"), B("a")], [B("RESTORE"), B("b"), B("0"), badVersion],
            [B("DEBUG"), B("SET-SKIP-CHECKSUM-VALIDATION"), B("0x")], [B("RESTORE"), B("c"), B("0"), badCrc],
            [B("EVAL"), B("return redis.call('multi')"), B("0")], [B("DEBUG"), B("SET-DISABLE-DENY-SCRIPTS"), B("1")],
            [B("EVAL"), B("return redis.pcall('shutdown', 'nosave', 'abort')"), B("0")], [B("EVAL"), B("return redis.call('role')[1]"), B("0")],
            [B("DEBUG"), B("SET-DISABLE-DENY-SCRIPTS"), B("0")], [B("EVAL"), B("return redis.call('role')[1]"), B("0")],
            [B("DEBUG"), B("SET-SKIP-CHECKSUM-VALIDATION")],
        ];
        var mismatches = new List<string>();
        foreach (var command in script)
        {
            string expected = ReferenceRedis.Latin1(redis.Execute(command)), actual = ReferenceRedis.Latin1(h.Execute(command));
            if (expected != actual) mismatches.Add($"{Encoding.Latin1.GetString(command[0])} {Encoding.Latin1.GetString(command[1])}\n  redis: {ReferenceRedis.Escape(expected)}\n  ours:  {ReferenceRedis.Escape(actual)}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>redis's fuzz of its glob matcher, on ours: it runs (about 2 s of random patterns) and passes.</summary>
    [Fact]
    public void StringMatchTestRuns()
    {
        using var h = new CommandHarness();
        h.Server.Config.LoadDirective("enable-debug-command", ["yes"], out _);
        var watch = Stopwatch.StartNew();
        Assert.Equal("+Apparently Redis did not crash: test passed\r\n", h.Run("DEBUG", "STRINGMATCH-TEST"));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60));
    }
}
