using Demikernel.Resp;
using System.Text;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Notifications;

/// <summary>A client's CLIENT TRACKING settings (redis's CLIENT_TRACKING_* flags, redirection and prefixes).</summary>
public sealed class TrackingState
{
    public bool Bcast;
    public bool OptIn;
    public bool OptOut;
    public bool NoLoop;
    /// <summary>CLIENT CACHING yes (OPTIN) / no (OPTOUT) given for the next command or transaction.</summary>
    public bool Caching;
    public bool BrokenRedirect;
    public long Redirect;
    /// <summary>BCAST prefixes, sorted as redis's radix tree lists them.</summary>
    public SortedSet<byte[]> Prefixes { get; } = new(ByteOrder.Instance);
}

/// <summary>Orders byte strings as memcmp does (redis's rax order).</summary>
internal sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();
    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

/// <summary>
/// Client-side caching as redis-server 7.0's tracking.c: the tracking table (key name → ids of the clients that read
/// it; any database), BCAST prefixes with the keys changed under them, invalidation messages (RESP3 pushes, or
/// messages on <c>__redis__:invalidate</c> of a RESP2 redirect client in pub/sub mode), FLUSHDB/FLUSHALL's null
/// invalidation, tracking-table-max-keys. A subscriber of the store's change hook: every changed key (command,
/// expiry, eviction) is invalidated. With no tracking client the hook and the command path each cost one test.
/// </summary>
public sealed class ClientTracking : IKeyspaceObserver
{
    private static readonly byte[] Channel = "__redis__:invalidate"u8.ToArray();
    private readonly RedisServer _server;
    private readonly Dictionary<byte[], HashSet<long>> _table = new(ByteKeyComparer.Instance);
    private readonly SortedDictionary<byte[], BcastPrefix> _prefixes = new(ByteOrder.Instance);
    // Invalidations for the client running the command are sent after its reply (redis's tracking_pending_keys); null
    // stands for a flush.
    private readonly List<byte[]?> _pendingForCurrent = [];
    private ClientState? _current;
    private bool _scriptRead;

    private sealed class BcastPrefix
    {
        public readonly HashSet<ClientState> Clients = [];
        /// <summary>Keys changed since the last broadcast, sorted, with the client that changed each last (NOLOOP).</summary>
        public readonly SortedDictionary<byte[], ClientState?> Keys = new(ByteOrder.Instance);
    }

    public ClientTracking(RedisServer server) => _server = server;

    /// <summary>Clients with tracking on (INFO tracking_clients).</summary>
    public int TrackingClients { get; private set; }

    /// <summary>Keys in the tracking table (INFO tracking_total_keys).</summary>
    public long TotalKeys => _table.Count;

    /// <summary>Client ids across the table (INFO tracking_total_items).</summary>
    public long TotalItems { get; private set; }

    /// <summary>BCAST prefixes (INFO tracking_total_prefixes).</summary>
    public long TotalPrefixes => _prefixes.Count;

    /// <summary>tracking-table-max-keys (0 = no limit).</summary>
    public long MaxKeys { get; set; } = 1_000_000;

    /// <summary>Before a command runs: the client invalidations caused by it are "ours" for (NOLOOP, after the reply).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void BeforeCommand(ClientState client)
    {
        // a script's commands run on a client without a session: the caller stays the current client
        if (TrackingClients != 0 && client.Session is not null) _current = client;
    }

    // ---------------------------------------------------------------- CLIENT TRACKING and friends

