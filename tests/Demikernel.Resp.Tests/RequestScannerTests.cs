using System.Text;

namespace Demikernel.Resp.Tests;

public class RequestScannerTests
{
    private static readonly RespLimits SmallLimits = RespLimits.Default with { MaxInlineLength = 64, MaxBulkLength = 100, MaxMultiBulkLength = 50 };

    /// <summary>
    /// Simulates a connection: bytes arrive in chunks, the buffer is the unconsumed tail, each complete request
    /// is recorded as "[a|b|c]" (empty requests as "[]"), an error as "ERR ..." (and the stream stops), and
    /// a request still incomplete at the end as "…".
    /// </summary>
    private static List<string> Run(byte[] input, int[] ends, RespLimits limits, bool requireAuth = false)
    {
        var scanner = new RespRequestScanner(limits) { RequireAuthentication = requireAuth };
        var args = new RespArgs(1);
        var outcomes = new List<string>();
        int start = 0;
        foreach (int end in ends)
        {
            while (true)
            {
                ReadOnlySpan<byte> buffer = input.AsSpan(start, end - start);
                RespScanStatus status = scanner.TryScan(buffer, args, out int consumed, out RespProtocolError error);
                if (status == RespScanStatus.NeedMoreData)
                {
                    Assert.Equal(0, consumed);
                    break;
                }

                if (status == RespScanStatus.Error)
                {
                    outcomes.Add(error.Message);
                    return outcomes;
                }

                Assert.True(consumed > 0);
                var sb = new StringBuilder("[");
                for (int i = 0; i < args.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append('|');
                    }

                    sb.Append(Fragmenter.Show(args.Get(buffer, i)));
                }

                outcomes.Add(sb.Append(']').ToString());
                start += consumed;
            }
        }

        if (start < input.Length || !scanner.IsIdle)
        {
            outcomes.Add("…");
        }

