namespace Demikernel.Server.Store;

/// <summary>A geohash cell: <see cref="Bits"/> interleaves <see cref="Step"/> bits of latitude (even positions) and
/// longitude (odd positions). Step 0 with no bits is "no cell" (a neighbour the search excluded).</summary>
internal readonly record struct GeoCell(ulong Bits, int Step)
{
    public bool IsNone => Bits == 0 && Step == 0;
}

/// <summary>A cell's bounds in degrees.</summary>
internal readonly record struct GeoArea(double LongitudeMin, double LongitudeMax, double LatitudeMin, double LatitudeMax);

/// <summary>A search shape (GEOSEARCH BYRADIUS / BYBOX) around a centre; sizes in the request's unit, times
/// <see cref="ToMeters"/> in metres.</summary>
internal readonly record struct GeoShape(double Longitude, double Latitude, double ToMeters, bool IsBox, double Radius, double Width, double Height);

/// <summary>
/// The GEO commands' arithmetic, as redis-server 7.0 does it (geohash.c, geohash_helper.c): a position is a sorted-set
/// score holding a 52-bit geohash over longitude -180..180 and latitude -85.05112878..85.05112878 (EPSG:3857's
/// limits); a radius or box search reads the score ranges of the centre's cell and its 8 neighbours at a step chosen
/// from the radius, then filters by the haversine distance on a sphere of 6372797.560856 m. Every operation is the
/// same double arithmetic in the same order as redis-server, so positions, distances and the cells searched (and
/// hence results and their order) agree bit for bit.
/// </summary>
internal static class GeoHash
{
    public const int MaxStep = 26; // 52 bits
    public const double LatitudeMin = -85.05112878, LatitudeMax = 85.05112878;
    public const double LongitudeMin = -180, LongitudeMax = 180;
    public const double EarthRadiusMeters = 6372797.560856;
    private const double MercatorMax = 20037726.37;
    private const double DegToRad = Math.PI / 180.0;

    public static bool IsValid(double longitude, double latitude) =>
        longitude >= LongitudeMin && longitude <= LongitudeMax && latitude >= LatitudeMin && latitude <= LatitudeMax;

    /// <summary>The cell of a position at <paramref name="step"/> over the given ranges (GEOHASH re-encodes over
    /// latitude -90..90, the standard geohash).</summary>
    public static GeoCell Encode(double longitude, double latitude, int step,
        double longMin = LongitudeMin, double longMax = LongitudeMax, double latMin = LatitudeMin, double latMax = LatitudeMax)
    {
        double latOffset = (latitude - latMin) / (latMax - latMin);
        double longOffset = (longitude - longMin) / (longMax - longMin);
        latOffset *= 1UL << step;
        longOffset *= 1UL << step;
        return new GeoCell(Interleave((uint)latOffset, (uint)longOffset), step);
    }

    /// <summary>The sorted-set score of a position: its 26-step cell as a 52-bit integer.</summary>
    public static double Score(double longitude, double latitude) => Align52(Encode(longitude, latitude, MaxStep));

    public static ulong Align52(GeoCell cell) => cell.Bits << (52 - cell.Step * 2);

    public static GeoArea Decode(GeoCell cell)
    {
        ulong separated = Deinterleave(cell.Bits);
        const double latScale = LatitudeMax - LatitudeMin, longScale = LongitudeMax - LongitudeMin;
        uint lat = (uint)separated, lon = (uint)(separated >> 32);
        double cells = 1UL << cell.Step;
        return new GeoArea(
            LongitudeMin + (lon * 1.0 / cells) * longScale,
            LongitudeMin + ((lon + 1UL) * 1.0 / cells) * longScale,
            LatitudeMin + (lat * 1.0 / cells) * latScale,
            LatitudeMin + ((lat + 1UL) * 1.0 / cells) * latScale);
    }

    /// <summary>The position a score stands for: the centre of its 26-step cell, clamped to the valid range.</summary>
    public static (double Longitude, double Latitude) DecodeScore(double score)
    {
        var area = Decode(new GeoCell((ulong)score, MaxStep));
        double x = Math.Clamp((area.LongitudeMin + area.LongitudeMax) / 2, LongitudeMin, LongitudeMax);
        double y = Math.Clamp((area.LatitudeMin + area.LatitudeMax) / 2, LatitudeMin, LatitudeMax);
        return (x, y);
    }

