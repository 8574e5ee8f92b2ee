namespace Demikernel.Server.Commands;

/// <summary>SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE and SHUTDOWN, answered as redis-server 7.0 answers them.</summary>
public static class PersistenceCommands
{
    private const CommandFlags Admin = CommandFlags.Admin | CommandFlags.NoScript;

    public static void Register(CommandTable table)
    {
        table.Add(new("SAVE", Save));
        table.Add(new("BGSAVE", BgSave));
        table.Add(new("BGREWRITEAOF", BgRewriteAof));
        table.Add(new("LASTSAVE", LastSave));
        table.Add(new("SHUTDOWN", Shutdown));
    }

    private static void Save(ref CommandContext c)
    {
        string? error = c.Server.Persistence.Save();
        if (error is null) c.Reply.Ok();
        else c.Reply.Error(error);
    }

    private static void BgSave(ref CommandContext c)
    {
        bool schedule = false;
        if (c.Count > 1)
        {
            if (c.Count == 2 && c.ArgIs(1, "SCHEDULE"u8)) schedule = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var (ok, text) = c.Server.Persistence.BackgroundSaveCommand(schedule, c.Client.InExec);
        if (ok) c.Reply.SimpleString(text);
        else c.Reply.Error(text);
    }

    private static void BgRewriteAof(ref CommandContext c)
    {
        var (ok, text) = c.Server.Persistence.Aof.RewriteCommand();
        if (ok) c.Reply.SimpleString(text);
        else c.Reply.Error(text);
    }

    private static void LastSave(ref CommandContext c) => c.Reply.Integer(c.Server.Persistence.LastSaveUnix);

    private static void Shutdown(ref CommandContext c)
    {
        bool nosave = false, save = false, now = false, force = false, abort = false;
        for (int i = 1; i < c.Count; i++)
        {
            if (c.ArgIs(i, "NOSAVE"u8)) nosave = true;
            else if (c.ArgIs(i, "SAVE"u8)) save = true;
            else if (c.ArgIs(i, "NOW"u8)) now = true;
            else if (c.ArgIs(i, "FORCE"u8)) force = true;
            else if (c.ArgIs(i, "ABORT"u8)) abort = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if ((abort && (nosave || save || now || force)) || (nosave && save))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (!nosave && c.Server.BusyScript is { } busy)
        {
            c.Reply.Error(busy.Run.IsFunction ? Errors.BusyFunction : Errors.BusyScript); // only NOSAVE ends a busy script
            return;
        }
        if (abort)
        {
            // Without replicas to wait for, a shutdown never stays in progress.
            c.Reply.Error("ERR No shutdown in progress.");
            return;
        }
        if (!now && c.Client.InExec)
        {
            c.Reply.Error("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
            return;
        }
        // On success the server stops and the connection closes without a reply, as with redis-server's exit.
        if (!c.Server.Shutdown(save ? true : nosave ? false : null, force))
            c.Reply.Error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
}
