using System.Globalization;
using Demikernel.Runtime;
using YamlDotNet.RepresentationModel;

namespace Demikernel;

/// <summary>
/// Configuration in Demikernel's YAML shape (<c>demikernel:</c>, <c>catnap:</c>, <c>raw_socket:</c>,
/// <c>inetstack_config:</c>, ... plus the server's own <c>server:</c> section), read as a tree of sections.
/// Any leaf can be overridden by an environment variable named like the key, upper-cased, behind one prefix
/// (<c>local_ipv4_addr</c> → <c>DEMIKERNEL_LOCAL_IPV4_ADDR</c>, <c>port</c> → <c>DEMIKERNEL_PORT</c>): unprefixed names
/// such as PORT or BIND are common in containers and must not change a server by accident.
/// </summary>
public sealed class LibOSConfig : IBackendConfig
{
    private readonly Dictionary<string, Dictionary<string, string>> _sections = new(StringComparer.Ordinal);
    private readonly Func<string, string?> _environment;
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    /// <summary>The prefix of environment variables that override keys.</summary>
    public const string EnvironmentPrefix = "DEMIKERNEL_";

    public LibOSConfig(Func<string, string?>? environment = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <summary>Where the configuration came from, for error messages.</summary>
    public string Source { get; private set; } = "defaults";

    public static LibOSConfig Load(string path, Func<string, string?>? environment = null)
    {
        if (!File.Exists(path)) throw new ConfigException($"config file '{path}' does not exist");
        using var reader = File.OpenText(path);
        var config = Parse(reader, environment);
        config.Source = path;
        return config;
    }

    public static LibOSConfig Parse(TextReader yaml, Func<string, string?>? environment = null)
    {
        var config = new LibOSConfig(environment) { Source = "yaml" };
        var stream = new YamlStream();
        try
        {
            // Aliases (*name) are refused before the tree is built: YamlDotNet's tree compares and hashes an alias
            // cycle recursively until the stack overflows, which kills the process (found by fuzzing, config-yaml).
            string text = yaml.ReadToEnd();
            var parser = new YamlDotNet.Core.Parser(new StringReader(text));
            while (parser.MoveNext())
            {
                if (parser.Current is YamlDotNet.Core.Events.AnchorAlias alias)
                    throw new ConfigException($"config uses the alias *{alias.Value} (line {alias.Start.Line}): aliases are not supported");
            }
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"config is not valid YAML: {e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet 16.3 throws these instead of a YamlException on some malformed files: InvalidOperationException
            // from its scanner on a broken plain scalar, ArgumentException ("unsupported type" of event) from its
            // parser (both found by fuzzing: tests/Demikernel.Fuzz, target config-yaml).
            throw new ConfigException($"config is not valid YAML: {e.Message}");
        }
        if (stream.Documents.Count == 0) return config;
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException("config must be a YAML mapping of sections (demikernel:, catnap:, server:, ...)");
        int budget = MaxEntries;
        foreach (var (key, value) in root.Children)
        {
            string section = KeyName(key);
            var entries = config.Section(section);
            if (value is YamlMappingNode map) Flatten(map, "", entries, 0, ref budget);
            else if (value is YamlScalarNode { Value: null or "" }) { }
            else throw new ConfigException($"config section '{section}' must be a mapping");
        }
        return config;
    }

    /// <summary>Bounds on what a file can make the reader build: aliases share nodes, so a few lines of anchors can
    /// describe exponentially many keys (or, through a cycle, infinitely deep ones).</summary>
    private const int MaxEntries = 100_000, MaxDepth = 32;

    private static string KeyName(YamlNode key) => key is YamlScalarNode scalar
        ? scalar.Value ?? ""
        : throw new ConfigException($"config keys must be plain names, not a {(key is YamlMappingNode ? "mapping" : "sequence")} (line {key.Start.Line})");

    private static void Flatten(YamlMappingNode map, string prefix, Dictionary<string, string> into, int depth, ref int budget)
    {
        if (depth > MaxDepth) throw new ConfigException($"config nests deeper than {MaxDepth} levels at '{prefix}'");
        foreach (var (key, value) in map.Children)
        {
            if (--budget < 0) throw new ConfigException($"config has more than {MaxEntries} keys (aliases expanded)");
            string name = prefix + KeyName(key);
            switch (value)
            {
                case YamlScalarNode scalar:
                    into[name] = scalar.Value ?? "";
                    break;
                case YamlMappingNode child:
                    into[name] = "";
                    Flatten(child, name + ".", into, depth + 1, ref budget);
                    break;
                case YamlSequenceNode seq:
                    into[name] = string.Join('\n', seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? ""));
                    break;
            }
        }
    }

    private Dictionary<string, string> Section(string name)
    {
        if (!_sections.TryGetValue(name, out var s)) _sections[name] = s = new Dictionary<string, string>(StringComparer.Ordinal);
        return s;
    }

    public void Set(string section, string key, string value) => Section(section)[key] = value;

    /// <summary>The keys of a section (nested keys joined with '.').</summary>
    public IEnumerable<string> Keys(string section) =>
        _sections.TryGetValue(section, out var s) ? s.Keys : [];

    public IEnumerable<string> Sections => _sections.Keys;

    string IBackendConfig.EnvironmentName(string key) => EnvironmentName(key);

    private static string EnvironmentName(string key) => EnvironmentPrefix + key.Replace('.', '_').Replace('-', '_').ToUpperInvariant();

    /// <summary>A value: the environment variable KEY (upper-cased) wins over the file.</summary>
    public string? Get(string section, string key)
    {
        string name = EnvironmentName(key);
        _asked.Add(name);
        string? env = _environment(name);
        if (!string.IsNullOrEmpty(env)) return env;
        return _sections.TryGetValue(section, out var s) && s.TryGetValue(key, out var v) ? v : null;
    }

    /// <summary>
    /// Names of the process's <see cref="EnvironmentPrefix"/> variables that no key read so far matched (a typo, or a
    /// setting this program does not have): reported at start rather than ignored in silence.
    /// </summary>
    public IReadOnlyList<string> UnusedEnvironmentOverrides() =>
        Environment.GetEnvironmentVariables().Keys.OfType<string>()
            .Where(k => k.StartsWith(EnvironmentPrefix, StringComparison.Ordinal) && !_asked.Contains(k))
            .Order(StringComparer.Ordinal).ToArray();

    public string GetString(string section, string key, string fallback) => Get(section, key) is { Length: > 0 } v ? v : fallback;

    public int GetInt(string section, string key, int fallback)
    {
        var v = Get(section, key);
        if (string.IsNullOrEmpty(v)) return fallback;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new ConfigException($"{section}.{key} must be an integer, got '{v}' ({Source})");
    }

    public bool GetBool(string section, string key, bool fallback)
    {
        var v = Get(section, key);
        if (string.IsNullOrEmpty(v)) return fallback;
        return v.ToLowerInvariant() switch
        {
            "true" or "yes" or "1" or "on" => true,
            "false" or "no" or "0" or "off" => false,
            _ => throw new ConfigException($"{section}.{key} must be true or false, got '{v}' ({Source})"),
        };
    }
}

/// <summary>A configuration problem, with a message that names the key and the file.</summary>
public sealed class ConfigException(string message) : Exception(message);
