using System.Buffers.Binary;
using System.Security.Cryptography;
using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// DEBUG DIGEST and DIGEST-VALUE: redis-server 7.0's dataset signature (debug.c), bit for bit, so a dataset here and
/// one in redis-server (a replica, a restored dump) can be compared with one command. Unordered collections (the
/// keyspace, sets, hashes, sorted sets) XOR their elements' SHA-1s; ordered ones (lists, streams, a key's own parts)
/// chain them: digest = SHA1(digest XOR SHA1(data)).
/// </summary>
internal static class DatasetDigest
{
    /// <summary>computeDatasetDigest: 20 zero bytes for an empty dataset.</summary>
    public static byte[] Compute(RedisDatabase[] databases)
    {
        var final = new byte[20];
        Span<byte> digest = stackalloc byte[20];
        Span<byte> id = stackalloc byte[4];
        for (int j = 0; j < databases.Length; j++)
        {
            var db = databases[j];
            if (db.Count == 0) continue;
            BinaryPrimitives.WriteInt32BigEndian(id, j); // the same data in another database digests differently
            Mix(final, id);
            foreach (var e in db.Entries) // logically expired keys included, as redis's dict iteration
            {
                digest.Clear();
                Mix(digest, e.Key);
                MixValue(digest, e);
                Xor(final, digest);
            }
        }
        return final;
    }

    /// <summary>xorObjectDigest: the value's type, its contents, and whether it has a TTL.</summary>
    public static void MixValue(Span<byte> digest, in KeyView e)
    {
        Span<byte> type = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(type, e.Type == RedisType.Stream ? 6 : (int)e.Type); // OBJ_STREAM is 6
        Mix(digest, type);
        Span<byte> element = stackalloc byte[20];
        Span<byte> text = stackalloc byte[Math.Max(RedisNumbers.MaxDoubleLength, RedisSet.ScratchLength)];
        switch (e.Object)
        {
            case null:
                Mix(digest, e.StringValue);
                break;
            case RedisList list:
                for (int i = 0; i < list.Count; i++) Mix(digest, list[i]);
                break;
            case RedisSet set:
                for (int i = 0; i < set.Count; i++) Xor(digest, set.MemberAt(i, text));
                break;
            case RedisSortedSet zset:
                for (var n = zset.List.First; n is not null; n = n.Next)
                {
                    element.Clear();
                    Mix(element, n.Member);
                    RedisNumbers.TryFormatDouble(n.Score, text, out int written); // "%.17g"
                    Mix(element, text[..written]);
                    Xor(digest, element);
                }
                break;
            case RedisHash hash:
                for (int i = 0; i < hash.Count; i++)
                {
                    element.Clear();
                    Mix(element, hash.FieldAt(i));
                    Mix(element, hash.ValueAt(i));
                    Xor(digest, element);
                }
                break;
            case RedisStream stream:
                Span<byte> id = stackalloc byte[42];
                var entries = stream.Range(StreamId.Min, StreamId.Max, reverse: false);
                while (entries.MoveNext())
                {
                    entries.Id.Ms.TryFormat(id, out int ms, default, System.Globalization.CultureInfo.InvariantCulture);
                    id[ms] = (byte)'.'; // redis writes "%U.%U" here, not the usual ms-seq
                    entries.Id.Seq.TryFormat(id[(ms + 1)..], out int seq, default, System.Globalization.CultureInfo.InvariantCulture);
                    Mix(digest, id[..(ms + 1 + seq)]);
                    var data = entries.Data;
                    int offset = 4;
                    for (int p = StreamEntry.Pairs(data); p > 0; p--)
                    {
                        Mix(digest, StreamEntry.Next(data, ref offset));
                        Mix(digest, StreamEntry.Next(data, ref offset));
                    }
                }
                break;
        }
        if (e.HasExpire) Xor(digest, "!!expire!!"u8);
    }

    /// <summary>xorDigest: digest ^= SHA1(data).</summary>
    private static void Xor(Span<byte> digest, ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // the signature is redis's, defined with SHA-1; it is a checksum, not a security measure
        SHA1.HashData(data, hash);
        for (int j = 0; j < 20; j++) digest[j] ^= hash[j];
    }

    /// <summary>mixDigest: digest = SHA1(digest ^ SHA1(data)).</summary>
    private static void Mix(Span<byte> digest, ReadOnlySpan<byte> data)
    {
        Xor(digest, data);
        Span<byte> mixed = stackalloc byte[20];
        SHA1.HashData(digest, mixed);
        mixed.CopyTo(digest);
#pragma warning restore CA5350
    }
}
