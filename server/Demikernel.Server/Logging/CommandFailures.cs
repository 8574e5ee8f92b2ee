using System.Runtime.CompilerServices;
using Demikernel.Server.Commands;

namespace Demikernel.Server.Logging;

/// <summary>
/// What happens when a command handler throws (a bug: handlers report errors as replies, the store returns statuses).
/// redis-server has no equivalent (a C bug crashes it); we answer and log, once:
/// <code>
///   handler throws ─▶ drop the half-written reply (rewind the reply buffer to where this command started)
///                  ─▶ "-ERR internal error while running 'cmd' (see the server log)"
///                  ─▶ one warning with the command name, client id and address, and the stack (no argument values:
///                     exception messages are withheld, see RedactedException)
///   a blocked client's re-run: the same, on the blocked client's reply; it is woken with the error
///   the reply cannot be repaired ─▶ the client is disconnected instead (its stream would be garbage)
/// </code>
/// Cold path, out of line, so the dispatcher's try/catch costs nothing when nothing is thrown.
/// </summary>
public static class CommandFailures
{
    public static string ErrorText(string command) => $"ERR internal error while running '{command}' (see the server log)";

    /// <summary>Called from the dispatcher's catch: <paramref name="replyMark"/> is the reply length before the handler ran.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Answer(ref CommandContext context, int replyMark, Exception exception)
    {
        var client = context.Client;
        string command = context.Command?.WireName ?? "?";
        try
        {
            // A handler that parked the client before throwing must not leave it parked with an answer.
            if (client.Blocked) client.Session?.AbandonBlock();
            context.Reply.RewindTo(replyMark);
            context.Reply.Error(ErrorText(command));
            context.Server.Log.CommandFailed(new RedactedException(exception), command, client.Id, client.Peer);
        }
        catch (Exception repairFailed)
        {
            // The reply buffer itself is broken: this connection's state cannot be trusted any more.
            client.CloseRequested = true;
            client.Session?.Kill();
            context.Server.Log.CommandFailedClientClosed(new RedactedException(new AggregateException(exception, repairFailed)), command, client.Id, client.Peer);
        }
    }
}
