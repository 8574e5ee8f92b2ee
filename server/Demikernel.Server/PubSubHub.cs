using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server;

/// <summary>
/// Channels and patterns → subscribed sessions. PUBLISH walks the channel's subscribers and every pattern, and hands
/// each matching session its message (see <see cref="ClientSession.Deliver"/>).
/// </summary>
public sealed class PubSubHub
{
    private readonly Dictionary<string, List<ClientSession>> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ClientSession>> _patterns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ClientSession>> _shardChannels = new(StringComparer.Ordinal);

    /// <summary>SSUBSCRIBE's channels (sharded pub/sub: no patterns, its own namespace).</summary>
    public IEnumerable<string> ShardChannels => _shardChannels.Keys;

    public int ShardSubscriberCount(string channel) => _shardChannels.TryGetValue(channel, out var l) ? l.Count : 0;

    public bool SubscribeShard(ClientSession session, string channel)
    {
        if (!_shardChannels.TryGetValue(channel, out var list)) _shardChannels[channel] = list = [];
        if (list.Contains(session)) return false;
        list.Add(session);
        return true;
    }

    public bool UnsubscribeShard(ClientSession session, string channel)
    {
        if (!_shardChannels.TryGetValue(channel, out var list) || !list.Remove(session)) return false;
        if (list.Count == 0) _shardChannels.Remove(channel);
        return true;
    }

    /// <summary>SPUBLISH: an "smessage" to each subscriber of the shard channel; returns receivers.</summary>
    public int PublishShard(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message)
    {
        if (_shardChannels.Count == 0) return 0;
        if (!_shardChannels.TryGetValue(Encoding.UTF8.GetString(channel), out var subscribers)) return 0;
        var all = subscribers.ToArray();
        foreach (var session in all) session.Deliver(ClientSession.ShardMessage, channel, message);
        return all.Length;
    }

    public int ChannelCount => _channels.Count;
    public int PatternCount => _patterns.Values.Sum(l => l.Count);

    public IEnumerable<string> Channels => _channels.Keys;

    public int SubscriberCount(string channel) => _channels.TryGetValue(channel, out var l) ? l.Count : 0;

    /// <summary>Adds a subscription; false if the session already had it.</summary>
    public bool Subscribe(ClientSession session, string channel, bool pattern)
    {
        var map = pattern ? _patterns : _channels;
        if (!map.TryGetValue(channel, out var list)) map[channel] = list = [];
        if (list.Contains(session)) return false;
        list.Add(session);
        return true;
    }

    public bool Unsubscribe(ClientSession session, string channel, bool pattern)
    {
        var map = pattern ? _patterns : _channels;
        if (!map.TryGetValue(channel, out var list) || !list.Remove(session)) return false;
        if (list.Count == 0) map.Remove(channel);
        return true;
    }

    /// <summary>Drops every subscription of a session that ended.</summary>
    public void RemoveAll(ClientSession session)
    {
        foreach (var channel in session.Client.Channels) Unsubscribe(session, channel, pattern: false);
        foreach (var pattern in session.Client.Patterns) Unsubscribe(session, pattern, pattern: true);
        foreach (var channel in session.Client.ShardChannels) UnsubscribeShard(session, channel);
        session.Client.Channels.Clear();
        session.Client.Patterns.Clear();
        session.Client.ShardChannels.Clear();
    }

    /// <summary>Delivers a message to every subscriber of the channel and every matching pattern; returns receivers.</summary>
    public int Publish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message)
    {
        if (_channels.Count == 0 && _patterns.Count == 0) return 0;
        int receivers = 0;
        string name = Encoding.UTF8.GetString(channel);
        if (_channels.TryGetValue(name, out var subscribers))
        {
            foreach (var session in subscribers.ToArray())
            {
                session.Deliver(null, channel, message);
                receivers++;
            }
        }
        if (_patterns.Count > 0)
        {
            foreach (var (pattern, sessions) in _patterns.ToArray())
            {
                if (!Glob.IsMatch(Encoding.UTF8.GetBytes(pattern), channel)) continue;
                foreach (var session in sessions.ToArray())
                {
                    session.Deliver(pattern, channel, message);
                    receivers++;
                }
            }
        }
        return receivers;
    }
}
