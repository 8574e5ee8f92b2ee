using System.Buffers;
using System.Buffers.Binary;

namespace Demikernel.Server.Store;

/// <summary>
/// Writing Redis 7.0's RDB format (version 10): the object layer (<see cref="WriteObject"/>: one value as
/// <c>[type][value]</c>, shared by DUMP and RDB files) and the file layer (header, SELECTDB/RESIZEDB, keys with their
/// expiry, EOF). Reading is <see cref="RdbSerializer"/> (object layer) and <see cref="RdbLoader"/> (file layer).
/// <code>
///   file:  "REDIS0010"  AUX*  ( SELECTDB db  RESIZEDB keys expires  ( [EXPIRETIME_MS ms] type key value )* )*
///          EOF  CRC64 (8 bytes LE over every byte before it; 0 when rdbchecksum is off)
///   values as redis-server writes them:
///     string  raw | int8/16/32 | LZF (only when <see cref="RdbWriter.Compress"/>)
///     list    QUICKLIST_2, packed listpack nodes of at most 8 kB (list-max-listpack-size -2)
///     set     INTSET (smallest width, ascending) | SET
///     zset    ZSET_LISTPACK | ZSET_2 (highest score first, binary doubles)
///     hash    HASH_LISTPACK | HASH
///     stream  STREAM_LISTPACKS_2 (<see cref="RdbStream"/>)
/// </code>
/// </summary>
internal static class RdbFormat
{
    public const int Version = RdbSerializer.RdbVersion;

    public const byte OpFunction2 = 0xF5;
    public const byte OpFunction = 0xF6;
    public const byte OpModuleAux = 0xF7;
    public const byte OpIdle = 0xF8;
    public const byte OpFreq = 0xF9;
    public const byte OpAux = 0xFA;
    public const byte OpResizeDb = 0xFB;
    public const byte OpExpireTimeMs = 0xFC;
    public const byte OpExpireTime = 0xFD;
    public const byte OpSelectDb = 0xFE;
    public const byte OpEof = 0xFF;

    public const byte TypeModulePreGa = 6;
    public const byte TypeModule2 = 7;

    /// <summary>One listpack builder per thread, reused across keys (a snapshot writes millions of small
    /// collections); one that grew past <see cref="MaxKeptListpack"/> is dropped instead of kept.</summary>
    [ThreadStatic] private static ListpackWriter? t_listpack;

    private const int MaxKeptListpack = 64 * 1024;

    internal static ListpackWriter RentListpack()
    {
        var lp = t_listpack ?? new ListpackWriter();
        t_listpack = null;
        lp.Reset();
        return lp;
    }

    internal static void ReturnListpack(ListpackWriter lp)
    {
        if (lp.Capacity <= MaxKeptListpack) t_listpack = lp;
    }

    /// <summary>[RDB type byte][value] of an entry's value: the object layer DUMP, RDB files and (later) replication
    /// share.</summary>
    public static void WriteObject(RdbWriter w, RedisEntry entry)
    {
        if (entry.Object is { } value)
        {
            WriteObject(w, value);
            return;
        }
        w.Byte(RdbSerializer.TypeString);
        w.String(entry.StringValue);
    }

    /// <summary><see cref="WriteObject(RdbWriter, RedisEntry)"/> of a key seen in place.</summary>
    public static void WriteObject(RdbWriter w, in KeyView entry)
    {
        if (entry.Object is { } value)
        {
            WriteObject(w, value);
            return;
        }
        w.Byte(RdbSerializer.TypeString);
        w.String(entry.StringValue);
    }

    /// <summary>[RDB type byte][value] of a collection.</summary>
    public static void WriteObject(RdbWriter w, RedisObject value)
    {
        w.Byte(TypeOf(value));
        WriteValue(w, value);
    }

    /// <summary>The RDB type a collection is written as (its encoding decides: listpack or hash table...).</summary>
    public static byte TypeOf(RedisObject value) => value switch
    {
        RedisList => RdbSerializer.TypeListQuicklist2,
        RedisHash hash => hash.IsHashTable ? RdbSerializer.TypeHash : RdbSerializer.TypeHashListpack,
        RedisSet set => set.IsIntSet ? RdbSerializer.TypeSetIntset : RdbSerializer.TypeSet,
        RedisSortedSet zset => zset.IsSkiplistEncoded ? RdbSerializer.TypeZSet2 : RdbSerializer.TypeZSetListpack,
        RedisStream => RdbStream.TypeListpacks2,
        _ => ThrowUnknownObject(value),
    };

