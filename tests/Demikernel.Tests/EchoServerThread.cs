using Demikernel.Examples.Echo;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// The echo example serving on its own thread (a libOS runs on the thread that created it), for tests whose client is
/// another process or another libOS. Dispose stops it and fails the test if the server thread faulted or hangs.
/// </summary>
internal sealed class EchoServerThread : IDisposable
{
    private readonly Thread _thread;
    private bool _stop;
    private Exception? _fault;
    private DemiLibOS? _libos;

    public EchoServerThread(string libosName, LibOSConfig? config = null, bool assertNoFaults = false)
    {
        using var ready = new ManualResetEventSlim();
        _thread = new Thread(() =>
        {
            try
            {
                using var libos = config is null ? LibOS.Create(libosName) : LibOS.Create(libosName, config);
                Volatile.Write(ref _libos, libos);
                var echo = new EchoServer(libos);
                Assert.Equal(0, echo.Listen(IPv4Endpoint.Loopback(0), out var listener));
                libos.GetSockName(listener, out var at);
                Endpoint = (IPv4Endpoint)at;
                ready.Set();
                libos.RunUntil(() => Volatile.Read(ref _stop));
                if (assertNoFaults) Assert.Empty(libos.Faults);
            }
            catch (Exception e)
            {
                _fault = e;
                ready.Set();
            }
        }) { IsBackground = true };
        _thread.Start();
        Assert.True(ready.Wait(TimeSpan.FromSeconds(10)), "the echo server did not start");
        Assert.Null(_fault);
    }

    /// <summary>Where it listens (loopback, a free port).</summary>
    public IPv4Endpoint Endpoint { get; private set; }

    public ushort Port => Endpoint.Port;

    /// <summary>Stops the server and checks that it ended cleanly.</summary>
    public void Dispose()
    {
        Volatile.Write(ref _stop, true);
        // an idle libOS blocks in its transport until something happens: a posted no-op wakes it to see the flag
        try
        {
            if (_thread.IsAlive) Volatile.Read(ref _libos)?.Post(static () => { });
        }
        catch (ObjectDisposedException)
        {
            // it stopped meanwhile
        }
        Assert.True(_thread.Join(TimeSpan.FromSeconds(10)), "the echo server did not stop");
        Assert.Null(_fault);
    }
}
