using System.Text;

namespace Demikernel.Resp.Tests;

public class FrameTests
{
    /// <summary>Renders one value compactly: scalars as prefix+text, aggregates with brackets.</summary>
    private static string Render(ref RespReader reader)
    {
        reader.Read();
        RespPrefix prefix = reader.Prefix;
        if (reader.IsNull)
        {
            return "nil" + (char)prefix;
        }

        if (prefix == RespPrefix.Attribute)
        {
            string attributes = RenderChildren(ref reader, reader.AggregateLength);
            return "|{" + attributes + "}" + Render(ref reader);
        }

        if (reader.IsAggregate)
        {
            string open = prefix switch
            {
                RespPrefix.Map => "%{",
                RespPrefix.Set => "~[",
                RespPrefix.Push => ">[",
                _ => "[",
            };
            return open + RenderChildren(ref reader, reader.AggregateLength) + (prefix == RespPrefix.Map ? "}" : "]");
        }

        string text = Encoding.Latin1.GetString(reader.Value);
        return prefix == RespPrefix.VerbatimString
            ? "=" + Encoding.ASCII.GetString(reader.VerbatimFormat) + ":" + text
            : (char)prefix + text;
    }

    private static string RenderChildren(ref RespReader reader, int count)
    {
        var parts = new List<string>();
        for (int i = 0; i < count; i++)
        {
            parts.Add(Render(ref reader));
        }

        return string.Join(",", parts);
    }

    private static List<string> Run(byte[] input, int[] ends, int maxDepth)
    {
        var scanner = new RespFrameScanner(RespLimits.Default with { MaxBulkLength = 1000 }, maxDepth);
        var outcomes = new List<string>();
        int start = 0;
        foreach (int end in ends)
        {
            while (true)
            {
                ReadOnlySpan<byte> buffer = input.AsSpan(start, end - start);
                RespScanStatus status = scanner.TryScan(buffer, out int length, out RespFrameError error);
                if (status == RespScanStatus.NeedMoreData)
                {
                    break;
                }

                if (status == RespScanStatus.Error)
                {
                    outcomes.Add("error:" + error);
                    return outcomes;
                }

                var reader = new RespReader(buffer[..length]);
                outcomes.Add(Render(ref reader));
                Assert.True(reader.IsEnd, "reader did not consume the whole frame");
                start += length;
            }
        }

        if (start < input.Length || !scanner.IsIdle)
        {
            outcomes.Add("…");
        }

        return outcomes;
    }

    private static void Check(string input, params string[] expected) => CheckDepth(input, RespFrameScanner.DefaultMaxDepth, expected);

    private static void CheckDepth(string input, int maxDepth, params string[] expected)
    {
        byte[] bytes = Fragmenter.Bytes(input);
        foreach ((string name, int[] ends) in Fragmenter.Patterns(bytes.Length))
        {
            List<string> actual = Run(bytes, ends, maxDepth);
            Assert.True(expected.SequenceEqual(actual), $"{name}: expected {string.Join(" ", expected)} but got {string.Join(" ", actual)}");
        }
    }

    [Fact]
    public void Scalars() =>
        Check("+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$0\r\n\r\n_\r\n,1.5\r\n#t\r\n(123456789012345678901234567890\r\n!3\r\nerr\r\n=7\r\ntxt:abc\r\n",
            "+OK", "-ERR bad", ":42", "$hello", "$", "nil_", ",1.5", "#t", "(123456789012345678901234567890", "!err", "=txt:abc");

    [Fact]
    public void Resp2Nulls() => Check("$-1\r\n*-1\r\n", "nil$", "nil*");

    [Fact]
    public void BinaryBulkPayload() => Check("$4\r\na\r\nb\r\n", "$a\r\nb");

    [Fact]
    public void Aggregates() =>
        Check("*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n*0\r\n%2\r\n+k\r\n:1\r\n+j\r\n*1\r\n_\r\n~2\r\n:1\r\n:2\r\n>3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n",
            "[:1,[+a,$b],[]]", "%{+k,:1,+j,[nil_]}", "~[:1,:2]", ">[+message,+ch,$hi]");

    [Fact]
    public void EmptyAggregatesAreWholeFrames() => Check("*0\r\n%0\r\n~0\r\n", "[]", "%{}", "~[]");

    [Fact]
    public void AttributesBelongToTheAnnotatedValue() =>
        Check("|1\r\n+ttl\r\n:3\r\n*2\r\n:1\r\n|1\r\n+a\r\n+b\r\n:2\r\n|0\r\n+x\r\n",
            "|{+ttl,:3}[:1,|{+a,+b}:2]", "|{}+x");

