using BenchmarkDotNet.Attributes;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server;
using Demikernel.Server.Commands;

namespace Demikernel.Bench;

/// <summary>
/// The server's hot path without the network: scan a request out of a receive buffer, dispatch it through the command
/// table, write the reply into libOS buffers, hand them over and free them — what a session does per request.
/// </summary>
[MemoryDiagnoser]
public class ServerBenchmarks
{
    private static readonly byte[] SetRequest = "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nxxx\r\n"u8.ToArray();
    private static readonly byte[] GetRequest = "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n"u8.ToArray();
    private static readonly byte[] Pipeline16 = [.. Enumerable.Range(0, 8).SelectMany(_ => SetRequest.Concat(GetRequest))];

    private RequestRunner _runner = null!;
    private readonly RespRequestScanner _scanner = new();
    private readonly RespArgs _args = new();

    [GlobalSetup]
    public void Setup()
    {
        _runner = new RequestRunner();
        _runner.Run(SetRequest);
    }

    [GlobalCleanup]
    public void Cleanup() => _runner.Dispose();

    [Benchmark]
    public int ScanSet()
    {
        _scanner.TryScan(SetRequest, _args, out int consumed, out _);
        return consumed + _args.Count;
    }

    [Benchmark]
    public int Set() => _runner.Run(SetRequest);

    [Benchmark]
    public int Get() => _runner.Run(GetRequest);

    /// <summary>16 pipelined requests (8 SET + 8 GET) answered in one reply SGA.</summary>
    [Benchmark(OperationsPerInvoke = 16)]
    public int PipelinedSetGet() => _runner.Run(Pipeline16);
}

/// <summary>A server on catloop and one authenticated client's session state: requests run through the command table
/// as a session runs them, the reply taken and freed.</summary>
internal sealed class RequestRunner : IDisposable
{
    private readonly DemiLibOS _libos = LibOS.Create("catloop");
    private readonly RedisServer _server;
    private readonly ClientState _client;
    private readonly ReplyBuffer _reply;
    private readonly RespRequestScanner _scanner = new();
    private readonly RespArgs _args = new();

    public RequestRunner()
    {
        _server = new RedisServer(_libos, new ServerOptions { Port = 0 });
        _client = new ClientState(1, default, default, default, _server.NowMs) { Authenticated = true };
        _reply = new ReplyBuffer(_libos);
    }

    /// <summary>Scans and executes every request in <paramref name="buffer"/>; the reply's length.</summary>
    public int Run(ReadOnlySpan<byte> buffer)
    {
        int offset = 0;
        while (offset < buffer.Length)
        {
            _scanner.TryScan(buffer[offset..], _args, out int consumed, out _);
            var context = new CommandContext(buffer[offset..], _args, _client, _server, _reply) { FrameLength = consumed };
            _server.Commands.Execute(ref context);
            offset += consumed;
        }
        var sga = _reply.Take();
        int length = sga.TotalLength;
        _libos.SgaFree(sga);
        return length;
    }

    public void Dispose() => _libos.Dispose();
}
