using System.Buffers;
using System.Buffers.Text;

namespace Demikernel.Server.Propagation;

/// <summary>Serialises units as redis-server 7.0 appends them to its AOF (feedAppendOnlyFile).</summary>
public static class EffectsStream
{
    private static ReadOnlySpan<byte> Multi => "*1\r\n$5\r\nMULTI\r\n"u8;
    private static ReadOnlySpan<byte> Exec => "*1\r\n$4\r\nEXEC\r\n"u8;

    /// Appends the unit to an AOF/replication byte stream exactly as redis-server 7.0 writes it to its AOF:
    /// SELECT when the database differs from selectedDb (then updates it), MULTI/EXEC around a transaction.
    /// <paramref name="selectedDb"/> starts at -1 for a new stream (the first command then gets a SELECT).
    /// <paramref name="aof"/>: the AOF's stream, else the replicas'; each leaves out the commands meant for the other
    /// side only (MULTI/EXEC still go to both, as propagatePendingCommands sends them).
    public static void Write(IBufferWriter<byte> output, in EffectsUnit unit, ref int selectedDb, bool aof)
    {
        if (unit.Transaction)
        {
            // MULTI takes the first command's database, so a SELECT goes before it; EXEC takes the last one's, so
            // none goes before it (propagatePendingCommands).
            Select(output, unit.DbOf(0), ref selectedDb);
            output.Write(Multi);
        }
        for (int i = 0; i < unit.Count; i++)
        {
            if (!unit.Reaches(i, aof)) continue;
            Select(output, unit.DbOf(i), ref selectedDb);
            output.Write(unit.CommandOf(i));
        }
        if (unit.Transaction) output.Write(Exec);
    }

    /// <summary>False when the AOF (<paramref name="aof"/>) or the replicas get nothing of the unit (a lone PUBLISH
    /// for the AOF).</summary>
    public static bool HasPart(in EffectsUnit unit, bool aof)
    {
        if (unit.Transaction) return true;
        for (int i = 0; i < unit.Count; i++)
            if (unit.Reaches(i, aof)) return true;
        return false;
    }

    private static void Select(IBufferWriter<byte> output, int db, ref int selectedDb)
    {
        if (db == selectedDb) return;
        // *2\r\n$6\r\nSELECT\r\n$<n>\r\n<db>\r\n
        Span<byte> digits = stackalloc byte[11];
        Utf8Formatter.TryFormat(db, digits, out int n);
        var span = output.GetSpan(32);
        "*2\r\n$6\r\nSELECT\r\n$"u8.CopyTo(span);
        int at = 17;
        Utf8Formatter.TryFormat(n, span[at..], out int w);
        at += w;
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        digits[..n].CopyTo(span[at..]);
        at += n;
        span[at++] = (byte)'\r';
        span[at++] = (byte)'\n';
        output.Advance(at);
        selectedDb = db;
    }
}
