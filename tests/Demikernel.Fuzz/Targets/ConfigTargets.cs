using System.Text;

namespace Demikernel.Fuzz;

/// <summary>
/// The YAML config reader. Invariants: parsing either succeeds or throws <see cref="ConfigException"/> (the
/// documented "bad config", which the server prints and exits 2 with); so does every typed getter on every key the
/// file has; anchors and aliases cannot make it do unbounded work (a bound on time is the libFuzzer timeout).
/// </summary>
internal static class ConfigTargets
{
    public static void Yaml(ReadOnlySpan<byte> input)
    {
        LibOSConfig config;
        try
        {
            config = LibOSConfig.Parse(new StringReader(Encoding.UTF8.GetString(input)), static _ => null);
        }
        catch (ConfigException)
        {
            return;
        }
        foreach (var section in config.Sections.ToArray())
        {
            foreach (var key in config.Keys(section).ToArray())
            {
                _ = config.Get(section, key);
                _ = config.GetString(section, key, "");
                try { _ = config.GetInt(section, key, 0); } catch (ConfigException) { }
                try { _ = config.GetBool(section, key, false); } catch (ConfigException) { }
            }
        }
    }
}
