using System.Text;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Notifications;

/// <summary>
/// Sharded pub/sub as redis-server 7.0 without cluster mode: SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS
/// and SHARDNUMSUB. Shard channels are a namespace of their own (a PUBLISH does not reach an SSUBSCRIBE of the same
/// name, patterns never match them); replies and messages are "ssubscribe", "sunsubscribe" and "smessage", counted
/// over the client's shard channels only, while any subscription keeps a RESP2 client in the subscribed context.
/// </summary>
public static class ShardedPubSubCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("SSUBSCRIBE", SSubscribe) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("SUNSUBSCRIBE", SUnsubscribe) { Flags = CommandFlags.AllowedWhileSubscribed });
        table.Add(new("SPUBLISH", SPublish));
    }

    private static void SSubscribe(ref CommandContext c)
    {
        var client = c.Client;
        if (client.InExec)
        {
            // redis: a client inside EXEC (CLIENT_DENY_BLOCKING) expects one reply per command
            c.Reply.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
            return;
        }
        for (int i = 1; i < c.Count; i++)
        {
            string name = Encoding.UTF8.GetString(c.Arg(i));
            if (client.ShardChannels.Add(name) && client.Session is { } session) c.Server.PubSub.SubscribeShard(session, name);
            c.Reply.PushHeader(3);
            c.Reply.Bulk("ssubscribe"u8);
            c.Reply.Bulk(c.Arg(i));
            c.Reply.Integer(client.ShardChannels.Count);
        }
    }

    private static void SUnsubscribe(ref CommandContext c)
    {
        var client = c.Client;
        List<string> names = [];
        if (c.Count == 1)
        {
            names.AddRange(client.ShardChannels);
            if (names.Count == 0)
            {
                c.Reply.PushHeader(3);
                c.Reply.Bulk("sunsubscribe"u8);
                c.Reply.Null();
                c.Reply.Integer(0);
                return;
            }
        }
        else
        {
            for (int i = 1; i < c.Count; i++) names.Add(Encoding.UTF8.GetString(c.Arg(i)));
        }
        foreach (var name in names)
        {
            if (client.ShardChannels.Remove(name) && client.Session is { } session) c.Server.PubSub.UnsubscribeShard(session, name);
            c.Reply.PushHeader(3);
            c.Reply.Bulk("sunsubscribe"u8);
            c.Reply.Bulk(name);
            c.Reply.Integer(client.ShardChannels.Count);
        }
    }

    private static void SPublish(ref CommandContext c)
    {
        c.Reply.Integer(c.Server.PubSub.PublishShard(c.Arg(1), c.Arg(2)));
        // in cluster mode the shard's other nodes get it over the bus (clusterPropagatePublishShard)
        if (c.Server.Cluster is { } cluster) cluster.PropagatePublishShard(c.Arg(1), c.Arg(2));
        else c.Server.Effects.ForceToReplicas(); // as PUBLISH: replicas' subscribers get it too
    }

    internal static void ShardChannels(ref CommandContext c)
    {
        if (c.Count > 3)
        {
            c.Reply.Error(SubcommandSyntaxError(ref c));
            return;
        }
        var pattern = c.Count == 3 ? c.Arg(2).ToArray() : null;
        var names = c.Server.PubSub.ShardChannels.Where(n => pattern is null || Glob.IsMatch(pattern, Encoding.UTF8.GetBytes(n))).ToArray();
        c.Reply.ArrayHeader(names.Length);
        foreach (var n in names) c.Reply.Bulk(n);
    }

    internal static void ShardNumSub(ref CommandContext c)
    {
        // an array of name, count pairs in RESP3 too (redis 7.0's pubsubCommand)
        c.Reply.ArrayHeader((c.Count - 2) * 2);
        for (int i = 2; i < c.Count; i++)
        {
            c.Reply.Bulk(c.Arg(i));
            c.Reply.Integer(c.Server.PubSub.ShardSubscriberCount(Encoding.UTF8.GetString(c.Arg(i))));
        }
    }

    /// <summary>redis's addReplySubcommandSyntaxError, naming the subcommand as the client spelled it.</summary>
    private static string SubcommandSyntaxError(ref CommandContext c) =>
        $"ERR unknown subcommand or wrong number of arguments for '{Encoding.UTF8.GetString(c.Arg(1))}'. Try PUBSUB HELP.";
}
