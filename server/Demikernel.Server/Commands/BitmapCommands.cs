namespace Demikernel.Server.Commands;

/// <summary>Bitmap commands (issue 4; being written).</summary>
public static class BitmapCommands
{
    public static void Register(CommandTable table)
    {
    }
}
