using System.Globalization;
using System.Text;
using Demikernel.Resp;

namespace Demikernel.Server.Commands;

/// <summary>
/// LOLWUT [VERSION v] [args]: redis-server 7.0's computer art. This server reports version 7.0.15, for which redis
/// shows only "Redis ver. 7.0.15"; VERSION 5 draws Georg Nees's Schotter in braille characters (columns, squares per
/// row, squares per column) and VERSION 6 a skyline in terminal grays (columns, rows), with the same canvas, limits,
/// texts and randomness (fresh each call) as redis.
/// </summary>
internal static class LolwutCommand
{
    public static void Register(CommandTable table) => table.Add(new("LOLWUT", Lolwut));

    private static void Lolwut(ref CommandContext c)
    {
        string version = ServerInfo.RedisVersion;
        int first = 1; // the first argument the version's drawing reads
        if (c.Count >= 3 && c.ArgString(1).Equals("version", StringComparison.OrdinalIgnoreCase))
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(2), out long v))
            {
                c.Reply.Error(Errors.NotInteger);
                return;
            }
            version = ((uint)v).ToString(CultureInfo.InvariantCulture) + ".0.0"; // as redis's "%u.0.0"
            first = 3;
        }
        // redis's dispatch on the version string: 5.x (but 5.9) and 4.9 draw Schotter, 6.x (but 6.9) and 5.9 the skyline
        bool five = (version.StartsWith("5.", StringComparison.Ordinal) && !version.StartsWith("5.9", StringComparison.Ordinal)) || version.StartsWith("4.9", StringComparison.Ordinal);
        bool six = (version.StartsWith("6.", StringComparison.Ordinal) && !version.StartsWith("6.9", StringComparison.Ordinal)) || version.StartsWith("5.9", StringComparison.Ordinal);
        string text;
        if (five)
        {
            long[] values = [66, 8, 12];
            if (!ReadLongs(ref c, first, values)) return;
            var canvas = Schotter((int)Math.Clamp(values[0], 1, 1000), (int)Math.Clamp(values[1], 1, 200), (int)Math.Clamp(values[2], 1, 200));
            text = RenderBraille(canvas) + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. " + ServerInfo.RedisVersion + "\n";
        }
        else if (six)
        {
            long[] values = [80, 20];
            if (!ReadLongs(ref c, first, values)) return;
            var canvas = new Canvas((int)Math.Clamp(values[0], 1, 1000), (int)Math.Clamp(values[1], 1, 1000), 3);
            Skyline(canvas);
            text = RenderGrays(canvas) + "\nDedicated to the 8 bit game developers of past and present.\n"
                + "Original 8 bit image from Plaguemon by hikikomori. Redis ver. " + ServerInfo.RedisVersion + "\n";
        }
        else
        {
            text = "Redis ver. " + ServerInfo.RedisVersion + "\n";
        }
        c.Reply.Verbatim("txt"u8, Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The optional integer arguments from <paramref name="first"/> on, over the defaults in
    /// <paramref name="values"/>; further arguments are ignored, as redis ignores them.</summary>
    private static bool ReadLongs(ref CommandContext c, int first, long[] values)
    {
        for (int i = 0; i < values.Length && first + i < c.Count; i++)
        {
            if (!RedisNumbers.TryParseInt64(c.Arg(first + i), out values[i]))
            {
                c.Reply.Error(Errors.NotInteger);
                return false;
            }
        }
        return true;
    }

    private sealed class Canvas(int width, int height, byte background)
    {
        public readonly int Width = width;
        public readonly int Height = height;
        private readonly byte[] _pixels = CreatePixels(width, height, background);

        private static byte[] CreatePixels(int width, int height, byte background)
        {
            var pixels = new byte[width * height];
            Array.Fill(pixels, background);
            return pixels;
        }

        public void Set(int x, int y, int color)
        {
            if (x >= 0 && x < Width && y >= 0 && y < Height) _pixels[x + (y * Width)] = (byte)color;
        }

        public int Get(int x, int y) => x >= 0 && x < Width && y >= 0 && y < Height ? _pixels[x + (y * Width)] : 0;

        /// <summary>Bresenham's line.</summary>
        public void Line(int x1, int y1, int x2, int y2, int color)
        {
            int dx = Math.Abs(x2 - x1), dy = Math.Abs(y2 - y1);
            int sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
            int err = dx - dy;
            while (true)
            {
                Set(x1, y1, color);
                if (x1 == x2 && y1 == y2) break;
                int e2 = err * 2;
                if (e2 > -dy) { err -= dy; x1 += sx; }
                if (e2 < dx) { err += dx; y1 += sy; }
            }
        }

        /// <summary>A square of the given side centred on (x, y), rotated by angle: its corners on a circle.</summary>
        public void Square(int x, int y, float size, float angle, int color)
        {
            size = MathF.Round(size / 1.4142135623f, MidpointRounding.AwayFromZero);
            Span<int> px = stackalloc int[4];
            Span<int> py = stackalloc int[4];
            float k = (MathF.PI / 4) + angle;
            for (int j = 0; j < 4; j++)
            {
                px[j] = (int)Math.Round((Math.Sin(k) * size) + x, MidpointRounding.AwayFromZero);
                py[j] = (int)Math.Round((Math.Cos(k) * size) + y, MidpointRounding.AwayFromZero);
                k += MathF.PI / 2;
            }
            for (int j = 0; j < 4; j++) Line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
        }
    }

    private static Canvas Schotter(int columns, int perRow, int perColumn)
    {
        int width = columns * 2;
        int padding = width > 4 ? 2 : 0;
        float side = (float)(width - (padding * 2)) / perRow;
        int height = (int)((side * perColumn) + (padding * 2));
        var canvas = new Canvas(width, height, 0);
        var random = Random.Shared;
        for (int y = 0; y < perColumn; y++)
        {
            for (int x = 0; x < perRow; x++)
            {
                int sx = (int)((x * side) + (side / 2) + padding);
                int sy = (int)((y * side) + (side / 2) + padding);
                float angle = 0;
                if (y > 1) // rows further down are rotated and moved more at random
                {
                    float r1 = random.NextSingle() / perColumn * y;
                    float r2 = random.NextSingle() / perColumn * y;
                    float r3 = random.NextSingle() / perColumn * y;
                    if (random.Next(2) == 1) r1 = -r1;
                    if (random.Next(2) == 1) r2 = -r2;
                    if (random.Next(2) == 1) r3 = -r3;
                    angle = r1;
                    sx = (int)(sx + (r2 * side / 3)); // as C's int += float
                    sy = (int)(sy + (r3 * side / 3));
                }
                canvas.Square(sx, sy, side, angle, 1);
            }
        }
        return canvas;
    }

    /// <summary>Each 2x4 block of pixels as one braille character (U+2800 + the dot bits).</summary>
    private static string RenderBraille(Canvas canvas)
    {
        var text = new StringBuilder();
        for (int y = 0; y < canvas.Height; y += 4)
        {
            for (int x = 0; x < canvas.Width; x += 2)
            {
                int bits = 0;
                if (canvas.Get(x, y) != 0) bits |= 1 << 0;
                if (canvas.Get(x, y + 1) != 0) bits |= 1 << 1;
                if (canvas.Get(x, y + 2) != 0) bits |= 1 << 2;
                if (canvas.Get(x + 1, y) != 0) bits |= 1 << 3;
                if (canvas.Get(x + 1, y + 1) != 0) bits |= 1 << 4;
                if (canvas.Get(x + 1, y + 2) != 0) bits |= 1 << 5;
                if (canvas.Get(x, y + 3) != 0) bits |= 1 << 6;
                if (canvas.Get(x + 1, y + 3) != 0) bits |= 1 << 7;
                text.Append((char)(0x2800 + bits));
            }
            if (y != canvas.Height - 1) text.Append('\n'); // redis's condition, kept as it is
        }
        return text.ToString();
    }

    /// <summary>Each pixel as a space with one of four gray background colours (ANSI escapes).</summary>
    private static string RenderGrays(Canvas canvas)
    {
        var text = new StringBuilder();
        for (int y = 0; y < canvas.Height; y++)
        {
            for (int x = 0; x < canvas.Width; x++)
            {
                string escape = canvas.Get(x, y) switch
                {
                    1 => "0;90;100m",
                    2 => "0;37;47m",
                    3 => "0;97;107m",
                    _ => "0;30;40m",
                };
                text.Append("\u001b[").Append(escape).Append(" \u001b[0m");
            }
            if (y != canvas.Height - 1) text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Two passes of background towers without windows (the lighter gray behind), then black towers with
    /// windows of the two grays, two pixels wide, one tall.</summary>
    private static void Skyline(Canvas canvas)
    {
        var random = Random.Shared;
        for (int color = 2; color >= 1; color--)
        {
            for (int offset = -10; offset < canvas.Width;)
            {
                offset += random.Next(8);
                int width = 10 + random.Next(9);
                int height = color == 2
                    ? (canvas.Height / 2) + (random.Next(canvas.Height) / 2)
                    : (canvas.Height / 2) + (random.Next(canvas.Height) / 3);
                Tower(canvas, offset, width, height, windows: false, color, random);
                offset += color == 2 ? width / 2 : width + 1;
            }
        }
        for (int offset = -10; offset < canvas.Width;)
        {
            offset += random.Next(8);
            int width = 5 + random.Next(14);
            if (width % 4 != 0) width += width % 3;
            int height = (canvas.Height / 3) + (random.Next(canvas.Height) / 2);
            Tower(canvas, offset, width, height, windows: true, 0, random);
            offset += width + 5;
        }
    }

    private static void Tower(Canvas canvas, int xoff, int width, int height, bool windows, int color, Random random)
    {
        int starty = canvas.Height - 1;
        int endy = starty - height + 1;
        for (int y = starty; y >= endy; y--)
        {
            for (int x = xoff; x < xoff + width; x++)
            {
                if (y == endy && (x <= xoff + 1 || x >= xoff + width - 2)) continue; // the roof is four pixels narrower
                int pixel = color;
                if (windows && x > xoff + 1 && x < xoff + width - 2 && y > endy + 1 && y < starty - 1)
                {
                    int relx = x - (xoff + 1), rely = y - (endy + 1);
                    if ((relx / 2 % 2) != 0 && (rely % 2) != 0)
                    {
                        do pixel = 1 + random.Next(2); while (pixel == color);
                        if ((relx % 2) != 0) pixel = canvas.Get(x - 1, y); // both pixels of a window alike
                    }
                }
                canvas.Set(x, y, pixel);
            }
        }
    }
}
