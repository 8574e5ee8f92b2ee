using Demikernel.Resp;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>String commands through the real dispatcher; expected replies checked against redis-server 7.0.</summary>
public sealed class StringCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void GetSet()
    {
        Assert.Equal(Nil, Run("GET", "k"));
        Assert.Equal(Ok, Run("SET", "k", "hello"));
        Assert.Equal(Bulk("hello"), Run("GET", "k"));
        Assert.Equal(Ok, Run("set", "k", ""));
        Assert.Equal("$0\r\n\r\n", Run("GET", "k"));
        Assert.Equal(Err("ERR wrong number of arguments for 'get' command"), Run("GET"));
        Assert.Equal(Err("ERR wrong number of arguments for 'set' command"), Run("SET", "k"));
    }

    [Fact]
    public void BinarySafeKeysAndValues()
    {
        byte[] key = [0, 1, 2, 255, (byte)'\r', (byte)'\n'];
        byte[] value = [(byte)'\r', (byte)'\n', 0, 200];
        Assert.Equal(Ok, System.Text.Encoding.ASCII.GetString(_h.Execute("SET"u8.ToArray(), key, value)));
        Assert.Equal([.. "$4\r\n"u8, .. value, .. "\r\n"u8], _h.Execute("GET"u8.ToArray(), key));
    }

    [Fact]
    public void GetCountsHitsAndMisses()
    {
        Run("SET", "k", "v");
        Run("GET", "k");
        Run("GET", "nope");
        Run("MGET", "k", "nope", "k");
        Assert.Equal(3, _h.Server.Stats.KeyspaceHits);
        Assert.Equal(2, _h.Server.Stats.KeyspaceMisses);
        Run("SET", "k", "w"); // writes do not count
        Run("INCR", "n");
        Assert.Equal(3, _h.Server.Stats.KeyspaceHits);
        Assert.Equal(2, _h.Server.Stats.KeyspaceMisses);
    }

    [Fact]
    public void WrongType()
    {
        _h.Db.SetObject("l"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        const string wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        Assert.Equal(wrong, Run("GET", "l"));
        Assert.Equal(wrong, Run("GETSET", "l", "v"));
        Assert.Equal(wrong, Run("GETDEL", "l"));
        Assert.Equal(wrong, Run("GETEX", "l", "EX", "10"));
        Assert.Equal(wrong, Run("APPEND", "l", "x"));
        Assert.Equal(wrong, Run("STRLEN", "l"));
        Assert.Equal(wrong, Run("INCR", "l"));
        Assert.Equal(wrong, Run("DECRBY", "l", "3"));
        Assert.Equal(wrong, Run("INCRBYFLOAT", "l", "1.5"));
        Assert.Equal(wrong, Run("INCRBYFLOAT", "l", "abc")); // type is checked before the increment is parsed
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("INCRBY", "l", "abc"));
        Assert.Equal(wrong, Run("GETRANGE", "l", "0", "1"));
        Assert.Equal(wrong, Run("SETRANGE", "l", "0", "x"));
        Assert.Equal(wrong, Run("SET", "l", "v", "GET"));
        Assert.Equal("*1\r\n$-1\r\n", Run("MGET", "l"));
        // SET overwrites any type
        Assert.Equal(Ok, Run("SET", "l", "v"));
        Assert.Equal(Bulk("v"), Run("GET", "l"));
    }

    [Fact]
    public void SetNxXxGet()
    {
        Assert.Equal(Nil, Run("SET", "k", "v", "XX"));
        Assert.Equal(Nil, Run("GET", "k"));
        Assert.Equal(Ok, Run("SET", "k", "v", "NX"));
        Assert.Equal(Nil, Run("SET", "k", "w", "nx"));
        Assert.Equal(Ok, Run("SET", "k", "w", "XX"));
        Assert.Equal(Bulk("w"), Run("SET", "k", "x", "GET"));
        Assert.Equal(Bulk("x"), Run("SET", "k", "y", "NX", "GET")); // NX failed: old value, nothing set
        Assert.Equal(Bulk("x"), Run("GET", "k"));
        Assert.Equal(Nil, Run("SET", "new", "v", "XX", "GET"));
        Assert.Equal(Nil, Run("GET", "new"));
        Assert.Equal(Nil, Run("SET", "new", "v", "GET"));
        Assert.Equal(Bulk("v"), Run("GET", "new"));
    }

    [Fact]
    public void SetSyntaxErrors()
    {
        string syntax = Err("ERR syntax error");
        Assert.Equal(syntax, Run("SET", "k", "v", "NX", "XX"));
        Assert.Equal(syntax, Run("SET", "k", "v", "XX", "NX"));
        Assert.Equal(syntax, Run("SET", "k", "v", "EX", "10", "PX", "10"));
        Assert.Equal(syntax, Run("SET", "k", "v", "PXAT", "10", "EXAT", "10"));
        Assert.Equal(syntax, Run("SET", "k", "v", "KEEPTTL", "EX", "10"));
        Assert.Equal(syntax, Run("SET", "k", "v", "EX", "10", "KEEPTTL"));
        Assert.Equal(syntax, Run("SET", "k", "v", "EX"));
        Assert.Equal(syntax, Run("SET", "k", "v", "PERSIST"));
        Assert.Equal(syntax, Run("SET", "k", "v", "FOO"));
        Assert.Equal(syntax, Run("SET", "k", "v", "NXX"));
        Assert.Equal(Nil, Run("GET", "k"));
        Assert.Equal(Ok, Run("SET", "k", "v", "EX", "10", "EX", "20")); // same option twice: last wins
        Assert.Equal(Int(20), Run("TTL", "k"));
        Assert.Equal(Bulk("v"), Run("SET", "k", "w", "NX", "NX", "GET", "GET", "KEEPTTL")); // repeats are fine
        Assert.Equal(Bulk("v"), Run("GET", "k"));
    }

    [Fact]
    public void SetExpireOptions()
    {
        long now = _h.NowMs;
        Assert.Equal(Ok, Run("SET", "k", "v", "EX", "100"));
        Assert.Equal(Int(100_000), Run("PTTL", "k"));
        Assert.Equal(Ok, Run("SET", "k", "v", "PX", "1500"));
        Assert.Equal(Int(1500), Run("PTTL", "k"));
        Assert.Equal(Int(2), Run("TTL", "k")); // rounded
        Assert.Equal(Ok, Run("SET", "k", "v", "EXAT", ((now / 1000) + 50).ToString()));
        Assert.Equal(Int(((now / 1000) + 50) * 1000), Run("PEXPIRETIME", "k"));
        Assert.Equal(Ok, Run("SET", "k", "v", "PXAT", (now + 777).ToString()));
        Assert.Equal(Int(now + 777), Run("PEXPIRETIME", "k"));
        Assert.Equal(Ok, Run("SET", "k", "w", "KEEPTTL"));
        Assert.Equal(Int(777), Run("PTTL", "k"));
        Assert.Equal(Ok, Run("SET", "k", "x"));
        Assert.Equal(Int(-1), Run("PTTL", "k"));
        // a deadline in the past sets the key, which is then gone on the next access
        Assert.Equal(Ok, Run("SET", "k", "v", "PXAT", "1"));
        Assert.Equal(1, _h.Db.Count);
        Assert.Equal(Nil, Run("GET", "k"));
        Assert.Equal(0, _h.Db.Count);
        Assert.Equal(1, _h.Server.Stats.ExpiredKeys);
    }

    [Fact]
    public void SetInvalidExpireTimes()
    {
        Assert.Equal(Err("ERR invalid expire time in 'set' command"), Run("SET", "k", "v", "EX", "0"));
        Assert.Equal(Err("ERR invalid expire time in 'set' command"), Run("SET", "k", "v", "EX", "-1"));
        Assert.Equal(Err("ERR invalid expire time in 'set' command"), Run("SET", "k", "v", "PX", "9223372036854775807"));
        Assert.Equal(Err("ERR invalid expire time in 'set' command"), Run("SET", "k", "v", "EX", "9223372036854775"));
        Assert.Equal(Err("ERR invalid expire time in 'set' command"), Run("SET", "k", "v", "PXAT", "0"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SET", "k", "v", "EX", "abc"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SET", "k", "v", "EX", "1.5"));
        Assert.Equal(Err("ERR invalid expire time in 'setex' command"), Run("SETEX", "k", "0", "v"));
        Assert.Equal(Err("ERR invalid expire time in 'psetex' command"), Run("PSETEX", "k", "-5", "v"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SETEX", "k", "abc", "v"));
        Assert.Equal(Nil, Run("GET", "k"));
    }

    [Fact]
    public void SetNxSetExPSetEx()
    {
        Assert.Equal(Int(1), Run("SETNX", "k", "a"));
        Assert.Equal(Int(0), Run("SETNX", "k", "b"));
        Assert.Equal(Bulk("a"), Run("GET", "k"));
        Assert.Equal(Ok, Run("SETEX", "k", "10", "c"));
        Assert.Equal(Int(10), Run("TTL", "k"));
        Assert.Equal(Bulk("c"), Run("GET", "k"));
        Assert.Equal(Ok, Run("PSETEX", "k", "2500", "d"));
        Assert.Equal(Int(2500), Run("PTTL", "k"));
        _h.AdvanceMs(2501);
        Assert.Equal(Nil, Run("GET", "k"));
    }

    [Fact]
    public void GetSetGetDel()
    {
        Assert.Equal(Nil, Run("GETSET", "k", "a"));
        Run("EXPIRE", "k", "100");
        Assert.Equal(Bulk("a"), Run("GETSET", "k", "b"));
        Assert.Equal(Int(-1), Run("TTL", "k")); // GETSET removes the TTL
        Assert.Equal(Bulk("b"), Run("GETDEL", "k"));
        Assert.Equal(Nil, Run("GETDEL", "k"));
        Assert.Equal(Int(0), Run("EXISTS", "k"));
    }

    [Fact]
    public void GetEx()
    {
        Assert.Equal(Nil, Run("GETEX", "k"));
        Assert.Equal(Nil, Run("GETEX", "missing", "EX", "-1")); // the key is looked up before the time is checked
        Run("SET", "k", "v");
        Assert.Equal(Bulk("v"), Run("GETEX", "k"));
        Assert.Equal(Int(-1), Run("TTL", "k"));
        Assert.Equal(Bulk("v"), Run("GETEX", "k", "EX", "100"));
        Assert.Equal(Int(100), Run("TTL", "k"));
        Assert.Equal(Bulk("v"), Run("GETEX", "k", "PX", "5000"));
        Assert.Equal(Int(5000), Run("PTTL", "k"));
        Assert.Equal(Bulk("v"), Run("GETEX", "k", "PERSIST"));
        Assert.Equal(Int(-1), Run("TTL", "k"));
        long at = (_h.NowMs / 1000) + 30;
        Assert.Equal(Bulk("v"), Run("GETEX", "k", "EXAT", at.ToString()));
        Assert.Equal(Int(at), Run("EXPIRETIME", "k"));
        Assert.Equal(Bulk("v"), Run("GETEX", "k", "PXAT", (_h.NowMs + 1234).ToString()));
        Assert.Equal(Int(1234), Run("PTTL", "k"));
        Assert.Equal(Bulk("v"), Run("GETEX", "k", "PXAT", "1")); // in the past: replies, then deletes
        Assert.Equal(Int(0), Run("EXISTS", "k"));
        Run("SET", "k", "v");
        Assert.Equal(Err("ERR syntax error"), Run("GETEX", "k", "PERSIST", "EX", "10"));
        Assert.Equal(Err("ERR syntax error"), Run("GETEX", "k", "EX", "10", "PERSIST"));
        Assert.Equal(Err("ERR syntax error"), Run("GETEX", "k", "NX"));
        Assert.Equal(Err("ERR syntax error"), Run("GETEX", "k", "KEEPTTL"));
        Assert.Equal(Err("ERR syntax error"), Run("GETEX", "k", "EX"));
        Assert.Equal(Err("ERR invalid expire time in 'getex' command"), Run("GETEX", "k", "EX", "-1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("GETEX", "k", "PX", "x"));
    }

    [Fact]
    public void MGetMSetMSetNx()
    {
        Assert.Equal(Ok, Run("MSET", "a", "1", "b", "2"));
        Assert.Equal(Array(Bulk("1"), Bulk("2"), Nil), Run("MGET", "a", "b", "c"));
        Assert.Equal(Err("ERR wrong number of arguments for 'mset' command"), Run("MSET", "a", "1", "b"));
        Assert.Equal(Err("ERR wrong number of arguments for 'mset' command"), Run("MSET", "a"));
        Assert.Equal(Err("ERR wrong number of arguments for 'msetnx' command"), Run("MSETNX", "a", "1", "b"));
        Assert.Equal(Int(0), Run("MSETNX", "c", "3", "a", "9"));
        Assert.Equal(Nil, Run("GET", "c"));
        Assert.Equal(Int(1), Run("MSETNX", "c", "3", "d", "4"));
        Assert.Equal(Array(Bulk("1"), Bulk("2"), Bulk("3"), Bulk("4")), Run("MGET", "a", "b", "c", "d"));
        Run("EXPIRE", "a", "100");
        Run("MSET", "a", "x");
        Assert.Equal(Int(-1), Run("TTL", "a"));
    }

    [Fact]
    public void MGetInResp3UsesNull()
    {
        _h.Protocol = RespVersion.Resp3;
        Run("SET", "a", "1");
        Assert.Equal("*2\r\n$1\r\n1\r\n_\r\n", Run("MGET", "a", "b"));
        Assert.Equal("_\r\n", Run("GET", "b"));
    }

    [Fact]
    public void AppendAndStrLen()
    {
        Assert.Equal(Int(0), Run("STRLEN", "k"));
        Assert.Equal(Int(5), Run("APPEND", "k", "hello"));
        Assert.Equal(Int(11), Run("APPEND", "k", " world"));
        Assert.Equal(Bulk("hello world"), Run("GET", "k"));
        Assert.Equal(Int(11), Run("STRLEN", "k"));
        Run("SETEX", "t", "100", "a");
        Run("APPEND", "t", "b");
        Assert.Equal(Int(100), Run("TTL", "t")); // APPEND keeps the TTL
    }

    [Fact]
    public void AppendAndSetRangeObeyProtoMaxBulkLen()
    {
        using var h = new CommandHarness(new ServerOptions { ProtoMaxBulkLen = 1024 * 1024 });
        string tooLong = Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        Assert.Equal(Int(1024 * 1024), h.Run("SETRANGE", "k", (1024 * 1024 - 1).ToString(), "x"));
        Assert.Equal(tooLong, h.Run("APPEND", "k", "y"));
        Assert.Equal(tooLong, h.Run("SETRANGE", "k", (1024 * 1024).ToString(), "x"));
        Assert.Equal(tooLong, h.Run("SETRANGE", "new", "1048576", "x"));
        Assert.Equal(Int(0), h.Run("SETRANGE", "new", "1048576", ""));
        Assert.Equal(Int(0), h.Run("EXISTS", "new"));
    }

    [Fact]
    public void SetRangeAndGetRange()
    {
        Run("SET", "k", "Hello World");
        Assert.Equal(Int(11), Run("SETRANGE", "k", "6", "Redis"));
        Assert.Equal(Bulk("Hello Redis"), Run("GET", "k"));
        Assert.Equal(Int(7), Run("SETRANGE", "k2", "4", "abc"));
        Assert.Equal("$7\r\n\0\0\0\0abc\r\n", Run("GET", "k2"));
        Assert.Equal(Int(11), Run("SETRANGE", "k", "0", ""));
        Assert.Equal(Err("ERR offset is out of range"), Run("SETRANGE", "k", "-1", "x"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SETRANGE", "k", "x", "x"));
        Assert.Equal(Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), Run("SETRANGE", "k", "536870911", "xx"));

        Run("SET", "s", "This is a string");
        Assert.Equal(Bulk("This"), Run("GETRANGE", "s", "0", "3"));
        Assert.Equal(Bulk("ing"), Run("GETRANGE", "s", "-3", "-1"));
        Assert.Equal(Bulk("This is a string"), Run("GETRANGE", "s", "0", "-1"));
        Assert.Equal(Bulk("string"), Run("GETRANGE", "s", "10", "100"));
        Assert.Equal(Bulk("This is a string"), Run("GETRANGE", "s", "-100", "100"));
        Assert.Equal("$0\r\n\r\n", Run("GETRANGE", "s", "-1", "-5"));
        Assert.Equal("$0\r\n\r\n", Run("GETRANGE", "s", "5", "3"));
        Assert.Equal("$0\r\n\r\n", Run("GETRANGE", "s", "100", "200"));
        Assert.Equal(Bulk("T"), Run("GETRANGE", "s", "0", "-100"));
        Assert.Equal("$0\r\n\r\n", Run("GETRANGE", "missing", "0", "-1"));
        Assert.Equal(Bulk("is"), Run("SUBSTR", "s", "2", "3"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("GETRANGE", "s", "a", "1"));
        Run("SET", "empty", "");
        Assert.Equal("$0\r\n\r\n", Run("GETRANGE", "empty", "0", "-1"));
        Run("SET", "n", "12345");
        Assert.Equal(Bulk("234"), Run("GETRANGE", "n", "1", "3"));
    }

    [Fact]
    public void IncrDecr()
    {
        Assert.Equal(Int(1), Run("INCR", "n"));
        Assert.Equal(Int(11), Run("INCRBY", "n", "10"));
        Assert.Equal(Int(10), Run("DECR", "n"));
        Assert.Equal(Int(-90), Run("DECRBY", "n", "100"));
        Assert.Equal(Bulk("-90"), Run("GET", "n"));
        Run("SETEX", "t", "100", "5");
        Assert.Equal(Int(6), Run("INCR", "t"));
        Assert.Equal(Int(100), Run("TTL", "t")); // keeps the TTL
        Run("SET", "s", "abc");
        string notInt = Err("ERR value is not an integer or out of range");
        Assert.Equal(notInt, Run("INCR", "s"));
        Run("SET", "s", " 1");
        Assert.Equal(notInt, Run("INCR", "s"));
        Run("SET", "s", "01");
        Assert.Equal(notInt, Run("INCR", "s"));
        Run("SET", "s", "1.0");
        Assert.Equal(notInt, Run("INCR", "s"));
        Assert.Equal(notInt, Run("INCRBY", "n", "1.5"));
        Assert.Equal(notInt, Run("INCRBY", "n", "9223372036854775808"));
        Run("SET", "max", "9223372036854775807");
        Assert.Equal(Err("ERR increment or decrement would overflow"), Run("INCR", "max"));
        Run("SET", "min", "-9223372036854775808");
        Assert.Equal(Err("ERR increment or decrement would overflow"), Run("DECR", "min"));
        Assert.Equal(Err("ERR decrement would overflow"), Run("DECRBY", "min", "-9223372036854775808"));
        Assert.Equal(Int(-long.MaxValue), Run("DECRBY", "zero", "9223372036854775807"));
        Assert.Equal(Int(long.MinValue), Run("DECR", "zero"));
        Assert.Equal(Err("ERR increment or decrement would overflow"), Run("DECR", "zero"));
    }

    [Fact]
    public void IncrByFloat()
    {
        Run("SET", "f", "10.50");
        Assert.Equal(Bulk("10.6"), Run("INCRBYFLOAT", "f", "0.1"));
        Assert.Equal(Bulk("10.6"), Run("GET", "f"));
        Assert.Equal(Bulk("5"), Run("INCRBYFLOAT", "new", "5"));
        Assert.Equal(Bulk("3"), Run("INCRBYFLOAT", "new", "-2.0"));
        Assert.Equal(Bulk("3000"), Run("INCRBYFLOAT", "e", "3.0e3"));
        Assert.Equal(Bulk("0"), Run("INCRBYFLOAT", "e", "-3000"));
        Assert.Equal(Err("ERR value is not a valid float"), Run("INCRBYFLOAT", "f", "abc"));
        Assert.Equal(Err("ERR value is not a valid float"), Run("INCRBYFLOAT", "f", "nan"));
        Run("SET", "s", "abc");
        Assert.Equal(Err("ERR value is not a valid float"), Run("INCRBYFLOAT", "s", "1"));
        Run("SET", "big", "1e4932"); // long double: 2e308 is finite
        Assert.Equal(Err("ERR increment would produce NaN or Infinity"), Run("INCRBYFLOAT", "big", "1e4932"));
        Assert.Equal(Err("ERR increment would produce NaN or Infinity"), Run("INCRBYFLOAT", "big", "inf"));
        Run("PSETEX", "t", "9000", "1");
        Run("INCRBYFLOAT", "t", "1.5");
        Assert.Equal(Int(9000), Run("PTTL", "t"));
        Assert.Equal(Bulk("embstr"), Run("OBJECT", "ENCODING", "new"));
    }

    [Fact]
    public void Lcs()
    {
        Run("MSET", "s1", "ohmytext", "s2", "mynewtext");
        Assert.Equal(Bulk("mytext"), Run("LCS", "s1", "s2"));
        Assert.Equal(Int(6), Run("LCS", "s1", "s2", "LEN"));
        Assert.Equal(
            Array(Bulk("matches"),
                Array(
                    Array(Array(Int(4), Int(7)), Array(Int(5), Int(8))),
                    Array(Array(Int(2), Int(3)), Array(Int(0), Int(1)))),
                Bulk("len"), Int(6)),
            Run("LCS", "s1", "s2", "IDX"));
        Assert.Equal(
            Array(Bulk("matches"),
                Array(Array(Array(Int(4), Int(7)), Array(Int(5), Int(8)), Int(4))),
                Bulk("len"), Int(6)),
            Run("LCS", "s1", "s2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"));
        Assert.Equal("$0\r\n\r\n", Run("LCS", "nope1", "nope2"));
        Assert.Equal(Err("ERR If you want both the length and indexes, please just use IDX."), Run("LCS", "s1", "s2", "IDX", "LEN"));
        Assert.Equal(Err("ERR syntax error"), Run("LCS", "s1", "s2", "FOO"));
        _h.Db.SetObject("l"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        Assert.Equal(Err("ERR The specified keys must contain string values"), Run("LCS", "s1", "l"));
        _h.Protocol = RespVersion.Resp3;
        Assert.StartsWith("%2\r\n$7\r\nmatches\r\n", Run("LCS", "s1", "s2", "IDX"));
    }

    [Fact]
    public void ObjectEncodingOfStrings()
    {
        Run("SET", "i", "123");
        Run("SET", "s", "hello");
        Run("SET", "r", new string('x', 45));
        Assert.Equal(Bulk("int"), Run("OBJECT", "ENCODING", "i"));
        Assert.Equal(Bulk("embstr"), Run("OBJECT", "ENCODING", "s"));
        Assert.Equal(Bulk("raw"), Run("OBJECT", "ENCODING", "r"));
        Run("APPEND", "i", "4");
        Assert.Equal(Bulk("raw"), Run("OBJECT", "ENCODING", "i"));
        Run("INCR", "i");
        Assert.Equal(Bulk("int"), Run("OBJECT", "ENCODING", "i"));
        Assert.Equal(Int(int.MaxValue), Run("OBJECT", "REFCOUNT", "i")); // 1235 is a shared integer (< 10000)
        Run("SET", "j", "123456");
        Assert.Equal(Int(1), Run("OBJECT", "REFCOUNT", "j"));
        Run("SET", "small", "42");
        Assert.Equal(Int(int.MaxValue), Run("OBJECT", "REFCOUNT", "small"));
        Assert.Equal(Nil, Run("OBJECT", "ENCODING", "missing"));
    }

    [Fact]
    public void PipelinedRequestsAnswerInOrder()
    {
        var request = new List<byte>();
        request.AddRange(EncodeRequest("SET", "a", "1"));
        request.AddRange(EncodeRequest("INCR", "a"));
        request.AddRange(EncodeRequest("GET", "a"));
        Assert.Equal(Ok + Int(2) + Bulk("2"), System.Text.Encoding.ASCII.GetString(_h.ExecuteRequest(request.ToArray())));
    }
}

/// <summary>A stand-in non-string value for WRONGTYPE tests.</summary>
internal sealed class TestList : Store.RedisObject
{
    public override Store.RedisType Type => Store.RedisType.List;
    public override string Encoding => "listpack";
    public override Store.RedisObject Clone() => new TestList();
}
