using System.Text;
using System.Text.RegularExpressions;
using Demikernel.Runtime;
using Demikernel.Server.Commands;
using Demikernel.Server.Logging;
using Microsoft.Extensions.Logging;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>
/// Log lines in redis-server 7.0's format, loglevel filtering (also live through CONFIG SET), logfile appending, and
/// failures that are answered and logged: a throwing handler, a throwing blocked-client re-run, a throwing cron step,
/// a throwing server loop. Throwing commands are registered by the tests in their own server's table only.
/// </summary>
public sealed partial class LoggingTests
{
    /// <summary>redis-server 7.0's line: pid, role, "dd Mon yyyy HH:mm:ss.mmm", level char, message.</summary>
    [GeneratedRegex(@"^(?<pid>\d+):(?<role>[MCSX]) (?<time>\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) (?<level>[.\-*#]) (?<message>.*)$")]
    internal static partial Regex RedisLine();

    private static readonly DateTimeOffset Noon = new(2026, 12, 2, 10, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ALineIsFormattedExactlyAsRedisServerWritesIt()
    {
        Assert.Equal("12345:M 02 Dec 2026 10:00:00.000 * Ready to accept connections\n",
            RedisLogFormat.Line(12345, 'M', Noon, LogLevel.Information, "Ready to accept connections"));
        Assert.Equal("7:C 09 Jan 2027 23:59:58.007 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo\n",
            RedisLogFormat.Line(7, 'C', new DateTimeOffset(2027, 1, 9, 23, 59, 58, 7, TimeSpan.Zero), LogLevel.Warning, "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"));
        // redis-server formats a message into 1024 bytes: longer ones are cut at 1023.
        string longLine = RedisLogFormat.Line(1, 'M', Noon, LogLevel.Warning, new string('x', 5000));
        Assert.Equal("1:M 02 Dec 2026 10:00:00.000 # ".Length + 1023 + 1, longLine.Length);
    }

    [Fact]
    public void EachLevelHasRedisServersCharacterAndTheProviderWritesTheLocalTime()
    {
        using var log = new CapturedLog(LogLevel.Trace, new FixedClock(Noon.AddMilliseconds(42)));
        log.Logger.LogTrace("a debug line");
        log.Logger.LogDebug("a verbose line");
        log.Logger.LogInformation("a notice line");
        log.Logger.LogWarning("a warning line");
        log.Logger.LogError("an error line");
        var lines = log.Lines();
        Assert.Equal(
        [
            $"{log.Pid}:M 02 Dec 2026 10:00:00.042 . a debug line",
            $"{log.Pid}:M 02 Dec 2026 10:00:00.042 - a verbose line",
            $"{log.Pid}:M 02 Dec 2026 10:00:00.042 * a notice line",
            $"{log.Pid}:M 02 Dec 2026 10:00:00.042 # a warning line",
            $"{log.Pid}:M 02 Dec 2026 10:00:00.042 # an error line",
        ], lines);
        Assert.All(lines, line => Assert.Matches(RedisLine(), line));
    }

    [Fact]
    public void ServerMessagesReadAsRedisServers()
    {
        using var log = new CapturedLog(LogLevel.Trace, new FixedClock(Noon));
        log.Provider.Role = 'C';
        log.Logger.Starting();
        log.Logger.VersionLine("7.0.15", 64, "00000000", 0, 4949);
        log.Logger.ConfigurationLoaded();
        log.Provider.Role = 'M';
        log.Logger.RunningMode("standalone", 6379);
        log.Logger.ServerInitialized();
        log.Logger.ReadyToAcceptConnections();
        log.Logger.Accepted(new IPv4Endpoint(0x7F000001, 34314));
        log.Logger.UserRequestedShutdown();
        log.Logger.ReadyToExit();
        string p = log.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(
        [
            p + ":C 02 Dec 2026 10:00:00.000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            p + ":C 02 Dec 2026 10:00:00.000 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=4949, just started",
            p + ":C 02 Dec 2026 10:00:00.000 # Configuration loaded",
            p + ":M 02 Dec 2026 10:00:00.000 * Running mode=standalone, port=6379.",
            p + ":M 02 Dec 2026 10:00:00.000 # Server initialized",
            p + ":M 02 Dec 2026 10:00:00.000 * Ready to accept connections",
            p + ":M 02 Dec 2026 10:00:00.000 - Accepted 127.0.0.1:34314",
            p + ":M 02 Dec 2026 10:00:00.000 # User requested shutdown...",
            p + ":M 02 Dec 2026 10:00:00.000 # Redis is now ready to exit, bye bye...",
        ], log.Lines());
    }

    [Fact]
    public void ASignalHandlersLineHasRedisServersOtherShape()
    {
        using var log = new CapturedLog(LogLevel.Information, new FixedClock(Noon));
        log.Logger.ReceivedShutdownSignal("SIGTERM");
        Assert.Equal([$"{log.Pid}:signal-handler ({Noon.ToUnixTimeSeconds()}) Received SIGTERM scheduling shutdown..."], log.Lines());
    }

    [Theory]
    [InlineData("debug", ".-*#")]
    [InlineData("verbose", "-*#")]
    [InlineData("notice", "*#")]
    [InlineData("warning", "#")]
    [InlineData("WARNING", "#")]
    public void LoglevelKeepsTheLinesRedisServerWouldKeep(string loglevel, string levelChars)
    {
        using var log = new CapturedLog(LogLevel.Information);
        Assert.True(log.Level.TrySet(loglevel));
        log.Logger.LogTrace("d");
        log.Logger.LogDebug("v");
        log.Logger.LogInformation("n");
        log.Logger.LogWarning("w");
        Assert.Equal(levelChars, string.Concat(log.Lines().Select(l => RedisLine().Match(l).Groups["level"].Value)));
        Assert.False(log.Level.TrySet("loud"));
        Assert.False(log.Level.TrySet("nothing")); // redis-server 7.2's, refused by 7.0.15
    }

    [Fact]
    public void ConfigSetLoglevelTakesEffectAtOnceAndLogfileIsImmutable()
    {
        using var log = new CapturedLog(LogLevel.Information);
        using var h = new CommandHarness(new ServerOptions { LogLevel = "notice" }, log.Logger, log.Level);
        h.Server.Log.Accepted(new IPv4Endpoint(0x7F000001, 1000)); // verbose: not written at notice
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "loglevel", "verbose"));
        Assert.Equal(LogLevel.Debug, log.Level.Minimum);
        h.Server.Log.Accepted(new IPv4Endpoint(0x7F000001, 2000));
        Assert.Equal(BulkArray("loglevel", "verbose"), h.Run("CONFIG", "GET", "loglevel"));
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"),
            h.Run("CONFIG", "SET", "loglevel", "loud"));
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"),
            h.Run("CONFIG", "SET", "loglevel", "nothing"));
        Assert.Equal(LogLevel.Debug, log.Level.Minimum);
        Assert.Equal(Ok, h.Run("CONFIG", "SET", "loglevel", "WARNING")); // as redis: any case, stored lower-case
        Assert.Equal(BulkArray("loglevel", "warning"), h.Run("CONFIG", "GET", "loglevel"));
        h.Server.Log.Accepted(new IPv4Endpoint(0x7F000001, 3000));
        var lines = log.Lines();
        Assert.Single(lines);
        Assert.EndsWith(" - Accepted 127.0.0.1:2000", lines[0]);
        // redis 7.0's config.c: logfile is IMMUTABLE_CONFIG; the reply is redis-server's own.
        Assert.Equal(Err("ERR CONFIG SET failed (possibly related to argument 'logfile') - can't set immutable config"),
            h.Run("CONFIG", "SET", "logfile", "/tmp/elsewhere.log"));
        Assert.Equal(BulkArray("logfile", ""), h.Run("CONFIG", "GET", "logfile"));
    }

    [Fact]
    public void TheLogfileIsAppendedTo()
    {
        string path = Path.Combine(Path.GetTempPath(), $"redis-log-{Guid.NewGuid():N}.log");
        try
        {
            File.WriteAllText(path, "a line from before\n");
            using (var provider = new RedisLoggerProvider(new LogSink(path), new LogLevelSwitch(LogLevel.Information)))
            {
                var logger = provider.CreateLogger("x");
                logger.ServerInitialized();
                logger.ReadyToAcceptConnections();
                Assert.True(provider.Sink.Flush(TimeSpan.FromSeconds(5)));
                Assert.Equal(3, File.ReadAllLines(path).Length); // flushed while the server runs, not only at exit
            }
            using (var provider = RedisLoggerProvider.Create("notice", path))
                provider.CreateLogger("x").ReadyToExit();
            var lines = File.ReadAllLines(path);
            Assert.Equal(4, lines.Length);
            Assert.Equal("a line from before", lines[0]);
            Assert.EndsWith(" # Server initialized", lines[1]);
            Assert.EndsWith(" * Ready to accept connections", lines[2]);
            Assert.EndsWith(" # Redis is now ready to exit, bye bye...", lines[3]);
            Assert.All(lines[1..], line => Assert.Matches(RedisLine(), line));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ALogThatCannotBeWrittenNeverFailsTheCaller()
    {
        string path = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}", "redis.log");
        using var provider = RedisLoggerProvider.Create("debug", path);
        var logger = provider.CreateLogger("x");
        logger.ServerInitialized();
        logger.Log(LogLevel.Warning, default, "state", null, (_, _) => throw new InvalidOperationException("formatter bug"));
        Assert.True(provider.Sink.Flush(TimeSpan.FromSeconds(5)));
        Assert.False(File.Exists(path));
    }

    // ---- failures answered and logged ----

    private const string Secret = "s3cret-argument-value";

    /// <summary>Test-only command: writes the start of a reply (an array, then a 100 KB bulk: past the first reply segment), then throws.</summary>
    private static void Boom(ref CommandContext c)
    {
        c.Reply.ArrayHeader(2);
        if (c.Count > 2) c.Reply.Bulk(new byte[100_000]);
        throw new InvalidOperationException($"handler bug near '{c.ArgString(1)}'"); // as .NET's own messages quote their input
    }

    private static CommandSpec BoomSpec => new("BOOM", Boom) { Arity = -2, Group = "test" };

    [Fact]
    public void AThrowingHandlerGetsAnErrorReplyAndOneLogLineAndTheClientGoesOn()
    {
        using var log = new CapturedLog(LogLevel.Information);
        using var h = new CommandHarness(null, log.Logger, log.Level);
        h.Server.Commands.Add(BoomSpec);
        string expected = Err("ERR internal error while running 'boom' (see the server log)");
        var pipeline = new[] { EncodeRequest("PING"), EncodeRequest("BOOM", Secret), EncodeRequest("BOOM", Secret, "big"), EncodeRequest("ECHO", "after") };
        Assert.Equal("+PONG\r\n" + expected + expected + Bulk("after"), Encoding.UTF8.GetString(h.ExecuteRequest(pipeline.SelectMany(r => r).ToArray())));
        Assert.Equal(Ok, h.Run("SET", "k", "v"));
        var lines = log.Lines();
        var headers = lines.Where(l => RedisLine().IsMatch(l)).ToArray();
        Assert.Equal(2, headers.Length);
        Assert.All(headers, l => Assert.Matches(@" # Internal error while running 'boom' for client id=1 addr=0\.0\.0\.0:0; the client got an error reply$", l));
        Assert.Contains(lines, l => l.Contains("System.InvalidOperationException (message withheld: it may quote the command's arguments)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(nameof(Boom), StringComparison.Ordinal)); // the stack
        Assert.DoesNotContain(lines, l => l.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public void AThrowingCommandInsideExecIsOneErrorOfTheExecReply()
    {
        using var log = new CapturedLog(LogLevel.Information);
        using var h = new CommandHarness(null, log.Logger, log.Level);
        h.Server.Commands.Add(BoomSpec);
        Assert.Equal(Ok, h.Run("MULTI"));
        Assert.Equal("+QUEUED\r\n", h.Run("BOOM", "x"));
        Assert.Equal("+QUEUED\r\n", h.Run("SET", "k", "v"));
        Assert.Equal(Array(Err("ERR internal error while running 'boom' (see the server log)"), Ok), h.Run("EXEC"));
        Assert.Equal(Bulk("v"), h.Run("GET", "k"));
        Assert.Single(log.Lines(), l => RedisLine().IsMatch(l));
    }

    [Fact]
    public void AThrowingHandlerOverTcpKeepsTheConnection()
    {
        using var server = LoggingTcpServer.Start((s, _) => s.Commands.Add(BoomSpec));
        using var client = server.Connect();
        Assert.Equal(Err("ERR internal error while running 'boom' (see the server log)"), client.Call("BOOM", Secret, "big"));
        Assert.Equal("+PONG\r\n", client.Call("PING"));
        var lines = server.Log.Lines();
        Assert.Single(lines, l => l.Contains("Internal error while running 'boom'", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(Secret, StringComparison.Ordinal));
    }

    /// <summary>Test-only blocking command: parks on its key; its re-run throws.</summary>
    private static void BlockThenBoom(ref CommandContext c)
    {
        if (!c.IsRetry)
        {
            c.Block([c.Arg(1).ToArray()], 0, BlockTimeoutReply.NullArray, BlockedOn.List);
            return;
        }
        throw new InvalidOperationException("retry bug");
    }

    [Fact]
    public void AThrowingReRunOfABlockedClientAnswersItAndLeavesTheWakingClientAlone()
    {
        using var server = LoggingTcpServer.Start((s, _) =>
            s.Commands.Add(new CommandSpec("BLOCKBOOM", BlockThenBoom) { Arity = 2, Flags = CommandFlags.Blocking, FirstKey = 1, LastKey = 1, Step = 1, Group = "test" }));
        using var waiter = server.Connect();
        using var pusher = server.Connect();
        waiter.Send("BLOCKBOOM", "q");
        waiter.AssertNothingFor(TimeSpan.FromMilliseconds(100));
        Assert.Equal(":1\r\n", pusher.Call("LPUSH", "q", "job"));
        Assert.Equal("+PONG\r\n", pusher.Call("PING"));
        Assert.Equal(Err("ERR internal error while running 'blockboom' (see the server log)"), waiter.ReadReply());
        Assert.Equal("+PONG\r\n", waiter.Call("PING"));
        Assert.Equal(":1\r\n", pusher.Call("LLEN", "q"));
        Assert.Contains("blocked_clients:0\r\n", pusher.Call("INFO", "clients"), StringComparison.Ordinal);
        Assert.Single(server.Log.Lines(), l => l.Contains("Internal error while running 'blockboom'", StringComparison.Ordinal));
    }

    [Fact]
    public void TheCronSurvivesAThrowingStep()
    {
        int calls = 0;
        using var server = LoggingTcpServer.Start((s, _) => s.AddCronStep("test step", () =>
        {
            if (Interlocked.Increment(ref calls) <= 2) throw new InvalidOperationException("cron bug");
        }), new ServerOptions { Port = 0, Bind = "127.0.0.1", Hz = 100 });
        using var client = server.Connect();
        Assert.Equal(Ok, client.Call("SET", "short", "lived", "PX", "100"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((Volatile.Read(ref calls) < 4 || client.Call("DBSIZE") != ":0\r\n") && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.True(Volatile.Read(ref calls) >= 4, $"the step ran {calls} times");
        Assert.Equal(":0\r\n", client.Call("DBSIZE")); // active expiry still runs
        Assert.Equal(2, server.Log.Lines().Count(l => l.Contains("# Internal error in the cron step 'test step'; the cron goes on", StringComparison.Ordinal)));
    }

    [Fact]
    public void ASupervisedLoopThatThrowsIsLoggedAndRestartedWithABackOff()
    {
        int runs = 0;
        var done = new ManualResetEventSlim();
        using var server = LoggingTcpServer.Start((s, libos) => libos.Spawn(() => s.Supervise("test loop", async () =>
        {
            await libos.Delay(TimeSpan.FromMilliseconds(1));
            if (++runs <= 2) throw new InvalidOperationException("loop bug");
            done.Set();
        })));
        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, runs);
        var failures = server.Log.Lines().Where(l => l.Contains("Internal error in the test loop", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, failures.Length);
        Assert.EndsWith("# Internal error in the test loop; it goes on in 100 ms", failures[0]);
        Assert.EndsWith("# Internal error in the test loop; it goes on in 200 ms", failures[1]);
    }
}

/// <summary>A time that does not move, in UTC.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}

/// <summary>The real provider and sink, writing to memory; <see cref="Lines"/> waits for the writer first.</summary>
internal sealed class CapturedLog : IDisposable
{
    private readonly LockedMemoryStream _out = new();

    public CapturedLog(LogLevel minimum, TimeProvider? time = null)
    {
        Level = new LogLevelSwitch(minimum);
        Provider = new RedisLoggerProvider(new LogSink(stdout: _out), Level, time);
        Logger = Provider.CreateLogger("test");
    }

    public LogLevelSwitch Level { get; }
    public RedisLoggerProvider Provider { get; }
    public ILogger Logger { get; }
    public int Pid => Provider.ProcessId;

    public string[] Lines()
    {
        Assert.True(Provider.Sink.Flush(TimeSpan.FromSeconds(5)), "the log writer did not catch up");
        return Encoding.UTF8.GetString(_out.Snapshot()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public void Dispose() => Provider.Dispose();

    private sealed class LockedMemoryStream : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (this) base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (this) base.Write(buffer);
        }

        public byte[] Snapshot()
        {
            lock (this) return ToArray();
        }
    }
}

/// <summary>A <see cref="ServerThread"/> with a captured log; <c>setup</c> runs on the server's thread before Start.</summary>
internal sealed class LoggingTcpServer : IDisposable
{
    private readonly ServerThread _thread;

    private LoggingTcpServer(Action<RedisServer, DemiLibOS> setup, ServerOptions options)
    {
        _thread = new ServerThread("logging-tests redis-server", libos =>
        {
            var server = new RedisServer(libos, options, Log.Logger, Log.Level);
            setup(server, libos);
            return server;
        });
    }

    public int Port => _thread.Port;

    public CapturedLog Log { get; } = new(LogLevel.Information);

    public static LoggingTcpServer Start(Action<RedisServer, DemiLibOS> setup, ServerOptions? options = null) =>
        new(setup, options ?? new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" });

    public ListHashConnection Connect() => _thread.Connect();

    public void Dispose()
    {
        try
        {
            _thread.Dispose();
        }
        finally
        {
            Log.Dispose();
        }
    }
}