    /// <summary>CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP].</summary>
    internal static void TrackingCommand(ref CommandContext c)
    {
        var self = c.Server.Tracking;
        var client = c.Client;
        long redirect = 0;
        bool bcast = false, optin = false, optout = false, noloop = false;
        var prefixes = new List<byte[]>();
        for (int j = 3; j < c.Count; j++)
        {
            bool more = j < c.Count - 1;
            var a = c.Arg(j);
            if (Ascii.EqualsIgnoreCase(a, "redirect"u8) && more)
            {
                j++;
                if (redirect != 0)
                {
                    c.Reply.Error("ERR A client can only redirect to a single other client");
                    return;
                }
                if (!RedisNumbers.TryParseInt64(c.Arg(j), out redirect))
                {
                    c.Reply.Error("ERR value is not an integer or out of range");
                    return;
                }
                if (c.Server.FindClient(redirect) is null)
                {
                    c.Reply.Error("ERR The client ID you want redirect to does not exist");
                    return;
                }
            }
            else if (Ascii.EqualsIgnoreCase(a, "bcast"u8)) bcast = true;
            else if (Ascii.EqualsIgnoreCase(a, "optin"u8)) optin = true;
            else if (Ascii.EqualsIgnoreCase(a, "optout"u8)) optout = true;
            else if (Ascii.EqualsIgnoreCase(a, "noloop"u8)) noloop = true;
            else if (Ascii.EqualsIgnoreCase(a, "prefix"u8) && more) prefixes.Add(c.Arg(++j).ToArray());
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (Ascii.EqualsIgnoreCase(c.Arg(2), "on"u8))
        {
            var t = client.Tracking;
            if (!bcast && prefixes.Count > 0)
            {
                c.Reply.Error("ERR PREFIX option requires BCAST mode to be enabled");
                return;
            }
            if (t is not null && t.Bcast != bcast)
            {
                c.Reply.Error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
                return;
            }
            if (bcast && (optin || optout))
            {
                c.Reply.Error("ERR OPTIN and OPTOUT are not compatible with BCAST");
                return;
            }
            if (optin && optout)
            {
                c.Reply.Error("ERR You can't specify both OPTIN mode and OPTOUT mode");
                return;
            }
            if (t is not null && ((optin && t.OptOut) || (optout && t.OptIn)))
            {
                c.Reply.Error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
                return;
            }
            if (bcast && PrefixCollision(t, prefixes) is { } collision)
            {
                c.Reply.Error(collision);
                return;
            }
            self.Enable(client, redirect, bcast, optin, optout, noloop, prefixes);
        }
        else if (Ascii.EqualsIgnoreCase(c.Arg(2), "off"u8)) self.Disable(client);
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        c.Reply.Ok();
    }

    /// <summary>redis's checkPrefixCollisionsOrReply: two prefixes overlap when one starts with the other.</summary>
    private static string? PrefixCollision(TrackingState? t, List<byte[]> prefixes)
    {
        static bool Overlap(byte[] a, byte[] b) => a.AsSpan(0, Math.Min(a.Length, b.Length)).SequenceEqual(b.AsSpan(0, Math.Min(a.Length, b.Length)));
        static string Text(byte[] b) => Encoding.Latin1.GetString(b);
        for (int i = 0; i < prefixes.Count; i++)
        {
            if (t is not null)
                foreach (var existing in t.Prefixes)
                    if (Overlap(existing, prefixes[i]))
                        return $"ERR Prefix '{Text(prefixes[i])}' overlaps with an existing prefix '{Text(existing)}'. Prefixes for a single client must not overlap.";
            for (int j = i + 1; j < prefixes.Count; j++)
                if (Overlap(prefixes[i], prefixes[j]))
                    return $"ERR Prefix '{Text(prefixes[i])}' overlaps with another provided prefix '{Text(prefixes[j])}'. Prefixes for a single client must not overlap.";
        }
        return null;
    }

    private void Enable(ClientState client, long redirect, bool bcast, bool optin, bool optout, bool noloop, List<byte[]> prefixes)
    {
        if (client.Tracking is not { } t)
        {
            client.Tracking = t = new TrackingState();
            TrackingClients++;
        }
        t.BrokenRedirect = false;
        t.Redirect = redirect;
        t.Bcast = bcast;
        t.OptIn = optin;
        t.OptOut = optout;
        t.NoLoop = noloop;
        if (!bcast) return;
        if (prefixes.Count == 0) AddPrefix(client, t, []);
        foreach (var p in prefixes) AddPrefix(client, t, p);
    }

    private void AddPrefix(ClientState client, TrackingState t, byte[] prefix)
    {
        if (!_prefixes.TryGetValue(prefix, out var bs)) _prefixes[prefix] = bs = new BcastPrefix();
        if (bs.Clients.Add(client)) t.Prefixes.Add(prefix);
    }

    /// <summary>CLIENT TRACKING off, RESET, or the connection closed (redis's disableTracking).</summary>
    public void Disable(ClientState client)
    {
        if (client.Tracking is not { } t) return;
        foreach (var p in t.Prefixes)
        {
            if (!_prefixes.TryGetValue(p, out var bs)) continue;
            bs.Clients.Remove(client);
            if (bs.Clients.Count == 0) _prefixes.Remove(p);
        }
        client.Tracking = null;
        TrackingClients--;
        if (ReferenceEquals(_current, client)) _pendingForCurrent.Clear();
    }

    /// <summary>CLIENT CACHING yes|no.</summary>
    internal static void CachingCommand(ref CommandContext c)
    {
        if (c.Client.Tracking is not { } t)
        {
            c.Reply.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
            return;
        }
        if (Ascii.EqualsIgnoreCase(c.Arg(2), "yes"u8))
        {
            if (!t.OptIn)
            {
                c.Reply.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
                return;
            }
        }
        else if (Ascii.EqualsIgnoreCase(c.Arg(2), "no"u8))
        {
            if (!t.OptOut)
            {
                c.Reply.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
                return;
            }
        }
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        t.Caching = true;
        c.Reply.Ok();
    }

    internal static void GetRedirCommand(ref CommandContext c) => c.Reply.Integer(c.Client.Tracking?.Redirect ?? -1);

    internal static void TrackingInfoCommand(ref CommandContext c)
    {
        var t = c.Client.Tracking;
        var r = c.Reply;
        r.MapHeader(3);
        r.Bulk("flags"u8);
        var flags = new List<string> { t is null ? "off" : "on" };
        if (t is not null)
        {
            if (t.Bcast) flags.Add("bcast");
            if (t.OptIn) flags.Add("optin");
            if (t.OptIn && t.Caching) flags.Add("caching-yes");
            if (t.OptOut) flags.Add("optout");
            if (t.OptOut && t.Caching) flags.Add("caching-no");
            if (t.NoLoop) flags.Add("noloop");
            if (t.BrokenRedirect) flags.Add("broken_redirect");
        }
        r.SetHeader(flags.Count);
        foreach (var f in flags) r.Bulk(f);
        r.Bulk("redirect"u8);
        r.Integer(t?.Redirect ?? -1);
        r.Bulk("prefixes"u8);
        r.ArrayHeader(t?.Prefixes.Count ?? 0);
        if (t is not null)
            foreach (var p in t.Prefixes) r.Bulk(p);
    }

    /// <summary>CLIENT LIST's tracking flags: t, R, B in redis's order.</summary>
    public static string Flags(ClientState client) => client.Tracking is not { } t ? "" : "t" + (t.BrokenRedirect ? "R" : "") + (t.Bcast ? "B" : "");

    // ---------------------------------------------------------------- reads, changes, flushes

    /// <summary>After a command (top level or inside EXEC): remembers the keys a read-only command read for a tracking
    /// client, ends CLIENT CACHING's one-command scope, and once at top level sends what waited for the reply.</summary>
    public void AfterCommand(ref CommandContext c, CommandSpec spec)
    {
        if (TrackingClients == 0) return;
        AfterCommandSlow(ref c, spec);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void AfterCommandSlow(ref CommandContext c, CommandSpec spec)
    {
        var client = c.Client;
        if (client.Session is null && (spec.Flags & CommandFlags.ReadOnly) != 0)
        {
            // A read inside a script: redis remembers the script's declared keys for its caller (below, once the
            // EVAL/FCALL itself ends), not the keys of the command the script ran.
            _scriptRead = true;
            return;
        }
        bool scriptRead = _scriptRead && ReferenceEquals(_current, client);
        _scriptRead = false;
        if (client.Tracking is { Bcast: false } t && (spec.Flags & CommandFlags.PubSub) == 0
            && (scriptRead || ((spec.Flags & CommandFlags.ReadOnly) != 0 && spec.WireName is not ("eval_ro" or "evalsha_ro" or "fcall_ro"))))
        {
            bool skip = (t.OptIn && !t.Caching) || (t.OptOut && t.Caching);
            if (!skip) Remember(ref c, spec);
        }
        // CLIENT CACHING covers the next command, or the whole next transaction
        if (client.Tracking is { } state && !client.InMulti && !client.InExec && !spec.WireName.StartsWith("client", StringComparison.Ordinal)) state.Caching = false;
        if (client.InExec) return;
        if (ReferenceEquals(_current, client) && _pendingForCurrent.Count > 0)
        {
            foreach (var key in _pendingForCurrent) Send(client, key, flush: key is null);
            _pendingForCurrent.Clear();
        }
        _current = null;
        Broadcast();
        LimitTable();
    }

    private void Remember(ref CommandContext c, CommandSpec spec)
    {
        var args = new byte[c.Count][];
        for (int i = 0; i < c.Count; i++) args[i] = c.Arg(i).ToArray();
        var keys = new List<(int Position, KeyFlags Flags)>();
        if (KeyFinder.Find(spec, args, keys) == 0) return;
        foreach (var (position, _) in keys)
        {
            var key = args[position];
            if (!_table.TryGetValue(key, out var ids)) _table[key] = ids = [];
            if (ids.Add(c.Client.Id)) TotalItems++;
        }
    }

    public void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type)
    {
        if (_table.Count == 0 && _prefixes.Count == 0) return;
        Invalidate(key);
    }

    public void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming)
    {
        // FLUSHDB/FLUSHALL call Flushed once, even for empty databases; SWAPDB invalidates nothing in redis 7.0.
    }

