using System.Text;

namespace Demikernel.Resp.Tests;

public class NumbersTests
{
    [Theory]
    [InlineData("0", true, 0L)]
    [InlineData("1", true, 1L)]
    [InlineData("-1", true, -1L)]
    [InlineData("123456", true, 123456L)]
    [InlineData("9223372036854775807", true, long.MaxValue)]
    [InlineData("-9223372036854775808", true, long.MinValue)]
    [InlineData("9223372036854775808", false, 0L)]
    [InlineData("-9223372036854775809", false, 0L)]
    [InlineData("18446744073709551616", false, 0L)]
    [InlineData("99999999999999999999", false, 0L)]
    [InlineData("-0", false, 0L)]
    [InlineData("01", false, 0L)]
    [InlineData("00", false, 0L)]
    [InlineData("-01", false, 0L)]
    [InlineData(" 1", false, 0L)]
    [InlineData("1 ", false, 0L)]
    [InlineData("+1", false, 0L)]
    [InlineData("", false, 0L)]
    [InlineData("-", false, 0L)]
    [InlineData("1a", false, 0L)]
    [InlineData("1.0", false, 0L)]
    [InlineData("000000000000000000001", false, 0L)]
    public void ParseInt64(string text, bool ok, long expected)
    {
        Assert.Equal(ok, RedisNumbers.TryParseInt64(Encoding.ASCII.GetBytes(text), out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1", 1.0)]
    [InlineData("-1.5", -1.5)]
    [InlineData("+1.5", 1.5)]
    [InlineData("1.", 1.0)]
    [InlineData(".5", 0.5)]
    [InlineData("1e3", 1000.0)]
    [InlineData("1E-3", 0.001)]
    [InlineData("1e+3", 1000.0)]
    [InlineData("0", 0.0)]
    [InlineData("-0", -0.0)]
    [InlineData("0.000", 0.0)]
    [InlineData("007", 7.0)]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("+inf", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("INF", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("0x10", 16.0)]
    [InlineData("0x1p-2", 0.25)]
    [InlineData("4.9e-324", 4.9e-324)]
    public void ParseDoubleAccepts(string text, double expected)
    {
        Assert.True(RedisNumbers.TryParseDouble(Encoding.ASCII.GetBytes(text), out double value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("nan")]
    [InlineData("NaN")]
    [InlineData("-nan")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData(".")]
    [InlineData("-")]
    [InlineData("e5")]
    [InlineData("1.2.3")]
    [InlineData("1e400")]
    [InlineData("1e-400")]
    [InlineData("infinit")]
    [InlineData("abc")]
    [InlineData("1,5")]
    [InlineData("0x")]
    public void ParseDoubleRejects(string text) => Assert.False(RedisNumbers.TryParseDouble(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void ParseDoubleRejectsOverlongInput()
    {
        string text = "1." + new string('0', RedisNumbers.MaxDoubleInputLength);
        Assert.False(RedisNumbers.TryParseDouble(Encoding.ASCII.GetBytes(text), out _));
    }

    [Theory]
    [InlineData(1.5, "1.5")]
    [InlineData(3.0, "3")]
    [InlineData(0.0, "0")]
    [InlineData(-0.0, "-0")]
    [InlineData(0.1, "0.10000000000000001")]
    [InlineData(1.1, "1.1000000000000001")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(100.0, "100")]
    [InlineData(1e16, "10000000000000000")]
    [InlineData(1e17, "1e+17")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1.0000000000000001e-05")]
    [InlineData(1e-300, "1e-300")]
    [InlineData(double.MaxValue, "1.7976931348623157e+308")]
    [InlineData(double.Epsilon, "4.9406564584124654e-324")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    [InlineData(double.NaN, "nan")]
    public void FormatDoubleLikePrintf17g(double value, string expected)
    {
        Span<byte> buffer = stackalloc byte[RedisNumbers.MaxDoubleLength];
        Assert.True(RedisNumbers.TryFormatDouble(value, buffer, out int written));
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer[..written]));
        Assert.False(RedisNumbers.TryFormatDouble(value, buffer[..(written - 1)], out _));
    }

    // Golden values produced by C printf("%.17g") (CPython's % operator) for pseudo-random doubles.
    [Theory]
    [InlineData(-352334.4703336753, "-352334.47033367527")]
    [InlineData(3.035766360112293e-65, "3.0357663601122928e-65")]
    [InlineData(7.243628666754276e+22, "7.2436286667542757e+22")]
    [InlineData(-811.7399, "-811.73990000000003")]
    [InlineData(-884002.1504505863, "-884002.15045058634")]
    [InlineData(2.6878898238430084e-176, "2.6878898238430084e-176")]
    [InlineData(859472336891716.8, "859472336891716.75")]
    [InlineData(-860.0, "-860")]
    [InlineData(102094.50758277159, "102094.50758277159")]
    [InlineData(6.824876503085954e+201, "6.8248765030859543e+201")]
    [InlineData(9.474497007074875e-08, "9.4744970070748747e-08")]
    [InlineData(154.206, "154.20599999999999")]
    [InlineData(-900821.3732204571, "-900821.37322045711")]
    [InlineData(6.17595625806472e-280, "6.1759562580647203e-280")]
    [InlineData(0.028960928633167626, "0.028960928633167626")]
    [InlineData(81.3718, "81.371799999999993")]
    [InlineData(-383036.35179613123, "-383036.35179613123")]
    [InlineData(3.3505681211309543e+112, "3.3505681211309543e+112")]
    [InlineData(10.305571244359136, "10.305571244359136")]
    [InlineData(-255.2049, "-255.20490000000001")]
    [InlineData(424221.5314923073, "424221.53149230732")]
    [InlineData(6.289086022413648e-272, "6.2890860224136484e-272")]
    [InlineData(4.964144951134918e+23, "4.964144951134918e+23")]
    [InlineData(-144.82, "-144.81999999999999")]
    [InlineData(-68796.26832065196, "-68796.268320651958")]
    [InlineData(-2.831331093647381e-29, "-2.8313310936473809e-29")]
    [InlineData(2.9976699686368233, "2.9976699686368233")]
    [InlineData(398.0, "398")]
    [InlineData(-836289.9784084603, "-836289.97840846027")]
    [InlineData(-7216714577944661.0, "-7216714577944661")]
    [InlineData(8.751374955734289e+17, "8.7513749557342886e+17")]
    [InlineData(-424.0, "-424")]
    [InlineData(-763868.4434900758, "-763868.44349007576")]
    [InlineData(-5.738570894011246e-207, "-5.7385708940112458e-207")]
    [InlineData(1.5198453466050478e+20, "1.5198453466050478e+20")]
    [InlineData(-157.0, "-157")]
    [InlineData(529141.7324256261, "529141.73242562613")]
    [InlineData(-3.452088025474884e+178, "-3.4520880254748839e+178")]
    [InlineData(340122362191.1955, "340122362191.1955")]
    [InlineData(188.7398, "188.7398")]
    public void FormatDoubleMatchesPrintfGolden(double value, string expected) => FormatDoubleLikePrintf17g(value, expected);

    // Golden texts printed by redis-server 7.0.15 for SET k <start>, INCRBYFLOAT k <increment>.
    [Theory]
    [InlineData("10.5", "0.1", "10.6")]
    [InlineData("0.1", "0.2", "0.3")]
    [InlineData("1.1", "2.2", "3.3")]
    [InlineData("5000", "1.3333333333333333333", "5001.33333333333333348")]
    [InlineData("3.0e-5", "1e-20", "0.00003")]
    [InlineData("0", "-1e-20", "0")]
    [InlineData("0", "6e-18", "0.00000000000000001")]
    [InlineData("0", "1.5e-17", "0.00000000000000002")]
    [InlineData("0", "0.99999999999999999", "0.99999999999999999")]
    [InlineData("-5.25", "0", "-5.25")]
    [InlineData("0", "0x1.8p3", "12")]
    [InlineData("0", "1e-4940", "0")]
    [InlineData("1", "-1", "0")]
    [InlineData("-0.0", "0", "0")]
    [InlineData("0", "123.456e-5", "0.00123456")]
    [InlineData("9007199254740993", "0.5", "9007199254740993.5")]
    public void LongDoubleSumsPrintAsRedisServer(string start, string increment, string expected)
    {
        Assert.True(LongDouble.TryParse(Encoding.ASCII.GetBytes(start), out var a));
        Assert.True(LongDouble.TryParse(Encoding.ASCII.GetBytes(increment), out var b));
        Assert.Equal(expected, (a + b).ToHumanString());
    }

    [Fact]
    public void LongDoubleKeepsWhatDoubleCannotHold()
    {
        // 1e300 in 80 bits is not double's 1e300: redis-server prints 1000000000000000000008997324079559...
        Assert.True(LongDouble.TryParse("1e300"u8, out var big));
        Assert.StartsWith("100000000000000000000899732407955919387052394427329074793826008232126564659618", big.ToHumanString());
        Assert.Equal(301, big.ToHumanString().Length);
        Assert.True(LongDouble.TryParse("1.18973149535723176502e+4932"u8, out var max)); // the largest finite value
        Assert.StartsWith("118973149535723176502126385303097020516906332229462420044032373389173700552297", max.ToHumanString());
        Assert.Equal(4933, max.ToHumanString().Length);
        Assert.False((max + max).IsFinite);
        Assert.True(LongDouble.TryParse("1e-4940"u8, out _)); // subnormal: below the normal range, above zero
    }

    [Theory]
    [InlineData("1e5000")]   // overflow (ERANGE, HUGE_VAL)
    [InlineData("-1e-5000")] // underflow to zero
    [InlineData("1e-4960")]
    [InlineData("nan")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1e")]
    [InlineData("0x")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("1.2.3")]
    public void LongDoubleRefusesWhatString2ldRefuses(string text) =>
        Assert.False(LongDouble.TryParse(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void LongDoubleAcceptsInfinityAsString2ldDoes()
    {
        Assert.True(LongDouble.TryParse("-Infinity"u8, out var inf));
        Assert.False(inf.IsFinite);
        Assert.True(LongDouble.TryParse("1"u8, out var one));
        Assert.False((one + inf).IsFinite);
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(7L, "7")]
    [InlineData(-7L, "-7")]
    [InlineData(1234567890L, "1234567890")]
    [InlineData(long.MaxValue, "9223372036854775807")]
    [InlineData(long.MinValue, "-9223372036854775808")]
    public void FormatInt64(long value, string expected)
    {
        Span<byte> buffer = stackalloc byte[RedisNumbers.MaxInt64Length];
        Assert.True(RedisNumbers.TryFormatInt64(value, buffer, out int written));
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer[..written]));
        Assert.False(RedisNumbers.TryFormatInt64(value, buffer[..(written - 1)], out _));
        Assert.True(RedisNumbers.TryParseInt64(buffer[..written], out long back));
        Assert.Equal(value, back);
    }
}
