using System.Buffers.Text;
using System.Runtime.CompilerServices;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Propagation;

/// <summary>
/// Records what each write did to the dataset, as the commands redis-server 7.0 would propagate, and hands them to
/// the consumers unit by unit.
/// <code>
///   top-level command (or EXEC) ─▶ BeginCommand ─▶ handler ─▶ EndCommand ─▶ unit complete? ─▶ consumers
///        │  lazy expiry met ─▶ DEL/UNLINK op (at once, before the command's own)
///        │  handler: Also(db)… ─▶ extra ops, in order
///        └─ after the handler: the command's own op (its arguments or their rewrite) when it changed the dataset
///   active expiry (cron), no command running ─▶ one unit per deleted key
///   eviction ─▶ DEL, like an expiry
/// </code>
/// Expiry and eviction reach it through the keyspace's change hook (it is an <see cref="IKeyspaceObserver"/>);
/// commands' own changes are logged from their arguments, as redis-server propagates commands, not keys.
/// With no consumer the dispatcher skips all of this on one flag check. With consumers the buffers are reused, so a
/// steady stream of writes allocates nothing.
/// </summary>
public sealed class EffectsLog : IKeyspaceObserver
{
    private const int HeaderRoom = 16; // "*<argc>\r\n" is written right-aligned in this room once the args are known
    private const int MaxDepth = 4;    // EXEC ─▶ inner command ─▶ ... (a blocked client served at depth 0 starts over)
    private const int MaxRetainedBytes = 1 << 20;

    private readonly ServerConfig _config;
    private readonly ServerStats _stats;
    private IEffectsConsumer[] _consumers = [];

    // The unit being built: commands encoded in _buffer, located by _ops.
    private byte[] _buffer = new byte[4096];
    private int _length;
    private EffectsOp[] _ops = new EffectsOp[16];
    private int _opCount;
    private bool _noTransaction;

    // A rewrite of the running command's own arguments is kept aside until the handler returns (its ops come last).
    private byte[] _own = new byte[256];
    private int _ownLength;

    // One frame per nested command (EXEC's inner commands nest in it).
    private readonly Frame[] _frames = new Frame[MaxDepth];
    private int _depth;

    // The command being written by an EffectsCommandWriter.
    private Target _writing;
    private int _writeStart;
    private int _writeArgs;
    private int _writeDb;

    internal EffectsLog(ServerConfig config, ServerStats stats)
    {
        _config = config;
        _stats = stats;
    }

    /// <summary>True when at least one consumer is attached: only then is anything recorded.</summary>
    public bool HasConsumers { get; private set; }

    public void Add(IEffectsConsumer consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        _consumers = [.. _consumers, consumer];
        HasConsumers = true;
    }

    public void Remove(IEffectsConsumer consumer)
    {
        int i = Array.IndexOf(_consumers, consumer);
        if (i < 0) return;
        _consumers = [.. _consumers[..i], .. _consumers[(i + 1)..]];
        HasConsumers = _consumers.Length > 0;
    }

    /// <summary>True while a command's effects are being recorded.</summary>
    internal bool Recording => _depth > 0;

    // ------------------------------------------------------------------ the dispatcher's side

    /// <summary>Starts recording one command (called only when <see cref="HasConsumers"/>).</summary>
    internal void BeginCommand(CommandSpec spec)
    {
        if (_depth == MaxDepth) throw new InvalidOperationException("commands nested too deeply");
        if (_depth == 0)
        {
            _length = 0;
            _opCount = 0;
            _writing = Target.None; // a handler that threw mid-write leaves nothing behind
            // Commands that may touch arbitrary keys (their lazy-expiry DELs) are never wrapped, like redis-server.
            _noTransaction = spec.Name is "RANDOMKEY" or "SCAN";
        }
        _frames[_depth++] = new Frame(_stats.Dirty, spec.Name == "EXEC" ? FrameFlags.Prevent : FrameFlags.None, -1, NextCommandTargets);
        NextCommandTargets = PropagationTargets.Both;
    }

    /// <summary>
    /// Ends the command started by <see cref="BeginCommand"/>: adds its own op (when it changed the dataset, or was
    /// forced, and was not prevented), then, at the top level, hands the unit to the consumers.
    /// </summary>
    internal void EndCommand(ref CommandContext context)
    {
        ref var frame = ref _frames[_depth - 1];
        bool dirty = _stats.Dirty != frame.DirtyBefore;
        if ((frame.Flags & FrameFlags.Prevent) == 0 && (dirty || (frame.Flags & FrameFlags.Force) != 0))
        {
            int db = context.Client.Database;
            // Forced to replicas only and nothing changed: redis's call() gives it the PROPAGATE_REPL target alone.
            var targets = frame.Targets & (!dirty && (frame.Flags & FrameFlags.ReplicasOnly) != 0 ? PropagationTargets.Replicas : PropagationTargets.Both);
            if (targets == PropagationTargets.None)
            {
                // redis.set_repl(REPL_NONE), or a one-sided choice that excludes the only side it had
            }
            else if (frame.OwnLength >= 0)
            {
                AddOp(db, _own.AsSpan(0, frame.OwnLength), targets);
            }
            else
            {
                BeginWrite(Target.Unit, db);
                for (int i = 0; i < context.Count; i++) WriteArg(context.Arg(i));
                EndWrite(targets);
            }
        }
        _depth--;
        if (_depth == 0) Flush();
    }

