using System.Globalization;
using System.Text;
using ScottPlot;

namespace Demikernel.Compare;

/// <summary>Writes compare.md and the SVG charts from one run's results.</summary>
internal static class Report
{
    private static readonly Dictionary<string, Color> Palette = new()
    {
        ["ours"] = new Color(31, 119, 180),
        ["redis"] = new Color(214, 39, 40),
        ["garnet"] = new Color(44, 160, 44),
    };

    /// <summary>Also writes a PNG beside each SVG (to look at the charts where no SVG viewer is at hand).</summary>
    public static bool AlsoPng { get; set; }

    private static void Save(Plot plot, string path, int width, int height)
    {
        plot.SaveSvg(path, width, height);
        if (AlsoPng) plot.SavePng(Path.ChangeExtension(path, ".png"), width, height);
    }

    private static string F(double v, string format = "F2") => v.ToString(format, CultureInfo.InvariantCulture);

    private static (double Min, double Median, double Max) Spread(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        if (s.Length == 0) return (double.NaN, double.NaN, double.NaN);
        double median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        return (s[0], median, s[^1]);
    }

    private static string Mmm((double Min, double Median, double Max) x, string format = "F2") =>
        double.IsNaN(x.Median) ? "–" : $"{F(x.Min, format)} / **{F(x.Median, format)}** / {F(x.Max, format)}";

    private sealed record Cell(string Command, int Value, long Keys, int Pipeline, int Connections)
    {
        public string Label => $"{Command} P{Pipeline} c{Connections}";
        public string FileName => $"{Command.ToLowerInvariant()}-p{Pipeline}-c{Connections}-{Value}b-{Keys}k";
    }

