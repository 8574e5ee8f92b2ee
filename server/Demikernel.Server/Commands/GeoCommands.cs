using System.Globalization;
using Demikernel.Resp;
using Demikernel.Server.Store;

namespace Demikernel.Server.Commands;

/// <summary>
/// GEO commands (geo.c of redis-server 7.0): positions are members of a sorted set whose scores are 52-bit geohashes
/// (<see cref="GeoHash"/>); GEOADD is ZADD with computed scores (and propagates as ZADD), the searches read the score
/// ranges of nine cells and filter by distance. Replies, option parsing, error texts and the order of results follow
/// redis-server: coordinates printed as its long double "%.17Lf", distances with four decimals.
/// </summary>
public static class GeoCommands
{
    private const string CouldNotDecode = "ERR could not decode requested zset member";
    private const string UnsupportedUnit = "ERR unsupported unit provided. please use M, KM, FT, MI";

    public static void Register(CommandTable table)
    {
        table.Add(new("GEOADD", GeoAdd));
        table.Add(new("GEODIST", GeoDist));
        table.Add(new("GEOHASH", GeoHashCommand));
        table.Add(new("GEOPOS", GeoPos));
        table.Add(new("GEORADIUS", (ref CommandContext c) => Search(ref c, 1, SearchKind.Coordinates)));
        table.Add(new("GEORADIUS_RO", (ref CommandContext c) => Search(ref c, 1, SearchKind.Coordinates | SearchKind.NoStore)));
        table.Add(new("GEORADIUSBYMEMBER", (ref CommandContext c) => Search(ref c, 1, SearchKind.Member)));
        table.Add(new("GEORADIUSBYMEMBER_RO", (ref CommandContext c) => Search(ref c, 1, SearchKind.Member | SearchKind.NoStore)));
        table.Add(new("GEOSEARCH", (ref CommandContext c) => Search(ref c, 1, SearchKind.Search)));
        table.Add(new("GEOSEARCHSTORE", (ref CommandContext c) => Search(ref c, 2, SearchKind.Search | SearchKind.Store)));
    }

    // ---------------------------------------------------------------- arguments

    /// <summary>Longitude then latitude at <paramref name="index"/>; false once an error reply is written.</summary>
    private static bool TryLongLat(ref CommandContext c, int index, out double longitude, out double latitude)
    {
        latitude = 0;
        if (!RedisNumbers.TryParseDouble(c.Arg(index), out longitude) || !RedisNumbers.TryParseDouble(c.Arg(index + 1), out latitude))
        {
            c.Reply.Error(Errors.NotFloat);
            return false;
        }
        if (!GeoHash.IsValid(longitude, latitude))
        {
            c.Reply.Error(string.Create(CultureInfo.InvariantCulture, $"ERR invalid longitude,latitude pair {longitude:F6},{latitude:F6}"));
            return false;
        }
        return true;
    }

    /// <summary>Metres per unit (m, km, ft, mi, any case), or a negative number once the error is written.</summary>
    private static double ToMetersOrReply(ref CommandContext c, int index)
    {
        var unit = c.Arg(index);
        if (System.Text.Ascii.EqualsIgnoreCase(unit, "m"u8)) return 1;
        if (System.Text.Ascii.EqualsIgnoreCase(unit, "km"u8)) return 1000;
        if (System.Text.Ascii.EqualsIgnoreCase(unit, "ft"u8)) return 0.3048;
        if (System.Text.Ascii.EqualsIgnoreCase(unit, "mi"u8)) return 1609.34;
        c.Reply.Error(UnsupportedUnit);
        return -1;
    }

    /// <summary>"radius unit" at <paramref name="index"/>.</summary>
    private static bool TryRadius(ref CommandContext c, int index, out double radius, out double toMeters)
    {
        toMeters = 0;
        if (!RedisNumbers.TryParseDouble(c.Arg(index), out radius))
        {
            c.Reply.Error("ERR need numeric radius");
            return false;
        }
        if (radius < 0)
        {
            c.Reply.Error("ERR radius cannot be negative");
            return false;
        }
        toMeters = ToMetersOrReply(ref c, index + 1);
        return toMeters >= 0;
    }

