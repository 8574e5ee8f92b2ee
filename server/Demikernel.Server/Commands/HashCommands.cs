namespace Demikernel.Server.Commands;

/// <summary>Hash commands (issue 4; being written).</summary>
public static class HashCommands
{
    public static void Register(CommandTable table)
    {
    }
}
