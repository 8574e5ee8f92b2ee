using System.Globalization;
using System.Text;
using Demikernel.Resp;

namespace Demikernel.Server.Tests;

/// <summary>GEO commands compared byte for byte with redis-server 7.0: positions, distances, hashes, every search
/// option and error, under RESP2 and RESP3, over fixed places and seeded random points (near the poles, the
/// antimeridian and the equator included), so that the cells searched and the order of results agree too.</summary>
public sealed class GeoCommandTests
{
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static List<string[]> Script(int seed)
    {
        var rng = new Random(seed);
        var script = new List<string[]>
        {
            new[] { "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania" },
            new[] { "GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo", "12.758489", "38.788135", "edge1" },
            new[] { "GEOADD", "Sicily", "NX", "XX", "1", "2", "x" }, new[] { "GEOADD", "Sicily", "1", "2" },
            new[] { "GEOADD", "Sicily", "200", "100", "bad" }, new[] { "GEOADD", "Sicily", "abc", "1", "bad" },
            new[] { "GEOADD", "Sicily", "10", "85.06", "bad" }, new[] { "GEOADD", "Sicily", "XX", "CH", "15", "37", "Catania" },
            new[] { "GEOADD", "Sicily", "NX", "16", "38", "Catania", "17", "39", "new" }, new[] { "GEOADD", "none", "XX", "1", "1", "a" },
            new[] { "GEOADD", "Sicily", "GT", "1", "1", "a" },
            new[] { "GEODIST", "Sicily", "Palermo", "Catania" }, new[] { "GEODIST", "Sicily", "Palermo", "Catania", "km" },
            new[] { "GEODIST", "Sicily", "Palermo", "Catania", "MI" }, new[] { "GEODIST", "Sicily", "Palermo", "Catania", "ft" },
            new[] { "GEODIST", "Sicily", "Palermo", "Catania", "yd" }, new[] { "GEODIST", "Sicily", "Palermo", "nope" },
            new[] { "GEODIST", "none", "a", "b" }, new[] { "GEODIST", "Sicily", "Palermo", "Palermo" }, new[] { "GEODIST", "Sicily", "a", "b", "m", "x" },
            new[] { "GEOHASH", "Sicily", "Palermo", "Catania", "nope" }, new[] { "GEOHASH", "none", "a" },
            new[] { "GEOPOS", "Sicily", "Palermo", "Catania", "nope" }, new[] { "GEOPOS", "none", "a", "b" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC" }, new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "COUNT", "1" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "2", "ANY" }, new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0" }, new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "-1", "km" }, new[] { "GEORADIUS", "Sicily", "15", "37", "x", "km" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "parsec" }, new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "BOGUS" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst" }, new[] { "ZRANGE", "dst", "0", "-1", "WITHSCORES" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst" }, new[] { "ZRANGE", "dst", "0", "-1", "WITHSCORES" },
            new[] { "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst", "WITHDIST" }, new[] { "GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "dst" },
            new[] { "EXISTS", "dst" }, new[] { "GEORADIUS", "none", "15", "37", "1", "km" }, new[] { "SET", "dst", "x" },
            new[] { "GEORADIUS", "none", "15", "37", "1", "km", "STORE", "dst" }, new[] { "EXISTS", "dst" },
            new[] { "GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "dst" }, new[] { "GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST" },
            new[] { "GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "km", "WITHDIST", "ASC" }, new[] { "GEORADIUSBYMEMBER", "Sicily", "nope", "300", "km" },
            new[] { "GEORADIUSBYMEMBER", "none", "nope", "x", "parsec", "WITHDIST" }, new[] { "GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "0", "km", "WITHCOORD" },
            new[] { "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST" },
            new[] { "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "DESC", "WITHHASH" },
            new[] { "GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYBOX", "400", "400", "km" },
            new[] { "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km" },
            new[] { "GEOSEARCH", "Sicily", "BYRADIUS", "1", "km" }, new[] { "geosearch", "Sicily", "FROMLONLAT", "1", "2", "COUNT", "1" },
            new[] { "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km" },
            new[] { "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km" }, new[] { "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km" },
            new[] { "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "y", "km" }, new[] { "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x" },
            new[] { "GEOSEARCH", "none", "FROMMEMBER", "x", "BYRADIUS", "1", "km" },
            new[] { "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST" }, new[] { "ZRANGE", "dst", "0", "-1", "WITHSCORES" },
            new[] { "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "COUNT", "2", "DESC" }, new[] { "ZRANGE", "dst", "0", "-1", "WITHSCORES" },
            new[] { "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHCOORD" },
            new[] { "GEOSEARCHSTORE", "dst", "none", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km" }, new[] { "EXISTS", "dst" },
            new[] { "SET", "str", "v" }, new[] { "GEOADD", "str", "1", "1", "a" }, new[] { "GEOPOS", "str", "a" }, new[] { "GEOSEARCH", "str", "x" },
            new[] { "GEOADD", "str", "1000", "1", "a" },
        };

        // Seeded points: a dense cluster, points near the poles' limit, across the antimeridian and on the equator.
        var args = new List<string> { "GEOADD", "pts" };
        for (int i = 0; i < 400; i++)
        {
            double lon, lat;
            switch (i % 4)
            {
                case 0: lon = 2.35 + rng.NextDouble() - 0.5; lat = 48.85 + rng.NextDouble() - 0.5; break;
                case 1: lon = rng.NextDouble() * 360 - 180; lat = 84 + rng.NextDouble() * 1.05; break;
                case 2: lon = rng.Next(2) == 0 ? 179.5 + rng.NextDouble() * 0.5 : -180 + rng.NextDouble() * 0.5; lat = rng.NextDouble() * 10 - 5; break;
                default: lon = rng.NextDouble() * 360 - 180; lat = rng.NextDouble() * 170 - 85; break;
            }
            args.AddRange([F(lon), F(lat), $"p{i}"]);
        }
        script.Add(args.ToArray());
        script.Add(["GEOADD", "pts", "180", "85.05112878", "corner1", "-180", "-85.05112878", "corner2", "0", "0", "origin"]);
        script.Add(["GEOPOS", "pts", "corner1", "corner2", "origin", "p0", "p1", "p2", "p3"]);
        script.Add(["GEOHASH", "pts", "corner1", "corner2", "origin", "p0", "p1", "p2", "p3"]);
        string[] units = ["m", "km", "mi", "ft"];
        for (int i = 0; i < 60; i++)
        {
            string unit = units[rng.Next(units.Length)];
            string member = $"p{rng.Next(400)}";
            double radius = Math.Pow(10, rng.NextDouble() * 7) / (unit == "m" ? 1 : 100);
            string r = F(Math.Round(radius, 3));
            string[] opts = rng.Next(3) switch { 0 => ["WITHDIST", "ASC"], 1 => ["WITHCOORD", "WITHHASH", "DESC", "COUNT", "7"], _ => ["WITHDIST", "COUNT", "5", "ANY"] };
            script.Add(i % 3 == 0
                ? ["GEORADIUSBYMEMBER", "pts", member, r, unit, .. opts]
                : i % 3 == 1
                    ? ["GEOSEARCH", "pts", "FROMMEMBER", member, "BYBOX", r, F(Math.Round(radius * rng.NextDouble() * 2, 3)), unit, .. opts]
                    : ["GEOSEARCH", "pts", "FROMLONLAT", F(rng.NextDouble() * 360 - 180), F(rng.NextDouble() * 170 - 85), "BYRADIUS", r, unit, .. opts]);
            script.Add(["GEODIST", "pts", member, $"p{rng.Next(400)}", unit]);
        }
        script.Add(["GEORADIUS", "pts", "0", "0", "5000", "km"]); // huge radius: adjacent cells coincide
        script.Add(["GEOSEARCH", "pts", "FROMLONLAT", "179.9", "0", "BYRADIUS", "200", "km", "ASC"]);
        script.Add(["GEOSEARCH", "pts", "FROMLONLAT", "0", "85", "BYBOX", "3000", "300", "km", "ASC", "WITHDIST"]);
        return script;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RepliesMatchRedisServer(int protocol)
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        if (protocol == 3)
        {
            redis.Run("HELLO", "3");
            h.Protocol = RespVersion.Resp3;
        }
        var mismatches = redis.Compare(h, Script(20261202));
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} differences:\n" + string.Join("\n", mismatches.Take(20)));
    }

    /// <summary>GEOADD reaches the AOF as redis-server rewrites it (zadd with the 52-bit scores); the searches that
    /// store propagate as given.</summary>
    [Fact]
    public void WritesPropagateAsRedisServerWritesThem() => EffectsScript.Check([
        ["GEOADD", "k", "CH", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["GEOADD", "k", "NX", "13.361389", "38.115556", "Palermo"], ["GEOADD", "k", "XX", "1", "1", "Palermo"],
        ["GEORADIUS", "k", "15", "37", "200", "km", "STORE", "d"], ["GEOSEARCHSTORE", "d2", "k", "FROMMEMBER", "Palermo", "BYRADIUS", "10", "km"],
        ["GEOSEARCHSTORE", "d2", "k", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "STOREDIST"],
    ]);
}