    /// <summary>Haversine distance in metres; along a meridian (no longitude change) the simpler latitude distance.</summary>
    public static double Distance(double lon1, double lat1, double lon2, double lat2)
    {
        double lon1r = lon1 * DegToRad, lon2r = lon2 * DegToRad;
        double v = Math.Sin((lon2r - lon1r) / 2);
        if (v == 0.0) return LatitudeDistance(lat1, lat2);
        double lat1r = lat1 * DegToRad, lat2r = lat2 * DegToRad;
        double u = Math.Sin((lat2r - lat1r) / 2);
        double a = u * u + Math.Cos(lat1r) * Math.Cos(lat2r) * v * v;
        return 2.0 * EarthRadiusMeters * Math.Asin(Math.Sqrt(a));
    }

    private static double LatitudeDistance(double lat1, double lat2) => EarthRadiusMeters * Math.Abs(lat2 * DegToRad - lat1 * DegToRad);

    /// <summary>Whether a decoded point lies in the shape; its distance from the centre when it does.</summary>
    public static bool Within(in GeoShape shape, double longitude, double latitude, out double distance)
    {
        if (!shape.IsBox)
        {
            distance = Distance(shape.Longitude, shape.Latitude, longitude, latitude);
            return distance <= shape.Radius * shape.ToMeters;
        }
        distance = 0;
        double width = shape.Width * shape.ToMeters, height = shape.Height * shape.ToMeters;
        if (LatitudeDistance(latitude, shape.Latitude) > height / 2) return false;
        if (Distance(longitude, latitude, shape.Longitude, latitude) > width / 2) return false;
        distance = Distance(shape.Longitude, shape.Latitude, longitude, latitude);
        return true;
    }

    /// <summary>The cells to read for a search, in redis-server's order: centre, N, S, E, W, NE, NW, SE, SW (the ones
    /// that cannot hold a match are <see cref="GeoCell.IsNone"/>).</summary>
    public static void SearchCells(in GeoShape shape, Span<GeoCell> cells)
    {
        double longitude = shape.Longitude, latitude = shape.Latitude;
        double height = shape.ToMeters * (shape.IsBox ? shape.Height / 2 : shape.Radius);
        double width = shape.ToMeters * (shape.IsBox ? shape.Width / 2 : shape.Radius);
        double latDelta = height / EarthRadiusMeters / DegToRad;
        double longDeltaTop = width / EarthRadiusMeters / Math.Cos((latitude + latDelta) * DegToRad) / DegToRad;
        double longDeltaBottom = width / EarthRadiusMeters / Math.Cos((latitude - latDelta) * DegToRad) / DegToRad;
        bool southern = latitude < 0;
        double minLon = southern ? longitude - longDeltaBottom : longitude - longDeltaTop;
        double maxLon = southern ? longitude + longDeltaBottom : longitude + longDeltaTop;
        double minLat = latitude - latDelta, maxLat = latitude + latDelta;

        double radiusMeters = shape.IsBox
            ? Math.Sqrt((shape.Width / 2) * (shape.Width / 2) + (shape.Height / 2) * (shape.Height / 2))
            : shape.Radius;
        radiusMeters *= shape.ToMeters;
        int step = EstimateStep(radiusMeters, latitude);
        var center = Encode(longitude, latitude, step);
        Neighbours(center, cells);
        var area = Decode(center);

        // The estimated step may be too fine near the cell's edges: then one step coarser.
        if (step > 1 && (Decode(cells[1]).LatitudeMax < maxLat || Decode(cells[2]).LatitudeMin > minLat
                         || Decode(cells[3]).LongitudeMax < maxLon || Decode(cells[4]).LongitudeMin > minLon))
        {
            step--;
            center = Encode(longitude, latitude, step);
            Neighbours(center, cells);
            area = Decode(center);
        }
        if (step >= 2)
        {
            // Drop the neighbours on a side the bounding box does not reach.
            if (area.LatitudeMin < minLat) cells[2] = cells[8] = cells[7] = default;
            if (area.LatitudeMax > maxLat) cells[1] = cells[5] = cells[6] = default;
            if (area.LongitudeMin < minLon) cells[4] = cells[8] = cells[6] = default;
            if (area.LongitudeMax > maxLon) cells[3] = cells[7] = cells[5] = default;
        }
    }