    /// <summary>"width height unit" at <paramref name="index"/>.</summary>
    private static bool TryBox(ref CommandContext c, int index, out double width, out double height, out double toMeters)
    {
        toMeters = 0;
        height = 0;
        if (!RedisNumbers.TryParseDouble(c.Arg(index), out width))
        {
            c.Reply.Error("ERR need numeric width");
            return false;
        }
        if (!RedisNumbers.TryParseDouble(c.Arg(index + 1), out height))
        {
            c.Reply.Error("ERR need numeric height");
            return false;
        }
        if (height < 0 || width < 0)
        {
            c.Reply.Error("ERR height or width cannot be negative");
            return false;
        }
        toMeters = ToMetersOrReply(ref c, index + 2);
        return toMeters >= 0;
    }

    /// <summary>A member's decoded position, false when the set does not hold it.</summary>
    private static bool TryPosition(RedisSortedSet z, ReadOnlySpan<byte> member, out double longitude, out double latitude)
    {
        longitude = latitude = 0;
        if (!z.TryGetScore(member, out double score)) return false;
        (longitude, latitude) = GeoHash.DecodeScore(score);
        return true;
    }

    // ---------------------------------------------------------------- replies

    /// <summary>A distance as redis-server's fixedpoint_d2string(d, 4): rounded to nearest-even at 4 decimals, always a
    /// bulk string.</summary>
    private static void Distance(ref CommandContext c, double distance)
    {
        double scaled = Math.Round(distance * 10000.0, MidpointRounding.ToEven);
        Span<byte> text = stackalloc byte[40];
        if (scaled == 0 || !double.IsFinite(scaled) || Math.Abs(scaled) >= 9.2e18)
        {
            c.Reply.Bulk(double.IsFinite(scaled) && scaled == 0 ? "0.0000" : distance.ToString("F4", CultureInfo.InvariantCulture));
            return;
        }
        long units = (long)scaled;
        ulong magnitude = (ulong)Math.Abs(units);
        int w = 0;
        if (units < 0) text[w++] = (byte)'-';
        (magnitude / 10000).TryFormat(text[w..], out int n, default, CultureInfo.InvariantCulture);
        w += n;
        text[w++] = (byte)'.';
        (magnitude % 10000).TryFormat(text[w..], out n, "D4", CultureInfo.InvariantCulture);
        c.Reply.Bulk(text[..(w + n)]);
    }

    /// <summary>A coordinate as addReplyHumanLongDouble: the double widened to long double, "%.17Lf" trimmed; a bulk
    /// string under RESP2, a RESP3 double.</summary>
    private static void Coordinate(ref CommandContext c, double value)
    {
        string text = LongDouble.FromDouble(value).ToHumanString();
        if (c.Client.Protocol == RespVersion.Resp3)
        {
            Span<byte> line = stackalloc byte[text.Length + 3];
            line[0] = (byte)',';
            System.Text.Encoding.ASCII.GetBytes(text, line[1..]);
            "\r\n"u8.CopyTo(line[(text.Length + 1)..]);
            c.Reply.Raw(line);
        }
        else
        {
            c.Reply.Bulk(text);
        }
    }

    // ---------------------------------------------------------------- GEOADD

