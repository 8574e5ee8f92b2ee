namespace Demikernel.InetStack.Wire;

/// <summary>
/// Why a packet was refused by a checked view or a <c>Repr</c> parser. <see cref="None"/> means it was accepted.
/// Parsers return these values; they never throw on malformed input.
/// </summary>
internal enum WireError : byte
{
    None = 0,
    /// <summary>The buffer is shorter than the fixed header.</summary>
    Truncated,
    /// <summary>A length field points past the buffer, or below the header it belongs to.</summary>
    BadLength,
    /// <summary>The checksum does not verify.</summary>
    BadChecksum,
    /// <summary>IPv4 version field is not 4.</summary>
    BadVersion,
    /// <summary>IPv4 header length (IHL) below 5 words or past the packet.</summary>
    BadHeaderLength,
    /// <summary>An IPv4 fragment (MF set or a non-zero offset): reassembly is not supported.</summary>
    Fragmented,
    /// <summary>A TCP option whose length is malformed.</summary>
    BadOption,
    /// <summary>A well-formed packet of a kind this stack does not handle (ARP for other protocols, ...).</summary>
    Unsupported,
    /// <summary>A source address that can never be valid (broadcast or multicast as a sender).</summary>
    BadAddress,
}

internal static class WireErrors
{
    /// <summary>A sentence naming the problem, for logs and test messages.</summary>
    public static string Describe(this WireError error) => error switch
    {
        WireError.None => "ok",
        WireError.Truncated => "packet truncated: shorter than its fixed header",
        WireError.BadLength => "length field inconsistent with the buffer",
        WireError.BadChecksum => "checksum mismatch",
        WireError.BadVersion => "IP version is not 4",
        WireError.BadHeaderLength => "IPv4 header length (IHL) invalid",
        WireError.Fragmented => "IPv4 fragments are not supported (MF set or fragment offset non-zero)",
        WireError.BadOption => "malformed TCP option",
        WireError.Unsupported => "unsupported packet kind",
        WireError.BadAddress => "invalid source address",
        _ => $"wire error {(int)error}",
    };
}
