using System.Runtime.InteropServices;
using Demikernel.Catmem;

namespace Demikernel.Tests;

/// <summary>
/// catmem's record ring on its own (a producer and a consumer over one block of memory, as two processes would map it):
/// wrap-around, partial reads, a full ring, stale bytes of an earlier lap never read as a record.
/// </summary>
public sealed class SpscRingTests : IDisposable
{
    private const int Capacity = 256;
    private readonly nint _memory = Allocate();

    private static unsafe nint Allocate() => (nint)NativeMemory.AllocZeroed((nuint)(SpscRing.HeaderBytes + Capacity));

    public void Dispose()
    {
        unsafe { NativeMemory.Free((void*)_memory); }
    }

    private unsafe SpscRing Ring() => new((byte*)_memory, Capacity);

    [Fact]
    public void BytesArriveInOrderAcrossManyLapsWithOddSizesAndPartialReads()
    {
        var producer = Ring();
        var consumer = Ring();
        var random = new Random(7);
        byte sent = 0, expected = 0;
        long total = 0, unread = 0;
        var chunk = new byte[300];
        var into = new byte[300];
        while (total < 200_000)
        {
            int size = random.Next(1, chunk.Length);
            for (int i = 0; i < size; i++) chunk[i] = sent++;
            int written = producer.Write(chunk.AsSpan(0, size));
            Assert.True(written <= producer.MaxRecord);
            sent = (byte)(sent - (size - written)); // what did not fit is offered again later
            unread += written;
            int want = random.Next(1, into.Length);
            long ready = consumer.Available(want);
            // Something whenever anything is unread (a record further on may wait for the next look), never too much.
            Assert.Equal(unread > 0, ready > 0);
            Assert.True(ready <= unread);
            int n = consumer.Read(into.AsSpan(0, (int)Math.Min(ready, want)));
            Assert.Equal((int)Math.Min(ready, want), n);
            for (int i = 0; i < n; i++) Assert.Equal(expected++, into[i]);
            unread -= n;
            total += n;
        }
        // Drain: everything written is read, then the ring is empty.
        long rest;
        while ((rest = consumer.Available(long.MaxValue)) > 0)
        {
            int n = consumer.Read(into.AsSpan(0, (int)Math.Min(rest, into.Length)));
            for (int i = 0; i < n; i++) Assert.Equal(expected++, into[i]);
        }
        Assert.Equal(sent, expected);
        Assert.Equal(0, consumer.Read(into));
    }

    [Fact]
    public void AFullRingTakesNothingUntilTheConsumerFreesRoom()
    {
        var producer = Ring();
        var consumer = Ring();
        var data = new byte[Capacity];
        Array.Fill(data, (byte)'x');
        int first = producer.Write(data);
        Assert.Equal(Capacity - 16, first); // a header, and the next header kept zero
        Assert.Equal(0, producer.Write(data.AsSpan(0, 1)));
        Assert.Equal(first, consumer.Available(long.MaxValue));
        var into = new byte[100];
        Assert.Equal(100, consumer.Read(into));
        Assert.Equal(0, producer.Write(data.AsSpan(0, 1))); // a record's room is freed only when all of it was read
        var rest = new byte[Capacity];
        Assert.Equal(first - 100, consumer.Read(rest));
        Assert.Equal(Capacity - 16, producer.Write(data));
    }

    [Fact]
    public unsafe void WhatAnEarlierLapLeftIsNeverTakenForARecord()
    {
        var producer = Ring();
        var consumer = Ring();
        // Payload bytes that look like the header of the position they will sit at one lap later.
        var fake = new byte[64];
        for (int i = 0; i < 64; i += 8)
            BitConverter.TryWriteBytes(fake.AsSpan(i), ((ulong)(uint)((Capacity + 8 + i) >> 3) << 32) | 5);
        Assert.Equal(64, producer.Write(fake));
        var into = new byte[64];
        Assert.Equal(64, consumer.Read(into));
        // Lap on with records that end exactly where the fake headers sit.
        var filler = new byte[Capacity - 72]; // ends where the first fake header sits
        Assert.Equal(filler.Length, producer.Write(filler));
        Assert.Equal(filler.Length, consumer.Read(new byte[filler.Length]));
        Assert.Equal(0, consumer.Available(long.MaxValue));
        Assert.Equal(0, consumer.Read(into));
    }

    [Fact]
    public void CloseIsSeenAfterTheLastRecord()
    {
        var producer = Ring();
        var consumer = Ring();
        Assert.Equal(3, producer.Write("abc"u8));
        producer.Close();
        Assert.True(consumer.IsClosed);
        Assert.Equal(3, consumer.Available(long.MaxValue));
    }
}
