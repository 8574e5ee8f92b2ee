using BenchmarkDotNet.Attributes;
using Demikernel.Runtime;

namespace Demikernel.Bench;

/// <summary>
/// The run loop's own cost on catmem, without a second core: two libOS instances (server and client) in this process,
/// driven from one thread. <see cref="IdlePass"/> is one pass of the client's loop with a pop pending and nothing
/// arriving (what a spinning libOS does between requests: half a pass is the average wait before it sees one);
/// <see cref="EchoRoundTrip"/> is the software of both ends of a 32-byte round trip (client push, server pop and push,
/// client pop), with no waiting for another core. bench/README.md, "Run loop latency", has the numbers.
/// </summary>
[MemoryDiagnoser]
public class CatmemRunLoopBenchmarks
{
    private const int Passes = 1000;
    private DemiLibOS _server = null!, _client = null!;
    private QDesc _serverQd, _clientQd;
    private QToken _pendingPop;
    private Func<bool> _counted = null!;
    private int _passes;

    [GlobalSetup]
    public void Setup()
    {
        var config = new LibOSConfig();
        config.Set("demikernel", "spin_budget_us", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _server = LibOS.Create("catmem", config);
        _client = LibOS.Create("catmem", config);
        _server.Socket(SocketKind.Stream, out var listener);
        _server.Bind(listener, IPv4Endpoint.Loopback(0));
        _server.Listen(listener, 16);
        _server.GetSockName(listener, out var at);
        _server.Accept(listener, out var accept);
        _client.Socket(SocketKind.Stream, out _clientQd);
        _client.Connect(_clientQd, at, out var connect);
        QResult accepted = default;
        bool serverDone = false, clientDone = false;
        while (!serverDone || !clientDone)
        {
            if (!serverDone) serverDone = _server.Wait(accept, out accepted, TimeSpan.Zero) == 0;
            if (!clientDone) clientDone = _client.Wait(connect, out _, TimeSpan.Zero) == 0;
        }
        _serverQd = accepted.AcceptedQd;
        _client.Pop(_clientQd, out _pendingPop);
        _counted = () => ++_passes >= Passes;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Passes)]
    public bool IdlePass()
    {
        _passes = 0;
        return _client.RunUntil(_counted);
    }

    [Benchmark]
    public int EchoRoundTrip()
    {
        var request = _client.SgaAlloc(32);
        _client.Push(_clientQd, request, out var qt);
        _client.SgaFree(request);
        _client.Wait(qt, out _);
        _server.Pop(_serverQd, out qt);
        _server.Wait(qt, out var got);
        _server.Push(_serverQd, got.Sga, out qt);
        _server.SgaFree(got.Sga);
        _server.Wait(qt, out _);
        _client.Wait(_pendingPop, out var reply);
        int length = reply.Sga.TotalLength;
        _client.SgaFree(reply.Sga);
        _client.Pop(_clientQd, out _pendingPop);
        return length;
    }
}
