using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// PFDEBUG (GETREG, DECODE, ENCODING, TODENSE: redis-server 7.0's subcommands) and PFSELFTEST, as hyperloglog.c's
/// pfdebugCommand and pfselftestCommand, on our HyperLogLog (<see cref="HyperLogLog"/>).
/// </summary>
internal static class HyperLogLogDebugCommands
{
    public static void Register(CommandTable table)
    {
        table.Add(new("PFDEBUG", PfDebug));
        table.Add(new("PFSELFTEST", PfSelfTest));
    }

    /// <summary>PFDEBUG subcommand key: the key is looked up (for writing) before the subcommand is known, as redis.</summary>
    private static void PfDebug(ref CommandContext c)
    {
        var db = c.Db;
        var e = db.Find(c.Arg(2));
        if (e is null)
        {
            c.Reply.Error("ERR The specified key does not exist");
            return;
        }
        if (!HyperLogLogCommands.CheckHll(ref c, e)) return;
        var value = e.Bytes.AsSpan(0, e.Length);
        bool getReg = c.ArgIs(1, "GETREG"u8), toDense = c.ArgIs(1, "TODENSE"u8);
        if (getReg || toDense)
        {
            if (c.Count != 3)
            {
                c.Reply.Error(Errors.WrongArgCount("pfdebug"));
                return;
            }
            bool converted = false;
            if (!HyperLogLog.IsDense(value))
            {
                var registers = HyperLogLog.RegisterBuffer;
                if (!HyperLogLog.Decode(value, registers))
                {
                    c.Reply.Error(HyperLogLog.InvalidError);
                    return;
                }
                var scratch = HyperLogLog.Scratch;
                int n = HyperLogLog.Encode(registers, value, scratch, forceDense: true); // the header (cache) is kept
                db.SetRawString(c.Arg(2), scratch.AsSpan(0, n), keepTtl: true, KeyEvent.None);
                c.ForcePropagation(); // redis: server.dirty++ on the encoding change, no keyspace event
                converted = true;
                e = db.Find(c.Arg(2), LookupFlags.NoTouch)!;
                value = e.Bytes.AsSpan(0, e.Length);
            }
            if (toDense)
            {
                c.Reply.Integer(converted ? 1 : 0);
                return;
            }
            var body = value[HyperLogLog.HeaderSize..];
            c.Reply.ArrayHeader(HyperLogLog.Registers);
            for (int j = 0; j < HyperLogLog.Registers; j++) c.Reply.Integer(HyperLogLog.GetDense(body, j));
        }
        else if (c.ArgIs(1, "DECODE"u8))
        {
            if (c.Count != 3)
            {
                c.Reply.Error(Errors.WrongArgCount("pfdebug"));
                return;
            }
            if (HyperLogLog.IsDense(value))
            {
                c.Reply.Error("ERR HLL encoding is not sparse");
                return;
            }
            c.Reply.Bulk(Encoding.ASCII.GetBytes(DecodeSparse(value[HyperLogLog.HeaderSize..])));
        }
        else if (c.ArgIs(1, "ENCODING"u8))
        {
            if (c.Count != 3)
            {
                c.Reply.Error(Errors.WrongArgCount("pfdebug"));
                return;
            }
            c.Reply.SimpleString(HyperLogLog.IsDense(value) ? "dense"u8 : "sparse"u8);
        }
        else
        {
            c.Reply.Error($"ERR Unknown PFDEBUG subcommand '{c.ArgString(1)}'");
        }
    }

