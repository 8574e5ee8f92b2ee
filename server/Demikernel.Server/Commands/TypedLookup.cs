using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Looking up a key that must hold one type of value, shared by the collection command groups: true with the value,
/// or with null when the key is missing; false once a WRONGTYPE reply has been written. A compact key (a string) is
/// answered WRONGTYPE in place, never turned into an object key first.
/// </summary>
internal static class TypedLookup
{
    /// <summary>For read commands: counts keyspace hits and misses as Redis does.</summary>
    public static bool TryRead<T>(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out T? value) where T : RedisObject =>
        TryRead(ref c, db, key, out _, out value);

    /// <summary>For read commands that also need the entry (e.g. XREADGROUP, which changes the group state).</summary>
    public static bool TryRead<T>(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisEntry? entry, out T? value) where T : RedisObject
    {
        entry = KeyCommands.LookupObject(ref c, db, key, out bool compactString);
        return Typed(ref c, entry, compactString, out value);
    }

    /// <summary>For write commands: the entry too, to update or delete it afterwards.</summary>
    public static bool TryWrite<T>(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out RedisEntry? entry, out T? value) where T : RedisObject
    {
        entry = db.FindObject(key, LookupFlags.None, out bool compactString);
        return Typed(ref c, entry, compactString, out value);
    }

    /// <summary>The looked-up key's value as a <typeparamref name="T"/>; false after a WRONGTYPE reply (another type,
    /// or a compact string).</summary>
    private static bool Typed<T>(ref CommandContext c, RedisEntry? entry, bool compactString, out T? value) where T : RedisObject
    {
        value = entry?.Obj as T;
        if (!compactString && (entry is null || value is not null)) return true;
        c.Reply.Error(Errors.WrongType);
        return false;
    }
}
