using System.Buffers.Binary;
using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server.Tests;

/// <summary>
/// RESTORE payloads crafted to make a decoder allocate or index by a length read from the input: each one is answered
/// with redis-server's "ERR Bad data format", throws nowhere, and allocates nothing near the claimed size. Every
/// crash the fuzzers (tests/Demikernel.Fuzz) found is pinned here as well.
/// </summary>
public sealed class HostilePayloadTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private const string BadData = "-ERR Bad data format\r\n";

    /// <summary>[type][body] + RDB version 10 + CRC64: a payload that passes verifyDumpPayload.</summary>
    private static byte[] Payload(byte type, ReadOnlySpan<byte> body)
    {
        var w = new RdbWriter();
        w.Byte(type);
        w.Bytes(body);
        return w.FinishDump();
    }

    /// <summary>RESTOREs the payload twice (the first warms up the JIT) and returns the second reply and the bytes
    /// the second one allocated on this thread.</summary>
    private (string Reply, long Allocated) Restore(byte[] payload)
    {
        byte[][] request = [Encoding.ASCII.GetBytes("RESTORE"), "k"u8.ToArray(), "0"u8.ToArray(), payload];
        _h.Execute(request);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var reply = _h.Execute(request);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return (Encoding.Latin1.GetString(reply), allocated);
    }

    private void AssertRefusedCheaply(byte[] payload)
    {
        var (reply, allocated) = Restore(payload);
        Assert.Equal(BadData, reply);
        Assert.InRange(allocated, 0, 64 * 1024 + 64L * payload.Length);
        Assert.Null(RdbSerializer.Load(payload)); // the codec alone: null, no exception
    }

    /// <summary>A ziplist blob: header (zlbytes, zltail, zllen), the entries, 0xFF.</summary>
    private static byte[] Ziplist(ReadOnlySpan<byte> entries)
    {
        var zl = new byte[10 + entries.Length + 1];
        BinaryPrimitives.WriteUInt32LittleEndian(zl, (uint)zl.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(zl.AsSpan(4), 10);
        BinaryPrimitives.WriteUInt16LittleEndian(zl.AsSpan(8), 1);
        entries.CopyTo(zl.AsSpan(10));
        zl[^1] = 0xFF;
        return zl;
    }

    private static byte[] StringBody(ReadOnlySpan<byte> blob)
    {
        var w = new RdbWriter();
        w.String(blob);
        return w.Written.ToArray();
    }

    [Fact]
    public void LzfHeaderClaimingTwoGigabytes()
    {
        var w = new RdbWriter();
        w.Byte(0xC3);
        w.Length(4);             // compressed length
        w.Length(0x7FFF_FFF0);   // claimed uncompressed length
        w.Bytes([0, (byte)'a', 0, (byte)'b']);
        AssertRefusedCheaply(Payload(RdbSerializer.TypeString, w.Written));
    }

    [Fact]
    public void RawStringClaimingTwoGigabytes()
    {
        var w = new RdbWriter();
        w.Length(0x7FFF_FFF0);
        w.Bytes("abc"u8);
        AssertRefusedCheaply(Payload(RdbSerializer.TypeString, w.Written));
    }

    [Theory]
    [InlineData(RdbSerializer.TypeList)]
    [InlineData(RdbSerializer.TypeSet)]
    [InlineData(RdbSerializer.TypeZSet2)]
    [InlineData(RdbSerializer.TypeHash)]
    [InlineData(RdbSerializer.TypeListQuicklist2)]
    [InlineData(RdbSerializer.TypeListQuicklist)]
    public void ElementCountsBeyondThePayload(byte type)
    {
        var w = new RdbWriter();
        w.Length(int.MaxValue);
        w.String("x"u8);
        AssertRefusedCheaply(Payload(type, w.Written));
    }

    [Fact]
    public void IntsetCountBeyondItsBlob()
    {
        Span<byte> blob = stackalloc byte[8 + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(blob, 2);
        BinaryPrimitives.WriteUInt32LittleEndian(blob[4..], uint.MaxValue);
        AssertRefusedCheaply(Payload(RdbSerializer.TypeSetIntset, StringBody(blob)));
    }

    [Fact]
    public void ListpackStringLengthNearIntMax()
    {
        // listpack: total bytes, count, one 32-bit-length string entry (0xF0) claiming 2^31-1 bytes, end
        var lp = new byte[6 + 5 + 2 + 1];
        BinaryPrimitives.WriteUInt32LittleEndian(lp, (uint)lp.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(lp.AsSpan(4), 1);
        lp[6] = 0xF0;
        BinaryPrimitives.WriteUInt32LittleEndian(lp.AsSpan(7), int.MaxValue);
        lp[^1] = 0xFF;
        AssertRefusedCheaply(Payload(RdbSerializer.TypeHashListpack, StringBody(lp)));
    }

    [Fact]
    public void ZiplistStringLengthNearIntMax()
    {
        // Found by review: a 32-bit ziplist length (0x80) of 2^31-1 made "p + len" wrap negative, so the bounds check
        // passed and Slice threw (answered as an internal error instead of "Bad data format").
        Span<byte> entry = [0, 0x80, 0x7F, 0xFF, 0xFF, 0xFF, (byte)'a'];
        AssertRefusedCheaply(Payload(RdbSerializer.TypeListZiplist, StringBody(Ziplist(entry))));
    }

    [Fact]
    public void StreamNodeCountBeyondThePayload()
    {
        var w = new RdbWriter();
        w.Length(uint.MaxValue);
        w.String(new byte[16]);
        AssertRefusedCheaply(Payload(RdbStream.TypeListpacks2, w.Written));
    }
}
