using System.Globalization;
using System.Net;
using System.Text;
using Demikernel.Resp;
using Demikernel.Runtime;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Cluster;

/// <summary>
/// MIGRATE (cluster.c migrateCommand) through the libOS queue API: the keys' DUMP payloads are taken when the command
/// runs, sent as RESTORE (RESTORE-ASKING in cluster mode) after AUTH/SELECT on a cached connection to the target,
/// and the migrated keys deleted (unless COPY) when the target said OK. redis-server blocks its whole event loop for
/// the round trip; here the client is parked and writes are held (a write pause) until the answer or the timeout,
/// so no write can slip between the copy and the delete. Connections are cached per host:port (at most 64, closed
/// after 10 s unused), remembering the database last selected, as redis's migrate_cached_sockets.
/// </summary>
internal sealed class MigrateSockets(RedisServer server)
{
    private const int MaxCached = 64;
    private const long TtlMs = 10_000;

    private sealed class Cached
    {
        public QDesc Qd;
        public long LastDb = -1;
        public long LastUseMs;
        public byte[] Buffer = new byte[1024];
        public int Start, End;
    }

    private sealed class State
    {
        public required List<byte[]> Keys;
        public bool Copy;
        public bool Done;
        public string? Error;          // IOERR or the target's error
        public required bool[] Restored; // each key's RESTORE answered OK
        public string? TargetError;
    }

    private readonly Dictionary<string, Cached> _cache = new(StringComparer.Ordinal);
    private bool _cronAdded;

    /// <summary>MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS k...].</summary>
    public static void Migrate(ref CommandContext c)
    {
        var server = c.Server;
        if (c.IsRetry && c.Client.BlockState is State done)
        {
            server.MigrateSockets.Finish(ref c, done);
            return;
        }
        bool copy = false, replace = false;
        string? user = null, password = null;
        int firstKey = 3, numKeys = 1;
        for (int j = 6; j < c.Count; j++)
        {
            int more = c.Count - 1 - j;
            if (c.ArgIs(j, "COPY"u8)) copy = true;
            else if (c.ArgIs(j, "REPLACE"u8)) replace = true;
            else if (c.ArgIs(j, "AUTH"u8))
            {
                if (more < 1)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                password = c.ArgString(++j);
            }
            else if (c.ArgIs(j, "AUTH2"u8))
            {
                if (more < 2)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                user = c.ArgString(++j);
                password = c.ArgString(++j);
            }
            else if (c.ArgIs(j, "KEYS"u8))
            {
                if (c.Arg(3).Length != 0)
                {
                    c.Reply.Error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
                    return;
                }
                firstKey = j + 1;
                numKeys = c.Count - j - 1;
                break;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(5), out long timeout) || !RedisNumbers.TryParseInt64(c.Arg(4), out long dbid))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (timeout <= 0) timeout = 1000;
        var db = c.Db;
        var request = new StringBuilder();
        var keys = new List<byte[]>();
        var payloads = new List<(byte[] Key, long Ttl, byte[] Payload)>();
        long now = server.NowMs;
        for (int j = 0; j < numKeys; j++)
        {
            var key = c.Arg(firstKey + j);
            if (!KeyCommands.LookupView(ref c, db, key, out var view)) continue;
            long ttl = 0;
            long expireAt = view.ExpireAtMs;
            if (expireAt != -1)
            {
                ttl = expireAt - now;
                if (ttl < 0) continue;
                if (ttl < 1) ttl = 1;
            }
            payloads.Add((key.ToArray(), ttl, RdbFormat.Dump(in view, server.Config.RdbCompression)));
        }
        if (payloads.Count == 0)
        {
            c.Reply.SimpleString("NOKEY"u8);
            return;
        }
        if (c.Client.Session is null || c.Client.InExec)
        {
            // redis runs it synchronously there; this server only migrates from a parked client
            c.Reply.Error("ERR MIGRATE is not supported inside MULTI/EXEC or scripts by this server");
            return;
        }
        var state = new State { Keys = payloads.Select(p => p.Key).ToList(), Restored = new bool[payloads.Count], Copy = copy };
        string host = c.ArgString(1), port = c.ArgString(2);
        string restore = server.Cluster is null ? "RESTORE" : "RESTORE-ASKING";
        var commands = new List<byte[][]>();
        if (password is not null)
            commands.Add(user is null ? [B("AUTH"), B(password)] : [B("AUTH"), B(user), B(password)]);
        foreach (var (key, ttl, payload) in payloads)
            commands.Add(replace ? [B(restore), key, B(ttl), payload, B("REPLACE")] : [B(restore), key, B(ttl), payload]);
        c.Client.BlockState = state;
        c.Block([], 0, BlockTimeoutReply.NullArray, BlockedOn.Migration);
        if (!c.Client.Blocked) return;
        var session = c.Client.Session;
        // writes wait until the keys are either still here or gone (redis blocks everything meanwhile)
        server.Diagnostics.Pause.Pause(now + timeout * 4 + 1000, Diagnostics.PauseMode.Write, Diagnostics.PausePurpose.Migrate);
        server.LibOS.Spawn(() => server.MigrateSockets.RunAsync(host, port, dbid, password is not null, commands, timeout, state, session));
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] B(long v) => Encoding.ASCII.GetBytes(v.ToString(CultureInfo.InvariantCulture));