    /// <summary>The change hook: an expiry or an eviction, which no command's arguments describe, is logged as a DEL.</summary>
    public void KeyChanged(RedisDatabase db, ReadOnlySpan<byte> key, KeyChange change, KeyEvent evt, RedisType type)
    {
        if (change == KeyChange.Expired) KeyRemoved(db.Index, key, _config.LazyFreeLazyExpire);
        else if (change == KeyChange.Evicted) KeyRemoved(db.Index, key, _config.LazyFreeLazyEviction);
    }

    /// <summary>FLUSHDB and SWAPDB propagate as themselves.</summary>
    public void ContentsReplacing(RedisDatabase db, RedisDatabase? incoming)
    {
    }

    /// <summary>A key expired (lazily in a lookup, or in the cron) or was evicted: DEL or UNLINK, in the running
    /// command's unit or in a unit of its own.</summary>
    private void KeyRemoved(int db, ReadOnlySpan<byte> key, bool unlink)
    {
        if (!HasConsumers) return;
        bool standalone = _depth == 0;
        if (standalone)
        {
            _length = 0;
            _opCount = 0;
            _noTransaction = true;
        }
        BeginWrite(Target.Unit, db);
        WriteArg(unlink ? "UNLINK"u8 : "DEL"u8);
        WriteArg(key);
        EndWrite();
        if (standalone) Flush();
    }

    // ------------------------------------------------------------------ the handlers' side (through CommandContext)

    /// <summary>Replace what is propagated for the running command (rewriteClientCommandVector).</summary>
    internal EffectsCommandWriter Rewrite()
    {
        if (_depth == 0) return default;
        BeginWrite(Target.Own, 0);
        return new EffectsCommandWriter(this);
    }

    /// <summary>Propagate one more command, in <paramref name="db"/>, before the running command's own (alsoPropagate).</summary>
    internal EffectsCommandWriter Also(int db)
    {
        if (_depth == 0) return default;
        BeginWrite(Target.Unit, db);
        return new EffectsCommandWriter(this);
    }

    /// <summary>
    /// Where the next command's own op may go (a script's call under redis.set_repl): as redis's call() masks
    /// CMD_CALL_PROPAGATE_AOF/REPL, only the command itself is restricted, not what it also propagates (the DEL of a
    /// key found expired, a rewrite into other commands).
    /// </summary>
    internal PropagationTargets NextCommandTargets { private get; set; } = PropagationTargets.Both;

    /// <summary>Propagate nothing for the running command itself (preventCommandPropagation).</summary>
    internal void Prevent()
    {
        if (_depth > 0) _frames[_depth - 1].Flags |= FrameFlags.Prevent;
    }

    /// <summary>Propagate the running command even if it changed nothing (forceCommandPropagation).</summary>
    internal void Force()
    {
        if (_depth > 0) _frames[_depth - 1].Flags |= FrameFlags.Force;
    }

    /// <summary>Propagate the running command to replicas (not to the AOF) even if it changed nothing
    /// (forceCommandPropagation(c, PROPAGATE_REPL), PUBLISH's).</summary>
    internal void ForceToReplicas()
    {
        if (_depth > 0) _frames[_depth - 1].Flags |= FrameFlags.Force | FrameFlags.ReplicasOnly;
    }

    // ------------------------------------------------------------------ encoding

    private void BeginWrite(Target target, int db)
    {
        if (_writing != Target.None) throw new InvalidOperationException("a propagated command was not ended");
        _writing = target;
        _writeDb = db;
        _writeArgs = 0;
        if (target == Target.Own)
        {
            _ownLength = HeaderRoom;
            EnsureOwn(HeaderRoom);
        }
        else
        {
            EnsureBuffer(HeaderRoom);
            _length += HeaderRoom;
            _writeStart = _length;
        }
    }

