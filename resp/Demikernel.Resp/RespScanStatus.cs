namespace Demikernel.Resp;

/// <summary>Outcome of a scanner call.</summary>
public enum RespScanStatus
{
    /// <summary>The buffer holds only part of the next request or frame; append bytes and call again.</summary>
    NeedMoreData,

    /// <summary>A whole request or frame was scanned; see the consumed length.</summary>
    Complete,

    /// <summary>The input is malformed; reply with the error and close the connection.</summary>
    Error,
}
