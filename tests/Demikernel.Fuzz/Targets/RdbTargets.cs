using Demikernel.Server.Store;

namespace Demikernel.Fuzz;

/// <summary>
/// The RDB codec. Invariants: no exception escapes a decoder (bad input is RESTORE's null, "ERR Bad data format", or
/// the loader's error text, never its "internal error"); nothing allocates more than the input can justify (a bound
/// of 1024 bytes per input byte plus 16 MB catches a length read from the input and trusted); a value RESTORE accepts
/// is written again (as DUMP would) and that payload decodes again.
/// </summary>
internal static class RdbTargets
{
    private const long AllocationPerInputByte = 1024;
    private const long AllocationSlack = 16L << 20;

    private static readonly RedisDatabase[] s_databases = CreateDatabases();

    private static RedisDatabase[] CreateDatabases()
    {
        var dbs = new RedisDatabase[16];
        for (int i = 0; i < dbs.Length; i++) dbs[i] = new RedisDatabase(i, TimeProvider.System);
        return dbs;
    }

    /// <summary>The input is [RDB type][value]; the harness appends the version and CRC footer DUMP payloads carry,
    /// so the decoders (not the checksum) meet the mutations.</summary>
    public static void Restore(ReadOnlySpan<byte> input)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var w = new RdbWriter();
        w.Bytes(input);
        var payload = w.FinishDump();
        Invariant.True(RdbSerializer.Verify(payload), "a payload with a fresh footer fails verification");
        var value = RdbSerializer.Load(payload);
        if (value is not null)
        {
            byte[] again;
            if (value.Type == RedisType.String)
            {
                again = RdbSerializer.DumpString(value.String);
            }
            else
            {
                var obj = value.CreateObject();
                if (obj is null) return; // duplicate members: RESTORE answers "Bad data format"
                var writer = new RdbWriter();
                RdbFormat.WriteObject(writer, obj);
                again = writer.FinishDump();
            }
            var reloaded = RdbSerializer.Load(again);
            Invariant.True(reloaded is not null, "a value RESTORE accepted does not decode after DUMP writes it again");
            Invariant.True(reloaded!.Type == value.Type, $"type {value.Type} came back as {reloaded.Type}");
        }
        Invariant.AllocationBounded(before, AllocationSlack + AllocationPerInputByte * input.Length, "RESTORE decoding");
    }

    /// <summary>The input is a whole RDB file (checksum not verified, so mutations reach the opcodes and values).</summary>
    public static void RdbFile(ReadOnlySpan<byte> input)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = RdbLoader.Load(input, s_databases, nowMs: 1_700_000_000_000, verifyChecksum: false);
        foreach (var db in s_databases) db.Clear();
        Invariant.True(result.Ok || result.Error is { Length: > 0 }, "a failed load without an error text");
        Invariant.True(result.Error is null || !result.Error.Contains("internal error", StringComparison.Ordinal),
            $"the loader caught an exception: {result.Error}");
        Invariant.True(!result.Ok || result.BytesUsed <= input.Length, $"used {result.BytesUsed} of {input.Length} bytes");
        Invariant.AllocationBounded(before, AllocationSlack + AllocationPerInputByte * input.Length, "RDB loading");
    }
}
