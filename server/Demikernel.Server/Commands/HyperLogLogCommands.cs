namespace Demikernel.Server.Commands;

/// <summary>HyperLogLog commands (issue 4; being written).</summary>
public static class HyperLogLogCommands
{
    public static void Register(CommandTable table)
    {
    }
}
