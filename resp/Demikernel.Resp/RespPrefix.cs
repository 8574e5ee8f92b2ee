namespace Demikernel.Resp;

/// <summary>The type byte that starts every RESP2/RESP3 value.</summary>
public enum RespPrefix : byte
{
    None = 0,
    SimpleString = (byte)'+',
    SimpleError = (byte)'-',
    Integer = (byte)':',
    BulkString = (byte)'$',
    Array = (byte)'*',
    Null = (byte)'_',
    Double = (byte)',',
    Boolean = (byte)'#',
    BigNumber = (byte)'(',
    BulkError = (byte)'!',
    VerbatimString = (byte)'=',
    Map = (byte)'%',
    Set = (byte)'~',
    Push = (byte)'>',
    Attribute = (byte)'|',
}

/// <summary>Why a frame is malformed.</summary>
public enum RespFrameError : byte
{
    None,

    /// <summary>A value starts with a byte that is not a RESP type prefix.</summary>
    UnknownPrefix,

    /// <summary>A line does not end in CRLF, or a bulk payload is not followed by CRLF.</summary>
    MissingCrlf,

    /// <summary>A length or count is not a number or is negative (other than -1 for null).</summary>
    InvalidLength,

    /// <summary>A bulk payload or line is longer than the limits allow, or an aggregate announces more elements than
    /// any frame could hold.</summary>
    TooLong,

    /// <summary>Aggregates are nested deeper than the scanner's limit.</summary>
    TooDeep,

    /// <summary>A scalar's text is invalid for its type (e.g. "#x", "_1").</summary>
    InvalidValue,

    /// <summary>RESP3 streamed strings/aggregates (<c>$?</c>, <c>*?</c>) are not supported.</summary>
    StreamingNotSupported,
}
