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
    public int EchoRoundTrip() => CatnapEchoBenchmarks.EchoRoundTrip(_libos, _client, _server, _message);
}
