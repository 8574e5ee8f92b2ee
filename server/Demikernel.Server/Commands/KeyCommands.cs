using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Generic key commands (DEL, EXISTS, EXPIRE, SCAN, ...), with redis-server 7's reply shapes and error texts
/// (db.c, expire.c, object.c).
/// </summary>
public static class KeyCommands
{
    internal const string NxXxGtLtIncompatible = "ERR NX and XX, GT or LT options at the same time are not compatible";
    internal const string GtLtIncompatible = "ERR GT and LT options at the same time are not compatible";
    internal const string InvalidCursor = "ERR invalid cursor";
    internal const string IntOutOfRange = "ERR value is out of range, value must between -2147483648 and 2147483647";
    internal const string LfuSelected = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    internal const string LfuNotSelected = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

    private const CommandFlags Read = CommandFlags.ReadOnly;
    private const CommandFlags ReadFast = CommandFlags.ReadOnly | CommandFlags.Fast;
    private const CommandFlags Write = CommandFlags.Write;
    private const CommandFlags WriteFast = CommandFlags.Write | CommandFlags.Fast;
    private const string G = "generic";

    /// <summary>Reused by KEYS and SCAN (everything runs on the libOS thread).</summary>
    [ThreadStatic] private static List<int>? s_scratch; // slots

    public static void Register(CommandTable table)
    {
        table.Add(new("DEL", Del)
        );
        table.Add(new("UNLINK", Unlink)
        );
        table.Add(new("EXISTS", Exists)
        );
        table.Add(new("TYPE", Type));
        table.Add(new("RENAME", Rename));
        table.Add(new("RENAMENX", RenameNx));
        table.Add(new("KEYS", Keys)
        );
        table.Add(new("RANDOMKEY", RandomKey));
        table.Add(new("EXPIRE", Expire));
        table.Add(new("PEXPIRE", PExpire));
        table.Add(new("EXPIREAT", ExpireAt));
        table.Add(new("PEXPIREAT", PExpireAt));
        table.Add(new("TTL", Ttl));
        table.Add(new("PTTL", PTtl));
        table.Add(new("EXPIRETIME", ExpireTime));
        table.Add(new("PEXPIRETIME", PExpireTime));
        table.Add(new("PERSIST", Persist));
        table.Add(new("TOUCH", Touch)
        );
        table.Add(new("COPY", Copy)
        );
        table.Add(new("MOVE", Move));
        table.Add(new("SCAN", Scan)
        );
        table.Add(new("OBJECT", ObjectHelp)
        {
            Subcommands =
            [
                new("ENCODING", ObjectEncoding),
                new("REFCOUNT", ObjectRefCount),
                new("IDLETIME", ObjectIdleTime),
                new("FREQ", ObjectFreq),
                new("HELP", ObjectHelp),
            ],
        });
    }

    /// <summary>Redis's lookupKeyRead: a lookup that counts a keyspace hit or miss. A compact key becomes an object key
    /// here: commands that only read go through <see cref="LookupView"/> or <see cref="LookupObject"/> instead.</summary>
    /// <param name="notifyMiss">false for redis's LOOKUP_NONOTIFY (OBJECT): a miss is counted but not notified.</param>
    internal static RedisEntry? LookupRead(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, LookupFlags flags = LookupFlags.None, bool notifyMiss = true)
    {
        var e = db.Find(key, flags);
        CountLookup(ref c, db, key, e is not null, notifyMiss);
        return e;
    }

    /// <summary><see cref="LookupRead"/> that leaves a compact key compact (<see cref="RedisDatabase.TryLookup"/>), for
    /// commands that only read the key's type, string value or TTL.</summary>
    internal static bool LookupView(ref CommandContext c, RedisDatabase db, scoped ReadOnlySpan<byte> key, out KeyView view, LookupFlags flags = LookupFlags.None)
    {
        bool found = db.TryLookup(key, flags, out view);
        CountLookup(ref c, db, key, found);
        return found;
    }

    /// <summary><see cref="LookupRead"/> for commands that read a collection (<see cref="RedisDatabase.FindObject"/>):
    /// a compact key, always a string, is reported by <paramref name="compactString"/> and left compact.</summary>
    internal static RedisEntry? LookupObject(ref CommandContext c, RedisDatabase db, ReadOnlySpan<byte> key, out bool compactString)
    {
        var e = db.FindObject(key, LookupFlags.None, out compactString);
        CountLookup(ref c, db, key, e is not null || compactString);
        return e;
    }