    public static void Write(Results results, string dir)
    {
        var o = results.Options;
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# demi-compare: {string.Join(", ", o.Servers)}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Run {results.Started} – {results.Finished}; load average before `{results.LoadBefore}`, after `{results.LoadAfter}`; {Environment.ProcessorCount} CPUs.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Servers pinned to core {o.ServerCore}, redis-benchmark (the client for every cell) to core {o.ClientCore}; {o.Rounds} rounds, servers interleaved cell by cell in an order that rotates each round.");
        md.AppendLine("Each figure is min / **median** / max over the rounds; ratios are taken per round (same cell, same round) before the median.");
        if (o.OursEnv.Length > 0) md.AppendLine(CultureInfo.InvariantCulture, $"Our server ran with `{string.Join(' ', o.OursEnv)}`.");
        md.AppendLine();

        var cells = results.Runs.Select(r => new Cell(r.Command, r.Value, r.Keys, r.Pipeline, r.Connections)).Distinct().ToList();
        foreach (var group in cells.GroupBy(c => (c.Keys, c.Value)))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## {group.Key.Keys:N0} keys, {group.Key.Value} B values");
            md.AppendLine();
            md.AppendLine("| server | keys loaded | used_memory B/key | RSS B/key | load s |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var g in results.Groups.Where(g => g.Keys == group.Key.Keys && g.Value == group.Key.Value))
                md.AppendLine(CultureInfo.InvariantCulture, $"| {g.Server} | {g.KeysWritten:N0} | {(g.UsedPerKey is double u ? F(u, "F1") : "–")} | {F(g.RssPerKey, "F1")} | {F(g.LoadSeconds, "F1")} |");
            md.AppendLine();
            md.AppendLine("(keys of the mixed preload: strings and counters, and lists, hashes, sets and sorted sets of 4 members; per-type figures are below)");
            md.AppendLine();
            md.AppendLine("| command | P | conns | server | requests/s | ratio to redis | p50 ms | p99 ms | p99.9 ms | server CPU µs/req | CPU ratio to redis | alloc B/req |");
            md.AppendLine("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var cell in group)
                foreach (var server in o.Servers)
                {
                    var runs = Runs(results, cell, server);
                    if (runs.Count == 0) continue;
                    var ratio = server == "redis" ? "1" : Mmm(Ratios(results, cell, server, r => r.Rps));
                    var cpuRatio = server == "redis" ? "1" : Mmm(Ratios(results, cell, server, r => r.CpuUsPerRequest));
                    var alloc = runs.All(r => r.Result.AllocBytesPerRequest is null) ? "–" : Mmm(Spread(runs.Select(r => r.Result.AllocBytesPerRequest ?? 0)), "F1");
                    md.AppendLine(CultureInfo.InvariantCulture,
                        $"| {cell.Command} | {cell.Pipeline} | {cell.Connections} | {server} | {Mmm(Spread(runs.Select(r => r.Result.Rps)), "N0")} | {ratio} | {F(Spread(runs.Select(r => r.Result.P50Ms)).Median, "F3")} | {F(Spread(runs.Select(r => r.Result.P99Ms)).Median, "F3")} | {F(Spread(runs.Select(r => r.Result.P999Ms)).Median, "F3")} | {Mmm(Spread(runs.Select(r => r.Result.CpuUsPerRequest)))} | {cpuRatio} | {alloc} |");
                }
            md.AppendLine();
            string tag = $"{group.Key.Value}b-{group.Key.Keys}k";
            RatioChart(results, [.. group], r => r.Rps, $"requests/s relative to redis-server ({group.Key.Keys:N0} keys, {group.Key.Value} B)", Path.Combine(dir, $"ratio-throughput-{tag}.svg"));
            RatioChart(results, [.. group], r => r.CpuUsPerRequest, $"server CPU per request relative to redis-server ({group.Key.Keys:N0} keys, {group.Key.Value} B; lower is better)", Path.Combine(dir, $"ratio-cpu-{tag}.svg"));
            md.AppendLine(CultureInfo.InvariantCulture, $"![throughput ratio](ratio-throughput-{tag}.svg)");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"![CPU ratio](ratio-cpu-{tag}.svg)");
            md.AppendLine();
            foreach (var cell in group) CdfChart(results, cell, o.Servers, Path.Combine(dir, $"cdf-{cell.FileName}.svg"));
            md.AppendLine(CultureInfo.InvariantCulture, $"Latency CDFs (median round of each server): `cdf-<command>-p<P>-c<conns>-{tag}.svg`, e.g.");
            md.AppendLine();
            foreach (var cell in group.Where(c => c.Command is "GET" or "SET").Take(4))
                md.AppendLine(CultureInfo.InvariantCulture, $"![{cell.Label}](cdf-{cell.FileName}.svg)");
            md.AppendLine();
        }

        if (results.Types.Count > 0)
        {
            md.AppendLine("## Memory per key by type");
            md.AppendLine();
            md.AppendLine("Each type loaded alone into freshly started servers (strings: 16 B or 1 KB values; collections: 100 elements of 16 B values, members `member:NNN`, scores 0-99); used_memory and RSS growth over the load, per key.");
            md.AppendLine();
            md.AppendLine("| type | keys | server | used_memory B/key | ratio to redis | RSS B/key | ratio to redis | encoding |");
            md.AppendLine("|---|---:|---|---:|---:|---:|---:|---|");
            foreach (var t in results.Types)
            {
                var redis = results.Types.FirstOrDefault(x => x.Server == "redis" && x.Type == t.Type);
                string ur = t.UsedPerKey is double u && redis?.UsedPerKey is double ru ? F(u / ru) : "–";
                string rr = redis is not null ? F(t.RssPerKey / redis.RssPerKey) : "–";
                md.AppendLine(CultureInfo.InvariantCulture, $"| {t.Type} | {t.Keys:N0} | {t.Server} | {(t.UsedPerKey is double x ? F(x, "F1") : "–")} | {ur} | {F(t.RssPerKey, "F1")} | {rr} | {t.Encoding} |");
            }
            md.AppendLine();
            MemoryChart(results, t => t.UsedPerKey, "used_memory per key (B)", Path.Combine(dir, "memory-used-per-key.svg"));
            MemoryChart(results, t => t.RssPerKey, "RSS growth per key (B)", Path.Combine(dir, "memory-rss-per-key.svg"));
            md.AppendLine("![used_memory per key](memory-used-per-key.svg)");
            md.AppendLine();
            md.AppendLine("![RSS per key](memory-rss-per-key.svg)");
            md.AppendLine();
        }
        File.WriteAllText(Path.Combine(dir, "compare.md"), md.ToString());
    }

    private static List<CellRun> Runs(Results results, Cell c, string server) =>
        [.. results.Runs.Where(r => r.Server == server && r.Command == c.Command && r.Value == c.Value && r.Keys == c.Keys && r.Pipeline == c.Pipeline && r.Connections == c.Connections)];

    private static (double, double, double) Ratios(Results results, Cell c, string server, Func<RunResult, double> metric)
    {
        var redis = Runs(results, c, "redis").ToDictionary(r => r.Round);
        return Spread(Runs(results, c, server).Where(r => redis.ContainsKey(r.Round)).Select(r => metric(r.Result) / metric(redis[r.Round].Result)));
    }

