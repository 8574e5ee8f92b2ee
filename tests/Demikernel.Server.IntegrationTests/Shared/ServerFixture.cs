using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Demikernel.Runtime;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// One <see cref="RedisServer"/> on catnap, started in-process on its own thread. Everything the server owns (libOS,
/// databases, sessions) is created, run and disposed on that thread; tests reach it over TCP only.
/// </summary>
public class ServerFixture : IDisposable
{
    private readonly Thread _thread;
    private RedisServer? _server;
    private ExceptionDispatchInfo? _crash;
    private bool _disposed;

    public ServerFixture() : this(new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })
    {
    }

    protected ServerFixture(ServerOptions options)
    {
        Options = options;
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => ServerThread(started)) { IsBackground = true, Name = $"redis-server {GetType().Name}" };
        _thread.Start();
        if (!started.Task.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("the server did not start within 30 s");
        Port = started.Task.Result;
        WaitUntilAccepting();
    }

    public ServerOptions Options { get; }

    /// <summary>The port the server bound (the fixture asks for port 0).</summary>
    public int Port { get; }

    public string Host => "127.0.0.1";

    public string EndPoint => $"{Host}:{Port}";

    /// <summary>Fails the calling test if the server thread died or exited on its own.</summary>
    public void ThrowIfUnhealthy()
    {
        _crash?.Throw();
        if (!_thread.IsAlive && !_disposed) throw new InvalidOperationException("the server thread has exited");
    }

    private void ServerThread(TaskCompletionSource<int> started)
    {
        DemiLibOS? libos = null;
        try
        {
            libos = Demikernel.LibOS.Create("catnap");
            _server = new RedisServer(libos, Options);
            int rc = _server.Start();
            if (rc != 0)
            {
                started.SetException(new InvalidOperationException($"RedisServer.Start failed with errno {rc}"));
                return;
            }
            started.SetResult(_server.ListenEndpoint.Port);
            _server.Run();
        }
        catch (Exception e)
        {
            _crash = ExceptionDispatchInfo.Capture(e);
            started.TrySetException(e);
        }
        finally
        {
            libos?.Dispose();
        }
    }

    private void WaitUntilAccepting()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(Host, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _server?.RequestStop();
        bool joined = _thread.Join(TimeSpan.FromSeconds(10));
        GC.SuppressFinalize(this);
        _crash?.Throw();
        if (!joined) throw new TimeoutException("the server thread did not stop within 10 s of RequestStop");
    }
}

/// <summary>A second server with <c>requirepass</c>, for AUTH flows.</summary>
public sealed class AuthServerFixture : ServerFixture
{
    public const string Password = "s3cret-pass";

    public AuthServerFixture() : base(new ServerOptions { Port = 0, Bind = "127.0.0.1", RequirePass = Password, Save = "" })
    {
    }
}

/// <summary>
/// Every test class of an assembly shares one server of each kind, and they run one after another: tests select
/// databases, flush them and kill clients, so they must not overlap.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>, ICollectionFixture<AuthServerFixture>
{
    public const string Name = "redis-server";
}

/// <summary>Base of test classes: after every test, checks that the server thread is still alive.</summary>
[Collection(ServerCollection.Name)]
public abstract class ServerTestBase(ServerFixture server) : IDisposable
{
    protected ServerFixture Server { get; } = server;

    /// <summary>A key no other test uses.</summary>
    protected static string UniqueKey(string prefix = "k") => $"{prefix}:{Guid.NewGuid():N}";

    public virtual void Dispose()
    {
        GC.SuppressFinalize(this);
        Server.ThrowIfUnhealthy();
    }
}