        return outcomes;
    }

    private static void Check(string input, RespLimits limits, params string[] expected) => Check(Fragmenter.Bytes(input), limits, expected);

    private static void Check(byte[] input, RespLimits limits, params string[] expected)
    {
        foreach ((string name, int[] ends) in Fragmenter.Patterns(input.Length, everySplit: input.Length < 2000))
        {
            List<string> actual = Run(input, ends, limits);
            Assert.True(expected.SequenceEqual(actual), $"{name}: expected {string.Join(", ", expected)} but got {string.Join(", ", actual)}");
        }
    }

    private static void Check(string input, params string[] expected) => Check(input, SmallLimits, expected);

    [Fact]
    public void MultibulkRequest() => Check("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$3\r\nxyz\r\n", "[SET|a|xyz]");

    [Fact]
    public void EmptyBulkAndBinaryPayload() => Check("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n", "[SET||a\r\nb]");

    [Fact]
    public void PipelinedRequests() =>
        Check("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nECHO hi\n*1\r\n$4\r\nQUIT\r\n",
            "[PING]", "[GET|k]", "[PING]", "[ECHO|hi]", "[QUIT]");

    [Fact]
    public void IncompleteRequestWaits() => Check("*2\r\n$3\r\nGET\r\n$1\r\n", "…");

    [Fact]
    public void IncompletePayloadWaits() => Check("*1\r\n$5\r\nabc", "…");

    [Fact]
    public void MissingTrailingBytesWaits() => Check("*1\r\n$3\r\nabc\r", "…");

    [Fact]
    public void ZeroAndNegativeCountsAreEmptyRequests() => Check("*0\r\n*-1\r\n*-7\r\n*1\r\n$1\r\nx\r\n", "[]", "[]", "[]", "[x]");

    [Fact]
    public void EmptyInlineLinesAreEmptyRequests() => Check("\r\n\n   \r\nPING\r\n", "[]", "[]", "[]", "[PING]");

    [Fact]
    public void InlineAcceptsBareNewline() => Check("SET a b\nGET a\r\n", "[SET|a|b]", "[GET|a]");

    [Fact]
    public void InlineWhitespace() => Check("  SET\ta   b \r\n", "[SET|a|b]");

    [Fact]
    public void InlineCarriageReturnInsideLineSeparates() => Check("a\rb\n", "[a|b]");

    [Fact]
    public void InlineDoubleQuotes() => Check("SET a \"b c\"\r\n", "[SET|a|b c]");

    [Fact]
    public void InlineSingleQuotes() => Check("SET 'a b' 'it\\'s'\r\n", "[SET|a b|it's]");

    [Fact]
    public void InlineEscapes() => Check("ECHO \"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n", "[ECHO|AJ\n\r\t\b\a\\\"q]");

    [Fact]
    public void InlineEscapedQuote() => Check("SET k \"a\\\"b\"\r\n", "[SET|k|a\"b]");

    [Fact]
    public void InlineInvalidHexEscapeKeepsChars() => Check("ECHO \"\\xZZ\"\r\n", "[ECHO|xZZ]");

    [Fact]
    public void InlineEmptyQuotedArgument() => Check("SET k \"\"\r\n", "[SET|k|]");

    [Fact]
    public void InlineQuoteInsideWordStartsQuoting() => Check("ECHO a\"b c\"\r\n", "[ECHO|ab c]");

    [Fact]
    public void InlineSingleQuoteBackslashIsLiteral() => Check("ECHO 'a\\nb'\r\n", "[ECHO|a\\nb]");

    // Redis looks for line ends with strchr on a NUL-terminated buffer: a NUL hides everything after it.
    [Fact]
    public void NulBeforeLineEndNeverCompletes()
    {
        Check(Fragmenter.Bytes("ECHO a\0b c\r\nPING\r\n"), SmallLimits, "…");
        Check(Fragmenter.Bytes("*\0\r\n"), SmallLimits, "…");
        Check(Fragmenter.Bytes("*1\r\n$\0\r\n"), SmallLimits, "…");
        Check(Fragmenter.Bytes("*1\r\n$3\r\na\0c\r\n"), SmallLimits, "[a\0c]");
        // past the first 8 bytes of a line, where the search goes vectorized
        Check(Fragmenter.Bytes("ECHO abcdefghij\0 c\r\nPING\r\n"), SmallLimits, "…");
        Check(Fragmenter.Bytes("*1\r\n$1234567890\0\r\n"), SmallLimits, "…");
    }

    // tests/unit/protocol.tcl "Protocol desync regression test": the connection ends in a protocol error.
    [Theory]
    [InlineData("\0", "ERR Protocol error: too big inline request")]
    [InlineData("*\0", "ERR Protocol error: too big mbulk count string")]
    [InlineData("$\0", "ERR Protocol error: too big inline request")]
    public void ProtocolDesyncRegression(string start, string expected)
    {
        byte[] input = Fragmenter.Bytes(start + string.Concat(Enumerable.Repeat("payload", 10000)));
        Assert.Equal([expected], Run(input, [input.Length], RespLimits.Default));
        Assert.Equal(["…"], Run(input, [start.Length + 7], RespLimits.Default));
    }

    // The remaining cases of redis tests/unit/protocol.tcl, with default limits.
    [Theory]
    [InlineData("\r\n*1\r\n$4\r\nPING\r\n", "[]|[PING]")]
    [InlineData("*-10\r\n*1\r\n$4\r\nPING\r\n", "[]|[PING]")]
    [InlineData("*3000000000\r\n", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "ERR Protocol error: expected '$', got 'f'")]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "ERR Protocol error: invalid bulk length")]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "ERR Protocol error: invalid bulk length")]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", "ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'")]
    [InlineData("set \"\"\"test-key\"\"\" test-value\r\nping\r\n", "ERR Protocol error: unbalanced quotes in request")]
    public void RedisProtocolSuite(string input, string expected)
    {
        byte[] bytes = Fragmenter.Bytes(input);
        foreach ((string name, int[] ends) in Fragmenter.Patterns(bytes.Length))
        {
            Assert.True(expected == string.Join("|", Run(bytes, ends, RespLimits.Default)), name);
        }
    }

    [Fact]
    public void NeverRescansSearchedBytes()
    {
        var scanner = new RespRequestScanner();
        var args = new RespArgs();
        byte[] input = Fragmenter.Bytes("*2\r\n$3\r\nGET\r\n$5\r\nkey12\r\n");
        for (int length = 1; length < input.Length; length++)
        {
            Assert.Equal(RespScanStatus.NeedMoreData, scanner.TryScan(input.AsSpan(0, length), args, out _, out _));
        }

        Assert.Equal(RespScanStatus.Complete, scanner.TryScan(input, args, out int consumed, out _));
        Assert.Equal(input.Length, consumed);
        Assert.True(scanner.SearchedBytes <= 2 * input.Length, $"searched {scanner.SearchedBytes} bytes");

        long before = scanner.SearchedBytes;
        byte[] line = Fragmenter.Bytes("SET key " + new string('v', 1000) + "\r\n");
        for (int length = 1; length < line.Length; length++)
        {
            Assert.Equal(RespScanStatus.NeedMoreData, scanner.TryScan(line.AsSpan(0, length), args, out _, out _));
        }

        Assert.Equal(RespScanStatus.Complete, scanner.TryScan(line, args, out consumed, out _));
        Assert.Equal(3, args.Count);
        Assert.True(scanner.SearchedBytes - before <= line.Length, $"searched {scanner.SearchedBytes - before} bytes");
    }

    [Fact]
    public void InlineHighBytes() => Check(Fragmenter.Bytes("ECHO \u00ff\u0080\r\n"), SmallLimits, "[ECHO|\u00ff\u0080]");

    [Theory]
    [InlineData("ECHO \"abc\r\n")]
    [InlineData("ECHO 'abc\r\n")]
    [InlineData("ECHO \"a\"b\r\n")]
    [InlineData("ECHO 'a'b\r\n")]
    [InlineData("ECHO \"abc\\\"\r\n")]
    [InlineData("ECHO \"abc\\\r\n")]
    public void UnbalancedQuotes(string input) => Check(input, "ERR Protocol error: unbalanced quotes in request");

    [Fact]
    public void QuoteFollowedByVerticalTabIsBalanced() => Check("ECHO \"a\"\vb\r\n", "[ECHO|a|b]");

    [Fact]
    public void UnquotedVerticalTabIsPartOfWord() => Check("ECHO a\vb\r\n", "[ECHO|a\vb]");

    [Theory]
    [InlineData("*x\r\n")]
    [InlineData("*\r\n")]
    [InlineData("*+1\r\n")]
    [InlineData("*01\r\n")]
    [InlineData("*-0\r\n")]
    [InlineData("* 1\r\n")]
    [InlineData("*1 \r\n")]
    [InlineData("*51\r\n")]
    [InlineData("*99999999999999999999\r\n")]
    public void InvalidMultibulkLength(string input) => Check(input, "ERR Protocol error: invalid multibulk length");

    [Theory]
    [InlineData("*1\r\n$x\r\n")]
    [InlineData("*1\r\n$-1\r\n")]
    [InlineData("*1\r\n$\r\n")]
    [InlineData("*1\r\n$01\r\n")]
    [InlineData("*1\r\n$101\r\n")]
    public void InvalidBulkLength(string input) => Check(input, "ERR Protocol error: invalid bulk length");

    [Fact]
    public void BulkOverLimitRejectedAtHeader()
    {
        // Default limits: 512 MiB + 1 is refused as soon as the header line is complete.
        byte[] input = Fragmenter.Bytes("*2\r\n$3\r\nSET\r\n$536870913\r\n");
        foreach ((_, int[] ends) in Fragmenter.Patterns(input.Length))
        {
            Assert.Equal(["ERR Protocol error: invalid bulk length"], Run(input, ends, RespLimits.Default));
        }

        Check("*2\r\n$3\r\nSET\r\n$536870912\r\n", RespLimits.Default, "…");
    }

    [Fact]
    public void ExpectedDollar()
    {
        Check("*2\r\n$3\r\nGET\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'");
        Check("*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '");
    }

    [Fact]
    public void ExpectedDollarWaitsForTheLine() => Check("*1\r\nXYZ", "…");

    [Fact]
    public void TooBigMultibulkCountString()
    {
        Check("*" + new string('1', 63), "…");
        Check("*" + new string('1', 64), "ERR Protocol error: too big mbulk count string");
    }

    [Fact]
    public void TooBigBulkCountString()
    {
        Check("*1\r\n$" + new string('1', 63), "…");
        Check("*1\r\n$" + new string('1', 64), "ERR Protocol error: too big bulk count string");
        Check("*1\r\n" + new string('X', 65), "ERR Protocol error: too big bulk count string");
    }

    [Fact]
    public void TooBigInlineRequest()
    {
        Check(new string('a', 64), "…");
        Check(new string('a', 65), "ERR Protocol error: too big inline request");
    }

    [Fact]
    public void LongHeaderLineIsJudgedOnItsValue() => Check("*" + new string('1', 60) + "\r\n", "ERR Protocol error: invalid multibulk length");

    [Fact]
    public void DefaultInlineLimitIs64K()
    {
        byte[] ok = Fragmenter.Bytes(new string('a', 64 * 1024));
        Assert.Equal(["…"], Run(ok, [ok.Length], RespLimits.Default));
        byte[] tooBig = Fragmenter.Bytes(new string('a', (64 * 1024) + 1));
        Assert.Equal(["ERR Protocol error: too big inline request"], Run(tooBig, [tooBig.Length], RespLimits.Default));
        Assert.Equal(["ERR Protocol error: too big inline request"], Run(tooBig, [64 * 1024, tooBig.Length], RespLimits.Default));
        byte[] line = Fragmenter.Bytes("ECHO " + new string('a', 60000) + "\r\n");
        foreach ((_, int[] ends) in Fragmenter.Patterns(line.Length, everySplit: false))
        {
            Assert.Equal(["[ECHO|" + new string('a', 60000) + "]"], Run(line, ends, RespLimits.Default));
        }
    }

    [Fact]
    public void UnauthenticatedLimits()
    {
        byte[] eleven = Fragmenter.Bytes("*11\r\n");
        Assert.Equal(["ERR Protocol error: unauthenticated multibulk length"], Run(eleven, [eleven.Length], RespLimits.Default, requireAuth: true));
        byte[] ten = Fragmenter.Bytes("*10\r\n");
        Assert.Equal(["…"], Run(ten, [ten.Length], RespLimits.Default, requireAuth: true));
        byte[] big = Fragmenter.Bytes("*1\r\n$16385\r\n");
        Assert.Equal(["ERR Protocol error: unauthenticated bulk length"], Run(big, [big.Length], RespLimits.Default, requireAuth: true));
    }

    [Fact]
    public void LargeBulkArrivesInPieces()
    {
        string payload = new string('v', 100_000);
        byte[] input = Fragmenter.Bytes($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${payload.Length}\r\n{payload}\r\n");
        foreach ((_, int[] ends) in Fragmenter.Patterns(input.Length, everySplit: false))
        {
            Assert.Equal(["[SET|k|" + payload + "]"], Run(input, ends, RespLimits.Default));
        }
    }

    [Fact]
    public void ManyArgumentsGrowArgs()
    {
        var sb = new StringBuilder("*40\r\n");
        var expected = new StringBuilder("[");
        for (int i = 0; i < 40; i++)
        {
            sb.Append($"${i.ToString().Length}\r\n{i}\r\n");
            expected.Append(i == 0 ? "" : "|").Append(i);
        }

        Check(sb.ToString(), expected.Append(']').ToString());
    }

    [Fact]
    public void InlineArgsAreSlicesUnlessEscaped()
    {
        byte[] input = Fragmenter.Bytes("SET \"k\" \"a\\x41\"\r\n");
        var scanner = new RespRequestScanner();
        var args = new RespArgs();
        Assert.Equal(RespScanStatus.Complete, scanner.TryScan(input, args, out int consumed, out _));
        Assert.Equal(input.Length, consumed);
        Assert.True(args.TryGetRange(0, out int offset, out int length));
        Assert.Equal((0, 3), (offset, length));
        Assert.True(args.TryGetRange(1, out offset, out length));
        Assert.Equal((5, 1), (offset, length));
        Assert.False(args.TryGetRange(2, out _, out length));
        Assert.Equal(2, length);
        Assert.Equal("aA"u8.ToArray(), args.Get(input, 2).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => args.Get(input, 3).Length);
    }

    [Fact]
    public void ResetForgetsPartialRequest()
    {
        var scanner = new RespRequestScanner();
        var args = new RespArgs();
        Assert.Equal(RespScanStatus.NeedMoreData, scanner.TryScan("*2\r\n$3\r\nGET\r\n"u8, args, out _, out _));
        Assert.False(scanner.IsIdle);
        scanner.Reset();
        Assert.True(scanner.IsIdle);
        Assert.Equal(RespScanStatus.Complete, scanner.TryScan("PING\r\n"u8, args, out int consumed, out _));
        Assert.Equal(6, consumed);
        Assert.Equal(1, args.Count);
    }

    [Fact]
    public void ErrorMessagesAreExact()
    {
        Assert.Equal("ERR Protocol error: invalid multibulk length", new RespProtocolError(RespProtocolErrorKind.InvalidMultibulkLength).Message);
        Assert.Equal("ERR Protocol error: expected '$', got 'x'", new RespProtocolError(RespProtocolErrorKind.ExpectedDollar, (byte)'x').Message);
        Assert.False(default(RespProtocolError).IsError);
    }
}
