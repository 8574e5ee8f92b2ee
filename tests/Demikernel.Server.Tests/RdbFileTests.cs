using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Demikernel.Server.Store;

namespace Demikernel.Server.Tests;

/// <summary>
/// Whole RDB files (<see cref="RdbFormat"/>, <see cref="RdbLoader"/>): our files round trip, redis-check-rdb and
/// redis-server 7.0 accept them and hold the same data, redis-server's own dump.rdb loads here key for key, and bad
/// input (flipped bytes, truncation, absurd lengths, opcodes we cannot honour) is refused with a named offset.
/// The tests that need redis-server or redis-check-rdb fail when they are not installed.
/// </summary>
public sealed class RdbFileTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[][] C(params object[] parts) =>
        parts.Select(p => p as byte[] ?? B(Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture)!)).ToArray();

    /// <summary>Keys of every type and encoding redis-server 7.0 writes, in databases 0, 1 and 5; run the same on
    /// redis-server and here. The stream "s:deleted" has deleted entries, which we do not keep (its DUMP differs).</summary>
    private static List<byte[][]> Workload()
    {
        var w = new List<byte[][]>();
        void Add(params object[] parts) => w.Add(C(parts));
        Add("SELECT", 0);
        Add("SET", "str", "hello");
        Add("SET", "int8", "100");
        Add("SET", "int16", "-129");
        Add("SET", "int32", "2147483647");
        Add("SET", "int64", "9223372036854775807"); // out of int32: stored raw
        Add("SET", "lead0", "007");
        Add("SET", "empty", "");
        Add("SET", "lzf", string.Concat(Enumerable.Repeat("compress me please ", 40)));
        Add("SET", "random", Convert.ToHexString(Enumerable.Range(0, 200).Select(i => (byte)(i * 37 % 251)).ToArray()));
        Add("SET", new byte[] { 0, 0xFF, (byte)'\r', (byte)'\n', 0x80 }, new byte[] { 1, 2, 0, 3 });
        Add("SET", "ttl:str", "soon", "PX", "500000");
        Add("RPUSH", "list:small", "a", "b", "1", "-2", "300000", "9223372036854775807", "");
        w.Add(C(["RPUSH", "list:big", .. Enumerable.Range(0, 3000).Select(i => (object)$"item-{i:D5}")]));
        w.Add(C(["RPUSH", "list:wide", .. Enumerable.Range(0, 12).Select(i => (object)new string((char)('a' + i), i % 3 == 0 ? 5000 : 40))]));
        Add("PEXPIRE", "list:big", "700000");
        Add("SADD", "set:int16", "1", "-5", "300", "32767");
        Add("SADD", "set:int32", "1", "100000", "-70000");
        Add("SADD", "set:int64", "1", "5000000000", "-9223372036854775808");
        Add("SADD", "set:strings", "apple", "banana", "cherry");
        w.Add(C(["SADD", "set:bigint", .. Enumerable.Range(0, 600).Select(i => (object)(i * 7))]));
        Add("ZADD", "zset:small", "1", "a", "2.5", "b", "-inf", "c", "+inf", "d", "0.1", "e");
        w.Add(C(["ZADD", "zset:big", .. Enumerable.Range(0, 200).SelectMany(i => new object[] { i * 0.5 - 20, $"member-{i}" }), "inf", "top", "-inf", "bottom"]));
        Add("PEXPIRE", "zset:small", "900000");
        Add("HSET", "hash:small", "f1", "v1", "f2", "2", "f3", "");
        w.Add(C(["HSET", "hash:big", .. Enumerable.Range(0, 600).SelectMany(i => new object[] { $"field-{i}", $"value-{i}" })]));
        Add("HSET", "hash:longvalue", "f", new string('x', 100));
        Add("XADD", "s:groups", "1-1", "name", "ada", "lang", "c#");
        Add("XADD", "s:groups", "2-1", "name", "bob", "lang", "rust");
        Add("XADD", "s:groups", "3-1", "other", "field");
        Add("XADD", "s:groups", "4-0", "name", "eve", "lang", "go");
        Add("XGROUP", "CREATE", "s:groups", "g1", "0");
        Add("XGROUP", "CREATE", "s:groups", "g2", "$");
        Add("XGROUP", "CREATECONSUMER", "s:groups", "g2", "idle-consumer");
        Add("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "s:groups", ">");
        Add("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS", "s:groups", ">");
        Add("XACK", "s:groups", "g1", "1-1");
        w.Add(C(["XADD", "s:many", "1-1", .. Enumerable.Range(0, 4).Select(i => (object)$"f{i}")]));
        for (int i = 2; i < 260; i++) Add("XADD", "s:many", $"{i}-0", "f0", i, "f1", i * 2);
        Add("XADD", "s:deleted", "1-1", "a", "1");
        Add("XADD", "s:deleted", "1-2", "a", "2");
        Add("XADD", "s:deleted", "1-3", "a", "3");
        Add("XDEL", "s:deleted", "1-2");
        // collections that shrank keep their big encoding in memory, but load back compact (as after DEBUG RELOAD)
        w.Add(C(["ZADD", "zset:shrunk", .. Enumerable.Range(0, 200).SelectMany(i => new object[] { i, $"m{i}" })]));
        Add("ZREMRANGEBYRANK", "zset:shrunk", "0", "189");
        w.Add(C(["SADD", "set:shrunk", .. Enumerable.Range(0, 600).Select(i => (object)i)]));
        w.Add(C(["SREM", "set:shrunk", .. Enumerable.Range(10, 590).Select(i => (object)i)]));
        Add("SADD", "set:was-strings", "a", "b", "1", "2");
        Add("SREM", "set:was-strings", "a", "b");
        w.Add(C(["HSET", "hash:shrunk", .. Enumerable.Range(0, 600).SelectMany(i => new object[] { $"f{i}", $"v{i}" })]));
        w.Add(C(["HDEL", "hash:shrunk", .. Enumerable.Range(10, 590).Select(i => (object)$"f{i}")]));
        // a list whose quicklist nodes come from its history (pushes at both ends, inserts, removals)
        w.Add(C(["RPUSH", "list:history", .. Enumerable.Range(0, 1500).Select(i => (object)$"r{i}")]));
        w.Add(C(["LPUSH", "list:history", .. Enumerable.Range(0, 1500).Select(i => (object)$"l{i}")]));
        Add("LINSERT", "list:history", "BEFORE", "r700", new string('z', 3000));
        Add("LREM", "list:history", "0", "l5");
        Add("LTRIM", "list:history", "10", "-10");
        Add("SELECT", 1);
        Add("SET", "str", "in db 1");
        Add("SET", new byte[] { 0xC0, 0xFE }, "binary key");
        Add("HSET", "hash:ttl", "a", "b");
        Add("PEXPIRE", "hash:ttl", "600000");
        Add("SELECT", 5);
        Add("RPUSH", "list", "x");
        Add("SADD", "set", "1");
        Add("SET", "ttl", "v", "EX", "1000");
        Add("SELECT", 0);
        return w;
    }

    /// <summary>Keys of <see cref="Workload"/> whose in-memory encoding is not the one a load gives them, and the
    /// encoding they load with.</summary>
    private static readonly Dictionary<string, string> ShrunkKeys = new()
    {
        ["zset:shrunk"] = "listpack",
        ["set:shrunk"] = "intset",
        ["set:was-strings"] = "intset",
        ["hash:shrunk"] = "listpack",
    };

    /// <summary>A harness whose virtual clock reads the real time, so TTLs mean the same to redis-server.</summary>
    private static CommandHarness NewHarness()
    {
        var h = new CommandHarness();
        h.Clock.Advance(DateTimeOffset.UtcNow - h.Clock.GetUtcNow());
        return h;
    }

    private static CommandHarness BuildHere()
    {
        var h = NewHarness();
        foreach (var command in Workload())
        {
            var reply = h.Execute(command);
            Assert.True(reply[0] != (byte)'-', $"{Encoding.UTF8.GetString(command[0])}: {Encoding.UTF8.GetString(reply)}");
        }
        return h;
    }

    /// <summary>Writes every database as a snapshot would: the writer is drained into the file every few keys and
    /// cleared, and the CRC runs over the pieces (0 when <paramref name="checksum"/> is off).</summary>
    private static byte[] WriteImage(RedisDatabase[] databases, bool compress = true, bool checksum = true)
    {
        var w = new RdbWriter { Compress = compress };
        var file = new MemoryStream();
        ulong crc = 0;
        void Drain()
        {
            crc = RdbCrc64.Compute(crc, w.Written);
            file.Write(w.Written);
            w.Clear();
        }
        RdbFormat.WriteHeader(w, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 1_234_567, aofBase: false);
        foreach (var db in databases)
        {
            if (db.Count == 0) continue;
            RdbFormat.WriteSelectDb(w, db.Index, db.Count, db.ExpiresCount);
            foreach (var e in db.Entries)
            {
                RdbFormat.WriteKeyValue(w, e);
                if (w.Size > 4096) Drain();
            }
        }
        RdbFormat.WriteEnd(w);
        Drain();
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(tail, checksum ? crc : 0);
        file.Write(tail);
        return file.ToArray();
    }

    private static List<RedisEntry> EntriesOf(RedisDatabase db)
    {
        var keys = new List<byte[]>();
        foreach (var e in db.Entries) keys.Add(e.Key.ToArray());
        return keys.Select(k => db.Find(k, LookupFlags.NoTouch)!).ToList();
    }

    private static RedisDatabase[] EmptyDatabases(int n = 16) =>
        Enumerable.Range(0, n).Select(i => new RedisDatabase(i, TimeProvider.System)).ToArray();

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static byte[] DumpOf(RedisEntry e, bool compress)
    {
        var w = new RdbWriter { Compress = compress };
        RdbFormat.WriteObject(w, e);
        return w.FinishDump();
    }

    // ------------------------------------------------------------------ our files, our loader

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void RoundTripKeepsEveryKeyPayloadAndTtl(bool compress, bool checksum)
    {
        using var h = BuildHere();
        var image = WriteImage(h.Server.Databases, compress, checksum);
        using var loaded = NewHarness();
        var result = RdbLoader.Load(image, loaded.Server.Databases, loaded.NowMs, verifyChecksum: true);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(image.Length, result.BytesUsed);
        Assert.Equal(0, result.ExpiredSkipped);
        Assert.False(result.AofBase);
        long keys = 0;
        for (int i = 0; i < h.Server.Databases.Length; i++)
        {
            var original = h.Server.Databases[i];
            var copy = loaded.Server.Databases[i];
            Assert.Equal(original.Count, copy.Count);
            Assert.Equal(original.ExpiresCount, copy.ExpiresCount);
            foreach (var e in original.Entries)
            {
                var c = copy.Find(e.Key, LookupFlags.NoTouch);
                Assert.True(c is not null, $"db {i}: key {Encoding.Latin1.GetString(e.Key)} missing");
                Assert.Equal(e.Type, c.Type);
                Assert.Equal(e.ExpireAtMs, c.ExpireAtMs);
                keys++;
                string name = Encoding.Latin1.GetString(e.Key);
                if (ShrunkKeys.TryGetValue(name, out var compact))
                {
                    Assert.Equal(compact, c.Encoding); // a shrunk collection loads compact, as in redis-server
                    Assert.NotEqual(compact, e.Encoding);
                    h.Run("SELECT", i.ToString());
                    loaded.Run("SELECT", i.ToString());
                    foreach (var read in ContentCommands(e.Type, e.Key.ToArray()))
                        Assert.Equal(Canonical(e.Type, h.Execute(read)), Canonical(e.Type, loaded.Execute(read)));
                    continue;
                }
                Assert.Equal(e.Encoding, c.Encoding);
                Assert.Equal(RdbFormat.Dump(e), RdbFormat.Dump(c));
            }
        }
        Assert.Equal(keys, result.KeysLoaded);
        Assert.True(keys > 30);
        // the compressible string really was compressed (or not)
        Assert.Equal(compress, image.AsSpan().IndexOf("compress me please compress me please"u8) < 0);
    }

    [Fact]
    public void WriterIsReusableAfterClear()
    {
        using var h = BuildHere();
        var first = WriteImage(h.Server.Databases);
        var w = new RdbWriter();
        var e = h.Db.Find("lzf"u8, LookupFlags.NoTouch)!;
        RdbFormat.WriteKeyValue(w, e);
        var once = w.Written.ToArray();
        w.Clear();
        Assert.Equal(0, w.Size);
        RdbFormat.WriteKeyValue(w, e);
        Assert.Equal(once, w.Written.ToArray());
        // ctime aside (it may tick), a second snapshot of the same data is the same file
        var second = WriteImage(h.Server.Databases);
        Assert.Equal(first.Length, second.Length);
    }

    [Fact]
    public void SnapshotOfSmallKeysAllocatesNothingPerKey()
    {
        using var h = NewHarness();
        for (int i = 0; i < 300; i++)
        {
            h.Run("SET", $"s{i}", $"compressible value compressible value {i}");
            h.Run("SET", $"n{i}", i.ToString());
            h.Run("HSET", $"h{i}", "field", $"value {i}", "n", i.ToString());
            h.Run("ZADD", $"z{i}", "1.5", "a", i.ToString(), "b");
            h.Run("RPUSH", $"l{i}", "x", i.ToString());
            h.Run("SADD", $"i{i}", "1", i.ToString(), "70000");
            h.Run("SADD", $"t{i}", "a", "b");
            h.Run("PEXPIRE", $"l{i}", "100000");
        }
        var w = new RdbWriter();
        void WriteAll()
        {
            w.Clear();
            foreach (var e in h.Db.Entries) RdbFormat.WriteKeyValue(w, e);
        }
        WriteAll(); // warm up: the writer's buffer, the per-thread LZF table and listpack builder, the JIT
        WriteAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        WriteAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4096, $"{allocated} bytes allocated writing {h.Db.Count} keys");
        Assert.True(w.Size > 300 * 7 * 8);
    }

    [Fact]
    public void TrailingBytesAfterTheCrcAreNotConsumed()
    {
        using var h = BuildHere();
        var image = WriteImage(h.Server.Databases);
        byte[] withTail = [.. image, .. "*1\r\n$4\r\nPING\r\n"u8];
        var result = RdbLoader.Load(withTail, EmptyDatabases(), Now, verifyChecksum: true);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(image.Length, result.BytesUsed);
    }

    // ------------------------------------------------------------------ bad input

    private static long TotalKeys(RedisDatabase[] dbs) => dbs.Sum(d => (long)d.Count);

    [Fact]
    public void FlippedByteIsRefusedNeverThrown()
    {
        using var h = BuildHere();
        var image = WriteImage(h.Server.Databases);
        AssertFlipsAreRefused(image, seed: 20261202, flips: 1000);
    }

    /// <summary>Flips one byte at seeded random offsets: with the CRC the image is always refused; without it the
    /// parser may miss a flip inside a value's bytes (or end early at a flipped EOF), but the load never throws and never stops half-way while
    /// reporting success (all or nothing).</summary>
    private static void AssertFlipsAreRefused(byte[] image, int seed, int flips)
    {
        var rng = new Random(seed);
        int acceptedUnchecked = 0;
        for (int i = 0; i < flips; i++)
        {
            int at = rng.Next(image.Length);
            var bad = (byte[])image.Clone();
            bad[at] ^= (byte)rng.Next(1, 256);
            var dbs = EmptyDatabases();
            var result = RdbLoader.Load(bad, dbs, Now, verifyChecksum: true);
            Assert.False(result.Ok, $"byte {at} flipped: accepted");
            Assert.NotNull(result.Error);
            Assert.DoesNotContain("internal error", result.Error);
            Assert.Equal(0, TotalKeys(dbs));

            dbs = EmptyDatabases();
            result = RdbLoader.Load(bad, dbs, Now, verifyChecksum: false);
            if (result.Error is { } error) Assert.DoesNotContain("internal error", error);
            if (result.Ok)
            {
                acceptedUnchecked++;
                // Without the CRC a flip may still parse: a flipped length can leave a collection empty (skipped, as
                // redis-server skips it) or make a value swallow the records after it, so the key count is not checked
                // against what was written (which flips do that depends on the image, whose hash-table element order
                // is per process); what loaded is all there.
                Assert.True(result.KeysLoaded + result.ExpiredSkipped + result.EmptySkipped > 0);
                Assert.Equal(result.KeysLoaded, TotalKeys(dbs));
                // A flip can put an EOF opcode (0xFF) where a record's type byte is read (the flipped byte itself, or a
                // data byte reached through a flipped length): the load then ends after that EOF and its 8 checksum
                // bytes, as redis-server's would, and the rest is a tail. It always ends on an EOF.
                Assert.InRange(result.BytesUsed, 10, image.Length);
                Assert.Equal(0xFF, bad[result.BytesUsed - 9]);
            }
            else
            {
                Assert.Equal(0, TotalKeys(dbs));
            }
        }
        Assert.InRange(acceptedUnchecked, 1, flips - 1); // both outcomes occurred: the parser's own checks ran
    }

    [Fact]
    public void TruncatedImageNamesTheOffset()
    {
        using var h = BuildHere();
        var image = WriteImage(h.Server.Databases);
        var rng = new Random(7);
        int[] cuts = [0, 5, 9, 10, image.Length - 9, image.Length - 8, image.Length - 1, .. Enumerable.Range(0, 150).Select(_ => rng.Next(image.Length))];
        foreach (int cut in cuts)
        {
            var dbs = EmptyDatabases();
            var result = RdbLoader.Load(image.AsSpan(0, cut), dbs, Now, verifyChecksum: true);
            Assert.False(result.Ok, $"cut at {cut}: accepted");
            Assert.StartsWith($"Unexpected end of RDB at offset {cut}", result.Error);
            Assert.Equal(0, TotalKeys(dbs));
        }
    }

    /// <summary>A file with one string key whose value is <paramref name="value"/> (already encoded).</summary>
    private static byte[] OneKeyImage(ReadOnlySpan<byte> value, out int keyAt)
    {
        var w = new RdbWriter();
        w.Bytes("REDIS0010"u8);
        RdbFormat.WriteSelectDb(w, 0, 1, 0);
        keyAt = w.Size;
        w.Byte(RdbSerializer.TypeString);
        w.String("k"u8);
        w.Bytes(value);
        return Finish(w);
    }

    private static byte[] Finish(RdbWriter w)
    {
        RdbFormat.WriteEnd(w);
        ulong crc = RdbCrc64.Compute(0, w.Written);
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(tail, crc);
        w.Bytes(tail);
        return w.Written.ToArray();
    }

    [Fact]
    public void HugeLengthsAreRefusedBeforeAllocating()
    {
        // LZF: 10 compressed bytes cannot expand to 2 GB
        var lzf = new RdbWriter();
        lzf.Byte(0xC3);
        lzf.Length(10);
        lzf.Length(0x7FFF_FFF0);
        lzf.Bytes(new byte[10]);
        var lzfImage = OneKeyImage(lzf.Written, out int keyAt);
        // raw: a 2 GB string in a small file
        var raw = new RdbWriter();
        raw.Length(0x7FFF_FFF0);
        raw.Bytes("abc"u8);
        var rawImage = OneKeyImage(raw.Written, out _);
        // a list claiming 2^31-1 elements
        var list = new RdbWriter();
        list.Bytes("REDIS0010"u8);
        list.Byte(RdbSerializer.TypeList);
        list.String("l"u8);
        list.Length(int.MaxValue);
        list.String("x"u8);
        var listImage = Finish(list);

        RdbLoader.Load(lzfImage, EmptyDatabases(), Now, true); // warm up (JIT)
        RdbLoader.Load(rawImage, EmptyDatabases(), Now, true);
        RdbLoader.Load(listImage, EmptyDatabases(), Now, true);
        var dbs = EmptyDatabases();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var lzfResult = RdbLoader.Load(lzfImage, dbs, Now, true);
        var rawResult = RdbLoader.Load(rawImage, dbs, Now, true);
        var listResult = RdbLoader.Load(listImage, dbs, Now, true);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.InRange(allocated, 0, 1 << 20);
        Assert.False(lzfResult.Ok);
        Assert.Equal($"Bad RDB: invalid value of RDB type 0 for the key at offset {keyAt}", lzfResult.Error);
        Assert.False(rawResult.Ok);
        Assert.StartsWith($"Unexpected end of RDB at offset {rawImage.Length}", rawResult.Error);
        Assert.False(listResult.Ok);
        Assert.StartsWith($"Unexpected end of RDB at offset {listImage.Length}", listResult.Error);

        // RESTORE goes through the same reader
        using var h = NewHarness();
        var dump = new RdbWriter();
        dump.Byte(RdbSerializer.TypeString);
        dump.Bytes(lzf.Written);
        var payload = dump.FinishDump();
        byte[][] restore = [B("RESTORE"), B("k"), B("0"), payload];
        h.Execute(restore);
        before = GC.GetAllocatedBytesForCurrentThread();
        var reply = h.Execute(restore);
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("-ERR Bad data format\r\n", Encoding.ASCII.GetString(reply));
        Assert.InRange(allocated, 0, 1 << 20);
    }

    private static RdbWriter Header(int version = 10)
    {
        var w = new RdbWriter();
        w.Bytes(Encoding.ASCII.GetBytes($"REDIS{version:D4}"));
        return w;
    }

    private static void StringKey(RdbWriter w, string key, string value)
    {
        w.Byte(RdbSerializer.TypeString);
        w.String(B(key));
        w.String(B(value));
    }

    private static void Int64(RdbWriter w, long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        w.Bytes(b);
    }

    [Fact]
    public void OpcodesRedisWritesAreHonoured()
    {
        long now = Now;
        var w = Header();
        foreach (var (k, v) in new[] { ("redis-ver", "7.0.15"), ("aof-base", "1"), ("lua", "return 1"), ("repl-id", "abc") })
        {
            w.Byte(RdbFormat.OpAux);
            w.String(B(k));
            w.String(B(v));
        }
        RdbFormat.WriteSelectDb(w, 0, 6, 4);
        w.Byte(RdbFormat.OpExpireTime); // seconds, as RDB versions before 3 wrote it
        int future = (int)(now / 1000) + 1000;
        w.Bytes(BitConverter.GetBytes(future));
        StringKey(w, "seconds", "v");
        w.Byte(RdbFormat.OpExpireTime);
        w.Bytes(BitConverter.GetBytes((int)(now / 1000) - 10));
        StringKey(w, "old-seconds", "v");
        w.Byte(RdbFormat.OpExpireTimeMs);
        Int64(w, now - 1);
        StringKey(w, "old-ms", "v");
        w.Byte(RdbFormat.OpExpireTimeMs);
        Int64(w, now + 50_000);
        w.Byte(RdbFormat.OpIdle);
        w.Length(100);
        StringKey(w, "idle", "v");
        w.Byte(RdbFormat.OpFreq);
        w.Byte(5);
        StringKey(w, "freq", "v");
        w.Byte(RdbSerializer.TypeList); // an empty collection: skipped, as redis-server does
        w.String("empty-list"u8);
        w.Length(0);
        w.Byte(RdbFormat.OpSelectDb);
        w.Length(15);
        StringKey(w, "db15", "v");
        var image = Finish(w);

        using var h = NewHarness();
        var result = RdbLoader.Load(image, h.Server.Databases, now, verifyChecksum: true);
        Assert.True(result.Ok, result.Error);
        Assert.True(result.AofBase);
        Assert.Equal(4, result.KeysLoaded);
        Assert.Equal(2, result.ExpiredSkipped);
        Assert.Equal(image.Length, result.BytesUsed);
        var db0 = h.Server.Databases[0];
        Assert.Equal(future * 1000L, db0.Find("seconds"u8, LookupFlags.NoTouch)!.ExpireAtMs);
        Assert.Equal(now + 50_000, db0.Find("idle"u8, LookupFlags.NoTouch)!.ExpireAtMs);
        Assert.Equal(now - 100_000, db0.Find("idle"u8, LookupFlags.NoTouch)!.LastAccessMs);
        Assert.Equal(-1, db0.Find("freq"u8, LookupFlags.NoTouch)!.ExpireAtMs);
        Assert.Null(db0.Find("old-ms"u8, LookupFlags.NoTouch));
        Assert.Null(db0.Find("empty-list"u8, LookupFlags.NoTouch));
        Assert.Equal(3, db0.Count);
        Assert.Equal(2, db0.ExpiresCount);
        Assert.NotNull(h.Server.Databases[15].Find("db15"u8, LookupFlags.NoTouch));
    }

    [Fact]
    public void WhatWeCannotHonourIsRefusedByName()
    {
        string Refused(Action<RdbWriter> body, int databases = 16)
        {
            var w = Header();
            RdbFormat.WriteSelectDb(w, 0, 1, 0);
            StringKey(w, "first", "loaded before the problem");
            body(w);
            var dbs = EmptyDatabases(databases);
            var result = RdbLoader.Load(Finish(w), dbs, Now, verifyChecksum: true);
            Assert.False(result.Ok);
            Assert.Equal(0, TotalKeys(dbs)); // all or nothing
            return result.Error!;
        }
        int at = 0;
        Assert.Equal($"Bad RDB: SELECTDB 16 at offset {OffsetAfterFirstKey()}: the file was created with a server configured " +
                     "to handle more than 16 databases", Refused(w =>
            {
                w.Byte(RdbFormat.OpSelectDb);
                w.Length(16);
            }));
        Assert.Contains("duplicate key 'first'", Refused(w => StringKey(w, "first", "again")));
        Assert.Contains("MODULE_AUX", Refused(w => w.Byte(RdbFormat.OpModuleAux)));
        Assert.Contains("FUNCTION2", Refused(w => w.Byte(RdbFormat.OpFunction2)));
        Assert.Contains("(FUNCTION,", Refused(w => w.Byte(RdbFormat.OpFunction)));
        Assert.Contains("module value (RDB type 7)", Refused(w => w.Byte(RdbFormat.TypeModule2)));
        Assert.Contains("module value (RDB type 6)", Refused(w => w.Byte(RdbFormat.TypeModulePreGa)));
        Assert.Equal($"Bad RDB: unknown opcode 0x42 at offset {OffsetAfterFirstKey()}", Refused(w =>
        {
            at = w.Size;
            w.Byte(0x42);
        }));
        Assert.Equal(OffsetAfterFirstKey(), at);
        Assert.Contains("invalid value of RDB type 2", Refused(w =>
        {
            w.Byte(RdbSerializer.TypeSet); // a set with a duplicate member
            w.String("set"u8);
            w.Length(2);
            w.String("m"u8);
            w.String("m"u8);
        }));

        var newer = Header(11);
        var tooNew = RdbLoader.Load(Finish(newer), EmptyDatabases(), Now, true);
        Assert.Equal("Can't handle RDB format version 11", tooNew.Error);
        Assert.StartsWith("Bad RDB: wrong signature", RdbLoader.Load("REDIX0010\xff"u8, EmptyDatabases(), Now, true).Error);

        var good = Header();
        StringKey(good, "k", "v");
        var image = Finish(good);
        image[^1] ^= 1;
        Assert.Matches("^RDB checksum mismatch \\(file 0x[0-9a-f]{16}, computed 0x[0-9a-f]{16}\\)$",
            RdbLoader.Load(image, EmptyDatabases(), Now, true).Error);
        Assert.True(RdbLoader.Load(image, EmptyDatabases(), Now, verifyChecksum: false).Ok);
        image.AsSpan(^8).Clear(); // rdbchecksum no
        Assert.True(RdbLoader.Load(image, EmptyDatabases(), Now, verifyChecksum: true).Ok);
    }

    private static int OffsetAfterFirstKey()
    {
        var w = Header();
        RdbFormat.WriteSelectDb(w, 0, 1, 0);
        StringKey(w, "first", "loaded before the problem");
        return w.Size;
    }

    [Fact]
    public void OldVersionsAndEncodingsLoad()
    {
        // RDB 4 (Redis 2.6 era): no CRC after EOF; LIST, SET, ZSET (text scores), HASH and a ziplist list
        var w = Header(4);
        w.Byte(RdbFormat.OpSelectDb);
        w.Length(0);
        w.Byte(RdbSerializer.TypeList);
        w.String("list"u8);
        w.Length(2);
        w.String("a"u8);
        w.String("12"u8);
        w.Byte(RdbSerializer.TypeSet);
        w.String("set"u8);
        w.Length(2);
        w.String("x"u8);
        w.String("y"u8);
        w.Byte(RdbSerializer.TypeZSet);
        w.String("zset"u8);
        w.Length(3);
        w.String("low"u8);
        w.Byte(255); // -inf
        w.String("mid"u8);
        w.Byte(3);
        w.Bytes("1.5"u8);
        w.String("high"u8);
        w.Byte(254); // +inf
        w.Byte(RdbSerializer.TypeHash);
        w.String("hash"u8);
        w.Length(1);
        w.String("f"u8);
        w.String("v"u8);
        // a ziplist of "a", "bc", 7: zlbytes zltail zllen, entries (prevlen, encoding, data), 0xFF
        byte[] ziplist = [21, 0, 0, 0, 17, 0, 0, 0, 3, 0, 0, 0x01, (byte)'a', 3, 0x02, (byte)'b', (byte)'c', 4, 0xF8, 0xFF];
        ziplist[0] = (byte)ziplist.Length;
        w.Byte(RdbSerializer.TypeListZiplist);
        w.String("ziplist"u8);
        w.String(ziplist);
        RdbFormat.WriteEnd(w);
        byte[] image = [.. w.Written, .. "trailing"u8];

        using var h = NewHarness();
        var result = RdbLoader.Load(image, h.Server.Databases, h.NowMs, verifyChecksum: true);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(w.Size, result.BytesUsed);
        Assert.Equal(5, result.KeysLoaded);
        Assert.Equal("*2\r\n$1\r\na\r\n$2\r\n12\r\n", h.Run("LRANGE", "list", "0", "-1"));
        Assert.Equal("*2\r\n$1\r\nx\r\n$1\r\ny\r\n", h.Run("SORT", "set", "ALPHA"));
        Assert.Equal("*6\r\n$3\r\nlow\r\n$4\r\n-inf\r\n$3\r\nmid\r\n$3\r\n1.5\r\n$4\r\nhigh\r\n$3\r\ninf\r\n",
            h.Run("ZRANGE", "zset", "0", "-1", "WITHSCORES"));
        Assert.Equal("*2\r\n$1\r\nf\r\n$1\r\nv\r\n", h.Run("HGETALL", "hash"));
        Assert.Equal("*3\r\n$1\r\na\r\n$2\r\nbc\r\n$1\r\n7\r\n", h.Run("LRANGE", "ziplist", "0", "-1"));
        // every version up to 10 is read; 0 is not a version
        Assert.Equal("Can't handle RDB format version 0", RdbLoader.Load(Finish(Header(0)), EmptyDatabases(), Now, true).Error);
        for (int v = 1; v <= 10; v++)
            Assert.True(RdbLoader.Load(v >= 5 ? Finish(Header(v)) : [.. Header(v).Written, 0xFF], EmptyDatabases(), Now, true).Ok, $"version {v}");
    }

    // ------------------------------------------------------------------ redis tools read our files

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void RedisCheckRdbAcceptsOurFiles(bool compress, bool checksum)
    {
        using var h = BuildHere();
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "dump.rdb");
            File.WriteAllBytes(path, WriteImage(h.Server.Databases, compress, checksum));
            var tool = FindTool("redis-check-rdb");
            var psi = new ProcessStartInfo(tool, $"\"{path}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(20_000), "redis-check-rdb did not finish");
            output += stderr.Result;
            Assert.True(p.ExitCode == 0, output);
            Assert.Contains("RDB looks OK", output);
            Assert.Contains($"[info] {h.Server.Databases.Sum(d => d.Count)} keys read", output);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RedisServerLoadsOurFile(bool compress)
    {
        using var h = BuildHere();
        var dir = TempDir();
        try
        {
            var image = WriteImage(h.Server.Databases, compress);
            File.WriteAllBytes(Path.Combine(dir, "dump.rdb"), image);
            using var redis = StartRedis($"--dir {dir} --dbfilename dump.rdb --rdbcompression {(compress ? "yes" : "no")}");
            // what redis-server holds is what loading the file here gives (RoundTrip... shows that is our data)
            using var loaded = NewHarness();
            var result = RdbLoader.Load(image, loaded.Server.Databases, loaded.NowMs, verifyChecksum: true);
            Assert.True(result.Ok, result.Error);
            CompareWithRedis(loaded, redis, compress, mayDiffer: []);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    // ------------------------------------------------------------------ redis-server's files, our loader

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void OurLoaderReadsRedisServerSave(bool compress, bool checksum)
    {
        var dir = TempDir();
        try
        {
            using var redis = StartRedis($"--dir {dir} --dbfilename dump.rdb --rdbcompression {(compress ? "yes" : "no")} " +
                                         $"--rdbchecksum {(checksum ? "yes" : "no")} --enable-debug-command yes");
            foreach (var command in Workload())
            {
                var reply = redis.Execute(command);
                Assert.True(reply[0] != (byte)'-', Encoding.UTF8.GetString(reply));
            }
            Assert.Equal("+OK\r\n", redis.Run("SAVE"));
            var image = File.ReadAllBytes(Path.Combine(dir, "dump.rdb"));
            // redis-server loads that same file again, so both sides hold what loading it gives (collections that
            // shrank become compact, as they do here)
            Assert.Equal("+OK\r\n", redis.Run("DEBUG", "RELOAD", "NOSAVE"));
            if (!checksum) Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(^8)));

            using var h = NewHarness();
            var result = RdbLoader.Load(image, h.Server.Databases, h.NowMs, verifyChecksum: true);
            Assert.True(result.Ok, result.Error);
            Assert.Equal(image.Length, result.BytesUsed);
            long total = 0;
            foreach (int db in new[] { 0, 1, 5 })
            {
                redis.Run("SELECT", db.ToString());
                total += long.Parse(redis.Run("DBSIZE")[1..^2]);
            }
            Assert.Equal(total, result.KeysLoaded);
            if (checksum) AssertFlipsAreRefused(image, seed: 99, flips: 60);
            // we keep no deleted stream entries, and our lists have no nodes to keep (they are split again when
            // written), so those two DUMPs legitimately differ
            CompareWithRedis(h, redis, compress, mayDiffer: ["s:deleted", "list:history"]);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Every key of every database here against redis-server: same key set, TYPE, OBJECT ENCODING, PTTL
    /// (±2 s), and the same DUMP payload. Without compression the payloads must be byte-identical (but for the keys in
    /// <paramref name="mayDiffer"/> and hash-table sets and hashes, whose order redis-server seeds per process); with it the LZF bytes may legitimately differ (our compressor is not liblzf), so a
    /// differing payload falls back to comparing contents through read commands.</summary>
    private static void CompareWithRedis(CommandHarness h, ReferenceRedis redis, bool compress, string[] mayDiffer)
    {
        var problems = new List<string>();
        int exact = 0, compared = 0, loose = 0;
        foreach (var db in h.Server.Databases)
        {
            redis.Run("SELECT", db.Index.ToString());
            h.Run("SELECT", db.Index.ToString());
            Assert.Equal($":{db.Count}\r\n", redis.Run("DBSIZE"));
            foreach (var e in EntriesOf(db))
            {
                string name = Encoding.Latin1.GetString(e.Key);
                compared++;
                var theirType = redis.Execute(B("TYPE"), e.Key);
                Assert.Equal($"+{e.Type.Name()}\r\n", Encoding.Latin1.GetString(theirType));
                Assert.Equal(Encoding.Latin1.GetString(h.Execute(B("OBJECT"), B("ENCODING"), e.Key)),
                    Encoding.Latin1.GetString(redis.Execute(B("OBJECT"), B("ENCODING"), e.Key)));
                long pttl = long.Parse(Encoding.ASCII.GetString(redis.Execute(B("PTTL"), e.Key))[1..^2]);
                if (e.ExpireAtMs < 0) Assert.Equal(-1, pttl);
                else Assert.InRange(e.ExpireAtMs - (Now + pttl), -2000, 2000);
                var theirs = BulkPayload(redis.Execute(B("DUMP"), e.Key));
                var ours = DumpOf(e, compress);
                if (ours.AsSpan().SequenceEqual(theirs))
                {
                    exact++;
                }
                else if (e.Type is RedisType.Set or RedisType.Hash && e.Encoding == "hashtable")
                {
                    loose++; // redis-server's dict iterates in an order seeded per process: contents compared below
                }
                else if (!compress && !mayDiffer.Contains(name))
                {
                    problems.Add($"db {db.Index} {name}: DUMP differs\n  redis: {Convert.ToHexString(theirs)}\n  ours:  {Convert.ToHexString(ours)}");
                }
                foreach (var read in ContentCommands(e.Type, e.Key.ToArray()))
                {
                    string a = Canonical(e.Type, h.Execute(read));
                    string b = Canonical(e.Type, redis.Execute(read));
                    if (a != b) problems.Add($"db {db.Index} {name}: {Encoding.UTF8.GetString(read[0])} differs\n  redis: {b}\n  ours:  {a}");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(compared > 30, $"only {compared} keys compared");
        // even with compression most payloads carry nothing compressible and must match byte for byte
        Assert.True(exact >= compared - loose - (compress ? 12 : mayDiffer.Length), $"{exact} of {compared} DUMP payloads identical");
    }

    private static IEnumerable<byte[][]> ContentCommands(RedisType type, byte[] key) => type switch
    {
        RedisType.String => [[B("GET"), key]],
        RedisType.List => [[B("LRANGE"), key, B("0"), B("-1")]],
        RedisType.Set => [[B("SMEMBERS"), key]],
        RedisType.ZSet => [[B("ZRANGE"), key, B("0"), B("-1"), B("WITHSCORES")]],
        RedisType.Hash => [[B("HGETALL"), key]],
        RedisType.Stream =>
        [
            [B("XRANGE"), key, B("-"), B("+")],
            [B("XINFO"), B("GROUPS"), key],
            [B("XPENDING"), key, B("g1")],
        ],
        _ => [],
    };

    /// <summary>A reply as text; for sets and hashes (unordered) the elements or field/value pairs sorted.</summary>
    private static string Canonical(RedisType type, byte[] reply)
    {
        string text = Encoding.Latin1.GetString(reply);
        if (type is not (RedisType.Set or RedisType.Hash)) return text;
        var items = ParseBulkArray(reply);
        if (type == RedisType.Set) return string.Join("|", items.Order(StringComparer.Ordinal));
        var pairs = new List<string>();
        for (int i = 0; i + 1 < items.Count; i += 2) pairs.Add(items[i] + "=" + items[i + 1]);
        return string.Join("|", pairs.Order(StringComparer.Ordinal));
    }

    private static List<string> ParseBulkArray(byte[] reply)
    {
        var items = new List<string>();
        string text = Encoding.Latin1.GetString(reply);
        Assert.StartsWith("*", text);
        int p = text.IndexOf("\r\n", StringComparison.Ordinal) + 2;
        int n = int.Parse(text[1..(p - 2)]);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal('$', text[p]);
            int end = text.IndexOf("\r\n", p, StringComparison.Ordinal);
            int len = int.Parse(text[(p + 1)..end]);
            items.Add(text.Substring(end + 2, len));
            p = end + 2 + len + 2;
        }
        return items;
    }

    private static byte[] BulkPayload(byte[] reply)
    {
        Assert.Equal((byte)'$', reply[0]);
        int crlf = System.Array.IndexOf(reply, (byte)'\r');
        int n = int.Parse(Encoding.ASCII.GetString(reply, 1, crlf - 1));
        return reply.AsSpan(crlf + 2, n).ToArray();
    }

    private static ReferenceRedis StartRedis(string arguments) => ReferenceRedis.TryStart(arguments);

    private static string FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
        ?? throw new Xunit.Sdk.XunitException($"{name} is not installed (tests/run.sh installs it)");

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rdbtest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
