using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// Generic commands of the data model: DUMP and RESTORE in Redis 7.0's payload format (see <see cref="RdbSerializer"/>),
/// with redis-server 7.0's option parsing and error texts (cluster.c).
/// </summary>
public static class GenericCommands
{
    internal const string BusyKey = "BUSYKEY Target key name already exists.";
    internal const string InvalidTtl = "ERR Invalid TTL value, must be >= 0";
    internal const string InvalidIdleTime = "ERR Invalid IDLETIME value, must be >= 0";
    internal const string InvalidFreq = "ERR Invalid FREQ value, must be >= 0 and <= 255";

    private const string G = "generic";

    public static void Register(CommandTable table)
    {
        table.Add(new("DUMP", 2, CommandFlags.ReadOnly, 1, 1, 1, G, "Returns a serialized representation of the value stored at a key.", "2.6.0", Dump)
        {
            Complexity = "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        });
        table.Add(new("RESTORE", -4, CommandFlags.Write | CommandFlags.DenyOom, 1, 1, 1, G, "Creates a key from the serialized representation of a value.", "2.6.0", Restore)
        {
            Complexity = "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
        });
    }

    // ---------------------------------------------------------------- DUMP / RESTORE

    private static void Dump(ref CommandContext c)
    {
        var e = KeyCommands.LookupRead(ref c, c.Db, c.Arg(1));
        if (e is null)
        {
            c.Reply.Null();
            return;
        }
        var payload = Serialize(e);
        if (payload is null)
        {
            c.Reply.Error("ERR DUMP of this type is not supported yet");
            return;
        }
        c.Reply.Bulk(payload);
    }

    /// <summary>The DUMP payload of an entry, or null for a type this server cannot serialize yet.</summary>
    internal static byte[]? Serialize(RedisEntry e) => e.Object switch
    {
        null => RdbSerializer.DumpString(e.StringValue),
        RedisList list => RdbSerializer.DumpList(list),
        RedisHash hash => RdbSerializer.DumpHash(hash),
        _ => null,
    };

    private static void Restore(ref CommandContext c)
    {
        bool replace = false, absTtl = false;
        long idle = -1, freq = -1;
        for (int j = 4; j < c.Count; j++)
        {
            int additional = c.Count - j - 1;
            if (c.ArgIs(j, "REPLACE"u8))
            {
                replace = true;
            }
            else if (c.ArgIs(j, "ABSTTL"u8))
            {
                absTtl = true;
            }
            else if (c.ArgIs(j, "IDLETIME"u8) && additional >= 1 && freq == -1)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out idle))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (idle < 0)
                {
                    c.Reply.Error(InvalidIdleTime);
                    return;
                }
                j++;
            }
            else if (c.ArgIs(j, "FREQ"u8) && additional >= 1 && idle == -1)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(j + 1), out freq))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (freq is < 0 or > 255)
                {
                    c.Reply.Error(InvalidFreq);
                    return;
                }
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var db = c.Db;
        var key = c.Arg(1);
        if (!replace && db.Find(key) is not null)
        {
            c.Reply.Error(BusyKey);
            return;
        }
        if (!RedisNumbers.TryParseInt64(c.Arg(2), out long ttl))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if (ttl < 0)
        {
            c.Reply.Error(InvalidTtl);
            return;
        }
        var payload = c.Arg(3);
        if (!RdbSerializer.Verify(payload))
        {
            c.Reply.Error(RdbSerializer.VersionOrChecksumError);
            return;
        }
        var value = RdbSerializer.Load(payload);
        RedisObject? obj = null;
        if (value is null || (value.Type != RedisType.String && (obj = CreateObject(value)) is null))
        {
            c.Reply.Error(RdbSerializer.BadFormatError);
            return;
        }

        if (replace) db.Delete(key);
        long now = c.Server.NowMs;
        if (ttl > 0 && !absTtl) ttl += now;
        if (ttl > 0 && ttl <= now)
        {
            c.Reply.Ok(); // already expired: nothing is created (a replaced key stays deleted)
            return;
        }
        RedisEntry e;
        if (obj is null)
        {
            db.SetString(key, value.String, SetFlags.None, ttl > 0 ? ttl : RedisDatabase.NoExpire);
            e = db.Find(key, LookupFlags.NoTouch)!;
        }
        else
        {
            e = db.SetObject(key, obj);
            if (ttl > 0) db.SetExpire(e, ttl);
        }
        if (idle >= 0) e.AccessMs = now - idle * 1000;
        c.Reply.Ok();
    }

    /// <summary>Builds the store object of a decoded collection, or null for a type the store does not have yet.</summary>
    internal static RedisObject? CreateObject(RdbValue value)
    {
        switch (value.Type)
        {
            case RedisType.List:
            {
                var list = new RedisList();
                foreach (var item in value.Items) list.PushRight(item);
                return list;
            }
            case RedisType.Hash:
            {
                var hash = new RedisHash(value.Items.Count);
                for (int i = 0; i < value.Items.Count; i++)
                    if (!hash.Set(value.Items[i], value.Values[i])) return null; // duplicate field: corrupt
                return hash;
            }
            default:
                return null;
        }
    }
}
