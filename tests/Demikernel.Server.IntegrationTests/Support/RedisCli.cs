namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// Runs <c>/usr/bin/redis-cli</c> against a fixture's server. Its standard output is not a terminal, so replies come
/// in redis-cli's raw format: one line per string/integer/element, nil as an empty line, errors as their text.
/// </summary>
public static class RedisCli
{
    public const string Path = "/usr/bin/redis-cli";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>One command given as arguments (one connection, one command).</summary>
    public static Task<ProcessResult> RunAsync(ServerFixture server, params string[] command) =>
        RunAsync(server, command, db: null);

    public static Task<ProcessResult> RunAsync(ServerFixture server, string[] command, int? db = null, bool resp3 = false, string? password = null) =>
        ExternalProcess.RunAsync(Path, Arguments(server, db, resp3, password).Concat(command), Timeout);

    /// <summary>Several commands, one per line, over one connection (redis-cli reads them from its standard input).</summary>
    public static Task<ProcessResult> ScriptAsync(ServerFixture server, string script, int? db = null, bool resp3 = false, string? password = null) =>
        ExternalProcess.RunAsync(Path, Arguments(server, db, resp3, password), Timeout, script.ReplaceLineEndings("\n").TrimEnd('\n') + "\n");

    private static IEnumerable<string> Arguments(ServerFixture server, int? db, bool resp3, string? password)
    {
        yield return "-h";
        yield return server.Host;
        yield return "-p";
        yield return server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (db is { } n)
        {
            yield return "-n";
            yield return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (resp3) yield return "-3";
        if (password is not null)
        {
            yield return "-a";
            yield return password;
            yield return "--no-auth-warning";
        }
    }

    /// <summary>redis-cli's output lines (the final newline dropped; inner empty lines kept, they are nils).</summary>
    public static string[] Lines(this ProcessResult result)
    {
        string text = result.Stdout.ReplaceLineEndings("\n");
        if (text.EndsWith('\n')) text = text[..^1];
        return text.Length == 0 && result.Stdout.Length == 0 ? [] : text.Split('\n');
    }

    /// <summary>The single reply of a one-line answer (redis-cli prints an extra empty line after an error).</summary>
    public static string Single(this ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, $"redis-cli failed:\n{result}");
        return result.Stdout.ReplaceLineEndings("\n").TrimEnd('\n');
    }
}