    /// <summary>A collection's value in the encoding <see cref="TypeOf"/> names (no type byte).</summary>
    public static void WriteValue(RdbWriter w, RedisObject value)
    {
        switch (value)
        {
            case RedisList list:
                WriteList(w, list);
                break;
            case RedisHash hash:
                WriteHash(w, hash);
                break;
            case RedisSet set:
                WriteSet(w, set);
                break;
            case RedisSortedSet zset:
                WriteZSet(w, zset);
                break;
            case RedisStream stream:
                RdbStream.Write(w, stream);
                break;
            default:
                ThrowUnknownObject(value);
                break;
        }
    }

    /// <summary>The DUMP payload of an entry: its object, then the RDB version and CRC64 footer. Strings are
    /// LZF-compressed only when <paramref name="compress"/> (rdbcompression, which redis-server's DUMP follows too).</summary>
    public static byte[] Dump(RedisEntry entry, bool compress = true)
    {
        var w = new RdbWriter { Compress = compress };
        WriteObject(w, entry);
        return w.FinishDump();
    }

    /// <summary>The DUMP payload of a key seen in place.</summary>
    public static byte[] Dump(in KeyView entry, bool compress = true)
    {
        var w = new RdbWriter { Compress = compress };
        WriteObject(w, entry);
        return w.FinishDump();
    }

    /// <summary>One key of an RDB file (see <see cref="WriteKeyValue(RdbWriter, in KeyView, in RdbKeyAccess)"/>).</summary>
    public static void WriteKeyValue(RdbWriter w, RedisEntry entry, in RdbKeyAccess access = default) => WriteKeyValue(w, entry.View, access);

    /// <summary>One key of an RDB file: [0xFC + 8-byte LE unix ms when the key has a TTL][0xF8 idle seconds under an
    /// LRU policy | 0xF9 decayed counter under an LFU policy][type][key][value], as redis's rdbSaveKeyValuePair.</summary>
    public static void WriteKeyValue(RdbWriter w, in KeyView entry, in RdbKeyAccess access = default)
    {
        long expireAt = entry.ExpireAtMs;
        if (expireAt >= 0)
        {
            w.Byte(OpExpireTimeMs);
            Span<byte> ms = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(ms, expireAt);
            w.Bytes(ms);
        }
        if (access.Lru)
        {
            w.Byte(OpIdle);
            w.Length((ulong)(Math.Max(0, access.NowMs - entry.LastAccessMs) / 1000));
        }
        else if (access.Lfu is { } lfu)
        {
            w.Byte(OpFreq);
            w.Byte((byte)lfu.Decayed(entry.LastAccessMs, LfuSettings.Minutes(access.NowMs)));
        }
        if (entry.Object is { } value)
        {
            w.Byte(TypeOf(value));
            w.String(entry.Key);
            WriteValue(w, value);
            return;
        }
        w.Byte(RdbSerializer.TypeString);
        w.String(entry.Key);
        w.String(entry.StringValue);
    }

    /// <summary>"REDIS0010" then the AUX fields redis-server 7.0 writes: redis-ver, redis-bits, ctime, used-mem,
    /// aof-base (the caller passes values).</summary>
    public static void WriteHeader(RdbWriter w, long unixTimeSeconds, long usedMemory, bool aofBase, RdbReplicationInfo? replication = null)
    {
        w.Bytes("REDIS0010"u8);
        Aux(w, "redis-ver"u8, System.Text.Encoding.ASCII.GetBytes(Commands.ServerInfo.RedisVersion));
        AuxInt(w, "redis-bits"u8, 64);
        AuxInt(w, "ctime"u8, unixTimeSeconds);
        AuxInt(w, "used-mem"u8, usedMemory);
        if (replication is { } r)
        {
            // rdbSaveInfoAuxFields with replication info: a replica loading the image starts in that database
            AuxInt(w, "repl-stream-db"u8, r.StreamDb);
            Aux(w, "repl-id"u8, System.Text.Encoding.ASCII.GetBytes(r.Replid));
            AuxInt(w, "repl-offset"u8, r.Offset);
        }
        AuxInt(w, "aof-base"u8, aofBase ? 1 : 0);
    }

