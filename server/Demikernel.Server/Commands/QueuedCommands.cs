using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>
/// The commands a client's MULTI queued, read one by one for the checks EXEC makes before it runs them (redis's
/// mstate.cmd_flags and getNodeByQuery's walk): each frame scanned again, its spec, and its flags as getCommandFlags
/// gave them when it was queued (a script's declared flags for EVAL and FCALL). Frames that do not scan or name no
/// command are skipped: they were refused when queued and aborted the transaction.
/// </summary>
internal ref struct QueuedCommands(ref CommandContext exec)
{
    private readonly ClientState _client = exec.Client;
    private readonly RedisServer _server = exec.Server;
    private readonly ReplyBuffer _reply = exec.Reply;
    private readonly RespRequestScanner _scanner = new();
    private readonly RespArgs _args = new();
    private int _next;
    private byte[] _frame = [];
    private int _length;

    public CommandSpec Spec { get; private set; } = null!;
    public CommandFlags Flags { get; private set; }

    /// <summary>The current command's request (a frame of the queue) and its arguments: with the transaction's
    /// client, a call for key lookups and flag resolvers.</summary>
    public readonly byte[] Frame => _frame;
    public readonly int Length => _length;
    public readonly RespArgs Args => _args;

    public bool MoveNext()
    {
        var queue = _client.MultiQueue;
        while (_next < queue.Count)
        {
            _frame = queue[_next++];
            _scanner.Reset();
            if (_scanner.TryScan(_frame, _args, out _length, out _) != RespScanStatus.Complete || _args.Count == 0 ||
                !_server.Commands.TryGet(_args.Get(_frame, 0), out var spec))
                continue;
            Spec = spec;
            Flags = spec.Flags;
            if (spec.FlagsFor is { } resolve)
            {
                var queued = new CommandContext(_frame, _args, _client, _server, _reply) { FrameLength = _length };
                Flags = resolve(ref queued, spec.Flags);
            }
            return true;
        }
        return false;
    }
}
