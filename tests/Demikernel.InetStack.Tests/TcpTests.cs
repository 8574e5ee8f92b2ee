using System.Security.Cryptography;
using Demikernel.InetStack.Phy;
using Demikernel.InetStack.Tcp;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Tests;

public class TcpConnectionTests
{
    private const string IpA = "10.77.0.1", IpB = "10.77.0.2";
    private const string MacA = "02:00:00:00:00:01", MacB = "02:00:00:00:00:02";

    private static InetStackOptions Fast(InetStackOptions o) => o with
    {
        Tcp = o.Tcp with { IsnSecret = new byte[16], TimeWait = TimeSpan.FromSeconds(1) },
    };

    private static (SimHarness Sim, SimHarness.Host A, SimHarness.Host B) Pair(int seed = 1, LinkOptions? link = null, Func<InetStackOptions, InetStackOptions>? configure = null)
    {
        var sim = new SimHarness(seed, link);
        var a = sim.AddHost(IpA, MacA, o => (configure ?? Fast)(Fast(o)));
        var b = sim.AddHost(IpB, MacB, o => (configure ?? Fast)(Fast(o)));
        return (sim, a, b);
    }

    private static QDesc Listen(DemiLibOS libos, ushort port)
    {
        Assert.Equal(0, libos.Socket(SocketKind.Stream, out var qd));
        Assert.Equal(0, libos.Bind(qd, new IPv4Endpoint(0, port)));
        Assert.Equal(0, libos.Listen(qd, 16));
        return qd;
    }