    /// <summary>SELECTDB db, then RESIZEDB keys expires.</summary>
    public static void WriteSelectDb(RdbWriter w, int db, long keys, long expires)
    {
        w.Byte(OpSelectDb);
        w.Length((ulong)db);
        w.Byte(OpResizeDb);
        w.Length((ulong)keys);
        w.Length((ulong)expires);
    }

    /// <summary>The EOF opcode (0xFF) only. The caller appends the 8-byte little-endian CRC64 of every byte of the
    /// file before it (<see cref="RdbCrc64.Compute"/> over the pieces as they are streamed), or 8 zero bytes when
    /// rdbchecksum is no.</summary>
    public static void WriteEnd(RdbWriter w) => w.Byte(OpEof);

    private static void Aux(RdbWriter w, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        w.Byte(OpAux);
        w.String(key);
        w.String(value);
    }

    private static void AuxInt(RdbWriter w, ReadOnlySpan<byte> key, long value)
    {
        Span<byte> text = stackalloc byte[24];
        _ = Demikernel.Resp.RedisNumbers.TryFormatInt64(value, text, out int n);
        Aux(w, key, text[..n]);
    }

    // ------------------------------------------------------------------ values

    /// <summary>A list: QUICKLIST_2 with packed listpack nodes of at most 8 kB (list-max-listpack-size -2), and a
    /// plain node of its own for each element of the packed threshold or more (DEBUG QUICKLIST-PACKED-THRESHOLD,
    /// 1 GB by default), as redis-server's quicklist holds them.</summary>
    public static void WriteList(RdbWriter w, RedisList list)
    {
        // first pass: where the nodes break (the count comes before them)
        var limits = EncodingLimits.Current; // list-max-listpack-size, the packed threshold
        int nodes = 0, size = EmptyListpack, count = 0;
        for (int i = 0; i < list.Count; i++)
        {
            var item = list[i];
            if (item.Length >= limits.ListPackedThreshold)
            {
                nodes += count > 0 ? 2 : 1;
                size = EmptyListpack;
                count = 0;
                continue;
            }
            if (!limits.ListNodeAllows(count, size, item.Length))
            {
                nodes++;
                size = EmptyListpack;
                count = 0;
            }
            size += ListpackWriter.EntrySize(item);
            count++;
        }
        if (count > 0) nodes++;
        w.Length((ulong)nodes);
        var lp = RentListpack();
        for (int i = 0; i < list.Count; i++)
        {
            var item = list[i];
            if (item.Length >= limits.ListPackedThreshold)
            {
                if (lp.Count > 0) WritePackedNode(w, lp);
                lp.Reset();
                w.Length(1); // QUICKLIST_NODE_CONTAINER_PLAIN: the element itself
                w.String(item);
                continue;
            }
            if (!limits.ListNodeAllows(lp.Count, lp.Size, item.Length))
            {
                WritePackedNode(w, lp);
                lp.Reset();
            }
            lp.Add(item);
        }
        if (lp.Count > 0) WritePackedNode(w, lp);
        ReturnListpack(lp);
    }

    internal const int EmptyListpack = 7;

    private static void WritePackedNode(RdbWriter w, ListpackWriter lp)
    {
        w.Length(2); // QUICKLIST_NODE_CONTAINER_PACKED
        w.String(lp.Complete());
    }

    /// <summary>A hash: HASH_LISTPACK (fields and values in order) while small, HASH otherwise.</summary>
    public static void WriteHash(RdbWriter w, RedisHash hash)
    {
        if (!hash.IsHashTable)
        {
            var lp = RentListpack();
            for (int i = 0; i < hash.Count; i++)
            {
                lp.Add(hash.FieldAt(i));
                lp.Add(hash.ValueAt(i));
            }
            w.String(lp.Complete());
            ReturnListpack(lp);
            return;
        }
        w.Length((ulong)hash.Count);
        for (int i = 0; i < hash.Count; i++)
        {
            w.String(hash.FieldAt(i));
            w.String(hash.ValueAt(i));
        }
    }

