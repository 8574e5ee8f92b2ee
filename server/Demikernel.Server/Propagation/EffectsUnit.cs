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

    /// <summary>True: the <paramref name="i"/>-th command goes to replicas only, never to the AOF (PUBLISH, as
    /// redis-server's PROPAGATE_REPL target).</summary>
    public bool ReplicasOnly(int i) => _ops[i].ReplicasOnly;
}

/// <summary>Where one recorded command sits in the log's buffer.</summary>
internal readonly record struct EffectsOp(int Db, int Start, int Length, bool ReplicasOnly = false);
