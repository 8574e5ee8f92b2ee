using System.Globalization;
using System.Text;

namespace Demikernel.Server;

/// <summary>redis-server's catClientInfoString (CLIENT LIST, CLIENT INFO and the log lines that name a client).</summary>
internal static class ClientInfo
{
    /// <summary>One CLIENT LIST line; <paramref name="argvMem"/> is the size of the request the client is running.</summary>
    public static string Describe(ClientState client, long now, long argvMem)
    {
        var session = client.Session;
        string flags = (client.IsReplica ? "S" : "") + (client.IsMaster ? "M" : "") + (client.Monitoring ? "O" : "") + (client.SubscriptionCount > 0 ? "P" : "") + (client.InMulti ? "x" : "") + (client.Blocked ? "b" : "")
            + Notifications.ClientTracking.Flags(client) + (client.WatchBroken ? "d" : "") + (client.CloseRequested ? "c" : "")
            + (client.UnixSocketPath is not null ? "U" : "") + (client.NoEvict ? "e" : "");
        if (flags.Length == 0) flags = "N";
        long omem = session?.OutputMemory ?? 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"id={client.Id} addr={client.Address} laddr={client.LocalAddress} fd={client.Qd.Value} name={client.Name ?? ""} " +
            $"age={(now - client.CreatedMs) / 1000} idle={(now - client.LastInteractionMs) / 1000} flags={flags} db={client.Database} " +
            $"sub={client.Channels.Count} psub={client.Patterns.Count} ssub={client.ShardChannels.Count} multi={(client.InMulti ? client.MultiQueue.Count : -1)} " +
            $"qbuf={client.QueryBufferLength} qbuf-free={session?.QueryBufferFree ?? 0} argv-mem={argvMem} multi-mem={MultiMem(client)} rbs=16384 rbp=0 " +
            $"obl={session?.OutputBufferLength ?? 0} oll={session?.OutputListLength ?? 0} omem={omem} tot-mem={session?.TotalMemory(argvMem) ?? 0} " +
            $"events={(omem > 0 ? "rw" : "r")} cmd={client.LastCommand} user={client.User.Name} redir={client.Tracking?.Redirect ?? -1} " +
            $"resp={(int)client.Protocol}");
    }

    private static long MultiMem(ClientState client)
    {
        long total = 0;
        foreach (var frame in client.MultiQueue) total += frame.Length;
        return total;
    }

    /// <summary>redis's sdscatrepr: the bytes quoted, with C escapes for the unprintable ones.</summary>
    public static string Repr(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder("\"");
        foreach (byte b in bytes)
        {
            switch (b)
            {
                case (byte)'\\': text.Append("\\\\"); break;
                case (byte)'"': text.Append("\\\""); break;
                case (byte)'\n': text.Append("\\n"); break;
                case (byte)'\r': text.Append("\\r"); break;
                case (byte)'\t': text.Append("\\t"); break;
                case 7: text.Append("\\a"); break;
                case 8: text.Append("\\b"); break;
                default:
                    if (b >= 0x20 && b < 0x7f) text.Append((char)b);
                    else text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
                    break;
            }
        }
        return text.Append('"').ToString();
    }
}
