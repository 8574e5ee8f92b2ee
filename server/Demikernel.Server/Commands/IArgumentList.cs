namespace Demikernel.Server.Commands;

/// <summary>
/// A request's arguments (the command name at 0), however they are held: the receive buffer's slices
/// (<see cref="CommandContext"/>) or copied arrays (<see cref="ArrayArguments"/>). Lets the key finder and ACL checks
/// run over a live request without copying it.
/// </summary>
public interface IArgumentList
{
    int Count { get; }
    ReadOnlySpan<byte> Arg(int index);
}

/// <summary>Arguments held as arrays (COMMAND GETKEYS, ACL DRYRUN).</summary>
public readonly struct ArrayArguments(byte[][] args) : IArgumentList
{
    public int Count => args.Length;
    public ReadOnlySpan<byte> Arg(int index) => args[index];
}
