using System.Diagnostics;
using System.Text;

namespace Demikernel.Server.IntegrationTests;

/// <summary>What an external tool did: exit code and its two output streams.</summary>
public sealed record ProcessResult(string FileName, IReadOnlyList<string> Arguments, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string CommandLine => $"{FileName} {string.Join(' ', Arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) || a.Length == 0 ? $"'{a}'" : a))}";

    public override string ToString() =>
        $"{CommandLine}\nexit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs an external program with a hard time limit; on time-out the whole process tree is killed and the test fails.</summary>
public static class ExternalProcess
{
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? stdin = null)
    {
        if (!File.Exists(fileName))
            throw new FileNotFoundException($"{fileName} is missing: install it with 'apt-get install -y redis-tools' (tests/run.sh does)", fileName);
        var args = arguments.ToArray();
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading its input; its output says why.
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited in between
            }
            await process.WaitForExitAsync();
            string partialOut = await stdout, partialErr = await stderr;
            throw new TimeoutException(
                $"{fileName} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:F0} s and was killed\n--- stdout ---\n{partialOut}\n--- stderr ---\n{partialErr}");
        }
        return new ProcessResult(fileName, args, process.ExitCode, await stdout, await stderr, watch.Elapsed);
    }
}
