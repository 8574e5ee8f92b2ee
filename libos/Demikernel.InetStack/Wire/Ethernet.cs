using System.Buffers.Binary;

namespace Demikernel.InetStack.Wire;

/// <summary>
/// A checked view of an Ethernet II frame.
/// <code>
///  0       6       12   14
///  | dst   | src   |type| payload ... (the FCS is not part of frames handed to software)
/// </code>
/// </summary>
internal readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    /// <summary>Smallest frame on the wire without FCS; shorter frames are padded by the sender.</summary>
    public const int MinimumLength = 60;

    private readonly Span<byte> _buffer;

    private EthernetFrame(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Checks that the buffer holds at least the header; after this no accessor can throw.</summary>
    public static WireError TryCreate(Span<byte> buffer, out EthernetFrame frame)
    {
        frame = default;
        if (buffer.Length < HeaderLength) return WireError.Truncated;
        frame = new EthernetFrame(buffer);
        return WireError.None;
    }

    public MacAddress Destination
    {
        get => MacAddress.Read(_buffer);
        set => value.Write(_buffer);
    }

    public MacAddress Source
    {
        get => MacAddress.Read(_buffer[6..]);
        set => value.Write(_buffer[6..]);
    }

    public EtherType EtherType
    {
        get => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[12..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[12..], (ushort)value);
    }

    public Span<byte> Payload => _buffer[HeaderLength..];
    public Span<byte> Bytes => _buffer;
}

/// <summary>The parsed content of an Ethernet II header.</summary>
internal readonly record struct EthernetRepr(MacAddress Source, MacAddress Destination, EtherType EtherType)
{
    public int BufferLength => EthernetFrame.HeaderLength;

    public static EthernetRepr Parse(in EthernetFrame frame) => new(frame.Source, frame.Destination, frame.EtherType);

    public static WireError TryParse(Span<byte> buffer, out EthernetRepr repr)
    {
        repr = default;
        var error = EthernetFrame.TryCreate(buffer, out var frame);
        if (error != WireError.None) return error;
        repr = Parse(frame);
        return WireError.None;
    }

    /// <summary>Writes the header into the first <see cref="BufferLength"/> bytes of <paramref name="buffer"/>.</summary>
    public void Emit(Span<byte> buffer)
    {
        if (buffer.Length < EthernetFrame.HeaderLength) throw new ArgumentException("buffer shorter than an Ethernet header", nameof(buffer));
        Destination.Write(buffer);
        Source.Write(buffer[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[12..], (ushort)EtherType);
    }
}
