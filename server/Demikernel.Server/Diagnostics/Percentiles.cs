using System.Globalization;

namespace Demikernel.Server.Diagnostics;

/// <summary>latency-tracking-info-percentiles: a space-separated list of percentiles (0..100) INFO latencystats shows.</summary>
internal static class Percentiles
{
    /// <summary>Checks the value as redis-server 7.0 does; <paramref name="shown"/> is how CONFIG GET shows it.</summary>
    public static string? Validate(string value, out string shown)
    {
        shown = "";
        var words = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var parsed = new double[words.Length];
        for (int i = 0; i < words.Length; i++)
        {
            if (!double.TryParse(words[i], NumberStyles.Float, CultureInfo.InvariantCulture, out parsed[i]) || double.IsNaN(parsed[i]))
                return "Invalid latency-tracking-info-percentiles parameters";
            if (parsed[i] is > 100.0 or < 0.0)
                return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
        }
        shown = string.Join(' ', parsed.Select(Format));
        return null;
    }

    public static double[] Parse(string shown) =>
        shown.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => double.Parse(w, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>C's "%f" with the trailing zeros (and a trailing point) removed, as redis's trimDoubleString.</summary>
    public static string Format(double p)
    {
        string s = p.ToString("F6", CultureInfo.InvariantCulture);
        if (s.Contains('.')) s = s.TrimEnd('0').TrimEnd('.');
        return s;
    }
}
