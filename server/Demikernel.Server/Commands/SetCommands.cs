namespace Demikernel.Server.Commands;

/// <summary>Set commands (issue 4; being written).</summary>
public static class SetCommands
{
    public static void Register(CommandTable table)
    {
    }
}
