using System.Buffers.Binary;
using System.Buffers.Text;

namespace Demikernel.Server.Store;

/// <summary>
/// Streams in DUMP payloads, as Redis 7.0 writes them (rdb.c, RDB_TYPE_STREAM_LISTPACKS_2 = 19); types 15 (Redis 5/6)
/// and 21 (Redis 7.2, adds each consumer's active time) are read too.
/// <code>
///   nodes:   len N, then N × ( string: master ID, 16 bytes big-endian ms|seq ; string: listpack )
///   listpack of a node (every item a listpack element, numbers as listpack integers):
///     master entry:  count  deleted  #fields  field_1 .. field_n  0
///     each entry:    flags  ms-ms0  seq-seq0  (values_1..n                 if flags has SAME_FIELDS=2)
///                                             (#fields f_1 v_1 .. f_k v_k  otherwise)
///                    lp-count (elements of the entry before it: n + 3, or 2k + 4)
///                    flags DELETED=1 marks a tombstone; deltas are modulo 2^64 from the master ID
///   then:    len length, len last.ms, len last.seq,
///            [19, 21] len first.ms, len first.seq, len maxdeleted.ms, len maxdeleted.seq, len entries-added
///   groups:  len G, then G × ( string name, len last.ms, len last.seq, [19, 21] len entries-read (-1 as 2^64-1),
///            len P, P × ( 16 raw bytes ID, int64 LE delivery ms, len delivery count ),
///            len C, C × ( string name, int64 LE seen ms, [21] int64 LE active ms, len K, K × 16 raw bytes ID ) )
/// </code>
/// We keep no data for deleted entries, so a DUMP from here lists only live entries (count = live, deleted = 0);
/// the node boundaries (master IDs) are kept.
/// </summary>
internal static class RdbStream
{
    public const byte TypeListpacks = 15;
    public const byte TypeListpacks2 = 19;
    public const byte TypeListpacks3 = 21;

    private const int FlagDeleted = 1;
    private const int FlagSameFields = 2;

    /// <summary>Writes a stream's value (type 19, the type byte not included).</summary>
    public static void Write(RdbWriter w, RedisStream s)
    {
        int nodes = 0;
        for (int i = 0; i < s.NodeCount; i++)
        {
            s.GetNode(i, out _, out var data);
            foreach (var d in data)
            {
                if (d is null) continue;
                nodes++;
                break;
            }
        }
        w.Length((ulong)nodes);
        Span<byte> key = stackalloc byte[16];
        var lp = RdbFormat.RentListpack();
        for (int i = 0; i < s.NodeCount; i++)
        {
            s.GetNode(i, out var ids, out var data, out var masterEntry);
            lp.Reset();
            if (!EncodeNode(lp, ids, data, masterEntry)) continue;
            WriteRawId(key, ids[0]);
            w.String(key);
            w.String(lp.Complete());
        }
        RdbFormat.ReturnListpack(lp);
        w.Length((ulong)s.Length);
        WriteId(w, s.LastId);
        WriteId(w, s.FirstId);
        WriteId(w, s.MaxDeletedId);
        w.Length((ulong)s.EntriesAdded);
        w.Length((ulong)s.Groups.Count);
        foreach (var g in s.Groups)
        {
            w.String(g.Name);
            WriteId(w, g.LastId);
            w.Length(unchecked((ulong)g.EntriesRead));
            w.Length((ulong)g.Pel.Count);
            foreach (var nack in g.Pel.Nacks)
            {
                WriteRawId(key, nack.Id);
                w.Bytes(key);
                WriteMs(w, nack.DeliveryTime);
                w.Length((ulong)nack.DeliveryCount);
            }
            w.Length((ulong)g.Consumers.Count);
            foreach (var consumer in g.Consumers)
            {
                w.String(consumer.Name);
                WriteMs(w, consumer.SeenTime);
                w.Length((ulong)consumer.Pel.Count);
                foreach (var id in consumer.Pel.Ids)
                {
                    WriteRawId(key, id);
                    w.Bytes(key);
                }
            }
        }
    }

