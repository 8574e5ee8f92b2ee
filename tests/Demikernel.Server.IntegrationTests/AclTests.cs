using StackExchange.Redis;

namespace Demikernel.Server.IntegrationTests;

/// <summary>A server of its own for ACL tests (users are created and deleted; the default user stays nopass).</summary>
public sealed class AclServerFixture : ServerFixture;

/// <summary>
/// ACL users over real connections: redis-cli's --user/--pass, StackExchange.Redis with User/Password, CLIENT LIST's
/// user=, clients of a deleted user disconnected, subscribers whose channel permission is revoked disconnected,
/// requirepass (CONFIG SET too) as the default user's password.
/// </summary>
public sealed class AclTests(AclServerFixture server) : IClassFixture<AclServerFixture>, IDisposable
{
    private const string NoPermKey = "NOPERM this user has no permissions to access one of the keys used as arguments";

    private async Task<string> Admin(params string[] command) => (await RedisCli.RunAsync(server, command)).Single();

    private async Task<ProcessResult> As(string user, string pass, params string[] command) =>
        await ExternalProcess.RunAsync(RedisCli.Path,
            ["-h", server.Host, "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--user", user, "--pass", pass, "--no-auth-warning", .. command],
            RedisCli.Timeout);

    [Fact]
    public async Task RedisCliUserAndPass()
    {
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "cli-user", "on", ">cli-pw", "~app:*", "+@all", "-@dangerous"));
        try
        {
            Assert.Equal("OK", (await As("cli-user", "cli-pw", "SET", "app:1", "v")).Single());
            Assert.Equal("v", (await As("cli-user", "cli-pw", "GET", "app:1")).Single());
            Assert.Equal("cli-user", (await As("cli-user", "cli-pw", "ACL", "WHOAMI")).Single());
            Assert.Equal(NoPermKey, (await As("cli-user", "cli-pw", "GET", "other")).Single());
            Assert.Equal("NOPERM this user has no permissions to run the 'flushall' command", (await As("cli-user", "cli-pw", "FLUSHALL")).Single());
            Assert.Contains(" user=cli-user ", (await As("cli-user", "cli-pw", "CLIENT", "INFO")).Single(), StringComparison.Ordinal);
            var wrong = await As("cli-user", "nope", "PING");
            Assert.Contains("AUTH failed: WRONGPASS invalid username-password pair or user is disabled.", wrong.Stderr, StringComparison.Ordinal);
            // a disabled user cannot log in
            Assert.Equal("OK", await Admin("ACL", "SETUSER", "cli-user", "off"));
            Assert.Contains("AUTH failed: WRONGPASS", (await As("cli-user", "cli-pw", "PING")).Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await Admin("ACL", "DELUSER", "cli-user");
        }
    }

    [Fact]
    public async Task StackExchangeRedisWithUserAndPassword()
    {
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "se-user", "on", ">se-pw", "~se:*", "allchannels", "+@all", "-@admin", "-@dangerous"));
        try
        {
            var options = ConfigurationOptions.Parse(server.EndPoint);
            options.User = "se-user";
            options.Password = "se-pw";
            options.AbortOnConnectFail = true;
            using var muxer = await ConnectionMultiplexer.ConnectAsync(options);
            var db = muxer.GetDatabase();
            Assert.True(await db.StringSetAsync("se:1", "v"));
            Assert.Equal("v", (string?)await db.StringGetAsync("se:1"));
            var denied = await Assert.ThrowsAsync<RedisServerException>(() => db.StringGetAsync("other"));
            Assert.Equal(NoPermKey, denied.Message);
            Assert.Equal("se-user", (string?)await db.ExecuteAsync("ACL", "WHOAMI"));

            var wrong = ConfigurationOptions.Parse(server.EndPoint);
            wrong.User = "se-user";
            wrong.Password = "bad";
            wrong.AbortOnConnectFail = true;
            wrong.ConnectTimeout = 2000;
            // the refused AUTH leaves the connection as the default user (nopass here, as with redis-server)
            using (var bad = await ConnectionMultiplexer.ConnectAsync(wrong))
                Assert.Equal("default", (string?)await bad.GetDatabase().ExecuteAsync("ACL", "WHOAMI"));
            Assert.Contains("se-user", await Admin("ACL", "LOG", "1"), StringComparison.Ordinal); // the refused AUTH
        }
        finally
        {
            await Admin("ACL", "DELUSER", "se-user");
        }
    }

    [Fact]
    public async Task DeletingAUserDisconnectsItsClients()
    {
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "gone", "on", "nopass", "+@all", "~*"));
        using var c = new RawConnection(server);
        using var other = new RawConnection(server);
        Assert.Equal(new Reply('+', "OK"), c.Command("AUTH", "gone", "x"));
        Assert.Equal(new Reply('+', "PONG"), c.Command("PING"));
        // turning the user off only refuses new AUTHs (redis-server 7.0.15 keeps its connections)
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "gone", "off"));
        Assert.Equal(new Reply('+', "PONG"), c.Command("PING"));
        Assert.Equal("1", await Admin("ACL", "DELUSER", "gone"));
        Assert.ThrowsAny<IOException>(() => c.Command("PING"));
        Assert.Equal(new Reply('+', "PONG"), other.Command("PING")); // the default user's connection stays
    }

    [Fact]
    public async Task DeletingTheCallersOwnUserClosesAfterTheReply()
    {
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "self", "on", "nopass", "+@all", "~*"));
        using var c = new RawConnection(server);
        Assert.Equal(new Reply('+', "OK"), c.Command("AUTH", "self", "x"));
        Assert.Equal(1, c.Command("ACL", "DELUSER", "self").Integer);
        Assert.ThrowsAny<IOException>(() => c.Command("PING"));
    }

    [Fact]
    public async Task ClientKillByUser()
    {
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "victim", "on", "nopass", "+@all", "~*"));
        try
        {
            using var a = new RawConnection(server);
            using var b = new RawConnection(server);
            using var bystander = new RawConnection(server);
            Assert.Equal(new Reply('+', "OK"), a.Command("AUTH", "victim", "x"));
            Assert.Equal(new Reply('+', "OK"), b.Command("AUTH", "victim", "x"));
            Assert.Equal("2", await Admin("CLIENT", "KILL", "USER", "victim"));
            Assert.ThrowsAny<IOException>(() => a.Command("PING"));
            Assert.ThrowsAny<IOException>(() => b.Command("PING"));
            Assert.Equal(new Reply('+', "PONG"), bystander.Command("PING"));
            Assert.Equal("ERR No such user 'nobody'", await Admin("CLIENT", "KILL", "USER", "nobody"));
        }
        finally
        {
            await Admin("ACL", "DELUSER", "victim");
        }
    }

    [Fact]
    public async Task RevokingAChannelDisconnectsItsSubscribers()
    {
        Assert.Equal("OK", await Admin("ACL", "SETUSER", "sub", "on", "nopass", "+@all", "resetchannels", "&news.*", "&sport"));
        try
        {
            using var news = new RawConnection(server);
            using var sport = new RawConnection(server);
            Assert.Equal(new Reply('+', "OK"), news.Command("AUTH", "sub", "x"));
            Assert.Equal(new Reply('+', "OK"), sport.Command("AUTH", "sub", "x"));
            Assert.Equal('*', news.Command("SUBSCRIBE", "news.tech").Type);
            Assert.Equal('*', sport.Command("SUBSCRIBE", "sport").Type);
            Assert.Equal(new Reply('-', "NOPERM this user has no permissions to access one of the channels used as arguments"), sport.Command("SUBSCRIBE", "weather"));
            // adding a channel keeps everyone; removing news.* closes the news subscriber only
            Assert.Equal("OK", await Admin("ACL", "SETUSER", "sub", "&weather"));
            Assert.Equal("OK", await Admin("ACL", "SETUSER", "sub", "resetchannels", "&sport", "&weather"));
            Assert.ThrowsAny<IOException>(() => news.Command("PING"));
            Assert.Equal("1", await Admin("PUBLISH", "sport", "goal"));
            var message = sport.ReadReply();
            Assert.Equal("goal", message.Items![2].Text);
        }
        finally
        {
            await Admin("ACL", "DELUSER", "sub");
        }
    }

    [Fact]
    public async Task RequirePassIsTheDefaultUsersPassword()
    {
        using var admin = new RawConnection(server);
        Assert.Equal(new Reply('+', "OK"), admin.Command("CONFIG", "SET", "requirepass", "rp-secret"));
        try
        {
            Assert.Equal("NOAUTH Authentication required.", await Admin("PING"));
            Assert.Equal("PONG", (await RedisCli.RunAsync(server, ["PING"], password: "rp-secret")).Single());
            Assert.Equal("PONG", (await As("default", "rp-secret", "PING")).Single());
            var user = admin.Command("ACL", "GETUSER", "default");
            Assert.Equal("passwords", user.Items![2].Text);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("rp-secret"u8)), user.Items[3].Items![0].Text);
        }
        finally
        {
            Assert.Equal(new Reply('+', "OK"), admin.Command("CONFIG", "SET", "requirepass", ""));
        }
        Assert.Equal("PONG", await Admin("PING"));
        Assert.Contains("nopass", await Admin("ACL", "LIST"), StringComparison.Ordinal);
    }

    public void Dispose() => server.ThrowIfUnhealthy();
}
