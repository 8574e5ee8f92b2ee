using System.Text;

namespace Demikernel.Resp.Tests;

public class WriterTests
{
    private delegate bool WriteAction(ref RespWriter writer);

    private static string Write(RespVersion version, WriteAction action)
    {
        Span<byte> buffer = stackalloc byte[256];
        var writer = new RespWriter(buffer, version);
        Assert.True(action(ref writer));
        string text = Encoding.Latin1.GetString(writer.WrittenSpan);

        // Every shorter span must refuse the value without writing anything.
        Span<byte> small = stackalloc byte[256];
        for (int size = 0; size < writer.Written; size++)
        {
            small.Fill(0xEE);
            var tight = new RespWriter(small[..size], version);
            Assert.False(action(ref tight));
            Assert.Equal(0, tight.Written);
            Assert.True(small.IndexOfAnyExcept((byte)0xEE) < 0, "partial write");
        }

        return text;
    }

    private static void Golden(WriteAction action, string resp2, string resp3)
    {
        Assert.Equal(resp2, Write(RespVersion.Resp2, action));
        Assert.Equal(resp3, Write(RespVersion.Resp3, action));
    }

    [Fact]
    public void SimpleString() => Golden((ref RespWriter w) => w.TryWriteSimpleString("OK"u8), "+OK\r\n", "+OK\r\n");

    [Fact]
    public void SimpleStringFromString() => Golden((ref RespWriter w) => w.TryWriteSimpleString("PONG"), "+PONG\r\n", "+PONG\r\n");

    [Fact]
    public void Error() => Golden((ref RespWriter w) => w.TryWriteError("ERR wrong"u8), "-ERR wrong\r\n", "-ERR wrong\r\n");

    [Fact]
    public void ErrorNeverCarriesCrOrLf()
    {
        // As redis-server's addReplyErrorFormat: CR/LF at the end dropped, the others become spaces.
        Golden((ref RespWriter w) => w.TryWriteError("ERR a\nb\rc\r\nd"u8), "-ERR a b c  d\r\n", "-ERR a b c  d\r\n");
        Golden((ref RespWriter w) => w.TryWriteError("ERR 'x\r\n"), "-ERR 'x\r\n", "-ERR 'x\r\n");
        Golden((ref RespWriter w) => w.TryWriteError("ERR\n\n"u8), "-ERR\r\n", "-ERR\r\n");
    }

    [Fact]
    public void ErrorFromString() => Golden((ref RespWriter w) => w.TryWriteError("WRONGTYPE x"), "-WRONGTYPE x\r\n", "-WRONGTYPE x\r\n");

    [Fact]
    public void ProtocolError()
    {
        Golden((ref RespWriter w) => w.TryWriteError(new RespProtocolError(RespProtocolErrorKind.InvalidBulkLength)),
            "-ERR Protocol error: invalid bulk length\r\n", "-ERR Protocol error: invalid bulk length\r\n");
        Golden((ref RespWriter w) => w.TryWriteError(new RespProtocolError(RespProtocolErrorKind.ExpectedDollar, 0xFF)),
            "-ERR Protocol error: expected '$', got '\u00ff'\r\n", "-ERR Protocol error: expected '$', got '\u00ff'\r\n");
    }

    [Theory]
    [InlineData(0L, ":0\r\n")]
    [InlineData(42L, ":42\r\n")]
    [InlineData(-1L, ":-1\r\n")]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    public void Integer(long value, string expected) => Golden((ref RespWriter w) => w.TryWriteInteger(value), expected, expected);

