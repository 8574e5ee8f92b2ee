using Demikernel.Resp;

namespace Demikernel.Server.Store;

/// <summary>How a string value came to be, which decides what OBJECT ENCODING reports for it.</summary>
internal enum StringForm : byte
{
    /// <summary>Set from a client argument (SET, MSET, INCR, ...): Redis's tryObjectEncoding gives int, embstr or raw
    /// from the content.</summary>
    Auto = 0,
    /// <summary>Created from text that Redis never turns into an int (INCRBYFLOAT): embstr or raw by length.</summary>
    NoInt = 1,
    /// <summary>Modified in place (APPEND, SETRANGE): always raw.</summary>
    Raw = 2,
}

/// <summary>
/// One key of a <see cref="RedisDatabase"/> and its value. Strings are stored inline as bytes with spare capacity
/// (like an sds), so overwriting a value of similar length copies into the same array and allocates nothing; other
/// types hang a <see cref="RedisObject"/> off <see cref="Object"/>.
/// </summary>
/// <remarks>
/// An entry reference is valid until the key is deleted, renamed or overwritten by another command; handlers use it
/// within one command only. Mutate through <see cref="RedisDatabase"/> so expiry bookkeeping and the WATCH hook stay
/// right.
/// </remarks>
public sealed class RedisEntry
{
    /// <summary>Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT.</summary>
    internal const int EmbstrLimit = 44;

    /// <summary>Redis's OBJ_SHARED_INTEGERS: int values in [0, 10000) are shared objects (OBJECT REFCOUNT).</summary>
    internal const int SharedIntegers = 10000;

    internal readonly uint Hash;
    internal RedisEntry? Next;          // bucket chain
    internal int ExpiresSlot = -1;      // index in the database's expires array, -1 = no TTL
    internal long ExpireAt;             // unix ms, valid when ExpiresSlot >= 0
    internal byte[] Bytes = [];         // string payload (capacity may exceed Length)
    internal int Length;
    internal StringForm Form;
    internal RedisObject? Obj;
    internal long AccessMs;             // LRU clock (OBJECT IDLETIME)
    internal byte SnapshotMark;         // = the database's SnapshotEpoch once the running snapshot holds this entry (fits in padding)

    internal RedisEntry(byte[] key, uint hash)
    {
        Key = key;
        Hash = hash;
    }

    /// <summary>The key's bytes (never modified; safe to keep).</summary>
    public byte[] Key { get; }

    public RedisType Type { get; internal set; }

    /// <summary>True when the key has a TTL.</summary>
    public bool HasExpire => ExpiresSlot >= 0;

    /// <summary>The absolute expiry time in unix milliseconds, or -1 when the key has no TTL.</summary>
    public long ExpireAtMs => ExpiresSlot >= 0 ? ExpireAt : -1;

    /// <summary>The string value (only meaningful when <see cref="Type"/> is <see cref="RedisType.String"/>).</summary>
    public ReadOnlySpan<byte> StringValue => new(Bytes, 0, Length);

    /// <summary>The value of a non-string key.</summary>
    public RedisObject? Object => Obj;

    /// <summary>Unix ms of the last access (LRU clock resolution, see <see cref="RedisDatabase.ActiveExpireCycle"/>).</summary>
    public long LastAccessMs => AccessMs;

    /// <summary>OBJECT ENCODING: "int", "embstr" or "raw" for strings, the object's own for other types.</summary>
    public string Encoding
    {
        get
        {
            if (Type != RedisType.String) return Obj?.Encoding ?? "unknown";
            if (Form == StringForm.Raw) return "raw";
            if (Form == StringForm.Auto && IsInteger(out _)) return "int";
            return Length <= EmbstrLimit ? "embstr" : "raw";
        }
    }

    /// <summary>OBJECT REFCOUNT: shared small integers report INT_MAX as in Redis, everything else 1.</summary>
    public int RefCount =>
        Type == RedisType.String && Form == StringForm.Auto && IsInteger(out long v) && v is >= 0 and < SharedIntegers
            ? int.MaxValue
            : 1;

    /// <summary>True when the string value is what Redis would store int-encoded (≤ 20 chars, string2l).</summary>
    internal bool IsInteger(out long value)
    {
        value = 0;
        return Length <= 20 && RedisNumbers.TryParseInt64(StringValue, out value);
    }
}
