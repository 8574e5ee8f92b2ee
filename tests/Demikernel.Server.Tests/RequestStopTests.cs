using System.Diagnostics;
using Demikernel.Runtime;

namespace Demikernel.Server.Tests;

public class RequestStopTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// At hz 1 an idle server sleeps in epoll_wait for up to a second between crons, so a stop noticed only by the cron
    /// would take 500 ms on average; five stops all under 300 ms would happen by chance in a few runs of a thousand.
    /// </summary>
    [Fact]
    public void RequestStopEndsAnIdleServersRunAtOnceNotAtTheNextCron()
    {
        for (int trial = 0; trial < 5; trial++)
        {
            using var started = new ManualResetEventSlim();
            RedisServer? server = null;
            Exception? crash = null;
            var thread = new Thread(() =>
            {
                DemiLibOS? libos = null;
                try
                {
                    libos = Demikernel.LibOS.Create("catnap");
                    server = new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Hz = 1 });
                    int rc = server.Start();
                    if (rc != 0) throw new InvalidOperationException($"Start failed: {Errno.Name(rc)}");
                    started.Set();
                    server.Run();
                }
                catch (Exception e)
                {
                    crash = e;
                    started.Set();
                }
                finally
                {
                    libos?.Dispose();
                }
            }) { IsBackground = true };
            thread.Start();
            Assert.True(started.Wait(Limit));
            Assert.Null(crash);
            Thread.Sleep(100); // idle by now: blocked until the next cron
            var wall = Stopwatch.StartNew();
            server!.RequestStop();
            Assert.True(thread.Join(Limit), "the server did not stop");
            Assert.Null(crash);
            Assert.True(wall.Elapsed < TimeSpan.FromMilliseconds(300), $"trial {trial}: the server stopped {wall.Elapsed.TotalMilliseconds:F0} ms after RequestStop");
        }
    }
}
