using System.Diagnostics;
using System.Text;

namespace Demikernel.Fuzz.Tests;

/// <summary>Where the fuzzing pieces live: tests/Demikernel.Fuzz (harness, seeds, driver, scripts) and its .build/.</summary>
internal static class FuzzPaths
{
    public static string Harness { get; } = FindHarness();

    public static string Corpus(string target) => Path.Combine(Harness, "corpus", target);

    private static string FindHarness()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Demikernel.sln"))) return Path.Combine(dir.FullName, "tests", "Demikernel.Fuzz");
        }
        throw new InvalidOperationException("Demikernel.sln not found above " + AppContext.BaseDirectory);
    }

    public static TheoryData<string> Targets()
    {
        var data = new TheoryData<string>();
        foreach (var t in FuzzTargets.All) data.Add(t.Name);
        return data;
    }
}

/// <summary>Every seed of every target passes its invariants in-process (uninstrumented): the seeds are valid inputs
/// and a regression in a parser shows here even where libFuzzer cannot run.</summary>
public sealed class CorpusTests
{
    [Theory]
    [MemberData(nameof(FuzzPaths.Targets), MemberType = typeof(FuzzPaths))]
    public void SeedsPassTheTarget(string target)
    {
        var t = FuzzTargets.Find(target)!;
        var files = Directory.GetFiles(FuzzPaths.Corpus(target));
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            var e = Record.Exception(() => t.Run(input));
            Assert.True(e is null, $"{file}: {e}");
        }
    }

    [Fact]
    public void EveryTargetHasSeeds()
    {
        foreach (var t in FuzzTargets.All) Assert.True(Directory.Exists(FuzzPaths.Corpus(t.Name)), $"no corpus/{t.Name}");
    }
}

/// <summary>
/// Each target under libFuzzer (tests/Demikernel.Fuzz/fuzz.sh, built by build.sh, which tests/run.sh runs) for a
/// bounded time from its committed seeds. A failure names the crashing input, saved under .build/crashes/TARGET/,
/// with its bytes and the exception the harness printed.
/// </summary>
public sealed class LibFuzzerTests
{
    /// <summary>Seconds per target: about 4.9 minutes in all. Tiny wire headers saturate fast; the RDB codec and the
    /// dispatcher behind the AOF loader get more.</summary>
    private static readonly Dictionary<string, int> Seconds = new()
    {
        ["resp-request"] = 25, ["resp-frame"] = 25, ["restore"] = 40, ["rdb"] = 30, ["aof"] = 30, ["hll"] = 15, ["aof-manifest"] = 15,
        ["config-yaml"] = 20, ["redis-conf"] = 8, ["ethernet"] = 10, ["arp"] = 10, ["ipv4"] = 15, ["tcp"] = 20, ["udp"] = 10, ["icmp"] = 10,
    };

    [Theory]
    [MemberData(nameof(FuzzPaths.Targets), MemberType = typeof(FuzzPaths))]
    public void FuzzesWithoutFailure(string target)
    {
        int seconds = Seconds.TryGetValue(target, out int s) ? s : 20;
        string build = Path.Combine(FuzzPaths.Harness, ".build");
        Assert.True(File.Exists(Path.Combine(build, "dotnet-libfuzzer")) && File.Exists(Path.Combine(build, "app", "Demikernel.Fuzz")),
            $"the fuzzing build is missing: run {FuzzPaths.Harness}/build.sh (tests/run.sh does)");
        string crashes = Path.Combine(build, "crashes", target);
        var before = Directory.Exists(crashes) ? Directory.GetFiles(crashes).ToHashSet() : [];

        var psi = new ProcessStartInfo(Path.Combine(FuzzPaths.Harness, "fuzz.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(target);
        psi.ArgumentList.Add(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // A fixed seed: every run walks the same sequence of mutations, so CI differs between machines only in how
        // far it gets in the time, never in which inputs it tries (fuzz.sh without -seed explores afresh).
        psi.ArgumentList.Add("-seed=20261202");
        var log = new StringBuilder();
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(TimeSpan.FromSeconds(seconds + 120)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{target}: libFuzzer did not stop after {seconds} s\n{Tail(log)}");
        }
        p.WaitForExit();
        File.WriteAllText(Path.Combine(build, $"log-{target}.txt"), log.ToString());

        var found = (Directory.Exists(crashes) ? Directory.GetFiles(crashes) : []).Where(f => !before.Contains(f)).ToArray();
        if (p.ExitCode != 0 || found.Length > 0)
        {
            var report = new StringBuilder($"{target}: libFuzzer exited {p.ExitCode}\n");
            foreach (var f in found)
                report.AppendLine($"crashing input {f} (base64 {Convert.ToBase64String(File.ReadAllBytes(f))})");
            report.AppendLine($"reproduce: {FuzzPaths.Harness}/bin/Release/net10.0/Demikernel.Fuzz {target} <input>");
            report.Append(Tail(log));
            Assert.Fail(report.ToString());
        }
        string text = log.ToString();
        Assert.Contains("stat::number_of_executed_units", text, StringComparison.Ordinal); // it really ran
    }

    private static string Tail(StringBuilder log)
    {
        string text;
        lock (log) text = log.ToString();
        return text.Length <= 6000 ? text : text[^6000..];
    }
}