    private async ValueTask RunAsync(string host, string port, long dbid, bool auth, List<byte[][]> commands, long timeout, State state, ClientSession session)
    {
        try
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                var (retry, error) = await TryOnceAsync(host, port, dbid, auth, commands, timeout, state);
                if (error is null || !retry)
                {
                    state.Error = error;
                    break;
                }
                state.Error = error;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            state.Error = "IOERR error or timeout reading to target instance";
        }
        state.Done = true;
        server.Diagnostics.Pause.Unpause(Diagnostics.PausePurpose.Migrate);
        session.RetryBlocked();
    }

    /// <summary>One try: (may retry, error or null). A cached connection that fails before any reply is retried once
    /// on a fresh one, as redis's may_retry.</summary>
    private async ValueTask<(bool Retry, string? Error)> TryOnceAsync(string host, string port, long dbid, bool auth, List<byte[][]> commands, long timeout, State state)
    {
        string name = host + ":" + port;
        var libos = server.LibOS;
        bool cached = _cache.TryGetValue(name, out var cs);
        if (cs is null)
        {
            if (_cache.Count == MaxCached)
            {
                var victim = _cache.ElementAt(Random.Shared.Next(_cache.Count));
                Close(victim.Key);
            }
            if (!IPAddress.TryParse(host, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 0 or > 65535)
            {
                IPAddress? resolved = null;
                try
                {
                    resolved = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
                }
                catch (System.Net.Sockets.SocketException) { }
                if (resolved is null || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out p)) return (false, "IOERR error or timeout connecting to the client");
                ip = resolved;
            }
            if (libos.Socket(SocketKind.Stream, out var qd) != 0) return (false, "IOERR error or timeout connecting to the client");
            var connect = libos.ConnectAsync(qd, IPv4Endpoint.FromIPAddress(ip, p));
            var timer = CloseAfter(qd, timeout);
            var connected = await connect;
            timer.Cancelled = true;
            if (!connected.Succeeded)
            {
                libos.Close(qd);
                return (false, "IOERR error or timeout connecting to the client");
            }
            libos.SetSockOpt(qd, SocketOption.TcpNoDelay, 1);
            cs = new Cached { Qd = qd };
            _cache[name] = cs;
            EnsureCron();
        }
        cs.LastUseMs = server.NowMs;
        bool select = cs.LastDb != dbid;
        var all = new List<byte[][]>();
        int prefix = 0;
        if (auth)
        {
            all.Add(commands[0]);
            prefix++;
        }
        if (select) all.Add([B("SELECT"), B(dbid)]);
        all.AddRange(commands.Skip(prefix));
        var bytes = new MemoryStream();
        foreach (var cmd in all)
        {
            bytes.Write(Encoding.ASCII.GetBytes($"*{cmd.Length}\r\n"));
            foreach (var a in cmd)
            {
                bytes.Write(Encoding.ASCII.GetBytes($"${a.Length}\r\n"));
                bytes.Write(a);
                bytes.Write("\r\n"u8);
            }
        }
        var sga = libos.SgaAlloc((int)bytes.Length);
        bytes.GetBuffer().AsSpan(0, (int)bytes.Length).CopyTo(sga.Span);
        var pushTimer = CloseAfter(cs.Qd, timeout);
        var pushed = await libos.PushAsync(cs.Qd, sga);
        pushTimer.Cancelled = true;
        libos.SgaFree(sga);
        if (!pushed.Succeeded)
        {
            Close(name);
            return (cached && !pushTimer.Fired, "IOERR error or timeout writing to target instance");
        }
        string? authReply = null, selectReply = null;
        int replies = 0;
        string? firstError = null;
        while (replies < all.Count)
        {
            var readTimer = CloseAfter(cs.Qd, timeout);
            string? line = await ReadLineAsync(cs);
            readTimer.Cancelled = true;
            if (line is null)
            {
                Close(name);
                bool retry = cached && replies == 0 && !readTimer.Fired && firstError is null;
                return (retry, firstError ?? "IOERR error or timeout reading to target instance");
            }
            int index = replies++;
            if (auth && index == 0) authReply = line;
            else if (select && index == (auth ? 1 : 0)) selectReply = line;
            else
            {
                bool failed = line.StartsWith('-') || (authReply?.StartsWith('-') ?? false) || (selectReply?.StartsWith('-') ?? false);
                if (failed)
                {
                    if (firstError is null)
                    {
                        cs.LastDb = -1;
                        string err = authReply is { } a && a.StartsWith('-') ? a : selectReply is { } s && s.StartsWith('-') ? s : line;
                        firstError = $"ERR Target instance replied with error: {err[1..]}";
                        state.TargetError = firstError;
                    }
                }
                else state.Restored[index - (auth ? 1 : 0) - (select ? 1 : 0)] = true;
            }
        }
        if (firstError is null) cs.LastDb = dbid;
        return (false, firstError);
    }

    private sealed class Timer
    {
        public bool Cancelled;
        public bool Fired;
    }

    /// <summary>Closes the socket when the time runs out first (its pending pop/push then fails).</summary>
    private Timer CloseAfter(QDesc qd, long timeoutMs)
    {
        var t = new Timer();
        server.LibOS.Spawn(async () =>
        {
            await server.LibOS.Delay(TimeSpan.FromMilliseconds(timeoutMs));
            if (t.Cancelled) return;
            t.Fired = true;
            foreach (var (k, v) in _cache)
                if (v.Qd == qd)
                {
                    Close(k);
                    return;
                }
            server.LibOS.Close(qd);
        });
        return t;
    }

    private async ValueTask<string?> ReadLineAsync(Cached cs)
    {
        var libos = server.LibOS;
        while (true)
        {
            int lf = cs.Buffer.AsSpan(cs.Start, cs.End - cs.Start).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                int len = lf > 0 && cs.Buffer[cs.Start + lf - 1] == '\r' ? lf - 1 : lf;
                string line = Encoding.UTF8.GetString(cs.Buffer, cs.Start, len);
                cs.Start += lf + 1;
                return line;
            }
            var popped = await libos.PopAsync(cs.Qd);
            if (!popped.Succeeded || popped.Sga.IsEmpty)
            {
                if (popped.Succeeded) libos.SgaFree(popped.Sga);
                return null;
            }
            int n = popped.Sga.TotalLength;
            if (cs.Start > 0)
            {
                cs.Buffer.AsSpan(cs.Start, cs.End - cs.Start).CopyTo(cs.Buffer);
                cs.End -= cs.Start;
                cs.Start = 0;
            }
            if (cs.End + n > cs.Buffer.Length) Array.Resize(ref cs.Buffer, Math.Max(cs.Buffer.Length * 2, cs.End + n));
            popped.Sga.CopyTo(cs.Buffer.AsSpan(cs.End));
            libos.SgaFree(popped.Sga);
            cs.End += n;
        }
    }

    private void Close(string name)
    {
        if (!_cache.Remove(name, out var cs)) return;
        server.LibOS.Close(cs.Qd);
    }

    private void EnsureCron()
    {
        if (_cronAdded) return;
        _cronAdded = true;
        // migrateCloseTimedoutSockets: connections unused for 10 s are closed
        server.AddCronStep("migrate sockets", () =>
        {
            long now = server.NowMs;
            foreach (var (name, cs) in _cache.ToArray())
                if (now - cs.LastUseMs > TtlMs) Close(name);
        });
    }

    /// <summary>The retry after the round trip: delete what the target restored (unless COPY), answer.</summary>
    private void Finish(ref CommandContext c, State state)
    {
        c.Client.BlockState = null;
        if (!state.Copy)
        {
            // each key the target restored goes, propagated as one DEL of them all (redis rewrites MIGRATE so)
            var db = c.Db;
            var deleted = new List<byte[]>();
            for (int i = 0; i < state.Keys.Count; i++)
                if (state.Restored[i] && db.Delete(state.Keys[i])) deleted.Add(state.Keys[i]);
            if (deleted.Count > 0)
            {
                var w = c.RewritePropagation().Arg("DEL"u8);
                foreach (var key in deleted) w.Arg(key);
                w.End();
            }
        }
        if (state.TargetError is { } targetError) c.Reply.Error(targetError);
        else if (state.Error is { } error) c.Reply.Error(error);
        else c.Reply.Ok();
    }
}
