using System.Buffers.Binary;
using Demikernel.Runtime;

namespace Demikernel.InetStack.Phy;

/// <summary>
/// Records every frame sent and received through a device in classic libpcap format (LINKTYPE_ETHERNET, microsecond
/// timestamps from the injected clock), so a run opens in tcpdump or Wireshark.
/// </summary>
internal sealed class PcapWriter : PhysicalLayerDecorator
{
    public const uint Magic = 0xa1b2c3d4;
    public const uint LinkTypeEthernet = 1;
    public const int SnapLength = 65535;
    public const int FileHeaderLength = 24;
    public const int RecordHeaderLength = 16;

    private readonly Stream _stream;
    private readonly TimeProvider _time;
    private readonly bool _ownsStream;
    private readonly byte[] _header = new byte[RecordHeaderLength];

    public PcapWriter(IPhysicalLayer inner, Stream stream, TimeProvider time, bool ownsStream = true) : base(inner)
    {
        _stream = stream;
        _time = time;
        _ownsStream = ownsStream;
        WriteFileHeader(stream);
    }

    public long Records { get; private set; }

    public static void WriteFileHeader(Stream stream)
    {
        Span<byte> h = stackalloc byte[FileHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(h, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);   // thiszone: timestamps are UTC
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LinkTypeEthernet);
        stream.Write(h);
    }

    public override bool Transmit(ReadOnlySpan<byte> frame)
    {
        Write(frame);
        return base.Transmit(frame);
    }

    public override int Receive(BufferPool pool, Span<DemiBuffer?> frames)
    {
        int n = base.Receive(pool, frames);
        for (int i = 0; i < n; i++) Write(frames[i]!.Span);
        return n;
    }

    private void Write(ReadOnlySpan<byte> frame)
    {
        var now = _time.GetUtcNow();
        long micros = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        int captured = Math.Min(frame.Length, SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(_header, (uint)(micros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)(micros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(12), (uint)frame.Length);
        _stream.Write(_header);
        _stream.Write(frame[..captured]);
        Records++;
    }

    public void Flush() => _stream.Flush();

    public override void Dispose()
    {
        _stream.Flush();
        if (_ownsStream) _stream.Dispose();
        base.Dispose();
    }
}