    /// <summary>A read lookup's keyspace hit or miss (and the miss notification), as Redis's lookupKeyRead counts.</summary>
    private static void CountLookup(ref CommandContext c, RedisDatabase db, scoped ReadOnlySpan<byte> key, bool found, bool notifyMiss = true)
    {
        if (found)
        {
            c.Server.Stats.KeyspaceHits++;
            return;
        }
        c.Server.Stats.KeyspaceMisses++;
        if (notifyMiss) c.Server.Notifications.KeyMiss(db.Index, key);
    }

    // ---------------------------------------------------------------- existence

    private static void Del(ref CommandContext c) => DeleteKeys(ref c, c.Server.Config.LazyFreeLazyUserDel);

    private static void Unlink(ref CommandContext c) => DeleteKeys(ref c, lazy: true);

    private static void DeleteKeys(ref CommandContext c, bool lazy)
    {
        var db = c.Db;
        long deleted = 0;
        for (int j = 1; j < c.Count; j++)
            if (db.Delete(c.Arg(j), KeyEvent.Del, lazy)) deleted++;
        c.Reply.Integer(deleted);
    }

    private static void Exists(ref CommandContext c)
    {
        var db = c.Db;
        long count = 0;
        for (int j = 1; j < c.Count; j++)
            if (LookupView(ref c, db, c.Arg(j), out _, LookupFlags.NoTouch)) count++;
        c.Reply.Integer(count);
    }

    private static void Touch(ref CommandContext c)
    {
        var db = c.Db;
        long count = 0;
        for (int j = 1; j < c.Count; j++)
            if (LookupView(ref c, db, c.Arg(j), out _)) count++;
        c.Reply.Integer(count);
    }

    private static void Type(ref CommandContext c)
    {
        bool found = LookupView(ref c, c.Db, c.Arg(1), out var e, LookupFlags.NoTouch);
        c.Reply.SimpleString(!found ? "none"u8 : e.Type.NameUtf8());
    }

    private static void RandomKey(ref CommandContext c)
    {
        int slot = c.Db.RandomSlot();
        if (slot < 0) c.Reply.Null();
        else c.Reply.Bulk(c.Db.KeyAt(slot));
    }

    // ---------------------------------------------------------------- RENAME / COPY / MOVE

    private static void Rename(ref CommandContext c)
    {
        if (c.Db.Rename(c.Arg(1), c.Arg(2), onlyIfAbsent: false) == StoreStatus.NotFound) c.Reply.Error(Errors.NoSuchKey);
        else c.Reply.Ok();
    }

    private static void RenameNx(ref CommandContext c)
    {
        switch (c.Db.Rename(c.Arg(1), c.Arg(2), onlyIfAbsent: true))
        {
            case StoreStatus.NotFound: c.Reply.Error(Errors.NoSuchKey); break;
            case StoreStatus.Ok: c.Reply.Integer(1); break;
            default: c.Reply.Integer(0); break;
        }
    }

    /// <summary>Redis's getIntFromObjectOrReply + selectDb: the database numbered by the argument, or null after
    /// replying with the error.</summary>
    private static RedisDatabase? DatabaseArg(ref CommandContext c, int arg)
    {
        if (!RedisNumbers.TryParseInt64(c.Arg(arg), out long id))
        {
            c.Reply.Error(Errors.NotInteger);
            return null;
        }
        if (id is < int.MinValue or > int.MaxValue)
        {
            c.Reply.Error(IntOutOfRange);
            return null;
        }
        var dbs = c.Server.Databases;
        if (id < 0 || id >= dbs.Length)
        {
            c.Reply.Error(Errors.DbIndexOutOfRange);
            return null;
        }
        return dbs[id];
    }

