using Demikernel.Resp;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Tests;

/// <summary>
/// Issue 14's CPU list (GET, SET, INCR, LPUSH, LPOP, HSET, HGET, SADD, ZADD, ZSCORE) allocates nothing per request in
/// steady state: each request runs through the real scanner and dispatcher against keys that already exist, with 16 B
/// and 1 KB values, as the comparison harness (bench/compare.sh) drives them. A list is kept at a constant length by
/// pairing LPUSH with LPOP (one push alone grows the list, which allocates its storage, as redis-server's does).
/// </summary>
public sealed class RequestAllocationTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public RequestAllocationTests()
    {
        // A slow call (a descheduled thread on a busy machine) is copied into the slow log, which allocates by design.
        _h.Run("CONFIG", "SET", "slowlog-log-slower-than", "-1");
        for (int i = 0; i < 100; i++)
        {
            string n = i.ToString("D12");
            _h.Run("SET", $"key:{n}", new string('v', 16));
            _h.Run("SET", $"big:{n}", new string('v', 1024));
            _h.Run("SET", $"counter:{n}", "1");
            _h.Run("RPUSH", $"list:{n}", "a", "b", "c");
            _h.Run("HSET", $"hash:{n}", "f1", "a", "f2", "b");
            _h.Run("SADD", $"set:{n}", "m1", "m2");
            _h.Run("ZADD", $"zset:{n}", "1", "m1", "2", "m2");
        }
        // Large encodings (hashtable, skiplist, quicklist over many nodes) as well as the small ones.
        for (int i = 0; i < 300; i++)
        {
            _h.Run("HSET", "hash:large", $"field:{i:D4}", new string('x', 16));
            _h.Run("SADD", "set:large", $"member:{i:D4}");
            _h.Run("ZADD", "zset:large", $"{i}", $"member:{i:D4}");
            _h.Run("RPUSH", "list:large", new string('x', 16));
        }
    }

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData("GET", "key:000000000042")]
    [InlineData("GET", "big:000000000042")]
    [InlineData("SET", "key:000000000042", "0123456789abcdef")]
    [InlineData("SET", "big:000000000042", "1k")]
    [InlineData("INCR", "counter:000000000042")]
    [InlineData("HSET", "hash:000000000042", "f1", "0123456789abcdef")]
    [InlineData("HSET", "hash:large", "field:0042", "0123456789abcdef")]
    [InlineData("HGET", "hash:000000000042", "f2")]
    [InlineData("HGET", "hash:large", "field:0042")]
    [InlineData("SADD", "set:000000000042", "m1")]
    [InlineData("SADD", "set:large", "member:0042")]
    [InlineData("ZADD", "zset:000000000042", "7", "m1")]
    [InlineData("ZADD", "zset:large", "4.5", "member:0042")]
    [InlineData("ZSCORE", "zset:000000000042", "m2")]
    [InlineData("ZSCORE", "zset:large", "member:0042")]
    [InlineData("LPUSH", "list:000000000042", "0123456789abcdef", "|", "LPOP", "list:000000000042")]
    [InlineData("LPUSH", "list:large", "0123456789abcdef", "|", "LPOP", "list:large")]
    public void RequestAllocatesNothing(params string[] commands)
    {
        // "1k" stands for a 1 KB value; "|" separates pipelined requests that run together as one step.
        var parts = new List<byte[]>();
        var current = new List<string>();
        foreach (var word in commands.Append("|"))
        {
            if (word != "|") { current.Add(word == "1k" ? new string('w', 1024) : word); continue; }
            parts.Add(CommandHarness.EncodeRequest([.. current]));
            current.Clear();
        }
        var scanner = new RespRequestScanner();
        var args = new RespArgs(16);
        var reply = new ReplyBuffer(_h.LibOS);
        void RunOnce()
        {
            foreach (var request in parts)
            {
                scanner.TryScan(request, args, out _, out _);
                var context = new CommandContext(request, args, _h.Client, _h.Server, reply);
                _h.Server.Commands.Execute(ref context);
            }
            _h.LibOS.SgaFree(reply.Take());
        }
        // The requests must succeed (an error reply would measure the error path).
        var replies = System.Text.Encoding.ASCII.GetString(_h.ExecuteRequest(parts.SelectMany(p => p).ToArray()));
        Assert.False(replies.StartsWith('-') || replies.Contains("\r\n-"), replies);
        Assert.Equal(0, AllocationGate.SteadyStateBytes(RunOnce));
    }

    [Fact]
    public void RecycledListElementsKeepTheirValues()
    {
        _h.Run("RPUSH", "l", "aa", "bb", "cc");
        Assert.Equal("$2\r\naa\r\n", _h.Run("LPOP", "l"));
        Assert.Equal("*2\r\n$2\r\ncc\r\n$2\r\nbb\r\n", _h.Run("RPOP", "l", "2")); // the list is gone; three arrays are free
        _h.Run("LPUSH", "l", "xx", "yy");
        _h.Run("RPUSH", "m", "zz");
        Assert.Equal("*2\r\n$2\r\nyy\r\n$2\r\nxx\r\n", _h.Run("LRANGE", "l", "0", "-1"));
        Assert.Equal("*1\r\n$2\r\nzz\r\n", _h.Run("LRANGE", "m", "0", "-1"));
        Assert.Equal("$2\r\nyy\r\n", _h.Run("LMOVE", "l", "m", "LEFT", "RIGHT")); // a moved element is not recycled
        _h.Run("LPUSH", "l", "qq");
        Assert.Equal("*2\r\n$2\r\nzz\r\n$2\r\nyy\r\n", _h.Run("LRANGE", "m", "0", "-1"));
    }
}
