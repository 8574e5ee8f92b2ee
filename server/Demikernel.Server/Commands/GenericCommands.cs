namespace Demikernel.Server.Commands;

/// <summary>Generic commands (issue 4; being written).</summary>
public static class GenericCommands
{
    public static void Register(CommandTable table)
    {
    }
}