    private static void Copy(ref CommandContext c)
    {
        var src = c.Db;
        var dst = src;
        bool replace = false;
        for (int j = 3; j < c.Count; j++)
        {
            if (c.ArgIs(j, "REPLACE"u8))
            {
                replace = true;
            }
            else if (c.ArgIs(j, "DB"u8) && j < c.Count - 1)
            {
                var target = DatabaseArg(ref c, j + 1);
                if (target is null) return;
                dst = target;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        switch (src.Copy(c.Arg(1), dst, c.Arg(2), replace))
        {
            case StoreStatus.SameObject:
                c.Reply.Error(Errors.SameObject);
                break;
            case StoreStatus.NotFound:
                c.Server.Stats.KeyspaceMisses++;
                c.Server.Notifications.KeyMiss(src.Index, c.Arg(1));
                c.Reply.Integer(0);
                break;
            case StoreStatus.NotDone:
                c.Server.Stats.KeyspaceHits++;
                c.Reply.Integer(0);
                break;
            default:
                c.Server.Stats.KeyspaceHits++;
                c.Reply.Integer(1);
                break;
        }
    }

    private static void Move(ref CommandContext c)
    {
        var target = DatabaseArg(ref c, 2);
        if (target is null) return;
        switch (c.Db.Move(c.Arg(1), target))
        {
            case StoreStatus.SameObject: c.Reply.Error(Errors.SameObject); break;
            case StoreStatus.Ok: c.Reply.Integer(1); break;
            default: c.Reply.Integer(0); break;
        }
    }

    // ---------------------------------------------------------------- expiry

    private static void Expire(ref CommandContext c) => ExpireGeneric(ref c, relative: true, seconds: true);

    private static void PExpire(ref CommandContext c) => ExpireGeneric(ref c, relative: true, seconds: false);

    private static void ExpireAt(ref CommandContext c) => ExpireGeneric(ref c, relative: false, seconds: true);

    private static void PExpireAt(ref CommandContext c) => ExpireGeneric(ref c, relative: false, seconds: false);

    [Flags]
    private enum ExpireOptions
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Gt = 4,
        Lt = 8,
    }

    /// <summary>Redis's expireGenericCommand: options, then the time (overflow checks), then the key; a deadline
    /// not in the future deletes the key.</summary>
    private static void ExpireGeneric(ref CommandContext c, bool relative, bool seconds)
    {
        var options = ExpireOptions.None;
        for (int j = 3; j < c.Count; j++)
        {
            if (c.ArgIs(j, "NX"u8)) options |= ExpireOptions.Nx;
            else if (c.ArgIs(j, "XX"u8)) options |= ExpireOptions.Xx;
            else if (c.ArgIs(j, "GT"u8)) options |= ExpireOptions.Gt;
            else if (c.ArgIs(j, "LT"u8)) options |= ExpireOptions.Lt;
            else
            {
                c.Reply.Error("ERR Unsupported option " + c.ArgString(j));
                return;
            }
        }
        if ((options & ExpireOptions.Nx) != 0 && (options & (ExpireOptions.Xx | ExpireOptions.Gt | ExpireOptions.Lt)) != 0)
        {
            c.Reply.Error(NxXxGtLtIncompatible);
            return;
        }
        if ((options & (ExpireOptions.Gt | ExpireOptions.Lt)) == (ExpireOptions.Gt | ExpireOptions.Lt))
        {
            c.Reply.Error(GtLtIncompatible);
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long when))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (seconds)
        {
            if (when > long.MaxValue / 1000 || when < long.MinValue / 1000)
            {
                c.Reply.Error(Errors.InvalidExpireTime(c.Command.WireName));
                return;
            }
            when *= 1000;
        }
        long now = c.Server.NowMs;
        if (relative)
        {
            if (when > long.MaxValue - now)
            {
                c.Reply.Error(Errors.InvalidExpireTime(c.Command.WireName));
                return;
            }
            when += now;
        }
        var db = c.Db;
        if (!db.TryLookup(c.Arg(1), LookupFlags.None, out var e))
        {
            c.Reply.Integer(0);
            return;
        }
        if (options != ExpireOptions.None)
        {
            long current = e.ExpireAtMs;
            bool hasTtl = current != RedisDatabase.NoExpire;
            if (((options & ExpireOptions.Nx) != 0 && hasTtl) ||
                ((options & ExpireOptions.Xx) != 0 && !hasTtl) ||
                ((options & ExpireOptions.Gt) != 0 && (!hasTtl || when <= current)) ||
                ((options & ExpireOptions.Lt) != 0 && hasTtl && when >= current))
            {
                c.Reply.Integer(0);
                return;
            }
        }
        if (when <= now)
        {
            db.Delete(e.Slot, lazy: c.Server.Config.LazyFreeLazyExpire);
            c.RewritePropagation().Arg(c.Server.Config.LazyFreeLazyExpire ? "UNLINK"u8 : "DEL"u8).Arg(c.Arg(1)).End();
        }
        else
        {
            db.SetExpire(e.Slot, when);
            // PEXPIREAT key <deadline> [options]; PEXPIREAT itself propagates unchanged.
            if (relative || seconds)
            {
                var rewrite = c.RewritePropagation().Arg("PEXPIREAT"u8).Arg(c.Arg(1)).Arg(when);
                for (int j = 3; j < c.Count; j++) rewrite.Arg(c.Arg(j));
                rewrite.End();
            }
        }
        c.Reply.Integer(1);
    }

