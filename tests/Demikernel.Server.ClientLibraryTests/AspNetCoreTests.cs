using System.Net.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Demikernel.Server.IntegrationTests;

namespace Demikernel.Server.ClientLibraryTests;

/// <summary>
/// ASP.NET Core's Redis integrations, unmodified, on two web applications (Kestrel on loopback) that share our server:
/// IDistributedCache (hashes, expiry, sliding refresh), the output cache (entries and tags, Lua and sorted sets), and the
/// SignalR backplane (pub/sub between the two applications).
/// </summary>
public sealed class AspNetCoreTests(ServerFixture server) : ServerTestBase(server)
{
    /// <summary>The hub clients connect to: joins a group on request.</summary>
    public sealed class ChatHub : Hub
    {
        public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);
    }

    private sealed class WebApp(WebApplication app, string url) : IAsyncDisposable
    {
        public WebApplication App { get; } = app;
        public string Url { get; } = url;
        public IServiceProvider Services => App.Services;

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    /// <summary>
    /// One web application on its own port whose distributed cache, output cache and SignalR all use our server;
    /// <paramref name="name"/> is in every response it renders itself.
    /// </summary>
    private async Task<WebApp> StartWebApp(string name, string prefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        string endpoint = Server.EndPoint;
        builder.Services.AddStackExchangeRedisCache(o => { o.Configuration = endpoint; o.InstanceName = prefix + ":dc:"; });
        builder.Services.AddStackExchangeRedisOutputCache(o => { o.Configuration = endpoint; o.InstanceName = prefix + ":oc:"; });
        builder.Services.AddOutputCache();
        builder.Services.AddSignalR().AddStackExchangeRedis(endpoint, o => o.Configuration.ChannelPrefix = RedisChannel.Literal(prefix));
        var app = builder.Build();
        app.UseOutputCache();
        int renders = 0;
        app.MapGet("/render", () => $"{name}:{Interlocked.Increment(ref renders)}")
            .CacheOutput(p => p.Expire(TimeSpan.FromMinutes(5)).Tag("render"));
        app.MapHub<ChatHub>("/chat");
        await app.StartAsync();
        string url = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new WebApp(app, url);
    }

    private static ConnectionMultiplexer Connect(ServerFixture server) => ConnectionMultiplexer.Connect(server.EndPoint);

    [Fact]
    public async Task DistributedCacheStoresExpiresAndRefreshes()
    {
        string prefix = UniqueKey("app");
        await using var web = await StartWebApp("a", prefix);
        var cache = web.Services.GetRequiredService<IDistributedCache>();
        using var redis = Connect(Server);
        var db = redis.GetDatabase();

        await cache.SetStringAsync("plain", "v1");
        Assert.Equal("v1", await cache.GetStringAsync("plain"));
        Assert.Equal(RedisType.Hash, await db.KeyTypeAsync(prefix + ":dc:plain"));
        Assert.Null(await db.KeyTimeToLiveAsync(prefix + ":dc:plain"));

        await cache.SetStringAsync("absolute", "v2", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(100) });
        var ttl = await db.KeyTimeToLiveAsync(prefix + ":dc:absolute");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value.TotalSeconds, 90, 100);

        // sliding: a read (or Refresh) pushes the key's TTL back to the full window
        await cache.SetStringAsync("sliding", "v3", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(100) });
        await db.KeyExpireAsync(prefix + ":dc:sliding", TimeSpan.FromSeconds(10));
        Assert.Equal("v3", await cache.GetStringAsync("sliding"));
        Assert.InRange((await db.KeyTimeToLiveAsync(prefix + ":dc:sliding"))!.Value.TotalSeconds, 90, 100);
        await db.KeyExpireAsync(prefix + ":dc:sliding", TimeSpan.FromSeconds(10));
        await cache.RefreshAsync("sliding");
        Assert.InRange((await db.KeyTimeToLiveAsync(prefix + ":dc:sliding"))!.Value.TotalSeconds, 90, 100);

        // an expired entry is gone for the cache too (the server's expiry, not the library's)
        await db.KeyExpireAsync(prefix + ":dc:absolute", TimeSpan.FromMilliseconds(1));
        await Task.Delay(20);
        Assert.Null(await cache.GetStringAsync("absolute"));

        await cache.RemoveAsync("plain");
        Assert.Null(await cache.GetStringAsync("plain"));
        Assert.False(await db.KeyExistsAsync(prefix + ":dc:plain"));
    }

    [Fact]
    public async Task OutputCacheIsSharedBetweenApplicationsAndEvictedByTag()
    {
        string prefix = UniqueKey("app");
        await using var a = await StartWebApp("a", prefix);
        await using var b = await StartWebApp("b", prefix);
        using var http = new HttpClient();
        // behind a load balancer both applications serve one public host name, which is part of the cache key
        async Task<string> Render(WebApp app)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, app.Url + "/render");
            request.Headers.Host = "shop.example";
            using var response = await http.SendAsync(request);
            return await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
        }

        Assert.Equal("a:1", await Render(a));
        Assert.Equal("a:1", await Render(a));
        // b renders nothing: the entry a stored in Redis answers
        Assert.Equal("a:1", await Render(b));

        using var redis = Connect(Server);
        var server = redis.GetServer(Server.EndPoint);
        Assert.NotEmpty(server.Keys(pattern: prefix + ":oc:*").ToList());

        // evicting the tag from b clears what a stored
        await b.Services.GetRequiredService<IOutputCacheStore>().EvictByTagAsync("render", CancellationToken.None);
        Assert.Equal("b:1", await Render(b));
        Assert.Equal("b:1", await Render(a));
    }

    [Fact]
    public async Task SignalRBackplaneCarriesMessagesBetweenApplications()
    {
        string prefix = UniqueKey("app");
        await using var a = await StartWebApp("a", prefix);
        await using var b = await StartWebApp("b", prefix);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(a.Url + "/chat", o => o.Transports = HttpTransportType.WebSockets)
            .Build();
        var all = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var group = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<string>("all", m => all.TrySetResult(m));
        connection.On<string>("group", m => group.TrySetResult(m));
        await connection.StartAsync();
        await connection.InvokeAsync("Join", "g1");

        // b has no connection of its own: its sends reach the client on a only through our server's pub/sub
        var hub = b.Services.GetRequiredService<IHubContext<ChatHub>>();
        await hub.Clients.All.SendAsync("all", "to everyone");
        Assert.Equal("to everyone", await all.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await hub.Clients.Group("g1").SendAsync("group", "to g1");
        Assert.Equal("to g1", await group.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
