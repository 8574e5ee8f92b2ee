namespace Demikernel.Server.Commands;

/// <summary>SortedSet commands (issue 4; being written).</summary>
public static class SortedSetCommands
{
    public static void Register(CommandTable table)
    {
    }
}
