using System.Globalization;

namespace Demikernel.Server;

/// <summary>
/// <c>catmem-listen</c>, this server's own parameter (redis-server has none like it): a catmem name (a listener port
/// of the catmem libOS, 1-65535) to accept shared-memory clients on beside the network listener, on the same libOS
/// thread (see README, "catmem clients"). Empty (the default): none. Set at start (command line, redis.conf, YAML
/// <c>server.catmem-listen</c>); CONFIG GET shows it; CONFIG SET refuses it as redis-server refuses an immutable
/// parameter.
/// </summary>
public sealed partial class ServerConfig
{
    private void AddCatmemDefaults() => _values["catmem-listen"] = "";

    /// <summary>The catmem name (port) to listen on as well, or 0 for none.</summary>
    public int CatmemListen => _values["catmem-listen"] is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : 0;

    private static bool IsCatmemImmutable(string key) => key == "catmem-listen";

    private string? ValidateCatmem(string key, string v)
    {
        if (key != "catmem-listen" || v.Length == 0) return null;
        if (v.All(char.IsAsciiDigit) && v.Length <= 5 && int.Parse(v, CultureInfo.InvariantCulture) is >= 1 and <= 65535)
        {
            _values[key] = int.Parse(v, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
            return null;
        }
        return "argument must be a catmem name: a port number from 1 to 65535 (or \"\" for none)";
    }
}
