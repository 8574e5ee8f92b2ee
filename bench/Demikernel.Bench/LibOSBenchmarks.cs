using BenchmarkDotNet.Attributes;
using Demikernel.Runtime;

namespace Demikernel.Bench;

/// <summary>One scheduling decision: wake a task and run it.</summary>
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private sealed class Nop : IRunnable
    {
        public void Run() { }
    }

    private readonly Scheduler _scheduler = new();
    private TaskHandle _handle;

    [GlobalSetup]
    public void Setup()
    {
        // A realistic slab: many idle tasks, one woken.
        for (int i = 0; i < 10_000; i++) _scheduler.Insert(new Nop());
        _handle = _scheduler.Insert(new Nop());
    }

    [Benchmark]
    public int WakeAndRun()
    {
        _scheduler.Wake(_handle);
        return _scheduler.RunReady();
    }
}

/// <summary>Push then pop one SGA through an in-process memory queue (qtokens and Wait).</summary>
[MemoryDiagnoser]
public class MemoryQueueBenchmarks
{
    private DemiLibOS _libos = null!;
    private QDesc _queue;
    private Sga _sga;

    [GlobalSetup]
    public void Setup()
    {
        _libos = LibOS.Create("catloop");
        _libos.Queue(out _queue);
        _sga = _libos.SgaAlloc(64);
    }

    [GlobalCleanup]
    public void Cleanup() => _libos.Dispose();

    [Benchmark]
    public int PushPopRoundTrip()
    {
        _libos.Push(_queue, _sga, out var pushed);
        _libos.Wait(pushed, out _);
        _libos.Pop(_queue, out var popped);
        _libos.Wait(popped, out var result);
        _libos.SgaFree(result.Sga);
        return result.Ret;
    }
}

/// <summary>A 64-byte echo round trip over catnap on loopback: client push, server pop+push, client pop, one thread.</summary>
[MemoryDiagnoser]
public class CatnapEchoBenchmarks
{
    private DemiLibOS _libos = null!;
    private QDesc _client, _server;
    private Sga _message;

    [GlobalSetup]
    public void Setup()
    {
        _libos = LibOS.Create("catnap");
        _libos.Socket(SocketKind.Stream, out var listener);
        _libos.Bind(listener, IPv4Endpoint.Loopback(0));
        _libos.Listen(listener, 16);
        _libos.GetSockName(listener, out var at);
        _libos.Socket(SocketKind.Stream, out _client);
        _libos.Accept(listener, out var accept);
        _libos.Connect(_client, at, out var connect);
        _libos.Wait(connect, out _);
        _libos.Wait(accept, out var accepted);
        _server = accepted.AcceptedQd;
        _libos.SetSockOpt(_client, SocketOption.TcpNoDelay, 1);
        _libos.SetSockOpt(_server, SocketOption.TcpNoDelay, 1);
        _message = _libos.SgaAlloc(64);
    }

    [GlobalCleanup]
    public void Cleanup() => _libos.Dispose();

    [Benchmark]
    public int EchoRoundTrip() => EchoRoundTrip(_libos, _client, _server, _message);

    /// <summary>One round trip of <paramref name="message"/> (64 bytes): the client pushes it, the server pops it and
    /// pushes it back, the client pops until all of it is back. Shared by the echo benchmarks of every libOS.</summary>
    internal static int EchoRoundTrip(DemiLibOS libos, QDesc client, QDesc server, Sga message)
    {
        libos.Push(client, message, out var qt);
        libos.Wait(qt, out _);
        libos.Pop(server, out qt);
        libos.Wait(qt, out var request);
        libos.Push(server, request.Sga, out qt);
        libos.Wait(qt, out _);
        libos.SgaFree(request.Sga);
        int received = 0;
        while (received < 64)
        {
            libos.Pop(client, out qt);
            libos.Wait(qt, out var reply);
            received += reply.Sga.TotalLength;
            libos.SgaFree(reply.Sga);
        }
        return received;
    }
}