    /// <summary>One node's listpack into <paramref name="lp"/>, or false when the node has no live entry. The master
    /// fields are those of the node's first entry (<paramref name="masterEntry"/>, deleted or not, as redis's);
    /// entries with exactly those fields are written with SAME_FIELDS.</summary>
    private static bool EncodeNode(ListpackWriter lp, ReadOnlySpan<StreamId> ids, ReadOnlySpan<byte[]?> data, byte[] masterEntry)
    {
        int first = -1, live = 0;
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] is null) continue;
            if (first < 0) first = i;
            live++;
        }
        if (first < 0) return false;
        var master = ids[0];
        var masterData = masterEntry.Length > 0 ? masterEntry : data[first]!;
        int masterFields = StreamEntry.Pairs(masterData);
        AddInteger(lp, live);
        AddInteger(lp, 0);
        AddInteger(lp, masterFields);
        int offset = 4;
        for (int f = 0; f < masterFields; f++)
        {
            lp.Add(StreamEntry.Next(masterData, ref offset));
            StreamEntry.Next(masterData, ref offset);
        }
        AddInteger(lp, 0);
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] is not { } d) continue;
            bool same = SameFields(d, masterData);
            int pairs = StreamEntry.Pairs(d);
            AddInteger(lp, same ? FlagSameFields : 0);
            AddInteger(lp, unchecked((long)(ids[i].Ms - master.Ms)));
            AddInteger(lp, unchecked((long)(ids[i].Seq - master.Seq)));
            if (!same) AddInteger(lp, pairs);
            offset = 4;
            for (int p = 0; p < pairs; p++)
            {
                var field = StreamEntry.Next(d, ref offset);
                var value = StreamEntry.Next(d, ref offset);
                if (!same) lp.Add(field);
                lp.Add(value);
            }
            AddInteger(lp, same ? pairs + 3 : pairs * 2 + 4);
        }
        return true;
    }

    /// <summary>True when both entries have the same field names in the same order.</summary>
    internal static bool SameFields(byte[] a, byte[] b)
    {
        int pairs = StreamEntry.Pairs(a);
        if (pairs != StreamEntry.Pairs(b)) return false;
        int oa = 4, ob = 4;
        for (int p = 0; p < pairs; p++)
        {
            if (!StreamEntry.Next(a, ref oa).SequenceEqual(StreamEntry.Next(b, ref ob))) return false;
            StreamEntry.Next(a, ref oa);
            StreamEntry.Next(b, ref ob);
        }
        return true;
    }

    private static void AddInteger(ListpackWriter lp, long value)
    {
        Span<byte> text = stackalloc byte[24];
        Utf8Formatter.TryFormat(value, text, out int n);
        lp.Add(text[..n]);
    }

    private static void WriteId(RdbWriter w, StreamId id)
    {
        w.Length(id.Ms);
        w.Length(id.Seq);
    }

    private static void WriteRawId(Span<byte> into, StreamId id)
    {
        BinaryPrimitives.WriteUInt64BigEndian(into, id.Ms);
        BinaryPrimitives.WriteUInt64BigEndian(into[8..], id.Seq);
    }

    private static void WriteMs(RdbWriter w, long ms)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, ms);
        w.Bytes(b);
    }

    // ------------------------------------------------------------------ load

    /// <summary>Decodes a stream of type 15, 19 or 21; null when the data is malformed or inconsistent (IDs out of
    /// order, counts that do not match the entries, PEL entries without an owner...).</summary>
    public static RedisStream? Load(ref RdbReader r, byte type)
    {
        bool v2 = type != TypeListpacks;
        var s = new RedisStream();
        if (!r.TryLength(out ulong nodes, out bool enc) || enc) return null;
        if (nodes > (ulong)r.Remaining)
        {
            r.MarkRanOut(); // more nodes than bytes left
            return null;
        }
        var items = new List<byte[]>();
        bool any = false;
        StreamId previous = default;
        for (ulong n = 0; n < nodes; n++)
        {
            if (!r.TryString(out var key) || key.Length != 16 || !r.TryString(out var lp)) return null;
            var master = ReadRawId(key);
            items.Clear();
            if (!RdbSerializer.Listpack(lp, items) || items.Count == 0) return null;
            if (!DecodeNode(items, master, lp.Length, s, ref previous, ref any)) return null;
        }
        if (!r.TryLength(out ulong length, out enc) || enc || length > long.MaxValue) return null;
        if (!TryReadId(ref r, out var lastId)) return null;
        if ((long)length != s.CountLiveEntries()) return null;
        StreamId firstId, maxDeleted;
        ulong entriesAdded;
        if (v2)
        {
            if (!TryReadId(ref r, out firstId) || !TryReadId(ref r, out maxDeleted)) return null;
            if (!r.TryLength(out entriesAdded, out enc) || enc) return null;
        }
        else
        {
            firstId = s.FirstLiveEntryId();
            maxDeleted = default;
            entriesAdded = length;
        }
        if (any && previous > lastId) return null; // an entry above the last ID would break XADD's ordering
        s.SetRestoredCounters((long)length, lastId, firstId, maxDeleted, (long)entriesAdded);

        if (!r.TryLength(out ulong groups, out enc) || enc) return null;
        for (ulong gi = 0; gi < groups; gi++)
        {
            if (!r.TryString(out var name) || !TryReadId(ref r, out var groupLast)) return null;
            long entriesRead;
            if (v2)
            {
                if (!r.TryLength(out ulong read, out enc) || enc) return null;
                entriesRead = unchecked((long)read);
            }
            else
            {
                entriesRead = s.EstimateDistanceFromFirstEverEntry(groupLast);
            }
            var g = s.CreateGroup(name, groupLast, entriesRead);
            if (g is null) return null; // duplicate group name
            if (!r.TryLength(out ulong pel, out enc) || enc) return null;
            for (ulong p = 0; p < pel; p++)
            {
                if (!r.TryBytes(16, out var raw) || !TryReadMs(ref r, out long delivered)) return null;
                if (!r.TryLength(out ulong count, out enc) || enc) return null;
                if (!g.Pel.Add(new StreamNack(ReadRawId(raw), delivered, unchecked((long)count), null))) return null;
            }
            if (!r.TryLength(out ulong consumers, out enc) || enc) return null;
            for (ulong ci = 0; ci < consumers; ci++)
            {
                if (!r.TryString(out var consumerName) || !TryReadMs(ref r, out long seen)) return null;
                if (type == TypeListpacks3 && !TryReadMs(ref r, out _)) return null; // active time (7.2)
                var consumer = g.CreateConsumer(consumerName, seen);
                if (consumer is null) return null; // duplicate consumer
                if (!r.TryLength(out ulong owned, out enc) || enc) return null;
                for (ulong k = 0; k < owned; k++)
                {
                    if (!r.TryBytes(16, out var raw)) return null;
                    var nack = g.Pel.Find(ReadRawId(raw));
                    if (nack is null || nack.Consumer is not null) return null; // not in the group PEL, or owned twice
                    nack.Consumer = consumer;
                    consumer.Pel.Add(nack);
                }
            }
            foreach (var nack in g.Pel.Nacks)
                if (nack.Consumer is null) return null; // every pending entry belongs to a consumer
        }
        return s;
    }

    /// <summary>Decodes one node's listpack into a chunk (skipped when it holds no live entry).</summary>
    private static bool DecodeNode(List<byte[]> items, StreamId master, int lpBytes, RedisStream s, ref StreamId previous, ref bool any)
    {
        int pos = 0;
        if (!Int(items, ref pos, out long count) || !Int(items, ref pos, out long deleted) || !Int(items, ref pos, out long masterFields)) return false;
        if (count < 0 || deleted < 0 || masterFields < 0 || masterFields > items.Count) return false;
        int fieldsAt = pos;
        pos += (int)masterFields;
        if (!Int(items, ref pos, out long terminator) || terminator != 0) return false;
        long slots = count + deleted;
        if (slots == 0 || slots > items.Count) return false;
        var before = previous;
        bool anyBefore = any;
        var ids = new StreamId[slots];
        var data = new byte[]?[slots];
        long live = 0;
        for (int i = 0; i < slots; i++)
        {
            if (!Int(items, ref pos, out long flags) || !Int(items, ref pos, out long msDelta) || !Int(items, ref pos, out long seqDelta)) return false;
            if ((flags & ~(FlagDeleted | FlagSameFields)) != 0) return false;
            var id = new StreamId(unchecked(master.Ms + (ulong)msDelta), unchecked(master.Seq + (ulong)seqDelta));
            if (any && id <= previous) return false;
            previous = id;
            any = true;
            ids[i] = id;
            int pairs;
            bool same = (flags & FlagSameFields) != 0;
            if (same) pairs = (int)masterFields;
            else if (!Int(items, ref pos, out long k) || k < 0 || k > items.Count) return false;
            else pairs = (int)k;
            int itemsNeeded = same ? pairs : pairs * 2;
            if (pos + itemsNeeded > items.Count) return false;
            long bytes = 0;
            for (int p = 0; p < pairs; p++)
            {
                bytes += (same ? items[fieldsAt + p].Length : items[pos + 2 * p].Length) +
                         (same ? items[pos + p].Length : items[pos + 2 * p + 1].Length);
            }
            if ((flags & FlagDeleted) == 0)
            {
                var entry = new byte[StreamEntry.SizeFor(pairs, bytes)];
                int offset = StreamEntry.Begin(entry, pairs);
                for (int p = 0; p < pairs; p++)
                {
                    offset = StreamEntry.Put(entry, offset, same ? items[fieldsAt + p] : items[pos + 2 * p]);
                    offset = StreamEntry.Put(entry, offset, same ? items[pos + p] : items[pos + 2 * p + 1]);
                }
                data[i] = entry;
                live++;
            }
            pos += itemsNeeded;
            if (!Int(items, ref pos, out long lpCount) || lpCount != (same ? pairs + 3 : pairs * 2 + 4)) return false;
        }
        if (pos != items.Count || live != count) return false;
        if (live == 0) return true;
        if (master < ids[0] && (!anyBefore || master > before))
        {
            // Our DUMP writes a node whose first slots were trimmed or deleted keyed by the first slot's ID, which
            // is not in the listpack (we keep no data for it): keep it as a leading tombstone so the node is the same.
            ids = [master, .. ids];
            data = [null, .. data];
            slots++;
        }
        long fieldBytes = 0;
        for (int f = 0; f < masterFields; f++) fieldBytes += items[fieldsAt + f].Length;
        var masterEntry = new byte[StreamEntry.SizeFor((int)masterFields, fieldBytes)];
        int at = StreamEntry.Begin(masterEntry, (int)masterFields);
        for (int f = 0; f < masterFields; f++)
        {
            at = StreamEntry.Put(masterEntry, at, items[fieldsAt + f]);
            at = StreamEntry.Put(masterEntry, at, []);
        }
        s.AppendRestoredNode(ids, data, (int)slots, masterEntry, lpBytes, count, deleted);
        return true;
    }

    private static bool Int(List<byte[]> items, ref int pos, out long value)
    {
        value = 0;
        if (pos >= items.Count) return false;
        return Demikernel.Resp.RedisNumbers.TryParseInt64(items[pos++], out value);
    }

    private static StreamId ReadRawId(ReadOnlySpan<byte> raw) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(raw), BinaryPrimitives.ReadUInt64BigEndian(raw[8..]));

    private static bool TryReadId(ref RdbReader r, out StreamId id)
    {
        id = default;
        if (!r.TryLength(out ulong ms, out bool e1) || e1 || !r.TryLength(out ulong seq, out bool e2) || e2) return false;
        id = new StreamId(ms, seq);
        return true;
    }

    private static bool TryReadMs(ref RdbReader r, out long ms)
    {
        ms = 0;
        if (!r.TryBytes(8, out var b)) return false;
        ms = BinaryPrimitives.ReadInt64LittleEndian(b);
        return true;
    }
}