    [Fact]
    public void NestingLimit()
    {
        CheckDepth("*1\r\n*1\r\n*1\r\n:1\r\n", 3, "[[[:1]]]");
        CheckDepth("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 3, "error:TooDeep");
    }

    [Fact]
    public void DeepNestingGrowsTheStack()
    {
        string input = string.Concat(Enumerable.Repeat("*1\r\n", 100)) + ":7\r\n";
        string expected = new string('[', 100) + ":7" + new string(']', 100);
        Check(input, expected);
    }

    [Fact]
    public void Incomplete()
    {
        Check("*2\r\n:1\r\n", "…");
        Check("$5\r\nhel", "…");
        Check(":1", "…");
        Check("%1\r\n+k\r\n", "…");
        Check("|1\r\n+k\r\n+v\r\n", "…");
    }

    [Theory]
    [InlineData("?x\r\n", "error:UnknownPrefix")]
    [InlineData("+OK\n", "error:MissingCrlf")]
    [InlineData("\r\n", "error:MissingCrlf")]
    [InlineData("$3\r\nabcd\r\n", "error:MissingCrlf")]
    [InlineData("$x\r\n", "error:InvalidLength")]
    [InlineData("$-2\r\n", "error:InvalidLength")]
    [InlineData("*-2\r\n", "error:InvalidLength")]
    [InlineData("$1001\r\n", "error:TooLong")]
    [InlineData("*1073741824\r\n", "error:TooLong")]
    [InlineData("|7777777777777777771\r\n+k\r\n+v\r\n", "error:TooLong")] // found by fuzzing (resp-frame): 2 x count overflowed
    [InlineData("$?\r\n", "error:StreamingNotSupported")]
    [InlineData("*?\r\n", "error:StreamingNotSupported")]
    [InlineData("#x\r\n", "error:InvalidValue")]
    [InlineData("_1\r\n", "error:InvalidValue")]
    [InlineData("=2\r\nab\r\n", "error:InvalidValue")]
    [InlineData("=7\r\ntxk\r\n+v\r\n", "error:InvalidValue")] // found by fuzzing (resp-frame): no ':' after the format
    [InlineData("*1\r\n=5\r\nabcde\r\n", "error:InvalidValue")]
    public void Errors(string input, string expected) => Check(input, expected);

    [Fact]
    public void NeverRescansSearchedBytes()
    {
        var scanner = new RespFrameScanner();
        byte[] input = Fragmenter.Bytes("*2\r\n+" + new string('s', 500) + "\r\n$4\r\nbulk\r\n");
        for (int length = 1; length < input.Length; length++)
        {
            Assert.Equal(RespScanStatus.NeedMoreData, scanner.TryScan(input.AsSpan(0, length), out _, out _));
        }

        Assert.Equal(RespScanStatus.Complete, scanner.TryScan(input, out int frameLength, out _));
        Assert.Equal(input.Length, frameLength);
        Assert.True(scanner.SearchedBytes <= 2 * input.Length, $"searched {scanner.SearchedBytes} bytes");
    }

    [Fact]
    public void ReaderHelpers()
    {
        var reader = new RespReader("*7\r\n:-12\r\n,inf\r\n,nan\r\n#f\r\n$3\r\n2.5\r\n$-1\r\n:+5\r\n"u8);
        reader.Read();
        Assert.Equal(RespPrefix.Array, reader.Prefix);
        Assert.Equal(7, reader.AggregateLength);
        reader.Read();
        Assert.Equal(-12, reader.ReadInt64());
        Assert.Equal(-12.0, reader.ReadDouble());
        reader.Read();
        Assert.Equal(double.PositiveInfinity, reader.ReadDouble());
        reader.Read();
        Assert.True(double.IsNaN(reader.ReadDouble()));
        reader.Read();
        Assert.False(reader.ReadBoolean());
        reader.Read();
        Assert.Equal(2.5, reader.ReadDouble());
        Assert.Equal("2.5", reader.ReadString());
        Assert.True(reader.ValueEquals("2.5"u8));
        reader.Read();
        Assert.True(reader.IsNull);
        Assert.Null(reader.ReadString());
        reader.Read();
        Assert.Equal(5, reader.ReadInt64());
        Assert.False(reader.TryRead());
        Assert.True(reader.IsEnd);
    }

    [Fact]
    public void ReaderSkipChildren()
    {
        var reader = new RespReader("*2\r\n%1\r\n+k\r\n*2\r\n:1\r\n|1\r\n+a\r\n+b\r\n:2\r\n$-1\r\n+after\r\n"u8);
        reader.Read();
        reader.Read();
        Assert.Equal(RespPrefix.Map, reader.Prefix);
        Assert.Equal(2, reader.AggregateLength);
        reader.SkipChildren();
        reader.Read();
        Assert.True(reader.IsNull);
        reader.Read();
        Assert.Equal("after", reader.ReadString());
    }

    [Fact]
    public void ReaderRejectsMalformedInput()
    {
        Assert.Throws<FormatException>(() => new RespReader("+OK"u8).TryRead());
        Assert.Throws<FormatException>(() => new RespReader("$5\r\nab\r\n"u8).TryRead());
        Assert.Throws<FormatException>(() => new RespReader("&1\r\n"u8).TryRead());
        Assert.Throws<FormatException>(() =>
        {
            var reader = new RespReader("+abc\r\n"u8);
            reader.Read();
            return reader.ReadInt64();
        });
    }

    [Fact]
    public void WriterOutputRoundTripsThroughScannerAndReader()
    {
        byte[] buffer = new byte[512];
        foreach (RespVersion version in new[] { RespVersion.Resp2, RespVersion.Resp3 })
        {
            var writer = new RespWriter(buffer, version);
            Assert.True(writer.TryWriteMapHeader(2));
            Assert.True(writer.TryWriteBulkString("score"u8));
            Assert.True(writer.TryWriteDouble(0.5));
            Assert.True(writer.TryWriteBulkString("flags"u8));
            Assert.True(writer.TryWriteSetHeader(2));
            Assert.True(writer.TryWriteBoolean(true));
            Assert.True(writer.TryWriteNull());
            int written = writer.Written;

            var scanner = new RespFrameScanner();
            Assert.Equal(RespScanStatus.Complete, scanner.TryScan(buffer.AsSpan(0, written), out int length, out _));
            Assert.Equal(written, length);
            var reader = new RespReader(buffer.AsSpan(0, written));
            string rendered = Render(ref reader);
            Assert.Equal(version == RespVersion.Resp3 ? "%{$score,,0.5,$flags,~[#t,nil_]}" : "[$score,$0.5,$flags,[:1,nil$]]", rendered);
        }
    }
}
