namespace Demikernel.Server.Propagation;

/// <summary>
/// One propagated unit: a few commands, each a RESP array of bulk strings with the database it runs in. A view over
/// the <see cref="EffectsLog"/>'s buffers, valid only during <see cref="IEffectsConsumer.Append"/>.
/// </summary>
public readonly ref struct EffectsUnit
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly ReadOnlySpan<EffectsOp> _ops;

    internal EffectsUnit(ReadOnlySpan<byte> buffer, ReadOnlySpan<EffectsOp> ops, bool transaction)
    {
        _buffer = buffer;
        _ops = ops;
        Transaction = transaction;
    }

    /// <summary>Commands in the unit, at least 1.</summary>
    public int Count => _ops.Length;

    /// <summary>True: the consumer wraps the unit in MULTI ... EXEC, as redis-server does.</summary>
    public bool Transaction { get; }

    /// <summary>The database the <paramref name="i"/>-th command runs in.</summary>
    public int DbOf(int i) => _ops[i].Db;

    /// <summary>The <paramref name="i"/>-th command as one RESP array of bulk strings.</summary>
    public ReadOnlySpan<byte> CommandOf(int i) => _buffer.Slice(_ops[i].Start, _ops[i].Length);

    /// <summary>Where the <paramref name="i"/>-th command goes: both sides, or replicas only (PUBLISH, redis's
    /// PROPAGATE_REPL target), or one side a script chose with redis.set_repl.</summary>
    public PropagationTargets TargetsOf(int i) => _ops[i].Targets;

    /// <summary>True: the <paramref name="i"/>-th command goes to the AOF (<paramref name="aof"/>) or to replicas.</summary>
    public bool Reaches(int i, bool aof) => (_ops[i].Targets & (aof ? PropagationTargets.Aof : PropagationTargets.Replicas)) != 0;
}

/// <summary>Where a propagated command goes (redis's PROPAGATE_AOF and PROPAGATE_REPL).</summary>
[Flags]
public enum PropagationTargets : byte { None = 0, Aof = 1, Replicas = 2, Both = Aof | Replicas }

/// <summary>Where one recorded command sits in the log's buffer.</summary>
internal readonly record struct EffectsOp(int Db, int Start, int Length, PropagationTargets Targets = PropagationTargets.Both);
