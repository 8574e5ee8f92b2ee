using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>Bitmap commands through the real dispatcher; replies checked against redis-server 7.0.</summary>
public sealed class BitmapCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void SetBitGetBit()
    {
        Assert.Equal(Int(0), Run("SETBIT", "b", "7", "1"));
        Assert.Equal(Bulk("\u0001"), Run("GET", "b"));
        Assert.Equal(Int(1), Run("SETBIT", "b", "7", "0"));
        Assert.Equal(Int(0), Run("GETBIT", "b", "7"));
        Assert.Equal(Int(0), Run("SETBIT", "b", "100", "1"));
        Assert.Equal(Int(13), Run("STRLEN", "b"));
        Assert.Equal(Int(1), Run("GETBIT", "b", "100"));
        Assert.Equal(Int(0), Run("GETBIT", "b", "100000"));
        Assert.Equal(Int(0), Run("GETBIT", "nokey", "3"));
        Assert.Equal(Bulk("raw"), Run("OBJECT", "ENCODING", "b"));
        Assert.Equal(Err("ERR bit offset is not an integer or out of range"), Run("SETBIT", "b", "-1", "1"));
        Assert.Equal(Err("ERR bit offset is not an integer or out of range"), Run("SETBIT", "b", "4294967296", "1"));
        Assert.Equal(Err("ERR bit offset is not an integer or out of range"), Run("GETBIT", "b", "x"));
        Assert.Equal(Err("ERR bit is not an integer or out of range"), Run("SETBIT", "b", "1", "2"));
        Assert.Equal(Err("ERR bit is not an integer or out of range"), Run("SETBIT", "b", "1", "x"));
    }

    [Fact]
    public void SetBitKeepsTtlAndRejectsOtherTypes()
    {
        Run("SET", "k", "a");
        Run("EXPIRE", "k", "100");
        Run("SETBIT", "k", "0", "1");
        Assert.Equal(Int(100), Run("TTL", "k"));
        _h.Db.SetObject("l"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        const string wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        Assert.Equal(wrong, Run("SETBIT", "l", "0", "1"));
        Assert.Equal(wrong, Run("GETBIT", "l", "0"));
        Assert.Equal(wrong, Run("BITCOUNT", "l"));
        Assert.Equal(wrong, Run("BITPOS", "l", "1"));
        Assert.Equal(wrong, Run("BITOP", "AND", "d", "k", "l"));
        Assert.Equal(wrong, Run("BITFIELD", "l", "GET", "u8", "0"));
        Assert.Equal(wrong, Run("BITFIELD_RO", "l", "GET", "u8", "0"));
    }

    [Fact]
    public void BitCountRanges()
    {
        Run("SET", "s", "foobar");
        Assert.Equal(Int(26), Run("BITCOUNT", "s"));
        Assert.Equal(Int(4), Run("BITCOUNT", "s", "0", "0"));
        Assert.Equal(Int(6), Run("BITCOUNT", "s", "1", "1"));
        Assert.Equal(Int(6), Run("BITCOUNT", "s", "1", "1", "BYTE"));
        Assert.Equal(Int(17), Run("BITCOUNT", "s", "5", "30", "BIT"));
        Assert.Equal(Int(0), Run("BITCOUNT", "s", "-1", "-5"));
        Assert.Equal(Int(0), Run("BITCOUNT", "nokey", "0", "1", "bad")); // 7.0 looks the key up first
        Assert.Equal(Err("ERR syntax error"), Run("BITCOUNT", "s", "0", "1", "bad"));
        Assert.Equal(Err("ERR syntax error"), Run("BITCOUNT", "s", "1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("BITCOUNT", "s", "a", "1"));
    }

    [Fact]
    public void BitPos()
    {
        _h.Execute("SET"u8.ToArray(), "s"u8.ToArray(), [0xff, 0xf0, 0x00]);
        Assert.Equal(Int(12), Run("BITPOS", "s", "0"));
        Assert.Equal(Int(0), Run("BITPOS", "s", "1"));
        Assert.Equal(Int(-1), Run("BITPOS", "s", "1", "2"));
        Assert.Equal(Int(16), Run("BITPOS", "s", "0", "2"));
        Assert.Equal(Int(7), Run("BITPOS", "s", "1", "7", "15", "BIT"));
        Assert.Equal(Int(12), Run("BITPOS", "s", "0", "7", "15", "BIT"));
        _h.Execute("SET"u8.ToArray(), "f"u8.ToArray(), [0xff, 0xff]);
        Assert.Equal(Int(16), Run("BITPOS", "f", "0"));
        Assert.Equal(Int(-1), Run("BITPOS", "f", "0", "0", "-1"));
        Assert.Equal(Int(-1), Run("BITPOS", "nokey", "1"));
        Assert.Equal(Int(0), Run("BITPOS", "nokey", "0"));
        Assert.Equal(Err("ERR The bit argument must be 1 or 0."), Run("BITPOS", "s", "2"));
    }

    [Fact]
    public void BitOp()
    {
        Run("SET", "a", "abc");
        Run("SET", "b", "a");
        Assert.Equal(Int(3), Run("BITOP", "AND", "d", "a", "b"));
        Assert.Equal(Bulk("a\0\0"), Run("GET", "d"));
        Assert.Equal(Int(3), Run("BITOP", "OR", "d", "a", "b", "missing"));
        Assert.Equal(Bulk("abc"), Run("GET", "d"));
        Assert.Equal(Int(3), Run("BITOP", "XOR", "d", "a", "b"));
        Assert.Equal(Bulk("\0bc"), Run("GET", "d"));
        Assert.Equal(Int(1), Run("BITOP", "NOT", "d", "b"));
        Assert.Equal("$1\r\n\u009e\r\n", Encoding.Latin1.GetString(_h.Execute("GET"u8.ToArray(), "d"u8.ToArray())));
        Assert.Equal(Int(0), Run("BITOP", "AND", "d", "none1", "none2"));
        Assert.Equal(Int(0), Run("EXISTS", "d"));
        Assert.Equal(Err("ERR BITOP NOT must be called with a single source key."), Run("BITOP", "NOT", "d", "a", "b"));
        Assert.Equal(Err("ERR syntax error"), Run("BITOP", "NAND", "d", "a"));
    }

    [Fact]
    public void BitField()
    {
        Assert.Equal(Array(Int(0), Int(-100)), Run("BITFIELD", "k", "SET", "i8", "0", "-100", "GET", "i8", "0"));
        Assert.Equal(Array(Int(-100)), Run("BITFIELD", "k", "GET", "i8", "0"));
        Assert.Equal(Array(Int(156)), Run("BITFIELD", "k", "GET", "u8", "0"));
        Assert.Equal(Array(Int(100), Int(127), "$-1\r\n"), Run("BITFIELD", "k", "INCRBY", "i8", "0", "200", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "1"));
        Assert.Equal(Array(Int(0), Int(255)), Run("BITFIELD", "n", "SET", "u8", "#1", "-1", "GET", "u8", "#1"));
        Assert.Equal(Array(Int(255)), Run("BITFIELD_RO", "n", "GET", "u8", "8"));
        Assert.Equal(Err("ERR BITFIELD_RO only supports the GET subcommand"), Run("BITFIELD_RO", "n", "SET", "u8", "0", "1"));
        Assert.Equal(Err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."), Run("BITFIELD", "n", "GET", "u64", "0"));
        Assert.Equal(Err("ERR Invalid OVERFLOW type specified"), Run("BITFIELD", "n", "OVERFLOW", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("BITFIELD", "n", "GET", "u8"));
        Assert.Equal("*0\r\n", Run("BITFIELD", "n"));
        Assert.Equal(Array("$-1\r\n"), Run("BITFIELD", "z", "OVERFLOW", "FAIL", "SET", "u8", "0", "300"));
        Assert.Equal(Int(1), Run("EXISTS", "z")); // the key was grown even though the write failed
        Assert.Equal(Array(Int(0)), Run("BITFIELD", "none", "GET", "i64", "0"));
        Assert.Equal(Int(0), Run("EXISTS", "none"));
    }

    [Fact]
    public void RepliesMatchRedisServer()
    {
        using var redis = ReferenceRedis.TryStart();
        string[][] script =
        [
            ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "77", "1"], ["GETBIT", "b", "77"], ["GET", "b"], ["SETBIT", "b", "3", "1"],
            ["BITCOUNT", "b"], ["BITCOUNT", "b", "0", "-1", "BIT"], ["BITCOUNT", "b", "3", "77", "BIT"], ["BITCOUNT", "b", "4", "76", "BIT"],
            ["BITCOUNT", "b", "-3", "-1"], ["BITCOUNT", "b", "-100", "100"], ["BITCOUNT", "b", "5", "2"], ["BITCOUNT", "b", "-1", "-3", "BIT"],
            ["SET", "s", "foobar"], ["BITCOUNT", "s", "1", "-2", "BIT"], ["BITCOUNT", "s", "0", "0", "byte"],
            ["BITPOS", "b", "1"], ["BITPOS", "b", "0"], ["BITPOS", "b", "1", "1"], ["BITPOS", "b", "1", "4", "100", "BIT"],
            ["BITPOS", "b", "0", "3", "3", "BIT"], ["BITPOS", "b", "0", "-1"], ["BITPOS", "b", "0", "-1", "-1"], ["BITPOS", "b", "1", "-3", "-2"],
            ["BITPOS", "b", "1", "9", "5"], ["BITPOS", "b", "1", "70", "79", "bit"], ["BITPOS", "b", "0", "0", "7", "BIT"],
            ["BITPOS", "s", "0", "1", "2", "BIT"], ["BITPOS", "s", "1", "-1", "-1", "BIT"], ["BITPOS", "s", "0", "-1", "-1", "BIT"],
            ["SET", "ones", "\u007f"], ["BITPOS", "ones", "0", "1", "7", "BIT"], ["BITPOS", "ones", "0", "0", "0"], ["BITPOS", "ones", "0", "1"],
            ["BITPOS", "ones", "0", "8"], ["BITPOS", "ones", "0", "0", "-1", "x"], ["BITPOS", "ones", "0", "0", "-1", "bit", "x"],
            ["SET", "empty", ""], ["BITPOS", "empty", "0"], ["BITPOS", "empty", "1"], ["BITCOUNT", "empty"],
            ["BITOP", "AND", "d", "s", "b"], ["GET", "d"], ["BITOP", "OR", "d", "s", "b"], ["GET", "d"], ["BITOP", "XOR", "d", "s", "b", "s"],
            ["GET", "d"], ["BITOP", "NOT", "d", "s"], ["GET", "d"], ["OBJECT", "ENCODING", "d"], ["SET", "n", "12"], ["BITOP", "AND", "d2", "n"],
            ["OBJECT", "ENCODING", "d2"], ["SETBIT", "n", "0", "0"], ["OBJECT", "ENCODING", "n"], ["GET", "n"],
            ["BITFIELD", "f", "SET", "i5", "3", "-7", "GET", "i5", "3", "GET", "u5", "3", "GET", "u63", "0", "GET", "i64", "0"],
            ["BITFIELD", "f", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "5", "INCRBY", "u2", "102", "-9"],
            ["BITFIELD", "f", "OVERFLOW", "WRAP", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "9223372036854775807"],
            ["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "-9223372036854775808",
                "INCRBY", "i64", "0", "-9223372036854775808"],
            ["BITFIELD", "f", "OVERFLOW", "SAT", "SET", "u63", "#2", "-1", "GET", "u63", "#2", "OVERFLOW", "FAIL", "SET", "u63", "#2", "-1"],
            ["BITFIELD", "f", "OVERFLOW", "WRAP", "SET", "i3", "#5", "9", "GET", "i3", "#5", "INCRBY", "u7", "1000", "-1000"],
            ["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u7", "1000", "-1000", "INCRBY", "i7", "1000", "-1000", "INCRBY", "i7", "1000", "63"],
            ["GET", "f"], ["STRLEN", "f"],
            ["BITFIELD", "f", "GET", "I8", "0"], ["BITFIELD", "f", "GET", "i0", "0"], ["BITFIELD", "f", "GET", "i65", "0"], ["BITFIELD", "f", "GET", "u8", "#x"],
            ["BITFIELD", "f", "GET", "u8", "#-1"], ["BITFIELD", "f", "SET", "u8", "0", "x"], ["BITFIELD", "f", "GET"], ["BITFIELD", "f", "BOGUS"],
            ["BITFIELD", "f", "GET", "u8", "4294967296"], ["BITFIELD", "f", "GET", "u8", "#536870912"], ["BITFIELD_RO", "f", "GET", "u8", "0", "OVERFLOW", "FAIL"],
            ["BITFIELD_RO", "f", "INCRBY", "u8", "0", "1"], ["BITFIELD_RO", "f", "INCRBY", "x8", "0", "1"], ["BITFIELD_RO", "f"],
            ["SETBIT", "g", "4294967295", "1"], ["STRLEN", "g"], ["BITCOUNT", "g"], ["BITPOS", "g", "1"], ["DEL", "g"],
            ["BITOP", "AND"], ["BITOP", "AND", "d"], ["SETBIT", "b", "1"], ["GETBIT", "b"], ["BITCOUNT"], ["BITPOS", "b"],
        ];
        var mismatches = redis.Compare(_h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}

