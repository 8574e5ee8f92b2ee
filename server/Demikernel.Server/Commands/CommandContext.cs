using System.Runtime.CompilerServices;
using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Propagation;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// What a handler sees: the request's arguments (slices of the receive buffer, valid only during the call), the
/// client, the server and the reply buffer. Handlers never allocate for arguments; they copy only what they store.
/// </summary>
public ref struct CommandContext : IArgumentList
{
    public CommandContext(ReadOnlySpan<byte> buffer, RespArgs args, ClientState client, RedisServer server, ReplyBuffer reply)
    {
        Buffer = buffer;
        Args = args;
        Client = client;
        Server = server;
        Reply = reply;
        Command = null!;
    }

    public ReadOnlySpan<byte> Buffer { get; }
    public RespArgs Args { get; }
    public ClientState Client { get; }
    public RedisServer Server { get; }
    public ReplyBuffer Reply { get; }

    /// <summary>The command being run (set by the dispatcher).</summary>
    public CommandSpec Command { get; internal set; }

    /// <summary>True when the session re-runs a request that blocked, because a key it waits on got data.</summary>
    public bool IsRetry { get; init; }

    /// <summary>Length of the whole request in <see cref="Buffer"/> (MULTI queues the raw frame).</summary>
    public int FrameLength { get; init; }

    /// <summary>
    /// A <see cref="System.Diagnostics.Stopwatch"/> reading where this call's time starts, 0 to read the clock at
    /// dispatch; after a call that ran, the reading where it ended (0 if it was refused). A session running a pipeline
    /// passes one command's end to the next, so a pipelined command costs one clock read instead of two (~28 ns each
    /// on this VM) and its time includes the scan of its own frame.
    /// </summary>
    internal long ClockMark { get; set; }

    /// <summary>Number of arguments, the command name included.</summary>
    public readonly int Count => Args.Count;

    int IArgumentList.Count => Args.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ReadOnlySpan<byte> Arg(int index) => Args.Get(Buffer, index);

    /// <summary>The argument as a string (cold paths: options, names).</summary>
    public readonly string ArgString(int index) => System.Text.Encoding.UTF8.GetString(Arg(index));

    /// <summary>ASCII case-insensitive comparison of an argument with an option name given in upper case.</summary>
    public readonly bool ArgIs(int index, ReadOnlySpan<byte> upperCaseOption) => Ascii.EqualsIgnoreCase(Arg(index), upperCaseOption);

    /// <summary>
    /// Parks the client until one of <paramref name="keys"/> (of its database) is signalled ready, then runs this
    /// request again; after <paramref name="timeoutMs"/> (0 = forever) it answers <paramref name="timeoutReply"/>.
    /// <paramref name="on"/> is the key type that can serve it. The handler writes no reply when it blocks. Inside EXEC, or without a connection, the timeout reply is
    /// written at once, as Redis does for blocking commands in transactions.
    /// </summary>
    public readonly void Block(IReadOnlyList<byte[]> keys, long timeoutMs, BlockTimeoutReply timeoutReply, BlockedOn on)
    {
        if (Client.Session is not { } session || Client.InExec)
        {
            WriteTimeoutReply(Reply, timeoutReply);
            return;
        }
        session.BlockOn(Buffer[..FrameLength], keys, timeoutMs, timeoutReply, on);
    }

    internal static void WriteTimeoutReply(ReplyBuffer reply, BlockTimeoutReply kind)
    {
        if (kind == BlockTimeoutReply.NullBulk) reply.Null();
        else reply.NullArray();
    }

    // ---- propagation (AOF, replicas): see Propagation/README.md ----

    /// <summary>True when effects are being recorded (some consumer is attached): handlers may skip building
    /// rewrites otherwise (the writers are no-ops then anyway).</summary>
    public readonly bool Propagating => Server.Effects.Recording;

    /// <summary>
    /// Replaces what this command propagates when it changed the dataset (Redis's rewriteClientCommandVector): write
    /// every argument, the command name first, then <see cref="EffectsCommandWriter.End"/>. The last rewrite wins.
    /// </summary>
    public readonly EffectsCommandWriter RewritePropagation() => Server.Effects.Rewrite();

    /// <summary>Propagates one more command in <paramref name="db"/>, ahead of this command's own (alsoPropagate).</summary>
    public readonly EffectsCommandWriter AlsoPropagate(int db) => Server.Effects.Also(db);

    /// <summary>Propagates one more command in the client's database, ahead of this command's own.</summary>
    public readonly EffectsCommandWriter AlsoPropagate() => Server.Effects.Also(Client.Database);

    /// <summary>This command itself propagates nothing, whatever it changed (preventCommandPropagation); what it
    /// added with <see cref="AlsoPropagate()"/> still goes.</summary>
    public readonly void PreventPropagation() => Server.Effects.Prevent();

    /// <summary>This command propagates even if it changed nothing (forceCommandPropagation: FLUSHALL on an empty
    /// server).</summary>
    public readonly void ForcePropagation() => Server.Effects.Force();

    /// <summary>The client's selected database.</summary>
    public readonly RedisDatabase Db => Server.Databases[Client.Database];
}
