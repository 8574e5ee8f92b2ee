namespace Demikernel.Runtime;

/// <summary>
/// A backend's entry in the facade's registry: its name and a factory that reads the backend's own part of the
/// configuration and makes its transport. Each backend project declares one (<c>internal static ... Registration</c>);
/// the facade lists them, so adding a libOS is one project plus one line there, with no switch to edit.
/// </summary>
internal sealed class LibOSBackend(string name, Func<IBackendConfig, TimeProvider, INetworkTransport> createTransport, string summary)
{
    /// <summary>The name applications pass to the facade (<c>catnap</c>, <c>catpowder</c>, ...), lower case.</summary>
    public string Name { get; } = name;

    /// <summary>One line for help texts and READMEs.</summary>
    public string Summary { get; } = summary;

    /// <summary>Reads the backend's keys and makes its transport; throws <see cref="BackendConfigException"/> (or the
    /// config's own exception from a typed getter) with a message naming the key and the file.</summary>
    public INetworkTransport CreateTransport(IBackendConfig config, TimeProvider time) => createTransport(config, time);
}

/// <summary>
/// What a backend's factory may read of the configuration (Demikernel's YAML shape: sections of dotted keys, each
/// overridable from the environment). The facade's <c>LibOSConfig</c> implements it. Typed getters throw the
/// config's exception for a malformed value.
/// </summary>
internal interface IBackendConfig
{
    /// <summary>Where the configuration came from, for error messages.</summary>
    string Source { get; }

    /// <summary>The value of a key (environment first), or null.</summary>
    string? Get(string section, string key);

    /// <summary>The keys of a section (nested keys joined with '.').</summary>
    IEnumerable<string> Keys(string section);

    string GetString(string section, string key, string fallback);

    int GetInt(string section, string key, int fallback);

    bool GetBool(string section, string key, bool fallback);

    /// <summary>The environment variable that overrides a key, for messages.</summary>
    string EnvironmentName(string key);
}

/// <summary>A backend's configuration problem; the facade turns it into its public <c>ConfigException</c>.</summary>
internal sealed class BackendConfigException(string message) : Exception(message);