    private static int EstimateStep(double rangeMeters, double latitude)
    {
        if (rangeMeters == 0) return 26;
        int step = 1;
        while (rangeMeters < MercatorMax)
        {
            rangeMeters *= 2;
            step++;
        }
        step -= 2; // so that the range is inside most of the base cases
        if (latitude > 66 || latitude < -66)
        {
            step--; // cells narrow towards the poles
            if (latitude > 80 || latitude < -80) step--;
        }
        return Math.Clamp(step, 1, 26);
    }

    /// <summary>cells[0] = centre, then N, S, E, W, NE, NW, SE, SW.</summary>
    private static void Neighbours(GeoCell c, Span<GeoCell> cells)
    {
        cells[0] = c;
        cells[1] = Move(c, 0, 1);
        cells[2] = Move(c, 0, -1);
        cells[3] = Move(c, 1, 0);
        cells[4] = Move(c, -1, 0);
        cells[5] = Move(c, 1, 1);
        cells[6] = Move(c, -1, 1);
        cells[7] = Move(c, 1, -1);
        cells[8] = Move(c, -1, -1);
    }

    /// <summary>The adjacent cell: <paramref name="dx"/> moves the longitude bits (odd positions), <paramref name="dy"/>
    /// the latitude bits (even positions), wrapping around at the edges as the bit arithmetic does.</summary>
    private static GeoCell Move(GeoCell c, int dx, int dy)
    {
        ulong bits = c.Bits;
        int shift = 64 - c.Step * 2;
        if (dx != 0)
        {
            ulong x = bits & 0xAAAAAAAAAAAAAAAAUL, y = bits & 0x5555555555555555UL;
            ulong zz = 0x5555555555555555UL >> shift;
            x = dx > 0 ? x + (zz + 1) : (x | zz) - (zz + 1);
            x &= 0xAAAAAAAAAAAAAAAAUL >> shift;
            bits = x | y;
        }
        if (dy != 0)
        {
            ulong x = bits & 0xAAAAAAAAAAAAAAAAUL, y = bits & 0x5555555555555555UL;
            ulong zz = 0xAAAAAAAAAAAAAAAAUL >> shift;
            y = dy > 0 ? y + (zz + 1) : (y | zz) - (zz + 1);
            y &= 0x5555555555555555UL >> shift;
            bits = x | y;
        }
        return new GeoCell(bits, c.Step);
    }

    /// <summary>Bits of <paramref name="even"/> at even positions, of <paramref name="odd"/> at odd positions.</summary>
    private static ulong Interleave(uint even, uint odd) => Spread(even) | (Spread(odd) << 1);

    private static ulong Spread(ulong v)
    {
        v = (v | (v << 16)) & 0x0000FFFF0000FFFFUL;
        v = (v | (v << 8)) & 0x00FF00FF00FF00FFUL;
        v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0FUL;
        v = (v | (v << 2)) & 0x3333333333333333UL;
        return (v | (v << 1)) & 0x5555555555555555UL;
    }

    /// <summary>The inverse of <see cref="Interleave"/>: even-position bits in the low half, odd in the high half.</summary>
    private static ulong Deinterleave(ulong v) => Compact(v) | ((ulong)Compact(v >> 1) << 32);

    private static uint Compact(ulong v)
    {
        v &= 0x5555555555555555UL;
        v = (v | (v >> 1)) & 0x3333333333333333UL;
        v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0FUL;
        v = (v | (v >> 4)) & 0x00FF00FF00FF00FFUL;
        v = (v | (v >> 8)) & 0x0000FFFF0000FFFFUL;
        return (uint)((v | (v >> 16)) & 0x00000000FFFFFFFFUL);
    }
}
