namespace Demikernel.Server.IntegrationTests;

/// <summary>AUTH flows against a second server started with requirepass, through redis-cli and raw RESP.</summary>
public sealed class AuthTests(AuthServerFixture server) : ServerTestBase(server)
{
    private const string Pass = AuthServerFixture.Password;
    private const string NoAuth = "NOAUTH Authentication required.";
    private const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

    private async Task<string> One(params string[] command) => (await RedisCli.RunAsync(Server, command)).Single();

    [Fact]
    public async Task CommandsBeforeAuthGetNoAuth()
    {
        Assert.Equal(NoAuth, await One("GET", "k"));
        Assert.Equal(NoAuth, await One("PING"));
        Assert.Equal(NoAuth, await One("SET", "k", "v"));
        Assert.Equal(NoAuth, await One("INFO"));
    }

    [Fact]
    public async Task WrongPasswordIsRefused()
    {
        Assert.Equal(WrongPass, await One("AUTH", "wrong"));
        Assert.Equal(WrongPass, await One("AUTH", "default", "wrong"));
        Assert.Equal(WrongPass, await One("AUTH", "someone", Pass));
    }

    [Fact]
    public async Task AuthThenCommands()
    {
        string key = UniqueKey();
        var r = await RedisCli.ScriptAsync(Server, $"GET {key}\nAUTH wrong\nGET {key}\nAUTH {Pass}\nSET {key} v\nGET {key}\nDEL {key}");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Lines().Where(l => l.Length > 0).ToArray(); // redis-cli adds an empty line after each error
        Assert.Equal([NoAuth, WrongPass, NoAuth, "OK", "OK", "v", "1"], lines);
    }

    [Fact]
    public async Task AuthWithUserName()
    {
        var lines = (await RedisCli.ScriptAsync(Server, $"AUTH default {Pass}\nPING")).Lines();
        Assert.Equal(["OK", "PONG"], lines);
    }

    [Fact]
    public async Task RedisCliPasswordOption()
    {
        Assert.Equal("PONG", (await RedisCli.RunAsync(Server, ["PING"], password: Pass)).Single());

        var wrong = await RedisCli.RunAsync(Server, ["PING"], password: "wrong");
        Assert.Contains("AUTH failed: " + WrongPass, wrong.Stderr, StringComparison.Ordinal);
        Assert.Equal(NoAuth, wrong.Stdout.Trim());
    }

    [Fact]
    public async Task HelloNeedsAuthentication()
    {
        Assert.StartsWith("NOAUTH HELLO must be called with the client already authenticated", await One("HELLO", "3"), StringComparison.Ordinal);

        using var c = new RawConnection(Server);
        var hello = c.Command("HELLO", "3", "AUTH", "default", "wrong");
        Assert.Equal(new Reply('-', WrongPass), hello);
        hello = c.Command("HELLO", "3", "AUTH", "default", Pass, "SETNAME", "authed");
        Assert.Equal('%', hello.Type);
        var map = hello.Items!;
        Assert.Equal("proto", map[4].Text);
        Assert.Equal(3, map[5].Integer);
        Assert.Equal(new Reply('+', "PONG"), c.Command("PING"));
        Assert.Equal(new Reply('$', "authed"), c.Command("CLIENT", "GETNAME"));
    }

    [Fact]
    public void ResetDeauthenticates()
    {
        using var c = new RawConnection(Server);
        Assert.Equal(new Reply('+', "OK"), c.Command("AUTH", Pass));
        Assert.Equal(new Reply('+', "PONG"), c.Command("PING"));
        Assert.Equal(new Reply('+', "RESET"), c.Command("RESET"));
        Assert.Equal(new Reply('-', NoAuth), c.Command("PING"));
    }

    [Fact]
    public void QuitWorksBeforeAuth()
    {
        using var c = new RawConnection(Server);
        Assert.Equal(new Reply('+', "OK"), c.Command("QUIT"));
        Assert.True(c.WaitForClose());
    }

    [Fact]
    public void UnauthenticatedMultibulkLengthIsLimited()
    {
        // redis-server refuses more than 10 arguments before AUTH (processMultibulkBuffer) and closes the connection.
        using var c = new RawConnection(Server);
        c.Send("*20\r\n");
        Assert.Equal("-ERR Protocol error: unauthenticated multibulk length", c.ReadLine());
        Assert.True(c.WaitForClose(), "connection stayed open after the protocol error");
    }

    [Fact]
    public void UnauthenticatedBulkLengthIsLimited()
    {
        // ... and bulks over 16384 bytes.
        using var c = new RawConnection(Server);
        c.Send("*2\r\n$3\r\nGET\r\n$20000\r\n");
        Assert.Equal("-ERR Protocol error: unauthenticated bulk length", c.ReadLine());
        Assert.True(c.WaitForClose(), "connection stayed open after the protocol error");
    }

    [Fact]
    public void AuthenticatedClientsHaveNoSmallLimits()
    {
        using var c = new RawConnection(Server);
        Assert.Equal(new Reply('+', "OK"), c.Command("AUTH", Pass));
        var keys = Enumerable.Range(0, 20).Select(_ => UniqueKey()).ToArray();
        Assert.Equal(new Reply(':', "0", 0), c.Command(["DEL", .. keys]));
        string big = new('x', 20000);
        string key = UniqueKey();
        Assert.Equal(new Reply('+', "OK"), c.Command("SET", key, big));
        Assert.Equal(new Reply('$', big), c.Command("GET", key));
        Assert.Equal(new Reply(':', "1", 1), c.Command("DEL", key));
    }
}
