using BenchmarkDotNet.Attributes;
using Demikernel.Runtime;

namespace Demikernel.Bench;

/// <summary>
/// A 64-byte echo round trip over catmem within one libOS (client push, server pop+push, client pop, one thread), on a
/// catmem libOS and on catnap with catmem beside it (the server's catmem-listen: Runtime's CombinedTransport). The
/// difference is what the combination adds to each catmem operation: its poll of every member, catnap's epoll_wait
/// every 16th pass.
/// </summary>
[MemoryDiagnoser]
public class CatmemEchoBenchmarks
{
    private DemiLibOS _libos = null!;
    private QDesc _client, _server;
    private Sga _message;

    [Params("catmem", "catnap+catmem")]
    public string Transports { get; set; } = "catmem";

    [GlobalSetup]
    public void Setup()
    {
        _libos = Transports == "catmem" ? LibOS.Create("catmem") : LibOS.Create("catnap", null, null, ["catmem"]);
        _libos.Socket("catmem", SocketKind.Stream, out var listener);
        _libos.Bind(listener, IPv4Endpoint.Loopback(0));
        _libos.Listen(listener, 16);
        _libos.GetSockName(listener, out var at);
        _libos.Socket("catmem", SocketKind.Stream, out _client);
        _libos.Accept(listener, out var accept);
        _libos.Connect(_client, at, out var connect);
        _libos.Wait(connect, out _);
        _libos.Wait(accept, out var accepted);
        _server = accepted.AcceptedQd;
        _message = _libos.SgaAlloc(64);
    }

    [GlobalCleanup]
    public void Cleanup() => _libos.Dispose();

    [Benchmark]
    public int EchoRoundTrip()
    {
        _libos.Push(_client, _message, out var qt);
        _libos.Wait(qt, out _);
        _libos.Pop(_server, out qt);
        _libos.Wait(qt, out var request);
        _libos.Push(_server, request.Sga, out qt);
        _libos.Wait(qt, out _);
        _libos.SgaFree(request.Sga);
        int received = 0;
        while (received < 64)
        {
            _libos.Pop(_client, out qt);
            _libos.Wait(qt, out var reply);
            received += reply.Sga.TotalLength;
            _libos.SgaFree(reply.Sga);
        }
        return received;
    }
}
