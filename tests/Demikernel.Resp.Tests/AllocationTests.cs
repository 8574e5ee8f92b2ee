namespace Demikernel.Resp.Tests;

public class AllocationTests
{
    [Fact]
    public void SteadyStateScanAndReplyAllocateNothing()
    {
        byte[] request = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nSET k \"v w\"\r\n"u8.ToArray();
        byte[] output = new byte[256];
        var scanner = new RespRequestScanner();
        var args = new RespArgs();
        long total = 0;

        void Loop(int iterations)
        {
            for (int i = 0; i < iterations; i++)
            {
                int start = 0;
                while (start < request.Length)
                {
                    ReadOnlySpan<byte> buffer = request.AsSpan(start);
                    RespScanStatus status = scanner.TryScan(buffer, args, out int consumed, out _);
                    if (status != RespScanStatus.Complete)
                    {
                        throw new InvalidOperationException(status.ToString());
                    }

                    var writer = new RespWriter(output, RespVersion.Resp2);
                    writer.TryWriteBulkString(args.Get(buffer, args.Count - 1));
                    writer.TryWriteInteger(args.Count);
                    writer.TryWriteDouble(1.5);
                    total += writer.Written;
                    start += consumed;
                }
            }
        }

        Loop(100); // warm up: JIT, args arrays, scratch buffer
        long before = GC.GetAllocatedBytesForCurrentThread();
        Loop(1000);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
        Assert.True(total > 0);
    }
}

public class ReplyPathAllocationTests
{
    [Fact]
    public void FrameScanReadAndNumberFormattingAllocateNothing()
    {
        byte[] reply = "*4\r\n$5\r\nhello\r\n:42\r\n%1\r\n+k\r\n,1.5\r\n_\r\n"u8.ToArray();
        byte[] text = new byte[RedisNumbers.MaxDoubleLength];
        var scanner = new RespFrameScanner();
        long sum = 0;

        void Loop(int iterations)
        {
            for (int i = 0; i < iterations; i++)
            {
                if (scanner.TryScan(reply, out int length, out _) != RespScanStatus.Complete)
                {
                    throw new InvalidOperationException();
                }

                var reader = new RespReader(reply.AsSpan(0, length));
                while (reader.TryRead())
                {
                    if (reader.Prefix == RespPrefix.Integer)
                    {
                        sum += reader.ReadInt64();
                    }
                    else if (reader.Prefix == RespPrefix.Double)
                    {
                        sum += (long)reader.ReadDouble();
                    }
                }

                RedisNumbers.TryFormatDouble(0.1 * i, text, out int w2);
                if (!RedisNumbers.TryParseDouble(text.AsSpan(0, w2), out double back))
                {
                    throw new InvalidOperationException();
                }

                sum += w2 + (long)back;
            }
        }

        Loop(100);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Loop(1000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sum > 0);
    }
}
