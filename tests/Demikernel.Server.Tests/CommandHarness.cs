using System.Text;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server.Commands;
using Demikernel.Server.Logging;
using Demikernel.Server.Store;
using Microsoft.Extensions.Logging;

namespace Demikernel.Server.Tests;

/// <summary>
/// Drives command handlers through the real dispatcher without a socket: builds a RESP request, scans it with the
/// server's request scanner, runs <see cref="CommandTable.Execute"/> and returns the exact reply bytes. The libOS is
/// catloop on a <see cref="VirtualTimeProvider"/>, so tests move time with <see cref="Advance"/>.
/// </summary>
/// <example><code>
/// using var h = new CommandHarness();
/// Assert.Equal("+OK\r\n", h.Run("SET", "k", "v"));
/// Assert.Equal("$1\r\nv\r\n", h.Run("GET", "k"));
/// </code></example>
public sealed class CommandHarness : IDisposable
{
    private readonly RespRequestScanner _scanner = new();
    private readonly RespArgs _args = new(16);
    private readonly ReplyBuffer _reply;

    /// <param name="start">Where the virtual clock starts (default: 2026-01-01).</param>
    public CommandHarness(ServerOptions? options = null, ILogger? log = null, LogLevelSwitch? logLevel = null, DateTimeOffset? start = null)
    {
        Clock = new VirtualTimeProvider(start);
        LibOS = Demikernel.LibOS.Create("catloop", time: Clock);
        Server = new RedisServer(LibOS, options ?? new ServerOptions(), log, logLevel);
        Client = new ClientState(1, default, default, default, Server.NowMs) { Authenticated = true, User = Server.Acl.Default };
        _reply = new ReplyBuffer(LibOS);
    }

    public VirtualTimeProvider Clock { get; }
    public DemiLibOS LibOS { get; }
    public RedisServer Server { get; }
    public ClientState Client { get; }

    /// <summary>The client's selected database.</summary>
    public RedisDatabase Db => Server.Databases[Client.Database];

    /// <summary>Unix ms of the virtual clock.</summary>
    public long NowMs => Server.NowMs;

    public void Advance(TimeSpan delta) => Clock.Advance(delta);

    public void AdvanceMs(long ms) => Clock.Advance(TimeSpan.FromMilliseconds(ms));

    /// <summary>Switches the client (and its replies) between RESP2 and RESP3.</summary>
    public RespVersion Protocol
    {
        get => Client.Protocol;
        set => Client.Protocol = value;
    }

    /// <summary>Runs one command given as strings (UTF-8) and returns the reply as text.</summary>
    public string Run(params string[] args) => Encoding.UTF8.GetString(Execute(args.Select(Encoding.UTF8.GetBytes).ToArray()));

    /// <summary>Runs one command given as raw arguments and returns the exact reply bytes.</summary>
    public byte[] Execute(params byte[][] args) => ExecuteRequest(EncodeRequest(args));

    /// <summary>Runs every request in <paramref name="request"/> (pipelining) and returns all replies.</summary>
    public byte[] ExecuteRequest(ReadOnlySpan<byte> request)
    {
        int offset = 0;
        while (offset < request.Length)
        {
            var status = _scanner.TryScan(request[offset..], _args, out int consumed, out var error);
            if (status != RespScanStatus.Complete) throw new InvalidOperationException($"request did not scan: {status} {error}");
            if (_args.Count > 0)
            {
                _reply.Version = Client.Protocol;
                var context = new CommandContext(request[offset..], _args, Client, Server, _reply) { FrameLength = consumed };
                Server.Commands.Execute(ref context);
            }
            offset += consumed;
        }
        if (_reply.IsEmpty) return [];
        var sga = _reply.Take();
        try
        {
            return sga.ToArray();
        }
        finally
        {
            LibOS.SgaFree(sga);
        }
    }

    /// <summary>Bytes the test thread allocates running <paramref name="request"/> 20,000 times through the dispatcher,
    /// after 2,000 warm-up runs: the best of up to six rounds (0 as soon as one round allocates nothing), so a stray
    /// JIT or tiering allocation does not count.</summary>
    public long SteadyStateAllocation(byte[] request)
    {
        var scanner = new RespRequestScanner();
        var args = new RespArgs(16);
        var reply = new ReplyBuffer(LibOS);
        // A call slower than slowlog-log-slower-than (10 ms: a descheduled thread on a busy machine) is copied into the
        // slow log, which allocates by design; the gate measures the commands, not the machine's load.
        Server.Config.Set("slowlog-log-slower-than", "-1");
        void RunOnce()
        {
            scanner.TryScan(request, args, out _, out _);
            var context = new CommandContext(request, args, Client, Server, reply);
            Server.Commands.Execute(ref context);
            LibOS.SgaFree(reply.Take());
        }
        return AllocationGate.SteadyStateBytes(RunOnce);
    }

    /// <summary>A RESP multibulk request.</summary>
    public static byte[] EncodeRequest(params byte[][] args)
    {
        var ms = new MemoryStream();
        void Write(string s) => ms.Write(Encoding.ASCII.GetBytes(s));
        Write($"*{args.Length}\r\n");
        foreach (var a in args)
        {
            Write($"${a.Length}\r\n");
            ms.Write(a);
            Write("\r\n");
        }
        return ms.ToArray();
    }

    public static byte[] EncodeRequest(params string[] args) => EncodeRequest(args.Select(Encoding.UTF8.GetBytes).ToArray());

    // ---- reply builders for assertions ----

    public static string Bulk(string s) => $"${Encoding.UTF8.GetByteCount(s)}\r\n{s}\r\n";

    public static string Int(long n) => $":{n}\r\n";

    public static string Err(string text) => $"-{text}\r\n";

    public static string Array(params string[] items) => $"*{items.Length}\r\n{string.Concat(items)}";

    public static string BulkArray(params string[] items) => Array(items.Select(Bulk).ToArray());

    public const string Ok = "+OK\r\n";
    public const string Nil = "$-1\r\n";
    public const string NilArray = "*-1\r\n";

    public void Dispose()
    {
        _reply.Discard();
        LibOS.Dispose();
    }
}
