using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>
/// An AOF base as commands, what redis-server 7.0 writes with <c>aof-use-rdb-preamble no</c>
/// (<c>appendonly.aof.N.base.aof</c>): RESP arrays of bulk strings, numbers as decimal text, no trailer.
/// <code>
///   [#TS:unix-seconds]                              aof-timestamp-enabled only
///   SELECT db                                       per database with keys
///   string   SET key value
///   list     RPUSH key item...                      head to tail        ┐ at most 64 items (ZADD/HMSET: 64 pairs)
///   set      SADD key member...                     intsets ascending   │ per command, as redis-server's
///   zset     ZADD key score member...               ascending, %.17g    │ AOF_REWRITE_ITEMS_PER_CMD
///   hash     HMSET key field value...                                   ┘
///   stream   XADD key id field value...  (empty: XADD key MAXLEN 0 0-1 x y)
///            XSETID key last-id ENTRIESADDED n MAXDELETEDID id
///            per group (name order): XGROUP CREATE key group last-id ENTRIESREAD n, then per consumer (name order)
///              XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n JUSTID FORCE   per pending entry, or
///              XGROUP CREATECONSUMER key group consumer                           when it has none
///   then     PEXPIREAT key unix-ms                  keys with a TTL
/// </code>
/// Replaying these through the dispatcher rebuilds the same values (<see cref="AofLoader"/>).
/// </summary>
internal readonly struct AofCommandFormat(long timestampSeconds, byte[][]? functions = null) : ISnapshotFormat
{
    /// <summary>redis-server's AOF_REWRITE_ITEMS_PER_CMD.</summary>
    public const int ItemsPerCommand = 64;

    /// <summary>No timestamp annotation (aof-timestamp-enabled no).</summary>
    public static AofCommandFormat WithoutTimestamp => new(-1);

    public void WriteHeader(RdbWriter w)
    {
        if (timestampSeconds < 0)
        {
            WriteFunctions(w);
            return;
        }
        w.Bytes("#TS:"u8);
        Integer(w, timestampSeconds);
        w.Bytes("\r\n"u8);
        WriteFunctions(w);
    }

    /// <summary>The function libraries as FUNCTION LOAD commands, first in the file (redis's rewriteFunctions).</summary>
    private void WriteFunctions(RdbWriter w)
    {
        foreach (var code in functions ?? [])
        {
            w.Bytes("*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"u8);
            Bulk(w, code);
        }
    }

    public void WriteSelectDb(RdbWriter w, int db, long keys, long expires)
    {
        w.Bytes("*2\r\n$6\r\nSELECT\r\n"u8);
        BulkInteger(w, db);
    }

    public void WriteEnd(RdbWriter w)
    {
    }

    public void WriteKey(RdbWriter w, in KeyView entry)
    {
        switch (entry.Object)
        {
            case null:
                w.Bytes("*3\r\n$3\r\nSET\r\n"u8);
                Bulk(w, entry.Key);
                Bulk(w, entry.StringValue);
                break;
            case RedisList list:
                WriteList(w, entry.Key, list);
                break;
            case RedisSet set:
                WriteSet(w, entry.Key, set);
                break;
            case RedisSortedSet zset:
                WriteSortedSet(w, entry.Key, zset);
                break;
            case RedisHash hash:
                WriteHash(w, entry.Key, hash);
                break;
            case RedisStream stream:
                WriteStream(w, entry.Key, stream);
                break;
            default:
                throw new NotSupportedException($"AOF rewrite: no command form for {entry.Object.GetType().Name}");
        }
        long expireAt = entry.ExpireAtMs;
        if (expireAt >= 0)
        {
            w.Bytes("*3\r\n$9\r\nPEXPIREAT\r\n"u8);
            Bulk(w, entry.Key);
            BulkInteger(w, expireAt);
        }
    }

    // ------------------------------------------------------------------ collections in batches

    /// <summary>Starts a batch command when <paramref name="done"/> is a multiple of 64: "*n CMD key" for the
    /// items left (at most 64), each item taking <paramref name="argsPerItem"/> arguments.</summary>
    private static void BatchHeader(RdbWriter w, ReadOnlySpan<byte> command, ReadOnlySpan<byte> key, int done, int total, int argsPerItem)
    {
        if (done % ItemsPerCommand != 0) return;
        int items = Math.Min(ItemsPerCommand, total - done);
        ArrayHeader(w, 2 + items * argsPerItem);
        Bulk(w, command);
        Bulk(w, key);
    }

    private static void WriteList(RdbWriter w, ReadOnlySpan<byte> key, RedisList list)
    {
        int count = list.Count;
        for (int i = 0; i < count; i++)
        {
            BatchHeader(w, "RPUSH"u8, key, i, count, 1);
            Bulk(w, list[i]);
        }
    }

    private static void WriteSet(RdbWriter w, ReadOnlySpan<byte> key, RedisSet set)
    {
        int count = set.Count;
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        if (set.IsIntSet)
        {
            // redis-server walks its intset, which is sorted
            var values = new long[count];
            for (int i = 0; i < count; i++) _ = RedisNumbers.TryParseInt64(set.MemberAt(i, scratch), out values[i]);
            Array.Sort(values);
            for (int i = 0; i < count; i++)
            {
                BatchHeader(w, "SADD"u8, key, i, count, 1);
                BulkInteger(w, values[i]);
            }
            return;
        }
        for (int i = 0; i < count; i++)
        {
            BatchHeader(w, "SADD"u8, key, i, count, 1);
            Bulk(w, set.MemberAt(i, scratch));
        }
    }

    private static void WriteSortedSet(RdbWriter w, ReadOnlySpan<byte> key, RedisSortedSet zset)
    {
        int count = zset.Count, i = 0;
        Span<byte> text = stackalloc byte[RedisNumbers.MaxDoubleLength];
        for (var n = zset.List.First; n is not null; n = n.Next, i++)
        {
            BatchHeader(w, "ZADD"u8, key, i, count, 2);
            _ = RedisNumbers.TryFormatDouble(n.Score, text, out int written);
            Bulk(w, text[..written]);
            Bulk(w, n.Member);
        }
    }

    private static void WriteHash(RdbWriter w, ReadOnlySpan<byte> key, RedisHash hash)
    {
        int count = hash.Count;
        for (int i = 0; i < count; i++)
        {
            BatchHeader(w, "HMSET"u8, key, i, count, 2);
            Bulk(w, hash.FieldAt(i));
            Bulk(w, hash.ValueAt(i));
        }
    }

    // ------------------------------------------------------------------ streams

    private static void WriteStream(RdbWriter w, ReadOnlySpan<byte> key, RedisStream s)
    {
        if (s.Length > 0)
        {
            var e = s.Range(StreamId.Min, StreamId.Max, reverse: false);
            while (e.MoveNext())
            {
                var data = e.Data;
                int pairs = StreamEntry.Pairs(data);
                ArrayHeader(w, 3 + pairs * 2);
                w.Bytes("$4\r\nXADD\r\n"u8);
                Bulk(w, key);
                BulkId(w, e.Id);
                int offset = 4;
                for (int p = 0; p < 2 * pairs; p++) Bulk(w, StreamEntry.Next(data, ref offset));
            }
        }
        else
        {
            // an empty stream (all deleted, or made by XGROUP CREATE MKSTREAM): add one entry and trim it away
            w.Bytes("*7\r\n$4\r\nXADD\r\n"u8);
            Bulk(w, key);
            w.Bytes("$6\r\nMAXLEN\r\n$1\r\n0\r\n$3\r\n0-1\r\n$1\r\nx\r\n$1\r\ny\r\n"u8);
        }
        // the counters XADD alone would not restore (deleted entries, XSETID)
        w.Bytes("*7\r\n$6\r\nXSETID\r\n"u8);
        Bulk(w, key);
        BulkId(w, s.LastId);
        w.Bytes("$12\r\nENTRIESADDED\r\n"u8);
        BulkInteger(w, s.EntriesAdded);
        w.Bytes("$12\r\nMAXDELETEDID\r\n"u8);
        BulkId(w, s.MaxDeletedId);

        foreach (var g in s.Groups)
        {
            w.Bytes("*7\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n"u8);
            Bulk(w, key);
            Bulk(w, g.Name);
            BulkId(w, g.LastId);
            w.Bytes("$11\r\nENTRIESREAD\r\n"u8);
            BulkInteger(w, g.EntriesRead);
            foreach (var c in g.Consumers)
            {
                if (c.Pel.Count == 0)
                {
                    w.Bytes("*5\r\n$6\r\nXGROUP\r\n$14\r\nCREATECONSUMER\r\n"u8);
                    Bulk(w, key);
                    Bulk(w, g.Name);
                    Bulk(w, c.Name);
                    continue;
                }
                foreach (var nack in c.Pel.Nacks)
                {
                    w.Bytes("*12\r\n$6\r\nXCLAIM\r\n"u8);
                    Bulk(w, key);
                    Bulk(w, g.Name);
                    Bulk(w, c.Name);
                    w.Bytes("$1\r\n0\r\n"u8);
                    BulkId(w, nack.Id);
                    w.Bytes("$4\r\nTIME\r\n"u8);
                    BulkInteger(w, nack.DeliveryTime);
                    w.Bytes("$10\r\nRETRYCOUNT\r\n"u8);
                    BulkInteger(w, nack.DeliveryCount);
                    w.Bytes("$6\r\nJUSTID\r\n$5\r\nFORCE\r\n"u8);
                }
            }
        }
    }

    // ------------------------------------------------------------------ RESP pieces

    private static void ArrayHeader(RdbWriter w, long count)
    {
        w.Byte((byte)'*');
        Integer(w, count);
        w.Bytes("\r\n"u8);
    }

    private static void Bulk(RdbWriter w, ReadOnlySpan<byte> value)
    {
        w.Byte((byte)'$');
        Integer(w, value.Length);
        w.Bytes("\r\n"u8);
        w.Bytes(value);
        w.Bytes("\r\n"u8);
    }

    private static void BulkInteger(RdbWriter w, long value)
    {
        Span<byte> text = stackalloc byte[RedisNumbers.MaxInt64Length];
        _ = RedisNumbers.TryFormatInt64(value, text, out int n);
        Bulk(w, text[..n]);
    }

    private static void BulkId(RdbWriter w, StreamId id)
    {
        Span<byte> text = stackalloc byte[StreamId.MaxTextLength];
        Bulk(w, text[..id.Format(text)]);
    }

    private static void Integer(RdbWriter w, long value)
    {
        Span<byte> text = stackalloc byte[RedisNumbers.MaxInt64Length];
        _ = RedisNumbers.TryFormatInt64(value, text, out int n);
        w.Bytes(text[..n]);
    }
}