    /// <summary>A set: SET_INTSET (ascending, smallest width that fits) or SET.</summary>
    public static void WriteSet(RdbWriter w, RedisSet set)
    {
        Span<byte> scratch = stackalloc byte[RedisSet.ScratchLength];
        if (!set.IsIntSet)
        {
            w.Length((ulong)set.Count);
            for (int i = 0; i < set.Count; i++) w.String(set.MemberAt(i, scratch));
            return;
        }
        // intsets hold at most set-max-intset-entries (512) members: both scratch arrays come from the pool
        var values = ArrayPool<long>.Shared.Rent(set.Count);
        var sorted = values.AsSpan(0, set.Count);
        for (int i = 0; i < sorted.Length; i++)
            _ = Demikernel.Resp.RedisNumbers.TryParseInt64(set.MemberAt(i, scratch), out sorted[i]); // intset members are integers
        sorted.Sort();
        int width = 2;
        foreach (long v in sorted)
        {
            if (v is < int.MinValue or > int.MaxValue) width = 8;
            else if (v is < short.MinValue or > short.MaxValue) width = Math.Max(width, 4);
        }
        int size = 8 + sorted.Length * width;
        var rented = ArrayPool<byte>.Shared.Rent(size);
        var blob = rented.AsSpan(0, size);
        BinaryPrimitives.WriteUInt32LittleEndian(blob, (uint)width);
        BinaryPrimitives.WriteUInt32LittleEndian(blob[4..], (uint)sorted.Length);
        for (int i = 0; i < sorted.Length; i++)
        {
            var d = blob[(8 + i * width)..];
            if (width == 2) BinaryPrimitives.WriteInt16LittleEndian(d, (short)sorted[i]);
            else if (width == 4) BinaryPrimitives.WriteInt32LittleEndian(d, (int)sorted[i]);
            else BinaryPrimitives.WriteInt64LittleEndian(d, sorted[i]);
        }
        w.String(blob);
        ArrayPool<byte>.Shared.Return(rented);
        ArrayPool<long>.Shared.Return(values);
    }

    /// <summary>A sorted set: ZSET_LISTPACK (member, score in ascending order; scores as %.17g text) while
    /// listpack-encoded, else ZSET_2 from the highest to the lowest element with binary scores.</summary>
    public static void WriteZSet(RdbWriter w, RedisSortedSet zset)
    {
        if (!zset.IsSkiplistEncoded)
        {
            var lp = RentListpack();
            Span<byte> text = stackalloc byte[Demikernel.Resp.RedisNumbers.MaxDoubleLength];
            for (var n = zset.List.First; n is not null; n = n.Next)
            {
                lp.Add(n.Member);
                _ = Demikernel.Resp.RedisNumbers.TryFormatDouble(n.Score, text, out int written);
                lp.Add(text[..written]);
            }
            w.String(lp.Complete());
            ReturnListpack(lp);
            return;
        }
        w.Length((ulong)zset.Count);
        for (var n = zset.List.Last; n is not null; n = n.Previous)
        {
            w.String(n.Member);
            w.Double(n.Score);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static byte ThrowUnknownObject(RedisObject value) =>
        throw new NotSupportedException($"RDB: no encoding for {value.GetType().Name}");
}

/// <summary>Which access information an RDB records per key (the maxmemory policy's: LRU idle time or LFU counter)
/// and the time it is measured against.</summary>
internal readonly record struct RdbKeyAccess(bool Lru, LfuSettings? Lfu, long NowMs)
{
    public static RdbKeyAccess Of(RedisDatabase[] databases, long nowMs) =>
        databases.Length == 0 ? default : new(databases[0].LruPolicy, databases[0].Lfu, nowMs);
}

/// <summary>What an RDB made while replication is active records about the stream (rdbPopulateSaveInfo).</summary>
internal readonly record struct RdbReplicationInfo(int StreamDb, string Replid, long Offset);
