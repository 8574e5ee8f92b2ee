using Demikernel.InetStack.Tcp;
using Demikernel.NetSim;

namespace Demikernel.InetStack.Tests;

/// <summary>Small runs of the NetSim benchmark: the issue's acceptance criteria in miniature.</summary>
public class NetSimTests
{
    [Theory]
    [InlineData(CongestionControlKind.Cubic)]
    [InlineData(CongestionControlKind.NewReno)]
    public void ACleanBottleneckLinkRunsAtNinetyPercentOrMore(CongestionControlKind kind)
    {
        var options = new NetSimOptions { Connections = 4, Bytes = 2_000_000, CongestionControl = kind, Seed = 1 };
        var result = NetSimRunner.Run(options);
        Assert.True(result.Ok, result.Report(options));
        Assert.True(result.GoodputBitsPerSecond >= 0.9 * options.Bandwidth, result.Report(options));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void EveryTransferCompletesIntactUnderFivePercentLossWithReorderingDuplicationAndCorruption(int seed)
    {
        var options = new NetSimOptions
        {
            Connections = 4, Bytes = 300_000, Loss = 0.05, Reorder = 0.05, Duplicate = 0.01, Corrupt = 0.001, Seed = seed,
        };
        var result = NetSimRunner.Run(options);
        Assert.True(result.Ok, result.Report(options));
        Assert.Equal(4 * 300_000, result.BytesDelivered);
        Assert.True(result.Retransmissions > 0);
        Assert.Contains("integrity: ok", result.Report(options));
    }

    [Fact]
    public void OptionsParseTheIssuesCommandLine()
    {
        var o = NetSimOptions.Parse(["--connections", "8", "--bytes", "50000000", "--loss", "0.05", "--reorder", "0.05", "--duplicate", "0.01",
            "--corrupt", "0.001", "--bandwidth", "1gbit", "--latency", "50us", "--seed", "1"]);
        Assert.Equal(8, o.Connections);
        Assert.Equal(50_000_000, o.Bytes);
        Assert.Equal(0.05, o.Loss);
        Assert.Equal(1_000_000_000, o.Bandwidth);
        Assert.Equal(TimeSpan.FromMicroseconds(50), o.Latency);
        Assert.Equal(100_000_000, NetSimOptions.BitRate("100mbit"));
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), NetSimOptions.Duration("1.5ms"));
        Assert.Throws<FormatException>(() => NetSimOptions.Parse(["--loss", "2"]));
        Assert.Throws<FormatException>(() => NetSimOptions.Parse(["--frobnicate", "1"]));
    }
}