    /// <summary>The sparse opcodes as text: "z:len" (ZERO), "Z:len" (XZERO), "v:value,len" (VAL), space separated.</summary>
    private static string DecodeSparse(ReadOnlySpan<byte> body)
    {
        var sb = new StringBuilder();
        for (int p = 0; p < body.Length;)
        {
            byte op = body[p];
            if (sb.Length > 0) sb.Append(' ');
            if ((op & 0xC0) == 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"z:{(op & 0x3F) + 1}");
                p++;
            }
            else if ((op & 0xC0) == 0x40)
            {
                int next = p + 1 < body.Length ? body[p + 1] : 0;
                sb.Append(CultureInfo.InvariantCulture, $"Z:{(((op & 0x3F) << 8) | next) + 1}");
                p += 2;
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"v:{((op >> 2) & 0x1F) + 1},{(op & 3) + 1}");
                p++;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// PFSELFTEST, redis's two tests on our implementation: (1) 1000 rounds of random values in every dense register,
    /// each read back; (2) 10,000,000 distinct elements added both to a dense HLL and to one that starts sparse (and
    /// turns dense past the sparse size limit), checking at 1, 10, 100, ... that the small ones are still sparse, that
    /// both encodings count the same, and that the error stays within 6 standard errors (1 at cardinality 10).
    /// Takes about a second, blocking the server, as redis's does.
    /// </summary>
    private static void PfSelfTest(ref CommandContext c)
    {
        var rng = new Random();
        var dense = new byte[HyperLogLog.DenseSize];
        "HYLL"u8.CopyTo(dense);
        dense[4] = HyperLogLog.EncodingDense;
        var body = dense.AsSpan(HyperLogLog.HeaderSize);
        var expected = new byte[HyperLogLog.Registers];
        for (int cycle = 0; cycle < 1000; cycle++)
        {
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                int r = rng.Next() & HyperLogLog.RegisterMax;
                expected[i] = (byte)r;
                HyperLogLog.SetDense(body, i, r);
            }
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                int value = HyperLogLog.GetDense(body, i);
                if (value != expected[i])
                {
                    c.Reply.Error($"ERR TESTFAILED Register {i} should be {expected[i]} but is {value}");
                    return;
                }
            }
        }

        body.Clear();
        // the second HLL: a new (sparse) value, re-encoded on each change while sparse, then set in place when dense
        var obj = new byte[HyperLogLog.MaxEncodedSize];
        var created = HyperLogLog.CreateEmpty();
        created.CopyTo(obj, 0);
        int objLength = created.Length;
        var objRegisters = new byte[HyperLogLog.Registers];
        double relErr = 1.04 / Math.Sqrt(HyperLogLog.Registers);
        long checkpoint = 1;
        ulong seed = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 32);
        Span<byte> element = stackalloc byte[8];
        for (long j = 1; j <= 10_000_000; j++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(element, (ulong)j ^ seed);
            int count = HyperLogLog.PatternLength(element, out int index);
            if (count > HyperLogLog.GetDense(body, index)) HyperLogLog.SetDense(body, index, count);
            if (!HyperLogLog.IsDense(obj))
            {
                if (count > objRegisters[index])
                {
                    objRegisters[index] = (byte)count;
                    var scratch = HyperLogLog.Scratch;
                    objLength = HyperLogLog.Encode(objRegisters, obj, scratch, forceDense: false);
                    scratch.AsSpan(0, objLength).CopyTo(obj);
                }
            }
            else if (count > HyperLogLog.GetDense(obj.AsSpan(HyperLogLog.HeaderSize), index))
            {
                HyperLogLog.SetDense(obj.AsSpan(HyperLogLog.HeaderSize), index, count);
            }
            if (j != checkpoint) continue;
            if (j < EncodingLimits.Current.HllSparseMaxBytes / 2 && HyperLogLog.IsDense(obj))
            {
                c.Reply.Error("ERR TESTFAILED sparse encoding not used");
                return;
            }
            long denseCount = HyperLogLog.CountValue(dense);
            if (denseCount != HyperLogLog.CountValue(obj.AsSpan(0, objLength)))
            {
                c.Reply.Error("ERR TESTFAILED dense/sparse disagree");
                return;
            }
            long absErr = Math.Abs(checkpoint - denseCount);
            long maxErr = j == 10 ? 1 : (long)Math.Ceiling(relErr * 6 * checkpoint);
            if (absErr > maxErr)
            {
                c.Reply.Error($"ERR TESTFAILED Too big error. card:{checkpoint} abserr:{absErr}");
                return;
            }
            checkpoint *= 10;
        }
        c.Reply.Ok();
    }
}