    [Fact]
    public void BulkString()
    {
        Golden((ref RespWriter w) => w.TryWriteBulkString("hello"u8), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
        Golden((ref RespWriter w) => w.TryWriteBulkString(ReadOnlySpan<byte>.Empty), "$0\r\n\r\n", "$0\r\n\r\n");
        Golden((ref RespWriter w) => w.TryWriteBulkString("h\u00e9"), "$3\r\nh\u00c3\u00a9\r\n", "$3\r\nh\u00c3\u00a9\r\n");
        Golden((ref RespWriter w) => w.TryWriteBulkString(-12L), "$3\r\n-12\r\n", "$3\r\n-12\r\n");
        string ten = new('x', 10);
        Golden((ref RespWriter w) => w.TryWriteBulkString(ten), $"$10\r\n{ten}\r\n", $"$10\r\n{ten}\r\n");
    }

    [Fact]
    public void Nulls()
    {
        Golden((ref RespWriter w) => w.TryWriteNull(), "$-1\r\n", "_\r\n");
        Golden((ref RespWriter w) => w.TryWriteNullArray(), "*-1\r\n", "_\r\n");
    }

    [Fact]
    public void Aggregates()
    {
        Golden((ref RespWriter w) => w.TryWriteArrayHeader(3), "*3\r\n", "*3\r\n");
        Golden((ref RespWriter w) => w.TryWriteArrayHeader(0), "*0\r\n", "*0\r\n");
        Golden((ref RespWriter w) => w.TryWriteMapHeader(2), "*4\r\n", "%2\r\n");
        Golden((ref RespWriter w) => w.TryWriteSetHeader(5), "*5\r\n", "~5\r\n");
        Golden((ref RespWriter w) => w.TryWritePushHeader(3), "*3\r\n", ">3\r\n");
        Golden((ref RespWriter w) => w.TryWriteAttributeHeader(1), "", "|1\r\n");
    }

    [Theory]
    [InlineData(1.5, "1.5")]
    [InlineData(3.0, "3")]
    [InlineData(0.1, "0.10000000000000001")]
    [InlineData(-2.25, "-2.25")]
    [InlineData(1e20, "1e+20")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Double(double value, string text) =>
        Golden((ref RespWriter w) => w.TryWriteDouble(value), $"${text.Length}\r\n{text}\r\n", $",{text}\r\n");

    [Fact]
    public void DoubleNaN() => Golden((ref RespWriter w) => w.TryWriteDouble(double.NaN), "$3\r\nnan\r\n", ",nan\r\n");

    [Fact]
    public void Boolean()
    {
        Golden((ref RespWriter w) => w.TryWriteBoolean(true), ":1\r\n", "#t\r\n");
        Golden((ref RespWriter w) => w.TryWriteBoolean(false), ":0\r\n", "#f\r\n");
    }

    [Fact]
    public void BigNumber() =>
        Golden((ref RespWriter w) => w.TryWriteBigNumber("3492890328409238509324850943850943825024385"u8),
            "$43\r\n3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385\r\n");

    [Fact]
    public void Verbatim() =>
        Golden((ref RespWriter w) => w.TryWriteVerbatim("txt"u8, "Some string"u8), "$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n");

    [Fact]
    public void VerbatimFormatMustBeThreeBytes()
    {
        byte[] buffer = new byte[64];
        Assert.Throws<ArgumentException>(() =>
        {
            var w = new RespWriter(buffer, RespVersion.Resp3);
            return w.TryWriteVerbatim("text"u8, "x"u8);
        });
    }

    [Fact]
    public void Raw() => Golden((ref RespWriter w) => w.TryWriteRaw("+OK\r\n"u8), "+OK\r\n", "+OK\r\n");

    [Fact]
    public void SequenceStopsWhenFullAndResumesAfterReset()
    {
        Span<byte> buffer = stackalloc byte[12];
        var w = new RespWriter(buffer);
        Assert.True(w.TryWriteArrayHeader(2));        // 4 bytes
        Assert.True(w.TryWriteBulkString("ab"u8));    // 8 bytes
        Assert.False(w.TryWriteBulkString("cd"u8));
        Assert.Equal(12, w.Written);
        Assert.Equal(0, w.Available);
        w.Reset();
        Assert.True(w.TryWriteBulkString("cd"u8));
        Assert.Equal("$2\r\ncd\r\n", Encoding.ASCII.GetString(w.WrittenSpan));
    }
}