    /// <summary>GEOADD key [NX|XX] [CH] longitude latitude member ...: ZADD with the members' geohash scores.</summary>
    private static void GeoAdd(ref CommandContext c)
    {
        bool nx = false, xx = false, ch = false;
        int first = 2;
        for (; first < c.Count; first++)
        {
            if (c.ArgIs(first, "NX"u8)) nx = true;
            else if (c.ArgIs(first, "XX"u8)) xx = true;
            else if (c.ArgIs(first, "CH"u8)) ch = true;
            else break;
        }
        int elements = (c.Count - first) / 3;
        if ((c.Count - first) % 3 != 0 || (xx && nx) || elements == 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        Span<double> scores = elements <= 64 ? stackalloc double[elements] : new double[elements];
        for (int i = 0; i < elements; i++)
        {
            if (!TryLongLat(ref c, first + i * 3, out double longitude, out double latitude)) return;
            scores[i] = GeoHash.Score(longitude, latitude);
        }
        var db = c.Db;
        if (!TypedLookup.TryWrite(ref c, db, c.Arg(1), out var entry, out RedisSortedSet? z)) return;
        if (z is null)
        {
            if (xx)
            {
                c.Reply.Integer(0);
                return;
            }
            z = new RedisSortedSet();
            entry = db.SetObject(c.Arg(1), z, KeyEvent.None); // "zadd" once below, as ZADD
        }
        long added = 0, updated = 0;
        for (int i = 0; i < elements; i++)
        {
            var member = c.Arg(first + i * 3 + 2);
            var node = z.Find(member);
            if (node is null)
            {
                if (xx) continue;
                z.Set(member, scores[i]);
                added++;
            }
            else if (!nx && node.Score != scores[i])
            {
                z.UpdateScore(node, scores[i]);
                updated++;
            }
        }
        if (added > 0 || updated > 0) db.NotifyModified(entry!, KeyEvent.ZAdd);
        else if (z.Count == 0) db.Delete(entry!);
        c.Reply.Integer(ch ? added + updated : added);
        if (c.Propagating)
        {
            // as redis-server rewrites the command: zadd key [options as given] score member ...
            var w = c.RewritePropagation().Arg("zadd"u8);
            for (int i = 1; i < first; i++) w.Arg(c.Arg(i));
            Span<byte> digits = stackalloc byte[20];
            for (int i = 0; i < elements; i++)
            {
                ((ulong)scores[i]).TryFormat(digits, out int n, default, CultureInfo.InvariantCulture);
                w.Arg(digits[..n]).Arg(c.Arg(first + i * 3 + 2));
            }
            w.End();
        }
    }

    // ---------------------------------------------------------------- point reads

    /// <summary>GEODIST key member1 member2 [unit].</summary>
    private static void GeoDist(ref CommandContext c)
    {
        double toMeters = 1;
        if (c.Count == 5)
        {
            toMeters = ToMetersOrReply(ref c, 4);
            if (toMeters < 0) return;
        }
        else if (c.Count > 5)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (!TypedLookup.TryRead(ref c, c.Db, c.Arg(1), out RedisSortedSet? z)) return;
        if (z is null || !TryPosition(z, c.Arg(2), out double lon1, out double lat1) || !TryPosition(z, c.Arg(3), out double lon2, out double lat2))
        {
            c.Reply.Null();
            return;
        }
        Distance(ref c, GeoHash.Distance(lon1, lat1, lon2, lat2) / toMeters);
    }

    /// <summary>GEOHASH key member...: the standard 11-character geohash (re-encoded over latitude -90..90).</summary>
    private static void GeoHashCommand(ref CommandContext c)
    {
        if (!TypedLookup.TryRead(ref c, c.Db, c.Arg(1), out RedisSortedSet? z)) return;
        c.Reply.ArrayHeader(c.Count - 2);
        ReadOnlySpan<byte> alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"u8;
        Span<byte> text = stackalloc byte[11];
        for (int i = 2; i < c.Count; i++)
        {
            if (z is null || !TryPosition(z, c.Arg(i), out double longitude, out double latitude))
            {
                c.Reply.Null();
                continue;
            }
            ulong bits = GeoHash.Encode(longitude, latitude, GeoHash.MaxStep, -180, 180, -90, 90).Bits;
            for (int k = 0; k < 10; k++) text[k] = alphabet[(int)((bits >> (52 - (k + 1) * 5)) & 0x1F)];
            text[10] = alphabet[0]; // 52 bits give 10.4 characters; the 11th is 0, as redis-server writes it
            c.Reply.Bulk(text);
        }
    }

    /// <summary>GEOPOS key member...</summary>
    private static void GeoPos(ref CommandContext c)
    {
        if (!TypedLookup.TryRead(ref c, c.Db, c.Arg(1), out RedisSortedSet? z)) return;
        c.Reply.ArrayHeader(c.Count - 2);
        for (int i = 2; i < c.Count; i++)
        {
            if (z is null || !TryPosition(z, c.Arg(i), out double longitude, out double latitude))
            {
                c.Reply.NullArray();
                continue;
            }
            c.Reply.ArrayHeader(2);
            Coordinate(ref c, longitude);
            Coordinate(ref c, latitude);
        }
    }

    // ---------------------------------------------------------------- searches

    [Flags]
    private enum SearchKind
    {
        Coordinates = 1, // GEORADIUS: key longitude latitude radius unit
        Member = 2,      // GEORADIUSBYMEMBER: key member radius unit
        NoStore = 4,     // the _RO variants
        Search = 8,      // GEOSEARCH: FROMMEMBER/FROMLONLAT, BYRADIUS/BYBOX
        Store = 16,      // GEOSEARCHSTORE
    }

    private struct Found
    {
        public byte[] Member;
        public double Longitude, Latitude, Distance, Score;
        public int Order;
    }

    /// <summary>georadiusGeneric: every search command, with its arguments parsed in redis-server's order.</summary>
    private static void Search(ref CommandContext c, int sourceIndex, SearchKind kind)
    {
        var db = c.Db;
        if (!TypedLookup.TryRead(ref c, db, c.Arg(sourceIndex), out RedisSortedSet? z)) return;
        int baseArgs;
        double longitude = 0, latitude = 0, radius = 0, width = 0, height = 0, toMeters = 0;
        bool box = false;
        int storeIndex = -1;
        if ((kind & SearchKind.Coordinates) != 0)
        {
            baseArgs = 6;
            if (!TryLongLat(ref c, 2, out longitude, out latitude) || !TryRadius(ref c, 4, out radius, out toMeters)) return;
        }
        else if ((kind & SearchKind.Member) != 0)
        {
            baseArgs = 5;
            if (z is not null)
            {
                if (!TryPosition(z, c.Arg(2), out longitude, out latitude))
                {
                    c.Reply.Error(CouldNotDecode);
                    return;
                }
                if (!TryRadius(ref c, 3, out radius, out toMeters)) return;
            }
        }
        else
        {
            baseArgs = (kind & SearchKind.Store) != 0 ? 3 : 2;
            if ((kind & SearchKind.Store) != 0) storeIndex = 1;
        }

        bool withDist = false, withHash = false, withCoord = false, any = false, storeDist = false;
        bool fromMember = false, fromLonLat = false, byRadius = false, byBox = false;
        int sort = 0; // 0 none, 1 ascending, 2 descending
        long count = 0;
        bool search = (kind & SearchKind.Search) != 0, storeAllowed = (kind & (SearchKind.NoStore | SearchKind.Search)) == 0;
        int remaining = c.Count - baseArgs;
        for (int i = 0; i < remaining; i++)
        {
            int at = baseArgs + i;
            if (c.ArgIs(at, "WITHDIST"u8)) withDist = true;
            else if (c.ArgIs(at, "WITHHASH"u8)) withHash = true;
            else if (c.ArgIs(at, "WITHCOORD"u8)) withCoord = true;
            else if (c.ArgIs(at, "ANY"u8)) any = true;
            else if (c.ArgIs(at, "ASC"u8)) sort = 1;
            else if (c.ArgIs(at, "DESC"u8)) sort = 2;
            else if (c.ArgIs(at, "COUNT"u8) && i + 1 < remaining)
            {
                if (!RedisNumbers.TryParseInt64(c.Arg(at + 1), out count))
                {
                    c.Reply.Error(Errors.NotInteger);
                    return;
                }
                if (count <= 0)
                {
                    c.Reply.Error("ERR COUNT must be > 0");
                    return;
                }
                i++;
            }
            else if (c.ArgIs(at, "STORE"u8) && i + 1 < remaining && storeAllowed)
            {
                storeIndex = at + 1;
                storeDist = false;
                i++;
            }
            else if (c.ArgIs(at, "STOREDIST"u8) && i + 1 < remaining && storeAllowed)
            {
                storeIndex = at + 1;
                storeDist = true;
                i++;
            }
            else if (c.ArgIs(at, "STOREDIST"u8) && search && (kind & SearchKind.Store) != 0)
            {
                storeDist = true;
            }
            else if (c.ArgIs(at, "FROMMEMBER"u8) && i + 1 < remaining && search && !fromLonLat)
            {
                if (z is not null && !TryPosition(z, c.Arg(at + 1), out longitude, out latitude))
                {
                    c.Reply.Error(CouldNotDecode);
                    return;
                }
                fromMember = true;
                i++;
            }
            else if (c.ArgIs(at, "FROMLONLAT"u8) && i + 2 < remaining && search && !fromMember)
            {
                if (!TryLongLat(ref c, at + 1, out longitude, out latitude)) return;
                fromLonLat = true;
                i += 2;
            }
            else if (c.ArgIs(at, "BYRADIUS"u8) && i + 2 < remaining && search && !byBox)
            {
                if (!TryRadius(ref c, at + 1, out radius, out toMeters)) return;
                box = false;
                byRadius = true;
                i += 2;
            }
            else if (c.ArgIs(at, "BYBOX"u8) && i + 3 < remaining && search && !byRadius)
            {
                if (!TryBox(ref c, at + 1, out width, out height, out toMeters)) return;
                box = true;
                byBox = true;
                i += 3;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        if (storeIndex >= 0 && (withDist || withHash || withCoord))
        {
            c.Reply.Error((kind & SearchKind.Store) != 0
                ? "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
                : "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
            return;
        }
        if (search && !(fromMember || fromLonLat))
        {
            c.Reply.Error($"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {c.ArgString(0)}");
            return;
        }
        if (search && !(byRadius || byBox))
        {
            c.Reply.Error($"ERR exactly one of BYRADIUS and BYBOX can be specified for {c.ArgString(0)}");
            return;
        }
        if (any && count == 0)
        {
            c.Reply.Error("ERR the ANY argument requires COUNT argument");
            return;
        }
        if (z is null)
        {
            if (storeIndex >= 0)
            {
                db.Delete(c.Arg(storeIndex));
                c.Reply.Integer(0);
            }
            else
            {
                c.Reply.ArrayHeader(0);
            }
            return;
        }
        // COUNT without an order means the closest N (not with ANY, which takes the first N found).
        if (count != 0 && sort == 0 && !any) sort = 1;

        var shape = new GeoShape(longitude, latitude, toMeters, box, radius, width, height);
        var found = Collect(z, shape, any ? count : 0);
        if (found.Count == 0 && storeIndex < 0)
        {
            c.Reply.ArrayHeader(0);
            return;
        }
        if (sort != 0)
        {
            // glibc's qsort is a merge sort: stable, so equal distances keep the order they were found in
            found.Sort((a, b) =>
            {
                int byDistance = a.Distance.CompareTo(b.Distance);
                return byDistance != 0 ? (sort == 2 ? -byDistance : byDistance) : a.Order.CompareTo(b.Order);
            });
        }
        int returned = count == 0 || found.Count < count ? found.Count : (int)count;
        if (storeIndex < 0)
        {
            int options = (withDist ? 1 : 0) + (withHash ? 1 : 0) + (withCoord ? 1 : 0);
            c.Reply.ArrayHeader(returned);
            for (int i = 0; i < returned; i++)
            {
                var f = found[i];
                if (options > 0) c.Reply.ArrayHeader(options + 1);
                c.Reply.Bulk(f.Member);
                if (withDist) Distance(ref c, f.Distance / toMeters);
                if (withHash) c.Reply.Integer((long)f.Score);
                if (withCoord)
                {
                    c.Reply.ArrayHeader(2);
                    Coordinate(ref c, f.Longitude);
                    Coordinate(ref c, f.Latitude);
                }
            }
            return;
        }
        var destination = c.Arg(storeIndex);
        if (returned > 0)
        {
            var result = new RedisSortedSet();
            for (int i = 0; i < returned; i++) result.Set(found[i].Member, storeDist ? found[i].Distance / toMeters : found[i].Score);
            db.SetObject(destination, result, (kind & SearchKind.Search) != 0 ? KeyEvent.GeoSearchStore : KeyEvent.GeoRadiusStore);
        }
        else
        {
            db.Delete(destination);
        }
        c.Reply.Integer(returned);
    }

    /// <summary>The members inside the shape, cell by cell (centre then neighbours, each in score order), stopping at
    /// <paramref name="limit"/> when it is not 0 (ANY).</summary>
    private static List<Found> Collect(RedisSortedSet z, in GeoShape shape, long limit)
    {
        Span<GeoCell> cells = stackalloc GeoCell[9];
        GeoHash.SearchCells(shape, cells);
        var found = new List<Found>();
        int lastProcessed = 0;
        for (int i = 0; i < cells.Length; i++)
        {
            if (cells[i].IsNone) continue;
            // with a huge radius adjacent cells can be the same cell: read it once
            if (lastProcessed != 0 && cells[i] == cells[lastProcessed]) continue;
            if (found.Count > 0 && limit != 0 && found.Count >= limit) break;
            ulong min = GeoHash.Align52(cells[i]);
            ulong max = GeoHash.Align52(cells[i] with { Bits = cells[i].Bits + 1 });
            var range = new ScoreRange(min, max, MinExclusive: false, MaxExclusive: true);
            for (var node = z.List.FirstInRange(range); node is not null && range.BelowMax(node.Score); node = node.Next)
            {
                var (longitude, latitude) = GeoHash.DecodeScore(node.Score);
                if (GeoHash.Within(shape, longitude, latitude, out double distance))
                {
                    found.Add(new Found
                    {
                        Member = node.Member, Longitude = longitude, Latitude = latitude, Distance = distance,
                        Score = node.Score, Order = found.Count,
                    });
                }
                if (found.Count > 0 && limit != 0 && found.Count >= limit) break;
            }
            lastProcessed = i;
        }
        return found;
    }
}