    internal void WriteArg(ReadOnlySpan<byte> arg)
    {
        if (_writing == Target.None) return;
        int need = arg.Length + 16;
        Span<byte> to;
        if (_writing == Target.Own)
        {
            EnsureOwn(need);
            to = _own.AsSpan(_ownLength);
        }
        else
        {
            EnsureBuffer(need);
            to = _buffer.AsSpan(_length);
        }
        to[0] = (byte)'$';
        Utf8Formatter.TryFormat(arg.Length, to[1..], out int n);
        int at = 1 + n;
        to[at++] = (byte)'\r';
        to[at++] = (byte)'\n';
        arg.CopyTo(to[at..]);
        at += arg.Length;
        to[at++] = (byte)'\r';
        to[at++] = (byte)'\n';
        if (_writing == Target.Own) _ownLength += at;
        else _length += at;
        _writeArgs++;
    }

    internal void WriteArg(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int n);
        WriteArg(digits[..n]);
    }

    internal void EndWrite() => EndWrite(PropagationTargets.Both);

    private void EndWrite(PropagationTargets targets)
    {
        var target = _writing;
        if (target == Target.None) return;
        _writing = Target.None;
        // The header goes right before the first argument, in the room left for it.
        Span<byte> header = stackalloc byte[HeaderRoom];
        header[0] = (byte)'*';
        Utf8Formatter.TryFormat(_writeArgs, header[1..], out int n);
        header[1 + n] = (byte)'\r';
        header[2 + n] = (byte)'\n';
        int headerLength = 3 + n;
        if (target == Target.Own)
        {
            // Move the command to the start of _own so the frame can find it as [0, length).
            int body = _ownLength - HeaderRoom;
            _own.AsSpan(HeaderRoom, body).CopyTo(_own.AsSpan(headerLength));
            header[..headerLength].CopyTo(_own);
            _ownLength = headerLength + body;
            _frames[_depth - 1].OwnLength = _ownLength;
        }
        else
        {
            if ((targets &= Accepted()) == PropagationTargets.None)
            {
                _length = _writeStart - HeaderRoom; // no consumer is on the side it is meant for
                return;
            }
            int start = _writeStart - headerLength;
            header[..headerLength].CopyTo(_buffer.AsSpan(start));
            AddOpAt(_writeDb, start, _length - start, targets);
        }
    }

    private void AddOp(int db, ReadOnlySpan<byte> command, PropagationTargets targets)
    {
        if ((targets &= Accepted()) == PropagationTargets.None) return; // no consumer is on the side it is meant for
        EnsureBuffer(command.Length);
        command.CopyTo(_buffer.AsSpan(_length));
        AddOpAt(db, _length, command.Length, targets);
        _length += command.Length;
    }

    private PropagationTargets Accepted()
    {
        var accepted = PropagationTargets.None;
        foreach (var consumer in _consumers) accepted |= consumer.Accepts;
        return accepted;
    }

    private void AddOpAt(int db, int start, int length, PropagationTargets targets = PropagationTargets.Both)
    {
        if (_opCount == _ops.Length) Array.Resize(ref _ops, _ops.Length * 2);
        _ops[_opCount++] = new EffectsOp(db, start, length, targets);
    }

    private void Flush()
    {
        if (_opCount == 0) return;
        var unit = new EffectsUnit(_buffer.AsSpan(0, _length), _ops.AsSpan(0, _opCount), _opCount > 1 && !_noTransaction);
        foreach (var consumer in _consumers) consumer.Append(unit);
        _length = 0;
        _opCount = 0;
        // A huge value once must not pin a huge buffer forever; steady traffic never gets here.
        if (_buffer.Length > MaxRetainedBytes) _buffer = new byte[4096];
        if (_own.Length > MaxRetainedBytes) _own = new byte[256];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureBuffer(int more)
    {
        if (_length + more > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureOwn(int more)
    {
        if (_ownLength + more > _own.Length) Array.Resize(ref _own, Math.Max(_own.Length * 2, _ownLength + more));
    }

    private enum Target : byte { None, Unit, Own }

    [Flags]
    private enum FrameFlags : byte { None = 0, Prevent = 1, Force = 2, ReplicasOnly = 4 }

    private struct Frame(long dirtyBefore, FrameFlags flags, int ownLength, PropagationTargets targets)
    {
        public long DirtyBefore = dirtyBefore;
        public FrameFlags Flags = flags;
        public int OwnLength = ownLength;
        public readonly PropagationTargets Targets = targets;
    }
}

/// <summary>
/// Writes one propagated command, argument by argument, straight into the effects log (no allocation); a no-op when
/// nothing is being recorded. End it with <see cref="End"/>.
/// </summary>
public readonly ref struct EffectsCommandWriter
{
    private readonly EffectsLog? _log;

    internal EffectsCommandWriter(EffectsLog log) => _log = log;

    public EffectsCommandWriter Arg(ReadOnlySpan<byte> value)
    {
        _log?.WriteArg(value);
        return this;
    }

    public EffectsCommandWriter Arg(long value)
    {
        _log?.WriteArg(value);
        return this;
    }

    public void End() => _log?.EndWrite();
}
