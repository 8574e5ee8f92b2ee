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
/// A key of a <see cref="RedisDatabase"/> seen as an object: the form of collections, of strings longer than a slab
/// block, and of strings a command looked up with <see cref="RedisDatabase.Find"/> (the database turns a compact key
/// into an entry then, and back in its cron; see the Store README). Strings are bytes with spare capacity (like an
/// sds), so overwriting a value of similar length copies into the same array; other types hang a
/// <see cref="RedisObject"/> off <see cref="Object"/>. TTL, access clock and snapshot mark live in the key's slot.
/// </summary>
/// <remarks>
/// An entry reference is valid within the command that looked it up (until the key is deleted, renamed or
/// overwritten); the cron may turn a string key back into its compact form between commands. Mutate through
/// <see cref="RedisDatabase"/> so expiry bookkeeping and the WATCH hook stay right.
/// </remarks>
public sealed class RedisEntry
{
    /// <summary>Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT.</summary>
    internal const int EmbstrLimit = 44;

    /// <summary>Redis's OBJ_SHARED_INTEGERS: int values in [0, 10000) are shared objects (OBJECT REFCOUNT).</summary>
    internal const int SharedIntegers = 10000;

    internal KeyTable? Table;           // the table whose slot holds this entry; null once the key is gone
    internal int Slot;
    internal byte[] Bytes = [];         // string payload (capacity may exceed Length)
    internal int Length;
    internal StringForm Form;
    internal RedisObject? Obj;

    internal RedisEntry(byte[] key) => Key = key;

    /// <summary>The key's bytes (never modified; safe to keep).</summary>
    public byte[] Key { get; }

    public RedisType Type { get; internal set; }

    /// <summary>True when the key has a TTL.</summary>
    public bool HasExpire => Table is { } t && t.At(Slot).ExpiresSlot >= 0;

    /// <summary>The absolute expiry time in unix milliseconds, or -1 when the key has no TTL.</summary>
    public long ExpireAtMs => Table is { } t && t.At(Slot).ExpiresSlot is >= 0 and int i ? t.Expires[i].ExpireAt : -1;

    /// <summary>The string value (only meaningful when <see cref="Type"/> is <see cref="RedisType.String"/>).</summary>
    public ReadOnlySpan<byte> StringValue => new(Bytes, 0, Length);

    /// <summary>The value of a non-string key.</summary>
    public RedisObject? Object => Obj;

    /// <summary>Unix ms of the last access (LRU clock resolution, see <see cref="RedisDatabase.ActiveExpireCycle"/>).</summary>
    public long LastAccessMs => Table?.At(Slot).Access ?? 0;

    /// <summary>OBJECT ENCODING: "int", "embstr" or "raw" for strings, the object's own for other types.</summary>
    public string Encoding => EncodingOf(Type, Obj, Form, StringValue);

    internal static string EncodingOf(RedisType type, RedisObject? obj, StringForm form, ReadOnlySpan<byte> value)
    {
        if (type != RedisType.String) return obj?.Encoding ?? "unknown";
        if (form == StringForm.Raw) return "raw";
        if (form == StringForm.Auto && value.Length <= 20 && RedisNumbers.TryParseInt64(value, out _)) return "int";
        return value.Length <= EmbstrLimit ? "embstr" : "raw";
    }

    /// <summary>The key seen in place (as <see cref="RedisDatabase.Entries"/> shows it); the entry must be stored.</summary>
    internal KeyView View => Table!.View(Slot);

    /// <summary>OBJECT REFCOUNT: shared small integers report INT_MAX as in Redis, everything else 1.</summary>
    public int RefCount => RefCountOf(Type, Form, Type == RedisType.String ? StringValue : default);

    /// <summary><see cref="RefCount"/> from a key's type, string form and string value (an entry's or a <see cref="KeyView"/>'s).</summary>
    internal static int RefCountOf(RedisType type, StringForm form, ReadOnlySpan<byte> value) =>
        type == RedisType.String && form == StringForm.Auto && value.Length <= 20 && RedisNumbers.TryParseInt64(value, out long v)
            && v is >= 0 and < SharedIntegers
            ? int.MaxValue
            : 1;
}
