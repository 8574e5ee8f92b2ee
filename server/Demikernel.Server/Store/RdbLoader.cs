using System.Buffers.Binary;
using System.Text;

namespace Demikernel.Server.Store;

/// <summary>The outcome of <see cref="RdbLoader.Load"/>. <paramref name="BytesUsed"/> counts the RDB's bytes including
/// its CRC (an AOF base file may continue with commands after them); <paramref name="AofBase"/> is the "aof-base" AUX
/// field.</summary>
internal readonly record struct RdbLoadResult(bool Ok, string? Error, long BytesUsed, long KeysLoaded, long ExpiredSkipped, bool AofBase,
    long EmptySkipped)
{
    /// <summary>The "repl-stream-db" AUX field (the database the replication stream had selected when the image was
    /// made), or -1.</summary>
    public int ReplStreamDb { get; init; } = -1;
}

/// <summary>
/// The file layer's reader: a whole RDB image (versions 1 to 10) into the databases, as redis-server 7.0 loads one
/// at startup (rdb.c rdbLoadRio) for the value encodings <see cref="RdbSerializer.TryLoadValue"/> decodes.
/// <code>
///   "REDISvvvv"  then opcodes until EOF:
///     0xFA AUX key value        redis-ver, ctime...; "aof-base" is reported, the rest ignored
///     0xFB RESIZEDB keys exp    a size hint, ignored
///     0xFE SELECTDB n           refused when n is beyond the configured databases
///     0xFC EXPIRETIME_MS ms8    0xFD EXPIRETIME s4      the next key's expiry (LE)
///     0xF8 IDLE len             0xF9 FREQ byte          the next key's LRU idle time / LFU counter
///     0xF5 FUNCTION2 code       a function library, loaded as FUNCTION LOAD does (through the caller's callback)
///     0xF7 MODULE_AUX, 0xF6 FUNCTION (7.0 RC), value types 6/7 (modules): refused, named
///     type key value            a key; skipped (and counted) when its expiry has passed, refused when a duplicate,
///                               skipped when it is an empty collection (as redis-server does)
///     0xFF EOF                  then (version 5+) the CRC64 of everything before it, checked unless 0
/// </code>
/// Nothing is allocated for a length that exceeds the rest of the input or an LZF size its compressed data cannot
/// produce. Loading is all or nothing: on an error the databases are emptied again.
/// </summary>
internal static class RdbLoader
{
    /// <summary>Loads an RDB image into the databases (which must be empty). Never throws on bad input.</summary>
    /// <param name="loadFunction">Takes a FUNCTION2 library's code (FUNCTION LOAD's argument) and returns null or an
    /// error text, which fails the load; without it such a file is refused.</param>
    /// <param name="replaceDuplicates">A key already in the database is replaced by the file's (DEBUG RELOAD MERGE,
    /// redis's RDBFLAGS_ALLOW_DUP) instead of failing the load.</param>
    /// <param name="progress">Told the bytes consumed before each item; false stops the load (the server is shutting
    /// down while loading at start).</param>
    /// <param name="usedMemory">Told the file's used-mem AUX field when it is read (INFO's loading_rdb_used_mem).</param>
    public static RdbLoadResult Load(ReadOnlySpan<byte> image, RedisDatabase[] databases, long nowMs, bool verifyChecksum,
        Func<byte[], string?>? loadFunction = null, bool replaceDuplicates = false, Func<long, bool>? progress = null,
        Action<long>? usedMemory = null)
    {
        var state = new LoadState { LoadFunction = loadFunction, ReplaceDuplicates = replaceDuplicates, Progress = progress, UsedMemory = usedMemory };
        RdbLoadResult result;
        try
        {
            result = LoadCore(image, databases, nowMs, verifyChecksum, state);
        }
        catch (Exception ex)
        {
            // Not expected on any input; reported rather than thrown so a bad file can never take the server down.
            result = Fail(state, $"Bad RDB: internal error ({ex.GetType().Name}: {ex.Message}) loading the item at offset {state.At}");
        }
        if (!result.Ok)
        {
            foreach (var db in databases) db.Clear();
        }
        return result;
    }

    private sealed class LoadState
    {
        public int At;
        public long Keys;
        public long Expired;
        public long Empty;
        public bool AofBase;
        public int ReplStreamDb = -1;
        public Func<byte[], string?>? LoadFunction;
        public bool ReplaceDuplicates;
        public Func<long, bool>? Progress;
        public Action<long>? UsedMemory;
    }

    private static RdbLoadResult Fail(LoadState s, string error) => new(false, error, 0, s.Keys, s.Expired, s.AofBase, s.Empty);