    /// <summary>Connects A to B's listener; returns (client qd on A, server qd on B).</summary>
    private static (QDesc Client, QDesc Server) Connect(SimHarness.Host a, SimHarness.Host b, QDesc listener, ushort port)
    {
        Assert.Equal(0, b.LibOS.Accept(listener, out var accept));
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, a.LibOS.Connect(client, b.Endpoint(port), out var connect));
        a.LibOS.WaitOk(connect);
        var accepted = b.LibOS.WaitOk(accept);
        Assert.Equal(0, a.LibOS.GetSockName(client, out var local));
        Assert.Equal(local, accepted.Address);
        return (client, accepted.AcceptedQd);
    }

    private static TcpState StateOf(DemiLibOS libos, QDesc qd) => ((TcpSocket)libos.GetQueue(qd)!).State;

    [Fact]
    public void HandshakeThenEchoBothWays()
    {
        var (sim, a, b) = Pair();
        using var simScope = sim;
        var listener = Listen(b.LibOS, 6379);
        var (client, server) = Connect(a, b, listener, 6379);
        Assert.Equal(TcpState.Established, StateOf(a.LibOS, client));
        Assert.Equal(TcpState.Established, StateOf(b.LibOS, server));

        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text("PING\r\n"), out var push));
        a.LibOS.WaitOk(push);
        Assert.Equal(0, b.LibOS.Pop(server, out var pop));
        var request = b.LibOS.WaitOk(pop);
        Assert.Equal("PING\r\n", request.Sga.AsText());
        b.LibOS.SgaFree(request.Sga);

        Assert.Equal(0, b.LibOS.Push(server, b.LibOS.Text("+PONG\r\n"), out var reply));
        b.LibOS.WaitOk(reply);
        Assert.Equal(0, a.LibOS.Pop(client, out var popA));
        Assert.Equal("+PONG\r\n", a.LibOS.WaitOk(popA).Sga.AsText());
        Assert.Equal(0, a.Interface.Tcp.Stats.Retransmissions + b.Interface.Tcp.Stats.Retransmissions);
    }

    [Fact]
    public void ConnectToAClosedPortIsRefusedFast()
    {
        var (sim, a, b) = Pair();
        using var simScope = sim;
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, a.LibOS.Connect(client, b.Endpoint(6380), out var connect));
        var start = sim.Clock.Elapsed;
        Assert.Equal(0, a.LibOS.Wait(connect, out var result, TimeSpan.FromSeconds(5)));
        Assert.Equal(Errno.ECONNREFUSED, result.Ret);
        Assert.True(sim.Clock.Elapsed - start < TimeSpan.FromMilliseconds(1), $"refused after {sim.Clock.Elapsed - start}");
        Assert.Equal(1, b.Interface.Tcp.Stats.ResetsSent);
    }

    [Fact]
    public void ConnectTimesOutWhenNobodyAnswers()
    {
        var (sim, a, b) = Pair(configure: o => o with { Tcp = o.Tcp with { SynRetries = 2 } });
        using var simScope = sim;
        sim.Network.SetLink(a.Port, b.Port, new LinkOptions { Down = true });
        a.Interface.Arp.Cache.Insert(b.Ip, b.Mac, 0);
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Stream, out var client));
        Assert.Equal(0, a.LibOS.Connect(client, b.Endpoint(6379), out var connect));
        Assert.Equal(0, a.LibOS.Wait(connect, out var result, TimeSpan.FromSeconds(60)));
        Assert.Equal(Errno.ETIMEDOUT, result.Ret);
        // SYN at 0, retries after 1 s and 2 s more, given up 4 s after that: 7 s.
        Assert.Equal(TimeSpan.FromSeconds(7), sim.Clock.Elapsed);
        Assert.Equal(2, a.Interface.Tcp.Stats.Retransmissions);
    }

    [Fact]
    public void OrderlyCloseGivesEndOfStreamAndTimeWaitNeverBlocks()
    {
        var (sim, a, b) = Pair();
        using var simScope = sim;
        var listener = Listen(b.LibOS, 6379);
        var (client, server) = Connect(a, b, listener, 6379);
        Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text("bye"), out _));
        var tcbA = ((TcpSocket)a.LibOS.GetQueue(client)!).ControlBlock!;
        Assert.Equal(0, a.LibOS.Close(client)); // returns at once
        Assert.Equal(0, b.LibOS.Pop(server, out var pop));
        Assert.Equal("bye", b.LibOS.WaitOk(pop).Sga.AsText());
        Assert.Equal(0, b.LibOS.Pop(server, out pop));
        var eof = b.LibOS.WaitOk(pop);
        Assert.True(eof.Sga.IsEmpty);
        Assert.Equal(TcpState.CloseWait, StateOf(b.LibOS, server));
        Assert.Equal(0, b.LibOS.Close(server));
        // B's FIN is acknowledged (B's side is gone) while A lingers in TIME-WAIT.
        Assert.True(sim.RunUntil(() => b.Interface.Tcp.ConnectionCount == 0, TimeSpan.FromSeconds(1)));
        Assert.Equal(TcpState.TimeWait, tcbA.State);
        Assert.Equal(1, a.Interface.Tcp.ConnectionCount);
        sim.Network.RunFor(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpState.Closed, tcbA.State);
        Assert.Equal(0, a.Interface.Tcp.ConnectionCount);
    }

    [Fact]
    public void ResetFromPeerFailsPendingPop()
    {
        var (sim, a, b) = Pair();
        using var simScope = sim;
        var listener = Listen(b.LibOS, 6379);
        var (client, server) = Connect(a, b, listener, 6379);
        Assert.Equal(0, a.LibOS.Pop(client, out var pop));
        ((TcpSocket)b.LibOS.GetQueue(server)!).ControlBlock!.Abort(Errno.ECONNABORTED, sendReset: true);
        Assert.Equal(0, a.LibOS.Wait(pop, out var result, TimeSpan.FromSeconds(1)));
        Assert.Equal(Errno.ECONNRESET, result.Ret);
    }

    private static (string SentHash, string ReceivedHash, long Retransmissions, TimeSpan Elapsed) Transfer(int seed, LinkOptions link, int bytes, Func<InetStackOptions, InetStackOptions>? configure = null)
    {
        var (sim, a, b) = Pair(seed, link, configure);
        using var simScope = sim;
        var listener = Listen(b.LibOS, 5001);
        var (client, server) = Connect(a, b, listener, 5001);
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);

        using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long got = 0;
        bool done = false;
        b.LibOS.Spawn(async () =>
        {
            while (true)
            {
                var r = await b.LibOS.PopAsync(server);
                if (!r.Succeeded || r.Sga.IsEmpty) break;
                received.AppendData(r.Sga.ToArray());
                got += r.Sga.TotalLength;
                b.LibOS.SgaFree(r.Sga);
            }
            done = true;
        });
        const int chunk = 16 * 1024;
        for (int offset = 0; offset < bytes; offset += chunk)
        {
            var sga = a.LibOS.Bytes(data.AsSpan(offset, Math.Min(chunk, bytes - offset)));
            Assert.Equal(0, a.LibOS.Push(client, sga, out var push));
            a.LibOS.WaitOk(push, TimeSpan.FromSeconds(600));
            a.LibOS.SgaFree(sga);
        }
        Assert.Equal(0, a.LibOS.Close(client));
        Assert.True(sim.RunUntil(() => done, TimeSpan.FromSeconds(600)), $"received {got} of {bytes}");
        Assert.Empty(b.LibOS.Faults);
        Assert.Equal(bytes, got);
        return (Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(received.GetHashAndReset()),
            a.Interface.Tcp.Stats.Retransmissions, sim.Clock.Elapsed);
    }

    [Fact]
    public void BulkTransferOnACleanLink()
    {
        var result = Transfer(1, new LinkOptions { Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 1_000_000_000 }, 2_000_000);
        Assert.Equal(result.SentHash, result.ReceivedHash);
        Assert.Equal(0, result.Retransmissions);
    }

    [Fact]
    public void BulkTransferSurvivesLossReorderingDuplicationAndCorruption()
    {
        var link = new LinkOptions
        {
            Latency = TimeSpan.FromMicroseconds(50), Bandwidth = 1_000_000_000, Loss = 0.05, Reordering = 0.05,
            Duplication = 0.01, Corruption = 0.001,
        };
        var first = Transfer(7, link, 300_000);
        Assert.Equal(first.SentHash, first.ReceivedHash);
        Assert.True(first.Retransmissions > 0);
        Assert.Equal(first, Transfer(7, link, 300_000)); // same seed, same run
    }

    [Fact]
    public void ZeroWindowIsProbedUntilTheReaderCatchesUp()
    {
        var (sim, a, b) = Pair(configure: o => o with { Tcp = o.Tcp with { ReceiveBufferSize = 8 * 1024 } });
        using var simScope = sim;
        var listener = Listen(b.LibOS, 5001);
        var (client, server) = Connect(a, b, listener, 5001);
        var sga = a.LibOS.Bytes(new byte[32 * 1024]);
        Assert.Equal(0, a.LibOS.Push(client, sga, out var push));
        a.LibOS.WaitOk(push); // lands in the send buffer; B's window closes after 8 KB
        sim.Network.RunFor(TimeSpan.FromSeconds(3));
        int total = 0;
        while (total < 32 * 1024)
        {
            Assert.Equal(0, b.LibOS.Pop(server, out var pop));
            var r = b.LibOS.WaitOk(pop, TimeSpan.FromSeconds(30));
            total += r.Sga.TotalLength;
            b.LibOS.SgaFree(r.Sga);
        }
        Assert.Equal(32 * 1024, total);
    }

    [Fact]
    public void SimultaneousOpen()
    {
        var (sim, a, b) = Pair();
        using var simScope = sim;
        Assert.Equal(0, a.LibOS.Socket(SocketKind.Stream, out var qa));
        Assert.Equal(0, a.LibOS.Bind(qa, new IPv4Endpoint(0, 5000)));
        Assert.Equal(0, b.LibOS.Socket(SocketKind.Stream, out var qb));
        Assert.Equal(0, b.LibOS.Bind(qb, new IPv4Endpoint(0, 6000)));
        // Both SYNs are in flight before either arrives.
        Assert.Equal(0, a.LibOS.Connect(qa, b.Endpoint(6000), out var ca));
        Assert.Equal(0, b.LibOS.Connect(qb, a.Endpoint(5000), out var cb));
        a.LibOS.WaitOk(ca);
        b.LibOS.WaitOk(cb);
        Assert.Equal(TcpState.Established, StateOf(a.LibOS, qa));
        Assert.Equal(TcpState.Established, StateOf(b.LibOS, qb));
        Assert.Equal(0, a.LibOS.Push(qa, a.LibOS.Text("x"), out _));
        Assert.Equal(0, b.LibOS.Pop(qb, out var pop));
        Assert.Equal("x", b.LibOS.WaitOk(pop).Sga.AsText());
    }

    [Fact]
    public void CapturedSessionReadsCleanlyInTcpdump()
    {
        const string tcpdump = "/usr/bin/tcpdump";
        if (!File.Exists(tcpdump)) return; // optional: apt-get install -y tcpdump
        var path = Path.Combine(Path.GetTempPath(), $"inetstack-tcp-{Environment.ProcessId}.pcap");
        try
        {
            using (var sim = new SimHarness())
            {
                var a = sim.AddHost(IpA, MacA, Fast, phy => new PcapWriter(phy, File.Create(path), sim.Clock));
                var b = sim.AddHost(IpB, MacB, Fast);
                var listener = Listen(b.LibOS, 6379);
                var (client, server) = Connect(a, b, listener, 6379);
                Assert.Equal(0, a.LibOS.Push(client, a.LibOS.Text("hello"), out _));
                Assert.Equal(0, b.LibOS.Pop(server, out var pop));
                b.LibOS.WaitOk(pop);
                a.LibOS.Close(client);
                b.LibOS.Close(server);
                sim.Network.RunFor(TimeSpan.FromMilliseconds(10));
            }
            var psi = new System.Diagnostics.ProcessStartInfo(tcpdump, $"-nn -vv -r {path}") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = System.Diagnostics.Process.Start(psi)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("Request who-has 10.77.0.2 tell 10.77.0.1", output);
            Assert.Contains("Flags [S], cksum", output);
            Assert.Contains("Flags [S.], cksum", output);
            Assert.Contains("Flags [P.], cksum", output);
            Assert.Contains("Flags [F.], cksum", output);
            Assert.Contains("options [mss 1460,nop,nop,sackOK,nop,wscale 3]", output); // 256 KB receive buffer
            Assert.DoesNotContain("incorrect", output);
            Assert.DoesNotContain("bad cksum", output);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
