namespace Demikernel.Server.Commands;

/// <summary>List commands (issue 4; being written).</summary>
public static class ListCommands
{
    public static void Register(CommandTable table)
    {
    }
}