    /// <summary>FLUSHDB / FLUSHALL: every tracking client gets a null invalidation; the table is emptied.</summary>
    public void Flushed()
    {
        if (TrackingClients != 0)
        {
            foreach (var session in _server.Clients)
            {
                if (session.Client.Tracking is null) continue;
                if (ReferenceEquals(session.Client, _current)) _pendingForCurrent.Add(null);
                else Send(session.Client, null, flush: true);
            }
        }
        _table.Clear();
        TotalItems = 0;
    }

    /// <summary>redis's trackingInvalidateKey.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void Invalidate(ReadOnlySpan<byte> key, bool bcast = true)
    {
        if (bcast && _prefixes.Count > 0)
        {
            byte[]? copy = null;
            foreach (var (prefix, bs) in _prefixes)
                if (key.StartsWith(prefix)) bs.Keys[copy ??= key.ToArray()] = _current;
        }
        var lookup = _table.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(key, out var ids)) return;
        lookup.Remove(key);
        TotalItems -= ids.Count;
        foreach (long id in ids)
        {
            var target = _server.FindClient(id)?.Client;
            if (target?.Tracking is not { } t || t.Bcast) continue;
            if (t.NoLoop && ReferenceEquals(target, _current)) continue;
            if (ReferenceEquals(target, _current)) _pendingForCurrent.Add(key.ToArray());
            else Send(target, key.ToArray(), flush: false);
        }
    }

    /// <summary>redis's trackingBroadcastInvalidationMessages: each prefix's changed keys to its clients (NOLOOP
    /// clients without their own changes).</summary>
    private void Broadcast()
    {
        foreach (var bs in _prefixes.Values)
        {
            if (bs.Keys.Count == 0) continue;
            foreach (var client in bs.Clients)
            {
                var keys = new List<byte[]>();
                foreach (var (k, by) in bs.Keys)
                    if (!(client.Tracking is { NoLoop: true } && ReferenceEquals(by, client))) keys.Add(k);
                if (keys.Count > 0) Send(client, keys);
            }
            bs.Keys.Clear();
        }
    }

    /// <summary>redis's trackingLimitUsedSlots: over tracking-table-max-keys, keys are invalidated (their clients told)
    /// until the table is under the limit again, with an effort that grows while it stays over.</summary>
    private int _limitRounds;

    private void LimitTable()
    {
        if (MaxKeys == 0 || _table.Count <= MaxKeys)
        {
            _limitRounds = 0;
            return;
        }
        int effort = 100 * (_limitRounds + 1);
        var random = Random.Shared;
        while (effort-- > 0 && _table.Count > MaxKeys)
        {
            // a random key, as redis's random walk of the radix tree
            var key = _table.Keys.ElementAt(random.Next(_table.Count));
            var saved = _current;
            _current = null;
            Invalidate(key, bcast: false);
            _current = saved;
        }
        if (_table.Count > MaxKeys) _limitRounds++;
        else _limitRounds = 0;
    }

    /// <summary>Runs what the end of a command would for changes outside any command (active expiry, eviction).</summary>
    public void CronStep()
    {
        if (TrackingClients == 0) return;
        Broadcast();
        LimitTable();
    }

    // ---------------------------------------------------------------- messages

    private void Send(ClientState target, byte[]? key, bool flush) => Deliver(target, key, null, flush);

    private void Send(ClientState target, List<byte[]> keys) => Deliver(target, null, keys, flush: false);

    /// <summary>redis's sendTrackingMessage: to the redirect client when there is one (broken: told once in RESP3),
    /// as a RESP3 push, or as a message on __redis__:invalidate to a RESP2 redirect client in pub/sub mode.</summary>
    private void Deliver(ClientState target, byte[]? key, List<byte[]>? keys, bool flush)
    {
        var t = target.Tracking!;
        var dest = target;
        bool redirected = false;
        if (t.Redirect != 0)
        {
            if (_server.FindClient(t.Redirect) is not { } redir)
            {
                t.BrokenRedirect = true;
                if (target.Protocol == Resp.RespVersion.Resp3 && target.Session?.BeginMessage() is { } r)
                {
                    r.PushHeader(2);
                    r.Bulk("tracking-redir-broken"u8);
                    r.Integer(t.Redirect);
                    target.Session.EndMessage();
                }
                return;
            }
            dest = redir.Client;
            redirected = true;
        }
        if (dest.Session?.BeginMessage() is not { } reply) return;
        if (dest.Protocol == Resp.RespVersion.Resp3)
        {
            reply.PushHeader(2);
            reply.Bulk("invalidate"u8);
        }
        else if (redirected && dest.SubscriptionCount > 0)
        {
            reply.PushHeader(3);
            reply.Bulk("message"u8);
            reply.Bulk(Channel);
        }
        else return;
        if (flush) reply.Null();
        else if (key is not null)
        {
            reply.ArrayHeader(1);
            reply.Bulk(key);
        }
        else
        {
            reply.ArrayHeader(keys!.Count);
            foreach (var k in keys) reply.Bulk(k);
        }
        dest.Session.EndMessage();
    }
}