    private static RdbLoadResult LoadCore(ReadOnlySpan<byte> image, RedisDatabase[] databases, long nowMs, bool verifyChecksum,
        LoadState s)
    {
        if (image.Length < 9) return Fail(s, $"Unexpected end of RDB at offset {image.Length} (the header is 9 bytes)");
        if (!image[..5].SequenceEqual("REDIS"u8)) return Fail(s, "Bad RDB: wrong signature (not an RDB file)");
        int version = 0;
        foreach (byte digit in image[5..9])
        {
            if (digit is < (byte)'0' or > (byte)'9') return Fail(s, "Bad RDB: the version after REDIS is not 4 digits");
            version = version * 10 + (digit - '0');
        }
        if (version is < 1 or > RdbFormat.Version) return Fail(s, $"Can't handle RDB format version {version}");

        var r = new RdbReader(image);
        r.TryBytes(9, out _);
        var db = databases.Length > 0 ? databases[0] : null;
        long expireAt = -1, idle = -1;
        int freq = -1;
        while (true)
        {
            int at = s.At = r.Position;
            if (s.Progress is { } progress && !progress(at)) return Fail(s, "loading stopped: the server is shutting down");
            if (!r.TryByte(out byte op)) return Truncated(s, image, at, "an opcode");
            switch (op)
            {
                case RdbFormat.OpExpireTime:
                {
                    if (!r.TryBytes(4, out var t)) return Truncated(s, image, at, "EXPIRETIME");
                    expireAt = BinaryPrimitives.ReadInt32LittleEndian(t) * 1000L;
                    continue;
                }
                case RdbFormat.OpExpireTimeMs:
                {
                    if (!r.TryBytes(8, out var t)) return Truncated(s, image, at, "EXPIRETIME_MS");
                    expireAt = BinaryPrimitives.ReadInt64LittleEndian(t);
                    continue;
                }
                case RdbFormat.OpFreq:
                    if (!r.TryByte(out byte f)) return Truncated(s, image, at, "FREQ");
                    freq = f;
                    continue;
                case RdbFormat.OpIdle:
                {
                    if (!r.TryLength(out ulong seconds, out bool encoded))
                        return r.RanOut ? Truncated(s, image, at, "IDLE") : Fail(s, $"Bad RDB: invalid IDLE at offset {at}");
                    if (encoded) return Fail(s, $"Bad RDB: invalid IDLE at offset {at}");
                    idle = (long)Math.Min(seconds, (ulong)(long.MaxValue / 1000));
                    continue;
                }
                case RdbFormat.OpEof:
                    return Finish(s, image, ref r, version, verifyChecksum);
                case RdbFormat.OpSelectDb:
                {
                    if (!r.TryLength(out ulong n, out bool encoded))
                        return r.RanOut ? Truncated(s, image, at, "SELECTDB") : Fail(s, $"Bad RDB: invalid SELECTDB at offset {at}");
                    if (encoded) return Fail(s, $"Bad RDB: invalid SELECTDB at offset {at}");
                    if (n >= (ulong)databases.Length)
                        return Fail(s, $"Bad RDB: SELECTDB {n} at offset {at}: the file was created with a server configured " +
                                       $"to handle more than {databases.Length} databases");
                    db = databases[(int)n];
                    continue;
                }
                case RdbFormat.OpResizeDb:
                {
                    if (!r.TryLength(out _, out bool e1) || !r.TryLength(out _, out bool e2) || e1 || e2)
                        return r.RanOut ? Truncated(s, image, at, "RESIZEDB") : Fail(s, $"Bad RDB: invalid RESIZEDB at offset {at}");
                    continue;
                }
                case RdbFormat.OpAux:
                {
                    if (!r.TryString(out var key) || !r.TryString(out var value))
                        return r.RanOut ? Truncated(s, image, at, "an AUX field") : Fail(s, $"Bad RDB: invalid AUX field at offset {at}");
                    if (key.AsSpan().SequenceEqual("aof-base"u8))
                        s.AofBase = Demikernel.Resp.RedisNumbers.TryParseInt64(value, out long flag) && flag != 0;
                    else if (key.AsSpan().SequenceEqual("repl-stream-db"u8) && Demikernel.Resp.RedisNumbers.TryParseInt64(value, out long streamDb))
                        s.ReplStreamDb = (int)streamDb;
                    else if (key.AsSpan().SequenceEqual("used-mem"u8) && s.UsedMemory is { } report && Demikernel.Resp.RedisNumbers.TryParseInt64(value, out long usedMem))
                        report(usedMem);
                    continue;
                }
                case RdbFormat.OpModuleAux:
                    return Fail(s, $"Bad RDB: module auxiliary data (MODULE_AUX, opcode 0xF7) at offset {at}: modules are not supported");
                case RdbFormat.OpFunction:
                    return Fail(s, $"Bad RDB: a function library (FUNCTION, opcode 0xF6) at offset {at}: functions are not supported");
                case RdbFormat.OpFunction2:
                {
                    if (s.LoadFunction is null)
                        return Fail(s, $"Bad RDB: a function library (FUNCTION2, opcode 0xF5) at offset {at}: functions are not supported here");
                    if (!r.TryString(out var code))
                        return r.RanOut ? Truncated(s, image, at, "a function library") : Fail(s, $"Bad RDB: invalid function library at offset {at}");
                    if (s.LoadFunction(code) is { } error) return Fail(s, $"Failed loading library, {error}");
                    continue;
                }
            }

            if (op is RdbFormat.TypeModulePreGa or RdbFormat.TypeModule2)
                return Fail(s, $"Bad RDB: a module value (RDB type {op}) at offset {at}: modules are not supported");
            if (!RdbSerializer.IsValueType(op)) return Fail(s, $"Bad RDB: unknown opcode 0x{op:X2} at offset {at}");
            if (db is null) return Fail(s, $"Bad RDB: a key at offset {at} but no database is configured");
            if (!r.TryString(out var keyBytes))
                return r.RanOut ? Truncated(s, image, at, "a key") : Fail(s, $"Bad RDB: invalid key at offset {at}");
            if (!RdbSerializer.TryLoadValue(ref r, op, out var v))
            {
                return r.RanOut
                    ? Truncated(s, image, at, "the value of a key")
                    : Fail(s, $"Bad RDB: invalid value of RDB type {op} for the key at offset {at}");
            }
            if (v.IsEmptyCollection)
            {
                s.Empty++;
                expireAt = idle = -1;
                continue; // redis-server skips empty keys too (rdbLoadObject's "empty key")
            }
            RedisObject? obj = null;
            if (v.Type != RedisType.String && (obj = v.CreateObject()) is null)
                return Fail(s, $"Bad RDB: invalid value of RDB type {op} for the key at offset {at} (duplicate members)");

            if (expireAt != -1 && expireAt < nowMs)
            {
                s.Expired++; // as a master loading does: a key whose TTL has passed is not created
            }
            else
            {
                bool added = obj is null ? db.TryAddLoaded(keyBytes, v.String, expireAt) : db.TryAddLoaded(keyBytes, obj, default, expireAt);
                if (!added && s.ReplaceDuplicates && db.FindStoredSlot(keyBytes) is >= 0 and var old)
                {
                    db.Delete(old, KeyEvent.None); // replaced at once: no "del" notified
                    added = obj is null ? db.TryAddLoaded(keyBytes, v.String, expireAt) : db.TryAddLoaded(keyBytes, obj, default, expireAt);
                }
                if (!added)
                    return Fail(s, $"Bad RDB: duplicate key '{Printable(keyBytes)}' at offset {at} in database {db.Index}");
                if (idle >= 0 || freq >= 0) db.SetAccess(keyBytes, idle, freq, nowMs);
                s.Keys++;
            }
            expireAt = -1;
            idle = -1;
            freq = -1;
        }
    }

