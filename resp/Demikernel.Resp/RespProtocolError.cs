namespace Demikernel.Resp;

/// <summary>Which protocol error redis-server would reply with.</summary>
public enum RespProtocolErrorKind : byte
{
    None,

    /// <summary>"Protocol error: invalid multibulk length".</summary>
    InvalidMultibulkLength,

    /// <summary>"Protocol error: invalid bulk length".</summary>
    InvalidBulkLength,

    /// <summary>"Protocol error: expected '$', got 'X'".</summary>
    ExpectedDollar,

    /// <summary>"Protocol error: too big mbulk count string".</summary>
    TooBigMultibulkCountString,

    /// <summary>"Protocol error: too big bulk count string".</summary>
    TooBigBulkCountString,

    /// <summary>"Protocol error: too big inline request".</summary>
    TooBigInlineRequest,

    /// <summary>"Protocol error: unbalanced quotes in request".</summary>
    UnbalancedQuotes,

    /// <summary>"Protocol error: unauthenticated multibulk length" (more than 10 arguments before AUTH).</summary>
    UnauthenticatedMultibulkLength,

    /// <summary>"Protocol error: unauthenticated bulk length" (a bulk over 16384 bytes before AUTH).</summary>
    UnauthenticatedBulkLength,
}

/// <summary>A request protocol error: the kind, plus the offending byte for <see cref="RespProtocolErrorKind.ExpectedDollar"/>.</summary>
public readonly record struct RespProtocolError(RespProtocolErrorKind Kind, byte Found = 0)
{
    /// <summary>True when this is an actual error.</summary>
    public bool IsError => Kind != RespProtocolErrorKind.None;

    /// <summary>
    /// The error reply text exactly as redis-server 7.0 sends it, without the leading '-' and trailing CRLF,
    /// e.g. "ERR Protocol error: invalid multibulk length". Allocates (cold path: once per dying connection).
    /// </summary>
    public string Message => Kind switch
    {
        RespProtocolErrorKind.None => string.Empty,
        RespProtocolErrorKind.ExpectedDollar => "ERR Protocol error: expected '$', got '" + FoundText + "'",
        _ => "ERR " + Reason(Kind),
    };

    // addReplyErrorFormat maps '\r' and '\n' to spaces; "%c" with NUL ends the C string there.
    private string FoundText => Found switch
    {
        (byte)'\r' or (byte)'\n' => " ",
        0 => string.Empty,
        _ => ((char)Found).ToString(),
    };

    private static string Reason(RespProtocolErrorKind kind) => kind switch
    {
        RespProtocolErrorKind.InvalidMultibulkLength => "Protocol error: invalid multibulk length",
        RespProtocolErrorKind.InvalidBulkLength => "Protocol error: invalid bulk length",
        RespProtocolErrorKind.TooBigMultibulkCountString => "Protocol error: too big mbulk count string",
        RespProtocolErrorKind.TooBigBulkCountString => "Protocol error: too big bulk count string",
        RespProtocolErrorKind.TooBigInlineRequest => "Protocol error: too big inline request",
        RespProtocolErrorKind.UnbalancedQuotes => "Protocol error: unbalanced quotes in request",
        RespProtocolErrorKind.UnauthenticatedMultibulkLength => "Protocol error: unauthenticated multibulk length",
        RespProtocolErrorKind.UnauthenticatedBulkLength => "Protocol error: unauthenticated bulk length",
        _ => "Protocol error",
    };

    public override string ToString() => Message;
}
