using System.Text;
using Demikernel.Runtime;
using static Demikernel.Server.Tests.EffectsScript;

namespace Demikernel.Server.Tests;

/// <summary>
/// The effects of a script sent over real TCP connections (real sessions, a client parked and served by another
/// connection, the cron's active expiry) against redis-server's AOF for the same script.
/// </summary>
public sealed class EffectsEndToEndTests
{
    /// <summary>Our server on catnap, on its own thread, with an effects consumer attached before it starts.</summary>
    private sealed class TcpServer : IDisposable
    {
        private readonly ServerThread _thread;

        public TcpServer()
        {
            _thread = new ServerThread("effects-tests server", libos =>
            {
                var server = new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" });
                server.Effects.Add(Consumer);
                return server;
            });
        }

        public int Port => _thread.Port;
        public StreamConsumer Consumer { get; } = new() { RecordUnits = false };

        /// <summary>Stops the server and returns what the consumer got (read once the server thread is gone).</summary>
        public byte[] StopAndTakeEffects()
        {
            Dispose();
            return Consumer.Output.WrittenSpan.ToArray();
        }

        public void Dispose() => _thread.Dispose();
    }

    private static void WaitBlocked(ListHashConnection admin)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!admin.Call("INFO", "clients").Contains("blocked_clients:1"))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the client did not block");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void ParkedClientCronExpiryAndPipelineOverTcp()
    {
        string[][] pipeline = [Cmd("SET", "p1", "1"), Cmd("INCR", "p2"), Cmd("SELECT", "4"), Cmd("LPUSH", "p3", "x"), Cmd("SELECT", "0")];
        var pipelined = pipeline.SelectMany(c => CommandHarness.EncodeRequest(c)).ToArray();

        long redisStart;
        byte[] redisAof;
        using (var reference = AofRedis.Start([]))
        {
            redisStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            reference.SendSecond(["BLMOVE", "q", "dst", "RIGHT", "LEFT", "0"]);
            reference.WaitBlocked();
            reference.Call("RPUSH", "q", "a", "b");
            reference.ReadSecond();
            reference.Call("SET", "k", "v", "PX", "100");
            Thread.Sleep(700); // the cron's active expiry deletes k
            reference.Pipeline(pipelined, pipeline.Length);
            reference.Call("SET", "after", "v");
            redisAof = reference.ReadAof();
        }

        long ourStart;
        byte[] ourAof;
        using (var server = new TcpServer())
        {
            using var a = ListHashConnection.Open(server.Port);
            using var b = ListHashConnection.Open(server.Port);
            ourStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            b.Send("BLMOVE", "q", "dst", "RIGHT", "LEFT", "0");
            WaitBlocked(a);
            Assert.Equal(":2\r\n", a.Call("RPUSH", "q", "a", "b"));
            Assert.Equal("$1\r\nb\r\n", b.ReadReply());
            Assert.Equal("+OK\r\n", a.Call("SET", "k", "v", "PX", "100"));
            Thread.Sleep(700);
            a.SendRaw(pipelined);
            for (int i = 0; i < pipeline.Length; i++) a.ReadReply();
            Assert.Equal("+OK\r\n", a.Call("SET", "after", "v"));
            ourAof = server.StopAndTakeEffects();
        }

        var redis = Parse(redisAof);
        var ours = Parse(ourAof);
        Assert.Contains(redis, c => c is ["DEL", "k"]);
        Assert.Contains(redis, c => c is ["LMOVE", "q", "dst", "right", "left"]);
        AssertSame(Renormalise(redis, redisStart), Renormalise(ours, ourStart));
    }

    private static List<string[]> Renormalise(List<string[]> commands, long start)
    {
        foreach (var c in commands)
            for (int i = 1; i < c.Length; i++)
                if (c[i].Length == 13 && long.TryParse(c[i], out long ms)) c[i] = $"T:{ms - start}|";
        return commands;
    }
}
