using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT.</summary>
public static class PubSubCommands
{
    private const CommandFlags PubSubFlags = CommandFlags.PubSub | CommandFlags.NoScript | CommandFlags.Loading | CommandFlags.Stale;

    public static void Register(CommandTable table)
    {
        table.Add(new("SUBSCRIBE", Subscribe) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("UNSUBSCRIBE", Unsubscribe) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("PSUBSCRIBE", PSubscribe) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("PUNSUBSCRIBE", PUnsubscribe) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("PUBLISH", Publish));
        table.Add(new("PUBSUB", Publish)
        {
            Subcommands =
            [
                new("CHANNELS", Channels),
                new("NUMSUB", NumSub),
                new("NUMPAT", NumPat),
                new("SHARDCHANNELS", Notifications.ShardedPubSubCommands.ShardChannels),
                new("SHARDNUMSUB", Notifications.ShardedPubSubCommands.ShardNumSub),
                new("HELP", Help),
            ],
        });
    }

    private static void Subscribe(ref CommandContext c) => Change(ref c, subscribe: true, pattern: false);
    private static void PSubscribe(ref CommandContext c) => Change(ref c, subscribe: true, pattern: true);
    private static void Unsubscribe(ref CommandContext c) => Change(ref c, subscribe: false, pattern: false);
    private static void PUnsubscribe(ref CommandContext c) => Change(ref c, subscribe: false, pattern: true);

    private static void Change(ref CommandContext c, bool subscribe, bool pattern)
    {
        var client = c.Client;
        var mine = pattern ? client.Patterns : client.Channels;
        ReadOnlySpan<byte> kind = (subscribe, pattern) switch
        {
            (true, false) => "subscribe"u8,
            (true, true) => "psubscribe"u8,
            (false, false) => "unsubscribe"u8,
            _ => "punsubscribe"u8,
        };
        List<string> names = [];
        for (int i = 1; i < c.Count; i++) names.Add(Encoding.UTF8.GetString(c.Arg(i)));
        if (!subscribe && names.Count == 0)
        {
            names.AddRange(mine);
            if (names.Count == 0)
            {
                // Nothing to unsubscribe from: one reply with a null channel.
                c.Reply.PushHeader(3);
                c.Reply.Bulk(kind);
                c.Reply.Null();
                c.Reply.Integer(client.ChannelAndPatternCount);
                return;
            }
        }
        foreach (var name in names)
        {
            if (subscribe)
            {
                if (mine.Add(name) && client.Session is { } session) c.Server.PubSub.Subscribe(session, name, pattern);
            }
            else if (mine.Remove(name) && client.Session is { } session)
            {
                c.Server.PubSub.Unsubscribe(session, name, pattern);
            }
            c.Reply.PushHeader(3);
            c.Reply.Bulk(kind);
            c.Reply.Bulk(name);
            c.Reply.Integer(client.ChannelAndPatternCount);
        }
    }

    private static void Publish(ref CommandContext c)
    {
        c.Reply.Integer(c.Server.PubSub.Publish(c.Arg(1), c.Arg(2)));
        // In cluster mode every node's subscribers get it over the bus (clusterPropagatePublish); otherwise replicas'
        // subscribers get it through replication (redis 7.0: forceCommandPropagation(c, PROPAGATE_REPL)).
        if (c.Server.Cluster is { } cluster) cluster.PropagatePublish(c.Arg(1), c.Arg(2));
        else c.Server.Effects.ForceToReplicas();
    }

    private static void Help(ref CommandContext c) => Diagnostics.DiagnosticsCommands.ReplyHelp(ref c, "PUBSUB",
    [
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ]);

    private static void Channels(ref CommandContext c)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(Errors.WrongArgCount("pubsub|channels"));
            return;
        }
        var pattern = c.Count == 3 ? c.Arg(2).ToArray() : null;
        var names = c.Server.PubSub.Channels.Where(n => pattern is null || Glob.IsMatch(pattern, Encoding.UTF8.GetBytes(n))).ToArray();
        c.Reply.ArrayHeader(names.Length);
        foreach (var n in names) c.Reply.Bulk(n);
    }

    private static void NumSub(ref CommandContext c)
    {
        c.Reply.ArrayHeader((c.Count - 2) * 2); // an array in RESP3 too, as redis-server 7.0
        for (int i = 2; i < c.Count; i++)
        {
            c.Reply.Bulk(c.Arg(i));
            c.Reply.Integer(c.Server.PubSub.SubscriberCount(Encoding.UTF8.GetString(c.Arg(i))));
        }
    }

    private static void NumPat(ref CommandContext c) => c.Reply.Integer(c.Server.PubSub.PatternCount);
}
