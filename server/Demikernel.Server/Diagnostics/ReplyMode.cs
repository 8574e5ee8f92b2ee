namespace Demikernel.Server.Diagnostics;

/// <summary>CLIENT REPLY's state (redis's CLIENT_REPLY_OFF, CLIENT_REPLY_SKIP_NEXT, CLIENT_REPLY_SKIP flags).</summary>
internal enum ReplyMode : byte
{
    On,
    /// <summary>No reply to anything until CLIENT REPLY ON (whose OK is sent).</summary>
    Off,
    /// <summary>Set by CLIENT REPLY SKIP itself: the command after it gets no reply.</summary>
    SkipNext,
    /// <summary>This command's replies are dropped; then back to On.</summary>
    Skip,
}

/// <summary>What the session does after each command when CLIENT REPLY is not ON (redis's commandProcessed).</summary>
internal static class ReplyModes
{
    public static void AfterCommand(ClientState client, ReplyBuffer reply, int mark)
    {
        switch (client.ReplyMode)
        {
            case ReplyMode.Off:
                reply.RewindTo(mark);
                break;
            case ReplyMode.Skip:
                reply.RewindTo(mark);
                client.ReplyMode = ReplyMode.On;
                break;
            case ReplyMode.SkipNext:
                reply.RewindTo(mark); // CLIENT REPLY SKIP answers nothing itself
                client.ReplyMode = ReplyMode.Skip;
                break;
        }
    }
}
