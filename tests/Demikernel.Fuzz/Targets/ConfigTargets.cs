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

/// <summary>
/// The redis.conf reader (RedisConfFile: lines, sdssplitargs quoting) and every directive applied to a fresh parameter
/// table (ServerConfig.LoadDirective, the path of redis.conf, the command line and the YAML's server keys). Invariants:
/// reading either succeeds or throws <see cref="RedisConfException"/> (redis's fatal message); applying a directive
/// never throws and says why when it refuses; every word read back through CONFIG REWRITE's quoting splits to the same
/// word; the loaded table still gives its start-up options. Includes are not followed (an input must not name files).
/// </summary>
internal static class RedisConfTargets
{
    public static void RedisConf(ReadOnlySpan<byte> input)
    {
        List<Demikernel.Server.ConfigDirective> directives;
        try
        {
            directives = Demikernel.Server.RedisConfFile.Parse(Encoding.Latin1.GetString(input), "fuzz.conf");
        }
        catch (Demikernel.Server.RedisConfException)
        {
            return;
        }
        var config = new Demikernel.Server.ServerConfig(new Demikernel.Server.ServerOptions());
        foreach (var d in directives)
        {
            foreach (string word in d.Args)
            {
                var back = Demikernel.Server.RedisConfFile.SplitArgs(Demikernel.Server.RedisConfFile.Quote(word));
                Invariant.True(back is { Length: 1 } && back[0] == word, $"'{word}' does not survive CONFIG REWRITE's quoting");
            }
            var result = config.LoadDirective(d.Name, d.Args, out string? why);
            if (result is Demikernel.Server.DirectiveResult.Error or Demikernel.Server.DirectiveResult.Unsupported)
                Invariant.True(!string.IsNullOrEmpty(why), $"'{d.Text}' refused without a reason");
            _ = Demikernel.Server.RedisConfFile.FatalLine(d, why ?? "");
        }
        _ = config.ToOptions(new Demikernel.Server.ServerOptions());
    }
}
