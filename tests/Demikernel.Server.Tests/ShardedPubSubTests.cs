namespace Demikernel.Server.Tests;

/// <summary>
/// SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB SHARDCHANNELS/SHARDNUMSUB against redis-server 7.0.15 over real
/// sockets, in RESP2 and RESP3: every reply and every message, in order, byte for byte.
/// </summary>
public sealed class ShardedPubSubTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void MatchesRedisServer(int protocol)
    {
        List<string> ours, theirs;
        using (var server = new ServerThread("spubsub", libos => new RedisServer(libos, new ServerOptions { Port = 0, Bind = "127.0.0.1", Save = "" })))
            ours = Run(server.Port, protocol);
        using (var redis = ReferenceRedis.TryStart())
            theirs = Run(redis.Port, protocol);
        Assert.Equal(theirs, ours);
        Assert.Contains(ours, l => l.Contains("smessage $1 a $2 m1", StringComparison.Ordinal));
    }

    private static List<string> Run(int port, int protocol)
    {
        using var sub = ListHashConnection.Open(port);
        using var psub = ListHashConnection.Open(port);
        using var pub = ListHashConnection.Open(port);
        string p = protocol.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sub.Call("HELLO", p);
        psub.Call("HELLO", p);
        pub.Call("HELLO", p);
        var log = new List<string>();
        void Sub(params string[] cmd) => log.Add("sub " + string.Join(' ', cmd) + " -> " + Show(sub.Call(cmd)));
        void Pub(params string[] cmd) => log.Add("pub " + string.Join(' ', cmd) + " -> " + Show(pub.Call(cmd)));
        void SubMore() => log.Add("sub more -> " + Show(sub.ReadReply()));

        Sub("SUNSUBSCRIBE");
        Sub("SSUBSCRIBE", "a", "b");
        SubMore();
        Sub("SSUBSCRIBE", "a");
        log.Add("psub -> " + Show(psub.Call("PSUBSCRIBE", "*")));
        Sub("PING");
        Sub("GET", "k");
        Sub("SUBSCRIBE", "a");
        Pub("SPUBLISH", "a", "m1");
        SubMore();
        Pub("PUBLISH", "a", "m2");
        SubMore();
        log.Add("psub got -> " + Show(psub.ReadReply())); // the PUBLISH only: patterns never see SPUBLISH
        Pub("SPUBLISH", "nobody", "x");
        Pub("PUBSUB", "SHARDCHANNELS", "b*"); // (not all: the order of several is redis's hash order)
        Pub("PUBSUB", "SHARDCHANNELS", "a*");
        Pub("PUBSUB", "SHARDCHANNELS", "a", "b");
        Pub("PUBSUB", "SHARDNUMSUB", "a", "b", "zz");
        Pub("PUBSUB", "SHARDNUMSUB");
        Pub("PUBSUB", "NUMSUB", "a", "b");
        Pub("PUBSUB", "CHANNELS");
        Pub("SSUBSCRIBE");
        Pub("SPUBLISH", "a");
        Pub("MULTI");
        Pub("SSUBSCRIBE", "q");
        Pub("SPUBLISH", "b", "in-multi");
        Pub("EXEC");
        SubMore();
        Sub("SUNSUBSCRIBE", "a", "zz");
        SubMore();
        Sub("PING");
        Sub("SUNSUBSCRIBE");
        Sub("UNSUBSCRIBE");
        Sub("PING");
        Pub("PUBSUB", "SHARDNUMSUB", "a", "b");
        return log;
    }

    private static string Show(string reply) => reply.Replace("\r\n", " ").Trim();
}
