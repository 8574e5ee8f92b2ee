using System.Text;
using Demikernel.Runtime;
using Demikernel.Server;
using Demikernel.Server.Persistence;
using Microsoft.Extensions.Logging;

namespace Demikernel.Fuzz;

/// <summary>
/// The AOF loader. The input is one AOF file (an optional RDB preamble, then RESP commands), replayed through the
/// real dispatcher into an in-memory server on catloop with a virtual clock. Invariants: Load returns (no exception
/// escapes it) with an error text whenever it fails, and no command handler fails with an exception on the way (the
/// dispatcher answers those and logs them; the logger here turns such a log line into a crash). Inputs that name
/// commands touching files or settings (SAVE, BGSAVE, BGREWRITEAOF, SHUTDOWN, CONFIG, DEBUG) are skipped: the
/// harness runs in the working directory. The manifest target parses manifests: null with a reason, or a manifest.
/// </summary>
internal static class AofTargets
{
    private static readonly FailureLog s_log = new();
    private static readonly Lazy<RedisServer> s_server = new(() =>
    {
        var libos = LibOS.Create("catloop", time: new VirtualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        // proto-max-bulk-len 1 MB: SETRANGE/SETBIT/APPEND may grow a string to it, as they may in redis-server
        return new RedisServer(libos, new ServerOptions { ProtoMaxBulkLen = 1 << 20 }, s_log);
    });

    private static readonly string[] s_skipped = ["save", "shutdown", "config", "rewrite", "debug"];

    public static void AofFile(ReadOnlySpan<byte> input)
    {
        var lower = Encoding.Latin1.GetString(input).ToLowerInvariant();
        foreach (var word in s_skipped)
            if (lower.Contains(word, StringComparison.Ordinal)) return;
        var server = s_server.Value;
        var loader = new AofLoader(server);
        s_log.Failure = null;
        AofFileLoad result;
        try
        {
            result = loader.Load(input, "fuzz.aof", allowRdb: true);
        }
        finally
        {
            loader.ResetTransaction();
            foreach (var db in server.Databases) db.Clear();
        }
        if (s_log.Failure is { } failure) throw new InvariantException($"a command failed while loading: {failure}");
        Invariant.True(result.Ok || result.Error is { Length: > 0 }, "a failed load without an error text");
        Invariant.True(result.ValidLength >= 0 && result.ValidLength <= input.Length, $"valid length {result.ValidLength} of {input.Length}");
    }

    /// <summary>The input as a string value read by the HyperLogLog commands (the "HYLL" header, sparse opcodes and
    /// dense registers come from the input): PFCOUNT, PFADD, PFMERGE and PFCOUNT of several keys either work or
    /// answer redis-server's "INVALIDOBJ Corrupted HLL object detected" / WRONGTYPE; none may throw.</summary>
    public static void Hll(ReadOnlySpan<byte> input)
    {
        var stream = new List<byte>();
        void Command(params byte[][] args)
        {
            stream.AddRange(Encoding.ASCII.GetBytes($"*{args.Length}\r\n"));
            foreach (var a in args)
            {
                stream.AddRange(Encoding.ASCII.GetBytes($"${a.Length}\r\n"));
                stream.AddRange(a);
                stream.AddRange("\r\n"u8.ToArray());
            }
        }
        static byte[] B(string s) => Encoding.ASCII.GetBytes(s);
        var value = input.ToArray();
        Command(B("SET"), B("h"), value);
        Command(B("PFCOUNT"), B("h"));
        Command(B("SET"), B("h2"), value);
        Command(B("PFADD"), B("h2"), B("a"), B("b"), B("c"));
        Command(B("PFCOUNT"), B("h"), B("h2"));
        Command(B("PFMERGE"), B("d"), B("h"), B("h2"));
        Command(B("PFCOUNT"), B("d"));
        Command(B("PFADD"), B("h"), B("x"));
        Command(B("PFCOUNT"), B("h"));
        var server = s_server.Value;
        var loader = new AofLoader(server);
        s_log.Failure = null;
        try
        {
            var result = loader.Load(stream.ToArray(), "hll.aof", allowRdb: false);
            Invariant.True(result.Ok, $"the HLL command stream did not load: {result.Error}");
        }
        finally
        {
            foreach (var db in server.Databases) db.Clear();
        }
        if (s_log.Failure is { } failure) throw new InvariantException($"an HLL command failed: {failure}");
    }

    public static void Manifest(ReadOnlySpan<byte> input)
    {
        var manifest = AofManifest.Parse(Encoding.UTF8.GetString(input), out string? error);
        Invariant.True(manifest is not null || error is { Length: > 0 }, "a refused manifest without a reason");
    }

    /// <summary>Remembers the first error logged with an exception (a handler that threw).</summary>
    private sealed class FailureLog : ILogger
    {
        public string? Failure;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && logLevel >= LogLevel.Warning) Failure ??= $"{formatter(state, exception)}: {exception}";
        }
    }
}