    private static void Ttl(ref CommandContext c) => TtlGeneric(ref c, milliseconds: false, absolute: false);

    private static void PTtl(ref CommandContext c) => TtlGeneric(ref c, milliseconds: true, absolute: false);

    private static void ExpireTime(ref CommandContext c) => TtlGeneric(ref c, milliseconds: false, absolute: true);

    private static void PExpireTime(ref CommandContext c) => TtlGeneric(ref c, milliseconds: true, absolute: true);

    private static void TtlGeneric(ref CommandContext c, bool milliseconds, bool absolute)
    {
        if (!LookupView(ref c, c.Db, c.Arg(1), out var e, LookupFlags.NoTouch))
        {
            c.Reply.Integer(-2);
            return;
        }
        long expire = e.ExpireAtMs;
        if (expire == RedisDatabase.NoExpire)
        {
            c.Reply.Integer(-1);
            return;
        }
        long ttl = absolute ? expire : expire - c.Server.NowMs;
        if (ttl < 0) ttl = 0;
        // Rounded to seconds as Redis does ((ttl+500)/1000), without overflowing for deadlines near the maximum.
        c.Reply.Integer(milliseconds ? ttl : (long)(((ulong)ttl + 500) / 1000));
    }

    private static void Persist(ref CommandContext c)
    {
        var db = c.Db;
        c.Reply.Integer(db.TryLookup(c.Arg(1), LookupFlags.None, out var e) && db.Persist(e.Slot) ? 1 : 0);
    }

    // ---------------------------------------------------------------- KEYS / SCAN

    private static void Keys(ref CommandContext c)
    {
        var db = c.Db;
        var pattern = c.Arg(1);
        bool all = pattern.Length == 1 && pattern[0] == (byte)'*';
        var found = s_scratch ??= [];
        try
        {
            foreach (var e in db.Entries)
                if ((all || Glob.IsMatch(pattern, e.Key)) && !db.IsExpired(e.Slot)) found.Add(e.Slot);
            c.Reply.ArrayHeader(found.Count);
            foreach (int slot in found) c.Reply.Bulk(db.KeyAt(slot));
        }
        finally
        {
            found.Clear();
        }
    }

