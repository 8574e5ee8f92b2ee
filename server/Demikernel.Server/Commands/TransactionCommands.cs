using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>
/// MULTI, EXEC, DISCARD, WATCH, UNWATCH. While a client is in MULTI the dispatcher queues each request's raw frame
/// (after checking that the command exists and its arity); EXEC replays the frames through the dispatcher.
/// </summary>
public static class TransactionCommands
{
    private const CommandFlags TxFlags = CommandFlags.NoScript | CommandFlags.Loading | CommandFlags.Stale | CommandFlags.Fast | CommandFlags.AllowBusy;

    public static void Register(CommandTable table)
    {
        table.Add(new("MULTI", Multi) { Flags = CommandFlags.RunsInMulti });
        table.Add(new("EXEC", Exec) { Flags = CommandFlags.RunsInMulti });
        table.Add(new("DISCARD", Discard) { Flags = CommandFlags.RunsInMulti });
        table.Add(new("WATCH", Watch) { Flags = CommandFlags.RunsInMulti });
        table.Add(new("UNWATCH", Unwatch) { Flags = CommandFlags.RunsInMulti });
    }

    private static void Multi(ref CommandContext c)
    {
        if (c.Client.InMulti)
        {
            c.Reply.Error("ERR MULTI calls can not be nested");
            return;
        }
        c.Client.InMulti = true;
        c.Client.MultiAborted = false;
        c.Client.MultiQueue.Clear();
        c.Reply.Ok();
    }

    private static void Discard(ref CommandContext c)
    {
        if (!c.Client.InMulti)
        {
            c.Reply.Error("ERR DISCARD without MULTI");
            return;
        }
        Reset(ref c);
        c.Reply.Ok();
    }

    private static void Reset(ref CommandContext c)
    {
        c.Client.InMulti = false;
        c.Client.MultiAborted = false;
        c.Client.MultiQueue.Clear();
        c.Server.Watches.UnwatchAll(c.Client);
    }

    private static bool QueuesAWrite(ref CommandContext c) => Queues(ref c, CommandFlags.Write);

    private static bool Queues(ref CommandContext c, CommandFlags flag)
    {
        for (var queued = new QueuedCommands(ref c); queued.MoveNext();)
            if ((queued.Flags & flag) != 0) return true;
        return false;
    }

    private static void Exec(ref CommandContext c)
    {
        var client = c.Client;
        if (!client.InMulti)
        {
            c.Reply.Error("ERR EXEC without MULTI");
            return;
        }
        if (c.Server.Cluster is { } cluster && Cluster.ClusterCommands.ExecRedirects(ref c, cluster))
        {
            Reset(ref c); // processCommand discards the transaction and answers the redirection itself (no EXECABORT)
            return;
        }
        if (client.MultiAborted)
        {
            Reset(ref c);
            c.Reply.Error("EXECABORT Transaction discarded because of previous errors.");
            return;
        }
        if (c.Server.Persistence.WriteDeniedError is { } denied && QueuesAWrite(ref c))
        {
            // redis-server's processCommand treats EXEC with queued writes as a write: the transaction is discarded.
            Reset(ref c);
            c.Reply.Error("EXECABORT Transaction discarded because of: " + denied);
            return;
        }
        if (c.Server.Memory.OutOfMemoryAtCommandStart && Queues(ref c, CommandFlags.DenyOom))
        {
            // processCommand counts EXEC as denyoom when it queues a denyoom command: out of memory, it is refused
            Reset(ref c);
            c.Reply.Error("EXECABORT Transaction discarded because of: " + CommandTable.OomError);
            return;
        }
        bool broken = c.Server.Watches.IsBroken(client);
        var queued = client.MultiQueue.ToArray();
        Reset(ref c);
        if (broken)
        {
            c.Reply.NullArray();
            return;
        }
        c.Reply.ArrayHeader(queued.Length);
        var scanner = new RespRequestScanner();
        var args = new RespArgs();
        client.InExec = true;
        try
        {
            foreach (var frame in queued)
            {
                scanner.Reset();
                scanner.TryScan(frame, args, out int consumed, out _);
                var inner = new CommandContext(frame, args, client, c.Server, c.Reply) { FrameLength = consumed };
                c.Server.Commands.Execute(ref inner);
            }
        }
        finally
        {
            client.InExec = false;
        }
        // Clients blocked on keys the transaction filled are served by the dispatcher once EXEC's effects are
        // propagated, as redis-server does after the whole transaction.
    }

    private static void Watch(ref CommandContext c)
    {
        if (c.Client.InMulti)
        {
            c.Reply.Error("ERR WATCH inside MULTI is not allowed");
            return;
        }
        for (int i = 1; i < c.Count; i++) c.Server.Watches.Watch(c.Client, c.Client.Database, c.Arg(i));
        c.Reply.Ok();
    }

    private static void Unwatch(ref CommandContext c)
    {
        c.Server.Watches.UnwatchAll(c.Client);
        c.Reply.Ok();
    }
}
