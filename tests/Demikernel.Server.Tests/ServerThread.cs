using Demikernel.Runtime;

namespace Demikernel.Server.Tests;

/// <summary>
/// A real <see cref="RedisServer"/> on catnap on its own thread, for tests that need real connections (parked
/// sessions, the cron, pipelines over TCP). <c>create</c> builds the server on that thread (and may add commands,
/// consumers, cron steps) before it starts on a free port; <see cref="Dispose"/> stops it and rethrows a crash of the
/// server thread, so a test cannot pass over a dead server.
/// </summary>
internal sealed class ServerThread : IDisposable
{
    private readonly Thread _thread;
    private RedisServer? _server;
    private Exception? _crash;
    private bool _disposed;

    public ServerThread(string name, Func<DemiLibOS, RedisServer> create)
    {
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => Serve(create, started)) { IsBackground = true, Name = name };
        _thread.Start();
        if (!started.Task.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the server did not start");
        Port = started.Task.Result;
    }

    public int Port { get; }

    public ListHashConnection Connect() => ListHashConnection.Open(Port);

    /// <summary>Reads the server's state on its own thread (the libOS is single-threaded) and returns it.</summary>
    public T Inspect<T>(Func<RedisServer, T> read)
    {
        var server = _server ?? throw new InvalidOperationException("the server is not running");
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.LibOS.Post(() =>
        {
            try
            {
                done.SetResult(read(server));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        if (!done.Task.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the server thread did not answer");
        return done.Task.Result;
    }

    private void Serve(Func<DemiLibOS, RedisServer> create, TaskCompletionSource<int> started)
    {
        DemiLibOS? libos = null;
        try
        {
            libos = Demikernel.LibOS.Create("catnap");
            _server = create(libos);
            int rc = _server.Start();
            if (rc != 0) throw new InvalidOperationException($"Start failed: errno {rc}");
            started.SetResult(_server.ListenEndpoint.Port);
            _server.Run();
        }
        catch (Exception e)
        {
            _crash = e;
            started.TrySetException(e);
        }
        finally
        {
            libos?.Dispose();
        }
    }

    /// <summary>Stops the server and waits for its thread (again: nothing); throws if the thread crashed.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _server?.RequestStop();
            if (!_thread.Join(TimeSpan.FromSeconds(10))) throw new TimeoutException("the server thread did not stop");
        }
        if (_crash is not null) throw new InvalidOperationException("the server thread crashed", _crash);
    }
}