    private static void Scan(ref CommandContext c)
    {
        if (!TryParseCursor(c.Arg(1), out ulong cursor))
        {
            c.Reply.Error(InvalidCursor);
            return;
        }
        long count = 10;
        int patternArg = 0, typeArg = 0;
        for (int i = 2; i < c.Count; i++)
        {
            bool hasValue = c.Count - i >= 2;
            if (hasValue && c.ArgIs(i, "COUNT"u8))
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(i + 1), out count))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count < 1)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                i++;
            }
            else if (hasValue && c.ArgIs(i, "MATCH"u8))
            {
                var p = c.Arg(i + 1);
                patternArg = p.Length == 1 && p[0] == (byte)'*' ? 0 : i + 1;
                i++;
            }
            else if (hasValue && c.ArgIs(i, "TYPE"u8))
            {
                typeArg = i + 1;
                i++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var db = c.Db;
        var found = s_scratch ??= [];
        Span<byte> keyCopy = stackalloc byte[256];
        try
        {
            cursor = db.Scan(cursor, (int)Math.Min(count, int.MaxValue / 16), found);
            int kept = 0;
            for (int i = 0; i < found.Count; i++)
            {
                int slot = found[i];
                // (the key is read again after each lookup: a lookup may move it out of the slab)
                if (patternArg != 0 && !Glob.IsMatch(c.Arg(patternArg), db.KeyAt(slot))) continue;
                if (typeArg != 0)
                {
                    // Redis 7.0 looks the key up (counting a hit or a miss) and compares type names.
                    // In place: SCAN TYPE must not turn the compact keys it walks into object keys. The name is
                    // copied first: an expired key's block is freed by the lookup, before its miss is notified.
                    var stored = db.KeyAt(slot);
                    var key = stored.Length <= keyCopy.Length ? keyCopy[..stored.Length] : new byte[stored.Length];
                    stored.CopyTo(key);
                    if (!LookupView(ref c, db, key, out var live, LookupFlags.NoTouch)) continue; // expired: reclaimed now
                    if (!Ascii.EqualsIgnoreCase(c.Arg(typeArg), live.Type.NameUtf8())) continue;
                }
                else if (!db.Exists(db.KeyAt(slot))) continue; // expired: reclaimed now
                found[kept++] = slot;
            }
            Span<byte> digits = stackalloc byte[20];
            cursor.TryFormat(digits, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
            c.Reply.ArrayHeader(2);
            c.Reply.Bulk(digits[..written]);
            c.Reply.ArrayHeader(kept);
            for (int i = 0; i < kept; i++) c.Reply.Bulk(db.KeyAt(found[i]));
        }
        finally
        {
            found.Clear();
        }
    }

    /// <summary>Redis parses the cursor with strtoul: optional sign (a negative value wraps), decimal digits, no
    /// leading space, no trailing garbage, no overflow; an empty string is cursor 0.</summary>
    internal static bool TryParseCursor(ReadOnlySpan<byte> text, out ulong cursor)
    {
        cursor = 0;
        int i = 0;
        bool negative = false;
        if (text.Length > 0 && (text[0] == (byte)'+' || text[0] == (byte)'-'))
        {
            negative = text[0] == (byte)'-';
            i = 1;
            if (text.Length == 1) return false;
        }
        for (; i < text.Length; i++)
        {
            uint digit = (uint)(text[i] - '0');
            if (digit > 9) return false;
            if (cursor > (ulong.MaxValue - digit) / 10) return false;
            cursor = (cursor * 10) + digit;
        }
        if (negative) cursor = 0 - cursor;
        return true;
    }

    // ---------------------------------------------------------------- OBJECT

    // OBJECT only reads what a compact key holds in place (its form, value and access field), so it leaves the key
    // compact: seeing it as an entry would cost memory, and with maxmemory reached the next command would evict for it.
    private static bool ObjectLookup(ref CommandContext c, out KeyView view)
    {
        if (c.Db.TryLookup(c.Arg(2), LookupFlags.NoTouch, out view))
        {
            c.Server.Stats.KeyspaceHits++;
            return true;
        }
        c.Server.Stats.KeyspaceMisses++;
        c.Reply.Null();
        return false;
    }

    private static void ObjectEncoding(ref CommandContext c)
    {
        if (ObjectLookup(ref c, out var view)) c.Reply.Bulk(view.Encoding);
    }

    private static void ObjectRefCount(ref CommandContext c)
    {
        if (ObjectLookup(ref c, out var view)) c.Reply.Integer(view.RefCount);
    }

    private static void ObjectIdleTime(ref CommandContext c)
    {
        if (!ObjectLookup(ref c, out var view)) return;
        if (c.Server.Memory.IsLfu) c.Reply.Error(LfuSelected);
        else c.Reply.Integer(Math.Max(0, c.Server.NowMs - view.LastAccessMs) / 1000);
    }

    private static void ObjectFreq(ref CommandContext c)
    {
        if (!ObjectLookup(ref c, out var view)) return;
        if (c.Server.Memory.IsLfu) c.Reply.Integer(c.Db.LfuCounter(view.LastAccessMs, c.Server.Memory.Lfu));
        else c.Reply.Error(LfuNotSelected);
    }

    private static readonly string[] ObjectHelpLines =
    [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];

    private static void ObjectHelp(ref CommandContext c)
    {
        c.Reply.ArrayHeader(ObjectHelpLines.Length);
        foreach (var line in ObjectHelpLines) c.Reply.SimpleString(line);
    }
}
