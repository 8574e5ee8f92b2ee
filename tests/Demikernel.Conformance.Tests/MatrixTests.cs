using Xunit.Abstractions;

namespace Demikernel.Conformance.Tests;

/// <summary>
/// One test per cell of the conformance matrix (<see cref="Matrix"/>): <c>Cell(target: "catnip-af_xdp", check:
/// "echo-100MB")</c> and so on, so the test report reads as the matrix. Cells run one at a time (each starts polling
/// programs, and the machine has few cores); a cell that cannot run for a structural reason is no test here, but an
/// "n/a" with its reason in README.md.
/// </summary>
public sealed class MatrixTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cells()
    {
        var data = new TheoryData<string, string>();
        foreach (var (target, check) in Matrix.Runnable()) data.Add(target, check);
        return data;
    }

    [Theory, MemberData(nameof(Cells))]
    public void Cell(string target, string check)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (target == "catloop")
        {
            Checks.Catloop(check, output);
        }
        else
        {
            using var site = Matrix.Open(target, check);
            Checks.For(site, check, output);
        }
        output.WriteLine($"cell {target} × {check}: {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>README.md's table is the matrix the tests run: "pass" exactly where a cell is a test, "n/a" where it is not.</summary>
    [Fact]
    public void TheReadmeShowsThisMatrix()
    {
        var rows = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "README.md"))
            .SkipWhile(l => !l.StartsWith("| target |", StringComparison.Ordinal))
            .TakeWhile(l => l.StartsWith('|'))
            .Select(l => l.Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .ToList();
        Assert.True(rows.Count > 2, "README.md has no table starting with '| target |'");
        Assert.Equal(["target", .. Matrix.Checks], rows[0]);
        var body = rows.Skip(2).ToList();
        Assert.Equal(Matrix.Targets, body.Select(r => r[0].Trim('*')));
        foreach (var row in body)
        {
            string target = row[0].Trim('*');
            for (int c = 0; c < Matrix.Checks.Length; c++)
            {
                string check = Matrix.Checks[c], shown = row[c + 1];
                if (Matrix.NotApplicable.ContainsKey((target, check)))
                    Assert.True(shown.StartsWith("n/a", StringComparison.Ordinal), $"{target} × {check}: README says '{shown}', the matrix says n/a");
                else
                    Assert.True(shown.StartsWith("pass", StringComparison.Ordinal), $"{target} × {check}: README says '{shown}', the matrix runs it");
            }
        }
    }
}