    /// <summary>After EOF: the CRC64 (version 5+), checked unless it is 0 (rdbchecksum no) or checking is off.</summary>
    private static RdbLoadResult Finish(LoadState s, ReadOnlySpan<byte> image, ref RdbReader r, int version, bool verifyChecksum)
    {
        int eofAt = r.Position - 1;
        if (version >= 5)
        {
            if (!r.TryBytes(8, out var stored)) return Truncated(s, image, eofAt, "the checksum after EOF");
            ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(stored);
            if (verifyChecksum && expected != 0)
            {
                ulong computed = RdbCrc64.Compute(0, image[..(eofAt + 1)]);
                if (computed != expected)
                    return Fail(s, $"RDB checksum mismatch (file 0x{expected:x16}, computed 0x{computed:x16})");
            }
        }
        return new RdbLoadResult(true, null, r.Position, s.Keys, s.Expired, s.AofBase, s.Empty) { ReplStreamDb = s.ReplStreamDb };
    }

    private static RdbLoadResult Truncated(LoadState s, ReadOnlySpan<byte> image, int at, string what) =>
        Fail(s, $"Unexpected end of RDB at offset {image.Length} (reading {what} at offset {at})");

    private static string Printable(byte[] key)
    {
        var sb = new StringBuilder();
        foreach (byte b in key.AsSpan(0, Math.Min(key.Length, 64)))
            sb.Append(b is >= 0x20 and < 0x7F and not (byte)'\\' ? (char)b : $"\\x{b:x2}");
        if (key.Length > 64) sb.Append("...");
        return sb.ToString();
    }
}