    private static void RatioChart(Results results, List<Cell> cells, Func<RunResult, double> metric, string title, string path)
    {
        var others = results.Options.Servers.Where(s => s != "redis").ToArray();
        if (!results.Options.Servers.Contains("redis") || others.Length == 0) return;
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < cells.Count; i++)
        {
            double x0 = i * (others.Length + 1);
            for (int k = 0; k < others.Length; k++)
            {
                var (min, median, max) = Ratios(results, cells[i], others[k], metric);
                if (double.IsNaN(median)) continue;
                // log2 scale: a bar rises for "more than redis-server" and falls for "less", symmetric for 2x and 1/2x
                bars.Add(new Bar { Position = x0 + k, Value = Math.Log2(median), FillColor = Palette[others[k]], Label = F(median) });
                // min and max over the rounds as a thin line through the bar
                var line = plot.Add.Line(x0 + k, Math.Log2(min), x0 + k, Math.Log2(max));
                line.LineColor = Colors.Black;
                line.LineWidth = 1.5f;
            }
            ticks.Add(new Tick(x0 + (others.Length - 1) / 2.0, cells[i].Label, true));
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 9;
        var one = plot.Add.HorizontalLine(0);
        one.LineColor = Palette["redis"];
        one.LinePattern = LinePattern.Dashed;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 90;
        double[] steps = [-3, -2, -1, 0, 1, 2, 3, 4, 5];
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(steps,
            [.. steps.Select(e => e < 0 ? $"1/{Math.Pow(2, -e)}" : $"{Math.Pow(2, e)}")]);
        plot.Axes.Left.Label.Text = "ratio to redis-server (log scale)";
        plot.Title(title + "; median of rounds, line: min to max");
        foreach (var s in others) plot.Legend.ManualItems.Add(new LegendItem { LabelText = s, FillColor = Palette[s] });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "redis-server = 1", LineColor = Palette["redis"], LinePattern = LinePattern.Dashed, LineWidth = 1 });
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, Math.Max(700, cells.Count * 60), 480);
    }

    private static void CdfChart(Results results, Cell cell, string[] servers, string path)
    {
        var plot = new Plot();
        foreach (var server in servers)
        {
            var runs = Runs(results, cell, server).OrderBy(r => r.Result.Rps).ToList();
            if (runs.Count == 0) continue;
            var median = runs[runs.Count / 2].Result;
            // x: "nines" (-log10 of the share above), so the tail gets room: 90% at 1, 99% at 2, 99.9% at 3.
            var points = median.Cdf.Where(p => p.Percent < 100).Select(p => (X: -Math.Log10(1 - p.Percent / 100), Y: p.Ms)).ToArray();
            if (points.Length == 0) continue;
            var sp = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            sp.Color = Palette[server];
            sp.LegendText = server;
            sp.MarkerSize = 3;
            sp.ConnectStyle = ConnectStyle.StepVertical;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [0, 0.30103, 1, 2, 3, 4], ["0%", "50%", "90%", "99%", "99.9%", "99.99%"]);
        plot.Axes.Bottom.Label.Text = "percentile";
        plot.Axes.Left.Label.Text = "latency (ms)";
        plot.Title($"{cell.Label}, {cell.Keys:N0} keys, {cell.Value} B: latency by percentile");
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 700, 420);
    }

    private static void MemoryChart(Results results, Func<TypeMemory, double?> metric, string title, string path)
    {
        var servers = results.Options.Servers;
        var types = results.Types.Select(t => t.Type).Distinct().ToList();
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < types.Count; i++)
        {
            double x0 = i * (servers.Length + 1);
            for (int k = 0; k < servers.Length; k++)
            {
                var t = results.Types.FirstOrDefault(x => x.Type == types[i] && x.Server == servers[k]);
                if (t is null || metric(t) is not double v) continue;
                bars.Add(new Bar { Position = x0 + k, Value = v, FillColor = Palette[servers[k]], Label = F(v, "F0") });
            }
            ticks.Add(new Tick(x0 + (servers.Length - 1) / 2.0, types[i], true));
        }
        var bp = plot.Add.Bars(bars);
        bp.ValueLabelStyle.FontSize = 9;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Left.Label.Text = "bytes per key";
        plot.Axes.Margins(bottom: 0);
        plot.Title(title + " (strings: 16 B / 1 KB values; collections: 100 elements)");
        // Garnet reports no used_memory: a server without a figure gets no legend entry.
        foreach (var s in servers.Where(s => results.Types.Any(t => t.Server == s && metric(t) is not null)))
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = s, FillColor = Palette[s] });
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 800, 440);
    }
}
