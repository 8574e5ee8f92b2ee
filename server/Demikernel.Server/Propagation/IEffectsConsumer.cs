namespace Demikernel.Server.Propagation;

/// <summary>
/// Receives the effects of writes (the AOF writer, later the replication feed). Called on the libOS thread, after the
/// command (or EXEC, or expiry) that produced the unit and before its reply is pushed.
/// </summary>
public interface IEffectsConsumer
{
    /// <summary>The side this consumer is now: the AOF, or the replicas' stream (None while it takes nothing, as a
    /// replica's own feed). A command meant only for sides no consumer is on is not recorded at all, so it does not
    /// make a unit a transaction (redis's alsoPropagate skips what shouldPropagate refuses).</summary>
    PropagationTargets Accepts { get; }

    /// Called once per propagated unit: the effects of one top-level command, of one EXEC, of one active-expiry
    /// deletion, of one blocked command served by another client's write, ... in the order they happened.
    /// The unit's spans are valid only during the call.
    void Append(in EffectsUnit unit);
}
