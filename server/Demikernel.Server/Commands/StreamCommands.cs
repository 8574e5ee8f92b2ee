namespace Demikernel.Server.Commands;

/// <summary>Stream commands (issue 4; being written).</summary>
public static class StreamCommands
{
    public static void Register(CommandTable table)
    {
    }
}
